/**
 * Pure logic of the web view: fail2ban's answers and database rows in, the JSON the page shows
 * out. No I/O. Everything taken from log lines is attacker text: it is returned as plain strings
 * and the page only ever puts it in the DOM with textContent.
 */
import { isTestBan } from './test-bans.ts';
import { SERVICE_MODULES, type ServiceModule } from './services/index.ts';

export interface JailView {
  jail: string;
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  files: string[];
  bantime: number | null;
  findtime: number | null;
  maxretry: number | null;
  ignoreip: string[];
  /**
   * The `doctor` verdict for this jail (without the ban round trip), when one has been computed:
   * its checks that are not ok, with what to do, and when it was computed (Unix seconds).
   * Check details can quote log-derived text: the page shows them as text only.
   */
  doctor?: { verdict: string; checks: Array<{ name: string; verdict: string; detail: string; fix?: string }>; checkedAt: number };
}

export interface VoipContext {
  users: string[];
  userAgents: string[];
  kinds: string[];
}

export interface BanView {
  ip: string;
  jail: string;
  /** Unix seconds. */
  bannedAt: number;
  /** Unix seconds; null = forever. */
  endsAt: number | null;
  /** fail2ban's bancount: how many times this address was banned (this one included). */
  banCount: number;
  /** Bans of this address in the database before this one. */
  previousBans: number;
  failures: number | null;
  lines: string[];
  context: VoipContext;
}

/** `status` → jail names. */
export function jailNames(statusValue: unknown): string[] {
  const list = pairs(statusValue).get('Jail list');
  return typeof list === 'string' ? list.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** fail2ban answers status as nested [label, value] pairs; flattened into one map. */
function pairs(v: unknown, into = new Map<string, unknown>()): Map<string, unknown> {
  if (!Array.isArray(v)) return into;
  for (const p of v) {
    if (Array.isArray(p) && p.length === 2 && typeof p[0] === 'string') {
      if (Array.isArray(p[1]) && p[1].every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string') && p[1].length > 0) pairs(p[1], into);
      else into.set(p[0], p[1]);
    }
  }
  return into;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v) || 0);
const numOrNull = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : null);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' && v ? v.split(/\s+/) : []);

/** `status <jail>` and `get <jail> bantime|findtime|maxretry|ignoreip` → one jail view. */
export function jailView(jail: string, status: unknown, bantime: unknown, findtime: unknown, maxretry: unknown, ignoreip: unknown): JailView {
  const m = pairs(status);
  return {
    jail,
    currentlyFailed: num(m.get('Currently failed')),
    totalFailed: num(m.get('Total failed')),
    // doctor's own test bans are not attackers: not counted (src/core/test-bans.ts).
    currentlyBanned: Math.max(0, num(m.get('Currently banned')) - strings(m.get('Banned IP list')).filter(isTestBan).length),
    totalBanned: num(m.get('Total banned')),
    files: strings(m.get('File list')),
    bantime: numOrNull(bantime),
    findtime: numOrNull(findtime),
    maxretry: numOrNull(maxretry),
    ignoreip: strings(ignoreip),
  };
}

/**
 * `get <jail> banip --with-time` lines: `203.0.113.70 \t2026-11-29 17:32:59 + 3600 = 2026-11-29 18:32:59`.
 * Only the address is trusted from it; times come from the database when it has the ban.
 */
export function parseBanipWithTime(v: unknown): Array<{ ip: string; bantime: number | null }> {
  return strings(Array.isArray(v) ? v : []).map((line) => {
    const m = /^(\S+)\s+\S+ \S+ \+ (-?\d+)/.exec(line.trim());
    return { ip: (m?.[1] ?? line.trim().split(/\s+/)[0])!, bantime: m ? Number(m[2]) : null };
  });
}

/**
 * Log lines are attacker text (a failed REGISTER writes its display name and user into them):
 * every context pattern (each service declares its own: `webContext` in src/core/services/)
 * runs in time linear in the line. No two adjacent or nested quantifiers range over the same
 * characters, every quantifier is bounded (a failed attempt costs at most a few hundred steps),
 * and a line is cut to MAX_CONTEXT_LINE characters (its start and its end) before any of them
 * runs. (Unbounded forms such as `\[([^\]@]*)@?[^\]]*\]` took over a second per 4 KB line.)
 * test/unit/linear-regex.test.ts runs each registered one on crafted lines with a time bound.
 */
