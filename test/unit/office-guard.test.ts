/**
 * Offices behind one address: the guard's arguments the planner writes (the service's console
 * command for registered devices, Asterisk's logins), that real fail2ban-client reads them as
 * the guard's options, and the guard's own parsing of real console answers and security-log
 * lines, run by the system's Python with fail2ban's real FailManager (the thresholds).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildInstallPlan, guardActionLine, officeCommandArg } from '../../src/core/install-plan.ts';
import { asterisk } from '../../src/core/services/asterisk.ts';
import { freeswitch } from '../../src/core/services/freeswitch.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import type { HostFacts } from '../../src/core/facts.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';
import { REPO } from '../helpers/cli.ts';

const templates = await loadTemplates();
const os = parseOsRelease(await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'));
const distro = detectDistro(os);
const GUARD = path.join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-guard.py');

const base = hostFacts(os);
const running = (binary: string | null = '/usr/sbin/asterisk'): HostFacts =>
  hostFacts(os, { services: { ...base.services, asterisk: { present: true, running: true, configDir: '/etc/asterisk', logDir: '/var/log/asterisk', binary } } });
const fsRunning = (fsCli: string | null): HostFacts =>
  hostFacts(os, {
    services: {
      ...base.services,
      freeswitch: { ...base.services.freeswitch, present: true, running: true, console: { fsCli, host: '127.0.0.1', port: 8021, defaultPassword: true } },
    },
  });

test('the guard line: the running Asterisk\'s console for registered devices, and its logins', () => {
  assert.equal(
    guardActionLine(asterisk, running()),
    `voip-f2b-guard.py[port="%(port)s", window=2, office="/usr/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx 'pjsip show contacts'", office_logins=1]`,
  );
  // Not running (or its program not root's alone): no console; logins still make offices.
  assert.equal(guardActionLine(asterisk, running(null)), 'voip-f2b-guard.py[port="%(port)s", window=2, office_logins=1]');
  assert.equal(guardActionLine(asterisk, base), 'voip-f2b-guard.py[port="%(port)s", window=2, office_logins=1]');
});

test('the guard line: FreeSWITCH\'s registrations through its own fs_cli (no password on it); none without fs_cli', () => {
  assert.equal(
    guardActionLine(freeswitch, fsRunning('/usr/bin/fs_cli')),
    `voip-f2b-guard.py[port="%(port)s", window=2, office="/usr/bin/fs_cli -H 127.0.0.1 -P 8021 -x 'show registrations as json'"]`,
  );
  assert.equal(guardActionLine(freeswitch, fsRunning(null)), 'voip-f2b-guard.py[port="%(port)s", window=2]');
});

test('a console command that cannot be one safe action argument is left out (no console), never mangled', () => {
  for (const bad of [
    { cmd: 'asterisk', args: ['-rx', 'pjsip show contacts'] }, // not an absolute program
    { cmd: '/opt/a%(port)s/asterisk', args: [] }, // fail2ban's interpolation
    { cmd: '/opt/it\'s/asterisk', args: [] },
    { cmd: '/opt/a"b/asterisk', args: [] },
    { cmd: '/opt/ast/asterisk', args: ['-C', '/etc/a]b/asterisk.conf'] },
    { cmd: '/opt/ast/asterisk', args: [''] },
  ]) {
    assert.equal(officeCommandArg(bad), null, JSON.stringify(bad));
    assert.equal(guardActionLine({ ...asterisk, registrations: () => bad }, running()), 'voip-f2b-guard.py[port="%(port)s", window=2, office_logins=1]');
  }
  assert.equal(officeCommandArg({ cmd: '/opt/asterisk/sbin/asterisk', args: ['-C', '/etc/asterisk/asterisk.conf', '-rx', 'pjsip show contacts'] }), "/opt/asterisk/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx 'pjsip show contacts'");
});

test('the plan: jail.local gets the office arguments; a re-run with Asterisk stopped keeps the console the last run found (jail.local unchanged); a new console replaces it', () => {
  const plan = (f: HostFacts, files: Record<string, string> = {}) =>
    buildInstallPlan({ options: installOptions({ yes: true, services: ['asterisk'] }), facts: f, distro, installed: new Set(), repoReady: true, templates, files });
  const jail = plan(running()).files.find((c) => c.path === '/etc/fail2ban/jail.local')!.after!;
  assert.equal(
    getIniValue(jail, 'voip-asterisk', 'action'),
    `%(action_)s\nvoip-f2b-guard.py[port="%(port)s", window=2, office="/usr/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx 'pjsip show contacts'", office_logins=1]`,
  );
  const again = plan(running(null), { '/etc/fail2ban/jail.local': jail }).files.find((c) => c.path === '/etc/fail2ban/jail.local')!;
  assert.equal(again.after, jail, 'a re-run while Asterisk is stopped changes nothing (no fail2ban restart, offices kept)');
  assert.equal(again.before, again.after);
  // Stopped on a first run: no console known, none written.
  const first = plan(running(null)).files.find((c) => c.path === '/etc/fail2ban/jail.local')!.after!;
  assert.equal(getIniValue(first, 'voip-asterisk', 'action'), '%(action_)s\nvoip-f2b-guard.py[port="%(port)s", window=2, office_logins=1]');
});

test('real fail2ban-client reads the line: the guard gets the console command and office_logins as its options', (t) => {
  const client = '/usr/bin/fail2ban-client';
  if (spawnSync(client, ['--version']).status !== 0) {
    t.skip('fail2ban-client is not installed');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-office-'));
  try {
    cpSync('/etc/fail2ban', dir, { recursive: true, filter: (s) => !/\/(jail\.local|jail\.d\/.+|fail2ban\.local)$/.test(s) });
    cpSync(path.join(REPO, 'templates/etc/fail2ban/filter.d/voip-asterisk.conf'), path.join(dir, 'filter.d/voip-asterisk.conf'));
    cpSync(GUARD, path.join(dir, 'action.d/voip-f2b-guard.py'));
    const log = path.join(dir, 'security');
    writeFileSync(log, '');
    writeFileSync(
      path.join(dir, 'jail.local'),
      `[voip-asterisk]\nenabled = true\nfilter = voip-asterisk\nlogpath = ${log}\nbackend = polling\nport = 5060,5061\naction = %(action_)s\n         ${guardActionLine(asterisk, running())}\n`,
    );
    const r = spawnSync(client, ['-c', dir, '-d'], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    const add = r.stdout.split('\n').find((l) => l.includes("'addaction', 'voip-f2b-guard'"));
    assert.ok(add, r.stdout);
    // Python's repr of the JSON text: its single quotes escaped.
    const opts = JSON.parse(/'(\{.*\})'\]/.exec(add!)![1]!.replace(/\\'/g, "'")) as Record<string, string>;
    assert.deepEqual(opts, { port: '5060,5061', window: '2', office: "/usr/sbin/asterisk -C /etc/asterisk/asterisk.conf -rx 'pjsip show contacts'", office_logins: '1' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Runs `body` in the system's Python with the guard loaded as module `g` (fail2ban importable). */
