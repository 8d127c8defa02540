import path from 'node:path';
import type { Context } from '../context.ts';
import { getIniValue } from '../core/ini-edit.ts';
import { ToolError, ExitCode } from '../errors.ts';

/**
 * How the web view talks to fail2ban: one short Python process per *batch* of commands, using
 * fail2ban's own client library (fail2ban.client.csocket, the code fail2ban-client runs) over
 * its Unix socket, run by the Python interpreter fail2ban itself is installed for (the shebang of
 * fail2ban-client). The same process reads fail2ban's sqlite database read-only
 * (`file:…?mode=ro` URI, `PRAGMA query_only`, 5 s busy timeout): no native Node addon, nothing
 * downloaded, works offline on Node 18.19. Only plain data (strings, numbers, lists, dicts)
 * crosses back, as JSON. See README "Web view" for the measurements behind this choice.
 */
export const QUERY_PY = String.raw`
import json, sys, sqlite3
req = json.load(sys.stdin)
out = {"answers": [], "db": None, "error": None, "dbError": None}
def plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, BaseException):
        return {"error": type(v).__name__ + ": " + str(v)}
    return str(v)
def data(v):
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    try:
        d = json.loads(v) if isinstance(v, str) else (v or {})
    except Exception:
        d = {}
    if not isinstance(d, dict):
        d = {}
    m = []
    for x in d.get("matches") or []:
        m.append("".join(str(p) for p in x) if isinstance(x, (list, tuple)) else str(x))
    return {"matches": m, "failures": d.get("failures")}
if req.get("commands"):
    try:
        from fail2ban.client.csocket import CSocket
        s = CSocket(req["socket"], timeout=req.get("timeout", 10))
        try:
            for c in req["commands"]:
                r = s.send(c)
                if isinstance(r, (list, tuple)) and len(r) == 2:
                    out["answers"].append({"ok": r[0] == 0, "value": plain(r[1])})
                else:
                    out["answers"].append({"ok": False, "value": plain(r)})
        finally:
            s.close()
    except Exception as e:
        out["error"] = type(e).__name__ + ": " + str(e)
q = req.get("db")
if q and q.get("file"):
    try:
        con = sqlite3.connect("file:" + q["file"] + "?mode=ro", uri=True, timeout=5)
        try:
            con.execute("PRAGMA query_only = 1")
            cols = "jail, ip, timeofban, bantime, bancount, data"
            res = {"bans": [], "bips": []}
            for (table, sql, args) in (
                ("bans", "SELECT " + cols + " FROM bans WHERE timeofban >= ? ORDER BY timeofban DESC LIMIT ?", (int(q.get("since", 0)), int(q.get("limit", 200000)))),
                ("bips", "SELECT " + cols + " FROM bips", ()),
            ):
                try:
                    for r in con.execute(sql, args):
                        res[table].append([r[0], r[1], r[2], r[3], r[4], data(r[5]) if q.get("data", True) else None])
                except sqlite3.Error:
                    pass
            out["db"] = res
        finally:
            con.close()
    except Exception as e:
        out["dbError"] = type(e).__name__ + ": " + str(e)
json.dump(out, sys.stdout, default=str)
`;

/** Where this fail2ban keeps its socket, database and pid file (its fail2ban.conf/.local/.d). */
export interface Fail2banPaths {
  confDir: string;
  socket: string;
  dbfile: string | null;
  pidfile: string;
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
  return { confDir: path.join(ctx.root, dir), socket: v.socket!, dbfile: /^(:memory:|none)$/i.test(v.dbfile!) ? null : v.dbfile!, pidfile: v.pidfile! };
}

/** The Python fail2ban-client runs with (its shebang), else /usr/bin/python3. */
export async function fail2banPython(ctx: Context): Promise<string> {
  for (const p of ['/usr/bin/fail2ban-client', '/usr/local/bin/fail2ban-client', '/bin/fail2ban-client']) {
    const text = await ctx.fs.readText(p).catch(() => null);
    const m = text ? /^#!\s*(\S+)/.exec(text) : null;
    if (m) return path.posix.isAbsolute(m[1]!) && !m[1]!.endsWith('/env') ? m[1]! : '/usr/bin/python3';
  }
  return '/usr/bin/python3';
}

/**
 * Flags that keep a root Python from importing anything but the system's modules: `-I`
 * (isolated: no current directory or script directory on sys.path, no PYTHON* variables, no
 * user site-packages); an interpreter that may be Python 2, which has no `-I`, gets `-E -s`
 * (the runner's children run in `/` anyway).
 */
export function pythonIsolation(python: string): string[] {
  return /python3(\.\d+)?$/.test(path.posix.basename(python)) ? ['-I'] : ['-E', '-s'];
}

export interface Answer {
  ok: boolean;
  value: unknown;
}

/** A ban row of fail2ban's database: [jail, ip, timeofban, bantime, bancount, data]. */
export type BanRow = [string, string, number, number, number, { matches: string[]; failures: number | null } | null];

export interface QueryResult {
  answers: Answer[];
  db: { bans: BanRow[]; bips: BanRow[] } | null;
  error: string | null;
  dbError: string | null;
}

export interface QueryRequest {
  commands?: string[][];
  db?: { since?: number; limit?: number; data?: boolean };
}

/** fail2ban is not reachable (not running, or not installed). */
export class Fail2banUnavailableError extends ToolError {
  constructor(message: string) {
    super(message, ExitCode.failed);
  }
}

/** One batch: every command over one socket connection, plus the database read. */
export async function queryFail2ban(ctx: Context, paths: Fail2banPaths, python: string, req: QueryRequest): Promise<QueryResult> {
  const input = JSON.stringify({
    socket: paths.socket,
    commands: req.commands ?? [],
    ...(req.db && paths.dbfile ? { db: { file: paths.dbfile, ...req.db } } : {}),
  });
  const r = await ctx.run({ cmd: python, args: [...pythonIsolation(python), '-c', QUERY_PY], input, timeoutMs: 30000 });
  if (r.exitCode !== 0) throw new Fail2banUnavailableError(`could not query fail2ban (${python} exited ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
  return JSON.parse(r.stdout) as QueryResult;
}
