// Shared helpers for scripts/bench.mjs: timing, statistics, fail2ban-regex runs, machine facts.
// Timed commands are spawned directly (argument lists, no shell) so that a shell's own start-up
// is never part of a figure.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const TEMPLATE_FILTER_DIR = join(REPO, 'templates/etc/fail2ban/filter.d');
export const STOCK_FILTER_DIR = '/etc/fail2ban/filter.d';
export const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** Run a command synchronously (no shell); return its wall time in ms and its output. */
export function timed(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...opts });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw r.error;
  return { ms, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Run `fn` n times (after `warmup` discarded runs) and return the results. */
export function repeat(n, fn, warmup = 0) {
  for (let i = 0; i < warmup; i++) fn(i);
  const out = [];
  for (let i = 0; i < n; i++) out.push(fn(i));
  return out;
}

let regexConfigDir;
/**
 * A private fail2ban config dir for fail2ban-regex, as test/helpers/fail2ban-regex.ts builds it:
 * the stock filter.d overlaid with this repository's filters, so `voip-asterisk` and `asterisk`
 * resolve side by side.
 */
export function regexConfig() {
  if (regexConfigDir) return regexConfigDir;
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-cfg-'));
  cpSync(STOCK_FILTER_DIR, join(dir, 'filter.d'), { recursive: true, dereference: true });
  for (const name of readdirSync(TEMPLATE_FILTER_DIR)) {
    if (name.endsWith('.conf')) cpSync(join(TEMPLATE_FILTER_DIR, name), join(dir, 'filter.d', name));
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  regexConfigDir = dir;
  return dir;
}

const F2B_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

/**
 * One fail2ban-regex run of `filter` (a jail-style name) over `logPath`.
 * Returns wall ms, fail2ban-regex's own "processed in" seconds (default output only),
 * and the Lines: summary.
 */
export function fail2banRegex(logPath, filter, extra = []) {
  const args = ['-c', regexConfig(), '--usedns=no', '-e', 'UTF-8', ...extra, logPath, filter];
  const once = () => {
    try {
      return timed(FAIL2BAN_REGEX, args, { env: F2B_ENV });
    } catch (e) {
      return { ms: NaN, status: -1, stdout: '', stderr: `No such file: ${e.message}` };
    }
  };
  let r = once();
  // the host's fail2ban may be mid-reinstall by a concurrent test run: retry a few times
  for (let i = 0; i < 40 && r.status !== 0 && /ModuleNotFoundError|No such file/.test(r.stderr); i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
    r = once();
  }
  if (r.status !== 0 || /^ERROR/m.test(r.stdout) || /^ERROR/m.test(r.stderr)) {
    throw new Error(`fail2ban-regex ${filter} ${logPath} failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  }
  const lines = /^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(r.stdout);
  const own = /\[processed in ([\d.]+) sec\]/.exec(r.stdout);
  return {
    ms: r.ms,
    ownMs: own ? Number(own[1]) * 1000 : NaN,
    lines: lines ? Number(lines[1]) : NaN,
    matched: lines ? Number(lines[3]) : NaN,
    stdout: r.stdout,
  };
}

/** Failures fail2ban extracts, one entry per failure: { ip, msg } (msg: the log line). */
export function fail2banRegexFailures(logPath, filter) {
  const r = fail2banRegex(logPath, filter, ['-o', '<ip>\t<msg>']);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const tab = l.indexOf('\t');
      return { ip: l.slice(0, tab), msg: l.slice(tab + 1) };
    });
}

function firstLine(cmd, args) {
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '?';
  } catch {
    return '?';
  }
}

/** Machine facts for the report (no paths). */
export function machine() {
  const osr = (() => {
    try {
      return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '?';
    } catch {
      return '?';
    }
  })();
  const f2bPython = (() => {
    try {
      const shebang = readFileSync(FAIL2BAN_REGEX, 'utf8').split('\n')[0].replace(/^#!\s*/, '').split(/\s+/);
      return firstLine(shebang[0], [...shebang.slice(1), '--version']);
    } catch {
      return '?';
    }
  })();
  return {
    os: osr,
    kernel: firstLine('uname', ['-r']),
    cpu: cpus()[0]?.model ?? '?',
    cores: cpus().length,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    fail2ban: firstLine('fail2ban-client', ['--version']),
    python: f2bPython,
    iptables: firstLine('iptables', ['-V']),
  };
}

export const fmtMs = (ms) => (Number.isFinite(ms) ? (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`) : 'n/a');
export const fmtInt = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
