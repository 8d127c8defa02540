/**
 * The watch (issue 23), its pure half and its plan: the interval, the timer/cron files (the unit
 * through the real `systemd-analyze verify` where it exists), the ban-set and firewall-rule check
 * on real listings' shapes, the guard's "account under attack" lines, what was last reported and
 * what is told. test/real/55-watch.test.ts breaks a running setup for real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { uninstall } from '../../src/commands/uninstall.ts';
import { parseArgs } from '../../src/cli.ts';
import { UsageError } from '../../src/errors.ts';
import type { DoctorReport } from '../../src/core/doctor/report.ts';
import {
  WATCH_CRON,
  WATCH_TIMER,
  WATCH_UNIT,
  attackProblems,
  officeProblems,
  banSetProblems,
  cronSchedule,
  diffProblems,
  formatAlert,
  nextState,
  parseWatchInterval,
  parseWatchState,
  problemsFromDoctor,
  type WatchProblem,
} from '../../src/core/doctor/watch.ts';
import { WEB_PROGRAM_BIN, WEB_PROGRAM_DIR } from '../../src/core/web-service.ts';
import { liveDebian12Root, liveDebian12Runner, removeRoot, testContext } from '../helpers/context.ts';
import { fakeFail2banSocket, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';

/** fail2ban's socket under `root` answering as a server that runs and has no jail. */
const noJails = (root: string) => fakeFail2banSocket(root, (c): [number, FakeValue] => [0, c[0] === 'status' ? [['Number of jail', 0], ['Jail list', '']] : c[0] === 'version' ? '1.0.2' : 'pong']);
import { installOptions } from '../helpers/options.ts';
import { readFile } from 'node:fs/promises';
import { runCli } from '../helpers/cli.ts';

test('--watch-interval: divisors of an hour or a day; anything else is exit 2 naming the value and the accepted ones', () => {
  assert.equal(parseWatchInterval('5m'), 300);
  assert.equal(parseWatchInterval('300'), 300);
  assert.equal(parseWatchInterval('1h'), 3600);
  assert.equal(parseWatchInterval('24h'), 86400);
  for (const bad of ['7m', '90m', '0', '30s', '2d', 'soon']) {
    assert.throws(() => parseWatchInterval(bad), (e: unknown) => e instanceof UsageError && e.message.includes(`'${bad}'`) && /1m, 2m.*30m, 1h.*24h/.test(e.message), bad);
  }
  assert.equal(cronSchedule(60), '* * * * *');
  assert.equal(cronSchedule(300), '*/5 * * * *');
  assert.equal(cronSchedule(7200), '0 */2 * * *');
  assert.equal(cronSchedule(86400), '0 0 * * *');
  const r = runCli(['--watch-interval', '7m', '--dry-run', '--root', '/nonexistent']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^voip-f2b-install: invalid --watch-interval '7m': expected one of 1m/);
});

test('the CLI: install has the watch on by default (every 5m), --no-watch turns it off; `watch --once` parses', () => {
  const d = parseArgs([], {});
  assert.ok(d.command === 'install' && d.options.watch && d.options.watch.interval === 300);
  const off = parseArgs(['--no-watch'], {});
  assert.ok(off.command === 'install' && off.options.watch === false);
  const w = parseArgs(['watch', '--once', '--email', 'root@localhost'], {});
  assert.ok(w.command === 'watch' && w.options.once && w.options.mail?.dest === 'root@localhost');
  assert.throws(() => parseArgs(['watch', '--sender', 'a@localhost'], {}), /--sender is the sender of the watch's mails/);
});

test('no systemd: a cron entry running the program\'s copy with node by its absolute path; cron installed and started; a re-run changes nothing', async () => {
  const root = await liveDebian12Root({ '/etc/asterisk/asterisk.conf': '' });
  try {
    // This host has no cron yet.
    const noCron = liveDebian12Runner(['voip-asterisk'], (c) => (c.cmd === 'dpkg-query' ? { stdout: 'fail2ban installed\niptables installed\nipset installed\npython3-pyinotify installed\n' } : undefined));
    const r = await install(installOptions({ services: ['asterisk'], email: 'root@localhost', doctor: false }), testContext(root, { run: noCron, live: true }));
    const cron = await readFile(path.join(root, WATCH_CRON), 'utf8');
    assert.match(cron, new RegExp(`^\\*/5 \\* \\* \\* \\* root ${process.execPath.replace(/[.+]/g, '\\$&')} ${WEB_PROGRAM_BIN} watch --once --email root@localhost --sender fail2ban@\\S+ >/dev/null 2>&1$`, 'm'));
    assert.match(cron, /^PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m);
    assert.ok(r.files.some((f) => f.path === `${WEB_PROGRAM_DIR}/` && f.action === 'CREATE'));
    const lines = noCron.lines();
    assert.ok(lines.some((l) => / install cron$/.test(l) || / install .*\bcron\b/.test(l)), lines.join('\n'));
    assert.ok(lines.indexOf('service cron start') > lines.indexOf('fail2ban-client status'), 'cron started once fail2ban runs');
    assert.equal(r.watch?.runs, WATCH_CRON);

    // Uninstall removes the entry and the program's copy (no timer to stop).
    const un = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run: liveDebian12Runner([]), live: true }));
    assert.ok(un.removed.includes(WATCH_CRON), JSON.stringify(un.removed));
    assert.ok(un.removed.includes(`${WEB_PROGRAM_BIN}`));
  } finally {
    await removeRoot(root);
  }
});

