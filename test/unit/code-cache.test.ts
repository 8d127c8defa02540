/**
 * bin/code-cache.js: the bundle's V8 code cache. Proof, with the real shim and bundle over a
 * provisioned --root tree (VOIP_F2B_CODE_CACHE pointing at a test directory):
 *  - the first run writes one file (0600 in a 0700 directory) named by the build id, the
 *    bundle's size and mtime, Node and the command; the next run neither rewrites it (so V8
 *    accepted it: a rejected cache is rewritten, shown with a corrupt one) nor prints anything
 *    else; another command gets a file of its own;
 *  - a re-run that changes nothing replaces the first run's cache with its own kind (`.re-run`),
 *    which later runs, applied or not, keep; a rejected one is replaced;
 *  - a cache nobody may trust is never read: a directory others can write, a symlinked
 *    directory, a file owned by another user (strace: no open of it);
 *  - another build's file is removed when this build's is written (a copy of this build keeps
 *    its own); `uninstall` writes none;
 *  - SIGKILL at each step of the write (strace fault injection): the next run works and leaves
 *    one good cache file of this build, no temp file;
 *  - uninstall removes the cache's files (only those) and the directory when empty;
 *  - bin/code-cache.js names the directory and files src/adapters/manifest.ts removes, the
 *    commands commander knows, and the re-run hint src/adapters/code-cache-hint.ts sets.
 * Root only (the cache is for root runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, REPO, ensureBuilt } from '../helpers/cli.ts';
import { CODE_CACHE_DIR, CODE_CACHE_FILE } from '../../src/adapters/manifest.ts';
import { RE_RUN } from '../../src/adapters/code-cache-hint.ts';

const isRoot = process.getuid?.() === 0;
const haveStrace = spawnSync('strace', ['-V']).status === 0;
const work = mkdtempSync(path.join(tmpdir(), 'voip-f2b-code-cache-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

function provisionedRoot(name: string): string {
  const root = path.join(work, name);
  mkdirSync(path.join(root, 'etc/asterisk'), { recursive: true });
  cpSync(path.join(REPO, 'test/fixtures/os-release/debian-12'), path.join(root, 'etc/os-release'));
  writeFileSync(path.join(root, 'etc/asterisk/asterisk.conf'), '[directories]\nastetcdir => /etc/asterisk\nastlogdir => /var/log/asterisk\n');
  return root;
}

function cli(cache: string, args: string[], pre: string[] = []): { status: number | null; out: string; stderr: string } {
  const [cmd, argv] = pre.length ? [pre[0]!, [...pre.slice(1), process.execPath, BIN, ...args]] : [process.execPath, [BIN, ...args]];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', VOIP_F2B_CODE_CACHE: cache } });
  return { status: r.status, out: r.stdout, stderr: r.stderr };
}

/** The cache files in `dir` → "ino mtime size mode". */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const n of readdirSync(dir).sort()) {
    const st = statSync(path.join(dir, n));
    out.set(n, `${st.ino} ${st.mtimeMs} ${st.size} ${(st.mode & 0o777).toString(8)}`);
  }
  return out;
}

/** The cache file of `command` for this build and this Node: the first run's or a re-run's, of a run over --root or a live one. */
function cacheName(command: string, kind: 'first' | 're-run' = 'first', over: 'root' | 'live' = 'root'): string {
  const st = statSync(path.join(REPO, 'dist/cli.cjs'));
  return `cli-${buildId()}-${st.size}-${Math.floor(st.mtimeMs)}-${process.version}-${process.arch}-${command}${over === 'root' ? '-root' : ''}${kind === 're-run' ? '.re-run' : ''}.bin`;
}

function buildId(): string {
  return /^\/\/ voip-f2b-install build ([0-9a-f]{16})\n/.exec(readFileSync(path.join(REPO, 'dist/cli.cjs'), 'utf8'))![1]!;
}

