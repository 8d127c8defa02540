/**
 * An office behind one address against a real Asterisk 22 (PJSIP), then a real FreeSWITCH 1.10, configured live by the CLI
 * with every setting its default (maxretry 5, findtime 10m): a registered phone (baresip, the
 * right password) and a misconfigured phone (a wrong password, retrying) share ONE address (one
 * network namespace). The guard learns the office from the running Asterisk's console (`pjsip
 * show contacts`, refreshed every 30 s by its own thread) and the security log's logins; the
 * office is not banned, fail2ban's log and the guard's state file say which account keeps
 * failing; a scanner from another address is still banned at maxretry; a flood from the office
 * is banned at its own threshold (10 x maxretry). FreeSWITCH the same way, its office learnt from
 * `fs_cli -x "show registrations as json"` (the address each REGISTER came from).
 *
 * Built like test/real/52-asterisk-scanner.test.ts: asteriskHost() and freeswitchHost() of
 * test/helpers/pbx-servers.ts, their own namespaces (prefixes vof, vofs), overlays of /etc and
 * /var; 203.0.113.0/24 on links made here only.
 * Every process started is stopped by its PID; the namespaces and overlays are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { AST, asteriskHost, FS, FS_CLI, freeswitchHost, type PbxServer } from '../helpers/pbx-servers.ts';
import { baresipPhone } from '../helpers/sip-peers.ts';
import { assertRealHost, sleep, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const SERVER = '203.0.113.1';
const PEERS = {
  off: '203.0.113.5', // the office: a registered phone and a misconfigured one
  atk: '203.0.113.2', // a scanner (svcrack)
} as const;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5;
const OFFICE_MAXRETRY = 10 * MAXRETRY;
const WEAK = 'letmein2024';
const ACCOUNTS: Record<string, string> = { '1001': WEAK, '1002': 'desk-Pass-2026', '1003': 'lobby-Pass-2026' };
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const SECURITY = '/var/log/asterisk/security';
const STATE = '/var/lib/voip-f2b-install/office-voip-asterisk.json';

let host: PbxServer | null = null;
let ready = false;
let officeKnown = false;
/** The registered phone: baresip running (registered) until the end. */
let deskPhone: (Promise<{ code: number | null; out: string; ms: number }> & { stop(): void }) | null = null;
after(async () => {
  if (deskPhone) {
    deskPhone.stop();
    await deskPhone;
  }
  if (host) await host.close();
  if (fsHost) await fsHost.close();
});

const astConsole = (cmd: string) => host!.console(cmd);
const f2b = (...args: string[]) => host!.f2b(...args);
const banned = (): string[] => host!.banned();
const failures = (addr: string): number =>
  (host!.read(SECURITY) ?? '').split('\n').filter((l) => l.includes('SecurityEvent="ChallengeResponseFailed"') && l.includes(`RemoteAddress="IPV4/UDP/${addr}/`)).length;
const f2bLog = (): string => host!.f2bLog();
/** The guard holds `addr` paused (its nftables set, or its ipset). */
const paused = (addr: string): boolean => host!.paused(addr);
/** fail2ban counted a failure of `addr` (its "Found" lines). */
const found = (addr: string): number => f2bLog().split('\n').filter((l) => l.includes(`[voip-asterisk] Found ${addr} `)).length;

interface OfficeState {
  version: number;
  console: string;
  maxretry: number;
  officeMaxretry: number;
  offices: Array<{ address: string; registered: boolean; lastLogin: number | null; failures: number; accounts: Array<{ account: string; failures: number; last: number }> }>;
}
const state = (): OfficeState | null => {
  const t = host!.read(STATE);
  return t ? (JSON.parse(t) as OfficeState) : null;
};
const office = (addr: string) => state()?.offices.find((o) => o.address === addr);

