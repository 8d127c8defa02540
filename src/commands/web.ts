import { existsSync } from 'node:fs';
import { readSecretSafe, type SecretRead } from '../adapters/fs.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from '../context.ts';
import { activeJails, askContext, fail2banPaths, resolveInRoot, errorText, socketInRoot, type Fail2banPaths } from '../adapters/fail2ban.ts';
import { scratchDir } from '../adapters/log-tail.ts';
import { getIniValue } from '../core/ini-edit.ts';
import type { PickleValue } from '../core/pickle.ts';
import { PickledException } from '../core/pickle.ts';
import { whitelistOfJail, withEntry } from '../core/whitelist.ts';
import { currentBans, history, jailNames, jailView, parseBanipWithTime, testLineResult, type BanView, type DbBan, type HistoryView } from '../core/web-view.ts';
import { ToolError, UsageError } from '../errors.ts';
import { fail2banPython, readBanDatabase } from '../web/fail2ban-query.ts';
import { isLoopback, startWebServer, type AuditEntry, type AuditLog, type WebSource } from '../web/server.ts';
import { newToken } from '../web/auth.ts';
import { createDoctorCache, DOCTOR_TTL_SECONDS, type DoctorCache } from '../web/doctor-cache.ts';
import { DOCTOR_DEFAULT_LINES } from '../core/doctor.ts';
import { WATCH_STATE, parseWatchState } from '../core/watch.ts';
import { doctor } from './doctor.ts';

import { DEFAULT_LISTEN, DEFAULT_TOKEN_FILE, type WebOptions } from '../web/options.ts';

export { DEFAULT_LISTEN, DEFAULT_TOKEN_FILE, type WebOptions };
export const AUDIT_LOG = '/var/log/voip-f2b-install/web-audit.log';
const JAIL_LOCAL = '/etc/fail2ban/jail.local';

export interface WebReport {
  command: 'web';
  url: string;
  tokenFile: string;
  stoppedBy: string;
}

/** Where a target path (e.g. /etc/voip-f2b-install/web-token) is on this machine, under --root. */
export function realPath(ctx: Context, p: string): string {
  return ctx.fs.real(p);
}

/** `host:port` or `[v6]:port` → parts; anything else is a usage error naming the value. */
export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`invalid --listen '${raw}': expected host:port, e.g. 127.0.0.1:8473 or [::1]:8473`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The listen address, refused off loopback unless TLS is configured (exit 2). */
export function checkListen(o: Pick<WebOptions, 'listen' | 'tlsCert' | 'tlsKey'>): { host: string; port: number } {
  const l = parseListen(o.listen);
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together: give both or neither');
  if (!isLoopback(l.host) && !(o.tlsCert && o.tlsKey)) {
    throw new UsageError(
      `refusing --listen ${o.listen} without TLS: the page controls fail2ban; expected a loopback address (127.0.0.1, ::1) or --tls-cert and --tls-key`,
      'the normal way in is an SSH tunnel: ssh -L 8473:127.0.0.1:8473 <server>, then open http://127.0.0.1:8473/',
    );
  }
  return l;
}

