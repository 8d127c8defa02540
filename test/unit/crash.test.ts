// needs: root, strace
/**
 * Crash test (issue 10): the built CLI is killed with SIGKILL just before every file-system
 * change it makes during an install under --root (strace fault injection:
 * `-e inject=<syscall>:signal=SIGKILL:when=N` for every syscall that changes the tree and every
 * N it reaches), on three trees: a fresh one, one with the admin's own files (jail.local,
 * logger.conf, sofia profiles, kamailio.cfg), and an update run with other options over an
 * installed tree; and a fresh one with --web (the web view's program copied, about 57 files, and its
 * token). After each kill:
 *  1. every path is its old or its new version, byte for byte with mode and owner (or a temp
 *     file / our state directory);
 *  2. `uninstall` right after the kill restores the original tree exactly;
 *  3. the re-run exits 0, leaves no temp file, and its tree equals an uninterrupted run's;
 *  4. `uninstall` after the re-run restores the original tree exactly.
 * And for the record of what the tool last wrote (issue 21): uninstall right after the kill
 * reports no edit of the admin's; a section the admin adds to jail.local right after the kill is
 * carried by uninstall into the restored jail.local (and nothing else differs, no .kept); after
 * the re-run every managed file's `lastWritten` is the sha256 of its text and nothing is left
 * `writing`.
 * The points of the fresh tree all run; the other two by a stride unless VOIP_F2B_CRASH_FULL=1.
 * Results are printed (and recorded in docs/RELIABILITY.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { BIN, ensureBuilt } from '../helpers/cli.ts';

/** Every syscall with which the CLI changes a tree (creating a file is followed by fchmod). */
const MUTATING = ['mkdir', 'mkdirat', 'rename', 'renameat', 'renameat2', 'link', 'linkat', 'unlink', 'unlinkat', 'rmdir', 'fchmod', 'fchmodat', 'fchown', 'fchownat', 'chmod', 'chown', 'lchown', 'fsync', 'fdatasync'];
const STATE = 'var/backups/voip-f2b-install';
const WEB_TOKEN = 'etc/voip-f2b-install/web-token';
const TEMP = /\.voip-f2b(?:\.tmp|-\d+-\d+\.tmp)$/;
const FIX = new URL('../fixtures/', import.meta.url);
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', UV_THREADPOOL_SIZE: '1', HOME: '/nonexistent' };
const haveStrace = spawnSync('strace', ['-V']).status === 0;
const isRoot = process.getuid?.() === 0;

type Tree = Map<string, string>;

/** Every path under root → "type mode uid:gid content" (lstat, no following). */
async function tree(root: string, normalizeManifest = false): Promise<Tree> {
  const out: Tree = new Map();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(root, r);
      const st = await lstat(p);
      const meta = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isDirectory()) {
        out.set(`${r}/`, `d ${meta}`);
        await walk(r);
      } else if (st.isSymbolicLink()) out.set(r, `l ${meta} ${await readlink(p)}`);
      else {
        let text = await readFile(p, 'utf8');
        // install --web's login token is random by design: each run that creates it makes its own.
        if (r === WEB_TOKEN) text = '<a fresh token>';
        if (normalizeManifest && r === `${STATE}/manifest.json`) {
          const m = JSON.parse(text);
          for (const f of m.files) {
            f.firstTouched = '';
            // The record of what was written there: the sha256 of that run's own token.
            if (f.path === `/${WEB_TOKEN}` && f.lastWritten) f.lastWritten.sha256 = '<a fresh token>';
          }
          text = JSON.stringify(m);
        }
        out.set(r, `f ${meta} ${text}`);
      }
    }
  };
  await walk('');
  return out;
}

function diffTrees(a: Tree, b: Tree): string[] {
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(k);
    const y = b.get(k);
    if (x !== y) out.push(`${k}: ${x === undefined ? 'absent' : x.slice(0, 40)} != ${y === undefined ? 'absent' : y.slice(0, 40)}`);
  }
  return out.sort();
}

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 120000);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

const cli = (root: string, args: string[]): Promise<Run> => run(process.execPath, [BIN, ...args, '--root', root]);

