/**
 * fail2ban's socket spoken from Node (src/adapters/fail2ban-socket.ts, the strict decoder of
 * src/core/pickle.ts) against a real, private fail2ban-server (no host state): its answers are
 * the ones `fail2ban-client` prints for the same commands, an error is fail2ban's own exception
 * as data, a ban made over it is in fail2ban's record, and an argument holding fail2ban's end
 * marker is refused before it is sent (the server would read its rest as another command).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { askFail2ban, jailsOfStatus } from '../../src/adapters/fail2ban-socket.ts';
import { PickledException } from '../../src/core/pickle.ts';
import { startPrivateFail2ban, type PrivateFail2ban } from '../helpers/private-fail2ban.ts';

let f2b: PrivateFail2ban;
let sock: string;

before(async () => {
  f2b = await startPrivateFail2ban(
    'socket',
    '[voip-asterisk]\nenabled = true\nfilter = voip-asterisk\nlogpath = %(dir)s/messages\nmaxretry = 2\n\n[voip-freeswitch]\nenabled = true\nfilter = voip-freeswitch\nlogpath = %(dir)s/freeswitch.log\n',
    ['messages', 'freeswitch.log'],
  );
  sock = join(f2b.dir, 'f2b.sock');
});
after(async () => {
  await f2b?.stop();
});

test('ping, status and a jail status over the socket are what fail2ban-client prints', async () => {
  const [ping, status, jail] = await askFail2ban(sock, [['ping'], ['status'], ['status', 'voip-asterisk']]);
  assert.deepEqual(ping, { ok: true, value: 'pong' });
  assert.equal(status!.ok, true);
  assert.deepEqual(jailsOfStatus(status!.value), ['voip-asterisk', 'voip-freeswitch']);
  const printed = f2b.client(['status']).stdout;
  assert.match(printed, /Jail list:\s*voip-asterisk, voip-freeswitch/);
  assert.equal(jail!.ok, true);
  assert.match(JSON.stringify(jail!.value), /"Currently failed",0/);
});

test("an unknown jail is fail2ban's UnknownJailException, as data; the connection still answers after it", async () => {
  const [bad, ping] = await askFail2ban(sock, [['status', 'no-such-jail'], ['ping']]);
  assert.equal(bad!.ok, false);
  assert.ok(bad!.value instanceof PickledException);
  assert.equal((bad!.value as PickledException).exception, 'UnknownJailException');
  assert.deepEqual(ping, { ok: true, value: 'pong' });
});

test("a ban over the socket is in fail2ban's record", async () => {
  const [ban, ping] = await askFail2ban(sock, [['set', 'voip-freeswitch', 'banip', '203.0.113.41'], ['ping']]);
  assert.equal(ban!.ok, true);
  assert.deepEqual(ping, { ok: true, value: 'pong' });
  assert.ok(f2b.status('voip-freeswitch').banned.includes('203.0.113.41'));
});

test("fail2ban's server splits commands at its end marker (so fail2ban-client can't send one): we refuse to", async () => {
  // What the server does with a marker inside an argument: the command is cut there.
  const r = f2b.client(['set', 'voip-freeswitch', 'addfailregex', 'x<F2B_END_COMMAND> from <HOST>$']);
  assert.notEqual(r.status, 0);
  // Ours never sends it: the rest of the argument would be read as a command of its own.
  await assert.rejects(askFail2ban(sock, [['set', 'voip-freeswitch', 'addfailregex', 'x<F2B_END_COMMAND> from <HOST>$']]), /end marker/);
  assert.deepEqual((await askFail2ban(sock, [['ping']]))[0], { ok: true, value: 'pong' });
});

test('no socket: a clear error, not a hang', async () => {
  await assert.rejects(askFail2ban(join(f2b.dir, 'missing.sock'), [['ping']], 2000), /ENOENT/);
});
