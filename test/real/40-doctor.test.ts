/**
 * `doctor` for real, with no host state: the built CLI installs into a temp tree (--root), a
 * private fail2ban-server runs on that tree inside a network namespace of this test's own (so
 * its bans land in that namespace's firewall) and a mount namespace where the tree's /var/log,
 * /run/fail2ban and /var/lib/fail2ban are the server's own; doctor runs in the same network
 * namespace with --root on the tree, so it reads the same files and sees the same firewall.
 *
 *   1. a fresh install with a live Asterisk log: every check ok, exit 0
 *   2. the log file removed: broken, exit 1
 *   3. a filter that matches nothing on the live log: broken, exit 1
 *   4. a ban action whose firewall is not there (firewalld rich rules, no firewalld): broken, exit 1
 *   5. the install run again: ok again
 *
 * Each doctor report is printed as a diagnostic. Only 203.0.113.254 (TEST-NET-3) is ever banned,
 * and only inside the namespace: the host's firewall is checked to be untouched. Everything
 * started is stopped by its PID; the namespace and the tree are removed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, ensureBuilt, runCli } from '../helpers/cli.ts';
import { assertRealHost, sh, stopPid } from '../helpers/system.ts';
import { processAlive } from '../../src/adapters/facts.ts';
import type { DoctorReport, JailDoctor } from '../../src/core/doctor/report.ts';

const NS = 'h8d-doctor';
const JAIL = 'voip-asterisk';
const ATTACKER = '198.51.100.80';
const ADMIN = '198.51.100.70';
const TEST_BAN = '203.0.113.254';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let tree = '';
let serverPid: number | null = null;
const sock = (): string => path.join(tree, 'run/fail2ban/fail2ban.sock');

/** Asterisk's format (dateformat = %F %T), stamped now. */
function stamp(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** What a live Asterisk writes: ordinary lines, six wrong passwords from the attacker, one from the admin. */
function liveMessages(): string {
  const t = stamp();
  const lines = [
    `[${t}] VERBOSE[2417] pbx.c: Executing [100@from-internal:1] Dial("SIP/200-00000001", "SIP/100,30") in new stack`,
    `[${t}] NOTICE[2417] chan_sip.c: Registration from '"100" <sip:100@198.51.100.1>' failed for '${ADMIN}:5060' - Wrong password`,
  ];
  for (let i = 0; i < 6; i++) lines.push(`[${t}] NOTICE[2417] chan_sip.c: Registration from '"${200 + i}" <sip:${200 + i}@198.51.100.1>' failed for '${ATTACKER}:5070' - Wrong password`);
  lines.push(`[${t}] VERBOSE[2417] chan_sip.c: Scheduling destruction of SIP dialog '4f8a2b' in 32000 ms (Method: REGISTER)`);
  return lines.map((l) => `${l}\n`).join('');
}
/** The security log's twin of each wrong password above. */
function liveSecurity(): string {
  const t = stamp();
  const event = (user: string, from: string, port: number): string =>
    `[${t}] SECURITY[2417] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="1764400000-000001",Severity="Error",Service="SIP",EventVersion="2",AccountID="${user}",SessionID="0x7f00",LocalAddress="IPV4/UDP/198.51.100.1/5060",RemoteAddress="IPV4/UDP/${from}/${port}",Challenge="1a2b",ReceivedChallenge="1a2b",ReceivedHash="00ff"\n`;
  let out = event('100', ADMIN, 5060);
  for (let i = 0; i < 6; i++) out += event(String(200 + i), ATTACKER, 5070);
  return out;
}

function install(extra: string[] = []): void {
  const r = runCli(['--root', tree, '--yes', '--services', 'asterisk', '--whitelist', ADMIN, ...extra], { env: { SSH_CONNECTION: undefined, SSH_CLIENT: undefined } });
  assert.equal(r.status, 0, `install exited ${r.status}: ${r.stderr}`);
}

function client(args: string[]): ReturnType<typeof sh> {
  return sh('fail2ban-client', ['-c', path.join(tree, 'etc/fail2ban'), '-s', sock(), ...args], { timeoutMs: 60000 });
}

/** Starts fail2ban-server on the tree in the namespace (its own mounts), and waits for it. */
async function startServer(): Promise<void> {
  const script = 'mount --bind "$1/var/log" /var/log && mount --bind "$1/run/fail2ban" /run/fail2ban && mount --bind "$1/var/lib/fail2ban" /var/lib/fail2ban && exec fail2ban-server -c "$1/etc/fail2ban" -b -x';
  const r = sh('ip', ['netns', 'exec', NS, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', tree], { timeoutMs: 60000 });
  assert.equal(r.status, 0, `fail2ban-server did not start: ${r.stderr}${r.stdout}`);
  for (let i = 0; i < 200; i++) {
    if (client(['ping']).status === 0) break;
    await sleep(100);
  }
  serverPid = Number(readFileSync(path.join(tree, 'run/fail2ban/fail2ban.pid'), 'utf8').trim());
  assert.ok(serverPid > 0 && processAlive(serverPid), 'the private fail2ban-server runs');
}

async function stopServer(): Promise<void> {
  if (serverPid !== null) await stopPid(serverPid, 20000);
  serverPid = null;
}

/**
 * Loads a changed configuration. `fail2ban-client reload` would read the configuration here,
 * outside the server's mounts, where the tree's log files do not exist: the server is restarted
 * in its own view instead.
 */
async function restartServer(): Promise<void> {
  await stopServer();
  await startServer();
}

/** Runs `doctor` in the namespace on the tree; prints its text report; returns it with the JSON one. */
function doctor(label: string): { status: number | null; report: DoctorReport; text: string } {
  ensureBuilt();
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', SSH_CONNECTION: `${ADMIN} 50022 198.51.100.1 22` };
  const run = (json: boolean) =>
    spawnSync('ip', ['netns', 'exec', NS, process.execPath, BIN, 'doctor', '--root', tree, ...(json ? ['--json'] : [])], { encoding: 'utf8', env, timeout: 180000 });
  const t = run(false);
  console.log(`--- doctor (${label}): exit ${t.status}\n${t.stdout}${t.stderr}`);
  const j = run(true);
  assert.equal(j.status, t.status, `the same verdict with --json: ${j.stderr}`);
  return { status: j.status, report: JSON.parse(j.stdout) as DoctorReport, text: t.stdout };
}

const check = (j: JailDoctor, name: string) => {
  const c = j.checks.find((x) => x.name === name || x.name.startsWith(name));
  assert.ok(c, `check ${name} in ${JSON.stringify(j.checks.map((x) => x.name))}`);
  return c;
};

function hostFirewall(): string {
  return `${sh('iptables-save', []).stdout}${sh('nft', ['list', 'ruleset']).stdout}`;
}
let hostFirewallBefore = '';

before(async () => {
  assertRealHost();
  tree = mkdtempSync(path.join(tmpdir(), 'voip-f2b-h8d-doctor-'));
  for (const d of ['etc/asterisk', 'var/log/asterisk', 'run/fail2ban', 'var/lib/fail2ban']) mkdirSync(path.join(tree, d), { recursive: true });
  // As in a Debian root: /var/run is /run (fail2ban.conf names /var/run/fail2ban/fail2ban.sock;
  // the server below has the tree's run/fail2ban there). doctor --root resolves it inside the tree.
  symlinkSync('/run', path.join(tree, 'var/run'));
  cpSync('/etc/os-release', path.join(tree, 'etc/os-release'), { dereference: true });
  // fail2ban's configuration as the package ships it: only its own files (the host's jail.local,
  // or another test's, must not leak into this tree).
  for (const f of sh('dpkg-query', ['-L', 'fail2ban'], { check: true }).stdout.split('\n')) {
    if (!f.startsWith('/etc/fail2ban/') || !statSync(f, { throwIfNoEntry: false })?.isFile()) continue;
    mkdirSync(path.join(tree, path.dirname(f)), { recursive: true });
    cpSync(f, path.join(tree, f), { dereference: true });
  }
  writeFileSync(path.join(tree, 'etc/asterisk/asterisk.conf'), '[directories]\nastlogdir => /var/log/asterisk\n');
  if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === NS)) sh('ip', ['netns', 'del', NS]);
  sh('ip', ['netns', 'add', NS], { check: true });
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { check: true });
  hostFirewallBefore = hostFirewall();
});