export const MAX_CONTEXT_LINE = 2048;

/** A line cut to MAX_CONTEXT_LINE: its start (users, User-Agents) and its end (the reason). */
export function cutLine(line: string): string {
  if (line.length <= MAX_CONTEXT_LINE) return line;
  const tail = MAX_CONTEXT_LINE / 4;
  return `${line.slice(0, MAX_CONTEXT_LINE - tail - 1)}\n${line.slice(-tail)}`;
}

/**
 * The kinds of failure the page names, in the order that decides when a line matches several.
 * The patterns that find them are the services' (`webContext` in src/core/services/); a kind a
 * module names that is not listed here comes after these.
 */
export const KIND_ORDER = ['wrong password', 'unknown user', 'unknown extension', 'auth failure', 'auth challenge', 'flood (pike)', 'refused by ACL'];

/** The context patterns of every registered service, composed in registry order (kinds by KIND_ORDER). */
export interface ContextPatterns {
  users: RegExp[];
  userAgents: RegExp[];
  kinds: Array<[RegExp, string]>;
}

/** Composed from SERVICE_MODULES when asked: a module registered later (a test's) counts too. */
export function contextPatterns(modules: readonly ServiceModule[] = SERVICE_MODULES): ContextPatterns {
  const all = modules.flatMap((m) => (m.webContext ? [m.webContext] : []));
  const kinds = all.flatMap((c) => c.kinds ?? []);
  const rank = (k: string): number => (KIND_ORDER.includes(k) ? KIND_ORDER.indexOf(k) : KIND_ORDER.length);
  return {
    users: all.flatMap((c) => c.users ?? []),
    userAgents: all.flatMap((c) => c.userAgents ?? []),
    // Stable: within one kind (and among kinds not in KIND_ORDER) registry order is kept.
    kinds: kinds.map((k, i) => [k, i] as const).sort((a, b) => rank(a[0][1]) - rank(b[0][1]) || a[1] - b[1]).map(([k]) => k),
  };
}

/** SIP user names, User-Agents and failure kinds found in the lines that caused a ban. */
export function voipContext(lines: string[], patterns: ContextPatterns = contextPatterns()): VoipContext {
  const users = new Set<string>();
  const uas = new Set<string>();
  const kinds = new Set<string>();
  for (const full of lines) {
    const line = cutLine(full);
    const user = firstMatch(patterns.users, line);
    if (user !== undefined) users.add(user.slice(0, 128));
    const ua = firstMatch(patterns.userAgents, line, (v) => v.trimEnd());
    if (ua) uas.add(ua.slice(0, 160));
    const k = patterns.kinds.find(([re]) => re.test(line));
    kinds.add(k ? k[1] : 'other');
  }
  return { users: [...users], userAgents: [...uas], kinds: [...kinds] };
}

/** The capture (group 1, else 2; cleaned) of the first pattern that matches with a non-empty one. */
function firstMatch(patterns: RegExp[], line: string, clean = (v: string): string => v): string | undefined {
  for (const re of patterns) {
    const m = re.exec(line);
    const v = m?.[1] ?? m?.[2];
    if (v !== undefined && clean(v)) return clean(v);
  }
  return undefined;
}

/** A database ban row: [jail, ip, timeofban, bantime, bancount, data]. */
export type DbBan = [string, string, number, number, number, { matches: string[]; failures: number | null } | null];

/**
 * The bans in force: the addresses fail2ban lists per jail now, with when/how long/how often and
 * the log lines from its database (bips: the latest ban of each address in each jail); doctor's
 * own test bans left out.
 */
