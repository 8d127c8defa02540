import path from 'node:path';
import type { Context } from '../context.ts';

/**
 * How the tool reads fail2ban's ban history (for the web view; called through
 * src/adapters/fail2ban.ts, readBanHistory): its sqlite database, read-only (`file:…?mode=ro`
 * URI, `PRAGMA query_only`, 5 s busy timeout), by one short Python process of the interpreter
 * fail2ban itself is installed for (the shebang of fail2ban-client), with Python's own sqlite3
 * and nothing of fail2ban imported: Node 18.19 has no sqlite and the tool adds no native addon.
 * Only plain data (strings, numbers, lists) crosses back, as JSON. Everything live (status, bans,
 * ban and unban) goes over fail2ban's socket from Node (src/adapters/fail2ban.ts); this process
 * never talks to fail2ban.
 */
export const QUERY_PY = String.raw`
import json, sys, sqlite3
req = json.load(sys.stdin)
out = {"db": None, "dbError": None}
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

/** A ban row of fail2ban's database: [jail, ip, timeofban, bantime, bancount, data]. */
export type BanRow = [string, string, number, number, number, { matches: string[]; failures: number | null } | null];

export interface BanDatabase {
  bans: BanRow[];
  bips: BanRow[];
}

/**
 * The bans of fail2ban's database `dbReal` (a path on this machine, already resolved under the
 * root): those since `since` (newest first, at most `limit`) and the lasting ones (bips). A
 * database that cannot be read is `{ error }`, shown on the page, never thrown.
 */
export async function readBanDatabase(ctx: Context, python: string, dbReal: string, q: { since?: number; limit?: number; data?: boolean }): Promise<BanDatabase | { error: string }> {
  const input = JSON.stringify({ db: { file: dbReal, ...q } });
  const r = await ctx.run({ cmd: python, args: [...pythonIsolation(python), '-c', QUERY_PY], input, timeoutMs: 30000 });
  if (r.exitCode !== 0) return { error: `could not read fail2ban's database (${python} exited ${r.exitCode}): ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}` };
  const out = JSON.parse(r.stdout) as { db: BanDatabase | null; dbError: string | null };
  return out.db ?? { error: out.dbError ?? 'no answer' };
}
