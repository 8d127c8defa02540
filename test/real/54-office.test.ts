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
 * Built like test/real/52-asterisk-scanner.test.ts: a PBX host (test/helpers/pbx-host.ts), its
 * own namespaces (prefix vof), overlays of /etc and /var; 203.0.113.0/24 on links made here only.
 * Every process started is stopped by its PID; the namespaces and overlays are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { inNftSet, makePbxHost, type PbxHost } from '../helpers/pbx-host.ts';
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
const SHARED = path.join(REPO, '..', 'shared', 'asterisk');
const AST = '/opt/asterisk/sbin/asterisk';
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const SECURITY = '/var/log/asterisk/security';
const STATE = '/var/lib/voip-f2b-install/office-voip-asterisk.json';

let host: PbxHost | null = null;
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
  if (fsHost) {
    fsHost.exec(FS_CLI, ['-H', '127.0.0.1', '-P', '8021', '-x', 'shutdown'], { timeoutMs: 20000 });
    await fsHost.close();
  }
});

const astConsole = (cmd: string) => host!.exec(AST, ['-C', '/etc/asterisk/asterisk.conf', '-rx', cmd], { timeoutMs: 20000 });
const f2b = (...args: string[]) => host!.exec('fail2ban-client', args, { timeoutMs: 30000 });
const banned = (): string[] => /Banned IP list:\s*(.*)$/m.exec(f2b('status', 'voip-asterisk').stdout)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
const failures = (addr: string): number =>
  (host!.read(SECURITY) ?? '').split('\n').filter((l) => l.includes('SecurityEvent="ChallengeResponseFailed"') && l.includes(`RemoteAddress="IPV4/UDP/${addr}/`)).length;
const f2bLog = (): string => host!.read('/var/log/fail2ban.log') ?? '';
/** The guard holds `addr` paused (its nftables set, or its ipset). */
const paused = (addr: string): boolean =>
  inNftSet(host!.exec('nft', ['list', 'set', 'inet', 'f2bg-voip-asterisk', 'p4']).stdout, addr) || host!.exec('ipset', ['test', 'f2bg-voip-asterisk4', addr]).status === 0;
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

async function sip(peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> {
  const r = await host!.peer(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, ...o })], 15000 + (o.failures + 1) * o.timeoutMs);
  assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
  return JSON.parse(r.out) as SipRunResult;
}

/** The admin's Asterisk: the shared example configuration moved to the real paths (as in 52). */
function prepare(etc: string, _var: string): void {
  const dir = path.join(etc, 'asterisk');
  cpSync(path.join(SHARED, 'example-etc'), dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'asterisk.conf'),
    [
      '[directories]',
      'astetcdir => /etc/asterisk',
      'astmoddir => /opt/asterisk/lib/asterisk/modules',
      'astvarlibdir => /opt/asterisk/var/lib/asterisk',
      'astdatadir => /opt/asterisk/var/lib/asterisk',
      'astkeydir => /opt/asterisk/var/lib/asterisk',
      'astagidir => /opt/asterisk/var/lib/asterisk/agi-bin',
      'astdbdir => /var/lib/asterisk',
      'astspooldir => /var/spool/asterisk',
      'astcachedir => /var/cache/asterisk',
      'astrundir => /var/run/asterisk',
      'astlogdir => /var/log/asterisk',
      'astsbindir => /opt/asterisk/sbin',
      '',
      '[options]',
      'verbose = 0',
      'documentation_language = en_US',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(dir, 'logger.conf'), '[general]\n\n[logfiles]\nmessages => notice,warning,error\n');
  const endpoints = Object.entries(ACCOUNTS)
    .map(([id, pw]) => `[${id}]\ntype = endpoint\ncontext = internal\ndisallow = all\nallow = ulaw\nauth = ${id}-auth\naors = ${id}\ntransport = transport-udp\n\n[${id}-auth]\ntype = auth\nauth_type = userpass\nusername = ${id}\npassword = ${pw}\n\n[${id}]\ntype = aor\nmax_contacts = 5\nremove_existing = yes\n`)
    .join('\n');
  writeFileSync(path.join(dir, 'pjsip.conf'), `[global]\ntype = global\n\n[transport-udp]\ntype = transport\nprotocol = udp\nbind = ${SERVER}:5060\n\n${endpoints}`);
  for (const d of ['log/asterisk', 'lib/asterisk', 'spool/asterisk', 'cache/asterisk']) mkdirSync(path.join(_var, d), { recursive: true });
}

