/**
 * `--root` means the root (issue 21) and the web view's whitelist is the planner's (issue 22),
 * on this machine's real fail2ban, kernel and file systems:
 *
 * - A tree (Debian's stock kamailio.cfg, an Asterisk logger.conf, the packaged /etc/fail2ban) is
 *   configured by the built CLI with --root; a private fail2ban-server runs on that tree in a
 *   network namespace of this test (vad-root) and a mount namespace where the tree's /var/log,
 *   /run and /var/lib/fail2ban are those directories, so its socket is the tree's
 *   /var/run/fail2ban/fail2ban.sock (the tree's /var/run is a link to /run, as on Debian).
 * - Every command that takes --root (install, status, unban, doctor, web, uninstall) runs under
 *   strace, with a fake `fail2ban-client` first on PATH that records each call (the tool runs its
 *   children with a fixed system PATH, so the trace's execve list is the proof): fail2ban-client
 *   is never run by install, status, unban, web (its pages and its whitelist change) and uninstall;
 *   doctor asks the tree's socket, and its one fail2ban-client (`-d`) names the tree's
 *   configuration; no Unix socket outside the tree is
 *   connected to; nothing is created, written, renamed or removed outside the tree (the scratch
 *   files of fail2ban-regex's checks in the temp directory aside, gone when the command ends); and
 *   the host's /etc/fail2ban, /var/lib/fail2ban, /var/cache, /var/log and /run are as they were.
 * - A whitelist entry added on the web view reaches jail.local, kamailio.cfg's throttle list and
 *   the CrowdSec allow set, and the tree's running fail2ban ignores it at once.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, REPO, ensureBuilt } from '../helpers/cli.ts';
import { assertRealHost, sh, stopPid } from '../helpers/system.ts';

const NS = 'vad-root';
const FRIEND = '203.0.113.77';
const ATTACKER = '203.0.113.9';
const STOCK_CFG = path.join(REPO, 'test/fixtures/upstream/kamailio/kamailio.cfg');
const HOST_DIRS = ['/etc/fail2ban', '/var/lib/fail2ban', '/var/cache', '/var/log', '/run'];
/** Files the system itself keeps writing (journald, syslog, logins, systemd's runtime state). */
const CHURN = /^\/var\/log\/(journal\/|syslog|messages|auth\.log|kern\.log|daemon\.log|user\.log|debug|wtmp|btmp|lastlog|sysstat\/|private\/|installer\/)|^\/run\/(systemd|user|udev|utmp|log\/journal|lock|sshd|credentials|netns)(\/|$)/;
const TRACED = 'execve,open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,symlink,symlinkat,link,linkat,truncate,connect';

let dir = '';
let root = '';
let fakeBin = '';
let record = '';
let creds = '';
let server: ChildProcess | null = null;
const problems: string[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sock = (): string => path.join(root, 'run/fail2ban/fail2ban.sock');
const f2b = (...args: string[]) => sh('fail2ban-client', ['-s', sock(), ...args], { timeoutMs: 20000 });
const fakeCalls = (): string[] => (existsSync(record) ? readFileSync(record, 'utf8').split('\n').filter(Boolean) : []);

/** What the host directories hold: path → kind, size, mtime, inode (the system's own churn left out). */
function hostSnapshot(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string, depth: number): void => {
    if (CHURN.test(p) || p.startsWith(dir)) return;
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    out.set(p, `${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : 'f'} ${st.isDirectory() ? '' : `${st.size} ${st.mtimeMs}`} ${st.ino} ${st.mode.toString(8)}`);
    if (st.isDirectory() && depth < 8) for (const e of readdirSync(p)) walk(path.join(p, e), depth + 1);
  };
  for (const d of HOST_DIRS) walk(d, 0);
  return out;
}

function diffSnapshots(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [p, v] of a) if (b.get(p) !== v) out.push(`${p}: ${v} -> ${b.get(p) ?? 'gone'}`);
  for (const p of b.keys()) if (!a.has(p)) out.push(`${p}: new`);
  return out;
}

interface Trace {
  /** Each program run: its path and its arguments as strace prints them. */
  execs: string[];
  connects: string[];
  /** Paths created, written, renamed, linked or removed. */
  writes: string[];
}

