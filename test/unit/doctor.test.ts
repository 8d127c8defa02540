/**
 * doctor: the verdict logic and the parsers (pure), and the command over a temp root with a
 * recording runner playing fail2ban, fail2ban-regex and the firewall, for what a real host in CI
 * cannot show (a server that is down, a firewall tool that is missing, whitelisted test
 * addresses, a non-root user). The real thing is test/real/40-doctor.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { adminCheck, filterCheck, firewallHas, isWhitelisted, logFileCheck, openLogCheck, pickTestAddress, wouldBan } from '../../src/core/doctor/checks.ts';
import { asteriskLogChannels, asteriskSourceCheck } from '../../src/core/services/asterisk-doctor.ts';
import { countAddresses, parseRegexSummary } from '../../src/core/doctor/parse.ts';
import { countFailureLines } from '../../src/core/doctor/failures.ts';
import { doctorExitCode, formatDoctor, formatDoctorCompact, jailVerdict, nagiosStatusLine, reportVerdict } from '../../src/core/doctor/report.ts';
import { kamailioSourceCheck, rsyslogTarget } from '../../src/core/services/kamailio-doctor.ts';
import { parseJailBackends } from '../../src/adapters/fail2ban.ts';
import { doctor } from '../../src/commands/doctor.ts';
import { asteriskExpects } from '../../src/core/services/asterisk.ts';
import { kamailioExpects } from '../../src/core/services/kamailio.ts';
import { installExitCode, type InstallReport } from '../../src/commands/install.ts';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { FAIL2BAN_REGEX, fail2banConfigDir } from '../helpers/fail2ban-regex.ts';
import { BEGIN_MARKER } from '../../src/core/editors/kamailio-cfg.ts';
import { UnsupportedError, UsageError } from '../../src/errors.ts';
import type { Command } from '../../src/adapters/runner.ts';
import { recordingRunner, removeRoot, tempRoot, testContext, type RecordingRunner } from '../helpers/context.ts';
import { fakeFail2banSocket, type FakeFail2ban, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';

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
  assert.match(logFileCheck('/l', null, now, 'asterisk', true).fix!, /voip-f2b-install again/);
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
  assert.equal(countFailureLines(asteriskExpects('voip-asterisk'), lines).expected, 2);
  const once = countFailureLines(asteriskExpects('voip-asterisk[count=once]'), lines);
  assert.equal(once.expected, 1);
  assert.equal(once.skipped.reduce((n, s) => n + s.count, 0), 1, 'the twin, skipped on purpose');
  assert.deepEqual(countFailureLines(null, lines), { expected: 0, skipped: [] }, 'a jail no module knows: nothing expected');
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

/** A runner that plays what doctor runs (fail2ban-client -d, fail2ban-regex, the firewall), with the answers of fail2ban's socket. */
type Host = RecordingRunner & {
  /** fail2ban's answer to a command over its socket; none: fail2ban does not run (no socket). */
  answer?: (cmd: string[]) => [number, FakeValue];
  /** The commands fail2ban received over its socket, in order. */
  commands: string[];
};

function host(run: RecordingRunner, answer?: Host['answer']): Host {
  return Object.assign(run, { answer, commands: [] as string[] });
}

/** The socket each root's fail2ban listens on (one at a time), closed when the tests end. */
const sockets = new Map<string, FakeFail2ban>();
after(async () => {
  for (const f of sockets.values()) await f.close();
});

/**
 * A doctor context on `root` whose fail2ban is `h`: its socket listens where fail2ban's
 * configuration under the root puts it (/var/run/fail2ban/fail2ban.sock), unless it does not run.
 */
async function ctxOf(root: string, h: Host, o: Parameters<typeof testContext>[1] = {}) {
  await sockets.get(root)?.close();
  sockets.delete(root);
  if (h.answer) {
    const f = await fakeFail2banSocket(root, (c) => h.answer!(c));
    sockets.set(root, f);
    h.commands = f.commands;
  }
  return testContext(root, { ...o, run: h });
}