export function currentBans(live: Record<string, Array<{ ip: string; bantime: number | null }>>, bips: DbBan[], history: DbBan[], now: number): BanView[] {
  const latest = new Map<string, DbBan>();
  for (const b of bips) latest.set(`${b[0]}\u0000${b[1]}`, b);
  const count = new Map<string, number>();
  for (const b of history) count.set(b[1], (count.get(b[1]) ?? 0) + 1);
  const out: BanView[] = [];
  const patterns = contextPatterns();
  for (const [jail, list] of Object.entries(live)) {
    for (const { ip, bantime } of list) {
      if (isTestBan(ip)) continue; // doctor's own test ban, never an attacker
      const row = latest.get(`${jail}\u0000${ip}`);
      const bannedAt = row ? row[2] : now;
      const bt = row ? row[3] : bantime;
      const lines = (row?.[5]?.matches ?? []).slice(-50);
      const dbCount = count.get(ip) ?? 0;
      out.push({
        ip,
        jail,
        bannedAt,
        endsAt: bt === null || bt < 0 ? null : bannedAt + bt,
        banCount: row ? row[4] : 1,
        previousBans: Math.max(0, dbCount - (row ? 1 : 0)),
        failures: row?.[5]?.failures ?? null,
        lines,
        context: voipContext(lines, patterns),
      });
    }
  }
  out.sort((a, b) => b.bannedAt - a.bannedAt || a.ip.localeCompare(b.ip));
  return out;
}

/** The network an address belongs to, for "top attacking networks": /24 for IPv4, /48 for IPv6. */
export function networkOf(ip: string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return `${ip.split('.').slice(0, 3).join('.')}.0/24`;
  if (ip.includes(':')) {
    const full = expandV6(ip);
    return full ? `${full.slice(0, 3).map((h) => h.replace(/^0+(?=.)/, '')).join(':')}::/48` : ip;
  }
  return ip;
}

function expandV6(ip: string): string[] | null {
  const [head, tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  if (ip.includes('::')) return [...h, ...Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return h.length === 8 ? h : null;
}

export interface HistoryView {
  /** 24 counts, oldest first; `hourStart` is the start of the first hour (Unix seconds). */
  perHour: number[];
  hourStart: number;
  /** 30 counts, oldest first; `dayStart` is the start (UTC) of the first day. */
  perDay: number[];
  dayStart: number;
  topUsers: Array<{ user: string; count: number }>;
  topNetworks: Array<{ network: string; count: number }>;
  total: number;
}

/** Bans per hour (last 24 h), per day (last 30 days), top attacked users and attacking networks; doctor's test bans left out. */
export function history(bans: DbBan[], now: number): HistoryView {
  const hourStart = Math.floor(now / 3600) * 3600 - 23 * 3600;
  const dayStart = Math.floor(now / 86400) * 86400 - 29 * 86400;
  const perHour = Array<number>(24).fill(0);
  const perDay = Array<number>(30).fill(0);
  const users = new Map<string, number>();
  const nets = new Map<string, number>();
  let total = 0;
  const patterns = contextPatterns();
  for (const b of bans) {
    const t = b[2];
    if (t < dayStart || isTestBan(b[1])) continue; // doctor's own test bans are not history
    total++;
    const d = Math.floor((t - dayStart) / 86400);
    if (d >= 0 && d < 30) perDay[d]!++;
    const h = Math.floor((t - hourStart) / 3600);
    if (h >= 0 && h < 24) perHour[h]!++;
    nets.set(networkOf(b[1]), (nets.get(networkOf(b[1])) ?? 0) + 1);
    for (const u of voipContext(b[5]?.matches ?? [], patterns).users) users.set(u, (users.get(u) ?? 0) + 1);
  }
  const top = <K extends string>(m: Map<string, number>, key: K): Array<Record<K, string> & { count: number }> =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([k, count]) => ({ [key]: k, count }) as Record<K, string> & { count: number });
  return { perHour, hourStart, perDay, dayStart, topUsers: top(users, 'user'), topNetworks: top(nets, 'network'), total };
}

/**
 * Output of `fail2ban-regex -o '<ip>\t<msg>' lines filter`: the lines it matched, each with
 * the address it took. Every pasted line is reported, matched or not.
 */
export function testLineResult(pasted: string[], stdout: string): Array<{ line: string; matched: boolean; ip: string | null }> {
  const matched = new Map<string, string>();
  for (const l of stdout.split('\n')) {
    const i = l.indexOf('\t');
    if (i > 0) matched.set(l.slice(i + 1), l.slice(0, i));
  }
  return pasted.map((line) => ({ line, matched: matched.has(line), ip: matched.get(line) ?? null }));
}
