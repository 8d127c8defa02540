/**
 * The real scanner against a stock Kamailio, configured by the tool as an admin would, with no
 * host state touched:
 *
 *   - Debian's STOCK /etc/kamailio/kamailio.cfg (the package's conffile, checked by its md5)
 *     with the admin's kamailio-local.cfg: WITH_AUTH, WITH_ANTIFLOOD, a db_text subscriber table
 *     (no SQL server). The built CLI configures a --root tree: `--services kamailio
 *     --kamailio-auth-log --whitelist <friend>`, every other setting its default (maxretry 5,
 *     findtime 10m, bantime 1h).
 *   - A server network namespace (bridge inside it, 198.51.100.33/27) holding, in their own
 *     mount namespace (a private /dev/log, /var/log and /run): kamailio, a private rsyslogd
 *     with the tool's Kamailio rule, and a private fail2ban-server on the tool's jail.local, so
 *     its bans land in that namespace's firewall.
 *   - One namespace per peer: svcrack (attacker), svwar, a flood, svmap, baresip (a phone with
 *     one typo), a whitelisted friend.
 *
 * Shown: svcrack gets at most maxretry guesses answered (then no answer at all), a weak password
 * in its list (30th) is not found, and it is banned in the firewall; svwar and a flood are
 * banned at once by the pike jail; the phone's burst of identical wrong REGISTERs counts once and
 * the fixed password registers; the whitelisted friend is answered every time and never banned;
 * a banned peer gets no SIP answer. Guesses answered and times to ban are printed.
 *
 * Addresses: 198.51.100.32/27 on links made here only; nothing routes anywhere else. Every
 * process started is stopped by its PID; the namespaces are deleted.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO, runCli } from '../helpers/cli.ts';
import { STOCK_KAMAILIO_CFG as STOCK_CFG, kamailioLab, outputOf } from '../helpers/kamailio-lab.ts';
import { assertRealHost, sh, sleep, stopPid, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';
import { baresipPhone } from '../helpers/sip-peers.ts';

const SERVER = '198.51.100.33';
const PEERS = {
  atk: '198.51.100.34', // svcrack
  war: '198.51.100.35', // svwar
  fld: '198.51.100.36', // a flood of OPTIONS
  map: '198.51.100.37', // svmap
  pho: '198.51.100.38', // baresip
  fri: '198.51.100.39', // the whitelisted friend
  qop: '198.51.100.40', // svcrack again, once the admin offers qop in the challenge
  d1: '198.51.100.41', // five addresses, three guesses each, on one account
  d2: '198.51.100.42',
  d3: '198.51.100.43',
  d4: '198.51.100.44',
  d5: '198.51.100.45',
} as const;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5; // the tool's default, which the run keeps
const USERS = { alice: 'secret123', bob: 'bob-Pass-2026', carol: 'carol-Pass-2026', dave: 'dave-Pass-2026' };
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const CLI_ENV = { SSH_CONNECTION: undefined, SSH_CLIENT: undefined };


const lab = kamailioLab<PeerName>('h8k', SERVER, PEERS);
let tmp = '';
let root = '';
let kamailioUp = false; // set at the end of a successful setup
let firstKamailio: ChildProcess | null = null;

const { serverSh, f2b, banned, inServer, start } = lab;
const runIn = (peer: PeerName, cmd: string, args: string[], timeoutMs: number) => lab.runIn(peer, cmd, args, timeoutMs);
const kamLog = lab.kamLog;
const logged = (what: 'failure' | 'throttled' | 'error', addr: string): string[] =>
  kamLog().split('\n').filter((l) => l.includes(`voip-f2b: auth ${what} src=${addr} `));

/** ms from the maxretry-th failure line of `addr` (rsyslog's timestamp) to fail2ban's Ban line for it. */
function banDelay(addr: string): number | null {
  const nth = logged('failure', addr)[MAXRETRY - 1];
  const f2bLog = existsSync(path.join(tmp, 'fail2ban.log')) ? readFileSync(path.join(tmp, 'fail2ban.log'), 'utf8') : '';
  const ban = f2bLog.split('\n').find((l) => new RegExp(`\\] Ban ${addr.replace(/\./g, '\\.')}$`).test(l));
  const t1 = nth ? Date.parse(nth.slice(0, nth.indexOf(' '))) : NaN;
  const m = ban ? /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})/.exec(ban) : null;
  const t2 = m ? Date.parse(`${m[1]}T${m[2]}.${m[3]}`) : NaN; // fail2ban logs local time: UTC on the test hosts
  return Number.isFinite(t1) && Number.isFinite(t2) ? t2 - t1 : null;
}

