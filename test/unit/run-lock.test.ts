/**
 * One run at a time changes a host (src/adapters/run-lock.ts): a second install or uninstall
 * while another live run holds /run/voip-f2b-install.lock is exit 5 naming it, with nothing
 * changed; a lock left by a run that no longer exists (its pid unused, or reused by another process) is
 * taken over; a dry run takes none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { uninstall } from '../../src/commands/uninstall.ts';
import { RUN_LOCK, BusyError } from '../../src/adapters/run-lock.ts';
import { ExitCode } from '../../src/errors.ts';
import { installOptions } from '../helpers/options.ts';
import { removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const opts = (o = {}) => installOptions({ yes: true, whitelist: ['203.0.113.7'], ...o });

/** The lock text a run with pid `pid` writes (its start time tells it from a later process with its pid). */
function lockOf(pid: number, what: string, start?: string): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return `${pid} ${start ?? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]} ${what}\n`;
}

async function hostWithRun(): Promise<string> {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\n' });
  mkdirSync(path.join(root, 'run'));
  return root;
}

test('another live run holds the lock: install and uninstall are exit 5 naming its pid, nothing changed; a dry run still plans', async () => {
  const root = await hostWithRun();
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await install(opts(), testContext(root));
    await writeFile(path.join(root, RUN_LOCK), lockOf(other.pid!, 'install'), { mode: 0o600 });
    const before = await snapshot(root);
    for (const run of [() => install(opts({ maxretry: 3 }), testContext(root)), () => uninstall({ purgePackages: false, dryRun: false }, testContext(root))]) {
      await assert.rejects(run(), (e: unknown) => {
        assert.ok(e instanceof BusyError, String(e));
        assert.equal(e.exitCode, ExitCode.busy);
        assert.equal(e.message, `another voip-f2b-install run (install, pid ${other.pid}) is changing this host; nothing was changed`);
        return true;
      });
      assert.deepEqual(await snapshot(root), before, 'nothing changed, the other run\'s lock kept');
    }
    const dry = await install(opts({ maxretry: 3, dryRun: true }), testContext(root));
    assert.equal(dry.nothingToDo, false, 'a dry run plans while another run holds the lock');
  } finally {
    other.kill();
    await removeRoot(root);
  }
});

test('a lock left by a run that no longer exists is taken over; a completed run leaves none', async () => {
  const root = await hostWithRun();
  try {
    const gone = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    await writeFile(path.join(root, RUN_LOCK), `${gone} 12345 install\n`, { mode: 0o600 });
    const r = await install(opts(), testContext(root));
    assert.equal(r.nothingToDo, false);
    assert.equal(await readFile(path.join(root, RUN_LOCK), 'utf8').catch(() => null), null, 'released');
    // A pid reused by another process (its start time differs): the lock's run is gone.
    await writeFile(path.join(root, RUN_LOCK), lockOf(process.pid, 'install', '1'), { mode: 0o600 });
    await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(await readFile(path.join(root, RUN_LOCK), 'utf8').catch(() => null), null, 'released');
    assert.deepEqual(readdirSync(path.join(root, 'run')), [], 'nothing left aside');
  } finally {
    await removeRoot(root);
  }
});

test('two runs taking over one dead run\'s lock: the second moves the first one\'s fresh lock aside, sees it live, puts it back and is refused', async () => {
  const root = await hostWithRun();
  const first = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await writeFile(path.join(root, RUN_LOCK), '999999 12345 install\n', { mode: 0o600 });
    const ctx = testContext(root);
    const rename = ctx.fs.rename.bind(ctx.fs);
    // The first run takes the dead run's lock over between this run's read and its move.
    ctx.fs.rename = async (from: string, to: string) => {
      if (from === RUN_LOCK) {
        await rename(RUN_LOCK, `${RUN_LOCK}.stale.${first.pid}`);
        await writeFile(path.join(root, RUN_LOCK), lockOf(first.pid!, 'install'), { mode: 0o600 });
      }
      return rename(from, to);
    };
    await assert.rejects(install(opts(), ctx), (e: unknown) => e instanceof BusyError && e.message.includes(`pid ${first.pid}`));
    assert.equal(await readFile(path.join(root, RUN_LOCK), 'utf8'), lockOf(first.pid!, 'install'), "the first run's lock is back in place");
  } finally {
    first.kill();
    await removeRoot(root);
  }
});
