import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.ts';
import { getIniValue } from '../core/ini-edit.ts';
import type { PickleValue } from '../core/pickle.ts';
import { PickledException } from '../core/pickle.ts';
import { ExitCode, ToolError, UnsafePathError } from '../errors.ts';
import { askFail2ban, jailsOfStatus, type Fail2banAnswer } from './fail2ban-socket.ts';
import type { RunResult } from './runner.ts';
import { fail2banPython, readBanDatabase, type BanDatabase } from './fail2ban-db.ts';
import { scratchDir } from './log-tail.ts';

/**
 * The one way this tool talks to fail2ban: its socket (Node, the strict decoder of
 * src/core/pickle.ts), found from fail2ban's own configuration under the context's root and
 * opened only where nobody but root can have put it; fail2ban-client only for what the socket
 * cannot do (`-t`, the configuration test). Under --root the socket is the root's, never the
 * host's: no host daemon is asked (issue 21).
 */

/** Where this fail2ban keeps its socket, database and pid file (target paths, from its fail2ban.conf/.local/.d). */
export interface Fail2banPaths {
  /** The configuration directory on this machine (under the root). */
  confDir: string;
  socket: string;
  dbfile: string | null;
  pidfile: string;
}

/** fail2ban is not reachable (not running, or not under this root): exit 1. */
export class Fail2banUnavailableError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.failed, hint);
  }
}

/** Reads fail2ban.conf, fail2ban.d/*.conf, fail2ban.local, fail2ban.d/*.local in fail2ban's order. */
export async function fail2banPaths(ctx: Context): Promise<Fail2banPaths> {
  const dir = '/etc/fail2ban';
  const d = (await ctx.fs.list(`${dir}/fail2ban.d`)).sort();
  const order = [
    `${dir}/fail2ban.conf`,
    ...d.filter((f) => f.endsWith('.conf')).map((f) => `${dir}/fail2ban.d/${f}`),
    `${dir}/fail2ban.local`,
    ...d.filter((f) => f.endsWith('.local')).map((f) => `${dir}/fail2ban.d/${f}`),
  ];
  const v: Record<string, string> = { socket: '/var/run/fail2ban/fail2ban.sock', pidfile: '/var/run/fail2ban/fail2ban.pid', dbfile: '/var/lib/fail2ban/fail2ban.sqlite3' };
  for (const f of order) {
    const text = await ctx.fs.readText(f);
    if (text === null) continue;
    for (const k of Object.keys(v)) {
      const val = getIniValue(text, 'Definition', k) ?? getIniValue(text, 'DEFAULT', k);
      if (val) v[k] = val.trim();
    }
  }
  return { confDir: ctx.fs.real(dir), socket: v.socket!, dbfile: /^(:memory:|none)$/i.test(v.dbfile!) ? null : v.dbfile!, pidfile: v.pidfile! };
}

const MAX_HOPS = 16;

/**
 * Where target path `p` is on this machine, resolved inside `root` as fail2ban running in that
 * root sees it: a link's absolute target starts again at the root (a tree's /var/run -> /run is
 * the tree's /run, never the host's). Every directory walked must be root's (or ours) and not
 * writable by others, so nobody else can swap a part of the path between this check and the
 * connect; a link is followed only in such a directory. Null when a part is missing.
 */
export function resolveInRoot(root: string, p: string): { real: string; st: Stats } | null {
  const w = walkInRoot(root, p);
  return w.st ? { real: w.real, st: w.st } : null;
}

/**
 * Where target path `p` is on this machine as fail2ban in `root` sees it, whether or not it
 * exists: the existing part resolved as resolveInRoot does (links inside the root), the missing
 * rest appended. A path for fail2ban's own tools (`fail2ban-client -s`) that never leads out of
 * the root.
 */
export function realInRoot(root: string, p: string): string {
  return walkInRoot(root, p).real;
}