/** Python: fail2ban's own FailManager (maxretry 5, findtime 600) behind a jail stand-in named voip-asterisk. */
const FAKE_JAIL = `from fail2ban.server.failmanager import FailManager
from fail2ban.server.ticket import FailTicket
fm = FailManager(); fm.setMaxRetry(5); fm.setMaxTime(600)
class Filter: failManager = fm
class Jail:
  name = 'voip-asterisk'; filter = Filter()
`;

function python(body: string): { status: number | null; stdout: string; stderr: string } {
  const prelude = `import importlib.util, json, sys\nspec = importlib.util.spec_from_file_location('g', ${JSON.stringify(GUARD)})\ng = importlib.util.module_from_spec(spec)\nspec.loader.exec_module(g)\n`;
  const r = spawnSync('/usr/bin/python3', ['-B', '-c', prelude + body], { encoding: 'utf8', timeout: 30000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

test('the guard reads registered addresses from real console answers (Asterisk contacts, FreeSWITCH JSON, Kamailio ul.dump)', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import fail2ban']).status !== 0) {
    t.skip('fail2ban (Python) is not installed');
    return;
  }
  const asteriskContacts = [
    '',
    '  Contact:  <Aor/ContactUri..............................> <Hash....> <Status> <RTT(ms)..>',
    '==========================================================================================',
    '',
    '  Contact:  1002/sip:1002-0x561cd35015c0@203.0.113.5:5060  f6449b16be NonQual         nan', // baresip, Asterisk 22.10.1
    '  Contact:  1003/sip:1003@[2001:db8::5]:5060;ob             0a1b2c3d4e NonQual       nan',
    '  Contact:  1004/sips:1004@198.51.100.7:5061;transport=tls  0a1b2c3d4f Unknown       nan',
    '  Contact:  1005/sip:pbx.example.com                        0a1b2c3d50 Unknown       nan',
    '',
    'Objects found: 4',
    '',
  ].join('\n');
  const fsJson = JSON.stringify({
    row_count: 2,
    rows: [
      { reg_user: '1000', realm: '203.0.113.1', url: 'sofia/internal/sip:1000@10.0.0.5:5060', expires: '1765090000', network_ip: '203.0.113.9', network_port: '5060', network_proto: 'udp', hostname: 'pbx' },
      { reg_user: '1001', realm: '203.0.113.1', url: 'sofia/internal/sip:1001@10.0.0.6:5060', expires: '1765090000', network_ip: 'not-an-address', network_port: '5060', network_proto: 'udp', hostname: 'pbx' },
    ],
  });
  const kamailio = 'Domain: location table=1024 records=1 max_slot=1\n\tAOR: 1000\n\t\tContact: sip:1000@10.0.0.5:5060 Q=\n\t\t\tReceived: sip:198.51.100.20:5060\n';
  const answers = JSON.stringify(JSON.stringify([asteriskContacts, fsJson, kamailio]));
  const r = python(`for text in json.loads(${answers}): print(sorted(g._registered(text)))\n`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), ["['198.51.100.7', '2001:db8::5', '203.0.113.5']", "['203.0.113.9']", "['198.51.100.20']"]);
});

