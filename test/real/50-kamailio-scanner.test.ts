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
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, runCli } from '../helpers/cli.ts';
import { assertRealHost, sh, stopPid, sleep, waitFor } from '../helpers/system.ts';
import { processAlive } from '../../src/adapters/facts.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const SRV = 'h8k-srv';
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
const ns = (p: PeerName): string => `h8k-${p}`;
const MAXRETRY = 5; // the tool's default, which the run keeps
const USERS = { alice: 'secret123', bob: 'bob-Pass-2026', carol: 'carol-Pass-2026', dave: 'dave-Pass-2026' };
const STOCK_CFG = path.join(REPO, 'test/fixtures/upstream/kamailio/kamailio.cfg');
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const CLI_ENV = { SSH_CONNECTION: undefined, SSH_CLIENT: undefined };


let tmp = '';
let root = '';
let holder: ChildProcess | null = null;
const started: Array<{ what: string; child: ChildProcess }> = [];
let namespaces: string[] = [];
let kamailioUp = false; // set at the end of a successful setup

const ip = (args: string[]): void => void sh('ip', args, { check: true, timeoutMs: 10000 });
/** A command inside the server's network and mount namespaces. */
const inServer = (cmd: string, args: string[]): [string, string[]] => ['nsenter', ['-t', String(holder!.pid), '-m', '-n', cmd, ...args]];
const serverSh = (cmd: string, args: string[]) => {
  const [c, a] = inServer(cmd, args);
  return sh(c, a, { timeoutMs: 30000 });
};
/** fail2ban-client on our server: our config dir (never the host's /etc/fail2ban) and socket. */
const f2b = (...args: string[]) => sh('fail2ban-client', ['-c', path.join(root, 'etc/fail2ban'), '-s', path.join(tmp, 'f2b.sock'), ...args], { timeoutMs: 30000 });
const kamLog = (): string => (existsSync(path.join(root, 'var/log/kamailio.log')) ? readFileSync(path.join(root, 'var/log/kamailio.log'), 'utf8') : '');
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
/** The jail's banned list; fail2ban-client is retried (bounded) while the server is busy banning. */
function banned(jail: string): string[] {
  for (let i = 0; i < 5; i++) {
    const r = f2b('status', jail);
    const m = /Banned IP list:\s*(.*)$/m.exec(r.stdout);
    if (r.status === 0 && m) return m[1]!.split(/\s+/).filter(Boolean);
    sh('sleep', ['1']);
  }
  const r = f2b('status', jail);
  throw new Error(`fail2ban-client status ${jail} failed (${r.status}): ${r.stderr}${r.stdout}`);
}