/** fail2ban's socket answers of a running server with `jails` (jail → its log files). */
function answers(jails: Record<string, string[]>, o: { ignoreip?: string[]; actions?: string[]; ban?: (ip: string) => void; unban?: (ip: string) => void } = {}): NonNullable<Host['answer']> {
  return (c) => {
    const k = c.join(' ');
    if (k === 'ping') return [0, 'pong'];
    if (k === 'version') return [0, '1.0.2'];
    if (k === 'status') return [0, [['Number of jail', Object.keys(jails).length], ['Jail list', Object.keys(jails).join(', ')]]];
    if (k === 'get logtarget') return [0, '/var/log/fail2ban.log'];
    if (c[0] === 'get' && c[1]! in jails) {
      if (c[2] === 'logpath') return [0, jails[c[1]!]!];
      if (c[2] === 'ignoreip') return [0, o.ignoreip ?? ['127.0.0.0/8']];
      if (c[2] === 'maxretry') return [0, 5];
      if (c[2] === 'actions') return [0, o.actions ?? ['nftables-allports']];
    }
    if (c[0] === 'set' && c[2] === 'banip') {
      o.ban?.(c[3]!);
      return [0, 1];
    }
    if (c[0] === 'set' && c[2] === 'unbanip') {
      o.unban?.(c[3]!);
      return [0, 1];
    }
    return [1, `unexpected ${k}`];
  };
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
      // fail2ban's own reading of the configuration: the one question that is not the socket's.
      const key = strip(c.args).join(' ');
      if (key === '-d') return { stdout: `['set', 'dbpurgeage', '30d']\n['add', 'voip-asterisk', '${f.backend ?? 'pyinotify'}']\n['set', 'voip-asterisk', 'usedns', 'no']\n` };
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
  const answer =
    f.running === false
      ? undefined
      : answers(
          { 'voip-asterisk': f.logFiles ?? ['/var/log/asterisk/messages', '/var/log/asterisk/security'] },
          {
            ignoreip: f.ignoreip ?? ['127.0.0.0/8', '::1', '203.0.113.7'],
            actions: f.actions ?? ['iptables-allports'],
            ban: (ip) => void (f.actionWorks !== false && banned.add(ip)),
            unban: (ip) => void banned.delete(ip),
          },
        );
  return { run: host(run, answer), banned };
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
    const r = await doctor(OPTS, await ctxOf(root, run, { live: false, env: { SSH_CONNECTION: '203.0.113.7 50022 198.51.100.1 22' } }));
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
    // Every ban and unban was of the TEST-NET-3 address, and under --root fail2ban was asked on
    // the root's socket (where fail2ban's configuration puts it, inside the root: the fake listens
    // there), every jail's settings over one connection, and no fail2ban-client ran.
    assert.deepEqual(run.commands.filter((c) => /banip/.test(c)), ['set voip-asterisk banip 203.0.113.254', 'set voip-asterisk unbanip 203.0.113.254']);
    assert.deepEqual(run.commands.slice(0, 7), ['ping', 'version', 'status', 'get voip-asterisk logpath', 'get voip-asterisk ignoreip', 'get voip-asterisk maxretry', 'get voip-asterisk actions']);
    assert.deepEqual(run.lines().filter((l) => l.startsWith('fail2ban-client')), []);
    assert.match(formatDoctor(r), /\[voip-asterisk\] ok/);
    assert.match(formatDoctorCompact(r), /^Doctor: ok\n {2}voip-asterisk: ok \(2 log file\(s\), 6 failure\(s\) in recent lines, ban reaches the firewall\)\n$/);
    // --socket names the socket asked (a path on this machine), not the one the configuration names.
    const live = fakeHost();
    const other = await fakeFail2banSocket(root, live.run.answer!, '/run/other.sock');
    try {
      const o = await doctor({ ...OPTS, socket: path.join(root, 'run/other.sock') }, await ctxOf(root, fakeHost({ running: false }).run, { live: true }));
      assert.equal(o.fail2banRunning, true);
      assert.equal(other.commands[0], 'ping');
    } finally {
      await other.close();
    }
    // On the live host: the socket the system's fail2ban configuration names.
    const plain = fakeHost();
    await doctor(OPTS, await ctxOf(root, plain.run, { live: true }));
    assert.equal(plain.run.commands[0], 'ping');
  } finally {
    await removeRoot(root);
  }
});

