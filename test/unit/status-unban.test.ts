import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status, parseJailStatus } from '../../src/commands/status.ts';
import { unban } from '../../src/commands/unban.ts';
import { CommandFailedError, UsageError } from '../../src/errors.ts';
import { recordingRunner, testContext } from '../helpers/context.ts';

const JAIL = `Status for the jail: voip-asterisk
|- Filter
|  |- Currently failed:\t2
|  |- Total failed:\t17
|  \`- File list:\t/var/log/asterisk/messages /var/log/asterisk/security
\`- Actions
   |- Currently banned:\t2
   |- Total banned:\t5
   \`- Banned IP list:\t192.0.2.66 2001:db8::66
`;

test('parses fail2ban-client status <jail>', () => {
  assert.deepEqual(parseJailStatus('voip-asterisk', JAIL), {
    jail: 'voip-asterisk',
    currentlyFailed: 2,
    totalFailed: 17,
    currentlyBanned: 2,
    totalBanned: 5,
    bannedIps: ['192.0.2.66', '2001:db8::66'],
    files: ['/var/log/asterisk/messages', '/var/log/asterisk/security'],
  });
});

test('status asks for the jail list, then each jail', async () => {
  const run = recordingRunner((c) =>
    c.args.length === 1 ? { stdout: 'Status\n|- Number of jail:\t2\n`- Jail list:\tsshd, voip-asterisk\n' } : { stdout: JAIL.replace('voip-asterisk', c.args[1]!) },
  );
  const r = await status({}, testContext('/', { run, live: true }));
  assert.deepEqual(run.lines(), ['fail2ban-client status', 'fail2ban-client status sshd', 'fail2ban-client status voip-asterisk']);
  assert.deepEqual(r.jails.map((j) => j.jail), ['sshd', 'voip-asterisk']);
});

test('status when fail2ban is not running is a clear failure', async () => {
  const run = recordingRunner(() => ({ exitCode: 255, stderr: 'ERROR   Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?\n' }));
  await assert.rejects(status({}, testContext('/', { run, live: true })), (e: unknown) => e instanceof CommandFailedError && /fail2ban is not running/.test(e.message));
});

test('unban in one jail or in all; bad input is exit 2 and runs nothing', async () => {
  const run = recordingRunner(() => ({ stdout: '1\n' }));
  const ctx = testContext('/', { run, live: true });
  assert.deepEqual(await unban({ ip: '192.0.2.66' }, ctx), { command: 'unban', ip: '192.0.2.66', jail: null, unbanned: true });
  assert.equal((await unban({ ip: '2001:db8::66', jail: 'voip-asterisk' }, ctx)).unbanned, true);
  assert.deepEqual(run.lines(), ['fail2ban-client unban 192.0.2.66', 'fail2ban-client set voip-asterisk unbanip 2001:db8::66']);
  for (const bad of ['192.0.2.300', '$(id)', '192.0.2.1;reboot']) {
    await assert.rejects(unban({ ip: bad }, ctx), (e: unknown) => e instanceof UsageError && e.message.includes(`'${bad}'`));
  }
  await assert.rejects(unban({ ip: '192.0.2.1', jail: 'x;id' }, ctx), (e: unknown) => e instanceof UsageError && /invalid jail name 'x;id'/.test(e.message));
  assert.equal(run.calls.length, 2);
});