test('systemd: a oneshot unit and a timer (systemd-analyze verify), enabled with --now; a re-run runs nothing; uninstall stops it first', async () => {
  const root = await liveDebian12Root({ '/run/systemd/system/.present': '', '/etc/asterisk/asterisk.conf': '' });
  try {
    const run = liveDebian12Runner(['voip-asterisk']);
    await install(installOptions({ services: ['asterisk'], watch: { interval: 600 }, doctor: false }), testContext(root, { run, live: true }));
    const unit = await readFile(path.join(root, WATCH_UNIT), 'utf8');
    const timer = await readFile(path.join(root, WATCH_TIMER), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath.replace(/[.+]/g, '\\$&')} ${WEB_PROGRAM_BIN} watch --once$`, 'm'));
    assert.match(timer, /^OnUnitActiveSec=600s$/m);
    const lines = run.lines();
    const reload = lines.indexOf('systemctl daemon-reload');
    assert.ok(reload >= 0 && lines.indexOf('systemctl enable --now voip-f2b-watch.timer') > reload, lines.join('\n'));
    assert.ok(!lines.some((l) => /install .*\bcron\b/.test(l)), 'no cron where systemd runs');

    // The real systemd-analyze, when this machine has it, accepts both (ExecStart's program must exist).
    const verify = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (verify.status === 0) {
      const dir = mkdtempSync(path.join(tmpdir(), 'watch-unit-'));
      try {
        const u = unit.replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath} --version`);
        writeFileSync(path.join(dir, 'voip-f2b-watch.service'), u);
        writeFileSync(path.join(dir, 'voip-f2b-watch.timer'), timer);
        const v = spawnSync('systemd-analyze', ['verify', '--man=no', path.join(dir, 'voip-f2b-watch.service'), path.join(dir, 'voip-f2b-watch.timer')], { encoding: 'utf8' });
        assert.equal(v.status, 0, v.stderr);
        assert.doesNotMatch(v.stderr, /voip-f2b-watch/, v.stderr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    // fail2ban now runs: a re-run plans and runs nothing for the watch.
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    const again = liveDebian12Runner(['voip-asterisk']);
    const r2 = await install(installOptions({ services: ['asterisk'], watch: { interval: 600 }, doctor: false }), testContext(root, { run: again, live: true }));
    assert.equal(r2.nothingToDo, true, JSON.stringify(r2.files.filter((f) => f.action !== 'UNCHANGED')));
    assert.ok(!again.lines().some((l) => l.startsWith('systemctl')), again.lines().join('\n'));

    const stop = liveDebian12Runner([]);
    const un = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run: stop, live: true }));
    const s = stop.lines();
    assert.ok(s.indexOf('systemctl disable --now voip-f2b-watch.timer') >= 0, s.join('\n'));
    assert.ok(un.removed.includes(WATCH_TIMER) && un.removed.includes(WATCH_UNIT));
  } finally {
    await removeRoot(root);
  }
});

