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

/**
 * What each service module's probe found, by module name (src/core/services/index.ts). Each module
 * declares its own facts type and reads them with factsOf (src/core/probe.ts); a module that was
 * not probed (facts built by tests) reads its `absent` facts.
 */
export type ServiceFacts = Record<string, unknown>;

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

