/**
 * `install --web` for real on this Debian 12 machine (root, no systemd: the init-script path),
 * as CI runs it. Changes host state (fail2ban's configuration, /etc/init.d, /usr/local/lib):
 * run it only under `flock /work/host.lock`-style exclusion, never beside another host test. It
 * leaves the host as it found it: uninstall removes everything the install added.
 *
 * Proven: the service answers on 127.0.0.1:8473 (401 without the token, 200 with it), its
 * process is the live PID in its pid file and runs the copied program with node's absolute
 * path; update-rc.d made its boot links; a re-run changes nothing and keeps the PID; a service
 * found stopped is started by a re-run; uninstall stops it (PID gone, port closed) and removes
 * every file it added (program, init script, rc links, token, pid file, its log).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { runCli } from '../helpers/cli.ts';
import { snapshot } from '../helpers/context.ts';
import { assertRealHost, fail2banPid, pidFromFile, stopFail2ban } from '../helpers/system.ts';
import { processAlive } from '../../src/adapters/facts.ts';
import { WEB_INITD, WEB_LOG, WEB_PIDFILE, WEB_PROGRAM_BIN, WEB_PROGRAM_DIR, WEB_TOKEN_FILE } from '../../src/core/web-service.ts';

// --no-watch: not this test's subject (55-watch's); the watch would bring cron, which this host may not have.
const ARGS = ['--web', '--yes', '--services', 'sshd', '--whitelist', '203.0.113.7', '--no-doctor', '--no-watch'];
const ENV = { SSH_CONNECTION: undefined, CI: '1' };
const PORT = 8473;
const MANIFEST = '/var/backups/voip-f2b-install/manifest.json';

/** One GET on the service; the status code (0: nothing listens). */
function get(path: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: PORT, path, headers: token ? { authorization: `Bearer ${token}` } : {}, timeout: 20000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.on('timeout', () => req.destroy());
  });
}

