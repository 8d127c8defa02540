/**
 * status and unban over fail2ban's socket (src/adapters/fail2ban.ts), against a stand-in socket
 * under a temp root: what they ask, what they report, doctor's test bans left out, and fail2ban
 * not running under the root as a clear error. No fail2ban-client is run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { status, formatStatus } from '../../src/commands/status.ts';
import { unban } from '../../src/commands/unban.ts';
import { jailStatusOf, realInRoot, resolveInRoot } from '../../src/adapters/fail2ban.ts';
import { UnsafePathError, UsageError } from '../../src/errors.ts';
import { recordingRunner, removeRoot, tempRoot, testContext } from '../helpers/context.ts';
import { fakeFail2banSocket, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';

/** `status voip-asterisk` as fail2ban's server answers it (fail2ban-client prints it as a tree). */
const jailAnswer = (banned: string[]): FakeValue => [
  ['Filter', [['Currently failed', 2], ['Total failed', 17], ['File list', ['/var/log/asterisk/messages', '/var/log/asterisk/security']]]],
  ['Actions', [['Currently banned', banned.length], ['Total banned', 5], ['Banned IP list', banned]]],
];
const LIST: FakeValue = [['Number of jail', 2], ['Jail list', 'sshd, voip-asterisk']];

test("reads a jail's status answer", () => {
  assert.deepEqual(jailStatusOf('voip-asterisk', jailAnswer(['192.0.2.66', '2001:db8::66']) as never), {
    jail: 'voip-asterisk',
    currentlyFailed: 2,
    totalFailed: 17,
    currentlyBanned: 2,
    totalBanned: 5,
    bannedIps: ['192.0.2.66', '2001:db8::66'],
    files: ['/var/log/asterisk/messages', '/var/log/asterisk/security'],
  });
});