/** The walk behind resolveInRoot and realInRoot: `st` is null when a part is missing (or not a directory). */
function walkInRoot(root: string, p: string): { real: string; st: Stats | null } {
  const mine = process.geteuid?.() ?? 0;
  const trusted = (st: Stats): boolean => (st.uid === 0 || st.uid === mine) && (st.mode & 0o022) === 0;
  const base = path.resolve(root);
  const todo = p.split('/').filter((c) => c && c !== '.');
  const done: string[] = [];
  let hops = 0;
  const rest = (): string[] => todo.filter((x) => x !== '..');
  for (;;) {
    const dirReal = path.join(base, ...done);
    const dirSt = lstatSync(dirReal, { throwIfNoEntry: false });
    const c = todo.shift();
    if (!dirSt?.isDirectory()) return { real: path.join(dirReal, ...(c === undefined || c === '..' ? [] : [c]), ...rest()), st: null };
    if (done.length && !trusted(dirSt)) throw new UnsafePathError(dirReal, `uid ${dirSt.uid} owns it or others can write it (mode ${(dirSt.mode & 0o7777).toString(8)}); fail2ban's socket is looked for only where nobody but root can put one`);
    if (c === undefined) return { real: dirReal, st: dirSt };
    if (c === '..') {
      done.pop();
      continue;
    }
    const real = path.join(dirReal, c);
    const st = lstatSync(real, { throwIfNoEntry: false });
    if (!st) return { real: path.join(real, ...rest()), st: null };
    if (st.isSymbolicLink()) {
      if (++hops > MAX_HOPS) throw new UnsafePathError(real, 'too many levels of symbolic links');
      const target = readlinkSync(real);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((x) => x && x !== '.'));
      continue;
    }
    if (!todo.length) return { real, st };
    done.push(c);
  }
}

/** The socket fail2ban's configuration under the root names, as a path on this machine inside the root (it may not exist). */
export async function socketInRoot(ctx: Context): Promise<string> {
  return realInRoot(ctx.root, (await fail2banPaths(ctx)).socket);
}

/**
 * The socket of the fail2ban this context talks to, checked: `explicit` (doctor's --socket, a
 * path on this machine) as given; else the one fail2ban's configuration under the root names,
 * resolved inside the root. A missing socket is Fail2banUnavailableError naming the root.
 */
export async function fail2banSocket(ctx: Context, explicit?: string | null): Promise<string> {
  if (explicit) return explicit;
  const { socket } = await fail2banPaths(ctx);
  const found = resolveInRoot(ctx.root, socket);
  const where = ctx.root === '/' ? '' : ` under this root (${ctx.root})`;
  if (!found) throw new Fail2banUnavailableError(`fail2ban is not running${where}: no socket at ${socket}`, ctx.root === '/' ? 'start it with: service fail2ban start (or fail2ban-client -x start)' : undefined);
  if (!found.st.isSocket()) throw new UnsafePathError(found.real, "it is not a socket, and fail2ban's socket is expected there");
  if (found.st.uid !== 0 && found.st.uid !== (process.geteuid?.() ?? 0)) throw new UnsafePathError(found.real, `uid ${found.st.uid} owns it; fail2ban's socket is root's`);
  return found.real;
}

/** Sends `commands` over one connection to the context's fail2ban; not running is Fail2banUnavailableError. */
export async function askContext(ctx: Context, commands: string[][], o: { socket?: string | null; timeoutMs?: number } = {}): Promise<Fail2banAnswer[]> {
  const socket = await fail2banSocket(ctx, o.socket);
  try {
    return await askFail2ban(socket, commands, o.timeoutMs ?? 10000);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED' || code === 'ENOENT') throw new Fail2banUnavailableError(`fail2ban is not running${ctx.root === '/' ? '' : ` under this root (${ctx.root})`}: nothing answers on ${socket}`);
    throw new Fail2banUnavailableError(`fail2ban did not answer on ${socket}: ${(e as Error).message}`);
  }
}

/** An answer's value, or Fail2banUnavailableError-free ToolError with fail2ban's own message. */
export function answerValue(a: Fail2banAnswer | undefined, what: string): PickleValue {
  if (!a) throw new ToolError(`fail2ban gave no answer to ${what}`, ExitCode.failed);
  if (!a.ok) throw new ToolError(`fail2ban refused ${what}: ${errorText(a.value)}`, ExitCode.failed);
  return a.value;
}

