// No-op re-run and package-step measurements: the built CLI over a provisioned temp root, and
// (root, Debian 12, quiet host only) on this machine, which is put back as it was found.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, cpSync, existsSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, median, repeat, timed } from './lib.mjs';

export const CLI = join(REPO, 'bin/voip-f2b-install.js');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const MANIFEST = '/var/backups/voip-f2b-install/manifest.json';
const F2B_PIDFILE = '/run/fail2ban/fail2ban.pid';

function cli(args, opts = {}) {
  return timed(process.execPath, [CLI, ...args], { cwd: REPO, ...opts });
}

/** Successful execve calls in an `strace -f -e trace=execve` output, minus the traced command. */
function execs(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const progs = [];
  const pending = new Map(); // pid -> entry of an "<unfinished ...>" execve
  for (const l of lines) {
    const pid = /^(\d+) /.exec(l)?.[1] ?? '';
    const m = /execve\("([^"]+)", \[(.*?)\]/.exec(l);
    if (m) {
      const entry = { prog: m[1], argv: m[2] };
      if (/<unfinished \.\.\.>$/.test(l)) pending.set(pid, entry);
      else if (/= 0$/.test(l)) progs.push(entry);
      continue;
    }
    if (/<\.\.\. execve resumed>/.test(l) && pending.has(pid)) {
      if (/= 0$/.test(l)) progs.push(pending.get(pid));
      pending.delete(pid);
    }
  }
  return progs.slice(1); // the first one is the traced command itself
}

function strace(traceArgs, cmd, args, opts = {}) {
  const out = join(mkdtempSync(join(tmpdir(), 'voip-f2b-bench-strace-')), 'trace');
  const r = timed('strace', ['-f', '-qq', ...traceArgs, '-o', out, cmd, ...args], { cwd: REPO, ...opts });
  const text = readFileSync(out, 'utf8');
  rmSync(join(out, '..'), { recursive: true, force: true });
  return { ...r, trace: text };
}

/**
 * `strace -f -e trace=execve` of a command that may start a daemon (fail2ban-server): strace -f
 * would wait for the daemon too, so we watch the trace for the command's own exit, then
 * SIGKILL strace (its tracees are detached and go on). Returns wall ms (to the exit, ±50 ms),
 * exit status, the trace.
 */
function straceUntilExit(cmd, args) {
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-strace-'));
  const out = join(dir, 'trace');
  const log = openSync(join(dir, 'output'), 'w');
  const t0 = process.hrtime.bigint();
  const child = spawn('strace', ['-f', '-q', '-e', 'trace=execve', '-o', out, cmd, ...args], { cwd: REPO, stdio: ['ignore', log, log], detached: false });
  let status = null;
  let ms = NaN;
  for (let i = 0; i < 6000 && status === null; i++) {
    sleep(50);
    const text = existsSync(out) ? readFileSync(out, 'utf8') : '';
    const first = /^(\d+) /.exec(text)?.[1];
    const m = first ? new RegExp(`^${first} +\\+\\+\\+ exited with (\\d+) \\+\\+\\+`, 'm').exec(text) : null;
    if (m) {
      status = Number(m[1]);
      ms = Number(process.hrtime.bigint() - t0) / 1e6;
    }
  }
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {}
  closeSync(log);
  const trace = readFileSync(out, 'utf8');
  const output = readFileSync(join(dir, 'output'), 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return { ms, status, stdout: output, stderr: '', trace };
}

/** Paths the command opened/checked, filtered by `keep`. */
function fileOps(trace, keep) {
  const ops = new Map();
  for (const l of trace.split('\n')) {
    const m = /(openat|access|faccessat2?|statx|newfstatat|stat|lstat|readlink)\((?:AT_FDCWD, )?"([^"]+)"(.*)$/.exec(l);
    if (!m) continue;
    const [, call, path, rest] = m;
    if (!keep(path)) continue;
    const op = call === 'openat' ? (/O_DIRECTORY/.test(rest) ? 'dir' : 'read') : 'exists';
    if (!ops.has(path) || ops.get(path) === 'exists') ops.set(path, op);
  }
  return [...ops].map(([path, op]) => ({ path, op }));
}

