/**
 * doctor: the verdict logic and the parsers (pure), and the command over a temp root with a
 * recording runner playing fail2ban, fail2ban-regex and the firewall, for what a real host in CI
 * cannot show (a server that is down, a firewall tool that is missing, whitelisted test
 * addresses, a non-root user). The real thing is test/real/40-doctor.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import {
  adminCheck,
  asteriskLogChannels,
  asteriskSourceCheck,
  countAddresses,
  failureLikeLines,
  filterCheck,
  firewallHas,
  formatDoctor,
  formatDoctorCompact,
  isWhitelisted,
  jailVerdict,
  kamailioSourceCheck,
  logFileCheck,
  parseClientList,
  parseJailBackends,
  parseRegexSummary,
  pickTestAddress,
  reportVerdict,
  rsyslogTarget,
  wouldBan,
} from '../../src/core/doctor.ts';
import { doctor } from '../../src/commands/doctor.ts';
import { BEGIN_MARKER } from '../../src/core/editors/kamailio-cfg.ts';
import { UnsupportedError, UsageError } from '../../src/errors.ts';
import type { Command } from '../../src/adapters/runner.ts';
import { recordingRunner, removeRoot, tempRoot, testContext } from '../helpers/context.ts';

/** Real fail2ban-regex 1.0.2 output (--print-no-missed), regexes shortened. */
const SUMMARY = `
Running tests
=============

Use   failregex filter file : voip-asterisk, basedir: conf
Use         log file : a.log


Results
=======

Failregex: 12 total
|-  #) [# of hits] regular expression
|   1) [10] ^Registration from '.*' failed for '<ADDR>(?::\\d+)?' - Wrong password$
|   3) [2] ^(?:Host )?<ADDR> failed to authenticate\\b
\`-

Ignoreregex: 0 total

Date template hits:
|- [# of hits] date format
|  [38] {^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day
|  [2] {^LN-BEG}(?:DAY )?MON Day %k:Minute:Second
\`-

Lines: 41 lines, 0 ignored, 12 matched, 29 missed
[processed in 0.01 sec]
`;

test('parses the fail2ban-regex summary: lines, matches per regex, date hits', () => {
  assert.deepEqual(parseRegexSummary(SUMMARY), {
    lines: 41,
    ignored: 0,
    matched: 12,
    missed: 29,
    dateHits: 40,
    regexes: [
      { regex: "^Registration from '.*' failed for '<ADDR>(?::\\d+)?' - Wrong password$", count: 10 },
      { regex: '^(?:Host )?<ADDR> failed to authenticate\\b', count: 2 },
    ],
  });
  const none = parseRegexSummary('Failregex: 0 total\n\nIgnoreregex: 0 total\n\nDate template hits:\n|- [# of hits] date format\n`-\n\nLines: 3 lines, 0 ignored, 0 matched, 3 missed\n');
  assert.deepEqual(none, { lines: 3, ignored: 0, matched: 0, missed: 3, dateHits: 0, regexes: [] });
  assert.equal(parseRegexSummary('ERROR: No failure-id group'), null);
});

test('parses fail2ban-client lists (log files, ignoreip, actions)', () => {
  assert.deepEqual(parseClientList('Current monitored log file(s):\n|- /var/log/asterisk/messages\n`- /var/log/asterisk/security\n'), ['/var/log/asterisk/messages', '/var/log/asterisk/security']);
  assert.deepEqual(parseClientList('These IP addresses/networks are ignored:\n|- 127.0.0.0/8\n|- ::1\n`- 203.0.113.7\n'), ['127.0.0.0/8', '::1', '203.0.113.7']);
  assert.deepEqual(parseClientList('The jail voip-asterisk has the following actions:\niptables-allports, voip-f2b-mail\n'), ['iptables-allports', 'voip-f2b-mail']);
  assert.deepEqual(parseClientList('No file is currently monitored\n'), []);
});

