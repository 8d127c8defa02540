/**
 * The built CLI run for real on this Debian 12 machine (root, no systemd), as CI runs it.
 * It purges fail2ban and iptables first so that the install path itself is exercised.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, runCli } from '../helpers/cli.ts';
import { snapshot } from '../helpers/context.ts';
import { assertRealHost, dpkgInstalled, fail2banPid, jailList, pidFromFile, sh, stopFail2ban, stopPid } from '../helpers/system.ts';

const ENV = { SSH_CONNECTION: '192.0.2.99 50000 192.0.2.1 22' };
const ARGS = ['--whitelist', '203.0.113.7', '--services', 'asterisk,freeswitch', '--yes'];

let cronWasInstalled = true;

after(async () => {
  await stopFail2ban();
  // cron came with the watch of this test's install (no systemd here): stopped by its PID and
  // purged, as the host had it (uninstall keeps packages unless --purge-packages).
  if (!cronWasInstalled && dpkgInstalled('cron')) {
    const pid = pidFromFile('/run/crond.pid');
    if (pid) await stopPid(pid);
    sh('apt-get', ['-q', '-y', 'purge', 'cron'], { env: { DEBIAN_FRONTEND: 'noninteractive' } });
    rmSync('/run/crond.pid', { force: true });
  }
  // Leave no jail.local of this test behind (uninstall already restored everything else).
  const j = '/etc/fail2ban/jail.local';
  if (existsSync(j) && readFileSync(j, 'utf8').startsWith('# my own settings\n')) rmSync(j);
});

test('setup: a machine without fail2ban or a firewall tool', async () => {
  assertRealHost();
  cronWasInstalled = dpkgInstalled('cron');
  await stopFail2ban();
  sh('apt-get', ['-q', '-y', 'purge', 'fail2ban', 'iptables', 'nftables'], { check: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  rmSync('/etc/fail2ban', { recursive: true, force: true });
  rmSync('/var/backups/voip-f2b-install', { recursive: true, force: true });
  for (const d of ['/etc/asterisk', '/var/log/asterisk', '/var/log/freeswitch']) rmSync(d, { recursive: true, force: true });
  assert.equal(dpkgInstalled('fail2ban'), false);
});

let firstPid: number | null = null;

test('the CLI installs fail2ban, iptables and ipset, writes its config, and fail2ban runs without systemd', () => {
  const r = runCli([...ARGS, '--json'], { env: ENV });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.ok(report.packagesInstalled.includes('fail2ban'), JSON.stringify(report.packagesInstalled));
  assert.ok(report.packagesInstalled.includes('iptables'));
  assert.ok(report.packagesInstalled.includes('ipset') || dpkgInstalled('ipset'), 'ipset for the set-based actions');
  assert.ok(dpkgInstalled('fail2ban') && dpkgInstalled('iptables') && dpkgInstalled('ipset'));
  assert.ok(report.packageCommands.filter((c: string) => / install /.test(c)).length === 1, 'one install transaction');
  assert.deepEqual(report.jailsActive.filter((j: string) => j.startsWith('voip-')).sort(), ['voip-asterisk', 'voip-freeswitch']);
  assert.deepEqual(jailList().sort(), ['voip-asterisk', 'voip-freeswitch'], 'fail2ban-client status lists our jails (sshd disabled: no auth log, no journald here)');
  const jail = readFileSync('/etc/fail2ban/jail.local', 'utf8');
  assert.match(jail, /^ignoreip = 127\.0\.0\.1\/8 ::1 203\.0\.113\.7 192\.0\.2\.99$/m, 'whitelist and the admin address');
  // Debian 12 with no firewall tool: its own iptables, with sets (ipset) on every jail.
  assert.match(jail, /^banaction = iptables-ipset-proto6$/m);
  assert.match(jail, /^banaction_allports = voip-f2b-ipset\.py$/m);
  assert.ok(existsSync('/etc/fail2ban/action.d/voip-f2b-ipset.py'));
  firstPid = fail2banPid();
  assert.ok(firstPid, 'fail2ban-server runs');
  assert.equal(sh('fail2ban-client', ['-t']).status, 0);
});

test('the second run is a no-op: nothing to do, no package command, no restart', () => {
  const r = runCli([...ARGS, '--json'], { env: ENV });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.nothingToDo, true);
  assert.deepEqual(report.packageCommands, []);
  assert.deepEqual(report.services, []);
  assert.ok(report.files.every((f: { action: string }) => f.action === 'UNCHANGED'));
  assert.equal(fail2banPid(), firstPid, 'fail2ban was not restarted');
  const text = runCli(ARGS, { env: ENV });
  assert.match(text.stdout, /Nothing to do/);
});

/** The programs a CLI run executes (strace -f), besides node itself. */
function processesOf(args: string[]): { status: number | null; stdout: string; progs: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-strace-'));
  try {
    const trace = path.join(dir, 'trace');
    const r = sh('strace', ['-f', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', trace, process.execPath, BIN, ...args], { env: { ...ENV, PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const progs = readFileSync(trace, 'utf8').split('\n').map((l) => /execve\("([^"]+)".*\) = 0$/.exec(l)?.[1]).filter((p): p is string => !!p && p !== process.execPath);
    return { status: r.status, stdout: r.stdout, progs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a no-op re-run starts no process: the jail list from the socket, no configuration test for the tested files', () => {
  const quiet = processesOf(ARGS);
  assert.equal(quiet.status, 0);
  assert.match(quiet.stdout, /Nothing to do/);
  assert.deepEqual(quiet.progs, [], 'processes started by a no-op re-run');
  // A hand edit in /etc/fail2ban (a comment in a file of the admin's own): tested again, once.
  const note = '/etc/fail2ban/jail.d/zz-admin-note.local';
  writeFileSync(note, '# the admin was here\n');
  try {
    const edited = processesOf(ARGS);
    assert.equal(edited.status, 0);
    assert.deepEqual(edited.progs.map((p) => path.basename(p)), ['fail2ban-client'], 'the configuration test, and nothing else');
    assert.deepEqual(processesOf(ARGS).progs, [], 'and not again');
  } finally {
    rmSync(note, { force: true });
  }
  assert.equal(fail2banPid(), firstPid, 'fail2ban was not restarted');
});

test('a banaction that does not exist: config test fails, files rolled back, exit 1, the previous fail2ban still runs', async () => {
  const before = { etc: await snapshot('/etc/fail2ban'), state: await snapshot('/var/backups/voip-f2b-install') };
  const r = runCli([...ARGS, '--banaction', 'does-not-exist'], { env: ENV });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /fail2ban rejected the configuration; every file was restored/);
  assert.match(r.stderr, /Unable to read action 'does-not-exist'/);
  assert.deepEqual(await snapshot('/etc/fail2ban'), before.etc);
  assert.deepEqual(await snapshot('/var/backups/voip-f2b-install'), before.state);
  assert.equal(fail2banPid(), firstPid, 'the running fail2ban was never touched');
  assert.deepEqual(jailList().sort(), ['voip-asterisk', 'voip-freeswitch']);
});

test('uninstall brings /etc/fail2ban back to the package as shipped, byte for byte', () => {
  const r = runCli(['uninstall', '--json']);
  // The package as shipped enables the sshd jail, which cannot start here (no auth log, no
  // journald): fail2ban ran before and does not after, which uninstall reports as a failure
  // (issue 10) while restoring every file all the same.
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /fail2ban was running before uninstall and does not run on the restored configuration/);
  const report = JSON.parse(r.stdout);
  assert.ok(report.fixes.some((f: string) => f.includes('[sshd]')), JSON.stringify(report.fixes));
  assert.ok(report.removed.includes('/etc/fail2ban/jail.local'));
  // dpkg's own checksums of every file of the package, conffiles included.
  const verify = sh('dpkg', ['--verify', 'fail2ban']);
  assert.equal(verify.stdout + verify.stderr, '', 'no file of the fail2ban package differs');
  const packaged = new Set(sh('dpkg', ['-L', 'fail2ban']).stdout.split('\n').filter((p) => p.startsWith('/etc/fail2ban')));
  const onDisk = sh('find', ['/etc/fail2ban']).stdout.split('\n').filter(Boolean);
  assert.deepEqual(onDisk.filter((p) => !packaged.has(p)), [], 'no file left that the package does not ship');
  assert.equal(existsSync('/var/backups/voip-f2b-install'), false);
});

test("with the admin's own jail.local: install then uninstall restores /etc/fail2ban exactly", async () => {
  await stopFail2ban();
  const mine = '# my own settings\n[DEFAULT]\nignoreip = 127.0.0.1/8 192.0.2.10\nbantime = 2h\n\n[sshd]\nenabled = false ; no ssh logs here\n';
  writeFileSync('/etc/fail2ban/jail.local', mine, { mode: 0o640 });
  mkdirSync('/etc/fail2ban/jail.d', { recursive: true });
  const before = await snapshot('/etc/fail2ban');
  const r = runCli(ARGS, { env: ENV });
  assert.equal(r.status, 0, r.stderr);
  const jail = readFileSync('/etc/fail2ban/jail.local', 'utf8');
  assert.ok(jail.startsWith('# my own settings\n[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 192.0.2.10 203.0.113.7 192.0.2.99\n'), jail);
  assert.match(jail, /^enabled = false ; no ssh logs here$/m);
  assert.deepEqual(jailList().sort(), ['voip-asterisk', 'voip-freeswitch']);
  const u = runCli(['uninstall']);
  assert.equal(u.status, 0, u.stderr);
  assert.deepEqual(await snapshot('/etc/fail2ban'), before);
});
