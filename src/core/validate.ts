import { isIP } from 'node:net';
import { fail2banSeconds } from './duration.ts';
import { UsageError } from '../errors.ts';

/** What a whitelist entry may be, for error messages. */
const WHITELIST_ACCEPTS = 'an IPv4 or IPv6 address, a CIDR range of either (e.g. 203.0.113.0/24, 2001:db8::/32), or a DNS name';

/** True for a syntactically valid DNS host name (letters, digits, hyphens; not all-numeric). */
export function isHostname(s: string): boolean {
  if (s.length === 0 || s.length > 253) return false;
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  const labels = name.split('.');
  if (!labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(l))) return false;
  // A name whose last label is numeric is an (invalid) address, like 999.1.1.1, not a name.
  return !/^\d+$/.test(labels[labels.length - 1]!);
}

/**
 * The widest ranges a whitelist entry may cover. An entry is "never ban anything there": `/0` (or
 * `0.0.0.0/1` + `128.0.0.0/1`) silently switches protection off. IPv4: a /8 at most (10.0.0.0/8 is
 * the widest private network). IPv6: a /16 at most, except inside the local ranges fc00::/7
 * (unique local) and fe80::/10 (link-local), which are private however wide.
 */
export const WIDEST_PREFIX = { 4: 8, 6: 16 } as const;

/** True when the IPv6 range addr/bits lies inside fc00::/7 or fe80::/10. */
function isLocalV6Range(addr: string, bits: number): boolean {
  const first = parseInt(addr.split(':')[0] || '0', 16);
  return (bits >= 7 && (first & 0xfe00) === 0xfc00) || (bits >= 10 && (first & 0xffc0) === 0xfe80);
}

/**
 * Validates one whitelist entry and returns its canonical text (IPv6 lower-cased, names
 * lower-cased). Throws UsageError naming the entry and what would be accepted. Refused besides
 * bad syntax: a range wider than WIDEST_PREFIX (it would switch bans off for much of the
 * Internet), and an IPv6 zone ID (`fe80::1%eth0`: fail2ban's ignoreip and the nftables allow set
 * cannot parse it).
 */
export function parseWhitelistEntry(raw: string): string {
  const entry = raw.trim();
  const bad = (why: string): never => {
    throw new UsageError(`invalid --whitelist entry '${raw}': ${why}; expected ${WHITELIST_ACCEPTS}`);
  };
  if (!entry) return bad('empty entry');
  if (entry.includes('%') && isIP(entry.replace(/\/.*$/, ''))) return bad('an IPv6 zone ID (%interface) cannot be whitelisted: give the address without it');
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const addr = entry.slice(0, slash);
    const bits = entry.slice(slash + 1);
    const family = isIP(addr) as 0 | 4 | 6; // typed number; it is 0, 4 or 6
    if (!family) return bad('not an address before the /');
    if (!/^\d{1,3}$/.test(bits)) return bad('prefix length is not a number');
    const max = family === 4 ? 32 : 128;
    const n = Number(bits);
    if (n > max) return bad(`prefix length must be 0-${max}`);
    if (n === 0) return bad('it covers every address: nothing would ever be banned');
    if (n < WIDEST_PREFIX[family] && !(family === 6 && isLocalV6Range(addr, n))) {
      return bad(`a /${n} covers too much of the Internet to never ban (the widest accepted: /${WIDEST_PREFIX[4]} for IPv4, /${WIDEST_PREFIX[6]} for IPv6 outside fc00::/7 and fe80::/10)`);
    }
    return `${addr.toLowerCase()}/${n}`;
  }
  if (isIP(entry)) return entry.toLowerCase();
  if (/^[\d.]+$/.test(entry)) return bad('not a valid IPv4 address');
  if (isHostname(entry)) return entry.toLowerCase();
  return bad('not an address, range or host name');
}

/** Splits a comma- or space-separated list and validates each entry (order kept, deduplicated). */
export function parseWhitelist(list: string | undefined): string[] {
  if (list === undefined) return [];
  const out: string[] = [];
  for (const part of list.split(/[,\s]+/)) {
    if (part === '') continue;
    const e = parseWhitelistEntry(part);
    if (!out.includes(e)) out.push(e);
  }
  return out;
}

/** fail2ban time values: seconds, or abbreviated forms like 10m, 1h, 1d, 1w; -1 for bantime. */
export function parseDuration(flag: string, raw: string, allowForever: boolean): string {
  const v = raw.trim().toLowerCase();
  if (allowForever && v === '-1') return v;
  if (/^\d{1,9}$/.test(v) && Number(v) > 0) return v;
  if (/^(?:\d{1,6}(?:s|m|h|d|w))+$/.test(v) && /[1-9]/.test(v)) return v;
  throw new UsageError(
    `invalid ${flag} '${raw}': expected a positive number of seconds or a duration like 600, 10m, 1h, 1d, 1w${allowForever ? ', or -1 for a permanent ban' : ''}`,
  );
}

/** Seconds of a duration accepted by parseDuration (`-1`, a permanent ban, is Infinity). */
export function durationSeconds(v: string): number {
  return v === '-1' ? Infinity : (fail2banSeconds(v) ?? 0);
}

/** A positive whole number within bounds. */
export function parseCount(flag: string, raw: string, min: number, max: number): number {
  const v = raw.trim();
  if (!/^\d{1,6}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new UsageError(`invalid ${flag} '${raw}': expected a whole number from ${min} to ${max}`);
  }
  return Number(v);
}

/** A fail2ban action name: a file name in action.d, without the .conf. */
export function parseBanaction(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(raw) || raw.includes('..')) {
    throw new UsageError(
      `invalid --banaction '${raw}': expected the name of an action in /etc/fail2ban/action.d, e.g. iptables-multiport or nftables-multiport`,
    );
  }
  return raw;
}

/** A plain mail address for alerts; no spaces, quotes or shell metacharacters. */
export function parseEmail(flag: string, raw: string): string {
  const v = raw.trim();
  const m = /^([A-Za-z0-9._%+-]{1,64})@([A-Za-z0-9.-]{1,253})$/.exec(v);
  if (!m || !(isHostname(m[2]!) || m[2] === 'localhost')) {
    throw new UsageError(`invalid ${flag} '${raw}': expected a mail address like admin@example.com or root@localhost`);
  }
  return v;
}

/** A jail name as fail2ban allows them (no spaces or shell characters). */
export function parseJailName(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(raw)) {
    throw new UsageError(`invalid jail name '${raw}': expected letters, digits, '.', '_', '-' (e.g. voip-asterisk)`);
  }
  return raw;
}
