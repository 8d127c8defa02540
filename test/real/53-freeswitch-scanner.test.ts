/**
 * Real attackers against a real FreeSWITCH 1.10 (mod_sofia), configured by the CLI as an admin runs it.
 *
 *   - The FreeSWITCH build of ../shared/freeswitch (installed to /opt/freeswitch by
 *     scripts/install-test-deps.sh) runs with the real paths of a packaged FreeSWITCH
 *     (/etc/freeswitch, /var/log/freeswitch, /run/freeswitch, given with -conf/-log/-run as a
 *     packaged unit does) in a PBX host made by freeswitchHost() (test/helpers/pbx-servers.ts): its
 *     own network namespace and overlays of /etc and /var, so this machine's files never change.
 *   - Its configuration is FreeSWITCH's vanilla one with the minimal edits of the shared
 *     make-conf.sh (fixed IP, no IPv6 profiles, the built modules, the event socket on loopback),
 *     but log-auth-failures as SHIPPED (false): nothing logs a failed password until the tool
 *     changes it. Directory users: 1001 (the svcrack target, weak password 30th in its list),
 *     1002 (a phone), 1003 (the distributed guessing target), 1004 (the friend), 1005.
 *   - FreeSWITCH RUNS when the built CLI is run live there (`--yes --services freeswitch
 *     --whitelist <friend>`, every other setting its default: maxretry 5, findtime 10m, bantime
 *     1h): it must find the running FreeSWITCH, make its running profiles log auth failures
 *     (reloadxml, sofia profile rescan: no call dropped) and start fail2ban with the guard.
 *
 * Addresses: 203.0.113.0/24 on links made here only. Every process started is stopped by its
 * PID; the namespaces and overlays are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchMode, benchOut, freshFail2ban, median, withoutGuard } from '../helpers/bench-out.ts';
import { baresipPhone, optionsPings, SCANNER_CAST, spreadGuesses } from '../helpers/sip-peers.ts';
import { FS, FS_CLI, freeswitchHost, type PbxServer } from '../helpers/pbx-servers.ts';
import { assertRealHost, sleep, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const { server: SERVER, peers: PEERS, accounts: ACCOUNTS, weak: WEAK } = SCANNER_CAST;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5;
const LOG = '/var/log/freeswitch/freeswitch.log';
const JAIL = 'voip-freeswitch';

let host: PbxServer | null = null;
let ready = false;
after(async () => {
  // FreeSWITCH first, through its console (it stops in ~5 s); close() then stops what is left by PID.
  if (host) await host.close();
});

const fsCli = (cmd: string) => host!.console(cmd);
const f2b = (...args: string[]) => host!.f2b(...args);
const logLines = (): string[] => (host!.read(LOG) ?? '').split('\n');
/** "SIP auth failure" lines from `addr` (optionally for one account). */
const failures = (addr: string, user = ''): string[] =>
  logLines().filter((l) => l.includes('SIP auth failure') && l.endsWith(`from ip ${addr}`) && l.includes(`for [${user}`));
const banned = (): string[] => host!.banned();
const inBanSet = (addr: string): boolean => host!.inBanSet(addr);
const paused = (addr: string): boolean => host!.paused(addr);
const f2bLines = (addr: string): string => host!.f2bLines(addr);
/** FreeSWITCH's own time of a log line (local time, as it writes it). */
const lineTime = (l: string): number => Date.parse(l.slice(0, 26).replace(' ', 'T'));