/**
 * The firewall of the server namespace drops `addr` for the jail: a member of the jail's set
 * (the set-based voip-f2b-ipset.py / voip-f2b-nftset.py actions the tool chooses), or a REJECT
 * in the jail's chain (a stock iptables action).
 */
function firewallBans(jail: string, addr: string): boolean {
  if (serverSh('ipset', ['test', `f2b-${jail}`.slice(0, 29) + '4', addr]).status === 0) return true;
  const nft = serverSh('nft', ['list', 'set', 'inet', `f2b-${jail}`, 'a4']);
  if (nft.status === 0 && nft.stdout.includes(addr)) return true;
  const r = serverSh('iptables', ['-w', '-S', `f2b-${jail}`]);
  return r.status === 0 && r.stdout.split('\n').some((l) => l.includes(`-s ${addr}/32`));
}
async function sip(peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> {
  const r = await lab.runIn(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, ...o })], 15000 + (o.failures + 1) * o.timeoutMs, REPO);
  assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
  return JSON.parse(r.out) as SipRunResult;
}

after(() => lab.close());

test('setup: stock kamailio.cfg configured by the CLI; kamailio, rsyslogd and fail2ban-server in the server namespace', async () => {
  assertRealHost();
  for (const bin of ['/usr/sbin/kamailio', '/usr/sbin/rsyslogd', '/usr/bin/fail2ban-server', '/usr/bin/svcrack', '/usr/bin/svwar', '/usr/bin/svmap', '/usr/bin/baresip', '/usr/sbin/iptables', '/usr/bin/nsenter', '/usr/bin/unshare']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  for (const f of ['jail.conf', 'fail2ban.conf', 'filter.d/common.conf', 'action.d/iptables-allports.conf']) {
    assert.ok(existsSync(`/etc/fail2ban/${f}`), `/etc/fail2ban/${f} is missing: the fail2ban package is not installed`);
  }
  // The fixture is the package's own conffile, byte for byte.
  const conffiles = sh('dpkg-query', ['-W', '-f=${Conffiles}', 'kamailio']).stdout;
  const md5 = / \/etc\/kamailio\/kamailio\.cfg ([0-9a-f]{32})/.exec(conffiles)?.[1];
  assert.equal(createHash('md5').update(readFileSync(STOCK_CFG)).digest('hex'), md5, "the fixture is Debian's stock kamailio.cfg");
  // 1. The --root tree, as an admin's server: stock files, the admin's local settings, users.
  lab.makeRoot(USERS);
  ({ tmp, root } = lab);

  // 2. The tool, as an admin runs it (defaults but the whitelist).
  const r = runCli(['--root', root, '--services', 'kamailio', '--kamailio-auth-log', '--whitelist', PEERS.fri, '--yes', '--json'], { env: CLI_ENV });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.jails, ['voip-kamailio', 'voip-kamailio-pike']);
  assert.ok(report.files.some((f: { path: string; action: string }) => f.path === '/etc/kamailio/kamailio.cfg' && f.action === 'UPDATE'));
  const cfg = readFileSync(path.join(root, 'etc/kamailio/kamailio.cfg'), 'utf8');
  assert.match(cfg, new RegExp(`^#!define VOIPF2B_IGNOREIP "127\\.0\\.0\\.1/8,::1/128,${PEERS.fri.replace(/\./g, '\\.')}/32"$`, 'm'));
  // Where rsyslog runs, the tool writes this rule (under --root nothing runs): the same file.
  copyFileSync(path.join(REPO, 'templates/etc/rsyslog.d/40-voip-f2b-kamailio.conf'), path.join(root, 'etc/rsyslog.d/40-voip-f2b-kamailio.conf'));
  const check = sh('/usr/sbin/kamailio', ['-c', '-f', path.join(root, 'etc/kamailio/kamailio.cfg')], { timeoutMs: 30000 });
  assert.equal(check.status, 0, `kamailio -c on the tool's kamailio.cfg: ${check.stderr}`);

  // 3. The network and the server's own mount namespace; 4. rsyslogd (the tool's rule), kamailio,
  // fail2ban-server: all inside.
  await lab.network();
  const { kam } = await lab.startServers();
  firstKamailio = kam;
  // Kamailio answers: a REGISTER without credentials is challenged (not a failure).
  let ready = false;
  for (let i = 0; i < 20 && !ready; i++) {
    assert.equal(kam.exitCode, null, `kamailio exited: ${outputOf(kam)}`);
    ready = (await sip('fri', { user: 'carol', password: USERS.carol, failures: 0, timeoutMs: 500 })).attempts[0]?.status === 401;
  }
  assert.ok(ready, `kamailio answers on ${SERVER}:5060`);
  const ok = await sip('fri', { user: 'carol', password: USERS.carol, failures: 1, timeoutMs: 2000 });
  assert.deepEqual(ok.attempts.map((a) => a.status), [401, 200], 'the right password registers (db_text works)');
  kamailioUp = true;
});