/** The page's files: templates/web/ beside dist/ in the package, or in the repository. */
export function webAssetsDir(): string {
  for (const rel of ['../templates/web/', '../../templates/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error('internal: templates/web/ not found beside the program');
}

/**
 * The token: read from the file, or created there on first start (256 random bits, directory
 * 0700, file 0600, both root's). The file is trusted on more than its mode (readSecretSafe): a
 * link, a file another user owns (that user chose the token), one others may read (that token is
 * spent) or one in a directory others can write is refused, exit 2.
 */
export async function loadOrCreateToken(ctx: Context, file: string): Promise<{ token: string; created: boolean }> {
  const real = realPath(ctx, file);
  const read = (): SecretRead => {
    const r = readSecretSafe(real);
    if ('refused' in r && r.looseMode !== undefined) {
      throw new UsageError(`the token file ${file} can be read by others (mode ${r.looseMode.toString(8)}): refusing to use it`, `delete it to have a new token made (mode 0600), or chmod 600 ${file} if nobody else read it`);
    }
    if ('refused' in r) throw new UsageError(`refusing the token file ${file}: ${r.refused}`, `delete it to have a new token made (mode 0600), or ${r.fix}`);
    return r;
  };
  let r = read();
  if ('missing' in r) {
    await ctx.fs.mkdirp(path.posix.dirname(file), 0o700);
    r = read(); // the directory, now that it exists, is checked too
  }
  if ('text' in r) {
    const token = r.text.trim();
    if (token.length < 22) throw new UsageError(`the token file ${file} holds a token shorter than 128 bits; delete it to have a new one made`);
    return { token, created: false };
  }
  const token = newToken();
  // Made whole (mode, owner, content) under a temp name, then linked: never replaces a file.
  if (!(await ctx.fs.touch(file, { mode: 0o600 }, `${token}\n`))) return loadOrCreateToken(ctx, file);
  return { token, created: true };
}

/** Audit log: one JSON line per change (time, client, action, target, result), file 0600. */
export function fileAuditLog(ctx: Context, file = AUDIT_LOG): AuditLog {
  return {
    async append(e: AuditEntry): Promise<void> {
      await ctx.fs.mkdirp(path.posix.dirname(file), 0o700);
      await ctx.fs.append(file, `${JSON.stringify(e)}\n`);
    },
    async recent(n: number): Promise<AuditEntry[]> {
      const text = (await ctx.fs.readText(file).catch(() => null)) ?? '';
      return text
        .split('\n')
        .filter(Boolean)
        .slice(-n)
        .reverse()
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as AuditEntry];
          } catch {
            return [];
          }
        });
    },
  };
}

/** One answer over the socket as plain data (what src/core/web-view.ts reads): an error is `{ error }`. */
interface Answer {
  ok: boolean;
  value: unknown;
}

/** A decoded pickle as plain JSON-like data: tuples and sets as lists, big integers as numbers, bytes as text. */
export function plainOf(v: PickleValue): unknown {
  if (v instanceof PickledException) return { error: errorText(v) };
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (v instanceof Set) return [...v].map(plainOf);
  if (Array.isArray(v)) return v.map(plainOf);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainOf(x)]));
  return v;
}

interface Snapshot {
  at: number;
  result: { version: string; jails: string[]; live: Answer[]; db: { bans: DbBan[]; bips: DbBan[] } };
  /** The views computed from it, once per snapshot (with 1,000 bans each takes ~8 ms). */
  bans?: { now: number; bans: BanView[] };
  history?: HistoryView;
}

/** A snapshot older than this is not shown while a new one is fetched: the request waits. */
export const MAX_STALE_SECONDS = 30;

/**
 * The real source: fail2ban over its socket from Node (src/adapters/fail2ban.ts; under --root the
 * root's socket, never the host's), in batches over one connection each, and its database read
 * read-only by one Python process per snapshot (src/web/fail2ban-query.ts). A snapshot is fresh
 * for `cacheSeconds`; after that it is still answered at once while a new one is fetched in the
 * background (up to MAX_STALE_SECONDS old; older, the request waits). Concurrent requests share
 * one refresh. Every change made from the page drops the snapshot, and a refresh begun before the
 * change is not kept: the next answer shows the change. Doctor's own test bans are left out of
 * the bans and the history (src/core/web-view.ts).
 */
