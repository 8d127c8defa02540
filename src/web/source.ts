import type { Context } from '../context.ts';
import { askPlain, banHistoryReader, fail2banPaths, regexLines, type Fail2banPaths, type PlainAnswer } from '../adapters/fail2ban.ts';
import { getIniValue } from '../core/ini-edit.ts';
import { JAIL_LOCAL } from '../core/paths.ts';
import { whitelistOfJail } from '../core/whitelist.ts';
import { WATCH_STATE, parseWatchState } from '../core/doctor/watch.ts';
import { currentBans, history, jailNames, jailView, parseBanipWithTime, testLineResult, type BanView, type DbBan, type HistoryView } from '../core/web-view.ts';
import { ToolError } from '../errors.ts';
import { DOCTOR_TTL_SECONDS, type DoctorCache } from './doctor-cache.ts';
import type { WebSource } from './server.ts';
import { SnapshotCache } from './snapshot-cache.ts';

export { MAX_STALE_SECONDS } from './snapshot-cache.ts';

/** What the page's whitelist form does with an entry (src/commands/web.ts: an install run). */
export type AddToWhitelist = (ctx: Context, entry: string) => Promise<{ changed: boolean; entry: string; ignoreip: string[] }>;

export interface WebSourceOptions {
  cacheSeconds: number;
  doctor?: DoctorCache;
  doctorEverySeconds?: number;
  /** Without it the whitelist form answers that it cannot change the whitelist. */
  addToWhitelist?: AddToWhitelist;
}

/** What fail2ban said at one moment, and the views computed from it (once per snapshot). */
interface Snapshot {
  version: string;
  jails: string[];
  /** Per jail, JAIL_COMMANDS.length answers in that order. */
  live: PlainAnswer[];
  db: { bans: DbBan[]; bips: DbBan[] };
  bans?: { now: number; bans: BanView[] };
  history?: HistoryView;
}

/** What is asked of each jail, in this order (perJail's index). */
const JAIL_COMMANDS = ['status', 'banip', 'bantime', 'findtime', 'maxretry', 'ignoreip'] as const;
const jailCommand = (j: string, what: (typeof JAIL_COMMANDS)[number]): string[] => (what === 'status' ? ['status', j] : what === 'banip' ? ['get', j, 'banip', '--with-time'] : ['get', j, what]);
const perJail = (s: Snapshot, i: number, what: (typeof JAIL_COMMANDS)[number]): unknown => s.live[i * JAIL_COMMANDS.length + JAIL_COMMANDS.indexOf(what)]?.value;

/**
 * The real source: fail2ban over its socket (src/adapters/fail2ban.ts; under --root the root's
 * socket, never the host's), in batches over one connection each, and its database read-only once
 * per snapshot. A snapshot is cached (src/web/snapshot-cache.ts) and dropped by every change made
 * from the page. Doctor's own test bans are left out of the bans and the history
 * (src/core/web-view.ts).
 */
export function webSource(ctx: Context, o: WebSourceOptions): WebSource & { paths(): Promise<Fail2banPaths> } {
  let pathsP: Promise<Fail2banPaths> | null = null;
  const paths = (): Promise<Fail2banPaths> => (pathsP ??= fail2banPaths(ctx));
  const readBans = banHistoryReader(ctx, paths);
  const nowS = (): number => Math.floor(ctx.now().getTime() / 1000);
  const cache = new SnapshotCache(() => fetchSnapshot(ctx, readBans, nowS()), o.cacheSeconds * 1000);
  const change = async (cmd: string[]): Promise<{ ok: boolean; message: string }> => {
    const [a] = await askPlain(ctx, [cmd]);
    cache.drop();
    return changeResult(cmd, a!);
  };
  return {
    paths,
    async overview() {
      // The verdicts come from their own cache (doctor takes seconds): asked for side by side.
      const [s, d] = await Promise.all([cache.get(), o.doctor?.get() ?? null]);
      return overview(ctx, s, d, o, paths);
    },
    async bans() {
      const s = await cache.get();
      return (s.bans ??= bansOf(s, nowS()));
    },
    async history() {
      const s = await cache.get();
      return (s.history ??= history(s.db.bans, nowS()));
    },
    ban: (jail, ip) => change(['set', jail, 'banip', ip]),
    unban: (jail, ip) => change(['set', jail, 'unbanip', ip]),
    async testLines(jail, lines) {
      const filter = await jailFilter(ctx, jail);
      return { results: testLineResult(lines, await regexLines(ctx, lines, filter)), filter };
    },
    whitelist: (entry) =>
      whitelistChange(ctx, entry, o.addToWhitelist, (changed) => {
        cache.drop();
        // The admin-whitelisted check depends on ignoreip: the verdicts are recomputed.
        if (changed) o.doctor?.invalidate();
      }),
  };
}