test('written once (0600 in 0700, named by build, size, mtime, Node and command), then used as it is; a rejected one is rewritten', { skip: !isRoot && 'needs root' }, () => {
  ensureBuilt();
  const root = provisionedRoot('use');
  const args = ['--root', root, '--whitelist', '203.0.113.7', '--yes'];
  const first = cli('off', args);
  assert.equal(first.status, 0, first.stderr);
  const cache = path.join(work, 'cache-use');
  const plain = cli('off', args);
  const a = cli(cache, args);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.out, plain.out, 'a run that writes the cache prints what a run without it prints');
  assert.equal((statSync(cache).mode & 0o777).toString(8), '700');
  const name = cacheName('install', 're-run'); // `a` changed nothing: a re-run
  const after1 = files(cache);
  assert.deepEqual([...after1.keys()], [name]);
  assert.match(after1.get(name)!, / 600$/);
  assert.ok(statSync(path.join(cache, name)).size > 50_000, 'the cache holds compiled code');

  const b = cli(cache, args);
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.out, plain.out);
  assert.deepEqual(files(cache), after1, 'an accepted cache is not written again');

  // Another command has its own file (a cache holds the functions its own run compiled), and so
  // has a live run of it (a run over --root never asks the host's fail2ban).
  // (status with no fail2ban running exits 1; the cache is written all the same.)
  const st2 = cli(cache, ['status', '--root', root]);
  assert.notEqual(st2.status, null, st2.stderr);
  assert.deepEqual([...files(cache).keys()], [name, cacheName('status')].sort());
  assert.deepEqual(files(cache).get(name), after1.get(name));
  const st3 = cli(cache, ['status', '--json']);
  assert.notEqual(st3.status, null, st3.stderr);
  const st4 = cli(cache, ['status', `--root=${root}`]);
  assert.notEqual(st4.status, null, st4.stderr);
  assert.deepEqual([...files(cache).keys()], [name, cacheName('status'), cacheName('status', 'first', 'live')].sort());

  // Garbage under the right name: V8 rejects it, the run is still right, and the cache is rewritten.
  writeFileSync(path.join(cache, name), Buffer.alloc(4096, 7), { mode: 0o600 });
  const c = cli(cache, args);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.out, plain.out);
  assert.ok(statSync(path.join(cache, name)).size > 50_000, 'a rejected cache is replaced');
});

test("a re-run's cache replaces the first run's and is kept by every later run; a rejected one is replaced by the first kind", { skip: !isRoot && 'needs root' }, () => {
  ensureBuilt();
  const root = provisionedRoot('kinds');
  const cache = path.join(work, 'cache-kinds');
  const first = cacheName('install');
  const reRun = cacheName('install', 're-run');
  // A fresh install (it writes files): the first run's kind.
  const fresh = cli(cache, ['--root', root, '--whitelist', '203.0.113.7', '--yes']);
  assert.equal(fresh.status, 0, fresh.stderr);
  assert.doesNotMatch(fresh.out, /Nothing to do/);
  assert.deepEqual([...files(cache).keys()], [first]);
  const firstSize = statSync(path.join(cache, first)).size;
  // The same options again: nothing to do; its own kind replaces the first run's.
  const again = cli(cache, ['--root', root, '--whitelist', '203.0.113.7', '--yes']);
  assert.match(again.out, /Nothing to do/);
  assert.deepEqual([...files(cache).keys()], [reRun]);
  const kept = files(cache);
  console.log(`# code cache: first run ${firstSize} bytes, re-run ${statSync(path.join(cache, reRun)).size} bytes`);
  // Later runs use it as it is: another re-run, a run that changes a file, a dry run.
  for (const args of [
    ['--root', root, '--whitelist', '203.0.113.7', '--yes'],
    ['--root', root, '--whitelist', '203.0.113.8', '--yes'],
    ['--root', root, '--whitelist', '203.0.113.9', '--dry-run'],
  ]) {
    const r = cli(cache, args);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(files(cache), kept, `${args.join(' ')} rewrote the re-run's cache`);
  }
  // A re-run cache V8 rejects, in a run that changes a file: replaced by the first kind (a
  // rejected file left in place would be read, and rejected, by every run).
  writeFileSync(path.join(cache, reRun), Buffer.alloc(4096, 9), { mode: 0o600 });
  const changed = cli(cache, ['--root', root, '--whitelist', '203.0.113.10', '--yes']); // a new address: ignoreip changes
  assert.equal(changed.status, 0, changed.stderr);
  assert.doesNotMatch(changed.out, /Nothing to do/);
  assert.deepEqual([...files(cache).keys()], [first]);
  assert.ok(statSync(path.join(cache, first)).size > 50_000);
});