const sip = (peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> => host!.sip(peer, o);

test('setup: a running FreeSWITCH 1.10 configured live by the CLI; protected when it returns', async (t) => {
  assertRealHost();
  for (const bin of [FS, FS_CLI, '/usr/bin/svcrack', '/usr/bin/baresip', '/usr/bin/fail2ban-server', '/usr/sbin/nft', '/usr/bin/nsenter']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  // The admin's FreeSWITCH: vanilla, with make-conf.sh's minimal edits but log-auth-failures as shipped.
  host = await freeswitchHost({ prefix: 'h9f', server: SERVER, peers: PEERS, accounts: ACCOUNTS });
  // Before the tool: a wrong password is answered and logged nowhere.
  const before = await sip('one', { user: '1005', password: 'wrong', failures: 1, timeoutMs: 2000 });
  assert.deepEqual(before.attempts.map((a) => a.status), [401, 403]);
  await sleep(300);
  assert.deepEqual(failures(PEERS.one), [], 'before the tool: no failure logged');

  const t0 = Date.now();
  const r = host.cli(['--yes', '--services', 'freeswitch', '--whitelist', PEERS.fri, '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.jails.filter((j: string) => j.startsWith('voip-')), [JAIL]);
  assert.deepEqual(report.manualSteps ?? [], [], 'nothing left to do by hand');
  assert.match(r.stdout + r.stderr, /sofia profile internal rescan/, 'the running profile was rescanned');
  assert.doesNotMatch(r.stdout + r.stderr, /ClueCon/, 'the event socket password is printed nowhere');
  const jail = host.read('/etc/fail2ban/jail.local') ?? '';
  assert.match(jail, /^\s*voip-f2b-guard\.py\[port="%\(port\)s", window=2, office="\/opt\/freeswitch\/bin\/fs_cli -H 127\.0\.0\.1 -P 8021 -x 'show registrations as json'"\]$/m, 'the jail has the guard (offices: the running FreeSWITCH\'s registrations)');
  assert.match(jail, new RegExp(`^logpath\\s*=\\s*${LOG.replace(/\//g, '\\/')}$`, 'm'));
  // The first wrong password right after the CLI returned is logged and counted: no manual step.
  const one = await sip('one', { user: '1005', password: 'wrong', failures: 1, timeoutMs: 2000 });
  assert.deepEqual(one.attempts.map((a) => a.status), [401, 403]);
  const found = () => (host!.read('/var/log/fail2ban.log') ?? '').split('\n').filter((l) => / Found \S+/.test(l));
  assert.ok(await waitFor(() => found().some((l) => l.includes(`[${JAIL}] Found ${PEERS.one}`)), 20000), `counted: ${f2b('status', JAIL).stdout}\n${failures(PEERS.one).join('\n')}\n${found().join('\n')}`);
  assert.equal(found().length, 1, `one failure counted, nothing else: ${found().join('\n')}`);
  ready = true;
  t.diagnostic(`installed live and protected ${Date.now() - t0} ms after the CLI started (profiles rescanned by the CLI, no restart)`);
});

test('doctor: ok while the running profiles log failed passwords; broken once the running profile stops', async () => {
  assert.ok(ready, 'setup succeeded');
  const live = (out: string) => (JSON.parse(out) as { jails: Array<{ checks: Array<{ name: string; verdict: string; detail: string }> }> }).jails[0]!.checks.find((c) => c.name === 'the running FreeSWITCH logs failed passwords');
  const ok = host!.cli(['doctor', JAIL, '--no-ban-test', '--json']);
  assert.equal(live(ok.stdout)?.verdict, 'ok', ok.stdout);
  assert.doesNotMatch(ok.stdout + ok.stderr, /ClueCon/);
  // The running profile stops logging (the XML as before the tool, rescanned), then the XML is
  // put back as the tool left it WITHOUT a rescan: the files say ok, the running FreeSWITCH does not.
  const profile = '/etc/freeswitch/sip_profiles/internal.xml';
  const xml = host!.read(profile)!;
  host!.exec('sh', ['-c', `cat > ${profile}`], { input: xml.replace('<param name="log-auth-failures" value="true"/>', '<param name="log-auth-failures" value="false"/>') });
  assert.match(fsCli('sofia profile internal rescan').stdout, /scan complete/);
  host!.exec('sh', ['-c', `cat > ${profile}`], { input: xml });
  const broken = host!.cli(['doctor', JAIL, '--no-ban-test', '--json']);
  assert.notEqual(broken.status, 0, 'a broken verdict exits non-zero');
  const check = live(broken.stdout);
  assert.equal(check?.verdict, 'broken', broken.stdout);
  assert.match(check!.detail, /sofia profile internal .*wrote no "SIP auth failure" line in \/var\/log\/freeswitch\/freeswitch\.log/);
  // The doctor's probe comes from 127.0.0.1 (whitelisted): the server's own address is never counted or banned.
  assert.ok(!banned().includes(SERVER));
  // The fix it names: the running profile logs again.
  assert.match(fsCli('sofia profile internal rescan').stdout, /scan complete/);
  assert.equal(live(host!.cli(['doctor', JAIL, '--no-ban-test', '--json']).stdout)?.verdict, 'ok');
});

test('svcrack, the weak password 30th in its list: never cracked in 10 runs; guesses and time to ban per run', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const words = Array.from({ length: 404 }, (_, i) => (i === 29 ? WEAK : `guess${i + 1}`));
  writeFileSync(path.join(host!.tmp, 'words.txt'), `${words.join('\n')}\n`);
  const guesses: number[] = [];
  const delays: number[] = [];
  const bursts: number[] = [];
  for (let run = 1; run <= 10; run++) {
    const before = failures(PEERS.atk).length;
    // svcrack runs until it is banned (then nothing it sends is answered: it is stopped there).
    const crack = host!.peer('atk', '/usr/bin/svcrack', ['-u', '1001', '-d', path.join(host!.tmp, 'words.txt'), '--maximumtime', '30', SERVER], 60000);
    let done = false;
    let bannedAt = 0;
    void crack.then(() => (done = true));
    const t0 = Date.now();
    while (!done && !bannedAt && Date.now() - t0 < 20000) {
      if (inBanSet(PEERS.atk)) bannedAt = Date.now();
      await sleep(20);
    }
    crack.stop();
    const r = await crack;
    assert.doesNotMatch(r.out, new RegExp(WEAK), `run ${run}: the password was found:\n${r.out}`);
    assert.ok(await waitFor(() => banned().includes(PEERS.atk), 10000, 100), `run ${run}: svcrack banned: ${f2bLines(PEERS.atk)}`);
    if (!bannedAt) bannedAt = Date.now();
    // fail2ban lists a ban before its action's worker has put it in the set: wait for that (bounded).
    assert.ok(await waitFor(() => inBanSet(PEERS.atk), 5000), `run ${run}: in the firewall's ban set`);
    const mine = failures(PEERS.atk).slice(before);
    const answered = mine.length;
    const delay = mine.length ? bannedAt - lineTime(mine[0]!) : NaN;
    // The first burst: the guesses FreeSWITCH answered before the guard's pause stopped svcrack.
    const times = mine.map(lineTime);
    const burst = times.filter((x) => x - times[0]! < 1000);
    guesses.push(answered);
    if (burst.length) bursts.push(burst.at(-1)! - burst[0]!);
    if (Number.isFinite(delay)) delays.push(delay);
    t.diagnostic(`run ${run}: ${answered} guesses answered (the right one is 30th); first failure to the pause ${bursts.at(-1)} ms (${burst.length} guesses in it); banned ${Number.isFinite(delay) ? delay : '?'} ms after its first failure`);
    assert.ok(answered < 30, `run ${run}: ${answered} guesses`);
    // A fresh start for the next run: the admin unbans it with the CLI.
    const u = host!.cli(['unban', PEERS.atk]);
    assert.equal(u.status, 0, u.stderr);
    assert.ok(await waitFor(() => !inBanSet(PEERS.atk), 5000), `run ${run}: out of the ban set after unban (its pause ends with it)`);
  }
  t.diagnostic(`svcrack x10: guesses answered median ${median(guesses)}, worst ${Math.max(...guesses)}; first failure to the pause (no answer) median ${median(bursts)} ms, worst ${Math.max(...bursts)} ms; to the ban median ${median(delays)} ms, worst ${Math.max(...delays)} ms`);
  benchOut('freeswitch', { guesses, pauseMs: bursts, banMs: delays });
});

test('a phone with one typo (baresip): counted once, never banned; the fixed password registers', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const phone = baresipPhone(host!, 'pho', PEERS.pho, SERVER, '1002');
  const typo = { out: await phone.register('phone-Pass-2O26') }; // an O for a 0
  assert.match(typo.out, /40[13] /, typo.out);
  // FreeSWITCH's 403 comes before its log thread has written the failure: wait for it (bounded).
  assert.ok(await waitFor(() => failures(PEERS.pho).length >= 1, 5000), 'the typo was logged');
  const n = failures(PEERS.pho).length;
  await host!.pastPause(PEERS.pho);
  assert.ok(!banned().includes(PEERS.pho), `not banned: ${f2b('status', JAIL).stdout}`);
  const fixed = { out: await phone.register(ACCOUNTS['1002']!) };
  assert.match(fixed.out, /200 OK/, `the fixed password registers: ${fixed.out}`);
  assert.ok(!banned().includes(PEERS.pho));
  t.diagnostic(`phone: one typo, ${n} failure line(s) logged; fixed password: 200 OK`);
});

test('guessing spread over 5 addresses x 3 guesses on one account (right password 15th): not cracked', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const list = Array.from({ length: 15 }, (_, i) => (i === 14 ? WEAK : `spread${i + 1}`));
  const spread = ['d1', 'd2', 'd3', 'd4', 'd5'] as const;
  const found = await spreadGuesses(host!, [...spread], SERVER, '1003', list, WEAK);
  const answered = spread.reduce((n, p) => n + failures(PEERS[p], '1003').length, 0);
  assert.deepEqual(found, [], 'the password is never found');
  const log = host!.read('/var/log/fail2ban.log') ?? '';
  assert.match(log, /voip-f2b: account '1003@203\.0\.113\.1' is under attack|voip-f2b: account '1003' is under attack/, "the account under attack is said in fail2ban's log");
  const now = banned();
  const bannedSpread = (['d1', 'd2', 'd3', 'd4', 'd5'] as const).filter((p) => now.includes(PEERS[p]));
  assert.ok(bannedSpread.length >= 3, `the addresses guessing on it are banned: ${bannedSpread.join(', ')}`);
  t.diagnostic(`5 addresses x 3: ${answered} guesses answered of 15, password not found; banned: ${bannedSpread.join(', ')}`);
});

test('a monitoring system sending OPTIONS every 2 s: answered, never counted, never banned', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const answered = await optionsPings(host!, 'mon', PEERS.mon, SERVER, 10);
  assert.equal(answered, 10, 'every OPTIONS answered');
  assert.ok(!banned().includes(PEERS.mon));
  assert.doesNotMatch(host!.read('/var/log/fail2ban.log') ?? '', new RegExp(`Found ${PEERS.mon.replace(/\./g, '\\.')} `), 'never counted');
  t.diagnostic('monitoring: 10 OPTIONS over 20 s, all answered, none counted');
});