export function fail2banSource(ctx: Context, o: { cacheSeconds: number; doctor?: DoctorCache; doctorEverySeconds?: number }): WebSource & { paths(): Promise<Fail2banPaths> } {
  let pathsP: Promise<Fail2banPaths> | null = null;
  let pythonP: Promise<string> | null = null;
  const paths = (): Promise<Fail2banPaths> => (pathsP ??= fail2banPaths(ctx));
  const python = (): Promise<string> => (pythonP ??= fail2banPython(ctx));
  let snap: Snapshot | null = null;
  let inflight: { gen: number; p: Promise<Snapshot> } | null = null;
  /** Counts the changes: a refresh begun before one is not kept. */
  let gen = 0;
  const nowS = (): number => Math.floor(ctx.now().getTime() / 1000);

  const q = async (commands: string[][]): Promise<Answer[]> => {
    try {
      return (await askContext(ctx, commands)).map((a) => ({ ok: a.ok, value: plainOf(a.value) }));
    } catch (e) {
      if (e instanceof ToolError) throw new ToolError(`fail2ban is not answering on its socket: ${e.message}`, 1);
      throw e;
    }
  };
  /** The database's bans of the last 31 days; none when fail2ban keeps none or it cannot be read. */
  const database = async (): Promise<{ bans: DbBan[]; bips: DbBan[] }> => {
    const { dbfile } = await paths();
    const found = dbfile ? resolveInRoot(ctx.root, dbfile) : null;
    if (!found?.st.isFile()) return { bans: [], bips: [] };
    const r = await readBanDatabase(ctx, await python(), found.real, { since: nowS() - 31 * 86400 });
    return 'error' in r ? { bans: [], bips: [] } : (r as { bans: DbBan[]; bips: DbBan[] });
  };
  const refresh = async (): Promise<Snapshot> => {
    const first = await q([['version'], ['status']]);
    const version = String(first[0]?.value ?? '?');
    const jails = jailNames(first[1]?.value);
    const cmds: string[][] = [];
    for (const j of jails) cmds.push(['status', j], ['get', j, 'banip', '--with-time'], ['get', j, 'bantime'], ['get', j, 'findtime'], ['get', j, 'maxretry'], ['get', j, 'ignoreip']);
    const [live, db] = await Promise.all([cmds.length ? q(cmds) : Promise.resolve([]), database()]);
    return { at: Date.now(), result: { version, jails, live, db } };
  };
  const startRefresh = (): Promise<Snapshot> => {
    if (inflight && inflight.gen === gen) return inflight.p;
    const g = gen;
    const p = refresh()
      .then((s) => {
        if (g === gen) snap = s;
        return s;
      })
      .finally(() => {
        if (inflight?.p === p) inflight = null;
      });
    inflight = { gen: g, p };
    return p;
  };
  const snapshot = async (): Promise<Snapshot> => {
    const age = snap ? Date.now() - snap.at : Infinity;
    if (snap && age < o.cacheSeconds * 1000) return snap;
    if (snap && age < MAX_STALE_SECONDS * 1000) {
      // Stale but recent: answered now; the next request gets the new one (an error then shows).
      startRefresh().catch(() => undefined);
      return snap;
    }
    return startRefresh();
  };
  const dropSnapshot = (): void => {
    snap = null;
    gen++;
  };
  const perJail = (s: Snapshot, i: number, k: number): unknown => s.result.live[i * 6 + k]?.value;
  const change = async (cmd: string[]): Promise<{ ok: boolean; message: string }> => {
    const r = await q([cmd]);
    dropSnapshot();
    const a = r[0]!;
    return a.ok ? { ok: true, message: `${cmd.slice(2).join(' ')}: ${JSON.stringify(a.value)}` } : { ok: false, message: typeof a.value === 'object' && a.value && 'error' in a.value ? String((a.value as { error: string }).error) : String(a.value) };
  };
  const jailFilter = async (jail: string): Promise<string> => {
    let filter = jail;
    const files = [JAIL_LOCAL, ...(await ctx.fs.list('/etc/fail2ban/jail.d')).filter((f) => f.endsWith('.local')).sort().map((f) => `/etc/fail2ban/jail.d/${f}`)];
    for (const f of files) {
      const v = getIniValue((await ctx.fs.readText(f)) ?? '', jail, 'filter');
      if (v) filter = v.trim();
    }
    return filter.replace(/%\(__name__\)s/g, jail);
  };

  return {
    paths,
    async overview() {
      // The verdicts come from their own cache (doctor takes seconds): asked for side by side.
      const [s, d] = await Promise.all([snapshot(), o.doctor?.get() ?? null]);
      const jails = s.result.jails.map((j, i) => jailView(j, perJail(s, i, 0), perJail(s, i, 2), perJail(s, i, 3), perJail(s, i, 4), perJail(s, i, 5)));
      if (d) for (const j of jails) if (d.jails[j.jail]) j.doctor = d.jails[j.jail];
      const p = await paths();
      // The pid file is written when the server starts: its age is the uptime (under the root).
      const pidStat = await ctx.fs.stat(p.pidfile).catch(() => null);
      const whitelist = [...whitelistOfJail(await ctx.fs.readText(JAIL_LOCAL))];
      const doctor = d ? { checkedAt: d.checkedAt, running: d.running, error: d.error, verdict: d.verdict, everySeconds: o.doctorEverySeconds ?? DOCTOR_TTL_SECONDS } : null;
      // The watch's last finding (issue 23), as a banner while a problem lasts.
      const w = parseWatchState(await ctx.fs.readText(WATCH_STATE));
      const watch = w ? { checkedAt: w.checkedAt, problems: w.problems.map((p) => ({ severity: p.severity, message: p.message, ...(p.fix ? { fix: p.fix } : {}) })) } : null;
      return { version: s.result.version, startedAt: pidStat ? Math.floor(pidStat.mtimeMs / 1000) : null, jails, whitelist, doctor, watch };
    },
    async bans() {
      const s = await snapshot();
      if (!s.bans) {
        const live: Record<string, Array<{ ip: string; bantime: number | null }>> = {};
        s.result.jails.forEach((j, i) => (live[j] = parseBanipWithTime(perJail(s, i, 1))));
        s.bans = { now: nowS(), bans: currentBans(live, s.result.db.bips, s.result.db.bans, nowS()) };
      }
      return s.bans;
    },
    async history() {
      const s = await snapshot();
      return (s.history ??= history(s.result.db.bans, nowS()));
    },
    ban: (jail, ip) => change(['set', jail, 'banip', ip]),
    unban: (jail, ip) => change(['set', jail, 'unbanip', ip]),
    async testLines(jail, lines) {
      const filter = await jailFilter(jail);
      const scratch = await scratchDir();
      try {
        const file = await scratch.write('lines.log', `${lines.join('\n')}\n`);
        const p = await paths();
        const r = await ctx.run({ cmd: 'fail2ban-regex', args: ['--config', p.confDir, '-o', '<ip>\t<msg>', file, filter], timeoutMs: 60000 });
        if (r.exitCode !== 0) throw new ToolError(`fail2ban-regex failed for filter '${filter}': ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`, 1);
        return { results: testLineResult(lines, r.stdout), filter };
      } finally {
        await scratch.remove();
      }
    },
    async whitelist(entry) {
      try {
        const r = await addToWhitelist(ctx, entry);
        dropSnapshot();
        // The admin-whitelisted check depends on ignoreip: the verdicts are recomputed.
        if (r.changed) o.doctor?.invalidate();
        return { ok: true, message: r.changed ? `${r.entry} added to ignoreip in ${JAIL_LOCAL}` : `${r.entry} was already in ignoreip`, ignoreip: r.ignoreip };
      } catch (err) {
        if (err instanceof ToolError) return { ok: false, message: err.message.split('\n')[0]!, ignoreip: [] };
        throw err;
      }
    },
  };
}

