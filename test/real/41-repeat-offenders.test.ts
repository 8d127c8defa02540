/**
 * Repeat offenders, with a real private fail2ban-server (no firewall, no host state): the
 * [DEFAULT] keys are the ones the planner writes (repeatOffenderKeys, fail2ban 1.0.2 as on
 * Debian 12), the jails are the installer's Asterisk and FreeSWITCH jails (count=once). Only
 * the durations are shortened (bantime 3 s, bantime.maxtime 10 s) so bans expire within the test.
 * Proven: the second offence bans longer (6 s, twice), in ANOTHER jail (counted across jails),
 * the third is capped at bantime.maxtime (10 s, not 12 s), and a whitelisted address is never
 * banned however many failures it has.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startPrivateFail2ban, waitFor, asteriskStamp, freeswitchStamp, type PrivateFail2ban } from '../helpers/private-fail2ban.ts';
import { repeatOffenderKeys } from '../../src/core/repeat-offenders.ts';
import { installOptions } from '../helpers/options.ts';

const OFFENDER = '198.51.100.77';
const FRIEND = '198.51.100.200';

const securityFailure = (ip: string) =>
  `[${asteriskStamp()}] SECURITY[2418] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="${new Date().toISOString()}",Severity="Error",Service="SIP",EventVersion="2",AccountID="1000",SessionID="0x7f0000001000",LocalAddress="IPV4/UDP/192.0.2.10/5060",RemoteAddress="IPV4/UDP/${ip}/5060",Challenge="1",ReceivedChallenge="1",ReceivedHash="2"`;
const fsFailure = (ip: string) =>
  `${freeswitchStamp()} [WARNING] sofia_reg.c:1842 SIP auth failure (REGISTER) on sofia profile 'internal' for [1000@192.0.2.10] from ip ${ip}`;

describe('repeat offenders: bantime.increment as the installer writes it, real fail2ban', () => {
  let f2b: PrivateFail2ban;
  const keys = repeatOffenderKeys(installOptions({ bantimeMax: '10' }), '1.0.2', undefined);

  before(async () => {
    assert.deepEqual(keys.defaults.map(([k]) => k), ['bantime.increment', 'bantime.maxtime', 'bantime.overalljails']);
    const jail = [
      '[DEFAULT]',
      `ignoreip = 127.0.0.1/8 ::1 ${FRIEND}`,
      'bantime = 3',
      'findtime = 10m',
      'maxretry = 2',
      ...keys.defaults.map(([k, v]) => `${k} = ${v}`),
      '',
      '[voip-asterisk]',
      'enabled = true',
      'filter = voip-asterisk[count=once]',
      'logpath = %(dir)s/messages',
      '          %(dir)s/security',
      '',
      '[voip-freeswitch]',
      'enabled = true',
      'filter = voip-freeswitch[count=once]',
      'logpath = %(dir)s/freeswitch.log',
      '',
    ].join('\n');
    f2b = await startPrivateFail2ban('h8c-repeat', jail, ['messages', 'security', 'freeswitch.log']);
  });
  after(async () => {
    await f2b?.stop();
  });

  async function offend(jail: 'voip-asterisk' | 'voip-freeswitch'): Promise<number> {
    if (jail === 'voip-asterisk') f2b.append('security', [securityFailure(OFFENDER), securityFailure(OFFENDER)]);
    else f2b.append('freeswitch.log', [fsFailure(OFFENDER), fsFailure(OFFENDER)]);
    const seconds = await waitFor(`${OFFENDER} banned in ${jail}`, () => f2b.banTimes(jail).get(OFFENDER));
    const t0 = Date.now();
    await waitFor(`${OFFENDER}'s ban in ${jail} to expire`, () => (f2b.status(jail).banned.includes(OFFENDER) ? undefined : true), 60000);
    console.log(`${jail}: banned for ${seconds} s (lifted after ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return seconds;
  }

  it('a second offence bans twice as long, counted across jails; a third is capped at bantime.maxtime', async () => {
    const first = await offend('voip-asterisk');
    const second = await offend('voip-freeswitch');
    const third = await offend('voip-asterisk');
    assert.equal(first, 3, 'first ban: bantime');
    assert.equal(second, 6, 'second ban (in the other jail): twice as long');
    assert.equal(third, 10, 'third ban: 12 s capped at bantime.maxtime 10 s');
  });

  it('the whitelist wins: an ignored address is never banned, however often it fails', async () => {
    const before = f2b.status('voip-asterisk').totalFailed + f2b.status('voip-freeswitch').totalFailed;
    for (let i = 0; i < 5; i++) {
      f2b.append('security', [securityFailure(FRIEND), securityFailure(FRIEND)]);
      f2b.append('freeswitch.log', [fsFailure(FRIEND), fsFailure(FRIEND)]);
    }
    // sync: one failure from another address in each log, after the friend's lines
    f2b.append('security', [securityFailure('203.0.113.90')]);
    f2b.append('freeswitch.log', [fsFailure('203.0.113.91')]);
    const total = await waitFor('the sync lines', () => {
      const t = f2b.status('voip-asterisk').totalFailed + f2b.status('voip-freeswitch').totalFailed;
      return t >= before + 2 ? t : undefined;
    });
    assert.equal(total, before + 2, 'the whitelisted address is not even counted');
    for (const jail of ['voip-asterisk', 'voip-freeswitch']) assert.ok(!f2b.status(jail).banned.includes(FRIEND), `${FRIEND} banned in ${jail}`);
  });
});
