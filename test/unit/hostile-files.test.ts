// needs: root
/**
 * Issue 20, holes 1 and 6: files in directories another account can write. The tool runs as
 * root; the asterisk account (here uid 2001, acting through setpriv) owns /var/log/asterisk and
 * can swap any name in it for a symbolic link, a hard link or a FIFO between two runs. The built
 * CLI runs over a --root tree whose directories are owned as on a PBX host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { osRelease, removeRoot, tempRoot, testContext } from '../helpers/context.ts';
import { applyPlan } from '../../src/adapters/apply.ts';
import { nodeFileSystem } from '../../src/adapters/fs.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { gatherFacts } from '../../src/adapters/facts.ts';
import { UnsafePathError } from '../../src/errors.ts';
import type { Plan } from '../../src/core/plan.ts';

const ASTERISK = 2001;
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root (owners, setpriv)' : false;
const ARGS = ['--whitelist', '203.0.113.7', '--services', 'asterisk', '--yes'];

/** Runs argv as the asterisk account (uid/gid 2001, no groups), as that account would. */
function asAsterisk(argv: string[]): void {
  const r = spawnSync('setpriv', [`--reuid=${ASTERISK}`, `--regid=${ASTERISK}`, '--clear-groups', ...argv], { encoding: 'utf8' });
  assert.equal(r.status, 0, `as uid ${ASTERISK}: ${argv.join(' ')}: ${r.stderr}`);
}

/** A Debian 12 tree with Asterisk, /var/log/asterisk owned by the asterisk account, reachable by it. */
async function pbxRoot(): Promise<string> {
  const root = await tempRoot({ '/etc/os-release': await osRelease('debian-12'), '/etc/asterisk/asterisk.conf': '' });
  chmodSync(root, 0o755);
  mkdirSync(path.join(root, 'var/log/asterisk'), { recursive: true });
  chownSync(path.join(root, 'var/log/asterisk'), ASTERISK, ASTERISK);
  return root;
}

/** Every entry under `root` (lstat, no following), with the text of regular files: never opens a FIFO. */
function treeState(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const r = path.join(rel, name);
    const st = lstatSync(path.join(root, r));
    out.push(`${r} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isFile() ? readFileSync(path.join(root, r), 'utf8') : st.isSymbolicLink() ? readlinkSync(path.join(root, r)) : ''}`);
    if (st.isDirectory()) out.push(...treeState(root, r));
  }
  return out;
}

/** A root-only file standing in for /etc/shadow. */
function shadowStandIn(root: string): string {
  const f = path.join(root, 'etc/shadow');
  writeFileSync(f, 'root:$6$secret:19000:0:99999:7:::\n', { mode: 0o600 });
  chmodSync(f, 0o600);
  return f;
}

test('the asterisk account swaps the log the tool made for a link to a root-only file: the next --yes run exits 1 naming it; the target keeps root 0600; nothing changes', { skip }, async () => {
  const root = await pbxRoot();
  try {
    const first = runCli([...ARGS, '--root', root]);
    assert.equal(first.status, 0, first.stderr);
    const log = path.join(root, 'var/log/asterisk/security');
    assert.deepEqual([statSync(log).uid, statSync(log).mode & 0o777], [ASTERISK, 0o640], 'the tool made the log, owned like its directory');

    const shadow = shadowStandIn(root);
    asAsterisk(['sh', '-c', `rm -f "$1" && ln -s "$2" "$1"`, 'sh', log, shadow]);
    assert.ok(lstatSync(log).isSymbolicLink());
    const before = treeState(root);

    const r = runCli([...ARGS, '--root', root]);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const first2 = r.stderr.split('\n')[0]!;
    assert.match(first2, new RegExp(`^voip-f2b-install: refusing ${log.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is a symbolic link \\(uid ${ASTERISK}\\) in ${path.dirname(log)}, which uid ${ASTERISK} owns`));
    const st = statSync(shadow);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o600], 'the target keeps root:root 0600');
    assert.deepEqual(treeState(root), before, 'nothing in the tree changed');
  } finally {
    await removeRoot(root);
  }
});