test('whitelist matching: addresses, CIDR of both families; names never match', () => {
  const list = ['127.0.0.1/8', '::1', '203.0.113.0/25', '2001:db8::/32', 'pbx.example.com'];
  assert.equal(isWhitelisted('127.0.0.9', list), true);
  assert.equal(isWhitelisted('203.0.113.100', list), true);
  assert.equal(isWhitelisted('203.0.113.200', list), false);
  assert.equal(isWhitelisted('2001:db8::5', list), true);
  assert.equal(isWhitelisted('198.51.100.1', list), false);
  assert.equal(isWhitelisted('not-an-ip', list), false);
  assert.equal(pickTestAddress(list), '203.0.113.254');
  assert.equal(pickTestAddress(['203.0.113.254', '203.0.113.253']), '203.0.113.252');
  assert.equal(pickTestAddress(['203.0.113.0/24']), null);
  assert.deepEqual(
    wouldBan(new Map([['198.51.100.9', 7], ['203.0.113.60', 5], ['198.51.100.10', 2]]), 5, ['203.0.113.0/25']),
    [
      { ip: '198.51.100.9', failures: 7, whitelisted: false },
      { ip: '203.0.113.60', failures: 5, whitelisted: true },
    ],
  );
  assert.deepEqual([...countAddresses('198.51.100.9\n198.51.100.9\n2001:db8::1\nnoise\n')], [['198.51.100.9', 2], ['2001:db8::1', 1]]);
});

test('firewallHas finds the whole address only', () => {
  assert.equal(firewallHas('-A f2b-voip -s 203.0.113.254/32 -j REJECT', '203.0.113.254'), true);
  assert.equal(firewallHas('\t\tip saddr 203.0.113.254 counter reject', '203.0.113.254'), true);
  assert.equal(firewallHas('elements = { 203.0.113.254 }', '203.0.113.254'), true);
  assert.equal(firewallHas('-A f2b-voip -s 203.0.113.25/32 -j REJECT', '203.0.113.254'), false);
  assert.equal(firewallHas('-s 203.0.113.2545/32', '203.0.113.254'), false);
  assert.equal(firewallHas('-s 1203.0.113.254/32', '203.0.113.254'), false);
});

test('log file verdicts: missing is broken, stale or long empty is a warning, fresh is ok', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  assert.equal(logFileCheck('/l', null, now, 'asterisk').verdict, 'broken');
  assert.match(logFileCheck('/l', null, now, 'asterisk').fix!, /voip-f2b-install again/);
  assert.equal(logFileCheck('/l', { size: 10, mtimeMs: now, isFile: false }, now, 'x').verdict, 'broken');
  assert.equal(logFileCheck('/l', { size: 0, mtimeMs: now - 60_000, isFile: true }, now, 'x').verdict, 'ok');
  assert.equal(logFileCheck('/l', { size: 0, mtimeMs: now - 2 * 3600_000, isFile: true }, now, 'x').verdict, 'warning');
  assert.equal(logFileCheck('/l', { size: 500, mtimeMs: now - 3 * 86400_000, isFile: true }, now, 'x').verdict, 'warning');
  assert.match(logFileCheck('/l', { size: 500, mtimeMs: now - 3 * 86400_000, isFile: true }, now, 'x').detail, /3 days ago/);
  assert.equal(logFileCheck('/l', { size: 500, mtimeMs: now - 5000, isFile: true }, now, 'x').verdict, 'ok');
});

test('filter verdicts: no date is broken, failures the filter misses are broken, a quiet log is ok', () => {
  const s = (o: Partial<ReturnType<typeof parseRegexSummary> & object>) => ({ lines: 100, ignored: 0, matched: 0, missed: 100, dateHits: 100, regexes: [], ...o });
  assert.equal(filterCheck(null, 'ERROR: No failure-id group', 0, 'voip-asterisk').verdict, 'broken');
  assert.equal(filterCheck(s({ dateHits: 0 }), null, 0, 'voip-asterisk').verdict, 'broken');
  assert.match(filterCheck(s({ dateHits: 0 }), null, 0, 'voip-asterisk').detail, /time stamp/);
  assert.equal(filterCheck(s({}), null, 12, 'voip-asterisk').verdict, 'broken');
  assert.match(filterCheck(s({}), null, 12, 'voip-asterisk').detail, /12 of the last 100 lines look like authentication failures, but the filter matched none/);
  assert.equal(filterCheck(s({ matched: 5 }), null, 12, 'voip-asterisk').verdict, 'warning');
  assert.equal(filterCheck(s({}), null, 0, 'voip-asterisk').verdict, 'ok');
  assert.equal(filterCheck(s({ matched: 12 }), null, 12, 'voip-asterisk').verdict, 'ok');
  assert.equal(filterCheck(s({ lines: 0, dateHits: 0 }), null, 0, 'voip-asterisk').verdict, 'ok');
});