test('the whitelisted friend: every wrong password answered, never throttled, never banned', async (t) => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  const n = MAXRETRY + 3;
  const r = await sip('fri', { user: 'carol', password: 'wrong', failures: n, timeoutMs: 2000 });
  assert.deepEqual(r.attempts.filter((a) => a.kind === 'digest').map((a) => a.status), Array(n).fill(401));
  assert.ok(await waitFor(() => logged('failure', PEERS.fri).length === n, 5000), `each failure logged: ${logged('failure', PEERS.fri).length}`);
  assert.ok(await waitFor(() => (readFileSync(path.join(tmp, 'fail2ban.log'), 'utf8').match(new RegExp(`Ignore ${PEERS.fri.replace(/\./g, '\\.')} by ip`, 'g')) ?? []).length >= n, 10000), 'fail2ban saw and ignored each');
  assert.deepEqual(banned('voip-kamailio'), []);
  assert.equal(firewallBans('voip-kamailio', PEERS.fri), false);
  t.diagnostic(`friend: ${n} wrong passwords, ${n} answered, not banned`);
});

test('a phone with one typo: its burst counts once, and the fixed password registers', async (t) => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  const phone = baresipPhone({ tmp, peer: (name, cmd, args, ms, cwd, until) => lab.runIn(name as PeerName, cmd, args, ms, cwd, until) }, 'pho', PEERS.pho, SERVER, 'bob');
  const typo = { out: await phone.register('bob-Pass-2O26') }; // an O for a 0
  assert.match(typo.out, /401 Unauthorized/, typo.out);
  assert.ok(await waitFor(() => logged('failure', PEERS.pho).length >= 1, 5000));
  await sleep(500);
  assert.equal(logged('failure', PEERS.pho).length, 1, `one typo counts once:\n${logged('failure', PEERS.pho).join('\n')}`);
  const fixed = { out: await phone.register(USERS.bob) };
  assert.match(fixed.out, /200 OK/, `the fixed password registers: ${fixed.out}`);
  assert.ok(!banned('voip-kamailio').includes(PEERS.pho));
  t.diagnostic(`phone: a burst of identical wrong REGISTERs counted as ${logged('failure', PEERS.pho).length} failure; fixed password: 200 OK`);
});