test('the whitelisted friend: 20 wrong passwords, every one answered, never paused or banned', async (t) => {
  assert.ok(ready, 'setup succeeded');
  // FreeSWITCH answers a wrong digest with 403 (the client then starts over): 20 requests, one wrong password each.
  for (let i = 0; i < 20; i++) {
    const r = await sip('fri', { user: '1004', password: `wrong${i}`, failures: 1, timeoutMs: 2000 });
    assert.deepEqual(r.attempts.map((a) => a.status), [401, 403], `wrong password ${i + 1} answered`);
  }
  assert.ok(await waitFor(() => failures(PEERS.fri).length >= 20, 5000), `each logged: ${failures(PEERS.fri).length}`);
  assert.ok(!paused(PEERS.fri), 'never paused');
  assert.ok(!banned().includes(PEERS.fri));
  const ok = await sip('fri', { user: '1004', password: ACCOUNTS['1004']!, failures: 1, timeoutMs: 2000 });
  assert.deepEqual(ok.attempts.map((a) => a.status), [401, 200]);
  t.diagnostic('friend: 20 wrong passwords answered (403), then 200 with the right one');
});

test('unban is a fresh start: an address unbanned by hand is not banned again by its next single failure', async (t) => {
  assert.ok(ready, 'setup succeeded');
  // 'one' failed once at setup; four more failures, each after the guard's pause (within it a
  // request gets no answer at all), ban it.
  for (let i = 0; i < 4; i++) {
    await host!.pastPause(PEERS.one);
    const r = await sip('one', { user: '1005', password: `wrong${i}`, failures: 1, timeoutMs: 1500 });
    assert.deepEqual(r.attempts.map((a) => a.status), [401, 403], `failure ${i + 2} answered`);
  }
  assert.ok(await waitFor(() => banned().includes(PEERS.one), 5000), `banned after ${MAXRETRY} failures: ${f2b('status', JAIL).stdout}\n${f2bLines(PEERS.one)}`);
  const u = host!.cli(['unban', PEERS.one]);
  assert.equal(u.status, 0, u.stderr);
  assert.ok(await waitFor(() => !inBanSet(PEERS.one), 5000));
  await host!.pastPause(PEERS.one);
  const r = await sip('one', { user: '1005', password: 'wrong-again', failures: 1, timeoutMs: 2000 });
  assert.deepEqual(r.attempts.map((a) => a.status), [401, 403], 'answered');
  await sleep(1500);
  assert.ok(!banned().includes(PEERS.one), `one line after the unban does not ban it again: ${f2b('status', JAIL).stdout}`);
  t.diagnostic('unbanned by hand, then one wrong password: counted as 1, not banned');
});