test('failure-like lines: with count=once the messages-log twins of security events are not expected to match', () => {
  const lines = [
    "[2026-11-22 11:59:00] NOTICE[1] chan_sip.c: Registration from '<sip:301@example.com>' failed for '198.51.100.9:5060' - Wrong password",
    '[2026-11-22 11:59:00] SECURITY[1] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="1",Severity="Error",Service="SIP",EventVersion="2",AccountID="301",SessionID="0x1",LocalAddress="IPV4/UDP/198.51.100.1/5060",RemoteAddress="IPV4/UDP/198.51.100.9/5060"',
    '[2026-11-22 11:59:01] VERBOSE[1] pbx.c: a benign line',
  ];
  assert.equal(failureLikeLines('asterisk', lines, 'voip-asterisk'), 2);
  assert.equal(failureLikeLines('asterisk', lines, 'voip-asterisk[count=once]'), 1);
  assert.equal(failureLikeLines(null, lines), 0);
});

test('the service really writes what the jail reads: Asterisk logger.conf, Kamailio rsyslog rule', () => {
  const logger = '[general]\ndateformat = %F %T\n[logfiles]\nconsole => notice\nmessages.log => notice,warning,error ; ours\nsecurity => security\nsyslog.local0 => notice\n';
  assert.deepEqual(asteriskLogChannels(logger, '/var/log/asterisk'), [
    { file: '/var/log/asterisk/messages.log', levels: ['notice', 'warning', 'error'] },
    { file: '/var/log/asterisk/security', levels: ['security'] },
  ]);
  assert.equal(asteriskSourceCheck(['/var/log/asterisk/messages.log', '/var/log/asterisk/security'], logger, '/var/log/asterisk').verdict, 'ok');
  const wrong = asteriskSourceCheck(['/var/log/asterisk/messages', '/var/log/asterisk/security'], logger, '/var/log/asterisk');
  assert.equal(wrong.verdict, 'broken');
  assert.match(wrong.detail, /no channel for \/var\/log\/asterisk\/messages /);
  assert.equal(asteriskSourceCheck(['/var/log/asterisk/security'], logger, '/var/log/asterisk').verdict, 'broken'); // no notice level read
  assert.equal(rsyslogTarget("if $programname == 'kamailio' then /var/log/kamailio.log\n"), '/var/log/kamailio.log');
  const rule = "if $programname == 'kamailio' then /var/log/kamailio.log\n";
  assert.equal(kamailioSourceCheck(['/var/log/kamailio.log'], '/r', rule, `x\n${BEGIN_MARKER}\n`, BEGIN_MARKER).verdict, 'ok');
  assert.equal(kamailioSourceCheck(['/var/log/kamailio.log'], '/r', rule, 'no marker', BEGIN_MARKER).verdict, 'warning');
  assert.equal(kamailioSourceCheck(['/var/log/kamailio.log'], '/r', null, null, BEGIN_MARKER).verdict, 'broken');
  assert.equal(kamailioSourceCheck(['/var/log/other.log'], '/r', rule, null, BEGIN_MARKER).verdict, 'broken');
});