/** Whether anything accepts a connection on the port. */
function listening(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: PORT });
    s.on('connect', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** Polls (bounded) until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean> | boolean, ms = 30000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const rcLinks = (): string[] => ['rc0.d', 'rc1.d', 'rc2.d', 'rc3.d', 'rc4.d', 'rc5.d', 'rc6.d'].flatMap((d) => (existsSync(`/etc/${d}`) ? readdirSync(`/etc/${d}`).filter((n) => n.endsWith('voip-f2b-web')).map((n) => `${d}/${n}`) : []));

describe('install --web: the web view as a boot service on this host (init script)', () => {
  let etcBefore: Record<string, string> = {};
  let fail2banWasRunning = false;
  let pid: number | null = null;
  let token = '';

  before(async () => {
    assertRealHost();
    assert.equal(existsSync(MANIFEST), false, 'no earlier install on this host (its uninstall would be undone by this test)');
    for (const p of [WEB_PROGRAM_DIR, WEB_INITD, WEB_TOKEN_FILE]) assert.equal(existsSync(p), false, `${p} absent before the test`);
    assert.equal(await listening(), false, `nothing listens on 127.0.0.1:${PORT}`);
    etcBefore = await snapshot('/etc/fail2ban');
    fail2banWasRunning = fail2banPid() !== null;
  });

  after(async () => {
    // Whatever failed: no service of ours left running, no fail2ban this test started.
    const p = pidFromFile(WEB_PIDFILE);
    if (p !== null && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(WEB_PROGRAM_BIN)) process.kill(p, 'SIGTERM');
    if (existsSync(MANIFEST)) runCli(['uninstall'], { env: ENV });
    if (!fail2banWasRunning) await stopFail2ban();
  });

  it('installs and starts it: a live PID from its pid file, running the copied program with node by its absolute path', async () => {
    const t0 = Date.now();
    const r = runCli([...ARGS, '--json'], { env: ENV });
    console.log(`# install --web: ${Date.now() - t0} ms`);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.web.kind, 'initd');
    assert.equal(report.web.service, WEB_INITD);
    const program = report.files.find((f: { path: string }) => f.path === `${WEB_PROGRAM_DIR}/`);
    assert.equal(program.action, 'CREATE');
    assert.ok(report.services.includes(`voip-f2b-web (serve the web view on 127.0.0.1:${PORT})`), report.services.join());
    assert.ok(report.manualSteps.some((s: string) => s.includes(`ssh -L ${PORT}:127.0.0.1:${PORT}`) && s.includes(WEB_TOKEN_FILE)));

    pid = pidFromFile(WEB_PIDFILE);
    assert.ok(pid, 'a live PID in /run/voip-f2b-web.pid');
    // start-stop-daemon writes the pid file, then its child becomes node (through sh -c exec).
    const cmd = (): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    await eventually('the service process to be node', () => cmd()[0] === process.execPath, 10000);
    const cmdline = cmd();
    assert.deepEqual(cmdline, [process.execPath, WEB_PROGRAM_BIN, 'web', '--listen', `127.0.0.1:${PORT}`]);
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'node');
    // Boot links from update-rc.d defaults (start in 2-5, stop in 0, 1, 6).
    assert.deepEqual(rcLinks().map((l) => l.slice(0, 4)).sort(), ['rc0.', 'rc1.', 'rc2.', 'rc3.', 'rc4.', 'rc5.', 'rc6.']);
    assert.equal(statSync(WEB_TOKEN_FILE).mode & 0o777, 0o600);
    token = readFileSync(WEB_TOKEN_FILE, 'utf8').trim();
    assert.ok(!r.stdout.includes(token) && !r.stderr.includes(token), 'the token is printed nowhere');
    // status shows it.
    const s = runCli(['status', '--json'], { env: ENV });
    assert.equal(s.status, 0, s.stderr);
    assert.deepEqual(JSON.parse(s.stdout).webView, { service: WEB_INITD, running: true, pid, listen: `127.0.0.1:${PORT}` });
  });

  it('answers on 127.0.0.1:8473: 401 without the token, 200 with it; its log (root only) holds no token', async () => {
    await eventually('the service to listen', listening);
    const anon = await get('/api/jails');
    assert.equal(anon.status, 401);
    assert.doesNotMatch(anon.body, /jail|fail2ban|version/i);
    const wrong = await get('/api/jails', 'not-the-token-at-all-0123456789');
    assert.equal(wrong.status, 401);
    const ok = await get('/api/jails', token);
    assert.equal(ok.status, 200, ok.body);
    assert.ok(existsSync(WEB_LOG));
    assert.equal(statSync(WEB_LOG).mode & 0o077, 0, 'the service log is root only');
    assert.ok(!readFileSync(WEB_LOG, 'utf8').includes(token), 'the token is not in the service log');
  });

  it('a re-run changes nothing and keeps the same PID', () => {
    const r = runCli([...ARGS, '--json'], { env: ENV });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.nothingToDo, true);
    assert.ok(report.files.every((f: { action: string }) => f.action === 'UNCHANGED'));
    assert.deepEqual(report.services, []);
    assert.equal(pidFromFile(WEB_PIDFILE), pid);
  });

  it('found stopped, it is started by a re-run (nothing written)', async () => {
    process.kill(pid!, 'SIGTERM');
    await eventually('the service to stop', () => !processAlive(pid!));
    const r = runCli([...ARGS, '--json'], { env: ENV });
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.ok(report.files.every((f: { action: string }) => f.action === 'UNCHANGED'));
    assert.deepEqual(report.services, [`voip-f2b-web (serve the web view on 127.0.0.1:${PORT})`]);
    const again = pidFromFile(WEB_PIDFILE);
    assert.ok(again && again !== pid);
    pid = again;
    await eventually('the service to listen again', listening);
  });

  it('uninstall stops it (PID gone, port closed) and removes every file it added', async () => {
    const r = runCli(['uninstall', '--json'], { env: ENV });
    // Debian's stock configuration enables an sshd jail that cannot start on a host without an
    // auth log: uninstall then says fail2ban does not run on it (exit 1), as test 10 shows.
    if (r.status !== 0) assert.match(r.stderr, /fail2ban was running before uninstall and does not run on the restored configuration/);
    const report = JSON.parse(r.stdout);
    assert.ok(report.services.includes('voip-f2b-web (/etc/init.d/voip-f2b-web stop)'), report.services.join());
    await eventually('the service to be gone', () => !processAlive(pid!), 20000);
    assert.equal(await listening(), false, 'port 8473 closed');
    for (const p of [WEB_PROGRAM_DIR, WEB_INITD, WEB_TOKEN_FILE, WEB_PIDFILE, WEB_LOG, '/etc/voip-f2b-install', '/var/backups/voip-f2b-install']) assert.equal(existsSync(p), false, `${p} removed`);
    assert.deepEqual(rcLinks(), [], 'no rc links left');
    assert.deepEqual(await snapshot('/etc/fail2ban'), etcBefore, '/etc/fail2ban as it was');
  });
});