const sip = (peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> => host!.sip(peer, o);

test('setup: a running Asterisk 22 configured live by the CLI; the guard gets its console and its logins', async (t) => {
  assertRealHost();
  for (const bin of [AST, '/usr/bin/svcrack', '/usr/bin/baresip', '/usr/bin/fail2ban-server', '/usr/sbin/nft', '/usr/bin/nsenter']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  // The admin's Asterisk: the shared example configuration moved to the real paths (as in 52).
  host = await asteriskHost({ prefix: 'vof', server: SERVER, peers: PEERS, accounts: ACCOUNTS });

  const r = host.cli(['--yes', '--services', 'asterisk', '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const jail = host.read('/etc/fail2ban/jail.local') ?? '';
  assert.match(
    jail,
    /^\s*voip-f2b-guard\.py\[port="%\(port\)s", window=2, office="\/opt\/asterisk\/sbin\/asterisk -C \/etc\/asterisk\/asterisk\.conf -rx 'pjsip show contacts'", office_logins=1\]$/m,
    'the guard has the running Asterisk\'s console and its logins',
  );
  assert.match(f2b('status', 'voip-asterisk').stdout, /Currently failed:\s*0/);
  ready = true;
  t.diagnostic('installed live: the guard runs the console of the running Asterisk (its own program) for registered devices');
});

test('the registered phone (baresip, right password) makes its address an office within one refresh', async (t) => {
  assert.ok(ready, 'setup succeeded');
  // baresip, left running (it unregisters when it quits).
  deskPhone = baresipPhone(host!, 'off', PEERS.off, SERVER, '1002').stay(ACCOUNTS['1002']!, 900);
  const contact = new RegExp(`1002/sip:1002[^@\\s]*@${PEERS.off.replace(/\./g, '\\.')}:5060`);
  assert.ok(await waitFor(() => contact.test(astConsole('pjsip show contacts').stdout), 10000, 250), `registered: ${astConsole('pjsip show contacts').stdout}`);
  const t0 = Date.now();
  officeKnown = await waitFor(() => office(PEERS.off) !== undefined, 40000, 500);
  assert.ok(officeKnown, `the state file lists the office within one refresh (30 s): ${host!.read(STATE)}\n${f2bLog().split('\n').filter((l) => l.includes('guard')).join('\n')}`);
  const o = office(PEERS.off)!;
  assert.equal(o.registered, true, 'registered: pjsip show contacts');
  assert.ok(o.lastLogin !== null && Math.abs(o.lastLogin * 1000 - Date.now()) < 120000, `its login seen in the security log: ${JSON.stringify(o)}`);
  assert.equal(state()!.console, 'ok');
  assert.equal(state()!.officeMaxretry, OFFICE_MAXRETRY);
  // What one refresh costs: the console command the guard runs every 30 s (wall time).
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t1 = process.hrtime.bigint();
    astConsole('pjsip show contacts');
    times.push(Number(process.hrtime.bigint() - t1) / 1e6);
  }
  times.sort((a, b) => a - b);
  t.diagnostic(`office known ${Date.now() - t0} ms after the phone registered (refresh every 30 s); the console command takes ${times[2]!.toFixed(1)} ms (median of 5, through nsenter)`);
});

test('a misconfigured phone behind the same address (12 wrong passwords, retrying): not banned; fail2ban\'s log and the state file name its account', async (t) => {
  assert.ok(officeKnown, 'the office is known');
  const t0 = Date.now();
  const before = failures(PEERS.off);
  for (let i = 0; i < 12; i++) {
    await host!.pastPause(PEERS.off); // past the pause of its last failure, as a phone retrying later
    const r = await sip('off', { user: '1003', password: 'lobby-Pass-2O26', failures: 1, timeoutMs: 2000 });
    assert.deepEqual(r.attempts.map((a) => a.status), [401, 401], `attempt ${i + 1} answered: the office is not banned`);
  }
  await sleep(1500);
  const n = failures(PEERS.off) - before;
  assert.ok(n >= 12, `12 failures logged: ${n}`);
  assert.ok(!banned().includes(PEERS.off), `the office is not banned: ${f2b('status', 'voip-asterisk').stdout}`);
  const log = f2bLog();
  assert.match(log, new RegExp(`WARNING \\[voip-asterisk\\] voip-f2b-guard: office ${PEERS.off.replace(/\./g, '\\.')} has a registered device; account '1003' keeps failing \\(10 of 50 failures that ban the address\\)`), log.split('\n').filter((l) => l.includes('guard')).join('\n'));
  assert.ok(await waitFor(() => (office(PEERS.off)?.accounts.find((a) => a.account === '1003')?.failures ?? 0) >= 12, 5000), `the state file: ${host!.read(STATE)}`);
  assert.deepEqual(office(PEERS.off)!.accounts.map((a) => a.account), ['1003'], 'only the misconfigured phone\'s account fails');
  // The watch tells the admin which phone keeps failing, from the guard's line (one problem per office and account).
  const w = host!.cli(['watch', '--once', '--json']);
  const watchReport = JSON.parse(w.stdout) as { problems: Array<{ key: string; message: string }> };
  const told = watchReport.problems.filter((p) => p.key.startsWith('office:'));
  assert.deepEqual(told.map((p) => p.key), [`office:voip-asterisk:${PEERS.off}:1003`], `${w.stderr}\n${w.stdout}`);
  assert.match(told[0]!.message, /keeps failing on account 1003/);
  // The registered phone is still registered from the office.
  assert.match(astConsole('pjsip show contacts').stdout, new RegExp(`1002/sip:1002[^@\\s]*@${PEERS.off.replace(/\./g, '\\.')}:5060`));
  t.diagnostic(`misconfigured phone: ${n} failures over ${Math.round((Date.now() - t0) / 1000)} s, not banned; warned at 5 and 10; state: ${JSON.stringify(office(PEERS.off))}`);
});

test('a scanner from another address is still banned at maxretry', async (t) => {
  assert.ok(ready, 'setup succeeded');
  const words = Array.from({ length: 404 }, (_, i) => (i === 29 ? WEAK : `guess${i + 1}`));
  writeFileSync(path.join(host!.tmp, 'words.txt'), `${words.join('\n')}\n`);
  const t0 = Date.now();
  const crack = host!.peer('atk', '/usr/bin/svcrack', ['-u', '1001', '-d', path.join(host!.tmp, 'words.txt'), '--maximumtime', '30', SERVER], 60000);
  const isBanned = await waitFor(() => banned().includes(PEERS.atk), 20000, 100);
  crack.stop();
  const r = await crack;
  assert.ok(isBanned, `svcrack banned: ${f2b('status', 'voip-asterisk').stdout}`);
  assert.doesNotMatch(r.out, new RegExp(WEAK), 'never cracked');
  const guesses = failures(PEERS.atk);
  assert.ok(guesses < 30, `${guesses} guesses answered`);
  assert.match(f2bLog(), new RegExp(`\\] Ban ${PEERS.atk.replace(/\./g, '\\.')}$`, 'm'));
  assert.ok(!banned().includes(PEERS.off), 'the office still not banned');
  t.diagnostic(`scanner: ${guesses} guesses answered, banned ${Date.now() - t0} ms after it started (maxretry ${MAXRETRY})`);
});

test('a flood from the office address is still banned, at its own threshold (10 x maxretry)', async (t) => {
  assert.ok(officeKnown, 'the office is known');
  // A scanner behind the office's address: a fresh REGISTER and a wrong password as fast as it is
  // answered, resent (a new request) when no answer came within 700 ms, until 20 s pass unanswered.
  const flood = `
    import { runSipClient } from ${JSON.stringify(SIP_CLIENT)};
    let answered = 0, quiet = Date.now();
    const end = Date.now() + 240000;
    while (Date.now() < end && Date.now() - quiet < 20000) {
      const r = await runSipClient({ server: ${JSON.stringify(SERVER)}, user: '1002', password: 'flood' + answered, failures: 1, timeoutMs: 700 });
      if (r.attempts.some((a) => a.kind === 'digest' && a.status === 401)) { answered++; quiet = Date.now(); }
    }
    console.log(answered);`;
  const t0 = Date.now();
  const before = failures(PEERS.off);
  const counted = office(PEERS.off)?.failures ?? 0;
  const foundBefore = found(PEERS.off);
  const run = host!.peer('off', process.execPath, ['--import', 'tsx', '--input-type=module', '-e', flood], 300000);
  let samples = 0;
  let held = 0;
  const isBanned = await waitFor(() => {
    samples++;
    if (paused(PEERS.off)) held++;
    return banned().includes(PEERS.off);
  }, 240000, 250);
  const r = await run;
  const n = failures(PEERS.off) - before;
  // When each failure happened (EventTV), and when the guard banned the office.
  const times = (host!.read(SECURITY) ?? '').split('\n')
    .filter((l) => l.includes('SecurityEvent="ChallengeResponseFailed"') && l.includes(`RemoteAddress="IPV4/UDP/${PEERS.off}/`))
    .map((l) => Date.parse(/EventTV="([^"]+)"/.exec(l)![1]!.replace(/\+0000$/, 'Z')))
    .filter((x) => x >= t0);
  const banLine = f2bLog().split('\n').find((l) => l.includes(`office ${PEERS.off} banned`)) ?? '';
  const banAt = Date.parse(banLine.slice(0, 23).replace(' ', 'T').replace(',', '.') + 'Z');
  const bursts: number[] = [];
  for (const [i, x] of times.entries()) {
    if (i === 0 || x - times[i - 1]! > 1000) bursts.push(1);
    else bursts[bursts.length - 1]!++;
  }
  t.diagnostic(`flood: ${found(PEERS.off) - foundBefore} failures read by fail2ban, ${times.filter((x) => x <= banAt).length} before the guard's ban (${banLine.slice(0, 23)}); bursts between pauses: ${bursts.join(' ')}; the office paused in ${held} of ${samples} looks`);
  assert.ok(isBanned, `the office is banned: ${f2b('status', 'voip-asterisk').stdout}\n${r.out}`);
  const log = f2bLog();
  assert.match(log, new RegExp(`voip-f2b-guard: office ${PEERS.off.replace(/\./g, '\\.')} banned: ${OFFICE_MAXRETRY} failures within findtime \\(its threshold: ${OFFICE_MAXRETRY}, has a registered device\\)`), log.split('\n').filter((l) => l.includes('guard')).join('\n'));
  assert.ok(counted + n >= OFFICE_MAXRETRY - 1, `banned at the office's threshold, not before: ${counted} counted before the flood, ${n} in it`);
  t.diagnostic(`flood from the office: ${n} wrong passwords answered in ${Math.round((Date.now() - t0) / 1000)} s (${counted} already counted), banned at ${OFFICE_MAXRETRY}`);
});

// -- FreeSWITCH ------------------------------------------------------------------------------

const FS_JAIL = 'voip-freeswitch';
const FS_STATE = '/var/lib/voip-f2b-install/office-voip-freeswitch.json';
let fsHost: PbxServer | null = null;
let fsReady = false;
let fsPhone: (Promise<{ code: number | null; out: string; ms: number }> & { stop(): void }) | null = null;
const fsCli = (cmd: string) => fsHost!.console(cmd);
const fsBanned = (): string[] => fsHost!.banned();
const fsOffice = (addr: string) => {
  const t = fsHost!.read(FS_STATE);
  return t ? (JSON.parse(t) as OfficeState).offices.find((o) => o.address === addr) : undefined;
};

test('FreeSWITCH: the guard learns the office from show registrations; the misconfigured phone is not banned, its account named; a scanner is banned at maxretry', async (t) => {
  assert.ok(existsSync(FS) && existsSync(FS_CLI), `${FS} is missing: run scripts/install-test-deps.sh`);
  if (host) {
    // One PBX host at a time: the Asterisk one is done.
    if (deskPhone) {
      deskPhone.stop();
      await deskPhone;
      deskPhone = null;
    }
    await host.close();
    host = null;
  }
  // The admin's FreeSWITCH: vanilla with the minimal edits of 53-freeswitch-scanner (users 1001-1003).
  fsHost = await freeswitchHost({ prefix: 'vofs', server: SERVER, peers: PEERS, accounts: ACCOUNTS });
  const r = fsHost.cli(['--yes', '--services', 'freeswitch', '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  assert.match(fsHost.read('/etc/fail2ban/jail.local') ?? '', /^\s*voip-f2b-guard\.py\[port="%\(port\)s", window=2, office="\/opt\/freeswitch\/bin\/fs_cli -H 127\.0\.0\.1 -P 8021 -x 'show registrations as json'"\]$/m);
  fsReady = true;

  // The registered phone, left running.
  fsPhone = baresipPhone(fsHost, 'off', PEERS.off, SERVER, '1002').stay(ACCOUNTS['1002']!, 300);
  try {
    const registeredFrom = (addr: string): boolean => {
      try {
        return ((JSON.parse(fsCli('show registrations as json').stdout) as { rows?: Array<{ network_ip?: string }> }).rows ?? []).some((row) => row.network_ip === addr);
      } catch {
        return false;
      }
    };
    assert.ok(await waitFor(() => registeredFrom(PEERS.off), 10000, 250), `registered: ${fsCli('show registrations as json').stdout}`);
    const t0 = Date.now();
    assert.ok(await waitFor(() => fsOffice(PEERS.off)?.registered === true, 40000, 500), `the state file lists the office: ${fsHost.read(FS_STATE)}`);
    const known = Date.now() - t0;

    // The misconfigured phone: 12 wrong passwords, each after the pause.
    for (let i = 0; i < 12; i++) {
      await fsHost!.pastPause(PEERS.off);
      const res: SipRunResult = await fsHost!.sip('off', { user: '1003', password: 'lobby-Pass-2O26', failures: 1, timeoutMs: 2000 });
      assert.deepEqual(res.attempts.map((a) => a.status), [401, 403], `attempt ${i + 1} answered: ${JSON.stringify(res)}`);
    }
    await sleep(1500);
    assert.ok(!fsBanned().includes(PEERS.off), 'the office is not banned');
    const log = fsHost.read('/var/log/fail2ban.log') ?? '';
    assert.match(log, new RegExp(`WARNING \\[${FS_JAIL}\\] voip-f2b-guard: office ${PEERS.off.replace(/\./g, '\\.')} has a registered device; account '1003@${SERVER.replace(/\./g, '\\.')}' keeps failing \\(10 of 50 failures that ban the address\\)`), log.split('\n').filter((l) => l.includes('guard')).join('\n'));
    // FreeSWITCH names the account with its domain (user@realm).
    assert.ok(await waitFor(() => (fsOffice(PEERS.off)?.accounts.find((a) => a.account === `1003@${SERVER}`)?.failures ?? 0) >= 12, 5000), `state: ${fsHost.read(FS_STATE)}`);

    // A scanner from another address: banned at maxretry.
    const words = Array.from({ length: 404 }, (_, i) => (i === 29 ? WEAK : `guess${i + 1}`));
    writeFileSync(path.join(fsHost.tmp, 'words.txt'), `${words.join('\n')}\n`);
    const crack = fsHost.peer('atk', '/usr/bin/svcrack', ['-u', '1001', '-d', path.join(fsHost.tmp, 'words.txt'), '--maximumtime', '30', SERVER], 60000);
    const isBanned = await waitFor(() => fsBanned().includes(PEERS.atk), 20000, 100);
    crack.stop();
    const c = await crack;
    assert.ok(isBanned, 'the scanner is banned');
    assert.doesNotMatch(c.out, new RegExp(WEAK), 'never cracked');
    assert.ok(!fsBanned().includes(PEERS.off), 'the office still not banned');
    t.diagnostic(`FreeSWITCH: office known ${known} ms after the phone registered; 12 failures of the misconfigured phone, not banned, warned; scanner banned`);
  } finally {
    fsPhone.stop();
    await fsPhone;
    fsPhone = null;
  }
});
