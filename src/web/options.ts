/** Options of `voip-f2b-install web` and their defaults (no imports: the CLI parser loads this). */

export const DEFAULT_LISTEN = '127.0.0.1:8473';
export const DEFAULT_TOKEN_FILE = '/etc/voip-f2b-install/web-token';

export interface WebOptions {
  listen: string;
  tokenFile: string;
  tlsCert?: string;
  tlsKey?: string;
  json: boolean;
  /** Seconds a snapshot of fail2ban is reused (tests and the bench may change it). */
  cacheSeconds?: number;
  /** Seconds the doctor verdicts on the Overview are reused before a background refresh (default 60). */
  doctorSeconds?: number;
}
