/** Validated options of `install` (cli.ts turns argv and environment into this). */
export interface InstallOptions {
  whitelist: string[];
  /** Services to protect, by module name (src/core/services/); undefined = the detected ones. */
  services?: string[];
  restartKamailio: boolean;
  /** Insert the auth-failure xlog into kamailio.cfg's stock auth route. */
  kamailioAuthLog: boolean;
  freeswitchMode: 'normal' | 'aggressive';
  email?: string;
  sender?: string;
  /** How postfix delivers alerts: `local` (this machine only) or `send-only` (to the world, listening on loopback only). */
  mailDelivery?: 'local' | 'send-only';
  /** Seconds between two alert mails of one jail; bans in between are collected (0 = every ban). */
  mailInterval: number;
  bantime: string;
  findtime: string;
  maxretry: number;
  banaction?: string;
  protectAdmin: boolean;
  /** Share bans through this CrowdSec LAPI (issue 13): its URL, and the machine/bouncer credentials file. */
  crowdsecLapi?: string;
  crowdsecCredentials?: string;
  /** Run the fleet's CrowdSec LAPI on this host, listening on `<address>:<port>`. */
  crowdsecLapiServer?: string;
  dryRun: boolean;
  /** Show every changed file's unified diff (--dry-run shows those of the admin's files anyway). */
  diff: boolean;
  yes: boolean;
  json: boolean;
}

export const DEFAULTS = {
  bantime: '1h',
  findtime: '10m',
  maxretry: 5,
  mailInterval: 600,
} as const;