test('svcrack: at most maxretry guesses answered, the weak password not found, banned in the firewall', async (t) => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  // 404 passwords, the account's weak one 30th (as in the measurement).
  const words = Array.from({ length: 404 }, (_, i) => (i === 29 ? USERS.alice : `guess${i + 1}`));
  writeFileSync(path.join(tmp, 'words.txt'), `${words.join('\n')}\n`);
  const t0 = Date.now();
  // --enablecompact: no User-Agent header (the stock script silently drops "friendly-scanner").
  const crack = runIn('atk', '/usr/bin/svcrack', ['-u', 'alice', '-d', path.join(tmp, 'words.txt'), '--enablecompact', '--maximumtime', '4', SERVER], 60000);
  let bannedAt = 0;
  let done = false;
  void crack.then(() => (done = true));
  while (!done || !bannedAt) {
    if (!bannedAt && (firewallBans('voip-kamailio', PEERS.atk) || firewallBans('voip-kamailio-pike', PEERS.atk))) bannedAt = Date.now();
    if (done && (bannedAt || Date.now() - t0 > 30000)) break;
    await sleep(20);
  }
  const r = await crack;
  const answered = logged('failure', PEERS.atk).length;
  assert.doesNotMatch(r.out, /The password for alice is/, r.out);
  assert.ok(answered >= 1 && answered <= MAXRETRY, `guesses answered: ${answered} (at most ${MAXRETRY})`);
  assert.ok(bannedAt > 0, `svcrack banned in the firewall:\n${kamLog().split('\n').filter((l) => l.includes(PEERS.atk)).slice(-10).join('\n')}`);
  // Which jail banned it (svcrack is fast enough for pike too, at times): fail2ban's word, then the firewall's.
  const chains = (j: string) => serverSh('iptables', ['-w', '-S']).stdout + serverSh('ipset', ['list', `f2b-${j}`.slice(0, 29) + '4']).stdout;
  assert.ok(await waitFor(() => [...banned('voip-kamailio'), ...banned('voip-kamailio-pike')].includes(PEERS.atk), 10000, 500), 'fail2ban lists it');
  const jail = banned('voip-kamailio').includes(PEERS.atk) ? 'voip-kamailio' : 'voip-kamailio-pike';
  assert.ok(banned(jail).includes(PEERS.atk), `fail2ban lists it: ${f2b('status', 'voip-kamailio').stdout}${f2b('status', 'voip-kamailio-pike').stdout}${chains('voip-kamailio')}${chains('voip-kamailio-pike')}`);
  assert.ok(await waitFor(() => firewallBans(jail, PEERS.atk), 5000), `the ${jail} chain holds it: ${chains(jail)}`);
  const probe = await sip('atk', { user: 'alice', password: 'x', failures: 0, timeoutMs: 2000 });
  assert.equal(probe.attempts[0]!.status, null, 'a banned scanner gets no SIP answer');
  t.diagnostic(`svcrack: ${answered} guesses answered of ${words.length} in its list (maxretry ${MAXRETRY}), throttled lines ${logged('throttled', PEERS.atk).length}, banned by ${jail} ${bannedAt - t0} ms after it started (fail2ban's Ban ${banDelay(PEERS.atk) ?? '?'} ms after the ${MAXRETRY}th failure line); password not found`);
});