test('a FIFO where a config or log is read: refused at once with the reason, no hang', { skip }, async () => {
  const root = await pbxRoot();
  try {
    const conf = path.join(root, 'etc/asterisk/logger.conf');
    assert.equal(spawnSync('mkfifo', [conf]).status, 0);
    const t0 = Date.now();
    const r = runCli([...ARGS, '--root', root], { timeoutMs: 30000 });
    assert.equal(r.status, 1, `exit 1 (not killed by the timeout): ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, new RegExp(`^voip-f2b-install: refusing ${conf.replace(/[.]/g, '\\.')}: it is a FIFO, not a regular file$`));
    assert.ok(Date.now() - t0 < 20000);

    // And a FIFO planted where the log the tool made was: the re-run stops while planning.
    spawnSync('rm', ['-f', conf]);
    assert.equal(runCli([...ARGS, '--root', root]).status, 0);
    const log = path.join(root, 'var/log/asterisk/security');
    asAsterisk(['sh', '-c', 'rm -f "$1" && mkfifo "$1"', 'sh', log]);
    const before = treeState(root);
    const again = runCli([...ARGS, '--root', root], { timeoutMs: 30000 });
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /security: the tool created it as a log file and it is no longer a regular file/);
    assert.deepEqual(treeState(root), before, 'nothing in the tree changed');
  } finally {
    await removeRoot(root);
  }
});

test('a directory on the path swapped for a link by the account that owns its parent: reads, writes and chmod refuse it; a root-made link in a root-only directory is followed', { skip }, async () => {
  const root = await pbxRoot();
  try {
    const fs = nodeFileSystem(root);
    const shadow = shadowStandIn(root);
    // /var/log/asterisk/cdr-csv -> /etc (made by the asterisk account)
    asAsterisk(['ln', '-s', path.join(root, 'etc'), path.join(root, 'var/log/asterisk/cdr-csv')]);
    await assert.rejects(fs.readText('/var/log/asterisk/cdr-csv/shadow'), (e: unknown) => e instanceof UnsafePathError && /cdr-csv: it is a symbolic link \(uid 2001\)/.test(e.message));
    await assert.rejects(fs.writeAtomic('/var/log/asterisk/cdr-csv/shadow', 'x\n'), UnsafePathError);
    await assert.rejects(fs.chmodChown('/var/log/asterisk/cdr-csv/shadow', { mode: 0o644, uid: ASTERISK, gid: ASTERISK }), UnsafePathError);
    await assert.rejects(fs.stat('/var/log/asterisk/cdr-csv/shadow'), UnsafePathError);
    assert.deepEqual([statSync(shadow).uid, statSync(shadow).mode & 0o777, readFileSync(shadow, 'utf8').startsWith('root:')], [0, 0o600, true]);

    // /var/run -> /run as Debian has it: root's link in a root-only directory.
    mkdirSync(path.join(root, 'run/fail2ban'), { recursive: true });
    writeFileSync(path.join(root, 'run/fail2ban/fail2ban.pid'), '42\n');
    symlinkSync('../run', path.join(root, 'var/run'));
    assert.equal(await fs.readText('/var/run/fail2ban/fail2ban.pid'), '42\n');

    // A link the asterisk account planted that root then owns would be trusted in a root-only
    // directory only: lchown'd to root inside /var/log/asterisk, it is still refused there.
    asAsterisk(['ln', '-s', shadow, path.join(root, 'var/log/asterisk/full')]);
    lchownSync(path.join(root, 'var/log/asterisk/full'), 0, 0);
    await assert.rejects(fs.readText('/var/log/asterisk/full'), UnsafePathError);
  } finally {
    await removeRoot(root);
  }
});

test('owner and mode repairs go through the descriptor: a hard link or a file of another owner is refused', { skip }, async () => {
  const root = await pbxRoot();
  try {
    const fs = nodeFileSystem(root);
    const other = path.join(root, 'var/log/asterisk/other');
    writeFileSync(other, '', { mode: 0o600 });
    linkSync(other, path.join(root, 'var/log/asterisk/security'));
    await assert.rejects(fs.chmodChown('/var/log/asterisk/security', { mode: 0o640, uid: ASTERISK, gid: ASTERISK }, [0, ASTERISK]), /it has 2 hard links/);
    assert.equal(statSync(other).uid, 0);
    const mine = path.join(root, 'var/log/asterisk/messages');
    writeFileSync(mine, '');
    chownSync(mine, 3003, 3003);
    await assert.rejects(fs.chmodChown('/var/log/asterisk/messages', { mode: 0o640, uid: ASTERISK, gid: ASTERISK }, [0, ASTERISK]), /owned by uid 3003, expected 0 or 2001/);
    assert.equal(statSync(mine).uid, 3003);
  } finally {
    await removeRoot(root);
  }
});

test('a secret file the tool rewrites comes out 0600 and root-owned, whatever the old file had', { skip }, async () => {
  const root = await tempRoot({ '/etc/os-release': await osRelease('debian-12'), '/etc/crowdsec/bouncers/x.yaml': 'api_key: old\n' });
  try {
    const file = path.join(root, 'etc/crowdsec/bouncers/x.yaml');
    chmodSync(file, 0o644);
    chownSync(file, ASTERISK, ASTERISK);
    const ctx = testContext(root);
    const facts = await gatherFacts(ctx);
    const distro = detectDistro(facts.os);
    const plan: Plan = {
      distro: distro.key,
      packages: [],
      packageCommands: [],
      files: [{ path: '/etc/crowdsec/bouncers/x.yaml', before: 'api_key: old\n', after: 'api_key: new\n', mode: 0o600, why: 'a key', secret: true }],
      ensureFiles: [],
      jails: [],
      afterCommands: [],
      manualSteps: [],
      warnings: [],
      banaction: '',
      banactionAllports: '',
      ignoreip: [],
      services: [],
    };
    await applyPlan(ctx, plan, facts, distro);
    const st = statSync(file);
    assert.deepEqual([st.mode & 0o7777, st.uid, readFileSync(file, 'utf8')], [0o600, 0, 'api_key: new\n']);
  } finally {
    await removeRoot(root);
  }
});
