// needs: registry
/**
 * The web view reads a service's log lines with the patterns its module declares (`webContext`):
 * the test-only Yate module (test/fixtures/services/yate.ts), once pushed into SERVICE_MODULES,
 * gets its user, User-Agent and kind of failure shown in the bans and the history, with no edit
 * outside its module and the registry. Its patterns are held to the same time bound as the
 * built-in ones (test/unit/linear-regex.test.ts).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';
import { contextPatterns, currentBans, history, voipContext, type DbBan } from '../../src/core/web-view.ts';
import { YATE_LINE, yate } from '../fixtures/services/yate.ts';

const now = 1_800_000_000;
const row: DbBan = ['voip-yate', '203.0.113.9', now - 60, 3600, 1, { matches: [YATE_LINE, YATE_LINE], failures: 2 }];

test('without the Yate module, its line shows no user and no User-Agent (nothing else knows its format)', () => {
  assert.ok(!SERVICE_MODULES.includes(yate));
  assert.deepEqual(voipContext([YATE_LINE]), { users: [], userAgents: [], kinds: ['auth failure'] });
});

test("registered, the Yate module's patterns give its user, User-Agent and kind in the bans and the history", () => {
  SERVICE_MODULES.push(yate);
  after(() => {
    SERVICE_MODULES.splice(SERVICE_MODULES.indexOf(yate), 1);
  });
  const [ban] = currentBans({ 'voip-yate': [{ ip: '203.0.113.9', bantime: 3600 }] }, [row], [row], now);
  assert.deepEqual(ban!.context, { users: ['alice'], userAgents: ['Zoiper rev.5'], kinds: ['wrong password'] });
  assert.deepEqual(history([row], now).topUsers, [{ user: 'alice', count: 1 }]);
  // The built-in services' lines read as before beside it.
  const c = voipContext([`Nov 29 17:33:03 pbx kamailio[1]: voip-f2b: auth failure src=203.0.113.70 user=bob rc=-3 ua=sipvicious`]);
  assert.deepEqual(c, { users: ['bob'], userAgents: ['sipvicious'], kinds: ['unknown user'] });
});

test("the Yate module's patterns stay linear on crafted 2 KB lines", () => {
  const p = contextPatterns([yate]);
  const res = [...p.users, ...p.userAgents, ...p.kinds.map(([re]) => re)];
  assert.equal(res.length, 3);
  const lines = [` user '${"'".repeat(2000)}`, ` agent '${'a'.repeat(2000)}`, ` auth failure from ${'x '.repeat(1000)}`, `${" user 'a".repeat(250)}`];
  for (const re of res) {
    for (const line of lines) {
      const t0 = performance.now();
      for (let i = 0; i < 100; i++) re.test(line);
      assert.ok(performance.now() - t0 < 200, `${re} took too long on ${line.slice(0, 40)}`);
    }
  }
});