test('svcrack against a challenge with qop (every guess really checked): at most maxretry answered, the weak password not found', async (t) => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  // Without qop in the challenge (the stock auth_challenge flags "0") sipvicious answers with
  // malformed credentials, which are counted but never checked. An admin who offers qop (flags
  // "1") gets guesses that are checked for real: the throttle is what keeps the password safe.
  const cfgPath = path.join(root, 'etc/kamailio/kamailio.cfg');
  const before = readFileSync(cfgPath, 'utf8');
  writeFileSync(cfgPath, before.replace('\t\t\tauth_challenge("$fd", "0");\n\t\t\texit;', '\t\t\tauth_challenge("$fd", "1");\n\t\t\texit;'));
  // The admin re-runs the tool: its repeat-challenge follows the script's own arguments.
  const r = runCli(['--root', root, '--services', 'kamailio', '--kamailio-auth-log', '--whitelist', PEERS.fri, '--yes', '--json'], { env: CLI_ENV });
  assert.equal(r.status, 0, r.stderr);
  const cfg = readFileSync(cfgPath, 'utf8');
  assert.equal((cfg.match(/auth_challenge\("\$fd", "1"\);/g) ?? []).length, 2, 'the stock challenge and our repeat challenge both offer qop');
  // kamailio restarted on it (its counters start empty).
  await stopPid(firstKamailio!.pid!);
  const kam = start('kamailio (qop)', ...inServer('/usr/sbin/kamailio', ['-DD', '-f', cfgPath, '-P', path.join(tmp, 'kamailio.pid'), '-m', '64', '-M', '8']), { cwd: path.join(root, 'etc/kamailio') });
  let ready = false;
  for (let i = 0; i < 20 && !ready; i++) {
    assert.equal(kam.exitCode, null, `kamailio exited: ${outputOf(kam)}`);
    ready = (await sip('fri', { user: 'carol', password: USERS.carol, failures: 1, timeoutMs: 500 })).attempts.map((a) => a.status).join() === '401,200';
  }
  assert.ok(ready, 'kamailio answers, and the right password registers with qop');

  const words = Array.from({ length: 404 }, (_, i) => (i === 29 ? USERS.alice : `guess${i + 1}`));
  writeFileSync(path.join(tmp, 'words.txt'), `${words.join('\n')}\n`);
  const t0 = Date.now();
  const crack = runIn('qop', '/usr/bin/svcrack', ['-u', 'alice', '-d', path.join(tmp, 'words.txt'), '--enablecompact', '--maximumtime', '4', SERVER], 60000);
  let bannedAt = 0;
  let done = false;
  void crack.then(() => (done = true));
  while (!(done && (bannedAt || Date.now() - t0 > 30000))) {
    if (!bannedAt && (banned('voip-kamailio').includes(PEERS.qop) || banned('voip-kamailio-pike').includes(PEERS.qop))) bannedAt = Date.now();
    await sleep(50);
  }
  const out = (await crack).out;
  const lines = logged('failure', PEERS.qop);
  assert.doesNotMatch(out, /The password for alice is/, out);
  assert.ok(lines.length >= 1 && lines.length <= MAXRETRY, `guesses answered: ${lines.length} (at most ${MAXRETRY})`);
  assert.ok(lines.every((l) => / rc=-2$/.test(l)), `each a real password check (rc -2):\n${lines.join('\n')}`);
  assert.ok(bannedAt > 0, 'banned');
  const jail = banned('voip-kamailio').includes(PEERS.qop) ? 'voip-kamailio' : 'voip-kamailio-pike';
  assert.ok(await waitFor(() => firewallBans(jail, PEERS.qop), 5000), `the ${jail} chain holds it`);
  const probe = await sip('qop', { user: 'alice', password: 'x', failures: 0, timeoutMs: 2000 });
  assert.equal(probe.attempts[0]!.status, null, 'no SIP answer once banned');
  t.diagnostic(`svcrack with qop: ${lines.length} guesses checked and answered of ${words.length} (the right one 30th, not found), banned by ${jail} within ${bannedAt - t0} ms of its start (fail2ban's Ban ${banDelay(PEERS.qop) ?? '?'} ms after the ${MAXRETRY}th failure line)`);
});

test('svwar learns nothing; a flood is banned at once by the pike jail; svmap\'s single probe is not', async (t) => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  // The stock script silently drops svwar's User-Agent "friendly-scanner" (svwar then stops at
  // its first unanswered probe); svwar's compact mode, which sends none, cannot parse the replies.
  // So svwar runs as an attacker runs it: with another User-Agent (one changed default), and
  // --force (Kamailio challenges every REGISTER, known user or not).
  const svwar = [
    'import sys',
    "sys.path.insert(0, '/usr/share/sipvicious')",
    'import sipvicious.libs.svhelper as h',
    'd = list(h.makeRequest.__defaults__)',
    "d[d.index('friendly-scanner')] = 'Linphone/5.2.0'",
    'h.makeRequest.__defaults__ = tuple(d)',
    'from sipvicious.svwar import main',
    `sys.argv = ['svwar', '-e', '100-400', '-m', 'REGISTER', '--force', '--maximumtime', '3', '${SERVER}']`,
    'main()',
  ].join('\n');
  const war = await runIn('war', '/usr/bin/python3', ['-c', svwar], 60000);
  // Every extension gets the same challenge, known or not: svwar sees its "unknown user" answer
  // for the first one it tries and stops, having learned nothing (and made no guess to count).
  assert.match(war.out, /found nothing/, war.out);
  assert.doesNotMatch(war.out, /extension '\d+' exists/, war.out);
  t.diagnostic('svwar: every extension challenged alike, so it found nothing and stopped by itself after its first answer');
  // A flood: 200 OPTIONS from one address as fast as it can send them.
  const flood = `const d=require('node:dgram');const s=d.createSocket('udp4');let i=0;const m=(n)=>Buffer.from('OPTIONS sip:${SERVER} SIP/2.0\\r\\nVia: SIP/2.0/UDP ${PEERS.fld}:5099;branch=z9hG4bK'+n+';rport\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:f@${PEERS.fld}>;tag='+n+'\\r\\nTo: <sip:${SERVER}>\\r\\nCall-ID: f'+n+'\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n');s.bind(5099,()=>{const go=()=>{if(i>=200){s.close();return;}s.send(m(i++),5060,'${SERVER}',go);};go();});`;
  const t1 = Date.now();
  const f = await runIn('fld', process.execPath, ['-e', flood], 30000);
  assert.equal(f.code, 0, f.out);
  assert.ok(await waitFor(() => firewallBans('voip-kamailio-pike', PEERS.fld), 10000), 'the flood is banned by the pike jail');
  const floodMs = Date.now() - t1;
  for (const p of ['fld'] as const) {
    const probe = await sip(p, { user: 'x', password: 'x', failures: 0, timeoutMs: 1500 });
    assert.equal(probe.attempts[0]!.status, null, `${p} gets no SIP answer`);
  }
  // svmap, a single OPTIONS (compact: no User-Agent): answered, and one probe is not a ban.
  const map = await runIn('map', '/usr/bin/svmap', ['-c', SERVER], 30000);
  assert.match(map.out, /198\.51\.100\.33:5060 \| kamailio/, map.out);
  await sleep(1500);
  assert.equal(firewallBans('voip-kamailio-pike', PEERS.map) || firewallBans('voip-kamailio', PEERS.map), false);
  t.diagnostic(`flood of 200 OPTIONS banned (pike) ${floodMs} ms after it started; svmap found the server and is not banned`);
});