test("status asks the root's socket for the jail list, then each jail; runs no process", async () => {
  const root = await tempRoot();
  const f2b = await fakeFail2banSocket(root, (c) => (c.length === 1 ? [0, LIST] : [0, jailAnswer(['192.0.2.66'])]));
  try {
    const run = recordingRunner();
    const r = await status({}, testContext(root, { run }));
    assert.deepEqual(f2b.commands, ['status', 'status sshd', 'status voip-asterisk']);
    assert.deepEqual(r.jails.map((j) => j.jail), ['sshd', 'voip-asterisk']);
    assert.deepEqual(run.lines(), []);
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});

test("doctor's test bans are never counted nor listed in status", async () => {
  const root = await tempRoot();
  const f2b = await fakeFail2banSocket(root, () => [0, jailAnswer(['198.51.100.9', '203.0.113.254', '203.0.113.251'])]);
  try {
    const r = await status({ jail: 'voip-asterisk' }, testContext(root));
    assert.deepEqual(r.jails[0]!.bannedIps, ['198.51.100.9']);
    assert.equal(r.jails[0]!.currentlyBanned, 1);
    assert.doesNotMatch(formatStatus(r), /203\.0\.113\.25/);
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});

test("the socket is the one fail2ban's configuration names, resolved inside the root (a /var/run -> /run link stays in the root)", async () => {
  const root = await tempRoot({ '/etc/fail2ban/fail2ban.local': '[Definition]\nsocket = /var/run/f2b/f2b.sock\n' });
  mkdirSync(path.join(root, 'run'));
  mkdirSync(path.join(root, 'var'));
  symlinkSync('/run', path.join(root, 'var/run'));
  const f2b = await fakeFail2banSocket(root, () => [0, LIST], '/run/f2b/f2b.sock');
  try {
    assert.equal(resolveInRoot(root, '/var/run/f2b/f2b.sock')?.real, path.join(root, 'run/f2b/f2b.sock'));
    const r = await status({ jail: 'sshd' }, testContext(root));
    assert.equal(r.jails[0]!.jail, 'sshd');
    assert.deepEqual(f2b.commands, ['status sshd']);
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});

test('fail2ban not running under the root is a clear failure naming the root; nothing is run', async () => {
  const root = await tempRoot();
  try {
    const run = recordingRunner();
    await assert.rejects(status({}, testContext(root, { run })), (e: unknown) => e instanceof Error && e.message === `fail2ban is not running under this root (${root}): no socket at /var/run/fail2ban/fail2ban.sock`);
    await assert.rejects(unban({ ip: '198.51.100.9' }, testContext(root, { run })), /fail2ban is not running under this root/);
    assert.deepEqual(run.lines(), []);
  } finally {
    await removeRoot(root);
  }
});

test('a socket in a directory others can write is refused', async () => {
  const root = await tempRoot();
  const f2b = await fakeFail2banSocket(root, () => [0, LIST]);
  try {
    chmodSync(path.join(root, 'var/run/fail2ban'), 0o777);
    await assert.rejects(status({}, testContext(root)), (e: unknown) => e instanceof UnsafePathError && /others can write it/.test(e.message));
    assert.deepEqual(f2b.commands, []);
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});

test('unban in one jail or in all; bad input is exit 2 and asks nothing', async () => {
  const root = await tempRoot();
  const f2b = await fakeFail2banSocket(root, (c) => [0, c[0] === 'unban' ? 2 : 0]);
  try {
    const ctx = testContext(root);
    assert.deepEqual(await unban({ ip: '192.0.2.66' }, ctx), { command: 'unban', ip: '192.0.2.66', jail: null, unbanned: true });
    assert.equal((await unban({ ip: '2001:db8::66', jail: 'voip-asterisk' }, ctx)).unbanned, false);
    assert.deepEqual(f2b.commands, ['unban 192.0.2.66', 'set voip-asterisk unbanip 2001:db8::66']);
    for (const bad of ['192.0.2.300', '$(id)', '192.0.2.1;reboot']) {
      await assert.rejects(unban({ ip: bad }, ctx), (e: unknown) => e instanceof UsageError && e.message.includes(`'${bad}'`));
    }
    await assert.rejects(unban({ ip: '192.0.2.1', jail: 'x;id' }, ctx), (e: unknown) => e instanceof UsageError && /invalid jail name 'x;id'/.test(e.message));
    assert.equal(f2b.commands.length, 2);
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});

test("the socket path handed to fail2ban's own tools never leads out of the root, even when the socket is missing", async () => {
  const root = await tempRoot();
  try {
    mkdirSync(path.join(root, 'var'));
    symlinkSync('/run', path.join(root, 'var/run'));
    // The tree's /var/run is its /run: `<root>/var/run/…` handed to the kernel would be the host's /run.
    assert.equal(realInRoot(root, '/var/run/fail2ban/fail2ban.sock'), path.join(root, 'run/fail2ban/fail2ban.sock'));
    mkdirSync(path.join(root, 'run/fail2ban'), { recursive: true });
    assert.equal(realInRoot(root, '/var/run/fail2ban/fail2ban.sock'), path.join(root, 'run/fail2ban/fail2ban.sock'));
    symlinkSync('../../..', path.join(root, 'run/fail2ban/up'));
    // A link climbing above the root stops at the root, as in a chroot.
    assert.equal(realInRoot(root, '/var/run/fail2ban/up/etc/passwd'), path.join(root, 'etc/passwd'));
  } finally {
    await removeRoot(root);
  }
});

test('status --root with a fleet link: its state from the root\'s files; the pusher is never run (it asks the LAPI and its spool names the host\'s /var/lib)', async () => {
  const { fleetStatus } = await import('../../src/adapters/fleet-status.ts');
  const root = await tempRoot({
    '/etc/voip-f2b-install/crowdsec.json': JSON.stringify({ url: 'https://127.0.0.1:8080/', login: 'pbx1', password: 'secret', spool: '/var/lib/voip-f2b-install/crowdsec' }),
    '/usr/local/sbin/voip-f2b-crowdsec': '#!/bin/sh\nexit 0\n',
    '/var/lib/voip-f2b-install/crowdsec/state.json': JSON.stringify({ lastPushAt: 1765000000, lastError: null }),
    '/var/lib/voip-f2b-install/crowdsec/queue/1.json': '{}',
    '/var/lib/voip-f2b-install/crowdsec/queue/2.json': '{}',
  });
  try {
    const run = recordingRunner();
    const f = await fleetStatus(testContext(root, { run }));
    assert.deepEqual(run.lines(), [], 'no process');
    assert.equal(f?.lapi, 'https://127.0.0.1:8080/');
    assert.equal(f?.machine, 'pbx1');
    assert.equal(f?.queued, 2);
    assert.equal(f?.lastPushAt, 1765000000);
    assert.equal(f?.reachable, false);
    assert.match(f?.error ?? '', /not asked under --root/);
    assert.equal(f?.bouncer, 'unknown');
  } finally {
    await removeRoot(root);
  }
});