/**
 * Reads an strace -f -y log: execve'd programs, AF_UNIX paths connected to, and the real path of
 * every change (the safe file layer works through /proc/self/fd/N/name, N resolved from the `-y`
 * decoration of the open that returned it).
 */
function parseTrace(file: string): Trace {
  const t: Trace = { execs: [], connects: [], writes: [] };
  const fds = new Map<string, string>();
  const real = (p: string): string => p.replace(/^\/proc\/self\/fd\/(\d+)(?=\/|$)/, (m, n: string) => fds.get(n) ?? m);
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const ret = /= (\d+)<([^>]*)>\s*$/.exec(line);
    if (ret && /\b(open|openat|creat)\(/.test(line)) fds.set(ret[1]!, ret[2]!);
    if (/ = -1 /.test(line) || /resumed>/.test(line) && / = -1 /.test(line)) continue;
    const strs = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    const ex = /\bexecve\("([^"]+)", \[(.*?)\]/.exec(line);
    if (ex) t.execs.push(`${ex[1]!} ${ex[2]!.replace(/"/g, '')}`);
    const cn = /\bconnect\(.*sun_path="([^"]+)"/.exec(line);
    if (cn) t.connects.push(cn[1]!);
    const op = /^\d+\s+(\w+)\(/.exec(line)?.[1];
    if (!op) continue;
    if (op === 'open' || op === 'openat' || op === 'creat') {
      if (op !== 'creat' && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(line)) continue;
      if (ret) t.writes.push(ret[2]!);
      else if (strs[0]) t.writes.push(real(strs[0]));
    } else if (/^(mkdir|mkdirat|rename|renameat2?|unlink|unlinkat|rmdir|symlink|symlinkat|link|linkat|truncate)$/.test(op)) {
      for (const s of op.startsWith('symlink') ? strs.slice(1) : strs) t.writes.push(real(s));
    }
  }
  return t;
}

/** The fail2ban-client runs a trace shows (any fail2ban-client: the runner's own PATH or the fake). */
const clientRuns = (t: Trace): string[] => t.execs.filter((e) => /^\S*\/fail2ban-client /.test(e));

/** The change paths outside the tree that a trace shows (devices and the scratch directories aside). */
function outside(t: Trace): string[] {
  return t.writes.filter((p) => !p.startsWith(`${root}/`) && p !== root && !/^\/dev\/(null|tty|pts\/)/.test(p) && !p.startsWith(path.join(tmpdir(), 'voip-f2b-doctor-')));
}

/** Runs the built CLI under strace with the fake fail2ban-client first on PATH. */
function traced(name: string, args: string[], o: { timeoutMs?: number } = {}): { status: number | null; stdout: string; stderr: string; trace: Trace } {
  const file = path.join(dir, `${name}.strace`);
  const r = sh('strace', ['-f', '-qq', '-y', '-s', '4096', '-e', `trace=${TRACED}`, '-o', file, process.execPath, BIN, ...args], {
    env: { PATH: `${fakeBin}:${process.env.PATH}`, SSH_CONNECTION: '' },
    timeoutMs: o.timeoutMs ?? 300000,
  });
  return { ...r, trace: parseTrace(file) };
}

/** The scratch directories in the temp directory now. */
const scratch = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('voip-f2b-doctor-'));

/** The checks every --root command passes: no host socket, no change outside the tree, no host directory changed, no scratch left. */
function contained(name: string, t: Trace, before: Map<string, string>, scratchBefore: string[]): void {
  assert.deepEqual(t.connects.filter((p) => !p.startsWith(`${root}/`) && p !== '/dev/log'), [], `${name}: Unix sockets outside the root`);
  assert.deepEqual(outside(t), [], `${name}: changes outside the root`);
  assert.deepEqual(diffSnapshots(before, hostSnapshot()), [], `${name}: host directories changed`);
  assert.deepEqual(scratch().filter((f) => !scratchBefore.includes(f)), [], `${name}: scratch directories left`);
}

