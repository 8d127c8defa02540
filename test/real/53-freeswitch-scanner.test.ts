/**
 * Real attackers against a real FreeSWITCH 1.10 (mod_sofia), configured by the CLI as an admin runs it.
 *
 *   - The FreeSWITCH build of ../shared/freeswitch (installed to /opt/freeswitch by
 *     scripts/install-test-deps.sh) runs with the real paths of a packaged FreeSWITCH
 *     (/etc/freeswitch, /var/log/freeswitch, /run/freeswitch, given with -conf/-log/-run as a
 *     packaged unit does) in a PBX host made by test/helpers/pbx-host.ts: its own network
 *     namespace and overlays of /etc and /var, so this machine's files never change.
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
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { benchMode, benchOut, freshFail2ban, median, withoutGuard } from '../helpers/bench-out.ts';
import { baresipPhone, optionsPings, spreadGuesses } from '../helpers/sip-peers.ts';
import { inNftSet, makePbxHost, type PbxHost } from '../helpers/pbx-host.ts';
import { assertRealHost, sh, sleep, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const SERVER = '203.0.113.1';
const PEERS = {
  atk: '203.0.113.2', // svcrack, 10 runs (unbanned by the CLI between runs)
  pho: '203.0.113.3', // baresip with one typo
  fri: '203.0.113.4', // whitelisted
  mon: '203.0.113.5', // a monitoring system: OPTIONS every 2 s
  one: '203.0.113.6', // banned, unbanned by hand, then one more wrong password
  d1: '203.0.113.11', // five addresses, three guesses each, on one account
  d2: '203.0.113.12',
  d3: '203.0.113.13',
  d4: '203.0.113.14',
  d5: '203.0.113.15',
  r1: '203.0.113.21', // npm run bench only: svcrack against the jail without its guard, one address a run
  r2: '203.0.113.22',
  r3: '203.0.113.23',
} as const;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5;
const WEAK = 'letmein2024';
const ACCOUNTS: Record<string, string> = { '1001': WEAK, '1002': 'phone-Pass-2026', '1003': WEAK, '1004': 'friend-Pass-2026', '1005': 'one-Pass-2026' };
const FS = '/opt/freeswitch/bin/freeswitch';
const FS_CLI = '/opt/freeswitch/bin/fs_cli';
const VANILLA = existsSync('/opt/freeswitch/etc/freeswitch.vanilla') ? '/opt/freeswitch/etc/freeswitch.vanilla' : '/opt/freeswitch/etc/freeswitch';
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const LOG = '/var/log/freeswitch/freeswitch.log';
const JAIL = 'voip-freeswitch';

let host: PbxHost | null = null;
let ready = false;
after(async () => {
  if (host) {
    // FreeSWITCH first, through its console (it stops in ~5 s); close() then stops what is left by PID.
    fsCli('shutdown');
    await host.close();
  }
});

const fsCli = (cmd: string) => host!.exec(FS_CLI, ['-H', '127.0.0.1', '-P', '8021', '-x', cmd], { timeoutMs: 20000 });
const f2b = (...args: string[]) => host!.exec('fail2ban-client', args, { timeoutMs: 30000 });
const logLines = (): string[] => (host!.read(LOG) ?? '').split('\n');
/** "SIP auth failure" lines from `addr` (optionally for one account). */
const failures = (addr: string, user = ''): string[] =>
  logLines().filter((l) => l.includes('SIP auth failure') && l.endsWith(`from ip ${addr}`) && l.includes(`for [${user}`));
const banned = (): string[] => /Banned IP list:\s*(.*)$/m.exec(f2b('status', JAIL).stdout)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
/** The firewall drops `addr` for the jail: a member of the set-based ban action's set (ipset or nftables). */
const inBanSet = (addr: string): boolean =>
  host!.exec('ipset', ['test', `f2b-${JAIL}4`, addr]).status === 0 || inNftSet(host!.exec('nft', ['list', 'set', 'inet', `f2b-${JAIL}`, 'a4']).stdout, addr);
/** The guard holds `addr` paused (its nftables set, or its ipset). */
const paused = (addr: string): boolean =>
  inNftSet(host!.exec('nft', ['list', 'set', 'inet', `f2bg-${JAIL}`, 'p4']).stdout, addr) || host!.exec('ipset', ['test', `f2bg-${JAIL}4`, addr]).status === 0;
const f2bLines = (addr: string): string => (host!.read('/var/log/fail2ban.log') ?? '').split('\n').filter((l) => l.includes(addr) || l.includes('guard')).slice(-20).join('\n');
/** FreeSWITCH's own time of a log line (local time, as it writes it). */
const lineTime = (l: string): number => Date.parse(l.slice(0, 26).replace(' ', 'T'));

async function sip(peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> {
  const r = await host!.peer(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, ...o })], 15000 + (o.failures + 1) * o.timeoutMs);
  assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
  return JSON.parse(r.out) as SipRunResult;
}

/** `text` with `from` replaced; fails when `from` is not there (the vanilla file changed). */
function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `${file}: ${String(from)} not found`);
  writeFileSync(file, text.replace(from, to));
}