after(async () => {
  await stopServer();
  if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === NS)) sh('ip', ['netns', 'del', NS]);
  if (tree && existsSync(tree)) rmSync(tree, { recursive: true, force: true });
});

test('doctor: all ok after a real install; each break is named with its fix and exit 1; ok again after a re-run', async () => {
  // 1. Install into the tree, Asterisk writes its logs, fail2ban runs on that configuration.
  install();
  const logDir = path.join(tree, 'var/log/asterisk');
  writeFileSync(path.join(logDir, 'messages.log'), liveMessages());
  writeFileSync(path.join(logDir, 'security'), liveSecurity());
  await startServer();

  let d = doctor('fresh install');
  assert.equal(d.status, 0);
  assert.equal(d.report.verdict, 'ok', d.text);
  assert.equal(d.report.fail2banRunning, true);
  assert.match(d.report.fail2banVersion ?? '', /^\d+\.\d+/);
  assert.ok(d.report.uptimeSeconds !== null && d.report.uptimeSeconds < 3600);
  assert.equal(d.report.adminWhitelisted, true);
  let j = d.report.jails.find((x) => x.jail === JAIL)!;
  assert.deepEqual(j.logFiles, ['/var/log/asterisk/messages.log', '/var/log/asterisk/security']);
  for (const c of j.checks) assert.equal(c.verdict, 'ok', `${c.name}: ${c.detail}`);
  assert.ok(j.matches!.reduce((a, m) => a + m.count, 0) >= 7, 'the filter counted the failures of the live log');
  // The attacker (6 wrong passwords, each counted once) would be banned; the admin's one typo is below maxretry.
  assert.deepEqual(j.wouldBan, [{ ip: ATTACKER, failures: 6, whitelisted: false }]);
  assert.match(check(j, 'ban round trip').detail, new RegExp(`banned ${TEST_BAN.replace(/\./g, '\\.')}: seen in [^;]*ipset[^;]*; unbanned: gone`));
  assert.equal(client(['get', JAIL, 'banned', TEST_BAN]).stdout.trim(), '0', 'the test address is unbanned');
  assert.match(d.text, /\[voip-asterisk\] ok/);

  // 2. The log path removed (logrotate gone wrong, a changed astlogdir): broken, exit 1.
  rmSync(path.join(logDir, 'messages.log'));
  d = doctor('log removed');
  assert.equal(d.status, 1);
  j = d.report.jails.find((x) => x.jail === JAIL)!;
  assert.equal(j.verdict, 'broken');
  const missing = check(j, 'log /var/log/asterisk/messages.log');
  assert.equal(missing.verdict, 'broken');
  assert.match(missing.detail, /does not exist/);
  assert.ok(missing.fix);
  assert.match(d.text, /BROKEN {2}log \/var\/log\/asterisk\/messages\.log/);
  assert.match(d.text, /Verdict: BROKEN \(exit 1\)/);
  writeFileSync(path.join(logDir, 'messages.log'), liveMessages());

  // 3. A filter that matches nothing on the live log (an edited copy, or a stale one): broken.
  const filterPath = path.join(tree, 'etc/fail2ban/filter.d/voip-asterisk.conf');
  const goodFilter = readFileSync(filterPath, 'utf8');
  writeFileSync(filterPath, '[Definition]\nfailregex = ^NOTHING-LOGS-THIS from <HOST>$\nignoreregex =\n');
  await restartServer();
  d = doctor('filter matches nothing');
  assert.equal(d.status, 1);
  j = d.report.jails.find((x) => x.jail === JAIL)!;
  const filter = check(j, 'filter voip-asterisk');
  assert.equal(filter.verdict, 'broken');
  assert.match(filter.detail, /look like authentication failures, but the filter matched none of them/);
  assert.equal(check(j, 'ban round trip').verdict, 'ok', 'the firewall still works: only the filter is named');
  writeFileSync(filterPath, goodFilter);

  // 4. A ban action that fails: firewalld rich rules where no firewalld runs.
  install(['--banaction', 'firewallcmd-rich-rules']);
  await restartServer();
  d = doctor('firewall action fails');
  assert.equal(d.status, 1);
  j = d.report.jails.find((x) => x.jail === JAIL)!;
  const ban = check(j, 'ban round trip');
  assert.equal(ban.verdict, 'broken');
  assert.match(ban.detail, /did not appear in the firewall/);
  assert.match(ban.detail, /fail2ban says: .*firewall-cmd/, "fail2ban's own error names the missing tool");
  assert.match(ban.fix ?? '', /firewallcmd-rich-rules/);

  // 5. The install run again with its own choice of ban action: ok again.
  install(['--banaction', 'iptables-multiport']);
  await restartServer();
  d = doctor('re-installed');
  assert.equal(d.status, 0, d.text);
  assert.equal(d.report.verdict, 'ok');

  // One jail only, and without the ban test.
  const one = spawnSync('ip', ['netns', 'exec', NS, process.execPath, BIN, 'doctor', JAIL, '--root', tree, '--no-ban-test', '--lines', '3', '--json'], { encoding: 'utf8', timeout: 120000 });
  assert.equal(one.status, 0, one.stderr);
  const r1 = JSON.parse(one.stdout) as DoctorReport;
  assert.deepEqual(r1.jails.map((x) => x.jail), [JAIL]);
  assert.match(check(r1.jails[0]!, 'ban round trip').detail, /skipped/);

  // The host's firewall never saw the test address (all bans were in the namespace).
  assert.equal(hostFirewall().includes(TEST_BAN), hostFirewallBefore.includes(TEST_BAN), 'the host firewall is as it was');
});

test('doctor: fail2ban stopped is broken (exit 1), with the jails of jail.local still checked', async () => {
  await stopServer();
  const d = doctor('fail2ban stopped');
  assert.equal(d.status, 1);
  assert.equal(d.report.fail2banRunning, false);
  assert.deepEqual(d.report.jails.map((x) => x.jail), [JAIL]);
  assert.match(d.text, /fail2ban is NOT running/);
});