test('never read from a place others could write: a group/world-writable or symlinked directory, a file of another user', { skip: (!isRoot || !haveStrace) && 'needs root and strace' }, () => {
  ensureBuilt();
  const root = provisionedRoot('unsafe');
  const args = ['--root', root, '--whitelist', '203.0.113.7', '--yes'];
  assert.equal(cli('off', args).status, 0);
  const name = cacheName('install');
  const opens = (cache: string): string[] => {
    const trace = path.join(work, 'trace');
    const r = cli(cache, args, ['strace', '-f', '-q', '-e', 'trace=openat', '-o', trace]);
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes(name) && !/O_CREAT/.test(l));
  };
  // A directory others may write.
  const wide = path.join(work, 'cache-wide');
  mkdirSync(wide, { mode: 0o700 });
  chmodSync(wide, 0o777);
  writeFileSync(path.join(wide, name), Buffer.alloc(4096, 1), { mode: 0o600 });
  assert.deepEqual(opens(wide), [], 'a cache in a world-writable directory was read');
  assert.equal(statSync(path.join(wide, name)).size, 4096, 'nothing is written into a world-writable directory');
  // A symlink to a good directory.
  const real = path.join(work, 'cache-real');
  mkdirSync(real, { mode: 0o700 });
  writeFileSync(path.join(real, name), Buffer.alloc(4096, 2), { mode: 0o600 });
  const link = path.join(work, 'cache-link');
  symlinkSync(real, link);
  assert.deepEqual(opens(link), [], 'a cache behind a symlinked directory was read');
  // A file of another user in a good directory: not read (and replaced by this user's).
  const good = path.join(work, 'cache-other-owner');
  mkdirSync(good, { mode: 0o700 });
  writeFileSync(path.join(good, name), Buffer.alloc(4096, 3), { mode: 0o600 });
  chownSync(path.join(good, name), 65534, 65534);
  assert.deepEqual(opens(good), [], "another user's cache file was read");
  // This run is a re-run: it writes its own kind, as this user, and the first run's file goes.
  assert.equal(statSync(path.join(good, cacheName('install', 're-run'))).uid, 0);
  assert.equal(existsSync(path.join(good, name)), false);
});

test("another build's file goes when this one's is written; uninstall writes none", { skip: !isRoot && 'needs root' }, () => {
  ensureBuilt();
  const root = provisionedRoot('builds');
  const args = ['--root', root, '--whitelist', '203.0.113.7', '--yes'];
  assert.equal(cli('off', args).status, 0);
  const cache = path.join(work, 'cache-builds');
  mkdirSync(cache, { mode: 0o700 });
  writeFileSync(path.join(cache, 'cli-0000000000000000-1-1-v20.0.0-x64-install.bin'), 'old', { mode: 0o600 });
  writeFileSync(path.join(cache, `${cacheName('install')}.123.tmp`), 'torn', { mode: 0o600 });
  writeFileSync(path.join(cache, 'notes.txt'), 'the admin’s', { mode: 0o600 });
  // The same build copied elsewhere (the web view's program: another mtime) keeps its file.
  const copy = `cli-${buildId()}-1-1-${process.version}-${process.arch}-web.bin`;
  writeFileSync(path.join(cache, copy), 'a copy', { mode: 0o600 });
  assert.equal(cli(cache, args).status, 0);
  const names = [...files(cache).keys()];
  assert.equal(names.length, 3, names.join(', '));
  assert.ok(names.includes('notes.txt'));
  assert.ok(names.includes(copy));
  assert.ok(names.some((n) => n.startsWith(`cli-${buildId()}-`)));

  const fresh = path.join(work, 'cache-uninstall');
  const u = cli(fresh, ['uninstall', '--root', root, '--yes']);
  assert.equal(u.status, 0, u.stderr);
  assert.equal(existsSync(fresh), false, 'uninstall made a code cache');
});