test('--no-watch: no program copy, no timer, no cron entry', async () => {
  const root = await liveDebian12Root({ '/etc/asterisk/asterisk.conf': '' });
  try {
    const r = await install(installOptions({ services: ['asterisk'], watch: false, dryRun: true }), testContext(root, { run: liveDebian12Runner([]), live: true }));
    assert.ok(!r.files.some((f) => f.path.startsWith(WEB_PROGRAM_DIR) || f.path === WATCH_CRON || f.path === WATCH_UNIT), JSON.stringify(r.files));
    assert.equal(r.watch, undefined);
  } finally {
    await removeRoot(root);
  }
});

// Listings in the shapes the tools print them (nft list ruleset; ipset list; iptables-save).
const NFT = `table inet f2b-voip-asterisk {
\tset a4 {
\t\ttype ipv4_addr
\t\telements = { 203.0.113.51 }
\t}
\tset a6 {
\t\ttype ipv6_addr
\t}

\tchain input {
\t\ttype filter hook input priority -1; policy accept;
\t\tip saddr @a4 reject
\t\tip6 saddr @a6 reject
\t}
}
`;
const IPSET = `Name: f2b-voip-asterisk4
Type: hash:ip
Revision: 6
Header: family inet hashsize 1024 maxelem 1048576 bucketsize 12 initval 0x5c3ba0a4
Size in memory: 248
References: 1
Number of entries: 1
Members:
203.0.113.51
`;
const IPTABLES = `*filter
:INPUT ACCEPT [0:0]
-A INPUT -m set --match-set f2b-voip-asterisk4 src -j REJECT --reject-with icmp-port-unreachable
COMMIT
`;

test('ban sets: the table/set and its rule present, every ban fail2ban holds in the firewall; each loss named', () => {
  const nft = [{ jail: 'voip-asterisk', actions: ['voip-f2b-nftset.py', 'voip-f2b-guard.py'], banned: ['203.0.113.51'] }];
  assert.deepEqual(banSetProblems(nft, { nft: NFT, ipset: '', iptables: '' }), []);
  // Another tool flushed the set: the ban is fail2ban's record only.
  const flushed = banSetProblems(nft, { nft: NFT.replace(/\t\telements = .*\n/, ''), ipset: '', iptables: '' });
  assert.equal(flushed.length, 1);
  assert.equal(flushed[0]!.key, 'jail:voip-asterisk:bans in firewall');
  assert.match(flushed[0]!.message, /1 of the 1 addresses fail2ban holds banned are not in the firewall \(203\.0\.113\.51\)/);
  // 203.0.113.5 is not 203.0.113.51.
  assert.equal(banSetProblems([{ ...nft[0]!, banned: ['203.0.113.5'] }], { nft: NFT, ipset: '', iptables: '' }).length, 1);
  // `nft flush ruleset`: the table is gone.
  assert.match(banSetProblems(nft, { nft: '', ipset: '', iptables: '' })[0]!.message, /table inet f2b-voip-asterisk is gone/);
  // The chain flushed: the table stays, its rule is gone.
  assert.equal(banSetProblems(nft, { nft: NFT.replace(/\t\tip6? saddr .*\n/g, ''), ipset: '', iptables: '' })[0]!.key, 'jail:voip-asterisk:ban rule');

  const ips = [{ jail: 'voip-asterisk', actions: ['voip-f2b-ipset.py'], banned: ['203.0.113.51'] }];
  assert.deepEqual(banSetProblems(ips, { nft: '', ipset: IPSET, iptables: IPTABLES }), []);
  assert.match(banSetProblems(ips, { nft: '', ipset: IPSET, iptables: '*filter\nCOMMIT\n' })[0]!.message, /iptables rule that drops the addresses in f2b-voip-asterisk4 is gone/);
  assert.match(banSetProblems(ips, { nft: '', ipset: '', iptables: IPTABLES })[0]!.message, /ipset f2b-voip-asterisk4 is gone/);
  assert.match(banSetProblems(ips, { nft: '', ipset: IPSET.replace('203.0.113.51\n', ''), iptables: IPTABLES })[0]!.message, /not in the firewall/);
});