/** The admin's FreeSWITCH: vanilla, with make-conf.sh's minimal edits but log-auth-failures as shipped. */
function prepare(etc: string, v: string): void {
  const c = path.join(etc, 'freeswitch');
  cpSync(VANILLA, c, { recursive: true });
  edit(path.join(c, 'vars.xml'), '<X-PRE-PROCESS cmd="set" data="default_password=1234"/>', `<X-PRE-PROCESS cmd="set" data="default_password=unused-not-1234"/>\n  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${SERVER}"/>`);
  edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_rtp_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_rtp_ip=${SERVER}"`);
  edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_sip_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_sip_ip=${SERVER}"`);
  for (const f of ['internal-ipv6.xml', 'external-ipv6.xml', 'external-ipv6']) rmSync(path.join(c, 'sip_profiles', f), { recursive: true, force: true });
  assert.match(readFileSync(path.join(c, 'sip_profiles/internal.xml'), 'utf8'), /<param name="log-auth-failures" value="false"\/>/, 'log-auth-failures as shipped');
  const users = path.join(c, 'directory/default');
  for (const f of readdirSync(users)) if (!Object.keys(ACCOUNTS).some((id) => f === `${id}.xml`)) rmSync(path.join(users, f), { recursive: true, force: true });
  for (const [id, pw] of Object.entries(ACCOUNTS)) edit(path.join(users, `${id}.xml`), '<param name="password" value="$${default_password}"/>', `<param name="password" value="${pw}"/>`);
  const dir = path.join(c, 'directory/default.xml');
  writeFileSync(dir, readFileSync(dir, 'utf8').replace(/^.*<user id="([^"]+)" type="pointer"\/>.*\n/gm, (line, id: string) => (id in ACCOUNTS ? line : '')));
  writeFileSync(
    path.join(c, 'autoload_configs/modules.conf.xml'),
    `<configuration name="modules.conf" description="Modules">\n  <modules>\n${['console', 'logfile', 'event_socket', 'sofia', 'loopback', 'commands', 'dptools', 'dialplan_xml'].map((m) => `    <load module="mod_${m}"/>\n`).join('')}  </modules>\n</configuration>\n`,
  );
  edit(path.join(c, 'autoload_configs/event_socket.conf.xml'), '<param name="listen-ip" value="::"/>', '<param name="listen-ip" value="127.0.0.1"/>');
  for (const d of ['log/freeswitch', 'lib/freeswitch/db', 'lib/freeswitch/storage', 'lib/freeswitch/recordings', 'cache/freeswitch']) mkdirSync(path.join(v, d), { recursive: true });
}

test('setup: a running FreeSWITCH 1.10 configured live by the CLI; protected when it returns', async (t) => {
  assertRealHost();
  for (const bin of [FS, FS_CLI, '/usr/bin/svcrack', '/usr/bin/baresip', '/usr/bin/fail2ban-server', '/usr/sbin/nft', '/usr/bin/nsenter']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  host = await makePbxHost('h9f', `${SERVER}/24`, PEERS, prepare);
  host.exec('mkdir', ['-p', '/run/freeswitch']);
  // As a packaged unit runs it (-nf -nc: in the foreground, no console), with the real paths.
  const fs = host.start('freeswitch', FS, [
    '-nf', '-nc', '-nonat', '-lp',
    '-conf', '/etc/freeswitch', '-log', '/var/log/freeswitch', '-run', '/run/freeswitch', '-db', '/var/lib/freeswitch/db',
    '-storage', '/var/lib/freeswitch/storage', '-recordings', '/var/lib/freeswitch/recordings', '-cache', '/var/cache/freeswitch', '-temp', '/tmp',
  ]);
  assert.ok(await waitFor(() => /internal\s+profile\s+\S+\s+RUNNING/.test(fsCli('sofia status').stdout) || fs.exitCode !== null, 30000, 250), `FreeSWITCH starts: ${fs.output()}`);
  assert.equal(fs.exitCode, null, fs.output());
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
  assert.ok(await waitFor(() => found().some((l) => l.includes(`[${JAIL}] Found ${PEERS.one}`)), 5000), `counted: ${f2b('status', JAIL).stdout}\n${failures(PEERS.one).join('\n')}\n${found().join('\n')}`);
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
    assert.ok(inBanSet(PEERS.atk), `run ${run}: in the firewall's ban set`);
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
  const n = failures(PEERS.pho).length;
  assert.ok(n >= 1, `the typo was logged: ${n}`);
  await sleep(2500); // past the pause
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
    await sleep(2100);
    const r = await sip('one', { user: '1005', password: `wrong${i}`, failures: 1, timeoutMs: 1500 });
    assert.deepEqual(r.attempts.map((a) => a.status), [401, 403], `failure ${i + 2} answered`);
  }
  assert.ok(await waitFor(() => banned().includes(PEERS.one), 5000), `banned after ${MAXRETRY} failures: ${f2b('status', JAIL).stdout}\n${f2bLines(PEERS.one)}`);
  const u = host!.cli(['unban', PEERS.one]);
  assert.equal(u.status, 0, u.stderr);
  assert.ok(await waitFor(() => !inBanSet(PEERS.one), 5000));
  await sleep(2100);
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