/** A fresh Debian 12 tree with Asterisk, FreeSWITCH and Kamailio; log dirs owned by their users. */
async function freshTree(dir: string): Promise<void> {
  const put = async (p: string, text: string, mode = 0o644): Promise<void> => {
    await mkdir(path.join(dir, path.dirname(p)), { recursive: true });
    await writeFile(path.join(dir, p), text, { mode });
  };
  await put('etc/os-release', await readFile(new URL('os-release/debian-12', FIX), 'utf8'));
  await put('etc/asterisk/asterisk.conf', '[directories]\nastlogdir => /var/log/asterisk\n');
  await put('etc/freeswitch/freeswitch.xml', '<document type="freeswitch/xml"/>\n');
  await put('etc/kamailio/kamailio.cfg', await readFile(new URL('upstream/kamailio/kamailio.cfg', FIX), 'utf8'));
  for (const [d, id] of [['var/log/asterisk', 2001], ['var/log/freeswitch', 2002]] as const) {
    await mkdir(path.join(dir, d), { recursive: true });
    await chown(path.join(dir, d), id, id);
  }
}

/** The fresh tree plus the admin's own files, some with their own modes and owners. */
async function adminTree(dir: string): Promise<void> {
  await freshTree(dir);
  const put = async (p: string, text: string, mode: number, uid = 0, gid = 0): Promise<void> => {
    await mkdir(path.join(dir, path.dirname(p)), { recursive: true });
    await writeFile(path.join(dir, p), text, { mode });
    await chown(path.join(dir, p), uid, gid);
  };
  await put('etc/fail2ban/jail.local', '# my own settings, keep this comment\n[DEFAULT]\nbantime = 600\n\n[recidive]\nenabled = true\n', 0o640, 0, 2001);
  await put('etc/fail2ban/jail.d/my-own.local', '[sshd]\nport = 2222\n', 0o644);
  await put('etc/asterisk/logger.conf', await readFile(new URL('upstream/asterisk/logger.conf.sample.148f835', FIX), 'utf8'), 0o640, 2001, 2001);
  for (const f of ['internal.xml', 'external.xml']) {
    await put(`etc/freeswitch/sip_profiles/${f}`, await readFile(new URL(`upstream/freeswitch/vanilla/sip_profiles/${f}`, FIX), 'utf8'), 0o644, 2002, 2002);
  }
  await put('etc/kamailio/kamailio.cfg', `# admin's note\n${await readFile(new URL('upstream/kamailio/kamailio.cfg', FIX), 'utf8')}`, 0o600, 0, 0);
  await mkdir(path.join(dir, 'var/backups'), { recursive: true });
  await put('var/log/asterisk/messages.log', 'an existing log line\n', 0o640, 2001, 2001);
}

interface Scenario {
  name: string;
  /** The tree before the tool ever ran (what uninstall must give back). */
  original: string;
  /** The tree the killed run starts from. */
  start: string;
  args: string[];
}

interface Outcome {
  points: number;
  /** Kill points with at least one failed check. */
  failedPoints: number;
  failures: string[];
}

const BASE = ['install', '--yes', '--whitelist', '203.0.113.7', '--services', 'asterisk,freeswitch,kamailio'];
const JAIL = 'etc/fail2ban/jail.local';
/** A jail the admin adds to jail.local (in the tests of the record of what the tool wrote). */
const ADMIN_JAIL = '# added by the admin\n[admin-jail]\nenabled = false\nfilter = sshd\n';

/** Managed files whose `lastWritten` is not the sha256 of their text, or that are left `writing`. */
async function recordProblems(root: string): Promise<string[]> {
  const m = JSON.parse(await readFile(path.join(root, STATE, 'manifest.json'), 'utf8'));
  const out: string[] = [];
  for (const f of m.files as Array<{ path: string; lastWritten?: { sha256: string }; writing?: unknown }>) {
    const text = await readFile(path.join(root, f.path), 'utf8').catch(() => null);
    if (f.writing) out.push(`${f.path}: still "writing"`);
    if (text !== null && f.lastWritten?.sha256 !== createHash('sha256').update(text).digest('hex')) out.push(`${f.path}: lastWritten is not its text`);
  }
  return out;
}