/** Starts a long-running process; it is stopped by its PID in after(). */
function start(what: string, cmd: string, args: string[], o: { cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { cwd: o.cwd ?? tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  Object.defineProperty(child, 'output', { get: () => out });
  started.push({ what, child });
  return child;
}
const outputOf = (c: ChildProcess): string => (c as unknown as { output: string }).output;

/** Runs a program in a peer's namespace to its end (bounded), returning its output. */
function runIn(peer: PeerName, cmd: string, args: string[], timeoutMs: number, cwd = tmp): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn('ip', ['netns', 'exec', ns(peer), cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

async function sip(peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> {
  const r = await runIn(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, ...o })], 15000 + (o.failures + 1) * o.timeoutMs, REPO);
  assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
  return JSON.parse(r.out) as SipRunResult;
}

after(async () => {
  const problems: string[] = [];
  for (const { what, child } of started.reverse()) {
    try {
      if (child.pid) await stopPid(child.pid);
    } catch (err) {
      problems.push(`stop ${what}: ${(err as Error).message}`);
    }
  }
  if (holder?.pid && processAlive(holder.pid)) await stopPid(holder.pid);
  for (const n of namespaces) {
    if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === n)) {
      const r = sh('ip', ['netns', 'del', n]);
      if (r.status !== 0) problems.push(`ip netns del ${n}: ${r.stderr}`);
    }
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  if (problems.length) throw new Error(`cleanup: ${problems.join('\n')}`);
});

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
  const taken = sh('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n?.startsWith('h8k-'));
  assert.deepEqual(taken, [], 'no h8k-* namespace is left from an earlier run');

  // 1. The --root tree, as an admin's server: stock files, the admin's local settings, users.
  tmp = mkdtempSync(path.join(tmpdir(), 'voip-f2b-kamscan-'));
  root = path.join(tmp, 'root');
  for (const d of ['etc/kamailio', 'etc/rsyslog.d', 'var/log', 'var/spool/rsyslog', 'run/kamailio', 'db']) mkdirSync(path.join(root, d), { recursive: true });
  copyFileSync('/etc/os-release', path.join(root, 'etc/os-release'));
  copyFileSync(STOCK_CFG, path.join(root, 'etc/kamailio/kamailio.cfg'));
  writeFileSync(
    path.join(root, 'etc/kamailio/kamailio-local.cfg'),
    `#!define WITH_AUTH\n#!define WITH_ANTIFLOOD\n#!define DBURL "text://${path.join(root, 'db')}"\nloadmodule "db_text.so"\n`,
  );
  copyFileSync('/usr/share/kamailio/dbtext/kamailio/version', path.join(root, 'db/version'));
  writeFileSync(
    path.join(root, 'db/subscriber'),
    'id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n' +
      Object.entries(USERS).map(([u, p], i) => `${i + 1}:${u}:${SERVER}:${p}:-:-:\n`).join(''),
  );
  // fail2ban's own files, as the package installs them; nothing of ours, no jail.local.
  cpSync('/etc/fail2ban', path.join(root, 'etc/fail2ban'), { recursive: true });
  for (const f of ['jail.local', 'filter.d/voip-asterisk.conf', 'filter.d/voip-freeswitch.conf', 'filter.d/voip-kamailio.conf', 'action.d/voip-f2b-mail.conf']) {
    rmSync(path.join(root, 'etc/fail2ban', f), { force: true });
  }
  writeFileSync(
    path.join(root, 'etc/fail2ban/fail2ban.local'),
    `[Definition]\nlogtarget = ${tmp}/fail2ban.log\nsocket = ${tmp}/f2b.sock\npidfile = ${tmp}/f2b.pid\ndbfile = ${tmp}/f2b.sqlite3\n`,
  );

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

  // 3. The network: a bridge inside the server namespace, one veth per peer.
  namespaces = [SRV, ...Object.keys(PEERS).map((p) => ns(p as PeerName))];
  ip(['netns', 'add', SRV]);
  ip(['-n', SRV, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
  ip(['-n', SRV, 'addr', 'add', `${SERVER}/27`, 'dev', 'br0']);
  ip(['-n', SRV, 'link', 'set', 'br0', 'up']);
  ip(['-n', SRV, 'link', 'set', 'lo', 'up']);
  for (const [p, addr] of Object.entries(PEERS) as Array<[PeerName, string]>) {
    ip(['netns', 'add', ns(p)]);
    ip(['-n', ns(p), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `v-${p}`, 'netns', SRV]);
    ip(['-n', SRV, 'link', 'set', `v-${p}`, 'master', 'br0', 'up']);
    ip(['-n', ns(p), 'addr', 'add', `${addr}/27`, 'dev', 'eth0']);
    ip(['-n', ns(p), 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns(p), 'link', 'set', 'lo', 'up']);
  }

  // 4. A mount namespace for the server side: its own /dev (with /dev/log), /var/log and /run.
  const script = [
    'set -e',
    'mkdir -p "$1/olddev"',
    'mount --bind /dev "$1/olddev"',
    'mount -t tmpfs -o mode=755 h8kdev /dev',
    'for n in null zero full random urandom tty; do touch /dev/$n; mount --bind "$1/olddev/$n" /dev/$n; done',
    'mkdir /dev/shm /dev/pts && mount -t tmpfs -o mode=1777 h8kshm /dev/shm',
    'ln -s /proc/self/fd /dev/fd',
    'umount "$1/olddev"',
    'mount --bind "$2/var/log" /var/log',
    'mount --bind "$2/run" /run',
    'echo ready',
    'exec sleep 3600',
  ].join('\n');
  holder = spawn('ip', ['netns', 'exec', SRV, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'holder', tmp, root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let hout = '';
  holder.stdout!.on('data', (d: Buffer) => (hout += d.toString()));
  holder.stderr!.on('data', (d: Buffer) => (hout += d.toString()));
  assert.ok(await waitFor(() => hout.includes('ready') || holder!.exitCode !== null, 10000), 'the mount namespace is ready');
  assert.ok(hout.includes('ready'), `mount namespace: ${hout}`);

  // 5. rsyslogd (the tool's rule), kamailio, fail2ban-server: all inside.
  writeFileSync(
    path.join(tmp, 'rsyslog.conf'),
    `module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")\nglobal(workDirectory="${root}/var/spool/rsyslog")\n$IncludeConfig ${root}/etc/rsyslog.d/*.conf\n`,
  );
  start('rsyslogd', ...inServer('/usr/sbin/rsyslogd', ['-n', '-f', path.join(tmp, 'rsyslog.conf'), '-i', path.join(tmp, 'rsyslogd.pid')]));
  assert.ok(await waitFor(() => serverSh('test', ['-S', '/dev/log']).status === 0, 10000), 'rsyslogd listens on the private /dev/log');
  const kam = start('kamailio', ...inServer('/usr/sbin/kamailio', ['-DD', '-f', path.join(root, 'etc/kamailio/kamailio.cfg'), '-P', path.join(tmp, 'kamailio.pid'), '-m', '64', '-M', '8']), {
    cwd: path.join(root, 'etc/kamailio'),
  });
  const f2bd = start('fail2ban-server', ...inServer('/usr/bin/fail2ban-server', ['-f', '-x', '-c', path.join(root, 'etc/fail2ban')]));
  let up = false;
  for (let i = 0; i < 60 && !up; i++) {
    assert.equal(f2bd.exitCode, null, `fail2ban-server exited: ${outputOf(f2bd)}`);
    up = /voip-kamailio, voip-kamailio-pike/.test(f2b('status').stdout);
    if (!up) await sleep(500);
  }
  assert.ok(up, `fail2ban runs both jails: ${f2b('status').stdout}${outputOf(f2bd)}`);
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
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
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
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
  const dir = path.join(tmp, 'baresip');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config'), `module_path\t/usr/lib/baresip/modules\nsip_listen\t${PEERS.pho}:5060\nsip_trans_def\tudp\nmodule\tg711.so\nmodule_app\taccount.so\n`);
  writeFileSync(path.join(dir, 'contacts'), '');
  const account = (pw: string) => writeFileSync(path.join(dir, 'accounts'), `<sip:bob@${SERVER}>;auth_pass=${pw};regint=600\n`);
  account('bob-Pass-2O26'); // an O for a 0
  const typo = await runIn('pho', '/usr/bin/baresip', ['-f', dir, '-t', '3'], 20000);
  assert.match(typo.out, /401 Unauthorized/, typo.out);
  assert.ok(await waitFor(() => logged('failure', PEERS.pho).length >= 1, 5000));
  await sleep(500);
  assert.equal(logged('failure', PEERS.pho).length, 1, `one typo counts once:\n${logged('failure', PEERS.pho).join('\n')}`);
  account(USERS.bob);
  const fixed = await runIn('pho', '/usr/bin/baresip', ['-f', dir, '-t', '3'], 20000);
  assert.match(fixed.out, /200 OK/, `the fixed password registers: ${fixed.out}`);
  assert.ok(!banned('voip-kamailio').includes(PEERS.pho));
  t.diagnostic(`phone: a burst of identical wrong REGISTERs counted as ${logged('failure', PEERS.pho).length} failure; fixed password: 200 OK`);
});

test('svcrack: at most maxretry guesses answered, the weak password not found, banned in the firewall', async (t) => {
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
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
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
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
  const old = started.find((x) => x.what === 'kamailio')!;
  await stopPid(old.child.pid!);
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
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
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
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
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
  assert.ok(tmp && holder?.pid && kamailioUp, 'setup succeeded');
  const all = [...banned('voip-kamailio'), ...banned('voip-kamailio-pike')];
  for (const p of ['atk', 'qop', 'fld'] as const) assert.ok(all.includes(PEERS[p]), `${p} banned`);
  for (const p of ['fri', 'pho', 'map'] as const) {
    assert.ok(!all.includes(PEERS[p]), `${p} not banned`);
    assert.equal(firewallBans('voip-kamailio', PEERS[p]) || firewallBans('voip-kamailio-pike', PEERS[p]), false);
  }
});