test('SIGKILL at every step of the cache write: the next run works and leaves one good cache, no temp file', { skip: (!isRoot || !haveStrace) && 'needs root and strace' }, () => {
  ensureBuilt();
  const root = provisionedRoot('kill');
  const args = ['--root', root, '--whitelist', '203.0.113.7', '--yes'];
  assert.equal(cli('off', args).status, 0);
  const plain = cli('off', args);
  // The write's syscalls, from a run without faults (with an old build's file to remove): each
  // one's ordinal among the main thread's calls of that syscall, where strace's when=N counts.
  const SYSCALLS = ['mkdir', 'openat', 'write', 'pwrite64', 'rename', 'unlink'];
  const ref = path.join(work, 'cache-kill-ref');
  // Seeded with an old build's file and a first-run file of this build that V8 rejects: the
  // no-op re-run writes its own kind and removes both.
  const seed = (dir: string): void => {
    mkdirSync(dir, { mode: 0o700 });
    writeFileSync(path.join(dir, 'cli-0000000000000000-1-1-v20.0.0-x64-install.bin'), 'old', { mode: 0o600 });
    writeFileSync(path.join(dir, cacheName('install')), Buffer.alloc(4096, 5), { mode: 0o600 });
  };
  seed(ref);
  const refTrace = path.join(work, 'ref-trace');
  assert.equal(cli(ref, args, ['strace', '-f', '-q', '-o', refTrace, '-e', `trace=${SYSCALLS.join(',')}`]).status, 0);
  const lines = readFileSync(refTrace, 'utf8').split('\n');
  const main = /^(\d+) /.exec(lines[0]!)![1]!;
  const seen = new Map<string, number>();
  const kills: { sc: string; when: number; line: string }[] = [];
  let tmpFd: string | null = null;
  for (const l of lines) {
    const m = new RegExp(`^${main} +(\\w+)\\((.*)$`).exec(l);
    if (!m) continue;
    const sc = m[1]!;
    const n = (seen.get(sc) ?? 0) + 1;
    seen.set(sc, n);
    const fd = /^(\d+),/.exec(m[2]!)?.[1];
    const mine = l.includes(ref) || ((sc === 'write' || sc === 'pwrite64') && fd !== undefined && fd === tmpFd);
    if (sc === 'openat' && l.includes(ref) && /O_CREAT/.test(l)) tmpFd = / = (\d+)$/.exec(l)?.[1] ?? null;
    if (mine) kills.push({ sc, when: n, line: l.slice(0, 120) });
  }
  assert.ok(kills.length >= 4, `the cache write has only these syscalls: ${kills.map((k) => k.line).join('\n')}`);
  for (const k of kills) {
    const cache = path.join(work, `cache-kill-${k.sc}-${k.when}`);
    seed(cache);
    const r = cli(cache, args, ['strace', '-f', '-q', '-o', path.join(work, 'kill-trace'), '-e', `trace=${k.sc}`, '-e', `inject=${k.sc}:signal=SIGKILL:when=${k.when}`]);
    assert.notEqual(r.status, 0, `not killed at ${k.line}`);
    const again = cli(cache, args);
    assert.equal(again.status, 0, `${k.line}: ${again.stderr}`);
    assert.equal(again.out, plain.out);
    // One good cache of this build, no temp file. (The old build's file goes with the next
    // write; a kill after the rename leaves it until then.)
    const left = [...files(cache).keys()];
    const mine = left.filter((n) => n.startsWith(`cli-${buildId()}-`));
    assert.equal(mine.length, 1, `${k.line}: ${left.join(', ')}`);
    assert.equal(mine[0], cacheName('install', 're-run'), k.line);
    assert.deepEqual(left.filter((n) => n.endsWith('.tmp')), [], k.line);
    assert.ok(statSync(path.join(cache, mine[0]!)).size > 50_000);
    rmSync(cache, { recursive: true, force: true });
  }
  const points = kills.length;
  console.log(`# code cache: ${points} kill points in the write, 0 failed`);
});

test('uninstall removes the cache files under the root (only those) and the directory when empty; one directory and one command list in the shim and in src', { skip: !isRoot && 'needs root' }, () => {
  ensureBuilt();
  const req = createRequire(import.meta.url);
  const shim = req(path.join(REPO, 'bin/code-cache.js')) as { DEFAULT_DIR: string; COMMANDS: string[]; RE_RUN: symbol; CACHE_FILE: RegExp };
  assert.equal(shim.DEFAULT_DIR, CODE_CACHE_DIR);
  // The files uninstall removes are the files the shim writes; the bundle's re-run hint is the one the shim reads.
  assert.equal(shim.CACHE_FILE.source, CODE_CACHE_FILE.source);
  assert.equal(shim.RE_RUN, RE_RUN);
  // The shim names each command's cache file by the commands commander knows: the same list.
  const help = (JSON.parse(readFileSync(path.join(REPO, 'dist/help.json'), 'utf8')) as { help: string }).help;
  const block = help.slice(help.indexOf('Commands:')).split('\n\n')[0]!;
  const commands = [...block.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!);
  assert.deepEqual([...shim.COMMANDS].sort(), commands.sort());
  for (const foreign of [false, true]) {
    const root = provisionedRoot(`uninstall-${foreign}`);
    assert.equal(cli('off', ['--root', root, '--whitelist', '203.0.113.7', '--yes']).status, 0);
    const dir = path.join(root, CODE_CACHE_DIR);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'cli-0123456789abcdef-v20.0.0-x64-1-1.bin'), 'x');
    writeFileSync(path.join(dir, 'cli-0123456789abcdef-v20.0.0-x64-1-1.bin.77.tmp'), 'x');
    if (foreign) writeFileSync(path.join(dir, 'keep.me'), 'x');
    const u = cli('off', ['uninstall', '--root', root, '--yes']);
    assert.equal(u.status, 0, u.stderr);
    if (foreign) assert.deepEqual(readdirSync(dir), ['keep.me']);
    else assert.equal(existsSync(dir), false);
  }
});