test('the guard takes a login only from a real SuccessfulAuth event, never from text a peer put in another event', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import fail2ban']).status !== 0) {
    t.skip('fail2ban (Python) is not installed');
    return;
  }
  const lines = [
    // Asterisk 22's security log (res_security_log), as the tool's dateformat writes it.
    '[2026-12-07 05:10:00] SECURITY[2418] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-12-07T05:10:00.123+0000",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="1002",SessionID="0x7f1c",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/203.0.113.5/5060",UsingPassword="1"',
    // A failure whose account name carries a fake SuccessfulAuth: not a login.
    '[2026-12-07 05:10:01] SECURITY[2418] res_security_log.c: SecurityEvent="ChallengeResponseFailed",EventTV="2026-12-07T05:10:01.000+0000",Severity="Error",Service="PJSIP",EventVersion="1",AccountID="x\\",SecurityEvent=\\"SuccessfulAuth",SessionID="1",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/198.51.100.66/5060"',
    // A manager (AMI) login is no phone.
    '[2026-12-07 05:10:02] SECURITY[2418] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-12-07T05:10:02.000+0000",Severity="Informational",Service="AMI",EventVersion="1",AccountID="admin",SessionID="0x1",LocalAddress="IPV4/TCP/127.0.0.1/5038",RemoteAddress="IPV4/TCP/198.51.100.67/40000",UsingPassword="1"',
    '[2026-12-07 05:10:03] SECURITY[2418] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-12-07T06:10:03.000+0100",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="1003",SessionID="0x7f1d",LocalAddress="IPV6/UDP/2001:db8::1/5060",RemoteAddress="IPV6/UDP/2001:db8::5/5060",UsingPassword="1"',
    // A phone with a password whose Call-ID forges a pair: the real (last) address counts.
    '[2026-12-07 05:10:04] SECURITY[2418] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-12-07T05:10:04.000+0000",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="1002",SessionID="x",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/198.51.100.66/5060",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/203.0.113.7/5060",UsingPassword="1"',
    // A forged pair after the real one (in no field Asterisk writes there): no login at all.
    '[2026-12-07 05:10:05] SECURITY[2418] res_security_log.c: SecurityEvent="SuccessfulAuth",EventTV="2026-12-07T05:10:05.000+0000",Severity="Informational",Service="PJSIP",EventVersion="1",AccountID="1002",SessionID="x",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/203.0.113.7/5060",UsingPassword="1",X="RemoteAddress="',
  ];
  const r = python(
    `for line in json.loads(${JSON.stringify(JSON.stringify(lines))}):\n  print(json.dumps(g._login(line)))\n`,
  );
  assert.equal(r.status, 0, r.stderr);
  const t0 = Date.UTC(2026, 11, 7, 5, 10, 0) / 1000;
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l)), [['203.0.113.5', t0], null, null, ['2001:db8::5', t0 + 3], ['203.0.113.7', t0 + 4], null]);
});