test('verdicts: a jail is its worst check; the report is broken when fail2ban is down', () => {
  const ok = { name: 'a', verdict: 'ok' as const, detail: '' };
  const warn = { name: 'b', verdict: 'warning' as const, detail: '' };
  const broken = { name: 'c', verdict: 'broken' as const, detail: '' };
  assert.equal(jailVerdict([ok, ok]), 'ok');
  assert.equal(jailVerdict([ok, warn]), 'warning');
  assert.equal(jailVerdict([warn, broken, ok]), 'broken');
  const j = (verdict: 'ok' | 'warning' | 'broken') => ({ jail: 'j', verdict, logFiles: [], checks: [] });
  assert.equal(reportVerdict(true, [j('ok'), j('warning')]), 'warning');
  assert.equal(reportVerdict(true, []), 'ok');
  assert.equal(reportVerdict(false, [j('ok')]), 'broken');
  assert.equal(adminCheck(null, []), null);
  assert.equal(adminCheck('198.51.100.7', ['198.51.100.0/24'])!.verdict, 'ok');
  assert.equal(adminCheck('198.51.100.7', ['127.0.0.1/8'])!.verdict, 'warning');
  assert.match(adminCheck('198.51.100.7', [])!.fix!, /--whitelist 198\.51\.100\.7/);
});

// ---------------------------------------------------------------------------------------------
// The command, over a temp root, with fail2ban, fail2ban-regex and the firewall played by a script

const LOG_LINES = [
  "[2026-11-22 11:59:00] NOTICE[1638] chan_sip.c: Registration from '<sip:301@example.com>' failed for '198.51.100.9:5060' - Wrong password",
  '[2026-11-22 11:59:01] VERBOSE[1638] pbx.c: a benign line',
];
const LOGGER = '[general]\ndateformat = %F %T\n[logfiles]\nmessages => notice,warning,error\nsecurity => security\n';
const JAIL_LOCAL = '[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 203.0.113.7\nmaxretry = 5\n\n[sshd]\nenabled = false\n\n[voip-asterisk]\nenabled = true\nfilter = voip-asterisk\nlogpath = /var/log/asterisk/messages\n          /var/log/asterisk/security\n';

interface Fake {
  running?: boolean;
  /** The ban action reaches the firewall. */
  actionWorks?: boolean;
  ignoreip?: string[];
  actions?: string[];
  regexMatched?: number;
  /** The log files the running jail reads (default: both Asterisk logs). */
  logFiles?: string[];
  /** The jail's backend in `fail2ban-client -d` (default: pyinotify). */
  backend?: string;
}