test('accounts under attack: the guard\'s WARNING within findtime is a problem; older is over; the account is cleaned attacker text', () => {
  const now = new Date(2026, 11, 7, 5, 40, 0).getTime();
  const line = (hh: number, mm: number, account: string) =>
    `2026-12-07 ${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:02,120 fail2ban.actions.action [812]: WARNING [voip-asterisk] voip-f2b: account ${account} is under attack: 5 failures from 5 addresses within findtime; banning each address that fails on it`;
  const p = attackProblems([line(5, 35, "'1001'"), line(5, 20, "'1002'"), 'noise'], now, () => 600);
  assert.equal(p.length, 1);
  assert.equal(p[0]!.key, 'attack:voip-asterisk:1001');
  assert.match(p[0]!.message, /account 1001 is under attack from many addresses \(5 failures from 5 addresses/);
  const hostile = attackProblems([line(5, 39, "'x\\x1b[31m\u0007evil'")], now, () => 600);
  assert.doesNotMatch(hostile[0]!.message, /[\u0000-\u001f]/);
});

test('a phone failing behind an office: the guard\'s WARNING within findtime names the office and the account; the address is the guard\'s field, not the account\'s text', () => {
  const now = new Date(2026, 11, 7, 5, 40, 0).getTime();
  const line = (mm: number, address: string, why: string, account: string) =>
    `2026-12-07 05:${String(mm).padStart(2, '0')}:02,120 fail2ban.actions [812]: WARNING [voip-asterisk] voip-f2b-guard: office ${address} ${why}; account ${account} keeps failing (10 of 50 failures that ban the address)`;
  const p = officeProblems([
    line(35, '203.0.113.5', 'has a registered device', "'1003'"),
    line(36, '203.0.113.5', 'has a registered device', "'1003'"),
    line(37, '203.0.113.6', 'had a successful login 2026-12-07 04:00:00 UTC', "'1004'"),
    line(20, '203.0.113.7', 'has a registered device', "'1005'"),
    'noise',
  ], now, () => 600);
  assert.deepEqual(p.map((x) => x.key), ['office:voip-asterisk:203.0.113.5:1003', 'office:voip-asterisk:203.0.113.6:1004']);
  assert.match(p[0]!.message, /office address 203\.0\.113\.5 keeps failing on account 1003 \(10 of the 50 failures/);
  assert.equal(p[0]!.severity, 'warning');
  // An account name that forges the rest of the line names neither another address nor a control character.
  const forged = officeProblems([line(39, '203.0.113.5', 'has a registered device', "'x; account \\'9\\' keeps failing (1 of 2 office 198.51.100.9\x1b[31m'")], now, () => 600);
  assert.equal(forged.length, 1);
  assert.match(forged[0]!.key, /^office:voip-asterisk:203\.0\.113\.5:/);
  assert.doesNotMatch(forged[0]!.message, /[\u0000-\u001f]/);
});

test("ban sets: a flushed set is found even while the address sits in the guard's 2 s pause set or in another tool's set", () => {
  const GUARD = `table inet f2bg-voip-asterisk {\n\tset p4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t\telements = { 203.0.113.51 timeout 2s expires 1s500ms }\n\t}\n}\n`;
  const OTHER = `Name: someone-elses\nType: hash:ip\nMembers:\n203.0.113.51\n\n`;
  const ips = [{ jail: 'voip-asterisk', actions: ['voip-f2b-ipset', 'voip-f2b-guard'], banned: ['203.0.113.51'] }];
  const flushedIpset = IPSET.replace(/^203\.0\.113\.51\n/m, '');
  assert.match(banSetProblems(ips, { nft: GUARD, ipset: OTHER + flushedIpset, iptables: IPTABLES })[0]?.message ?? '', /1 of the 1 addresses fail2ban holds banned are not in the firewall/);
  assert.deepEqual(banSetProblems(ips, { nft: GUARD, ipset: OTHER + IPSET, iptables: IPTABLES }), []);
  const nft = [{ jail: 'voip-asterisk', actions: ['voip-f2b-nftset', 'voip-f2b-guard'], banned: ['203.0.113.51'] }];
  assert.match(banSetProblems(nft, { nft: NFT.replace(/\t\telements = .*\n/, '') + GUARD, ipset: '', iptables: '' })[0]?.message ?? '', /not in the firewall/);
  // Another jail's action (not ours): anywhere in the firewall counts, but never the guard's pause.
  const stock = [{ jail: 'sshd', actions: ['iptables-multiport'], banned: ['203.0.113.51'] }];
  assert.match(banSetProblems(stock, { nft: GUARD, ipset: '', iptables: '' })[0]?.message ?? '', /not in the firewall/);
});

const P = (key: string, severity: WatchProblem['severity'] = 'broken'): WatchProblem => ({ key, severity, message: `m ${key}` });

test('a change only: a new problem once, nothing on the second run, a recovery when it is gone; warning → broken is told again', () => {
  const t0 = new Date('2026-12-07T05:00:00Z');
  const first = diffProblems([], [P('fail2ban:running')]);
  assert.deepEqual(first.raised.map((p) => p.key), ['fail2ban:running']);
  const s1 = nextState(null, [P('fail2ban:running')], t0);
  const again = diffProblems(s1.problems, [P('fail2ban:running')]);
  assert.deepEqual([again.raised, again.cleared], [[], []]);
  const s2 = nextState(s1, [P('fail2ban:running')], new Date('2026-12-07T05:05:00Z'));
  assert.equal(s2.since['fail2ban:running'], t0.toISOString(), 'first reported when it began');
  const fixed = diffProblems(s2.problems, []);
  assert.deepEqual(fixed.cleared.map((p) => p.key), ['fail2ban:running']);
  assert.deepEqual(diffProblems([P('a', 'warning')], [P('a', 'broken')]).raised.map((p) => p.key), ['a']);
  assert.deepEqual(diffProblems([P('a', 'broken')], [P('a', 'warning')]).raised, []);
  assert.equal(parseWatchState('{broken'), null);
  assert.deepEqual(parseWatchState(JSON.stringify(s2))?.problems, s2.problems);

  const alert = formatAlert('pbx1', first, [P('fail2ban:running')])!;
  assert.match(alert.subject, /^\[voip-f2b-install\] pbx1: PROTECTION BROKEN: m fail2ban:running$/);
  const rec = formatAlert('pbx1', fixed, [])!;
  assert.match(rec.subject, /recovered: protection works again/);
  assert.match(rec.body, /^RECOVERED: m fail2ban:running$/m);
  assert.equal(formatAlert('pbx1', again, [P('fail2ban:running')]), null);
});

test("doctor's report as problems: fail2ban down, a jail not running, checks not ok (keys without counts)", () => {
  const report = (o: Partial<DoctorReport>): DoctorReport => ({ command: 'doctor', verdict: 'ok', fail2banRunning: true, fail2banVersion: '1.0.2', uptimeSeconds: 1, adminAddress: null, adminWhitelisted: null, jails: [], warnings: [], ...o });
  assert.deepEqual(problemsFromDoctor(report({ fail2banRunning: false, warnings: ['fail2ban is not running (x)'] }), ['voip-asterisk']).map((p) => p.key), ['fail2ban:running']);
  const jails = [{ jail: 'voip-asterisk', verdict: 'broken' as const, logFiles: [], checks: [{ name: 'filter', verdict: 'broken' as const, detail: '48 of the last 150 lines look like failures, but the filter matched none' }, { name: 'log file', verdict: 'ok' as const, detail: '' }] }];
  const p = problemsFromDoctor(report({ jails }), ['voip-asterisk', 'voip-freeswitch']);
  assert.deepEqual(p.map((x) => x.key), ['jail:voip-freeswitch:running', 'jail:voip-asterisk:filter']);
});

test('watch --once over a root: fail2ban down is told once (logger, sendmail), nothing on the next run, the recovery once; the state file is root-only', async () => {
  const { watch } = await import('../../src/commands/watch.ts');
  const { tempRoot } = await import('../helpers/context.ts');
  const { recordingRunner } = await import('../helpers/context.ts');
  const { statSync } = await import('node:fs');
  const root = await tempRoot({ '/etc/fail2ban/jail.local': '[DEFAULT]\nbantime = 1h\n', '/etc/mailname': 'pbx1.example\n', '/var/backups/voip-f2b-install/manifest.json': '{}' });
  try {
    let down = true;
    const round = async () => {
      // Down: nothing listens on fail2ban's socket under the root.
      const f2b = down ? null : await noJails(root);
      const run = recordingRunner();
      try {
        const r = await watch({ once: true, interval: 300, lines: 100, json: true, mail: { dest: 'root@localhost', sender: '' } }, testContext(root, { run }));
        return { r, told: run.calls.filter((c) => c.cmd === 'logger' || c.cmd === '/usr/sbin/sendmail') };
      } finally {
        await f2b?.close();
      }
    };
    const first = await round();
    assert.deepEqual(first.r.raised.map((p) => p.key), ['fail2ban:running']);
    assert.deepEqual(first.r.alerted, ['syslog', 'mail to root@localhost']);
    const [logger, mail] = first.told;
    assert.deepEqual(logger!.args, ['-t', 'voip-f2b-watch', '-p', 'daemon.err', '--', 'BROKEN: fail2ban is not running: nothing is banned']);
    assert.deepEqual(mail!.args, ['-f', 'fail2ban@pbx1.example', 'root@localhost']);
    assert.match(mail!.input!, /^Subject: \[voip-f2b-install\] pbx1\.example: PROTECTION BROKEN: fail2ban is not running: nothing is banned$/m);
    assert.equal(statSync(path.join(root, 'var/backups/voip-f2b-install/watch-state.json')).mode & 0o777, 0o600);
    const second = await round();
    assert.deepEqual([second.r.raised, second.r.cleared, second.told], [[], [], []]);
    assert.equal(second.r.verdict, 'broken');
    down = false;
    const third = await round();
    assert.deepEqual(third.r.cleared.map((p) => p.key), ['fail2ban:running']);
    assert.equal(third.told.length, 2);
    assert.match(third.told[0]!.args.at(-1)!, /^RECOVERED: fail2ban is not running/);
  } finally {
    await removeRoot(root);
  }
});

test('the watch is a setting that persists: --no-watch or --watch-interval stays for a plain re-run; a bad stored value is dropped', async () => {
  const { settingsOf, withStoredSettings, parseStoredSettings } = await import('../../src/core/settings.ts');
  const first = parseArgs(['--no-watch'], {});
  assert.ok(first.command === 'install');
  const stored = parseStoredSettings(JSON.parse(JSON.stringify(settingsOf(first.options)))).settings;
  assert.equal(stored.watch, false);
  const plain = parseArgs([], {});
  assert.ok(plain.command === 'install');
  assert.equal(withStoredSettings(plain.options, stored, false).watch, false, 'a plain re-run keeps --no-watch');
  const hourly = parseArgs(['--watch-interval', '1h'], {});
  assert.ok(hourly.command === 'install');
  assert.deepEqual(withStoredSettings(hourly.options, stored, false).watch, { interval: 3600 }, 'a flag given wins');
  assert.deepEqual(parseStoredSettings({ watch: { interval: 3600 } }).settings.watch, { interval: 3600 });
  const bad = parseStoredSettings({ watch: { interval: 420 } });
  assert.equal(bad.settings.watch, undefined);
  assert.match(bad.problems[0]!, /--watch-interval/);
});

test("a jail the tool adopted (switched off in jail.d, still enabled in the admin's jail.local) is not 'enabled but not running'; one enabled everywhere is", async () => {
  const { watch } = await import('../../src/commands/watch.ts');
  const { tempRoot, recordingRunner } = await import('../helpers/context.ts');
  const jailLocal = '[DEFAULT]\nbantime = 1h\n\n[freeswitch]\nenabled = true\nfilter = freeswitch\nlogpath = /var/log/freeswitch/freeswitch.log\n';
  const running = async (files: Record<string, string>) => {
    const root = await tempRoot({ '/etc/fail2ban/jail.local': jailLocal, '/var/backups/voip-f2b-install/manifest.json': '{}', ...files });
    // fail2ban answers (ping ok) and runs no jail.
    const f2b = await noJails(root);
    try {
      const r = await watch({ once: true, interval: 300, lines: 100, json: true }, testContext(root, { run: recordingRunner(() => undefined) }));
      return r.problems.map((p) => p.key).filter((k) => k.endsWith(':running'));
    } finally {
      await f2b.close();
      await removeRoot(root);
    }
  };
  assert.deepEqual(await running({ '/etc/fail2ban/jail.d/voip-f2b-install-adopted.local': '[freeswitch]\nenabled = false\n' }), []);
  assert.deepEqual(await running({}), ['jail:freeswitch:running']);
});