test('thresholds with fail2ban\'s own FailManager: an office is banned at 10 x maxretry, others at maxretry; an account under attack never bans an office', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import fail2ban']).status !== 0) {
    t.skip('fail2ban (Python) is not installed');
    return;
  }
  const state = mkdtempSync(path.join(tmpdir(), 'voip-f2b-office-state-'));
  try {
    const r = python(`
import logging, os, time
logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(message)s', stream=sys.stdout)
${FAKE_JAIL}a = g.GuardAction(Jail(), 'voip-f2b-guard', backend='nft', office='/usr/bin/false', office_state=${JSON.stringify(path.join(state, 'office.json'))})
a._enqueue = lambda item: print('enqueue', item[0], item[1])
a._offices = {'203.0.113.5': {'registered': True, 'login': None}}
def fail(ip, user, n):
  out = []
  for i in range(n):
    tk = FailTicket(ip, time.time(), data={'user': user, 'callid': 'c%d-%s' % (i, ip)})
    out.append(fm.addFailure(tk))
  return out
print('office', fail('203.0.113.5', '1002', 49))
print('office ban', fail('203.0.113.5', '1002', 1))
print('scanner', fail('203.0.113.2', '1001', 5))
a._offices = {'203.0.113.5': {'registered': True, 'login': None}}
print('attack', fail('203.0.113.5', '1009', 3), fail('198.51.100.8', '1009', 3))
a._writeState()
doc = json.load(open(${JSON.stringify(path.join(state, 'office.json'))}))
del doc['updated']
print('state', json.dumps(doc, sort_keys=True))
`);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.split('\n');
    // 49 failures of the office never reach fail2ban's count (0 each); the 50th bans it (maxretry at once).
    assert.ok(out.includes(`office [${Array(49).fill(0).join(', ')}]`), r.stdout);
    assert.ok(out.includes('office ban [5]'), r.stdout);
    assert.ok(out.includes('scanner [1, 2, 3, 4, 5]'), r.stdout);
    // The office's failures on account 1002, said every maxretry of them (at 5, 10, … 45).
    const warnings = out.filter((l) => l.startsWith('WARNING [voip-asterisk] voip-f2b-guard: office 203.0.113.5 has a registered device; account \'1002\' keeps failing'));
    assert.equal(warnings.length, 9, r.stdout);
    assert.equal(warnings[0], "WARNING [voip-asterisk] voip-f2b-guard: office 203.0.113.5 has a registered device; account '1002' keeps failing (5 of 50 failures that ban the address)");
    assert.ok(out.includes('WARNING [voip-asterisk] voip-f2b-guard: office 203.0.113.5 banned: 50 failures within findtime (its threshold: 50, has a registered device)'), r.stdout);
    // Account 1009 fails from the office and a second address: under attack; the other address is
    // banned at once (5), the office is not (its failures stay with the guard: 0).
    assert.ok(out.includes('attack [0, 0, 0] [1, 6, 11]'), r.stdout);
    assert.ok(!out.some((l) => l === 'enqueue ban 203.0.113.5'), r.stdout);
    const stateLine = out.find((l) => l.startsWith('state '))!;
    const doc = JSON.parse(stateLine.slice(6));
    assert.deepEqual(doc, {
      version: 1,
      jail: 'voip-asterisk',
      maxretry: 5,
      officeMaxretry: 50,
      findtime: 600,
      console: 'not yet run',
      offices: [{ address: '203.0.113.5', registered: true, lastLogin: null, failures: 3, accounts: [{ account: '1009', failures: 3, last: doc.offices[0].accounts[0].last }] }],
    });
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('a console that cannot be run: said once in the jail\'s log, no office from it, the jail works as before; said again when it answers', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import fail2ban']).status !== 0) {
    t.skip('fail2ban (Python) is not installed');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-office-console-'));
  try {
    const answer = path.join(dir, 'contacts.txt');
    writeFileSync(answer, '  Contact:  1002/sip:1002@203.0.113.5:5060  5e4c7c7c2a Avail  12.3\n');
    const r = python(`
import logging, time
logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(message)s', stream=sys.stdout)
${FAKE_JAIL}a = g.GuardAction(Jail(), 'voip-f2b-guard', backend='nft', office='/nonexistent/asterisk -rx "pjsip show contacts"', office_state=${JSON.stringify(path.join(dir, 'office.json'))})
a._enqueue = lambda item: None
a._refresh(time.time()); a._refresh(time.time())
print('offices', a._offices, a._console[:8])
print('counts', [fm.addFailure(FailTicket('203.0.113.5', time.time(), data={'user': '1002', 'callid': str(i)})) for i in range(5)])
a.officeCmd = ['/usr/bin/cat', ${JSON.stringify(answer)}]
a._refresh(time.time()); a._refresh(time.time())
print('offices', sorted(a._offices), a._console)
`);
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout.trim().split('\n');
    assert.deepEqual(out, [
      "WARNING [voip-asterisk] voip-f2b-guard: office detection: /nonexistent/asterisk -rx pjsip show contacts cannot be run ([Errno 2] No such file or directory: '/nonexistent/asterisk'): registered devices make no office until it can; the jail works as before",
      'offices {} failing:',
      'counts [1, 2, 3, 4, 5]',
      'WARNING [voip-asterisk] voip-f2b-guard: office detection: the console answers again',
      "offices ['203.0.113.5'] ok",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a flood of office failures writes the state file at most once a second (the refresh thread, never the filter\'s)', (t) => {
  if (spawnSync('/usr/bin/python3', ['-c', 'import fail2ban']).status !== 0) {
    t.skip('fail2ban (Python) is not installed');
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-office-flood-'));
  try {
    const r = python(`
import threading, time
${FAKE_JAIL}a = g.GuardAction(Jail(), 'voip-f2b-guard', backend='nft', office='/usr/bin/true', office_maxretry=100000, office_state=${JSON.stringify(path.join(dir, 'office.json'))})
a._enqueue = lambda item: None
writes = []
real = a._writeState
a._writeState = lambda: (writes.append(time.time()), real())
a._refresh = lambda now: setattr(a, '_offices', {'203.0.113.5': {'registered': True, 'login': None}})
th = threading.Thread(target=a._officeLoop); th.daemon = True; th.start()
time.sleep(0.2)
end = time.time() + 2.5; n = 0
while time.time() < end:
  fm.addFailure(FailTicket('203.0.113.5', time.time(), data={'user': '1003', 'callid': str(n)})); n += 1
  time.sleep(0.002)
time.sleep(1.2)
with a._officeWake:
  a._officeStop = True; a._officeWake.notify_all()
th.join(5)
gaps = [b - a for a, b in zip(writes, writes[1:])]
print(n, len(writes), min(gaps) if gaps else None, json.load(open(${JSON.stringify(path.join(dir, 'office.json'))}))['offices'][0]['failures'])
`);
    assert.equal(r.status, 0, r.stderr);
    const [n, writes, minGap, failures] = r.stdout.trim().split(' ');
    assert.ok(Number(n) > 300, `a flood: ${n} failures`);
    assert.ok(Number(writes) >= 2 && Number(writes) <= 5, `${writes} writes in ~3.9 s`);
    assert.ok(Number(minGap) >= 0.99, `at most once a second: ${minGap}`);
    assert.equal(failures, n, 'the last write holds every failure');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