async function startFail2ban(): Promise<void> {
  const script = 'mount --bind "$1/var/log" /var/log && mount --bind "$1/run" /run && mount --bind "$1/var/lib/fail2ban" /var/lib/fail2ban && exec fail2ban-server -c "$1/etc/fail2ban" -f -x';
  server = spawn('ip', ['netns', 'exec', NS, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', root], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  server.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  for (let i = 0; i < 300 && f2b('ping').status !== 0; i++) await sleep(200);
  assert.equal(f2b('ping').status, 0, `the tree's fail2ban-server answers on its socket: ${err}`);
}

before(async () => {
  assertRealHost();
  ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'vad-root-'));
  root = path.join(dir, 'root');
  fakeBin = path.join(dir, 'bin');
  record = path.join(dir, 'fail2ban-client.calls');
  // A fake fail2ban-client, first on the CLI's PATH: it records that it was called, and fails.
  mkdirSync(fakeBin, { recursive: true });
  writeFileSync(path.join(fakeBin, 'fail2ban-client'), `#!/bin/sh\necho "$*" >> ${record}\nexit 1\n`, { mode: 0o755 });
  // The tree: the packaged fail2ban configuration (no local file of this host), Debian's stock
  // kamailio.cfg, an Asterisk logger.conf; /var/run a link to /run as on Debian.
  for (const d of ['etc/asterisk', 'etc/kamailio', 'var/log/asterisk', 'var/lib/fail2ban', 'run/fail2ban']) mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
  symlinkSync('/run', path.join(root, 'var/run'));
  cpSync('/etc/os-release', path.join(root, 'etc/os-release'));
  cpSync('/etc/fail2ban', path.join(root, 'etc/fail2ban'), { recursive: true });
  for (const f of ['jail.local', 'fail2ban.local']) rmSync(path.join(root, 'etc/fail2ban', f), { force: true });
  for (const d of ['jail.d', 'fail2ban.d']) for (const f of readdirSync(path.join(root, 'etc/fail2ban', d))) rmSync(path.join(root, 'etc/fail2ban', d, f), { force: true });
  copyFileSync(STOCK_CFG, path.join(root, 'etc/kamailio/kamailio.cfg'));
  writeFileSync(path.join(root, 'etc/asterisk/logger.conf'), '[general]\n[logfiles]\nmessages => notice,warning,error\n');
  writeFileSync(path.join(root, 'var/log/asterisk/messages'), '');
  // This host's CrowdSec fleet login (read by install; the LAPI is never contacted under --root).
  creds = path.join(dir, 'crowdsec.yaml');
  writeFileSync(creds, 'login: pbx1\npassword: 0123456789abcdef0123456789abcdef\napi_key: 0123456789abcdef0123456789abcdef\n', { mode: 0o600 });
  chmodSync(creds, 0o600);
  sh('ip', ['netns', 'add', NS], { check: true });
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { check: true });
});

after(async () => {
  const step = async (what: string, fn: () => unknown): Promise<void> => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  await step('stop fail2ban', () => (server?.pid ? stopPid(server.pid, 15000) : undefined));
  await step('delete the namespace', () => sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === NS) && sh('ip', ['netns', 'del', NS], { check: true }));
  await step('remove the temp dir', () => dir && !process.env.VAD_KEEP && rmSync(dir, { recursive: true, force: true }));
  if (problems.length) console.error(`cleanup problems:\n${problems.join('\n')}`);
});