test('a ban that never reaches the firewall is broken, and the test address is still unbanned', async () => {
  const root = await hostRoot();
  try {
    const { run } = fakeHost({ actionWorks: false });
    const r = await doctor(OPTS, await ctxOf(root, run, { live: true }));
    assert.equal(r.verdict, 'broken');
    const ban = r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!;
    assert.equal(ban.verdict, 'broken');
    assert.match(ban.detail, /did not appear in the firewall/);
    assert.ok(run.commands.includes('set voip-asterisk unbanip 203.0.113.254'));
    assert.match(formatDoctor(r), /Verdict: BROKEN \(exit 1\)/);
  } finally {
    await removeRoot(root);
  }
});

test('whitelisted test addresses are skipped; all whitelisted is a warning; mail jails are not ban-tested at install', async () => {
  const root = await hostRoot();
  try {
    let h = fakeHost({ ignoreip: ['127.0.0.0/8', '203.0.113.254'] });
    let r = await doctor(OPTS, await ctxOf(root, h.run, { live: true }));
    assert.match(r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!.detail, /banned 203\.0\.113\.253/);
    h = fakeHost({ ignoreip: ['203.0.113.0/24'] });
    r = await doctor(OPTS, await ctxOf(root, h.run, { live: true }));
    assert.equal(r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!.verdict, 'warning');
    assert.ok(!h.run.commands.some((l) => /banip/.test(l)));
    h = fakeHost({ actions: ['iptables-allports', 'voip-f2b-mail'] });
    r = await doctor({ ...OPTS, compact: true }, await ctxOf(root, h.run, { live: true }));
    assert.match(r.jails[0]!.checks.find((c) => c.name === 'ban round trip')!.detail, /skipped: the jail mails every ban/);
    assert.ok(!h.run.commands.some((l) => /banip/.test(l)));
    h = fakeHost();
    r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, h.run, { live: true }));
    assert.ok(!h.run.commands.some((l) => /banip/.test(l)) && !h.run.lines().some((l) => /iptables/.test(l)));
  } finally {
    await removeRoot(root);
  }
});

test('a removed log and a filter that misses the failures are broken; the admin not whitelisted is a warning', async () => {
  const root = await hostRoot();
  try {
    const { rm } = await import('node:fs/promises');
    await rm(path.join(root, 'var/log/asterisk/messages'));
    let r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, fakeHost().run, { live: true }));
    assert.equal(r.verdict, 'broken');
    assert.match(r.jails[0]!.checks[0]!.detail, /\/var\/log\/asterisk\/messages does not exist/);
    const root2 = await hostRoot();
    try {
      r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root2, fakeHost({ regexMatched: 0 }).run, { live: true, env: { SSH_CONNECTION: '198.51.100.200 5 198.51.100.1 22' } }));
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
    let r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, fakeHost({ logFiles: [], backend: 'polling' }).run, { live: true }));
    assert.equal(r.verdict, 'broken');
    const source = r.jails[0]!.checks.find((c) => c.name === 'log source')!;
    assert.equal(source.verdict, 'broken');
    assert.match(source.detail, /reads no log file for this jail \(backend polling\)/);
    assert.match(source.fix!, /fail2ban-client reload voip-asterisk/);
    // The same with the journal as its backend (and a journald here): nothing to check, ok.
    await mkdir(path.join(root, 'run/systemd/journal'), { recursive: true });
    await writeFile(path.join(root, 'run/systemd/journal/socket'), '');
    r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, fakeHost({ logFiles: [], backend: 'systemd[journalflags=1]' }).run, { live: true }));
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
    const r = await doctor(OPTS, await ctxOf(root, fakeHost({ running: false }).run, { live: true }));
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
    await assert.rejects(doctor({ ...OPTS, jail: 'x;id' }, await ctxOf(root, h.run, { live: true })), (e: unknown) => e instanceof UsageError && /invalid jail name 'x;id'/.test(e.message));
    await assert.rejects(doctor({ ...OPTS, lines: 0 }, await ctxOf(root, h.run, { live: true })), (e: unknown) => e instanceof UsageError);
    await assert.rejects(doctor(OPTS, await ctxOf(root, h.run, { live: true, uid: 1000 })), (e: unknown) => e instanceof UnsupportedError && e.exitCode === 3);
    assert.equal(h.run.calls.length + h.run.commands.length, 0);
    await assert.rejects(doctor({ ...OPTS, jail: 'voip-kamailio' }, await ctxOf(root, h.run, { live: true })), (e: unknown) => e instanceof UsageError && /jail 'voip-kamailio' is not active; active jails: voip-asterisk/.test(e.message));
  } finally {
    await removeRoot(root);
  }
});