const FLOOR_JS = `const fs=require('fs');for(const {path,op} of JSON.parse(fs.readFileSync(process.argv[1],'utf8'))){try{op==='read'?fs.readFileSync(path):op==='dir'?fs.readdirSync(path):fs.existsSync(path)}catch{}}`;

/**
 * The re-run, bare `node -e 0` (the target's reference) and the floor (node start-up plus the
 * same file reads/checks), interleaved (re-run, bare, floor, re-run, …) so that load from other
 * processes hits all alike; medians of n, ratios the median of each round's own.
 */
function measureRerun(args, keepPath, n) {
  const ex = straceUntilExit(process.execPath, [CLI, ...args]);
  const fo = strace(['-e', 'trace=openat,access,faccessat,faccessat2,statx,newfstatat,stat,lstat,readlink'], process.execPath, [CLI, ...args]);
  const ops = fileOps(fo.trace, keepPath);
  const procs = execs(writeTmp(ex.trace));
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-floor-'));
  const list = join(dir, 'ops.json');
  writeFileSync(list, JSON.stringify(ops));
  const pairs = repeat(n, () => [cli(args), timed(process.execPath, ['-e', '0']), timed(process.execPath, ['-e', FLOOR_JS, list])], 1);
  rmSync(dir, { recursive: true, force: true });
  const bad = pairs.map((p) => p[0]).find((r) => r.status !== 0 || !/Nothing to do/.test(r.stdout + r.stderr));
  if (bad) throw new Error(`re-run was not a no-op (exit ${bad.status}):\n${bad.stdout}${bad.stderr}`);
  return {
    ms: median(pairs.map((p) => p[0].ms)),
    bareMs: median(pairs.map((p) => p[1].ms)),
    ratio: median(pairs.map((p) => p[0].ms / p[1].ms)),
    floorMs: median(pairs.map((p) => p[2].ms)),
    floorRatio: median(pairs.map((p) => p[0].ms / p[2].ms)),
    procs: procs.length,
    progs: procs.map((p) => p.prog.split('/').pop()),
    files: ops.length,
  };
}

function writeTmp(text) {
  const f = join(mkdtempSync(join(tmpdir(), 'voip-f2b-bench-t-')), 't');
  writeFileSync(f, text);
  process.once('exit', () => rmSync(join(f, '..'), { recursive: true, force: true }));
  return f;
}

