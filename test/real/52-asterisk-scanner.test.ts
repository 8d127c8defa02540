/**
 * Real attackers against a real Asterisk 22 (PJSIP), configured by the CLI as an admin runs it.
 *
 *   - The Asterisk build of ../shared/asterisk (installed to /opt/asterisk by
 *     scripts/install-test-deps.sh) runs with the real paths (/etc/asterisk, /var/log/asterisk,
 *     /var/run/asterisk) in a PBX host made by asteriskHost() (test/helpers/pbx-servers.ts): its
 *     own network namespace and overlays of /etc and /var, so this machine's files never change.
 *   - The admin's logger.conf has no security channel and asterisk.conf starts with the stock
 *     `[directories](!)` template; Asterisk RUNS when the built CLI is run live there
 *     (`--yes --services asterisk --whitelist <friend>`, every other setting its default:
 *     maxretry 5, findtime 10m, bantime 1h): it must find the running Asterisk, reload its logger
 *     and start fail2ban with the guard.
 *   - One network namespace per peer: svcrack (10 runs), baresip (a phone with a typo), a
 *     whitelisted friend, a monitoring system sending OPTIONS, five addresses guessing one
 *     account, an address unbanned by hand.
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
import { AST, asteriskHost, type PbxServer } from '../helpers/pbx-servers.ts';
import { assertRealHost, sleep, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const { server: SERVER, peers: PEERS, accounts: ACCOUNTS, weak: WEAK } = SCANNER_CAST;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5;
const SECURITY = '/var/log/asterisk/security';

let host: PbxServer | null = null;
let ready = false;
after(async () => {
  if (host) await host.close();
});

const astConsole = (cmd: string) => host!.console(cmd);
const f2b = (...args: string[]) => host!.f2b(...args);
/** The security log's lines of one kind from `addr`. */
const events = (kind: string, addr: string): string[] =>
  (host!.read(SECURITY) ?? '').split('\n').filter((l) => l.includes(`SecurityEvent="${kind}"`) && l.includes(`RemoteAddress="IPV4/UDP/${addr}/`));