// ---------------------------------------------------------------------------------------------
// Issue 23: a doctor you can trust. The jails' filters run by the REAL fail2ban-regex (this
// repository's filters over fail2ban's own common.conf) over real log lines; fail2ban and the
// firewall are played by the script.

/** Real fixture lines (annotations dropped). */
async function fixtureLines(name: string): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(new URL(`../fixtures/logs/${name}`, import.meta.url), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
}

/** fail2ban (running, these jails and log files) with the real fail2ban-regex. */
function realFilterHost(jails: Record<string, string[]>, o: { backend?: string; dumpFails?: boolean; running?: boolean } = {}): Host {
  const run = recordingRunner((c: Command) => {
    if (c.cmd === 'fail2ban-regex') {
      const args = [...c.args];
      args[args.indexOf('-c') + 1] = fail2banConfigDir();
      const r = spawnSync(FAIL2BAN_REGEX, args, { encoding: 'utf8', env: { ...process.env, ...c.env }, maxBuffer: 64 << 20 });
      return { exitCode: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    }
    if (c.cmd !== 'fail2ban-client') return { exitCode: 127, stderr: `${c.cmd}: not found`, notFound: true };
    const a = [...c.args];
    while (a[0] === '-c' || a[0] === '-s') a.splice(0, 2);
    const key = a.join(' ');
    if (key === '-d') {
      if (o.dumpFails) return { exitCode: 255, stderr: 'ERROR  Failed during configuration: boom\n' };
      return { stdout: Object.entries(jails).map(([j, files]) => `['add', '${j}', '${o.backend ?? 'pyinotify'}']\n${files.map((f) => `['set', '${j}', 'addlogpath', '${f}', 'head']\n`).join('')}`).join('') };
    }
    return { exitCode: 255, stderr: `unexpected ${key}` };
  });
  return host(run, o.running === false ? undefined : answers(jails));
}

const KAMAILIO_JAILS = '[DEFAULT]\nmaxretry = 5\n\n[voip-kamailio]\nenabled = true\nfilter = voip-kamailio[mode=auth]\nlogpath = /var/log/kamailio.log\n\n[voip-kamailio-pike]\nenabled = true\nfilter = voip-kamailio[mode=pike]\nlogpath = /var/log/kamailio.log\nmaxretry = 1\n';

test('issue 23: after auth-failure logging is added to kamailio.cfg, the pike jail is not BROKEN for auth-failure lines it is not meant to match', async () => {
  // 150 lines: 48 real voip-f2b auth-failure lines (kamailio-real.log), the rest Kamailio's own
  // benign lines (kamailio-benign.log), no pike block.
  const real = (await fixtureLines('kamailio-real.log')).filter((l) => l.includes('voip-f2b: auth failure'));
  const benign = (await fixtureLines('kamailio-benign.log')).filter((l) => /kamailio\[\d+\]: (INFO|NOTICE|ERROR)/.test(l) && !/pike/.test(l));
  const lines = Array.from({ length: 150 }, (_, i) => (i % 25 < 8 ? real[i % real.length]! : benign[i % benign.length]!));
  assert.equal(lines.filter((l) => l.includes('auth failure')).length, 48);
  // What the verdict was built on before: every failure-like line, for the pike jail too. The
  // pike jail's expectation skips them on purpose.
  assert.deepEqual(countFailureLines(kamailioExpects('voip-kamailio[mode=pike]'), lines), { expected: 0, skipped: [{ why: 'auth failures, counted by the auth jail', count: 48 }] });
  const root = await tempRoot({ '/etc/fail2ban/jail.local': KAMAILIO_JAILS, '/var/log/kamailio.log': lines.map((l) => `${l}\n`).join('') });
  try {
    utimesSync(path.join(root, 'var/log/kamailio.log'), new Date('2026-11-22T11:59:00Z'), new Date('2026-11-22T11:59:00Z'));
    const run = realFilterHost({ 'voip-kamailio': ['/var/log/kamailio.log'], 'voip-kamailio-pike': ['/var/log/kamailio.log'] });
    const r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, run, { live: false }));
    const filter = (jail: string) => r.jails.find((j) => j.jail === jail)!.checks.find((c) => c.name.startsWith('filter '))!;
    const pike = filter('voip-kamailio-pike');
    assert.equal(pike.verdict, 'ok', formatDoctor(r));
    assert.doesNotMatch(pike.detail, /look like authentication failures/);
    assert.match(pike.detail, /48 other failure-like line\(s\) this jail skips on purpose \(auth failures, counted by the auth jail: 48\)/);
    assert.deepEqual(r.jails.find((j) => j.jail === 'voip-kamailio-pike')!.failureLines, { expected: 0, skipped: [{ why: 'auth failures, counted by the auth jail', count: 48 }] });
    // The auth jail, meant to match them, matched all 48.
    assert.equal(filter('voip-kamailio').verdict, 'ok');
    assert.match(filter('voip-kamailio').detail, /^matched 48 of the last 150 lines/);
    // The same log with the auth lines rewritten so the auth jail's filter no longer matches them
    // (a changed format): that jail, and only that one, is broken.
    const changed = lines.map((l) => l.replace('voip-f2b: auth failure src=', 'voip-f2b: auth failure from='));
    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(root, 'var/log/kamailio.log'), changed.map((l) => `${l}\n`).join(''));
    utimesSync(path.join(root, 'var/log/kamailio.log'), new Date('2026-11-22T11:59:00Z'), new Date('2026-11-22T11:59:00Z'));
    const r2 = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, run, { live: false }));
    const filter2 = (jail: string) => r2.jails.find((j) => j.jail === jail)!.checks.find((c) => c.name.startsWith('filter '))!;
    assert.equal(filter2('voip-kamailio').verdict, 'broken');
    assert.match(filter2('voip-kamailio').detail, /48 of the last 150 lines look like authentication failures, but the filter matched none/);
    assert.equal(filter2('voip-kamailio-pike').verdict, 'ok');
  } finally {
    await removeRoot(root);
  }
});

