/**
 * `install --web` (issue 12): the web view as a boot service, for the branches this machine
 * cannot show for real (systemd; no init system), with a recording runner over a simulated live
 * Debian 12 root; the init-script branch's commands too (test/real/47-web-service proves it for
 * real). The generated unit goes through the real `systemd-analyze verify`, the init script
 * through `sh -n`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { formatUninstallReport, uninstall } from '../../src/commands/uninstall.ts';
import { formatStatus, status } from '../../src/commands/status.ts';
import { formatCommand, type Command } from '../../src/adapters/runner.ts';
import { parseWebListen, WEB_CGROUP_PROCS, WEB_INITD, WEB_PIDFILE, WEB_PROGRAM_BIN, WEB_PROGRAM_DIR, WEB_TOKEN_FILE, WEB_UNIT } from '../../src/core/web-service.ts';
import { liveDebian12Root, liveDebian12Runner, osRelease, removeRoot, tempRoot, testContext } from '../helpers/context.ts';
import { installOptions } from '../helpers/options.ts';
import { runCli } from '../helpers/cli.ts';
import { fakeFail2banSocket, type FakeFail2ban } from '../helpers/fake-fail2ban-socket.ts';
import type { InstallOptions } from '../../src/core/options.ts';

const opts = (o: Partial<InstallOptions> = {}): InstallOptions => installOptions({ yes: true, services: ['sshd'], web: true, doctor: false, ...o });
const webCalls = (calls: Command[]): string[] => calls.map(formatCommand).filter((c) => /voip-f2b-web/.test(c));
const real = (root: string, p: string): string => path.join(root, p);

test('--web-listen: loopback only (exit 2 naming the value), and only with --web', () => {
  assert.equal(parseWebListen('127.0.0.1:8473'), '127.0.0.1:8473');
  assert.equal(parseWebListen('[::1]:9000'), '[::1]:9000');
  assert.equal(parseWebListen('127.0.0.2:8080'), '127.0.0.2:8080');
  for (const bad of ['0.0.0.0:8473', '198.51.100.1:8473', '[::]:8473', '127.0.0.1', '127.0.0.1:0', 'localhost:99999']) {
    assert.throws(() => parseWebListen(bad), (e: Error) => e.message.includes(`invalid --web-listen '${bad}'`) && /loopback only/.test(e.message), bad);
  }
  const r = runCli(['--web', '--web-listen', '0.0.0.0:8473', '--dry-run', '--root', '/nonexistent']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid --web-listen '0\.0\.0\.0:8473': the web view's service listens on loopback only; expected 127\.0\.0\.1:<port> or \[::1\]:<port>/);
  const alone = runCli(['--web-listen', '127.0.0.1:8473', '--dry-run', '--root', '/nonexistent']);
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--web-listen is the address of the web view installed by --web/);
});

test('systemd: a unit (verified by systemd-analyze), the program copied once, enabled and started after fail2ban; a re-run changes nothing', async () => {
  const root = await liveDebian12Root({ '/run/systemd/system/.present': '' });
  try {
    const run = liveDebian12Runner([]);
    const report = await install(opts(), testContext(root, { run, live: true }));
    assert.equal(report.nothingToDo, false);
    // The plan: the program is ONE line (a directory, how many files), the token and the unit one each.
    const program = report.files.find((f) => f.path === `${WEB_PROGRAM_DIR}/`)!;
    assert.equal(program.action, 'CREATE');
    assert.ok(program.files! > 20, `${program.files} files`);
    assert.equal(report.files.filter((f) => f.path.startsWith(WEB_PROGRAM_DIR)).length, 1);
    assert.ok(report.files.some((f) => f.path === WEB_UNIT && f.action === 'CREATE'));
    assert.ok(report.files.some((f) => f.path === WEB_TOKEN_FILE && f.action === 'CREATE'));
    assert.equal(report.web?.kind, 'systemd');
    assert.equal(report.web?.service, WEB_UNIT);

    // The copy is a runnable, self-contained package; node by its absolute path.
    for (const p of ['package.json', 'bin/voip-f2b-install.js', 'dist/cli.cjs', 'templates/web/index.html']) assert.ok(existsSync(real(root, `${WEB_PROGRAM_DIR}/${p}`)), p);
    assert.equal(statSync(real(root, WEB_PROGRAM_BIN)).mode & 0o777, 0o755);
    assert.equal(statSync(real(root, WEB_TOKEN_FILE)).mode & 0o777, 0o600);
    assert.match(await readFile(real(root, WEB_TOKEN_FILE), 'utf8'), /^[A-Za-z0-9_-]{43}\n$/);
    const unit = await readFile(real(root, WEB_UNIT), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath} ${WEB_PROGRAM_BIN} web --listen 127\\.0\\.0\\.1:8473$`, 'm'));
    assert.match(unit, /^After=network\.target fail2ban\.service$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);
    assert.doesNotMatch(unit, /\{\{/);

    // After fail2ban is up: load the unit, enable it, (re)start it.
    const all = run.calls.map(formatCommand);
    assert.deepEqual(webCalls(run.calls), ['systemctl enable voip-f2b-web', 'systemctl restart voip-f2b-web']);
    assert.ok(all.indexOf('systemctl daemon-reload') > all.indexOf('systemctl start fail2ban'), all.join('\n'));

    // The unit, for real, as systemd reads it.
    const sa = spawnSync('systemd-analyze', ['verify', real(root, WEB_UNIT)], { encoding: 'utf8' });
    if (sa.error) console.log('# systemd-analyze not available: unit not verified');
    else assert.equal(`${sa.status} ${sa.stdout}${sa.stderr}`.trim(), '0', 'systemd-analyze verify accepts the unit without a warning');

    // Re-run with the service running (its cgroup has a process) and fail2ban running: nothing to do.
    mkdirSync(real(root, 'run/fail2ban'), { recursive: true });
    writeFileSync(real(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    mkdirSync(path.dirname(real(root, WEB_CGROUP_PROCS)), { recursive: true });
    writeFileSync(real(root, WEB_CGROUP_PROCS), '4242\n');
    const run2 = liveDebian12Runner([]);
    const again = await install(opts(), testContext(root, { run: run2, live: true }));
    assert.equal(again.nothingToDo, true);
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'));
    assert.deepEqual(webCalls(run2.calls), []);

    // Not running any more (stopped by hand): a re-run starts it, and writes nothing.
    writeFileSync(real(root, WEB_CGROUP_PROCS), '');
    const run3 = liveDebian12Runner([]);
    const start = await install(opts(), testContext(root, { run: run3, live: true }));
    assert.equal(start.nothingToDo, false);
    assert.ok(start.files.every((f) => f.action === 'UNCHANGED'));
    assert.deepEqual(webCalls(run3.calls), ['systemctl start voip-f2b-web']);
    assert.ok(!run3.calls.some((c) => c.cmd === 'systemctl' && c.args.includes('fail2ban')), 'fail2ban is not restarted for it');

    // uninstall: the service is stopped and disabled while its unit is there, then everything goes.
    const run4 = liveDebian12Runner([]);
    const u = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run: run4, live: true }));
    const calls = run4.calls.map(formatCommand);
    assert.ok(calls.includes('systemctl disable --now voip-f2b-web'), calls.join('\n'));
    assert.ok(calls.indexOf('systemctl daemon-reload') > calls.indexOf('systemctl disable --now voip-f2b-web'));
    assert.ok(u.removed.includes(WEB_UNIT) && u.removed.includes(WEB_TOKEN_FILE) && u.removed.includes(`${WEB_PROGRAM_DIR}/dist/cli.cjs`));
    // Text: the program is one line, as in the plan.
    const text = formatUninstallReport(u);
    assert.match(text, /^REMOVE {2}\/usr\/local\/lib\/voip-f2b-install\/ \(the web view's program, \d+ files\)$/m);
    assert.equal(text.split('\n').filter((l) => l.includes(WEB_PROGRAM_DIR)).length, 1);
    for (const p of [WEB_PROGRAM_DIR, WEB_UNIT, WEB_TOKEN_FILE, '/etc/voip-f2b-install']) assert.equal(existsSync(real(root, p)), false, p);
  } finally {
    await removeRoot(root);
  }
});

test('SysV (Debian): an LSB init script with start-stop-daemon, update-rc.d defaults, then a restart that must leave a live PID', async () => {
  const root = await liveDebian12Root();
  let f2b: FakeFail2ban | null = null;
  try {
    const run = liveDebian12Runner([], (c) => {
      // The init script's start, simulated: a live PID in the pid file.
      if (c.cmd === WEB_INITD) {
        mkdirSync(path.dirname(real(root, WEB_PIDFILE)), { recursive: true });
        writeFileSync(real(root, WEB_PIDFILE), `${process.pid}\n`);
      }
      return undefined;
    });
    const report = await install(opts(), testContext(root, { run, live: true }));
    assert.equal(report.web?.kind, 'initd');
    assert.deepEqual(webCalls(run.calls), ['update-rc.d voip-f2b-web defaults', '/etc/init.d/voip-f2b-web restart']);
    assert.ok(report.services.includes('voip-f2b-web (serve the web view on 127.0.0.1:8473)'), report.services.join());
    const script = await readFile(real(root, WEB_INITD), 'utf8');
    assert.equal(statSync(real(root, WEB_INITD)).mode & 0o777, 0o755);
    assert.match(script, /^# Provides: +voip-f2b-web$/m);
    assert.match(script, /^# Should-Start: +fail2ban$/m);
    assert.match(script, new RegExp(`^NODE=${process.execPath}$`, 'm'));
    assert.match(script, new RegExp(`^PROGRAM=${WEB_PROGRAM_BIN}$`, 'm'));
    assert.match(script, /^PIDFILE=\/run\/voip-f2b-web\.pid$/m);
    assert.match(script, /--background --make-pidfile --pidfile "\$PIDFILE"/);
    assert.doesNotMatch(script, /\{\{/);
    const syntax = spawnSync('sh', ['-n', real(root, WEB_INITD)], { encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    // The report says how to get in: the tunnel and where the token is (never the token itself).
    const token = (await readFile(real(root, WEB_TOKEN_FILE), 'utf8')).trim();
    assert.ok(report.manualSteps.some((s) => s.includes('ssh -L 8473:127.0.0.1:8473') && s.includes(WEB_TOKEN_FILE)));
    assert.ok(!JSON.stringify(report).includes(token), 'the token is in no report');
    // status shows the service: running by the PID in its pid file, where it listens (fail2ban,
    // asked over its socket, runs no jail).
    f2b = await fakeFail2banSocket(root, () => [0, [['Number of jail', 0], ['Jail list', '']]]);
    const s = await status({}, testContext(root, { run: liveDebian12Runner([]), live: true }));
    assert.deepEqual(s.webView, { service: WEB_INITD, running: true, pid: process.pid, listen: '127.0.0.1:8473' });
    assert.match(formatStatus(s), new RegExp(`^Web view: running \\(PID ${process.pid}\\) on 127\\.0\\.0\\.1:8473 \\(/etc/init\\.d/voip-f2b-web; token in /etc/voip-f2b-install/web-token\\)$`, 'm'));
    writeFileSync(real(root, WEB_PIDFILE), '999999999\n');
    const down = await status({}, testContext(root, { run: liveDebian12Runner([]), live: true }));
    assert.match(formatStatus(down), /^Web view: NOT running \(\/etc\/init\.d\/voip-f2b-web\); start it: \/etc\/init\.d\/voip-f2b-web start$/m);
  } finally {
    await f2b?.close();
    await removeRoot(root);
  }
});

test('uninstall: a service its init script cannot stop is stopped by the PID in its pid file (only if it runs our program)', async () => {
  const root = await liveDebian12Root();
  // A real process whose command line names the copied program, as the service's does.
  const { spawn } = await import('node:child_process');
  const proc = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', WEB_PROGRAM_BIN, 'web'], { stdio: 'ignore' });
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    const start = (pid: number) => (c: Command) => {
      if (c.cmd === WEB_INITD && c.args[0] === 'restart') {
        mkdirSync(path.dirname(real(root, WEB_PIDFILE)), { recursive: true });
        writeFileSync(real(root, WEB_PIDFILE), `${pid}\n`);
      }
      // The init script's stop fails (e.g. removed by hand).
      if (c.cmd === WEB_INITD && c.args[0] === 'stop') return { exitCode: 127, stderr: 'not found' };
      return undefined;
    };
    // A pid file naming a process that is not ours: never signalled.
    await install(opts(), testContext(root, { run: liveDebian12Runner([], start(other.pid!)), live: true }));
    const u0 = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run: liveDebian12Runner([], start(other.pid!)), live: true }));
    assert.ok(u0.warnings.some((w) => /the web view's service did not stop/.test(w)), u0.warnings.join('\n'));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(other.exitCode === null && other.signalCode === null, true, 'a foreign process is left alone');
    // Our program: SIGTERM by PID.
    await install(opts(), testContext(root, { run: liveDebian12Runner([], start(proc.pid!)), live: true }));
    const u = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run: liveDebian12Runner([], start(proc.pid!)), live: true }));
    assert.ok(u.services.includes(`voip-f2b-web (SIGTERM to PID ${proc.pid})`), u.services.join());
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(proc.signalCode, 'SIGTERM');
  } finally {
    proc.kill('SIGKILL');
    other.kill('SIGKILL');
    await removeRoot(root);
  }
});

test('SysV: a service that does not come up rolls the whole run back (exit 1, every file restored)', async () => {
  const root = await liveDebian12Root();
  try {
    const run = liveDebian12Runner([]);
    const ctx = testContext(root, { run, live: true });
    const t0 = Date.now();
    await assert.rejects(install(opts(), ctx), (e: Error & { details?: string[] }) => {
      assert.match(e.message, /voip-f2b-web is not running after `\/etc\/init\.d\/voip-f2b-web restart`/);
      assert.ok(JSON.stringify(e).includes('see why in /var/log/voip-f2b-install/web.log'), JSON.stringify(e));
      return true;
    });
    console.log(`# rollback after ${Date.now() - t0} ms (the start is given 15 s)`);
    for (const p of [WEB_PROGRAM_DIR, WEB_INITD, WEB_TOKEN_FILE, '/etc/fail2ban/jail.local']) assert.equal(existsSync(real(root, p)), false, p);
  } finally {
    await removeRoot(root);
  }
});

test('a token file others can read is refused before anything changes (exit 2, the fix named)', async () => {
  const root = await liveDebian12Root({ [WEB_TOKEN_FILE]: 'x'.repeat(43) + '\n' });
  try {
    const { chmodSync } = await import('node:fs');
    chmodSync(real(root, WEB_TOKEN_FILE), 0o644);
    const run = liveDebian12Runner([]);
    await assert.rejects(install(opts(), testContext(root, { run, live: true })), (e: Error & { exitCode?: number; hint?: string }) => {
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /the token file \/etc\/voip-f2b-install\/web-token can be read by others \(mode 644\)/);
      assert.match(e.hint ?? '', /chmod 600/);
      return true;
    });
    assert.deepEqual([...new Set(run.calls.map((c) => c.cmd))].filter((c) => c !== 'dpkg-query'), [], 'only the package query ran');
    assert.equal(existsSync(real(root, WEB_PROGRAM_DIR)), false);
    assert.equal(existsSync(real(root, '/etc/fail2ban/jail.local')), false);
  } finally {
    await removeRoot(root);
  }
});

test('no init system: no service file, the manual step with the exact command line', async () => {
  const root = await tempRoot({ '/etc/os-release': await osRelease('debian-12'), '/usr/bin/fail2ban-client': '', '/usr/lib/python3/dist-packages/fail2ban/version.py': 'version = "1.0.2"\n', '/usr/sbin/iptables': '' });
  try {
    const run = liveDebian12Runner([]);
    const report = await install(opts({ webListen: '[::1]:9000' }), testContext(root, { run, live: true }));
    assert.equal(report.web?.kind, 'manual');
    assert.equal(report.web?.service, null);
    assert.deepEqual(webCalls(run.calls), []);
    assert.equal(existsSync(real(root, WEB_UNIT)), false);
    assert.equal(existsSync(real(root, WEB_INITD)), false);
    assert.ok(existsSync(real(root, WEB_PROGRAM_BIN)));
    assert.ok(report.manualSteps.includes(`start the web view (and again after every boot): ${process.execPath} ${WEB_PROGRAM_BIN} web --listen [::1]:9000`), report.manualSteps.join('\n'));
    assert.ok(report.warnings.some((w) => /web view: no init system runs here/.test(w)));
    assert.ok(report.manualSteps.some((s) => s.includes('ssh -L 9000:[::1]:9000')));
  } finally {
    await removeRoot(root);
  }
});

test('a newer program: only the changed files are UPDATE, shown as one line with how many change', async () => {
  const root = await liveDebian12Root({ '/run/systemd/system/.present': '' });
  try {
    await install(opts(), testContext(root, { run: liveDebian12Runner([]), live: true }));
    writeFileSync(real(root, `${WEB_PROGRAM_DIR}/templates/web/app.css`), '/* an older version */\n');
    const run = liveDebian12Runner([]);
    const ctx = testContext(root, { run, live: true });
    const r = await install(opts(), ctx);
    assert.deepEqual(r.files.filter((f) => f.path.startsWith(WEB_PROGRAM_DIR)).map((f) => f.action), ['UPDATE']);
    assert.ok(ctx.log.stdout.join("").split("\n").some((l) => /UPDATE +\/usr\/local\/lib\/voip-f2b-install\/ +\(the web view's program \(\d+ files\); 1 of them change\)/.test(l)), ctx.log.stdout.join('\n'));
    assert.deepEqual(webCalls(run.calls), ['systemctl restart voip-f2b-web'], 'the unit did not change: no enable, only a restart');
  } finally {
    await removeRoot(root);
  }
});

test('the generated unit is what systemd-analyze accepts (this machine\'s systemd, no daemon needed)', { skip: spawnSync('systemd-analyze', ['--version']).error ? 'no systemd-analyze' : false }, () => {
  // Also a unit with a bad line is caught, so the check above is not vacuous.
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-hs-unit-'));
  try {
    const f = path.join(dir, 'voip-f2b-web.service');
    writeFileSync(f, `[Unit]\nDescription=x\n[Service]\nExecStart=${process.execPath} -e 0\nRestart=bogus\n[Install]\nWantedBy=multi-user.target\n`);
    const sa = spawnSync('systemd-analyze', ['verify', f], { encoding: 'utf8' });
    assert.match(`${sa.stdout}${sa.stderr}`, /Failed to parse service restart specifier/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