/**
 * Adds one whitelist entry the way the command line does: it is `install --whitelist <entry>
 * --yes --no-doctor`, parsed by the CLI's own parser and planned by the same planner, so every
 * copy derived from the whitelist follows (jail.local's ignoreip, Kamailio's throttle, the
 * CrowdSec allow set), with the plan/apply of install (backup and manifest, atomic writes,
 * `fail2ban-client -t`, restart, verify; rollback on failure). The other settings are the last
 * run's (install keeps them). Entries are only ever added. Under --root nothing is restarted by
 * apply: the root's running fail2ban (over its socket, never the host's) is told the entry with
 * `addignoreip` in each of its jails, as a reload would.
 */
export function addToWhitelist(ctx: Context, raw: string): Promise<{ changed: boolean; entry: string; ignoreip: string[] }> {
  // One change at a time: each is a whole install run (its journal, the manifest, a restart).
  const run = whitelistQueue.then(() => addNow(ctx, raw));
  whitelistQueue = run.catch(() => undefined);
  return run;
}
let whitelistQueue: Promise<unknown> = Promise.resolve();

async function addNow(ctx: Context, raw: string): Promise<{ changed: boolean; entry: string; ignoreip: string[] }> {
  const current = whitelistOfJail(await ctx.fs.readText(JAIL_LOCAL));
  const { entry, whitelist } = withEntry(current, raw);
  if (current.includes(entry)) return { changed: false, entry, ignoreip: [...current] };
  const [{ parseArgs }, { install, storedSettings }] = await Promise.all([import('../cli.ts'), import('./install.ts')]);
  // The whitelist setting gains the entry: a flag replaces a setting, so the last run's entries go with it.
  const kept = (await storedSettings(ctx))?.whitelist ?? [];
  const inv = parseArgs(['--whitelist', [...new Set([...kept, entry])].join(','), '--yes', '--no-doctor'], {});
  if (inv.command !== 'install') throw new Error('internal: the whitelist change did not parse as install');
  const report = await install(inv.options, { ...ctx, interactive: false });
  if (!ctx.live) {
    const jails = await activeJails(ctx).catch(() => [] as string[]);
    if (jails.length) await askContext(ctx, jails.map((j) => ['set', j, 'addignoreip', entry]));
  }
  return { changed: true, entry, ignoreip: report.ignoreip.length ? report.ignoreip : [...whitelist] };
}