test('issue 23: a missing log the tool never creates (auth.log) gets no "run voip-f2b-install again, which creates it"', () => {
  const now = Date.parse('2026-11-22T12:00:00Z');
  assert.doesNotMatch(logFileCheck('/var/log/auth.log', null, now, 'sshd').fix!, /voip-f2b-install/);
  assert.match(logFileCheck('/var/log/asterisk/security', null, now, 'asterisk', true).fix!, /run voip-f2b-install again, which creates it/);
});

test('issue 23: a journal jail on a host without journald is broken, not "reads the journal"; an unknown backend is not claimed', async () => {
  const root = await tempRoot({ '/etc/fail2ban/jail.local': '[sshd]\nenabled = true\n', '/var/log/auth.log': 'x\n' });
  try {
    // fail2ban runs the sshd jail on the journal, and this host has no journald (its socket).
    let r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, realFilterHost({ sshd: [] }, { backend: 'systemd' }), { live: true }));
    let source = r.jails[0]!.checks.find((c) => c.name === 'log source')!;
    assert.equal(source.verdict, 'broken', formatDoctor(r));
    assert.match(source.detail, /no journald runs on this host/);
    // With journald: the journal it is.
    await mkdir(path.join(root, 'run/systemd/journal'), { recursive: true });
    await writeFile(path.join(root, 'run/systemd/journal/socket'), '');
    r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, realFilterHost({ sshd: [] }, { backend: 'systemd' }), { live: true }));
    assert.equal(r.jails[0]!.checks.find((c) => c.name === 'log source')!.verdict, 'ok');
    // fail2ban not running: the log files are fail2ban's own reading of its configuration (-d),
    // not "the journal": here the auth log.
    r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, realFilterHost({ sshd: ['/var/log/auth.log'] }, { running: false, backend: 'auto' }), { live: true }));
    assert.deepEqual(r.jails[0]!.logFiles, ['/var/log/auth.log']);
    assert.ok(!r.jails[0]!.checks.some((c) => /journal/.test(c.detail)), formatDoctor(r));
    // And when that reading fails, doctor says it does not know (a warning), never "the journal".
    r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, realFilterHost({ sshd: [] }, { running: false, dumpFails: true }), { live: true }));
    source = r.jails[0]!.checks.find((c) => c.name === 'log source')!;
    assert.equal(source.verdict, 'warning');
    assert.doesNotMatch(source.detail, /reads the systemd journal/);
  } finally {
    await removeRoot(root);
  }
});