test('setup: a running Asterisk 22 configured live by the CLI; the guard gets its console and its logins', async (t) => {
  assertRealHost();
  for (const bin of [AST, '/usr/bin/svcrack', '/usr/bin/baresip', '/usr/bin/fail2ban-server', '/usr/sbin/nft', '/usr/bin/nsenter']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  host = await makePbxHost('vof', `${SERVER}/24`, PEERS, prepare);
  host.exec('mkdir', ['-p', '/var/run/asterisk']);
  const ast = host.start('asterisk', AST, ['-C', '/etc/asterisk/asterisk.conf', '-f']);
  assert.ok(await waitFor(() => astConsole('core waitfullybooted').stdout.includes('fully booted') || ast.exitCode !== null, 20000, 250), `Asterisk boots: ${ast.output()}`);
  assert.equal(ast.exitCode, null, ast.output());

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
  // baresip as baresipPhone() configures it, left running (it unregisters when it quits).
  const dir = path.join(host!.tmp, 'baresip-desk');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config'), `module_path\t/usr/lib/baresip/modules\nsip_listen\t${PEERS.off}:5060\nsip_trans_def\tudp\nmodule\tg711.so\nmodule_app\taccount.so\n`);
  writeFileSync(path.join(dir, 'contacts'), '');
  writeFileSync(path.join(dir, 'accounts'), `<sip:1002@${SERVER}>;auth_pass=${ACCOUNTS['1002']};regint=600\n`);
  deskPhone = host!.peer('off', '/usr/bin/baresip', ['-f', dir, '-t', '900'], 960000);
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
    await sleep(2100); // past the pause of its last failure, as a phone retrying later
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

const FS = '/opt/freeswitch/bin/freeswitch';
const FS_CLI = '/opt/freeswitch/bin/fs_cli';
const VANILLA = existsSync('/opt/freeswitch/etc/freeswitch.vanilla') ? '/opt/freeswitch/etc/freeswitch.vanilla' : '/opt/freeswitch/etc/freeswitch';
const FS_JAIL = 'voip-freeswitch';
const FS_STATE = '/var/lib/voip-f2b-install/office-voip-freeswitch.json';
let fsHost: PbxHost | null = null;
let fsReady = false;
let fsPhone: (Promise<{ code: number | null; out: string; ms: number }> & { stop(): void }) | null = null;
const fsCli = (cmd: string) => fsHost!.exec(FS_CLI, ['-H', '127.0.0.1', '-P', '8021', '-x', cmd], { timeoutMs: 20000 });
const fsBanned = (): string[] => /Banned IP list:\s*(.*)$/m.exec(fsHost!.exec('fail2ban-client', ['status', FS_JAIL], { timeoutMs: 30000 }).stdout)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
const fsOffice = (addr: string) => {
  const t = fsHost!.read(FS_STATE);
  return t ? (JSON.parse(t) as OfficeState).offices.find((o) => o.address === addr) : undefined;
};

/** `text` with `from` replaced; fails when `from` is not there (the vanilla file changed). */
function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `${file}: ${String(from)} not found`);
  writeFileSync(file, text.replace(from, to));
}

/** The admin's FreeSWITCH: vanilla with the minimal edits of 53-freeswitch-scanner (users 1001-1003). */
function prepareFs(etc: string, v: string): void {
  const c = path.join(etc, 'freeswitch');
  cpSync(VANILLA, c, { recursive: true });
  edit(path.join(c, 'vars.xml'), '<X-PRE-PROCESS cmd="set" data="default_password=1234"/>', `<X-PRE-PROCESS cmd="set" data="default_password=unused-not-1234"/>\n  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${SERVER}"/>`);
  edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_rtp_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_rtp_ip=${SERVER}"`);
  edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_sip_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_sip_ip=${SERVER}"`);
  for (const f of ['internal-ipv6.xml', 'external-ipv6.xml', 'external-ipv6']) rmSync(path.join(c, 'sip_profiles', f), { recursive: true, force: true });
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
  fsHost = await makePbxHost('vofs', `${SERVER}/24`, PEERS, prepareFs);
  fsHost.exec('mkdir', ['-p', '/run/freeswitch']);
  const fs = fsHost.start('freeswitch', FS, [
    '-nf', '-nc', '-nonat', '-lp',
    '-conf', '/etc/freeswitch', '-log', '/var/log/freeswitch', '-run', '/run/freeswitch', '-db', '/var/lib/freeswitch/db',
    '-storage', '/var/lib/freeswitch/storage', '-recordings', '/var/lib/freeswitch/recordings', '-cache', '/var/cache/freeswitch', '-temp', '/tmp',
  ]);
  assert.ok(await waitFor(() => /internal\s+profile\s+\S+\s+RUNNING/.test(fsCli('sofia status').stdout) || fs.exitCode !== null, 30000, 250), `FreeSWITCH starts: ${fs.output()}`);
  const r = fsHost.cli(['--yes', '--services', 'freeswitch', '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  assert.match(fsHost.read('/etc/fail2ban/jail.local') ?? '', /^\s*voip-f2b-guard\.py\[port="%\(port\)s", window=2, office="\/opt\/freeswitch\/bin\/fs_cli -H 127\.0\.0\.1 -P 8021 -x 'show registrations as json'"\]$/m);
  fsReady = true;

  // The registered phone, left running.
  const dir = path.join(fsHost.tmp, 'baresip-desk');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config'), `module_path\t/usr/lib/baresip/modules\nsip_listen\t${PEERS.off}:5060\nsip_trans_def\tudp\nmodule\tg711.so\nmodule_app\taccount.so\n`);
  writeFileSync(path.join(dir, 'contacts'), '');
  writeFileSync(path.join(dir, 'accounts'), `<sip:1002@${SERVER}>;auth_pass=${ACCOUNTS['1002']};regint=600\n`);
  fsPhone = fsHost.peer('off', '/usr/bin/baresip', ['-f', dir, '-t', '300'], 360000);
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
      await sleep(2100);
      const res: { out: string } = await fsHost!.peer('off', process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, user: '1003', password: 'lobby-Pass-2O26', failures: 1, timeoutMs: 2000 })], 30000);
      assert.deepEqual((JSON.parse(res.out) as SipRunResult).attempts.map((a) => a.status), [401, 403], `attempt ${i + 1} answered: ${res.out}`);
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
