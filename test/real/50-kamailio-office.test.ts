/**
 * Offices behind one address on a real Kamailio (Debian 12's package, its stock kamailio.cfg
 * with WITH_AUTH and WITH_ANTIFLOOD, a db_text subscriber table), configured by the built CLI
 * (`--services kamailio --kamailio-auth-log`, maxretry 5 as by default), with a private rsyslogd and a private
 * fail2ban-server in a server namespace of their own (as test/real/50-kamailio-scanner does):
 *
 *   - an office (one address) with a registered phone (bob) and a misconfigured one (carol, a
 *     wrong password): Kamailio answers every one of carol's attempts past maxretry (its own
 *     throttle gives an address that logged in 10 x maxretry), fail2ban does not ban the address,
 *     the guard's log and its state file name the failing account, the watch's office line
 *     names it, and bob still registers;
 *   - a scanner from another address is stopped by Kamailio and banned by fail2ban at maxretry.
 *
 * The guard's console is `kamcmd ul.dump` (what the planner writes where Kamailio runs; the CLI
 * runs here under --root, where nothing runs, so the test puts the planner's own line in, with
 * a 2 s refresh and the state file in the test's directory).
 *
 * Addresses: 203.0.113.64/27 on links made here only (namespaces e-*); every process started is
 * stopped by its PID; the namespaces are deleted.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, runCli } from '../helpers/cli.ts';
import { kamailioLab, outputOf } from '../helpers/kamailio-lab.ts';
import { assertRealHost, sh, sleep, waitFor } from '../helpers/system.ts';
import { guardActionLine } from '../../src/core/install-plan.ts';
import { kamailio } from '../../src/core/services/kamailio.ts';
import { officeProblems } from '../../src/core/doctor/watch.ts';
import { hostFacts } from '../helpers/facts.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import type { SipRunResult } from '../helpers/sip-client.ts';

const SERVER = '203.0.113.65';
const PEERS = { off: '203.0.113.66', scn: '203.0.113.67' } as const;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5; // the tool's default, which the run keeps
const USERS = { alice: 'alice-Pass-2026', bob: 'bob-Pass-2026', carol: 'carol-Pass-2026' };
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const CLI_ENV = { SSH_CONNECTION: undefined, SSH_CLIENT: undefined };
/** A phone retrying: 2 requests per attempt, well under pike's 16 requests in 2 s (WITH_ANTIFLOOD). */
const PACE_MS = 400;

const lab = kamailioLab<PeerName>('e', SERVER, PEERS);
let tmp = '';
let root = '';
let up = false;

const { serverSh, f2b, banned } = lab;
const kamLog = lab.kamLog;
const f2bLog = (): string => (existsSync(path.join(tmp, 'fail2ban.log')) ? readFileSync(path.join(tmp, 'fail2ban.log'), 'utf8') : '');
const kamLines = (what: string, addr: string): string[] => kamLog().split('\n').filter((l) => l.includes(`voip-f2b: ${what} src=${addr} `));
const state = (): { console: string; offices: Array<{ address: string; registered: boolean; lastLogin: number | null; failures: number; accounts: Array<{ account: string; failures: number }> }> } | null => {
  try {
    return JSON.parse(readFileSync(path.join(tmp, 'office.json'), 'utf8'));
  } catch {
    return null;
  }
};

/**
 * `count` separate logins of `user` from `peer` with `password`, each a new REGISTER dialog (a new
 * Call-ID, as a phone retrying later), PACE_MS apart, in one process: each result.
 */
async function phone(peer: PeerName, user: string, password: string, count: number): Promise<SipRunResult[]> {
  const code = `import { runSipClient } from ${JSON.stringify(SIP_CLIENT)};
const out = [];
for (let i = 0; i < ${count}; i++) {
  if (i) await new Promise((r) => setTimeout(r, ${PACE_MS}));
  out.push(await runSipClient({ server: ${JSON.stringify(SERVER)}, user: ${JSON.stringify(user)}, password: ${JSON.stringify(password)}, failures: 1, timeoutMs: 1500 }));
}
console.log(JSON.stringify(out));`;
  const r = await lab.runIn(peer, process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], 20000 + count * (PACE_MS + 3000), REPO);
  assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
  return JSON.parse(r.out.trim().split('\n').at(-1)!) as SipRunResult[];
}
const digests = (rs: SipRunResult[]): Array<number | null> => rs.map((r) => r.attempts.find((a) => a.kind === 'digest')?.status ?? null);