/** No-op re-run of `install` over a provisioned temp root. */
export function noopRoot(n = 5) {
  const root = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-root-'));
  try {
    mkdirSync(join(root, 'etc/asterisk'), { recursive: true });
    cpSync(join(REPO, 'test/fixtures/os-release/debian-12'), join(root, 'etc/os-release'));
    writeFileSync(join(root, 'etc/asterisk/asterisk.conf'), '[directories]\nastetcdir => /etc/asterisk\nastlogdir => /var/log/asterisk\n');
    const args = ['--root', root, '--whitelist', '203.0.113.7', '--yes'];
    const first = cli(args);
    if (first.status !== 0) throw new Error(`first install over the temp root failed (${first.status}):\n${first.stdout}${first.stderr}`);
    return measureRerun(args, (p) => p.startsWith(`${root}/`) || p.startsWith(join(REPO, 'templates')), n);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const pidAlive = (pid) => Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);
const f2bPid = () => (existsSync(F2B_PIDFILE) ? Number(readFileSync(F2B_PIDFILE, 'utf8').trim()) : NaN);
const dpkgInstalled = (pkg) => /^install ok installed$/.test(spawnSync('dpkg-query', ['-W', '-f', '${Status}', pkg], { encoding: 'utf8' }).stdout ?? '');

/** Why the real-host steps must not run here (null: they may). */
export function hostBlocker() {
  if (process.env.BENCH_HOST === '0') return 'BENCH_HOST=0';
  if (process.getuid?.() !== 0) return 'not root';
  const osr = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (!/^ID=debian$/m.test(osr) || !/^VERSION_ID="?12"?$/m.test(osr)) return 'not Debian 12';
  if (existsSync(MANIFEST)) return 'host already provisioned by voip-f2b-install (another run or test owns it)';
  if (pidAlive(f2bPid())) return 'a fail2ban server is running on the host (another run or test owns it)';
  const busy = spawnSync('pgrep', ['-x', 'apt-get|apt|dpkg|unattended-upgr'], { encoding: 'utf8' }).stdout?.trim();
  if (busy) return 'a package manager is running';
  return null;
}

function stopHostFail2ban() {
  const pid = f2bPid();
  if (!pidAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300 && pidAlive(pid); i++) sleep(50);
  if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * Real host: (optionally) purge fail2ban and let the CLI install it fresh under strace (package
 * step), then time no-op re-runs, then uninstall, stop fail2ban and restore /etc/fail2ban.
 */
export function hostSteps(n = 5) {
  const args = ['--services', 'asterisk', '--whitelist', '203.0.113.7', '--yes'];
  const snapDir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-snap-'));
  const snap = join(snapDir, 'etc-fail2ban.tar');
  const hadF2b = dpkgInstalled('fail2ban');
  const hadDir = existsSync('/etc/fail2ban');
  if (hadDir) spawnSync('tar', ['-C', '/etc', '-cpf', snap, 'fail2ban']);
  const out = { fresh: null, noop: null, restored: false };
  try {
    if (hadF2b) {
      const p = spawnSync('apt-get', ['purge', '-y', 'fail2ban'], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
      if (p.status !== 0) throw new Error(`apt-get purge fail2ban failed: ${p.stderr}`);
    }
    const plan = cli(['--dry-run', '--json', ...args.filter((a) => a !== '--yes')]);
    const planJson = JSON.parse(plan.stdout);
    const tr = straceUntilExit(process.execPath, [CLI, ...args]);
    if (tr.status !== 0) throw new Error(`fresh install failed (${tr.status}):\n${tr.stdout}${tr.stderr}`);
    const procs = execs(writeTmp(tr.trace));
    const apt = procs.filter((p) => /(^|\/)apt-get$/.test(p.prog));
    out.fresh = {
      ms: tr.ms,
      planned: planJson.packageCommands ?? [],
      aptGet: apt.length,
      aptUpdate: apt.filter((p) => /"update"/.test(p.argv)).length,
      aptInstall: apt.filter((p) => /"install"/.test(p.argv)).length,
      dpkg: procs.filter((p) => /(^|\/)dpkg$/.test(p.prog)).length,
      procs: procs.length,
    };
    const skip = (p) => p.startsWith('/proc/') || p.startsWith('/sys/') || p.startsWith('/dev/') || p.startsWith(REPO + '/node_modules') || p.startsWith(REPO + '/dist') || p.startsWith(REPO + '/bin');
    const bare = new Set(fileOps(strace(['-e', 'trace=openat,access,faccessat,faccessat2,statx,newfstatat,stat,lstat,readlink'], process.execPath, ['-e', '0']).trace, () => true).map((o) => o.path));
    out.noop = measureRerun(args, (p) => !skip(p) && !bare.has(p) && p !== REPO && p !== process.execPath, n);
  } finally {
    const u = cli(['uninstall']);
    if (u.status !== 0) console.error(`warning: uninstall exited ${u.status}: ${u.stderr}`);
    stopHostFail2ban();
    if (!dpkgInstalled('fail2ban') && hadF2b) spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'fail2ban'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    stopHostFail2ban();
    if (hadDir) {
      rmSync('/etc/fail2ban', { recursive: true, force: true });
      out.restored = spawnSync('tar', ['-C', '/etc', '-xpf', snap]).status === 0;
    }
    rmSync(snapDir, { recursive: true, force: true });
  }
  return out;
}
