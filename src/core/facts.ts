import type { OsRelease } from './os-release.ts';
import type { PbxDistro } from './pbx-distro.ts';

/** The init system that runs (PID 1), which decides how services are started. */
export type InitSystem = 'systemd' | 'sysv' | 'openrc' | 'none';

export interface FirewallFacts {
  iptables: boolean;
  iptablesVariant: 'nf_tables' | 'legacy' | null;
  nft: boolean;
  firewalld: boolean;
}

export interface Fail2banFacts {
  installed: boolean;
  version: string | null;
  running: boolean;
}

/** A web server (the PBX's web panel behind it) and the log files it writes now. */
export interface WebServerFacts {
  present: boolean;
  logDir: string;
  /** Access logs found in logDir (empty: none written yet). */
  accessLogs: string[];
  /** Error logs found in logDir (empty: none written yet). */
  errorLogs: string[];
}

/** Where a VoIP service is and how it logs. Paths are target paths (under the root). */
export interface ServiceFacts {
  /** Apache and nginx, for the web-panel module (absent in facts built by older tests). */
  web?: { apache: WebServerFacts; nginx: WebServerFacts };
  asterisk: {
    present: boolean;
    running: boolean;
    configDir: string;
    logDir: string;
    /** astrundir of asterisk.conf (its control socket and pid file); absent in facts built by older tests. */
    runDir?: string;
    /** The running Asterisk's program (from its process), to reach its console: null when none runs. */
    binary?: string | null;
  };
  freeswitch: {
    present: boolean;
    running: boolean;
    configDir: string;
    logFile: string;
    profiles: string[];
    /**
     * The running FreeSWITCH's console (absent in facts built by older tests; null when none runs):
     * its fs_cli (beside its program, root's alone; null otherwise) and its event socket
     * (event_socket.conf.xml: listen-ip, listen-port; the password only as "is it fs_cli's default").
     */
    console?: { fsCli: string | null; host: string; port: number; defaultPassword: boolean } | null;
  };
  kamailio: { present: boolean; running: boolean; configFile: string };
}

/** What is true about the host before we plan. Gathered once; read-only afterwards. */
export interface HostFacts {
  /** false under --root: nothing about the running machine is asked, only files are read. */
  live: boolean;
  os: OsRelease;
  init: InitSystem;
  journald: boolean;
  rsyslog: boolean;
  firewall: FirewallFacts;
  fail2ban: Fail2banFacts;
  aptListsFresh: boolean;
  adminAddress: string | null;
  authLogExists: boolean;
  services: ServiceFacts;
  postfix: { installed: boolean; running: boolean };
  /** Names of the scripts in /etc/init.d (what `service NAME …` can drive without systemd). */
  initScripts: string[];
  /** The mail name of this host (/etc/mailname, else /etc/hostname), for the alert sender. */
  mailname: string;
  /** The web view's boot service (install --web) runs: its pid file, or its systemd cgroup. */
  webView?: { running: boolean };
  /** The PBX distribution and what is already there (absent in facts built by older tests). */
  pbx?: PbxFacts;
}

/** The PBX distribution found, and the files that say what the host already has. Target paths. */
export interface PbxFacts {
  distro: PbxDistro;
  /** fail2ban's jail files and the paths-*.conf files that exist (jail.conf, jail.d/*, jail.local). */
  fail2banFiles: string[];
  /**
   * Where jail.local's text from before the tool first touched it is: jail.local itself on a
   * first run, its backup afterwards; null when there was none (every section in it is the tool's).
   */
  jailLocalOriginal: string | null;
  /** The files Asterisk's logger.conf pulls in (#include / #tryinclude), resolved, in order. */
  loggerIncludes: string[];
}

/**
 * The admin's own address, from the SSH session that runs us (client side of SSH_CONNECTION).
 * A link-local client comes with its zone ID (`fe80::1%eth0`), which fail2ban cannot parse in
 * ignoreip: the address is taken without it.
 */
export function adminAddressFromEnv(env: Record<string, string | undefined>): string | null {
  const first = (env.SSH_CONNECTION ?? env.SSH_CLIENT ?? '').trim().split(/\s+/)[0];
  return first ? first.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1').replace(/%.*$/, '') : null;
}

