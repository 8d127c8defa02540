import type { ServiceOptions } from './services/index.ts';

/**
 * Validated options of `install` (cli.ts turns argv and environment into this). The options of a
 * service's own flags are declared by its module (ServiceOptions, src/core/services/index.ts).
 */
export interface InstallOptions extends ServiceOptions {
  whitelist: string[];
  /** Services to protect, by module name (src/core/services/); undefined = the detected ones. */
  services?: string[];
  email?: string;
  sender?: string;
  /** How postfix delivers alerts: `local` (this machine only) or `send-only` (to the world, listening on loopback only). */
  mailDelivery?: 'local' | 'send-only';
  /** Seconds between two alert mails of one jail; bans in between are collected (0 = every ban). */
  mailInterval: number;
  bantime: string;
  /**
   * Repeat offenders: each new ban of an address lasts twice the one before, up to bantimeMax,
   * counted across jails (fail2ban 0.11+ `bantime.increment`; a `recidive` jail on 0.10).
   */
  bantimeIncrement: boolean;
  /** The longest ban a repeat offender gets (fail2ban duration: 1w, 2d, 86400). */
  bantimeMax: string;
  findtime: string;
  maxretry: number;
  banaction?: string;
  protectAdmin: boolean;
  /** Share bans through this CrowdSec LAPI (issue 13): its URL, and the machine/bouncer credentials file. */
  crowdsecLapi?: string;
  crowdsecCredentials?: string;
  /** The CA file (PEM) a member trusts for an https:// LAPI whose certificate is private. */
  crowdsecCa?: string;
  /** Run the fleet's CrowdSec LAPI on this host, listening on `<address>:<port>` (TLS). */
  crowdsecLapiServer?: string;
  /** The LAPI's own certificate and key (PEM files); without them the tool makes a self-signed pair. */
  crowdsecTlsCert?: string;
  crowdsecTlsKey?: string;
  /** Install the web view as a boot service on loopback (--web), listening on `webListen`. */
  web?: boolean;
  webListen?: string;
  /**
   * The watch (issue 23): a systemd timer, else a cron entry, running `watch --once` every
   * `interval` seconds; false with --no-watch. Absent (options built by hand): not planned.
   */
  watch?: { interval: number } | false;
  /**
   * A jail already enabled that counts the same failures as one of ours (a PBX distribution's,
   * an admin's) is kept and ours is not enabled; by default ours
   * replaces it through the tool's override file (theirs switched off, their file untouched).
   */
  keepExistingJails?: boolean;
  /** Run the compact doctor after an install that changed something (default true; --no-doctor). */
  doctor?: boolean;
  /**
   * The settings named in this run (flag or environment twin); the others keep their value from
   * the last successful run (src/core/settings.ts). Undefined: every setting is as passed (the
   * API and tests that build whole options).
   */
  given?: Array<keyof InstallOptions>;
  /** --reset-settings: the settings of the last run are not the baseline; defaults and flags only. */
  resetSettings?: boolean;
  /**
   * --override-admin-settings: this run may replace [DEFAULT] values the admin had in jail.local
   * before the tool's first run with the tool's own (without it such a change needs its own flag,
   * else the run refuses, exit 2). Not a setting: it counts for one run.
   */
  overrideAdminSettings?: boolean;
  dryRun: boolean;
  /** Show every changed file's unified diff (--dry-run shows those of the admin's files anyway). */
  diff: boolean;
  yes: boolean;
  json: boolean;
}

export const DEFAULTS = {
  bantime: '1h',
  bantimeMax: '1w',
  findtime: '10m',
  maxretry: 5,
  mailInterval: 600,
  /** doctor: how many of the last lines of each log the filter is run over. */
  doctorLines: 2000,
} as const;