test('issue 23: exit codes: doctor 1 when broken (0 with warnings); --nagios 0/1/2 with a status line; install 4 when its doctor is broken', async () => {
  assert.deepEqual((['ok', 'warning', 'broken'] as const).map((v) => doctorExitCode(v)), [0, 0, 1]);
  assert.deepEqual((['ok', 'warning', 'broken'] as const).map((v) => doctorExitCode(v, true)), [0, 1, 2]);
  const j = (jail: string, verdict: 'ok' | 'warning' | 'broken', detail = 'x') => ({ jail, verdict, logFiles: [], checks: [{ name: 'c', verdict, detail }] });
  const base = { command: 'doctor' as const, fail2banRunning: true, fail2banVersion: '1.0.2', uptimeSeconds: 1, adminAddress: null, adminWhitelisted: null, warnings: [] };
  assert.equal(nagiosStatusLine({ ...base, verdict: 'ok', jails: [j('a', 'ok'), j('b', 'ok')] }), 'VOIP-F2B OK - 2 jail(s) ok | jails=2 ok=2 warning=0 broken=0');
  assert.equal(
    nagiosStatusLine({ ...base, verdict: 'broken', jails: [j('a', 'warning', 'stale'), j('b', 'broken', 'no log | here\nnow')] }),
    'VOIP-F2B CRITICAL - a warning, b broken: no log here now | jails=2 ok=0 warning=1 broken=1',
  );
  assert.match(nagiosStatusLine({ ...base, fail2banRunning: false, verdict: 'broken', jails: [] }), /^VOIP-F2B CRITICAL - fail2ban is not running \|/);
  // install: done, the doctor's broken verdict is its exit code, and the text says the install is done.
  const report = { doctor: { ...base, verdict: 'broken' as const, jails: [j('voip-kamailio', 'broken', 'no log')] } } as unknown as InstallReport;
  assert.equal(installExitCode(report), 4);
  assert.equal(installExitCode({ ...report, doctor: { ...report.doctor!, verdict: 'warning' } }), 0);
  assert.equal(installExitCode({ ...report, doctor: undefined } as unknown as InstallReport), 0);
});