const banned = (): string[] => host!.banned();
const inBanSet = (addr: string): boolean => host!.inBanSet(addr);
const f2bLines = (addr: string): string => host!.f2bLines(addr);
const sip = (peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> => host!.sip(peer, o);

test('setup: a running Asterisk 22 configured live by the CLI; protected when it returns', async (t) => {
  assertRealHost();
  for (const bin of [AST, '/usr/bin/svcrack', '/usr/bin/baresip', '/usr/bin/fail2ban-server', '/usr/sbin/nft', '/usr/bin/nsenter']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  // The admin's Asterisk: the shared example configuration moved to the real paths; asterisk.conf
  // as shipped starts with a TEMPLATE `[directories](!)` (its values are not used), logger.conf
  // has no security channel.
  host = await asteriskHost({ prefix: 'h9a', server: SERVER, peers: PEERS, accounts: ACCOUNTS, templateDirectories: true });
  assert.equal(host.read(SECURITY), null, 'before the tool: Asterisk writes no security log');

  const t0 = Date.now();
  const r = host.cli(['--yes', '--services', 'asterisk', '--whitelist', PEERS.fri, '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.jails.filter((j: string) => j.startsWith('voip-')), ['voip-asterisk']);
  assert.deepEqual(report.manualSteps ?? [], [], 'nothing left to do by hand');
  const jail = host.read('/etc/fail2ban/jail.local') ?? '';
  assert.match(jail, /^\s*voip-f2b-guard\.py\[port="%\(port\)s", window=2, office="\/opt\/asterisk\/sbin\/asterisk -C \/etc\/asterisk\/asterisk\.conf -rx 'pjsip show contacts'", office_logins=1\]$/m, 'the jail has the guard (offices: the running Asterisk\'s console, its logins)');
  // The running logger writes the security log the jail reads: reloaded by the CLI itself.
  assert.match(astConsole('logger show channels').stdout, /^\/var\/log\/asterisk\/security\s+File\s+\S+\s+Enabled\s+- SECURITY/m);
  // The first wrong password right after the CLI returned is a counted failure.
  const one = await sip('one', { user: '1005', password: 'wrong', failures: 1, timeoutMs: 2000 });
  assert.deepEqual(one.attempts.map((a) => a.status), [401, 401]);
  assert.ok(await waitFor(() => /Currently failed:\s*1/.test(f2b('status', 'voip-asterisk').stdout), 20000), `counted: ${f2b('status', 'voip-asterisk').stdout}`);
  ready = true;
  t.diagnostic(`installed live and protected ${Date.now() - t0} ms after the CLI started (logger reloaded by the CLI)`);
});

test('doctor: ok while Asterisk writes the jail\'s logs; broken once the running logger stops writing the security log', async () => {
  assert.ok(ready, 'setup succeeded');
  const ok = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
  const okReport = JSON.parse(ok.stdout);
  const live = (rep: { jails: Array<{ checks: Array<{ name: string; verdict: string; detail: string }> }> }) =>
    rep.jails[0]!.checks.find((c) => c.name === 'the running Asterisk writes these logs');
  assert.equal(live(okReport)?.verdict, 'ok', ok.stdout);
  // The admin takes the security channel out and reloads: logger.conf and the running logger
  // agree, but nothing reaches the log the jail reads.
  const conf = host!.read('/etc/asterisk/logger.conf')!;
  host!.exec('sh', ['-c', 'cat > /etc/asterisk/logger.conf'], { input: conf.replace(/^security\s*=>.*$/m, '') });
  assert.equal(astConsole('logger reload').status, 0);
  const broken = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
  assert.notEqual(broken.status, 0, 'a broken verdict exits non-zero');
  const check = live(JSON.parse(broken.stdout));
  assert.equal(check?.verdict, 'broken', broken.stdout);
  assert.match(check!.detail, /writes no \/var\/log\/asterisk\/security/);
  // The admin re-runs the tool: logger.conf and the running logger are put right again.
  const again = host!.cli(['--yes', '--services', 'asterisk', '--whitelist', PEERS.fri]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(astConsole('logger show channels').stdout, /^\/var\/log\/asterisk\/security\s+File/m);
});

/** Times (ms) of the failure events of `addr` in the security log (EventTV) since `since`. */
const failureTimes = (addr: string, since: number): number[] =>
  events('ChallengeResponseFailed', addr).map((l) => Date.parse(/EventTV="([^"]+)"/.exec(l)?.[1]?.replace(/\+0000$/, 'Z') ?? '')).filter((t) => t >= since);

/** ms from the first failure event of `addr` in the security log (EventTV) to fail2ban's Ban of it. */
function banDelay(addr: string, since: number): number | null {
  const first = failureTimes(addr, since)[0];
  const log = host!.read('/var/log/fail2ban.log') ?? '';
  const bans = [...log.matchAll(new RegExp(`^(\\d{4}-\\d\\d-\\d\\d) (\\d\\d:\\d\\d:\\d\\d),(\\d{3}) .*\\] Ban ${addr.replace(/\./g, '\\.')}$`, 'gm'))].map((m) => Date.parse(`${m[1]}T${m[2]}.${m[3]}Z`));
  const ban = bans.find((t) => first !== undefined && t >= first);
  return first !== undefined && ban !== undefined ? ban - first : null;
}


test('svcrack, the weak password 30th in its list: never cracked in 10 runs; guesses and time to ban per run', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const words = Array.from({ length: 404 }, (_, i) => (i === 29 ? WEAK : `guess${i + 1}`));
  writeFileSync(path.join(host!.tmp, 'words.txt'), `${words.join('\n')}\n`);
  const guesses: number[] = [];
  const delays: number[] = [];
  const bursts: number[] = [];
  for (let run = 1; run <= 10; run++) {
    const before = events('ChallengeResponseFailed', PEERS.atk).length;
    const t0 = Date.now();
    // svcrack runs until it is banned (then nothing it sends is answered: it is stopped there).
    const crack = host!.peer('atk', '/usr/bin/svcrack', ['-u', '1001', '-d', path.join(host!.tmp, 'words.txt'), '--maximumtime', '30', SERVER], 60000);
    const isBanned = await waitFor(() => banned().includes(PEERS.atk), 20000, 100);
    crack.stop();
    const r = await crack;
    assert.doesNotMatch(r.out, /letmein2024/, `run ${run}: the password was found:\n${r.out}`);
    assert.ok(isBanned, `run ${run}: svcrack banned`);
    // fail2ban lists a ban before its action's worker has put it in the set: wait for that (bounded).
    assert.ok(await waitFor(() => inBanSet(PEERS.atk), 5000), `run ${run}: in the firewall's ban set`);
    const answered = events('ChallengeResponseFailed', PEERS.atk).length - before;
    const delay = banDelay(PEERS.atk, t0);
    // The first burst: the guesses Asterisk answered before the guard's pause stopped svcrack.
    const times = failureTimes(PEERS.atk, t0);
    const burst = times.filter((x) => x - times[0]! < 1000);
    guesses.push(answered);
    bursts.push(burst.at(-1)! - burst[0]!);
    if (delay !== null) delays.push(delay);
    t.diagnostic(`run ${run}: ${answered} guesses answered (the right one is 30th); first failure to the pause ${bursts.at(-1)} ms (${burst.length} guesses in it); banned ${delay ?? '?'} ms after its first failure`);
    assert.ok(answered < 30, `run ${run}: ${answered} guesses`);
    // A fresh start for the next run: the admin unbans it with the CLI.
    const u = host!.cli(['unban', PEERS.atk]);
    assert.equal(u.status, 0, u.stderr);
    assert.ok(await waitFor(() => !inBanSet(PEERS.atk), 5000), `run ${run}: out of the ban set after unban`);
  }
  t.diagnostic(`svcrack x10: guesses answered median ${median(guesses)}, worst ${Math.max(...guesses)}; first failure to the pause (no answer) median ${median(bursts)} ms, worst ${Math.max(...bursts)} ms; to the ban median ${median(delays)} ms, worst ${Math.max(...delays)} ms`);
  benchOut('asterisk', { guesses, pauseMs: bursts, banMs: delays });
});

test('a phone with one typo (baresip): its burst counts once, never banned; the fixed password registers', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const phone = baresipPhone(host!, 'pho', PEERS.pho, SERVER, '1002');
  const typo = { out: await phone.register('phone-Pass-2O26') }; // an O for a 0
  assert.match(typo.out, /401 Unauthorized/, typo.out);
  const failures = events('ChallengeResponseFailed', PEERS.pho).length;
  assert.ok(failures >= 2, `baresip sent its burst: ${failures} failures logged`);
  await host!.pastPause(PEERS.pho);
  const status = f2b('status', 'voip-asterisk').stdout;
  assert.ok(!banned().includes(PEERS.pho), `not banned: ${status}`);
  const fixed = { out: await phone.register(ACCOUNTS['1002']!) };
  assert.match(fixed.out, /200 OK/, `the fixed password registers: ${fixed.out}`);
  assert.ok(!banned().includes(PEERS.pho));
  t.diagnostic(`phone: one typo, ${failures} failures logged in its burst, counted once; fixed password: 200 OK`);
});

test('guessing spread over 5 addresses x 3 guesses on one account (right password 15th): not cracked', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const list = Array.from({ length: 15 }, (_, i) => (i === 14 ? WEAK : `spread${i + 1}`));
  const spread = ['d1', 'd2', 'd3', 'd4', 'd5'] as const;
  const found = await spreadGuesses(host!, [...spread], SERVER, '1003', list, WEAK);
  const answered = spread.reduce((n, p) => n + events('ChallengeResponseFailed', PEERS[p]).length, 0);
  assert.deepEqual(found, [], 'the password is never found');
  const log = host!.read('/var/log/fail2ban.log') ?? '';
  assert.match(log, /voip-f2b: account '1003' is under attack/, 'the account under attack is said in fail2ban\'s log');
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
  const r = await sip('fri', { user: '1004', password: 'wrong', failures: 20, timeoutMs: 2000 });
  assert.deepEqual(r.attempts.filter((a) => a.kind === 'digest').map((a) => a.status), Array(20).fill(401));
  assert.ok(!banned().includes(PEERS.fri));
  const ok = await sip('fri', { user: '1004', password: ACCOUNTS['1004']!, failures: 1, timeoutMs: 2000 });
  assert.deepEqual(ok.attempts.map((a) => a.status), [401, 200]);
  t.diagnostic('friend: 20 wrong passwords answered (401), then 200 with the right one');
});

test('unban is a fresh start: an address unbanned by hand is not banned again by its next single failure', async (t) => {
  assert.ok(ready, 'setup succeeded');
  // Failures, each after the guard's pause (within it a request gets no answer at all), until
  // banned: at most maxretry (the one of the setup may still count).
  for (let i = 0; i < MAXRETRY && !banned().includes(PEERS.one); i++) {
    const r = await sip('one', { user: '1005', password: `wrong${i}`, failures: 1, timeoutMs: 1500 });
    assert.deepEqual(r.attempts.map((a) => a.status), [401, 401], `failure ${i + 1} answered`);
    await host!.pastPause(PEERS.one); // fail2ban has read it (and banned on the last) by then
  }
  assert.ok(await waitFor(() => banned().includes(PEERS.one), 5000), `banned after ${MAXRETRY} failures: ${f2b('status', 'voip-asterisk').stdout}\n${f2bLines(PEERS.one)}`);
  const u = host!.cli(['unban', PEERS.one]);
  assert.equal(u.status, 0, u.stderr);
  assert.ok(await waitFor(() => !inBanSet(PEERS.one), 5000));
  const r = await sip('one', { user: '1005', password: 'wrong-again', failures: 1, timeoutMs: 2000 });
  assert.deepEqual(r.attempts.map((a) => a.status), [401, 401], 'answered');
  await sleep(1500);
  assert.ok(!banned().includes(PEERS.one), `one line after the unban does not ban it again: ${f2b('status', 'voip-asterisk').stdout}`);
  t.diagnostic('unbanned by hand, then one wrong password: counted as 1, not banned');
});

test('doctor after the attack: ok, no warning for the failure lines count=once skips on purpose', (t) => {
  assert.ok(ready, 'setup succeeded');
  const r = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
  const report = JSON.parse(r.stdout);
  const filter = report.jails[0].checks.find((c: { name: string }) => c.name.startsWith('filter '));
  assert.deepEqual(report.jails[0].checks.filter((c: { verdict: string }) => c.verdict !== 'ok'), [], r.stdout);
  assert.equal(report.verdict, 'ok', r.stdout);
  assert.equal(r.status, 0);
  t.diagnostic(`doctor after the attack: ${filter.detail}`);
});

test('doctor: Asterisk running but its logger not reloaded (logger.conf has the security channel, the running logger does not): not ok, exit 1 (--nagios: 2); ok once reloaded; the watch tells it once, and its recovery', (t) => {
  assert.ok(ready, 'setup succeeded');
  // The watch as its timer runs it: what it reports about the logs Asterisk holds open.
  type Problem = { key: string; severity: string; message: string };
  const watchRound = (): { raised: Problem[]; cleared: Problem[]; problems: Problem[] } => {
    const w = host!.cli(['watch', '--once', '--json']);
    assert.ok(w.stdout.trim().startsWith('{'), `${w.stderr}\n${w.stdout}`);
    return JSON.parse(w.stdout);
  };
  const logsOpen = (ps: Problem[]) => ps.filter((p) => /does not have \/var\/log\/asterisk\/security open/.test(p.message));
  assert.deepEqual(logsOpen(watchRound().problems), [], 'before: nothing to tell about the logs');
  const conf = host!.read('/etc/asterisk/logger.conf')!;
  assert.match(conf, /^security\s*=>/m);
  // The running logger drops the security channel (and closes the file) ...
  host!.exec('sh', ['-c', 'cat > /etc/asterisk/logger.conf'], { input: conf.replace(/^security\s*=>.*$/m, '') });
  assert.equal(astConsole('logger reload').status, 0);
  // ... and logger.conf gets it back, not reloaded: what the tool leaves when it cannot reload.
  host!.exec('sh', ['-c', 'cat > /etc/asterisk/logger.conf'], { input: conf });
  try {
    const r = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
    assert.equal(r.status, 1, `${r.stderr}\n${r.stdout}`);
    const report = JSON.parse(r.stdout);
    assert.equal(report.verdict, 'broken');
    const open = report.jails[0].checks.find((c: { name: string }) => c.name === 'Asterisk has its logs open');
    assert.equal(open?.verdict, 'broken', r.stdout);
    assert.match(open.detail, /does not have \/var\/log\/asterisk\/security open/);
    const n = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--nagios']);
    assert.equal(n.status, 2, n.stdout);
    assert.match(n.stdout, /^VOIP-F2B CRITICAL - voip-asterisk broken: /);
    t.diagnostic(`logger not reloaded: ${open.detail}`);
    // The service stopped writing the log the jail reads: told at the next round, once, as broken.
    const first = watchRound();
    assert.equal(logsOpen(first.raised).length, 1, JSON.stringify(first));
    assert.equal(logsOpen(first.raised)[0]!.severity, 'broken');
    const second = watchRound();
    assert.equal(logsOpen(second.problems).length, 1, 'still broken');
    assert.deepEqual(logsOpen(second.raised), [], 'told once: nothing raised again');
  } finally {
    assert.equal(astConsole('logger reload').status, 0);
  }
  const recovered = watchRound();
  assert.equal(logsOpen(recovered.cleared).length, 1, `the recovery is told: ${JSON.stringify(recovered)}`);
  assert.deepEqual(logsOpen(recovered.problems), []);
  const ok = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
  assert.equal(ok.status, 0, ok.stdout);
  assert.equal(JSON.parse(ok.stdout).jails[0].checks.find((c: { name: string }) => c.name === 'Asterisk has its logs open')?.verdict, 'ok', ok.stdout);
});

test('at the end: banned exactly the guessers; the friend, the phone and the monitoring system never', () => {
  assert.ok(ready, 'setup succeeded');
  const now = banned();
  for (const p of ['fri', 'pho', 'mon'] as const) assert.ok(!now.includes(PEERS[p]), `${p} not banned`);
  assert.equal(host!.read('/var/log/not-asterisk/security'), null, 'the template\'s astlogdir was never used');
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
    const before = events('ChallengeResponseFailed', PEERS[peer]).length;
    const r = await host!.peer(peer, '/usr/bin/svcrack', ['-u', '1001', '-d', path.join(host!.tmp, 'words.txt'), '--maximumtime', '4', SERVER], 60000);
    runs.push({ guesses: events('ChallengeResponseFailed', PEERS[peer]).length - before, cracked: r.out.includes(WEAK) });
    t.diagnostic(`plain jail, run ${run + 1}: ${runs.at(-1)!.guesses} guesses answered, ${runs.at(-1)!.cracked ? 'CRACKED' : 'not cracked'}`);
  }
  benchOut('asterisk-plain', runs);
});