/**
 * The start notice. The login URL carries the token: it is printed only to a terminal (where
 * only the admin reads it); stdout that is a pipe or a file (a service's journal, syslog, a CI
 * log) gets the token file's path and the command that prints the URL on the server.
 */
function printLogin(ctx: Context, options: WebOptions, o: { url: string; token: string; created: boolean; tokenFile: string; terminal: boolean }): void {
  const loginUrl = `${o.url}#token=${o.token}`;
  const loginCommand = `echo "${o.url}#token=$(cat ${o.tokenFile})"`;
  const info = { url: o.url, tokenFile: options.tokenFile, tokenCreated: o.created };
  if (options.json) {
    ctx.log.out(`${JSON.stringify({ command: 'web', listening: true, ...info, ...(o.created && o.terminal ? { loginUrl } : { loginCommand }) })}\n`);
  } else if (o.created && o.terminal) {
    ctx.log.out(`Listening on ${o.url}\nOpen this once to log in (the token is now in ${options.tokenFile}, mode 0600):\n  ${loginUrl}\n`);
  } else {
    const made = o.created ? ' (made now, mode 0600; not printed: this output is not a terminal)' : '';
    ctx.log.out(`Listening on ${o.url}\nLog in with the token in ${options.tokenFile}${made}.\nThe login URL, on this server: ${loginCommand}\n`);
  }
}

/** `web`: serves the page and the API until SIGINT/SIGTERM (then a clean exit 0). */
export async function web(options: WebOptions, ctx: Context, hooks: { onListening?: (url: string) => void; signal?: AbortSignal; stdoutIsTerminal?: boolean } = {}): Promise<WebReport> {
  const listen = checkListen(options);
  if (ctx.live && ctx.uid !== 0) throw new ToolError('must run as root: the web view talks to fail2ban, whose socket is root-only', 3, 'run it with sudo');
  const { token, created } = await loadOrCreateToken(ctx, options.tokenFile);
  // The doctor verdicts on the Overview: doctor without the ban round trip (a page view never
  // touches the firewall), on the fail2ban this view talks to, computed at start and then in the
  // background once a minute (src/web/doctor-cache.ts).
  // Once the view stops, a background run starts no new process, so the exit is not held up.
  const doctorEvery = options.doctorSeconds ?? DOCTOR_TTL_SECONDS;
  let stopping = false;
  const doctorCtx: Context = { ...ctx, run: (c) => (stopping ? Promise.resolve({ exitCode: 130, stdout: '', stderr: 'the web view is stopping' }) : ctx.run(c)) };
  const verdicts = createDoctorCache(async () => doctor({ banTest: false, probes: false, lines: DOCTOR_DEFAULT_LINES, json: true, socket: await doctorSocket() }, doctorCtx), { ttlMs: doctorEvery * 1000 });
  const source = fail2banSource(ctx, { cacheSeconds: options.cacheSeconds ?? 2, doctor: verdicts, doctorEverySeconds: doctorEvery });
  // doctor asks the socket this view talks to: the one fail2ban's configuration names, under the root.
  const doctorSocket = (): Promise<string> => socketInRoot(ctx);
  const srv = await startWebServer({
    host: listen.host,
    port: listen.port,
    ...(options.tlsCert && options.tlsKey ? { tls: { cert: options.tlsCert, key: options.tlsKey } } : {}),
    token,
    source,
    audit: fileAuditLog(ctx),
    assetsDir: webAssetsDir(),
  });
  void verdicts.refresh();
  printLogin(ctx, options, { url: srv.url, token, created, tokenFile: realPath(ctx, options.tokenFile), terminal: hooks.stdoutIsTerminal ?? Boolean(process.stdout.isTTY) });
  hooks.onListening?.(srv.url);

  const stoppedBy = await new Promise<string>((resolve) => {
    const stop = (why: string) => () => resolve(why);
    process.once('SIGINT', stop('SIGINT'));
    process.once('SIGTERM', stop('SIGTERM'));
    hooks.signal?.addEventListener('abort', stop('abort'));
  });
  stopping = true;
  await srv.close();
  return { command: 'web', url: srv.url, tokenFile: options.tokenFile, stoppedBy };
}
