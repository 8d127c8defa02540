import type { InstallOptions } from './options.ts';

/** fail2ban's version as numbers, for comparison (`0.10.2` → [0, 10, 2]). */
function versionParts(v: string): number[] {
  return v.split('.').map((p) => Number.parseInt(p, 10) || 0);
}

/** True when fail2ban `version` is at least `min`. */
export function fail2banAtLeast(version: string, min: string): boolean {
  const a = versionParts(version);
  const b = versionParts(min);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** What the repeat-offender policy adds to jail.local. */
export interface RepeatOffenderKeys {
  /** Keys of [DEFAULT] (fail2ban 0.11+). */
  defaults: Array<[string, string]>;
  /** Keys of [recidive] (fail2ban 0.10), or null when that jail is not ours to touch. */
  recidive: Array<[string, string]> | null;
  /** Jails fail2ban must list once it runs. */
  jails: string[];
}

/** The fail2ban log the recidive jail reads (Debian's and EPEL's logtarget). */
export const FAIL2BAN_LOG = '/var/log/fail2ban.log';

/**
 * Repeat offenders. fail2ban 0.11 and later: `bantime.increment` (each new ban of an address
 * lasts twice the one before: bantime × 2^(bans so far), the stock formula with factor 1), capped
 * at `bantime.maxtime`, with `bantime.overalljails` so bans in every jail count. fail2ban 0.10 has
 * no increment: the stock `recidive` jail bans an address banned 3 times within a day for
 * --bantime-max. The whitelist (ignoreip) wins in both: an ignored address is never banned, so
 * it never has a ban to grow. `--no-bantime-increment` writes `bantime.increment = false` (or
 * switches our recidive jail off), so a re-run undoes an earlier run.
 */
export function repeatOffenderKeys(options: Pick<InstallOptions, 'bantimeIncrement' | 'bantimeMax'>, fail2banVersion: string, recidiveEnabled: string | undefined): RepeatOffenderKeys {
  if (fail2banAtLeast(fail2banVersion, '0.11')) {
    return options.bantimeIncrement
      ? {
          defaults: [
            ['bantime.increment', 'true'],
            ['bantime.maxtime', options.bantimeMax],
            ['bantime.overalljails', 'true'],
          ],
          recidive: null,
          jails: [],
        }
      : { defaults: [['bantime.increment', 'false']], recidive: null, jails: [] };
  }
  if (!options.bantimeIncrement) {
    return { defaults: [], recidive: recidiveEnabled !== undefined ? [['enabled', 'false']] : null, jails: [] };
  }
  return {
    defaults: [],
    recidive: [
      ['enabled', 'true'],
      ['logpath', FAIL2BAN_LOG],
      ['banaction', '%(banaction_allports)s'],
      ['bantime', options.bantimeMax],
      ['findtime', '1d'],
      ['maxretry', '3'],
    ],
    jails: ['recidive'],
  };
}