test('guessing spread over 5 addresses x 3 guesses on one account (right password 15th): the account is locked, not cracked', async (t) => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  // Real digests (sip-client), each a checked guess (rc -2), 3 per address: under maxretry each.
  const list = Array.from({ length: 15 }, (_, i) => (i === 14 ? USERS.dave : `spread${i + 1}`));
  const statuses: Array<number | null> = [];
  for (const [i, p] of (['d1', 'd2', 'd3', 'd4', 'd5'] as const).entries()) {
    for (const pw of list.slice(i * 3, i * 3 + 3)) {
      const r = await sip(p, { user: 'dave', password: pw, failures: 1, timeoutMs: 1000 });
      const digest = r.attempts.find((a) => a.kind === 'digest');
      statuses.push(digest ? digest.status : null); // null: no answer to the guess (or to its challenge)
    }
  }
  assert.ok(!statuses.includes(200), `the right password (15th) is never accepted: ${statuses.join(',')}`);
  const answered = statuses.filter((s) => s === 401).length;
  assert.ok(answered <= MAXRETRY + 1, `guesses answered before the lock: ${answered}\n${kamLog().split('\n').filter((l) => l.includes('dave') || / src=198\.51\.100\.4[1-5] /.test(l)).slice(-20).join('\n')}`);
  assert.match(kamLog(), /voip-f2b: account under attack user=dave: not checked for src=198\.51\.100\.4[3-5] /, 'the admin is told (Kamailio\'s log)');
  // The account's own phone from a whitelisted address is still checked and registers.
  const fri = await sip('fri', { user: 'dave', password: USERS.dave, failures: 1, timeoutMs: 2000 });
  assert.deepEqual(fri.attempts.map((a) => a.status), [401, 200], 'from a whitelisted address the account still works');
  t.diagnostic(`5 addresses x 3 on one account: ${answered} guesses answered of 15, then locked for every other address; statuses ${statuses.join(',')}`);
});

test('at the end: banned exactly the password guesser and the flood; the friend and the phone never', () => {
  assert.ok(lab.up && kamailioUp, 'setup succeeded');
  const all = [...banned('voip-kamailio'), ...banned('voip-kamailio-pike')];
  for (const p of ['atk', 'qop', 'fld'] as const) assert.ok(all.includes(PEERS[p]), `${p} banned`);
  for (const p of ['fri', 'pho', 'map'] as const) {
    assert.ok(!all.includes(PEERS[p]), `${p} not banned`);
    assert.equal(firewallBans('voip-kamailio', PEERS[p]) || firewallBans('voip-kamailio-pike', PEERS[p]), false);
  }
});