test('install, status, unban, doctor under --root: no fail2ban-client of the host, nothing outside the root', async () => {
  let before = hostSnapshot();
  let sb = scratch();
  const t0 = Date.now();
  const inst = traced('install', ['--root', root, '--services', 'asterisk,kamailio', '--kamailio-auth-log', '--whitelist', '198.51.100.5', '--banaction', 'nftables-multiport', '--crowdsec-lapi', 'https://198.51.100.10:8080/', '--crowdsec-credentials', creds, '--yes', '--json']);
  console.log(`# install --root: ${Date.now() - t0} ms`);
  assert.equal(inst.status, 0, inst.stderr);
  assert.deepEqual([...fakeCalls(), ...clientRuns(inst.trace)], [], 'install ran no fail2ban-client');
  contained('install', inst.trace, before, sb);
  assert.match(readFileSync(path.join(root, 'etc/kamailio/kamailio.cfg'), 'utf8'), /^#!define VOIPF2B_IGNOREIP ".*198\.51\.100\.5/m);
  assert.match(readFileSync(path.join(root, 'etc/voip-f2b-install/crowdsec-allow.nft'), 'utf8'), /198\.51\.100\.5/);

  // Not running under the root: a clear error, and still no host fail2ban asked.
  before = hostSnapshot();
  sb = scratch();
  const down = traced('status-down', ['status', '--root', root]);
  assert.equal(down.status, 1, down.stdout);
  assert.match(down.stderr, new RegExp(`fail2ban is not running under this root \\(${root.replace(/[/.]/g, (c) => `\\${c}`)}\\): no socket at /var/run/fail2ban/fail2ban\\.sock`));
  assert.deepEqual([...fakeCalls(), ...clientRuns(down.trace)], []);
  contained('status (not running)', down.trace, before, sb);

  await startFail2ban();
  const jails = /Jail list:\s*(.*)$/m.exec(f2b('status').stdout)?.[1]?.split(/,\s*/) ?? [];
  assert.ok(jails.includes('voip-asterisk'), jails.join());
  assert.equal(f2b('set', 'voip-asterisk', 'banip', ATTACKER).status, 0);
  assert.equal(f2b('set', 'voip-asterisk', 'banip', '203.0.113.254').status, 0, "doctor's test address, as a ban round trip leaves it for a moment");

  before = hostSnapshot();
  sb = scratch();
  const st = traced('status', ['status', '--root', root, '--json']);
  assert.equal(st.status, 0, st.stderr);
  const report = JSON.parse(st.stdout) as { jails: Array<{ jail: string; bannedIps: string[]; currentlyBanned: number }> };
  const ast = report.jails.find((j) => j.jail === 'voip-asterisk')!;
  assert.deepEqual(ast.bannedIps, [ATTACKER], "the tree's fail2ban's bans, doctor's test address not counted");
  assert.equal(ast.currentlyBanned, 1);
  assert.ok(st.trace.connects.includes(sock()), `status spoke to the tree's socket: ${st.trace.connects.join()}`);
  assert.deepEqual([...fakeCalls(), ...clientRuns(st.trace)], []);
  contained('status', st.trace, before, sb);

  before = hostSnapshot();
  sb = scratch();
  const ub = traced('unban', ['unban', ATTACKER, '--root', root, '--json']);
  assert.equal(ub.status, 0, ub.stderr);
  assert.equal(JSON.parse(ub.stdout).unbanned, true);
  assert.doesNotMatch(f2b('status', 'voip-asterisk').stdout, new RegExp(ATTACKER.replace(/\./g, '\\.')));
  assert.deepEqual([...fakeCalls(), ...clientRuns(ub.trace)], []);
  contained('unban', ub.trace, before, sb);
  f2b('set', 'voip-asterisk', 'unbanip', '203.0.113.254');

  // doctor: over the tree's socket; its only fail2ban-client is fail2ban's reading of the tree's
  // configuration (-c <tree> -d, for a jail that lists no log file), never the host's.
  before = hostSnapshot();
  sb = scratch();
  const doc = traced('doctor', ['doctor', '--root', root, '--no-ban-test', '--json']);
  assert.ok(doc.status !== null, doc.stderr);
  assert.match(doc.stdout, /"fail2banRunning": true/, 'doctor found the tree\'s fail2ban');
  const calls = clientRuns(doc.trace);
  for (const c of calls) assert.ok(c.includes(`fail2ban-client, -c, ${root}/etc/fail2ban, -d`), `doctor's fail2ban-client call names the tree: ${c}`);
  assert.ok(doc.trace.connects.includes(sock()), `doctor spoke to the tree's socket: ${doc.trace.connects.join()}`);
  contained('doctor', doc.trace, before, sb);
  writeFileSync(record, '');
});

test("the web view under --root: its whitelist entry reaches jail.local, kamailio.cfg and the CrowdSec allow set, and the tree's fail2ban at once; nothing outside the root", async () => {
  const before = hostSnapshot();
  const sb = scratch();
  const file = path.join(dir, 'web.strace');
  const web = spawn('strace', ['-f', '-qq', '-y', '-s', '4096', '-e', `trace=${TRACED}`, '-o', file, process.execPath, BIN, 'web', '--root', root, '--listen', '127.0.0.1:0', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: `${fakeBin}:${process.env.PATH}` },
  });
  let out = '';
  let err = '';
  web.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  web.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  try {
    for (let i = 0; i < 200 && !out.includes('\n'); i++) await sleep(100);
    const url = (JSON.parse(out.split('\n')[0]!) as { url: string }).url;
    const token = readFileSync(path.join(root, 'etc/voip-f2b-install/web-token'), 'utf8').trim();
    const api = async (p: string, body?: unknown) => {
      const r = await fetch(new URL(p, url), {
        method: body ? 'POST' : 'GET',
        headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
        signal: AbortSignal.timeout(120000),
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: r.status, json: (await r.json()) as any };
    };
    const jails = await api('/api/jails');
    assert.equal(jails.status, 200, JSON.stringify(jails.json));
    assert.ok(jails.json.jails.some((j: { jail: string }) => j.jail === 'voip-asterisk'));
    assert.equal((await api('/api/bans')).status, 200);
    assert.equal((await api('/api/history')).status, 200);
    const t0 = Date.now();
    const w = await api('/api/whitelist', { entry: FRIEND });
    console.log(`# whitelist from the page under --root: ${Date.now() - t0} ms`);
    assert.equal(w.status, 200, JSON.stringify(w.json));
    assert.match(w.json.message, /added to ignoreip/);
    // Every copy derived from the whitelist has it: fail2ban's, Kamailio's throttle, the CrowdSec allow set.
    assert.match(readFileSync(path.join(root, 'etc/fail2ban/jail.local'), 'utf8'), new RegExp(`^ignoreip = .*\\b${FRIEND.replace(/\./g, '\\.')}\\b`, 'm'));
    assert.match(readFileSync(path.join(root, 'etc/kamailio/kamailio.cfg'), 'utf8'), new RegExp(`^#!define VOIPF2B_IGNOREIP ".*${FRIEND.replace(/\./g, '\\.')}`, 'm'));
    assert.match(readFileSync(path.join(root, 'etc/voip-f2b-install/crowdsec-allow.nft'), 'utf8'), new RegExp(FRIEND.replace(/\./g, '\\.')));
    // The tree's running fail2ban ignores it now (no restart of anything under --root).
    assert.match(f2b('get', 'voip-asterisk', 'ignoreip').stdout, new RegExp(FRIEND.replace(/\./g, '\\.')));
  } finally {
    // The web view itself (strace's child) is stopped; strace ends with it.
    const child = Number.parseInt(readFileSync(`/proc/${web.pid}/task/${web.pid}/children`, 'utf8').trim().split(/\s+/)[0] ?? '', 10);
    const exited = new Promise((r) => web.once('exit', r));
    if (child > 0) process.kill(child, 'SIGTERM');
    else web.kill('SIGKILL');
    await Promise.race([exited, sleep(20000).then(() => web.kill('SIGKILL'))]);
  }
  const t = parseTrace(file);
  // The web view's own calls: none to fail2ban-client (its doctor verdicts ask the tree's socket;
  // fail2ban's reading of the configuration, where they need it, names the tree's).
  assert.deepEqual(fakeCalls(), []);
  for (const c of clientRuns(t)) assert.ok(c.includes(`fail2ban-client, -c, ${root}/etc/fail2ban, `), `a fail2ban-client call of the web view (its doctor verdicts) names the tree: ${c}`);
  assert.ok(!clientRuns(t).some((c) => /\breload\b|\brestart\b|\bstart\b|addignoreip/.test(c)), 'the web view reloads no fail2ban through fail2ban-client');
  assert.ok(t.connects.includes(sock()), 'the web view spoke to the tree socket');
  contained(`web (${err.trim().split('\n').slice(-1)[0] ?? ''})`, t, before, sb);
});

test('uninstall under --root: no fail2ban-client, nothing outside the root', async () => {
  if (server?.pid) await stopPid(server.pid, 15000);
  server = null;
  writeFileSync(record, '');
  const before = hostSnapshot();
  const sb = scratch();
  const u = traced('uninstall', ['uninstall', '--root', root, '--yes']);
  assert.equal(u.status, 0, u.stderr);
  assert.deepEqual([...fakeCalls(), ...clientRuns(u.trace)], []);
  contained('uninstall', u.trace, before, sb);
});
