/**
 * The FreeSWITCH filter on lines a real FreeSWITCH 1.10.12 wrote under a real attack
 * (test/fixtures/logs/freeswitch-1.10.12-svcrack.log: svcrack, an unknown user, svwar; see its
 * header), through the real fail2ban-regex: ours counts every failed password once, with the
 * attacker's address; Debian 12's stock `freeswitch` filter (fail2ban 1.0.2) matches none of them,
 * because FreeSWITCH 1.10 writes the idle-CPU field ("98.13%") between the time and the level.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runFail2banRegex } from '../helpers/fail2ban-regex.ts';

const FIXTURE = new URL('../fixtures/logs/freeswitch-1.10.12-svcrack.log', import.meta.url);
const lines = readFileSync(FIXTURE, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
const failures = lines.filter((l) => l.includes('SIP auth failure'));
const unknown = lines.filter((l) => l.includes("Can't find user"));

describe('FreeSWITCH 1.10.12, real lines', () => {
  it('the fixture holds what the attack wrote: failures, challenges, an unknown user, continuation lines', () => {
    assert.equal(failures.length, 30);
    assert.ok(lines.filter((l) => l.includes('SIP auth challenge')).length >= 30);
    assert.equal(unknown.length, 1);
    assert.ok(failures.every((l) => / \d{1,3}\.\d{2}% \[WARNING\] sofia_reg\.c:1787 /.test(l)), 'the idle-CPU field is there');
  });

  it('ours, as the tool installs it (count=once): every failed password once, the attacker\'s address, nothing else', async () => {
    const r = await runFail2banRegex(lines, { filter: 'voip-freeswitch[count=once]' });
    const matched = r.filter((x) => x.matched);
    assert.deepEqual(matched.map((x) => x.line), failures);
    assert.ok(matched.every((x) => x.addresses.length >= 1 && x.addresses.every((a) => a === '203.0.113.2')), JSON.stringify(matched.map((x) => x.addresses)));
  });

  it('ours, count=lines: the unknown user\'s line too', async () => {
    const r = await runFail2banRegex(lines, { filter: 'voip-freeswitch' });
    assert.deepEqual(r.filter((x) => x.matched).map((x) => x.line), lines.filter((l) => failures.includes(l) || unknown.includes(l)));
  });

  it("Debian 12's stock freeswitch filter (fail2ban 1.0.2) matches none of them, in either mode", async () => {
    for (const filter of ['freeswitch', 'freeswitch[mode=normal]']) {
      const r = await runFail2banRegex(lines, { filter });
      assert.deepEqual(r.filter((x) => x.matched).map((x) => x.line), [], filter);
    }
  });
});