/** The original tree as uninstall must leave it when the admin added ADMIN_JAIL to jail.local. */
function withAdminJail(original: Tree): Tree {
  const t = new Map(original);
  const o = t.get(JAIL);
  if (o === undefined) {
    if (!t.has('etc/fail2ban/')) t.set('etc/fail2ban/', 'd 755 0:0');
    t.set(JAIL, `f 644 0:0 ${ADMIN_JAIL}`);
  } else t.set(JAIL, `${o}\n${ADMIN_JAIL}`);
  return t;
}

async function sweep(work: string, sc: Scenario, stride: number): Promise<Outcome> {
  // The uninterrupted run, traced: how many of each mutating syscall it makes, and its result.
  const ref = path.join(work, `${sc.name}-ref`);
  await run('cp', ['-a', sc.start, ref]);
  const trace = path.join(work, `${sc.name}.trace`);
  const r0 = await run('strace', ['-f', '-qq', '-o', trace, '-e', `trace=${MUTATING.join(',')}`, process.execPath, BIN, ...sc.args, '--root', ref]);
  assert.equal(r0.status, 0, r0.stderr);
  assert.deepEqual(await recordProblems(ref), [], 'the uninterrupted run records what it wrote');
  const counts = new Map<string, number>();
  for (const line of (await readFile(trace, 'utf8')).split('\n')) {
    const m = /^\d+\s+(\w+)\(/.exec(line);
    if (m) counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  }
  const original = await tree(sc.original);
  const fin = await tree(ref, true);
  const oldRaw = await tree(sc.start);
  const newRaw = await tree(ref);
  await rm(ref, { recursive: true, force: true });

  const points: Array<{ sys: string; n: number }> = [];
  for (const [sys, c] of [...counts].sort()) for (let n = 1; n <= c; n++) points.push({ sys, n });
  const chosen = points.filter((_, i) => i % stride === 0);
  const failures: string[] = [];
  const one = async ({ sys, n }: { sys: string; n: number }): Promise<void> => {
    const label = `${sc.name} ${sys}#${n}`;
    const w = path.join(work, `${sc.name}-${sys}-${n}`);
    const u = `${w}-u`;
    const e = `${w}-e`;
    try {
      await run('cp', ['-a', sc.start, w]);
      const k = await run('strace', ['-f', '-qq', '-o', '/dev/null', '-e', `trace=${sys}`, '-e', `inject=${sys}:signal=SIGKILL:when=${n}`, process.execPath, BIN, ...sc.args, '--root', w]);
      if (k.signal !== 'SIGKILL' && k.status !== 137) {
        failures.push(`${label}: not killed (exit ${k.status} ${k.signal})`);
        return;
      }
      // 1. Old or new, byte for byte with mode and owner; anything else is a temp or our state.
      const now = await tree(w);
      for (const p of new Set([...now.keys(), ...oldRaw.keys(), ...newRaw.keys()])) {
        if (p.startsWith(STATE) || p.split('/').some((c) => TEMP.test(c))) continue;
        const v = now.get(p);
        if (v !== oldRaw.get(p) && v !== newRaw.get(p)) failures.push(`${label}: after the kill ${p} is neither old nor new (${v === undefined ? 'absent' : v.slice(0, 60)})`);
      }
      // 2. Uninstall right after the kill.
      await run('cp', ['-a', w, u]);
      await run('cp', ['-a', w, e]);
      const u1 = await cli(u, ['uninstall']);
      if (u1.status !== 0) failures.push(`${label}: uninstall after the kill exited ${u1.status}: ${u1.stderr.trim().split('\n').pop()}`);
      for (const d of diffTrees(await tree(u), original)) failures.push(`${label}: uninstall after the kill: ${d}`);
      for (const l of u1.stdout.split('\n')) if (/^(CARRY|KEEP|Edited:)/.test(l)) failures.push(`${label}: uninstall after the kill reports an edit nobody made: ${l}`);
      // 2b. The admin adds a jail right after the kill: uninstall carries it, nothing else differs.
      await mkdir(path.join(e, 'etc/fail2ban'), { recursive: true });
      const j = await readFile(path.join(e, JAIL), 'utf8').catch(() => null);
      await writeFile(path.join(e, JAIL), `${j === null ? '' : `${j}\n`}${ADMIN_JAIL}`);
      const u3 = await cli(e, ['uninstall']);
      if (u3.status !== 0) failures.push(`${label}: uninstall of an admin-edited tree exited ${u3.status}: ${u3.stderr.trim().split('\n').pop()}`);
      for (const d of diffTrees(await tree(e), withAdminJail(original))) failures.push(`${label}: uninstall after the kill and the admin's jail: ${d}`);
      // 3. The re-run heals.
      const r = await cli(w, sc.args);
      if (r.status !== 0) failures.push(`${label}: re-run exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
      const healed = await tree(w, true);
      for (const p of healed.keys()) if (p.split('/').some((c) => TEMP.test(c))) failures.push(`${label}: temp file left after the re-run: ${p}`);
      for (const d of diffTrees(healed, fin)) failures.push(`${label}: re-run tree differs from an uninterrupted run: ${d}`);
      for (const p of await recordProblems(w)) failures.push(`${label}: after the re-run, ${p}`);
      // 4. Uninstall after the re-run.
      const u2 = await cli(w, ['uninstall']);
      if (u2.status !== 0) failures.push(`${label}: uninstall after the re-run exited ${u2.status}`);
      for (const d of diffTrees(await tree(w), original)) failures.push(`${label}: uninstall after the re-run: ${d}`);
    } finally {
      await rm(w, { recursive: true, force: true });
      await rm(u, { recursive: true, force: true });
      await rm(e, { recursive: true, force: true });
    }
  };
  const queue = [...chosen];
  const workers = Array.from({ length: Math.max(2, cpus().length) }, async () => {
    for (let p = queue.shift(); p; p = queue.shift()) await one(p);
  });
  await Promise.all(workers);
  const failedPoints = new Set(failures.map((f) => f.slice(0, f.indexOf(':')))).size;
  return { points: chosen.length, failedPoints, failures };
}

test('SIGKILL at every file-system change of an install: old or new, the re-run heals, uninstall restores', { skip: !haveStrace ? 'strace not installed' : !isRoot ? 'needs root (owners)' : false }, async () => {
  ensureBuilt();
  const full = /^(1|true|yes|on)$/i.test(process.env.VOIP_F2B_CRASH_FULL ?? '');
  const work = await mkdtemp(path.join(tmpdir(), 'voip-f2b-crash-'));
  const t0 = Date.now();
  try {
    const fresh = path.join(work, 'fresh');
    await freshTree(fresh);
    const admin = path.join(work, 'admin');
    await adminTree(admin);
    // The update run starts from the admin's tree installed with the defaults.
    const installed = path.join(work, 'installed');
    await run('cp', ['-a', admin, installed]);
    const first = await cli(installed, [...BASE, '--no-watch']);
    assert.equal(first.status, 0, first.stderr);
    // The program copy (about 40 files, shared by the watch and --web) is swept by stride in the
    // watch and web runs; the other runs leave the watch out so every point of their own files runs.
    const scenarios: Array<[Scenario, number]> = [
      [{ name: 'fresh', original: fresh, start: fresh, args: [...BASE, '--no-watch'] }, 1],
      [{ name: 'admin', original: admin, start: admin, args: [...BASE, '--no-watch', '--kamailio-auth-log'] }, full ? 1 : 3],
      [{ name: 'update', original: admin, start: installed, args: [...BASE, '--no-watch', '--whitelist', '203.0.113.7,198.51.100.9', '--bantime', '2h', '--freeswitch-mode', 'aggressive', '--kamailio-auth-log'] }, full ? 1 : 3],
      [{ name: 'watch', original: fresh, start: fresh, args: BASE }, full ? 1 : 10],
      [{ name: 'web', original: fresh, start: fresh, args: [...BASE, '--no-watch', '--web'] }, full ? 1 : 10],
    ];
    let points = 0;
    let failedPoints = 0;
    const failures: string[] = [];
    for (const [sc, stride] of scenarios) {
      const o = await sweep(work, sc, stride);
      points += o.points;
      failedPoints += o.failedPoints;
      failures.push(...o.failures);
      console.log(`# crash test: ${sc.name}: ${o.points} kill points${stride > 1 ? ` (every ${stride}th; VOIP_F2B_CRASH_FULL=1 for all)` : ''}, ${o.failedPoints} failed (${o.failures.length} failed checks)`);
    }
    console.log(`# crash test: ${points} kill points, ${failedPoints} failed (${failures.length} failed checks), ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    for (const f of failures.slice(0, 40)) console.log(`#   ${f}`);
    assert.deepEqual(failures, []);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
