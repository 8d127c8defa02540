/**
 * Ban targets are 203.0.113.0/24 (documentation range; never this machine's network), and
 * none of them is the whitelisted 203.0.113.7.
 *
 * Mail alerts for real: postfix from Debian installed by the tool with no dialog, started
 * without systemd; a real ban (failure lines appended to the Asterisk log → our filter → ban)
 * puts a mail with those lines in root's local mailbox; a burst of bans does not become a burst
 * of mail. Nothing leaves the machine: the address is root@localhost (local delivery).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { runCli } from '../helpers/cli.ts';
import { asFound, mailbox, postfixPid, ROOT_MBOX as MBOX } from '../helpers/mailbox.ts';
import { assertRealHost, dpkgInstalled, fail2banPid, sh, stopFail2ban, waitForValue as waitFor } from '../helpers/system.ts';

// --no-watch: not this test's subject (55-watch's); the watch would bring cron, which this host may not have.
const ARGS = ['--services', 'asterisk', '--whitelist', '203.0.113.7', '--email', 'root@localhost', '--mail-interval', '300', '--no-protect-admin', '--yes', '--no-watch'];

/** root's mailbox from where it stood at setup; put back as found at the end. */
const box = mailbox(MBOX);
const mails = box.mails;
const restoreMbox = asFound(MBOX);

after(async () => {
  runCli(['uninstall']);
  await stopFail2ban();
  // uninstall keeps a log that was written to; the test made this one (setup removed any before)
  rmSync('/var/log/asterisk', { recursive: true, force: true });
  const pid = postfixPid();
  await restoreMbox();
  if (pid) process.kill(pid, 'SIGTERM');
});

test('setup: no postfix, an empty mailbox, no earlier state', async () => {
  assertRealHost();
  await stopFail2ban();
  const pid = postfixPid();
  if (pid) process.kill(pid, 'SIGTERM');
  sh('apt-get', ['-q', '-y', 'purge', 'postfix'], { check: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  box.mark();
  rmSync('/var/lib/fail2ban/voip-f2b-mail', { recursive: true, force: true });
  rmSync('/var/lib/fail2ban/fail2ban.sqlite3', { force: true }); // no bans restored from earlier tests
  rmSync('/var/log/asterisk', { recursive: true, force: true });
  if (existsSync('/var/backups/voip-f2b-install/manifest.json')) runCli(['uninstall']);
  assert.equal(dpkgInstalled('postfix'), false);
});

test('--email installs postfix without any dialog, starts it, and a test mail arrives', async () => {
  const r = runCli([...ARGS, '--json'], { timeoutMs: 300000 });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.packagesInstalled.includes('postfix'));
  assert.ok(report.services.includes('mail (test mail to root@localhost)'), 'the test mail was accepted');
  assert.ok(postfixPid(), 'postfix runs');
  assert.equal(sh('postconf', ['-h', 'mydestination']).status, 0);
  await waitFor('the test mail', () => mails().find((m) => /voip-f2b-install: test alert/.test(m)));
});

test('a real ban from Asterisk log lines mails those lines', async () => {
  const now = new Date();
  const ts = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')} ${now.toTimeString().slice(0, 8)}`;
  // Each wrong password is what chan_sip writes for it: a line in the messages log and its
  // InvalidPassword event in the security log (the jail counts it once, from the security log).
  const lines = Array.from({ length: 6 }, (_, i) => `[${ts}] NOTICE[31${i}] chan_sip.c: Registration from '"10${i}" <sip:10${i}@192.0.2.1>' failed for '203.0.113.51:5060' - Wrong password\n`).join('');
  const events = Array.from(
    { length: 6 },
    (_, i) =>
      `[${ts}] SECURITY[32${i}] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="${now.toISOString()}",Severity="Error",Service="SIP",EventVersion="2",AccountID="10${i}",SessionID="0x7f000000${i}",LocalAddress="IPV4/UDP/192.0.2.1/5060",RemoteAddress="IPV4/UDP/203.0.113.51/5060",Challenge="5e1d2c3b",ReceivedChallenge="5e1d2c3b",ReceivedHash="7a6a3a2e95a05260aee612896e1b4a39"\n`,
  ).join('');
  const [, log, securityLog] = readFileSync('/etc/fail2ban/jail.local', 'utf8').match(/^logpath = (\S+)\n\s+(\S+)/m)!;
  appendFileSync(log!, lines);
  appendFileSync(securityLog!, events);
  const mail = await waitFor('the ban mail', () => mails().find((m) => /Subject: \[Fail2Ban\] voip-asterisk: banned 203\.0\.113\.51/.test(m)));
  assert.match(mail, /Lines containing failures of 203\.0\.113\.51/);
  assert.match(mail, /failed for '203\.0\.113\.51:5060' - Wrong password/);
});

test('a burst of 30 bans is not a burst of mail: collected, then flushed in one mail at stop', async () => {
  const before = mails().length;
  for (let i = 0; i < 30; i++) sh('fail2ban-client', ['set', 'voip-asterisk', 'banip', `203.0.113.${i + 101}`], { check: true });
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal(mails().length, before, 'no mail within the interval');
  assert.ok(fail2banPid());
  await stopFail2ban(); // SIGTERM by PID: fail2ban stops its jails, running each actionstop
  const flushed = await waitFor('the pending-bans mail', () => mails().slice(before).find((m) => /pending bans/.test(m)));
  for (let i = 0; i < 30; i++) assert.ok(flushed.includes(`203.0.113.${i + 101} `), `203.0.113.${i + 101} listed`);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(mails().length, before + 1, 'exactly one mail for the whole burst');
});