function fakeHost(f: Fake = {}) {
  const banned = new Set<string>();
  const strip = (args: string[]): string[] => {
    const a = [...args];
    while (a[0] === '-c' || a[0] === '-s') a.splice(0, 2);
    return a;
  };
  const run = recordingRunner((c: Command) => {
    if (c.cmd === 'fail2ban-client') {
      if (f.running === false) return { exitCode: 255, stderr: 'ERROR   Failed to access socket path: /run/fail2ban/fail2ban.sock. Is fail2ban running?\n' };
      const a = strip(c.args);
      const key = a.join(' ');
      if (key === 'ping') return { stdout: 'Server replied: pong\n' };
      if (key === 'version') return { stdout: '1.0.2\n' };
      if (key === 'status') return { stdout: 'Status\n|- Number of jail:\t1\n`- Jail list:\tvoip-asterisk\n' };
      if (key === 'get logtarget') return { stdout: 'Current logging target is:\n`- /var/log/fail2ban.log\n' };
      if (a[0] === 'get' && a[2] === 'logpath') {
        const l = f.logFiles ?? ['/var/log/asterisk/messages', '/var/log/asterisk/security'];
        return { stdout: l.length ? `Current monitored log file(s):\n${l.map((e, i) => `${i === l.length - 1 ? '`' : '|'}- ${e}`).join('\n')}\n` : 'No file is currently monitored\n' };
      }
      if (key === '-d') return { stdout: `['set', 'dbpurgeage', '30d']\n['add', 'voip-asterisk', '${f.backend ?? 'pyinotify'}']\n['set', 'voip-asterisk', 'usedns', 'no']\n` };
      if (a[0] === 'get' && a[2] === 'ignoreip') {
        const l = f.ignoreip ?? ['127.0.0.0/8', '::1', '203.0.113.7'];
        return { stdout: `These IP addresses/networks are ignored:\n${l.map((e, i) => `${i === l.length - 1 ? '`' : '|'}- ${e}`).join('\n')}\n` };
      }
      if (a[0] === 'get' && a[2] === 'maxretry') return { stdout: '5\n' };
      if (a[0] === 'get' && a[2] === 'actions') return { stdout: `The jail ${a[1]} has the following actions:\n${(f.actions ?? ['iptables-allports']).join(', ')}\n` };
      if (a[0] === 'set' && a[2] === 'banip') {
        if (f.actionWorks !== false) banned.add(a[3]!);
        return { stdout: '1\n' };
      }
      if (a[0] === 'set' && a[2] === 'unbanip') {
        banned.delete(a[3]!);
        return { stdout: '1\n' };
      }
      return { exitCode: 255, stderr: `unexpected ${key}` };
    }
    if (c.cmd === 'iptables-save') return { stdout: `*filter\n:f2b-voip-asterisk - [0:0]\n${[...banned].map((ip) => `-A f2b-voip-asterisk -s ${ip}/32 -j REJECT\n`).join('')}COMMIT\n` };
    if (c.cmd === 'fail2ban-regex') {
      const n = f.regexMatched ?? 1;
      if (c.args.includes('-o')) return { stdout: Array(n).fill('198.51.100.9\n').join('') };
      return { stdout: `Failregex: ${n} total\n|-  #) [# of hits] regular expression\n|   1) [${n}] ^Registration\n\`-\n\nDate template hits:\n|- [# of hits] date format\n|  [2] {^LN-BEG}x\n\`-\n\nLines: ${Math.max(2, n)} lines, 0 ignored, ${n} matched, ${Math.max(2, n) - n} missed\n` };
    }
    return { exitCode: 127, stderr: `${c.cmd}: not found`, notFound: true };
  });
  return { run, banned };
}

async function hostRoot(): Promise<string> {
  const root = await tempRoot({
    '/etc/fail2ban/jail.local': JAIL_LOCAL,
    '/etc/asterisk/logger.conf': LOGGER,
    '/var/log/asterisk/messages': LOG_LINES.map((l) => `${l}\n`).join(''),
    '/var/log/asterisk/security': '',
  });
  // The test clock is 2026-11-22T12:00:00Z: the logs were written a minute before.
  const t = new Date('2026-11-22T11:59:00Z');
  for (const f of ['var/log/asterisk/messages', 'var/log/asterisk/security']) utimesSync(path.join(root, f), t, t);
  return root;
}

const OPTS = { banTest: true, lines: 2000, json: false };

test('doctor on a healthy host: every check ok, the ban seen and gone, the test address never real', async () => {
  const root = await hostRoot();
  try {
    const { run, banned } = fakeHost({ regexMatched: 6 });
    const r = await doctor(OPTS, testContext(root, { run, live: false, env: { SSH_CONNECTION: '203.0.113.7 50022 198.51.100.1 22' } }));
    assert.equal(r.verdict, 'ok', formatDoctor(r));
    assert.equal(r.fail2banRunning, true);
    assert.equal(r.fail2banVersion, '1.0.2');
    assert.equal(r.adminAddress, '203.0.113.7');
    assert.equal(r.adminWhitelisted, true);
    const j = r.jails[0]!;
    assert.deepEqual(j.logFiles, ['/var/log/asterisk/messages', '/var/log/asterisk/security']);
    assert.deepEqual(j.matches, [{ regex: '^Registration', count: 6 }]);
    assert.deepEqual(j.wouldBan, [{ ip: '198.51.100.9', failures: 6, whitelisted: false }]);
    assert.match(j.checks.find((c) => c.name === 'ban round trip')!.detail, /banned 203\.0\.113\.254: seen in iptables; unbanned: gone/);
    assert.equal(banned.size, 0);
    // Every ban and unban was of the TEST-NET-3 address, and under --root the client was pointed at
    // the root's configuration and socket (where fail2ban's configuration puts it, inside the root).
    const bans = run.calls.filter((c) => c.cmd === 'fail2ban-client' && /banip/.test(c.args.join(' ')));
    assert.deepEqual(bans.map((c) => c.args.slice(-3).join(' ')), ['voip-asterisk banip 203.0.113.254', 'voip-asterisk unbanip 203.0.113.254']);
    assert.deepEqual(bans[0]!.args.slice(0, 4), ['-c', path.join(root, 'etc/fail2ban'), '-s', path.join(root, 'var/run/fail2ban/fail2ban.sock')]);
    assert.match(formatDoctor(r), /\[voip-asterisk\] ok/);
    assert.match(formatDoctorCompact(r), /^Doctor: ok\n {2}voip-asterisk: ok \(2 log file\(s\), 6 failure\(s\) in recent lines, ban reaches the firewall\)\n$/);
    // On the live host: the system's fail2ban, no -c or -s.
    const live = fakeHost();
    await doctor({ ...OPTS, socket: '/run/other.sock' }, testContext(root, { run: live.run, live: true }));
    assert.ok(live.run.lines().includes('fail2ban-client -s /run/other.sock ping'));
    const plain = fakeHost();
    await doctor(OPTS, testContext(root, { run: plain.run, live: true }));
    assert.equal(plain.run.lines()[0], 'fail2ban-client ping');
  } finally {
    await removeRoot(root);
  }
});

