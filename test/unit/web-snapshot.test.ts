/**
 * The web view's snapshot of fail2ban (src/commands/web.ts, fail2banSource) with a recording
 * runner playing the Python batch: fresh for `cacheSeconds`; then answered at once while one
 * refresh runs in the background; a change drops it, the next answer waits for a refresh and
 * shows the change, and a refresh begun before the change is not kept. The figures behind it are
 * in docs/BENCHMARKS.md, section 9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail2banSource } from '../../src/commands/web.ts';
import type { Command, RunResult } from '../../src/adapters/runner.ts';
import { removeRoot, tempRoot, testContext } from '../helpers/context.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('snapshot: fresh, then stale answered at once with one background refresh; a change waits and wins over an older refresh', async () => {
  const root = await tempRoot({ '/etc/fail2ban/fail2ban.local': '[Definition]\nsocket = /run/t.sock\ndbfile = :memory:\n' });
  let banned: string[] = ['203.0.113.1'];
  let batches = 0;
  /** Held jail batches (their answers taken when they start): released by the test, in its order. */
  const held: Array<() => void> = [];
  let hold = false;
  const answer = (c: string[]): unknown => {
    if (c[0] === 'version') return '1.0.2';
    if (c[0] === 'status' && c.length === 1) return [['Number of jail', 1], ['Jail list', 'j']];
    if (c[0] === 'status') return [['Filter', []], ['Actions', [['Currently banned', banned.length]]]];
    if (c[2] === 'banip' && c[3] === '--with-time') return banned.map((ip) => `${ip} \t2026-11-22 11:00:00 + 3600 = 2026-11-22 12:00:00`);
    if (c[0] === 'set' && c[2] === 'unbanip') {
      banned = banned.filter((x) => x !== c[3]);
      return 1;
    }
    return null;
  };
  const run = async (c: Command): Promise<RunResult> => {
    const req = JSON.parse(c.input ?? '{}') as { commands: string[][] };
    const isChange = req.commands.some((x) => x[0] === 'set');
    if (!isChange) batches++;
    const stdout = JSON.stringify({ answers: req.commands.map((x) => ({ ok: true, value: answer(x) })), db: null, error: null, dbError: null });
    if (hold && req.commands.some((x) => x[2] === 'banip')) await new Promise<void>((r) => held.push(r));
    return { exitCode: 0, stderr: '', stdout };
  };
  const ctx = testContext(root, { run });
  const source = fail2banSource(ctx, { cacheSeconds: 0.2 });
  const ips = async (): Promise<string[]> => (await source.bans()).bans.map((b) => b.ip);
  try {
    // 1. First view: waits for a snapshot (2 batches: version/status, then the jail's commands).
    assert.deepEqual(await ips(), ['203.0.113.1']);
    assert.equal(batches, 2);
    await ips();
    assert.equal(batches, 2, 'fresh: no batch');

    // 2. Stale: answered at once from the old snapshot while one refresh runs (its jail batch,
    // which sees two bans, is held here).
    await sleep(250);
    hold = true;
    banned = ['203.0.113.1', '203.0.113.2'];
    assert.deepEqual(await ips(), ['203.0.113.1'], 'the stale snapshot, at once');
    assert.deepEqual(await ips(), ['203.0.113.1']);
    await sleep(20);
    assert.equal(batches, 4, 'one background refresh (2 batches) for two views');
    assert.equal(held.length, 1);

    // 3. A change while that refresh runs: the snapshot is dropped; the next view waits for a
    // refresh of its own. The older refresh (two bans, from before the change) ends last and
    // must not replace it.
    assert.equal((await source.unban('j', '203.0.113.2')).ok, true);
    const after = ips();
    await sleep(20);
    assert.equal(held.length, 2, 'the view after the change started its own refresh');
    const [older, newer] = [held.shift()!, held.shift()!];
    hold = false;
    newer();
    assert.deepEqual(await after, ['203.0.113.1'], 'the view after the change shows it');
    older();
    await sleep(20);
    assert.deepEqual(await ips(), ['203.0.113.1'], 'the refresh from before the change was not kept');
  } finally {
    await removeRoot(root);
  }
});