/** One snapshot: version and jail list, then every jail's answers and the database side by side. */
async function fetchSnapshot(ctx: Context, readBans: (since: number) => Promise<{ bans: DbBan[]; bips: DbBan[] }>, now: number): Promise<Snapshot> {
  const first = await askPlain(ctx, [['version'], ['status']]);
  const version = String(first[0]?.value ?? '?');
  const jails = jailNames(first[1]?.value);
  const cmds = jails.flatMap((j) => JAIL_COMMANDS.map((w) => jailCommand(j, w)));
  const [live, db] = await Promise.all([cmds.length ? askPlain(ctx, cmds) : Promise.resolve([]), readBans(now - 31 * 86400)]);
  return { version, jails, live, db };
}

/** The Overview: jails (with their doctor verdicts), uptime, whitelist, doctor and watch state. */
async function overview(ctx: Context, s: Snapshot, d: Awaited<ReturnType<DoctorCache['get']>> | null, o: WebSourceOptions, paths: () => Promise<Fail2banPaths>): ReturnType<WebSource['overview']> {
  const jails = s.jails.map((j, i) => jailView(j, perJail(s, i, 'status'), perJail(s, i, 'bantime'), perJail(s, i, 'findtime'), perJail(s, i, 'maxretry'), perJail(s, i, 'ignoreip')));
  if (d) for (const j of jails) if (d.jails[j.jail]) j.doctor = d.jails[j.jail];
  // The pid file is written when the server starts: its age is the uptime (under the root).
  const pidStat = await ctx.fs.stat((await paths()).pidfile).catch(() => null);
  const whitelist = [...whitelistOfJail(await ctx.fs.readText(JAIL_LOCAL))];
  const doctor = d ? { checkedAt: d.checkedAt, running: d.running, error: d.error, verdict: d.verdict, everySeconds: o.doctorEverySeconds ?? DOCTOR_TTL_SECONDS } : null;
  // The watch's last finding (issue 23), as a banner while a problem lasts.
  const w = parseWatchState(await ctx.fs.readText(WATCH_STATE));
  const watch = w ? { checkedAt: w.checkedAt, problems: w.problems.map((p) => ({ severity: p.severity, message: p.message, ...(p.fix ? { fix: p.fix } : {}) })) } : null;
  return { version: s.version, startedAt: pidStat ? Math.floor(pidStat.mtimeMs / 1000) : null, jails, whitelist, doctor, watch };
}

function bansOf(s: Snapshot, now: number): { now: number; bans: BanView[] } {
  const live: Record<string, Array<{ ip: string; bantime: number | null }>> = {};
  s.jails.forEach((j, i) => (live[j] = parseBanipWithTime(perJail(s, i, 'banip'))));
  return { now, bans: currentBans(live, s.db.bips, s.db.bans, now) };
}

function changeResult(cmd: string[], a: PlainAnswer): { ok: boolean; message: string } {
  if (a.ok) return { ok: true, message: `${cmd.slice(2).join(' ')}: ${JSON.stringify(a.value)}` };
  const v = a.value;
  return { ok: false, message: typeof v === 'object' && v && 'error' in v ? String((v as { error: string }).error) : String(v) };
}

/** The filter a jail uses as jail.local and jail.d/*.local set it (default: the jail's name). */
async function jailFilter(ctx: Context, jail: string): Promise<string> {
  let filter = jail;
  const local = (await ctx.fs.list('/etc/fail2ban/jail.d')).filter((f) => f.endsWith('.local')).sort();
  for (const f of [JAIL_LOCAL, ...local.map((n) => `/etc/fail2ban/jail.d/${n}`)]) {
    const v = getIniValue((await ctx.fs.readText(f)) ?? '', jail, 'filter');
    if (v) filter = v.trim();
  }
  return filter.replace(/%\(__name__\)s/g, jail);
}

async function whitelistChange(ctx: Context, entry: string, add: AddToWhitelist | undefined, changed: (changed: boolean) => void): Promise<{ ok: boolean; message: string; ignoreip: string[] }> {
  try {
    if (!add) throw new ToolError('this view cannot change the whitelist', 1);
    const r = await add(ctx, entry);
    changed(r.changed);
    return { ok: true, message: r.changed ? `${r.entry} added to ignoreip in ${JAIL_LOCAL}` : `${r.entry} was already in ignoreip`, ignoreip: r.ignoreip };
  } catch (err) {
    if (err instanceof ToolError) return { ok: false, message: err.message.split('\n')[0]!, ignoreip: [] };
    throw err;
  }
}