test('a ban that never reaches the firewall is broken, and the test address is still unbanned', async () => {
  const root = await hostRoot();
  try {
    const { run } = fakeHost({ actionWorks: false });
    const r = await doctor(OPTS, testContext(root, { run, live: true }));
    assert.equal(r.verdict, 'broken');
    const ban = r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!;
    assert.equal(ban.verdict, 'broken');
    assert.match(ban.detail, /did not appear in the firewall/);
    assert.ok(run.lines().some((l) => l.endsWith('set voip-asterisk unbanip 203.0.113.254')));
    assert.match(formatDoctor(r), /Verdict: BROKEN \(exit 1\)/);
  } finally {
    await removeRoot(root);
  }
});

test('whitelisted test addresses are skipped; all whitelisted is a warning; mail jails are not ban-tested at install', async () => {
  const root = await hostRoot();
  try {
    let h = fakeHost({ ignoreip: ['127.0.0.0/8', '203.0.113.254'] });
    let r = await doctor(OPTS, testContext(root, { run: h.run, live: true }));
    assert.match(r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!.detail, /banned 203\.0\.113\.253/);
    h = fakeHost({ ignoreip: ['203.0.113.0/24'] });
    r = await doctor(OPTS, testContext(root, { run: h.run, live: true }));
    assert.equal(r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!.verdict, 'warning');
    assert.ok(!h.run.lines().some((l) => /banip/.test(l)));
    h = fakeHost({ actions: ['iptables-allports', 'voip-f2b-mail'] });
    r = await doctor({ ...OPTS, compact: true }, testContext(root, { run: h.run, live: true }));
    assert.match(r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!.detail, /skipped: the jail mails every ban/);
    assert.ok(!h.run.lines().some((l) => /banip/.test(l)));
    h = fakeHost();
    r = await doctor({ ...OPTS, banTest: false }, testContext(root, { run: h.run, live: true }));
    assert.ok(!h.run.lines().some((l) => /banip|iptables/.test(l)));
  } finally {
    await removeRoot(root);
  }
});

test('a removed log and a filter that misses the failures are broken; the admin not whitelisted is a warning', async () => {
  const root = await hostRoot();
  try {
    const { rm } = await import('node:fs/promises');
    await rm(path.join(root, 'var/log/asterisk/messages'));
    let r = await doctor({ ...OPTS, banTest: false }, testContext(root, { run: fakeHost().run, live: true }));
    assert.equal(r.verdict, 'broken');
    assert.match(r.jails[0]!.checks[0]!.detail, /\/var\/log\/asterisk\/messages does not exist/);
    const root2 = await hostRoot();
    try {
      r = await doctor({ ...OPTS, banTest: false }, testContext(root2, { run: fakeHost({ regexMatched: 0 }).run, live: true, env: { SSH_CONNECTION: '198.51.100.200 5 198.51.100.1 22' } }));
      assert.equal(r.verdict, 'broken');
      assert.match(r.jails[0]!.checks.find((c) => c.name.startsWith('filter'))!.detail, /1 of the last 2 lines look like authentication failures, but the filter matched none/);
      assert.equal(r.adminWhitelisted, false);
      assert.equal(r.jails[0]!.checks.find((c) => c.name === 'admin whitelisted')!.verdict, 'warning');
    } finally {
      await removeRoot(root2);
    }
  } finally {
    await removeRoot(root);
  }
});

