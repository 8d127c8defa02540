/**
 * The web view's snapshot of fail2ban (src/commands/web.ts, fail2banSource) against a stand-in
 * fail2ban socket under a temp root: fresh for `cacheSeconds`; then answered at once while one
 * refresh runs in the background; a change drops it, the next answer waits for a refresh and
 * shows the change, and a refresh begun before the change is not kept. The figures behind it are
 * in docs/BENCHMARKS.md, section 9.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fail2banSource } from '../../src/commands/web.ts';
import { recordingRunner, removeRoot, tempRoot, testContext } from '../helpers/context.ts';
import { fakeFail2banSocket, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';
import { waitFor } from '../helpers/system.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('snapshot: fresh, then stale answered at once with one background refresh; a change waits and wins over an older refresh', async () => {
  const root = await tempRoot({ '/etc/fail2ban/fail2ban.local': '[Definition]\nsocket = /run/t.sock\ndbfile = :memory:\n' });
  let banned: string[] = ['203.0.113.1'];
  let batches = 0;
  /** Held jail batches (their state taken when they start): released by the test, in its order. */
  const held: Array<() => void> = [];
  let hold = false;
  /** The bans each connection's jail batch saw when it started. */
  const seen = new Map<number, string[]>();
  const answer = async (c: string[], conn: number): Promise<[number, FakeValue]> => {
    if (c[0] === 'version') {
      batches++;
      return [0, '1.0.2'];
    }
    if (c[0] === 'status' && c.length === 1) return [0, [['Number of jail', 1], ['Jail list', 'j']]];
    if (c[0] === 'status') {
      batches++;
      seen.set(conn, [...banned]);
      if (hold) await new Promise<void>((r) => held.push(r));
      return [0, [['Filter', []], ['Actions', [['Currently banned', seen.get(conn)!.length]]]]];
    }
    if (c[2] === 'banip' && c[3] === '--with-time') return [0, seen.get(conn)!.map((ip) => `${ip} \t2026-11-22 11:00:00 + 3600 = 2026-11-22 12:00:00`)];
    if (c[0] === 'set' && c[2] === 'unbanip') {
      banned = banned.filter((x) => x !== c[3]);
      return [0, 1];
    }
    return [0, null];
  };
  const f2b = await fakeFail2banSocket(root, answer, '/run/t.sock');
  const run = recordingRunner();
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
    // (waited for, bounded: a loaded machine may take longer than a fixed 50 ms for these round trips)
    assert.ok(await waitFor(() => batches >= 4 && held.length >= 1, 5000), `the background refresh ran: ${batches} batches`);
    await sleep(50); // and no second one
    assert.equal(batches, 4, 'one background refresh (2 batches) for two views');
    assert.equal(held.length, 1);

    // 3. A change while that refresh runs: the snapshot is dropped; the next view waits for a
    // refresh of its own. The older refresh (two bans, from before the change) ends last and
    // must not replace it.
    assert.equal((await source.unban('j', '203.0.113.2')).ok, true);
    const after = ips();
    assert.ok(await waitFor(() => held.length >= 2, 5000), 'the view after the change started its own refresh');
    await sleep(50);
    assert.equal(held.length, 2);
    const [older, newer] = [held.shift()!, held.shift()!];
    hold = false;
    newer();
    assert.deepEqual(await after, ['203.0.113.1'], 'the view after the change shows it');
    older();
    await sleep(50);
    assert.deepEqual(await ips(), ['203.0.113.1'], 'the refresh from before the change was not kept');
    // Everything went over the socket: no process was run (no Python, no fail2ban-client).
    assert.deepEqual(run.lines(), []);
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});
