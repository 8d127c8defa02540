import { getIniValue } from './ini-edit.ts';
import { parseWhitelistEntry } from './validate.ts';

/**
 * The whitelist, one type for every place that derives from it (issue 22): fail2ban's
 * [DEFAULT] ignoreip, Kamailio's throttle, the CrowdSec allow set, doctor's checks, the web view.
 * Parsed once where it enters (the CLI's --whitelist and its environment twin, the interactive
 * question, the web view's form: each through parseWhitelistEntry; an existing jail.local
 * through whitelistOfJail) and carried as this list from there on.
 */
export type Whitelist = readonly string[];

/** The loopback entries every whitelist starts with (written once, here). */
export const LOOPBACK: Whitelist = ['127.0.0.1/8', '::1'];

/** `list` in order without empties and repeats. */
export function tidyWhitelist(list: Iterable<string>): Whitelist {
  const out: string[] = [];
  for (const e of list) if (e && !out.includes(e)) out.push(e);
  return out;
}

/**
 * The whitelist an existing jail.local holds: its [DEFAULT] ignoreip as fail2ban splits it
 * (spaces or commas), kept as written (what an admin put there by hand is never dropped; it is
 * not re-validated, since fail2ban already accepts it).
 */
export function whitelistOfJail(jailLocal: string | null): Whitelist {
  return tidyWhitelist((getIniValue(jailLocal ?? '', 'DEFAULT', 'ignoreip') ?? '').split(/[\s,]+/));
}

/** `list` plus one entry validated as --whitelist validates it (UsageError naming a bad one). */
export function withEntry(list: Whitelist, raw: string): { entry: string; whitelist: Whitelist } {
  const entry = parseWhitelistEntry(raw);
  return { entry, whitelist: tidyWhitelist([...list, entry]) };
}
