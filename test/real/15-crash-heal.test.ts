/**
 * Issue 10 on the real host (root, Debian 12, no systemd; changes host state: run it alone or
 * under the host lock). The built CLI is killed (SIGKILL) during a real install, after apt
 * installed the packages, as soon as its journal appears (during the backups and files); the
 * re-run finishes the job and fail2ban runs with our jail. Then the Debian sshd trap: with no
 * auth log and no journald, `uninstall` restores the stock config, whose sshd jail cannot
 * start: it exits 1 naming the reason and printing the fix; `uninstall --yes` leaves the
 * minimal sshd override and fail2ban runs again.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { BIN, ensureBuilt, runCli } from '../helpers/cli.ts';
import { assertRealHost, dpkgInstalled, fail2banPid, jailList, pidFromFile, sh, stopFail2ban, stopPid } from '../helpers/system.ts';

const MANIFEST = '/var/backups/voip-f2b-install/manifest.json';
const OVERRIDE = '/etc/fail2ban/jail.d/sshd-voip-f2b-uninstall.local';
const AUTH_LOG = '/var/log/auth.log';
const AUTH_ASIDE = '/var/log/auth.log.voip-f2b-test-aside';
const ENV = { SSH_CONNECTION: '192.0.2.99 50000 192.0.2.1 22' };
const ARGS = ['--whitelist', '203.0.113.7', '--services', 'asterisk', '--yes'];

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
  rmSync(OVERRIDE, { force: true });
  if (existsSync(AUTH_ASIDE)) renameSync(AUTH_ASIDE, AUTH_LOG);
});

/** Temp files of ours anywhere under `dir`. */
function temps(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (/\.voip-f2b(\.tmp|-\d+-\d+\.tmp)$/.test(e.name)) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

test('setup: no fail2ban, no earlier install, no auth log (the Debian 12 sshd trap)', async () => {
  assertRealHost();
  cronWasInstalled = dpkgInstalled('cron');
  await stopFail2ban();
  sh('apt-get', ['-q', '-y', 'purge', 'fail2ban'], { check: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  rmSync('/etc/fail2ban', { recursive: true, force: true });
  rmSync('/var/backups/voip-f2b-install', { recursive: true, force: true });
  for (const d of ['/etc/asterisk', '/var/log/asterisk']) rmSync(d, { recursive: true, force: true });
  if (existsSync(AUTH_LOG)) renameSync(AUTH_LOG, AUTH_ASIDE);
  assert.equal(dpkgInstalled('fail2ban'), false);
  assert.equal(existsSync('/run/systemd/journal/socket'), false, 'no journald on this host');
});

test('killed after the packages, during the files: the re-run heals and fail2ban runs', async () => {
  ensureBuilt();
  const child = spawn(process.execPath, [BIN, ...ARGS], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  // Bounded: apt may take minutes on a slow mirror-less machine; the journal appears right after.
  let journal: { pending?: unknown } | null = null;
  const deadline = Date.now() + 600000;
  let done = false;
  void exited.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    if (existsSync(MANIFEST)) {
      child.kill('SIGKILL'); // by the PID we started
      try {
        journal = JSON.parse(readFileSync(MANIFEST, 'utf8'));
      } catch {
        journal = null;
      }
      break;
    }
    await new Promise((r) => setImmediate(r));
  }
  const end = await exited;
  assert.equal(end.signal, 'SIGKILL', `the CLI was killed mid-run (exit ${end.code}): ${stderr}`);
  assert.ok(dpkgInstalled('fail2ban'), 'the packages were installed before the kill');
  assert.ok(journal?.pending, 'the journal of the killed run is open');
  console.log(`# killed with the journal open; temp files left: ${temps('/etc/fail2ban').length + temps('/var/backups/voip-f2b-install').length}`);

  const r = runCli([...ARGS, '--json'], { env: ENV });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.nothingToDo, false);
  assert.ok(report.recovered.some((x: string) => /was interrupted; finishing it/.test(x)), JSON.stringify(report.recovered));
  assert.ok(fail2banPid(), 'fail2ban runs');
  assert.deepEqual(jailList(), ['voip-asterisk']);
  assert.deepEqual([...temps('/etc/fail2ban'), ...temps('/var/backups/voip-f2b-install'), ...temps('/var/log')], [], 'no temp file left');
  assert.equal(JSON.parse(readFileSync(MANIFEST, 'utf8')).pending, undefined, 'journal closed');
  assert.equal(sh('fail2ban-client', ['-t']).status, 0);
  const again = runCli([...ARGS, '--json'], { env: ENV });
  assert.equal(JSON.parse(again.stdout).nothingToDo, true, 'and the next run has nothing to do');
});

test('uninstall where the restored stock config cannot start: exit 1 with the reason and the fix, fail2ban stopped', () => {
  const r = runCli(['uninstall']);
  assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^RESTORE |^REMOVE  /m);
  assert.match(r.stdout, /^Warning: the restored stock configuration enables the sshd jail, which cannot start here/m);
  assert.match(r.stdout, /^FAILED: fail2ban was running before uninstall and does not run on the restored configuration/m);
  assert.ok(r.stdout.includes(`To fix: printf '[sshd]\\nenabled = false\\n' > ${OVERRIDE} && `), r.stdout);
  assert.match(r.stdout, /^To fix: printf .* && (service fail2ban restart|fail2ban-client -x restart)$/m);
  assert.match(r.stderr, /fail2ban was running before uninstall/);
  assert.doesNotMatch(r.stdout, /^Done\.$/m);
  assert.equal(fail2banPid(), null, 'fail2ban does not run (and the report says so)');
  assert.equal(existsSync('/var/backups/voip-f2b-install'), false, 'the files are restored all the same');
  assert.equal(existsSync('/etc/fail2ban/jail.local'), false);
});

test('uninstall --yes leaves the minimal sshd override: the stock config starts, exit 0', () => {
  const i = runCli(ARGS, { env: ENV });
  assert.equal(i.status, 0, i.stderr);
  assert.ok(fail2banPid());
  const r = runCli(['uninstall', '--yes']);
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^KEEP    ${OVERRIDE.replace(/\./g, '\\.')}$`, 'm'));
  assert.equal(readFileSync(OVERRIDE, 'utf8').split('\n').slice(-3).join('\n'), '[sshd]\nenabled = false\n');
  assert.ok(fail2banPid(), 'fail2ban runs on the stock config plus the override');
  assert.equal(sh('fail2ban-client', ['-t']).status, 0);
});
