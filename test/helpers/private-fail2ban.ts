/**
 * A private, real fail2ban-server for tests that need no host state: its own config directory
 * (only our filter templates and fail2ban's common.conf), socket, pid file, log and database in a
 * temp directory, and jails without any action, so a ban is fail2ban's own record ("Banned IP
 * list", ban time) and never touches a firewall. Several can run at once. Stopped by its PID.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATE_FILTER_DIR } from './fail2ban-regex.ts';
import { sh, stopPid } from './system.ts';
import { processAlive } from '../../src/adapters/facts.ts';

export interface JailStatus {
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  banned: string[];
}

export interface PrivateFail2ban {
  dir: string;
  /** Append lines (a trailing newline is added to each) to a log file in dir. */
  append(file: string, lines: string[]): void;
  status(jail: string): JailStatus;
  /** `fail2ban-client get <jail> banip --with-time`: address → ban duration in seconds. */
  banTimes(jail: string): Map<string, number>;
  client(args: string[]): { status: number | null; stdout: string; stderr: string };
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Start fail2ban-server with `jailLocal` (log paths may use `%(dir)s`, replaced by the temp dir).
 * The log files named in `logs` are created empty first.
 */
export async function startPrivateFail2ban(name: string, jailLocal: string, logs: string[]): Promise<PrivateFail2ban> {
  const dir = mkdtempSync(join(tmpdir(), `voip-f2b-${name}-`));
  const conf = join(dir, 'etc');
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  cpSync('/etc/fail2ban/filter.d/common.conf', join(conf, 'filter.d', 'common.conf'));
  for (const f of readdirSync(TEMPLATE_FILTER_DIR)) if (f.endsWith('.conf')) cpSync(join(TEMPLATE_FILTER_DIR, f), join(conf, 'filter.d', f));
  const sock = join(dir, 'f2b.sock');
  const pidfile = join(dir, 'f2b.pid');
  writeFileSync(
    join(conf, 'fail2ban.conf'),
    `[Definition]\nloglevel = INFO\nlogtarget = ${join(dir, 'fail2ban.log')}\nsyslogsocket = auto\nsocket = ${sock}\npidfile = ${pidfile}\ndbfile = ${join(dir, 'fail2ban.sqlite3')}\ndbpurgeage = 1d\ndbmaxmatches = 10\n\n[Thread]\n`,
  );
  // jail.conf: only the defaults a jail needs; no actions (bans are fail2ban's record only).
  writeFileSync(
    join(conf, 'jail.conf'),
    '[DEFAULT]\nenabled = false\nusedns = no\nlogencoding = utf-8\nbackend = auto\nmode = normal\nfilter = %(__name__)s[mode=%(mode)s]\nbantime = 1h\nfindtime = 10m\nmaxretry = 5\naction =\n',
  );
  writeFileSync(join(conf, 'jail.local'), jailLocal.replaceAll('%(dir)s', dir));
  for (const l of logs) writeFileSync(join(dir, l), '');
  const client = (args: string[]) => sh('fail2ban-client', ['-c', conf, '-s', sock, '-p', pidfile, ...args], { timeoutMs: 60000 });
  const start = client(['-x', 'start']);
  const pid = existsSync(pidfile) ? Number.parseInt(readFileSync(pidfile, 'utf8').trim(), 10) : null;
  const stop = async () => {
    if (pid !== null && processAlive(pid)) {
      client(['stop']);
      await stopPid(pid);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  if (start.status !== 0) {
    const log = existsSync(join(dir, 'fail2ban.log')) ? readFileSync(join(dir, 'fail2ban.log'), 'utf8') : '';
    await stop();
    throw new Error(`private fail2ban-server did not start: ${start.stderr}${start.stdout}\n${log}`);
  }
  return {
    dir,
    append: (file, lines) => appendFileSync(join(dir, file), lines.map((l) => `${l}\n`).join('')),
    status(jail) {
      const out = client(['status', jail]).stdout;
      const num = (label: string) => Number(new RegExp(`${label}:\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
      const list = /Banned IP list:[ \t]*(.*)$/m.exec(out)?.[1] ?? '';
      return {
        currentlyFailed: num('Currently failed'),
        totalFailed: num('Total failed'),
        currentlyBanned: num('Currently banned'),
        totalBanned: num('Total banned'),
        banned: list.split(/\s+/).filter(Boolean),
      };
    },
    banTimes(jail) {
      const out = client(['get', jail, 'banip', '--with-time']).stdout;
      const m = new Map<string, number>();
      for (const line of out.split('\n')) {
        const r = /^(\S+)\s+.*\+\s*(-?\d+)\s*=/.exec(line.trim());
        if (r) m.set(r[1]!, Number(r[2]));
      }
      return m;
    },
    client,
    stop,
  };
}

/** Poll `check` every 50 ms until it returns a value (not undefined) or `timeoutMs` passes. */
export async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 20000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

const p2 = (n: number) => String(n).padStart(2, '0');

/** Local time as Asterisk's logger writes it with dateformat %F %T. */
export function asteriskStamp(d = new Date()): string {
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
}

/** Local time as FreeSWITCH writes it (with microseconds). */
export function freeswitchStamp(d = new Date()): string {
  return `${asteriskStamp(d)}.${String(d.getMilliseconds()).padStart(3, '0')}000`;
}