after(() => lab.close());

test('setup: the CLI configures the stock kamailio.cfg; kamailio, rsyslogd and fail2ban-server (the auth jail guarded, offices on) in the server namespace', async () => {
  assertRealHost();
  for (const bin of ['/usr/sbin/kamailio', '/usr/sbin/kamcmd', '/usr/sbin/rsyslogd', '/usr/bin/fail2ban-server', '/usr/sbin/iptables', '/usr/bin/nsenter', '/usr/bin/unshare']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  lab.makeRoot(USERS);
  ({ tmp, root } = lab);

  const r = runCli(['--root', root, '--services', 'kamailio', '--kamailio-auth-log', '--yes', '--json'], { env: CLI_ENV });
  assert.equal(r.status, 0, r.stderr);
  const jailPath = path.join(root, 'etc/fail2ban/jail.local');
  const jail = readFileSync(jailPath, 'utf8');
  // Under --root nothing runs: the guard with logins only; where Kamailio runs, the planner adds kamcmd.
  const os = parseOsRelease(readFileSync('/etc/os-release', 'utf8'));
  const facts = (running: boolean) => hostFacts(os, { services: { ...hostFacts(os).services, kamailio: { present: true, running, configFile: '/etc/kamailio/kamailio.cfg' } } });
  const written = guardActionLine(kamailio, facts(false));
  assert.ok(jail.split('\n').some((l) => l.trim() === written), `the auth jail's guard line ${written}:\n${jail}`);
  const live = guardActionLine(kamailio, facts(true)).replace(/\]$/, `, office_refresh=2, office_state="${tmp}/office.json"]`);
  assert.match(live, /, pause=0, office="\/usr\/sbin\/kamcmd ul\.dump"/);
  const lines = jail.split('\n');
  const at = lines.findIndex((l) => l.trim() === written);
  lines[at] = lines[at]!.replace(written, live);
  writeFileSync(jailPath, lines.join('\n'));
  assert.equal((readFileSync(jailPath, 'utf8').match(/voip-f2b-guard\.py\[/g) ?? []).length, 1, 'one guard: the auth jail\'s, none on the pike jail');
  copyFileSync(path.join(REPO, 'templates/etc/rsyslog.d/40-voip-f2b-kamailio.conf'), path.join(root, 'etc/rsyslog.d/40-voip-f2b-kamailio.conf'));
  const check = sh('/usr/sbin/kamailio', ['-c', '-f', path.join(root, 'etc/kamailio/kamailio.cfg')], { timeoutMs: 30000 });
  assert.equal(check.status, 0, `kamailio -c on the tool's kamailio.cfg: ${check.stderr}`);

  await lab.network();
  await lab.startServers(async (kam) => {
    // kamcmd answers on the ctl socket of the stock kamailio.cfg before fail2ban starts
    assert.ok(await waitFor(() => serverSh('/usr/sbin/kamcmd', ['ul.dump']).status === 0 || kam.exitCode !== null, 15000, 200), `kamcmd ul.dump answers: ${outputOf(kam)}`);
  });
  assert.ok(await waitFor(() => state()?.console === 'ok', 10000, 200), `the guard's console answers: ${JSON.stringify(state())}\n${f2bLog().split('\n').filter((l) => l.includes('guard')).join('\n')}`);
  up = true;
});

test('an office: bob registered, carol misconfigured behind the same address: every attempt answered, never banned, the failing account named; a scanner elsewhere banned at maxretry', async (t) => {
  assert.ok(up, 'setup succeeded');
  const t0 = Date.now();
  // 1. bob registers from the office: a login (Kamailio's office mark and its one login line) and
  //    a contact in usrloc; the guard sees both.
  assert.deepEqual(digests(await phone('off', 'bob', USERS.bob, 1)), [200], 'bob registers');
  assert.ok(await waitFor(() => kamLines('login', PEERS.off).length === 1, 5000), `Kamailio logs the office's login:\n${kamLog().slice(-2000)}`);
  assert.ok(
    await waitFor(() => state()?.offices.some((o) => o.address === PEERS.off && o.registered && o.lastLogin !== null) ?? false, 10000, 200),
    `the guard has the office (registered, logged in): ${JSON.stringify(state())}`,
  );
  const ulDump = serverSh('/usr/sbin/kamcmd', ['ul.dump']).stdout;
  assert.match(ulDump, new RegExp(`Address: sip:bob@${PEERS.off.replace(/\./g, '\\.')}:\\d+`));

  // 2. carol's phone has a wrong password: 3 x maxretry failures from the office, each a new attempt.
  const n = 3 * MAXRETRY;
  const carol = digests(await phone('off', 'carol', 'carol-Pass-2O26', n));
  assert.deepEqual(carol, Array(n).fill(401), `every attempt of carol answered (Kamailio does not stop the office at maxretry): ${carol.join(',')}`);
  assert.ok(await waitFor(() => kamLines('auth failure', PEERS.off).length === n, 5000), `each failure logged: ${kamLines('auth failure', PEERS.off).length}`);
  assert.deepEqual(kamLines('auth throttled', PEERS.off), [], 'Kamailio never throttled the office');
  assert.equal(kamLines('login', PEERS.off).length, 1, 'the login line once a day, not per REGISTER');
  assert.ok(await waitFor(() => (state()?.offices.find((o) => o.address === PEERS.off)?.failures ?? 0) === n, 5000, 200), JSON.stringify(state()));
  const office = state()!.offices.find((o) => o.address === PEERS.off)!;
  assert.deepEqual(office.accounts.map((a) => [a.account, a.failures]), [['carol', n]], 'the state file names the failing account');
  assert.ok(!banned('voip-kamailio').includes(PEERS.off) && !banned('voip-kamailio-pike').includes(PEERS.off), 'the office is not banned');
  const warned = f2bLog().split('\n').filter((l) => l.includes(`voip-f2b-guard: office ${PEERS.off}`) && l.includes("account 'carol' keeps failing"));
  assert.equal(warned.length, n / MAXRETRY, `the jail's log names carol at each maxretry failures:\n${warned.join('\n')}`);
  // the watch's office line, from fail2ban's log
  const problems = officeProblems(f2bLog().split('\n'), Date.now(), () => 600);
  assert.equal(problems.length, 1, JSON.stringify(problems));
  assert.match(problems[0]!.message, new RegExp(`jail voip-kamailio: a phone behind the office address ${PEERS.off.replace(/\./g, '\\.')} keeps failing on account carol`));
  // bob still registers
  await sleep(PACE_MS);
  assert.deepEqual(digests(await phone('off', 'bob', USERS.bob, 1)), [200], 'bob still registers');

  // 3. a scanner from another address: stopped by Kamailio and banned by fail2ban at maxretry.
  const scan = digests(await phone('scn', 'alice', 'guess', MAXRETRY));
  assert.deepEqual(scan, Array(MAXRETRY).fill(401), 'its first maxretry guesses are answered');
  assert.ok(await waitFor(() => banned('voip-kamailio').includes(PEERS.scn), 10000, 200), `the scanner is banned at maxretry: ${f2b('status', 'voip-kamailio').stdout}`);
  assert.equal(kamLines('auth failure', PEERS.scn).length, MAXRETRY);
  const probe = await phone('scn', 'alice', 'guess', 1);
  assert.equal(probe[0]!.attempts[0]!.status, null, 'a banned scanner gets no SIP answer');
  assert.ok(!banned('voip-kamailio').includes(PEERS.off), 'the office is still not banned');
  t.diagnostic(`office ${PEERS.off}: bob registered, carol failed ${n} times (maxretry ${MAXRETRY}): all answered, not banned, named ${warned.length} times; scanner banned after ${MAXRETRY}; ${Date.now() - t0} ms`);
});