test('a file-backend jail that reads no log file (fail2ban dropped the removed one) is broken; a journal jail is ok', async () => {
  const root = await hostRoot();
  try {
    // A polling jail whose log was removed: fail2ban stops listing the file after ~50 failed reads.
    let r = await doctor({ ...OPTS, banTest: false }, testContext(root, { run: fakeHost({ logFiles: [], backend: 'polling' }).run, live: true }));
    assert.equal(r.verdict, 'broken');
    const source = r.jails[0]!.checks.find((c) => c.name === 'log source')!;
    assert.equal(source.verdict, 'broken');
    assert.match(source.detail, /reads no log file for this jail \(backend polling\)/);
    assert.match(source.fix!, /fail2ban-client reload voip-asterisk/);
    // The same with the journal as its backend: nothing to check, ok.
    r = await doctor({ ...OPTS, banTest: false }, testContext(root, { run: fakeHost({ logFiles: [], backend: 'systemd[journalflags=1]' }).run, live: true }));
    assert.equal(r.jails[0]!.checks.find((c) => c.name === 'log source')!.verdict, 'ok');
  } finally {
    await removeRoot(root);
  }
});

test('parseJailBackends reads the backend of each jail from fail2ban-client -d', () => {
  assert.deepEqual(
    [...parseJailBackends("['set', 'loglevel', 'INFO']\n['add', 'sshd', 'systemd']\n['add', 'voip-asterisk', 'auto']\n['set', 'voip-asterisk', 'addlogpath', '/x', 'head']\n")],
    [['sshd', 'systemd'], ['voip-asterisk', 'auto']],
  );
});

test('fail2ban not running: broken, and the jails of jail.local are still checked', async () => {
  const root = await hostRoot();
  try {
    const r = await doctor(OPTS, testContext(root, { run: fakeHost({ running: false }).run, live: true }));
    assert.equal(r.verdict, 'broken');
    assert.equal(r.fail2banRunning, false);
    assert.deepEqual(r.jails.map((j) => j.jail), ['voip-asterisk']);
    assert.deepEqual(r.jails[0]!.logFiles, ['/var/log/asterisk/messages', '/var/log/asterisk/security']);
    assert.match(r.warnings[0]!, /fail2ban is not running/);
    assert.match(formatDoctor(r), /fail2ban is NOT running/);
  } finally {
    await removeRoot(root);
  }
});

test('bad input and no rights: exit 2 or 3 before anything runs', async () => {
  const root = await hostRoot();
  try {
    const h = fakeHost();
    await assert.rejects(doctor({ ...OPTS, jail: 'x;id' }, testContext(root, { run: h.run, live: true })), (e: unknown) => e instanceof UsageError && /invalid jail name 'x;id'/.test(e.message));
    await assert.rejects(doctor({ ...OPTS, lines: 0 }, testContext(root, { run: h.run, live: true })), (e: unknown) => e instanceof UsageError);
    await assert.rejects(doctor(OPTS, testContext(root, { run: h.run, live: true, uid: 1000 })), (e: unknown) => e instanceof UnsupportedError && e.exitCode === 3);
    assert.equal(h.run.calls.length, 0);
    await assert.rejects(doctor({ ...OPTS, jail: 'voip-kamailio' }, testContext(root, { run: h.run, live: true })), (e: unknown) => e instanceof UsageError && /jail 'voip-kamailio' is not active; active jails: voip-asterisk/.test(e.message));
  } finally {
    await removeRoot(root);
  }
});