const ASTERISK_ONCE = '[DEFAULT]\nmaxretry = 5\n\n[voip-asterisk]\nenabled = true\nfilter = voip-asterisk[count=once]\nlogpath = /var/log/asterisk/messages\n          /var/log/asterisk/security\n';

/** A temp root holding the logs of the real svcrack attack on Asterisk 22 (test/real/52), written a minute ago. */
async function attackedAsteriskRoot(extra: Record<string, string> = {}): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const root = await tempRoot({
    '/etc/fail2ban/jail.local': ASTERISK_ONCE,
    '/etc/asterisk/logger.conf': LOGGER,
    '/var/log/asterisk/messages': await readFile(new URL('../fixtures/logs/asterisk-attack-messages.log', import.meta.url), 'utf8'),
    '/var/log/asterisk/security': await readFile(new URL('../fixtures/logs/asterisk-attack-security.log', import.meta.url), 'utf8'),
    ...extra,
  });
  const t = new Date('2026-11-22T11:59:00Z');
  for (const f of ['var/log/asterisk/messages', 'var/log/asterisk/security']) utimesSync(path.join(root, f), t, t);
  return root;
}

test('issue 23: after a real attack on Asterisk, count=once is not a WARNING for the twins and PJSIP InvalidAccountID it skips on purpose', async () => {
  const root = await attackedAsteriskRoot();
  try {
    const run = realFilterHost({ 'voip-asterisk': ['/var/log/asterisk/messages', '/var/log/asterisk/security'] });
    const r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, run, { live: false }));
    const j = r.jails[0]!;
    const filter = j.checks.find((c) => c.name.startsWith('filter '))!;
    // Before: "matched 150 of 160 lines that look like authentication failures" (WARNING).
    assert.equal(filter.verdict, 'ok', formatDoctor(r));
    assert.equal(r.verdict, 'ok');
    assert.match(filter.detail, /^matched 150 of the last 418 lines; 170 other failure-like line\(s\) this jail skips on purpose/);
    assert.deepEqual(j.failureLines, {
      expected: 150,
      skipped: [
        { why: 'messages-log twin of a security event, counted once from the security log', count: 160 },
        { why: 'PJSIP InvalidAccountID, no password tried', count: 10 },
      ],
    });
    // The attacker: the guessing address with its 150 counted failures' share, would be banned.
    assert.ok(j.wouldBan!.some((w) => w.ip === '203.0.113.2'), JSON.stringify(j.wouldBan));
    // A jail reading the security log with the plain filter (count=lines) is meant to match every
    // failure line, twins and InvalidAccountID included: its filter misses none.
    const plain = countFailureLines(asteriskExpects('voip-asterisk'), await fixtureLines('asterisk-attack-security.log'));
    assert.deepEqual(plain, { expected: 160, skipped: [] });
  } finally {
    await removeRoot(root);
  }
});