/** fail2ban's error as one line (its exception's class and message). */
export function errorText(v: PickleValue): string {
  if (v instanceof PickledException) return `${v.exception}: ${v.args.map((x) => String(x)).join(', ')}`.slice(0, 300);
  return String(v).slice(0, 300);
}

/** The jail list of a `status` answer (fail2ban-client's text or the socket's value). */
export function parseJailList(stdout: string): string[] {
  const m = /Jail list:\s*(.*)$/m.exec(stdout);
  return m ? m[1]!.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

/** The active jails of the context's fail2ban. */
export async function activeJails(ctx: Context, o: { socket?: string | null } = {}): Promise<string[]> {
  const [a] = await askContext(ctx, [['status']], o);
  return jailsOfStatus(answerValue(a, 'status')) ?? [];
}

export interface JailStatus {
  jail: string;
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  bannedIps: string[];
  files: string[];
}

/** `[label, value]` pairs of a nested status answer, flattened (Filter/Actions groups opened). */
function pairs(v: PickleValue, out = new Map<string, PickleValue>()): Map<string, PickleValue> {
  if (!Array.isArray(v)) return out;
  for (const kv of v) {
    if (!Array.isArray(kv) || kv.length !== 2 || typeof kv[0] !== 'string') continue;
    if (Array.isArray(kv[1]) && kv[1].every((x) => Array.isArray(x) && x.length === 2 && typeof x[0] === 'string')) pairs(kv[1], out);
    else out.set(kv[0], kv[1]!);
  }
  return out;
}

/** A jail's counters and lists from its `status <jail>` answer over the socket. */
export function jailStatusOf(jail: string, v: PickleValue): JailStatus {
  const p = pairs(v);
  const num = (k: string): number => {
    const x = p.get(k);
    return typeof x === 'number' ? x : typeof x === 'bigint' ? Number(x) : 0;
  };
  const list = (k: string): string[] => {
    const x = p.get(k);
    if (Array.isArray(x)) return x.map((e) => String(e));
    return typeof x === 'string' ? x.split(/\s+/).filter(Boolean) : [];
  };
  return {
    jail,
    currentlyFailed: num('Currently failed'),
    totalFailed: num('Total failed'),
    currentlyBanned: num('Currently banned'),
    totalBanned: num('Total banned'),
    bannedIps: list('Banned IP list'),
    files: list('File list'),
  };
}

/** Each named jail's status, asked over one connection. */
export async function jailStatuses(ctx: Context, jails: string[]): Promise<JailStatus[]> {
  if (!jails.length) return [];
  const answers = await askContext(ctx, jails.map((j) => ['status', j]));
  return jails.map((j, i) => jailStatusOf(j, answerValue(answers[i], `status ${j}`)));
}

/** Lifts a ban in one jail or in all: how many bans fail2ban lifted. */
export async function unbanAddress(ctx: Context, ip: string, jail: string | null): Promise<number> {
  const cmd = jail ? ['set', jail, 'unbanip', ip] : ['unban', ip];
  const [a] = await askContext(ctx, [cmd]);
  const v = answerValue(a, cmd.join(' '));
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : Number(v) || 0;
}

/**
 * `fail2ban-client -t` on the configuration of the context (under --root, `-c` names the root's):
 * the one check only fail2ban's own reader can make. It reads files; it asks no server.
 */
export function configTest(ctx: Context): Promise<RunResult> {
  return ctx.run({ cmd: 'fail2ban-client', args: [...(ctx.live ? [] : ['-c', ctx.fs.real('/etc/fail2ban')]), '-t'], timeoutMs: 60000 });
}

// -----------------------------------------------------------------------------------------------
// What the web view asks (src/web/source.ts): answers as plain data, the ban database, and
// fail2ban-regex over lines pasted on the page.

/** One answer over the socket as plain data (what src/core/web-view.ts reads): an error is `{ error }`. */
export interface PlainAnswer {
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

/** `commands` over one connection to the context's fail2ban, answered as plain data; no answer is exit 1. */
export async function askPlain(ctx: Context, commands: string[][]): Promise<PlainAnswer[]> {
  try {
    return (await askContext(ctx, commands)).map((a) => ({ ok: a.ok, value: plainOf(a.value) }));
  } catch (e) {
    if (e instanceof ToolError) throw new ToolError(`fail2ban is not answering on its socket: ${e.message}`, 1);
    throw e;
  }
}

/**
 * A reader of the context's ban database (the one fail2ban's configuration names, resolved inside
 * the root, opened read-only by src/adapters/fail2ban-db.ts): the bans since a time and the
 * lasting ones. None when fail2ban keeps no database or it cannot be read. Paths and interpreter
 * are found once per reader.
 */
export function banHistoryReader(ctx: Context, paths: () => Promise<Fail2banPaths> = () => fail2banPaths(ctx)): (since: number) => Promise<BanDatabase> {
  let python: Promise<string> | null = null;
  return async (since) => {
    const { dbfile } = await paths();
    const found = dbfile ? resolveInRoot(ctx.root, dbfile) : null;
    if (!found?.st.isFile()) return { bans: [], bips: [] };
    const r = await readBanDatabase(ctx, await (python ??= fail2banPython(ctx)), found.real, { since });
    return 'error' in r ? { bans: [], bips: [] } : r;
  };
}

/**
 * `fail2ban-regex` of `lines` against `filter` (a name with its arguments, of the context's
 * configuration): its `<ip>\t<msg>` lines for the lines matched. The lines go through a private
 * scratch file, removed afterwards. A failure is exit 1 with fail2ban-regex's last error line.
 */
export async function regexLines(ctx: Context, lines: string[], filter: string): Promise<string> {
  const scratch = await scratchDir();
  try {
    const file = await scratch.write('lines.log', `${lines.join('\n')}\n`);
    const r = await ctx.run({ cmd: 'fail2ban-regex', args: ['--config', ctx.fs.real('/etc/fail2ban'), '-o', '<ip>\t<msg>', file, filter], timeoutMs: 60000 });
    if (r.exitCode !== 0) throw new ToolError(`fail2ban-regex failed for filter '${filter}': ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`, 1);
    return r.stdout;
  } finally {
    await scratch.remove();
  }
}

// ---------------------------------------------------------------------------------------------
// doctor's questions (issue 22): is the server up, what each jail is set to, a test ban, all
// over the socket (one connection per question, every jail's settings in one); only `-d`, the
// configuration as fail2ban reads it, is a fail2ban-client run. Doctor builds no command line.

/** One answer as doctor uses it: whether fail2ban did it, its value as text, its error. */
export interface ClientAnswer {
  ok: boolean;
  /** The value (a number, a word) as text; '' when refused. */
  stdout: string;
  /** fail2ban's error (its exception) or why it could not be asked; '' when it succeeded. */
  error: string;
}

/** A jail's running settings as doctor needs them. */
export interface JailSettings {
  logpath: string[];
  ignoreip: string[];
  maxretry: number | null;
  actions: string[];
}

/** doctor's fail2ban: the server of the context (or `socket`), its configuration under the root. */
export interface DoctorFail2ban {
  /** The socket asked, on this machine (null: the live host's, found from its configuration). */
  socket: string | null;
  /** The configuration directory on this machine (null: fail2ban's own default, on the live host). */
  confDir: string | null;
  ping(): Promise<ClientAnswer>;
  version(): Promise<string | null>;
  jails(): Promise<string[]>;
  /** Each jail's settings, asked over one connection. */
  settings(jails: string[]): Promise<Map<string, JailSettings>>;
  /** Each jail's backend and log files as fail2ban reads the configuration (`-d`: no server needed); asked once. */
  configDump(): Promise<{ backends: Map<string, string>; logpaths: Map<string, string[]>; error: string | null }>;
  ban(jail: string, ip: string): Promise<ClientAnswer>;
  unban(jail: string, ip: string): Promise<ClientAnswer>;
  /** fail2ban's log file (null: it logs elsewhere: syslog, the journal). */
  logTarget(): Promise<string | null>;
}

/** A socket answer's list (logpath, ignoreip, actions) as strings. */
const listOf = (v: PickleValue | undefined): string[] => (Array.isArray(v) ? v.map((x) => String(x)) : []);
const numberOf = (v: PickleValue | undefined): number | null => (typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null);

/**
 * doctor's fail2ban over its socket: on the live host the one fail2ban's configuration names;
 * under --root the root's, resolved inside the root (never the host's). `socket`: doctor's
 * --socket (or VOIP_F2B_SOCKET), a path on this machine. `-d` runs fail2ban-client with the
 * root's configuration (`-c`).
 */
export async function doctorFail2ban(ctx: Context, socket: string | null): Promise<DoctorFail2ban> {
  const confDir = ctx.live ? null : ctx.fs.real('/etc/fail2ban');
  // The socket is found (and checked) once per doctor run, then asked directly.
  let found: string | null = null;
  const ask = async (commands: string[][]): Promise<Fail2banAnswer[]> => {
    found ??= await fail2banSocket(ctx, socket);
    return askContext(ctx, commands, { socket: found });
  };
  const one = async (command: string[]): Promise<ClientAnswer> => {
    try {
      const [a] = await ask([command]);
      if (!a) return { ok: false, stdout: '', error: 'no answer' };
      return a.ok ? { ok: true, stdout: String(a.value ?? ''), error: '' } : { ok: false, stdout: '', error: errorText(a.value) };
    } catch (e) {
      if (e instanceof Fail2banUnavailableError) return { ok: false, stdout: '', error: e.message };
      throw e;
    }
  };
  let dump: Awaited<ReturnType<DoctorFail2ban['configDump']>> | null = null;
  return {
    socket: socket ?? (ctx.live ? null : await socketInRoot(ctx)),
    confDir,
    ping: () => one(['ping']),
    version: async () => {
      const v = await one(['version']);
      return v.ok ? (/\d+\.\d+(?:\.\d+)?/.exec(v.stdout)?.[0] ?? null) : null;
    },
    jails: async () => {
      const [a] = await ask([['status']]);
      return a?.ok ? (jailsOfStatus(a.value) ?? []) : [];
    },
    async settings(jails) {
      const keys = ['logpath', 'ignoreip', 'maxretry', 'actions'] as const;
      const answers = jails.length ? await ask(jails.flatMap((j) => keys.map((k) => ['get', j, k]))) : [];
      const value = (i: number): PickleValue | undefined => (answers[i]?.ok ? answers[i]!.value : undefined);
      return new Map(jails.map((j, n) => [j, { logpath: listOf(value(n * 4)), ignoreip: listOf(value(n * 4 + 1)), maxretry: numberOf(value(n * 4 + 2)), actions: listOf(value(n * 4 + 3)) }]));
    },
    async configDump() {
      if (dump) return dump;
      const r = await ctx.run({ cmd: 'fail2ban-client', args: [...(confDir ? ['-c', confDir] : []), '-d'], timeoutMs: 60000 });
      const error = (r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.exitCode}`;
      dump = r.exitCode === 0 ? { backends: parseJailBackends(r.stdout), logpaths: parseJailLogpaths(r.stdout), error: null } : { backends: new Map(), logpaths: new Map(), error };
      return dump;
    },
    ban: (jail, ip) => one(['set', jail, 'banip', ip]),
    unban: (jail, ip) => one(['set', jail, 'unbanip', ip]),
    logTarget: async () => {
      const t = await one(['get', 'logtarget']);
      return t.ok && t.stdout.startsWith('/') ? t.stdout : null;
    },
  };
}

/** Each jail's backend from `fail2ban-client -d` (its lines `['add', '<jail>', '<backend>']`). */
export function parseJailBackends(dump: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of dump.matchAll(/^\['add', '([^'\n]+)', '([^'\n]+)'\]$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Each jail's log files from `fail2ban-client -d` (its lines `['set', '<jail>', 'addlogpath', '<file>', …]`). */
export function parseJailLogpaths(dump: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of dump.matchAll(/^\['set', '([^'\n]+)', 'addlogpath', '([^'\n]+)'/gm)) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  return out;
}
