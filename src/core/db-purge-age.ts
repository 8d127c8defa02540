/**
 * fail2ban's `dbpurgeage`: how long its database remembers a ban. Debian's fail2ban.conf says 1
 * day, which makes `bantime.increment` forget a repeat offender that comes back a day later and
 * leaves the web view no history. The install raises it to at least 30 days in fail2ban.local
 * (never lowers a longer value of the admin's). Pure.
 */
import { getIniValue, setIniValue } from './ini-edit.ts';
import { fail2banSeconds } from './duration.ts';
import type { PlanFeature } from './plan-fragment.ts';

export const FAIL2BAN_CONF = '/etc/fail2ban/fail2ban.conf';
export const FAIL2BAN_LOCAL = '/etc/fail2ban/fail2ban.local';
/** The least history the install keeps, in seconds (30 days). */
export const DB_PURGE_AGE_MIN = 30 * 86400;
/** The value written when the history is shorter. */
export const DB_PURGE_AGE_VALUE = '30d';
/** fail2banreader's default when no file sets it. */
const FAIL2BAN_DEFAULT = '1d';

/**
 * The value fail2ban uses: it reads [Definition] of fail2ban.conf then fail2ban.local, where a
 * key of the section itself wins over [DEFAULT] (Debian 12's fail2ban.conf has it in [DEFAULT]).
 */
export function effectiveDbPurgeAge(conf: string | null, local: string | null): { value: string; from: string } {
  const at = (text: string | null, section: string): string | undefined => (text === null ? undefined : getIniValue(text, section, 'dbpurgeage'));
  const candidates: Array<[string | undefined, string]> = [
    [at(local, 'Definition'), `${FAIL2BAN_LOCAL} [Definition]`],
    [at(conf, 'Definition'), `${FAIL2BAN_CONF} [Definition]`],
    [at(local, 'DEFAULT'), `${FAIL2BAN_LOCAL} [DEFAULT]`],
    [at(conf, 'DEFAULT'), `${FAIL2BAN_CONF} [DEFAULT]`],
  ];
  for (const [value, from] of candidates) if (value !== undefined) return { value, from };
  return { value: FAIL2BAN_DEFAULT, from: "fail2ban's default" };
}

/**
 * fail2ban.local as it should be: `after` (null = no file needed: fail2ban keeps 30 days or more
 * already), and a warning when a value of the admin's cannot be read. A longer value is kept; a
 * shorter one is raised where it takes effect (the admin's own key in place, else [Definition]).
 * `template` is the text of a new fail2ban.local.
 */
export function dbPurgeAgeLocal(conf: string | null, local: string | null, template: string): { after: string | null; warning?: string } {
  const eff = effectiveDbPurgeAge(conf, local);
  const seconds = fail2banSeconds(eff.value);
  if (seconds === null) {
    return { after: local, warning: `fail2ban's dbpurgeage '${eff.value}' (${eff.from}) is not a time this tool reads; left as it is (the ban history should be kept at least ${DB_PURGE_AGE_VALUE})` };
  }
  if (seconds >= DB_PURGE_AGE_MIN) return { after: local };
  if (local === null) return { after: template };
  const inDefault = getIniValue(local, 'DEFAULT', 'dbpurgeage') !== undefined;
  const definitionWins = getIniValue(local, 'Definition', 'dbpurgeage') !== undefined || (conf !== null && getIniValue(conf, 'Definition', 'dbpurgeage') !== undefined);
  const section = inDefault && !definitionWins ? 'DEFAULT' : 'Definition';
  return { after: setIniValue(local, section, 'dbpurgeage', DB_PURGE_AGE_VALUE) };
}

/**
 * fail2ban.local as a feature of the install plan: at least 30 days of ban history, for repeat
 * offenders and the web view; a longer value of the admin's is kept. Written only when something
 * must change.
 */
export const dbPurgeAgeFeature: PlanFeature = {
  name: 'dbpurgeage',
  reads: () => [FAIL2BAN_CONF, FAIL2BAN_LOCAL],
  piece: () => ({
    plan: (s) => {
      const purge = dbPurgeAgeLocal(s.files.read(FAIL2BAN_CONF), s.files.read(FAIL2BAN_LOCAL), s.template('etc/fail2ban/fail2ban.local'));
      return {
        ...(purge.warning ? { warnings: [purge.warning] } : {}),
        ...(purge.after !== null ? { fail2banFiles: [s.change(FAIL2BAN_LOCAL, purge.after, 'fail2ban keeps 30 days of ban history (dbpurgeage)', true)] } : {}),
      };
    },
  }),
};