test('issue 23: Asterisk runs but its logger was not reloaded (the security log is not open in it): not ok, even when its console cannot be asked', async () => {
  // The running "Asterisk" is this test process (its pid file and control socket); its program
  // is not an asterisk binary, so doctor cannot use the console: only the open logs tell.
  const root = await attackedAsteriskRoot({ '/var/run/asterisk/asterisk.pid': `${process.pid}\n`, '/var/run/asterisk/asterisk.ctl': '', '/etc/asterisk/asterisk.conf': '[directories]\nastrundir => /var/run/asterisk\n' });
  const { openSync, closeSync } = await import('node:fs');
  const fds: number[] = [];
  try {
    const run = realFilterHost({ 'voip-asterisk': ['/var/log/asterisk/messages', '/var/log/asterisk/security'] });
    fds.push(openSync(path.join(root, 'var/log/asterisk/messages'), 'a'));
    let r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, run, { live: true }));
    let open = r.jails[0]!.checks.find((c) => c.name === 'Asterisk has its logs open')!;
    assert.ok(open, formatDoctor(r));
    assert.equal(open.verdict, 'broken');
    assert.match(open.detail, new RegExp(`Asterisk runs \\(pid ${process.pid}\\) but does not have ${root}/var/log/asterisk/security open`));
    assert.match(open.fix!, /logger reload/);
    assert.equal(r.verdict, 'broken');
    assert.equal(doctorExitCode(r.verdict), 1);
    assert.ok(!run.lines().some((l) => /-rx/.test(l)), 'no console command through an untrusted program');
    // Reloaded: it holds both open.
    fds.push(openSync(path.join(root, 'var/log/asterisk/security'), 'a'));
    r = await doctor({ ...OPTS, banTest: false }, await ctxOf(root, run, { live: true }));
    open = r.jails[0]!.checks.find((c) => c.name === 'Asterisk has its logs open')!;
    assert.equal(open.verdict, 'ok', formatDoctor(r));
    assert.equal(r.verdict, 'ok', formatDoctor(r));
  } finally {
    for (const fd of fds) closeSync(fd);
    await removeRoot(root);
  }
});

test('openLogCheck: a rotated-away file still open is not the log', () => {
  assert.equal(openLogCheck('Asterisk', 7, ['/l/a', '/l/b'], ['/l/a', '/l/b', 'socket:[1]'], 'r').verdict, 'ok');
  const rotated = openLogCheck('Asterisk', 7, ['/l/a'], ['/l/a (deleted)'], 'r');
  assert.equal(rotated.verdict, 'broken');
  assert.match(rotated.detail, /still writes the rotated-away \/l\/a/);
});

test('issue 23: the built CLI: doctor exits 1 when broken, --nagios 2 with its status line first, 3 (UNKNOWN) when it could not check', async () => {
  const { runCli } = await import('../helpers/cli.ts');
  // A tree whose fail2ban does not run (no socket there): broken. Nothing on this machine changes.
  const root = await tempRoot({ '/etc/fail2ban/jail.local': '[voip-asterisk]\nenabled = true\nfilter = voip-asterisk\nlogpath = /var/log/asterisk/messages\n' });
  try {
    const plain = runCli(['doctor', '--root', root, '--no-ban-test']);
    assert.equal(plain.status, 1, plain.stderr);
    assert.match(plain.stdout, /Verdict: BROKEN \(exit 1\)/);
    const n = runCli(['doctor', '--root', root, '--no-ban-test', '--nagios']);
    assert.equal(n.status, 2, n.stderr);
    assert.match(n.stdout, /^VOIP-F2B CRITICAL - fail2ban is not running \| jails=1 ok=0 warning=0 broken=1\n/);
    assert.match(n.stdout, /Verdict: BROKEN \(exit 2\)/);
    const env = runCli(['doctor', '--root', root, '--no-ban-test'], { env: { VOIP_F2B_NAGIOS: '1' } });
    assert.equal(env.status, 2);
    // Could not check: UNKNOWN, the reason on stdout (what the monitoring system shows) and stderr.
    const bad = runCli(['doctor', '--root', root, '--nagios', '--lines', '0']);
    assert.equal(bad.status, 3);
    assert.match(bad.stdout, /^VOIP-F2B UNKNOWN - invalid --lines '0'/);
    assert.match(bad.stderr, /invalid --lines '0'/);
    const unknownFlag = runCli(['doctor', '--nagios', '--bogus']);
    assert.equal(unknownFlag.status, 3);
    assert.match(unknownFlag.stdout, /^VOIP-F2B UNKNOWN - bad usage: unknown option '--bogus'/);
    // Without --nagios the documented codes stay: 2 for usage.
    assert.equal(runCli(['doctor', '--root', root, '--lines', '0']).status, 2);
  } finally {
    await removeRoot(root);
  }
});