test('at the end: banned exactly the guessers; the friend, the phone and the monitoring system never', () => {
  assert.ok(ready, 'setup succeeded');
  const now = banned();
  for (const p of ['fri', 'pho', 'mon'] as const) assert.ok(!now.includes(PEERS[p]), `${p} not banned`);
  assert.ok(!now.includes(SERVER), 'the server itself (doctor\'s probe) never');
});

test('reference for npm run bench: svcrack against the same jail without its guard', async (t) => {
  if (!benchMode()) {
    t.skip('a benchmark reference, measured by npm run bench (it cracks the password on purpose)');
    return;
  }
  assert.ok(ready, 'setup succeeded');
  withoutGuard(host!);
  const runs: Array<{ guesses: number; cracked: boolean }> = [];
  for (const [run, peer] of (['r1', 'r2', 'r3'] as const).entries()) {
    freshFail2ban(host!);
    const before = failures(PEERS[peer]).length;
    const r = await host!.peer(peer, '/usr/bin/svcrack', ['-u', '1001', '-d', path.join(host!.tmp, 'words.txt'), '--maximumtime', '4', SERVER], 60000);
    runs.push({ guesses: failures(PEERS[peer]).length - before, cracked: r.out.includes(WEAK) });
    t.diagnostic(`plain jail, run ${run + 1}: ${runs.at(-1)!.guesses} guesses answered, ${runs.at(-1)!.cracked ? 'CRACKED' : 'not cracked'}`);
  }
  benchOut('freeswitch-plain', runs);
});
