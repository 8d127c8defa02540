/**
 * src/adapters/stdio.ts writes the program's output to fds 1 and 2 without Node's stdio streams.
 * Proof, in child processes: to a pipe, 4 MB arrive whole and in order and no stream module is
 * loaded; to a non-blocking pipe whose reader waits (EAGAIN), the writer goes over to Node's
 * stream and still nothing is lost or reordered; /dev/null, a pipe and a file are not
 * terminals (without loading node:tty), a pseudo-terminal is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';
import { REPO } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-stdio-'));
const child = path.join(dir, 'child.ts');
writeFileSync(
  child,
  `import { isTerminal, onNodeStream, writeStd } from ${JSON.stringify(path.join(REPO, 'src/adapters/stdio.ts'))};
const mode = process.argv[2];
if (mode === 'tty') {
  const t = [isTerminal(0), isTerminal(1), isTerminal(2)];
  writeStd(2, JSON.stringify({ t, tty: process.moduleLoadList.includes('NativeModule tty') }) + '\\n');
} else {
  if (mode === 'nonblocking') (process.stdout as unknown as { _handle: { setBlocking(b: boolean): number } })._handle.setBlocking(false);
  for (let i = 0; i < 2000; i++) writeStd(1, String(i).padStart(6, '0') + ' ' + 'x'.repeat(2000) + '\\n');
  const mods = process.moduleLoadList.filter((m) => /^NativeModule (stream|net|tty)$/.test(m));
  writeStd(2, JSON.stringify({ stream: onNodeStream(1), mods }) + '\\n');
}
`,
);
// Bundled to CommonJS as the program is (tsx would make the pipes non-blocking before the
// first write, which is not how the program starts).
const childJs = path.join(dir, 'child.cjs');
buildSync({ entryPoints: [child], bundle: true, platform: 'node', format: 'cjs', target: 'node18.19', outfile: childJs, logLevel: 'error' });
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function runSlowReader(mode: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [childJs, mode], { stdio: ['ignore', 'pipe', 'pipe'], cwd: REPO });
    let out = '';
    let err = '';
    c.stdout.pause();
    // The reader starts late, so a non-blocking pipe fills up (64 KiB) long before.
    setTimeout(() => {
      c.stdout.on('data', (d: Buffer) => (out += d.toString()));
      c.stdout.resume();
    }, 1000);
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('close', (code) => resolve({ code, out, err }));
  });
}

function whole(out: string): boolean {
  const lines = out.split('\n');
  return lines.length === 2001 && lines[2000] === '' && lines.slice(0, 2000).every((l, i) => l === `${String(i).padStart(6, '0')} ${'x'.repeat(2000)}`);
}

test('to a pipe: 4 MB arrive whole and in order, written without Node stdio streams', async () => {
  const r = await runSlowReader('blocking');
  assert.equal(r.code, 0, r.err);
  assert.ok(whole(r.out));
  const info = JSON.parse(r.err.trim().split('\n').pop()!) as { stream: boolean; mods: string[] };
  assert.equal(info.stream, false);
  assert.deepEqual(info.mods, []);
});

test('to a non-blocking pipe that is full (EAGAIN): the rest goes through Node stream, nothing lost or reordered', async () => {
  const r = await runSlowReader('nonblocking');
  assert.equal(r.code, 0, r.err);
  assert.ok(whole(r.out));
  const info = JSON.parse(r.err.trim().split('\n').pop()!) as { stream: boolean };
  assert.equal(info.stream, true, 'the writer never met EAGAIN: the test did not test the fallback');
});

test('terminals: /dev/null, a pipe and a file are not (node:tty is not even loaded); a pseudo-terminal is', () => {
  const file = path.join(dir, 'out.txt');
  const fd = openSync(file, 'w');
  try {
    const r = spawnSync(process.execPath, [childJs, 'tty'], { stdio: ['ignore', fd, 'pipe'], cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stderr), { t: [false, false, false], tty: false });
  } finally {
    closeSync(fd);
  }
  assert.equal(readFileSync(file, 'utf8'), '');
  // util-linux `script` runs the child on a pseudo-terminal (stdin, stdout and stderr).
  const log = path.join(dir, 'tty.txt');
  const cmd = `${process.execPath} ${childJs} tty 2>${log}`;
  const s = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: REPO, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  assert.equal(s.status, 0, s.stderr + s.stdout);
  // stderr went to a file; stdin and stdout are the pseudo-terminal.
  assert.deepEqual(JSON.parse(readFileSync(log, 'utf8')), { t: [true, true, false], tty: true });
});
