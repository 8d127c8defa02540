import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { processAlive } from '../../src/adapters/facts.ts';

/** Runs a command (no shell) and returns its result; throws when `check` and it fails. */
export function sh(cmd: string, args: string[], o: { check?: boolean; env?: Record<string, string>; timeoutMs?: number; input?: string } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...o.env }, timeout: o.timeoutMs ?? 600000, input: o.input });
  if (o.check && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** This machine can run the real-system tests: root on Debian 12 (what CI is). */
export function assertRealHost(): void {
  const os = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  if (process.getuid?.() !== 0 || !/^ID=debian$/m.test(os) || !/^VERSION_ID="12"$/m.test(os)) {
    throw new Error('the real-system tests need root on Debian 12 (CI runs them so); run `npm run test:unit` elsewhere');
  }
}

export function dpkgInstalled(pkg: string): boolean {
  return /install ok installed/.test(sh('dpkg-query', ['-W', '-f=${Status}', pkg]).stdout);
}

/** The PID in the first of `files` that names a live process, or null. */
export function pidFromFile(...files: string[]): number | null {
  for (const f of files) {
    if (!existsSync(f)) continue;
    const pid = Number.parseInt(readFileSync(f, 'utf8').trim(), 10);
    if (pid > 0 && processAlive(pid)) return pid;
  }
  return null;
}

/** PID of the running fail2ban server, from its pid file, if that process is alive. */
export function fail2banPid(): number | null {
  return pidFromFile('/run/fail2ban/fail2ban.pid', '/var/run/fail2ban/fail2ban.pid');
}

/** SIGTERM, wait (bounded) until it is gone or a zombie, then SIGKILL: only for PIDs a test started. */
export async function stopPid(pid: number, timeoutMs = 10000): Promise<void> {
  if (!processAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  process.kill(pid, 'SIGKILL');
}

/** Stops the fail2ban server the tool started, by the PID in its pid file. */
export async function stopFail2ban(): Promise<void> {
  const pid = fail2banPid();
  if (pid !== null) await stopPid(pid);
}

export function jailList(): string[] {
  const r = sh('fail2ban-client', ['status']);
  const m = /Jail list:\s*(.*)$/m.exec(r.stdout);
  return m ? m[1]!.split(',').map((s) => s.trim()).filter(Boolean) : [];
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes (a bounded loop); true when it held. */
export async function waitFor(check: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

/**
 * Polls `fn` every 200 ms until it returns a value (not undefined/false/empty) and returns it;
 * throws "timed out after N s waiting for <what>" after `seconds` (a bounded loop).
 */
export async function waitForValue<T>(what: string, fn: () => T | undefined | false, seconds = 30): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    const v = fn();
    if (v) return v;
    await sleep(200);
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

/**
 * Runs `cmd` in the network namespace `ns` to its end (killed after `timeoutMs`): its exit code,
 * output and time; `stop()` ends it early, and so does its output matching `until` (SIGTERM, as
 * `stop()`). `ip netns exec` execs the program: the child's PID is the program's.
 */
export function runInNamespace(ns: string, cmd: string, args: string[], timeoutMs: number, cwd: string, until?: RegExp): Promise<{ code: number | null; out: string; ms: number }> & { stop(): void } {
  const t0 = Date.now();
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<{ code: number | null; out: string; ms: number }>((resolve) => {
    let out = '';
    const read = (d: Buffer): void => {
      out += d.toString();
      if (until?.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
  return Object.assign(done, { stop: () => void child.kill('SIGTERM') });
}
