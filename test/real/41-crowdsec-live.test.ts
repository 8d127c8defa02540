/**
 * Issue 13 on the live host (root, no systemd, as CI runs it): `install --crowdsec-lapi` for real,
 * against a private LAPI (Debian's crowdsec, over TLS with a self-signed certificate, given to
 * the CLI with --crowdsec-ca) in a namespace reached over one veth pair (198.51.100.185/30 here,
 * .186 the LAPI). Shown: the tool starts the bouncer through the init
 * script it writes, behind its allowlist table in this host's nftables; `status` shows the fleet
 * link up; a ban in a VoIP jail reaches the LAPI and comes back into this host's fleet set; the
 * unban removes both; a re-run is a no-op; uninstall stops the bouncer, drops its tables and
 * removes every file. Changes host state (fail2ban, /etc, the root namespace's nftables):
 * run only under the host lock, like 10-install.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { assertRealHost, dpkgInstalled, pidFromFile, sh, stopFail2ban, stopPid, sleep, waitFor as waitForEvery } from '../helpers/system.ts';
import { processAlive } from '../../src/adapters/facts.ts';
import { makeSelfSignedCert } from '../../src/adapters/tls-files.ts';
import { SSHD_OVERRIDE } from '../../src/core/services/sshd.ts';

const NS = 'h13-llapi';
const HOST_END = 'h13-lv0';
const HOST_ADDR = '198.51.100.185';
const LAPI_ADDR = '198.51.100.186';
const LAPI_URL = `https://${LAPI_ADDR}:8080/`;
const BOUNCER_PID = '/run/crowdsec-firewall-bouncer.voip-f2b.pid';
const SPOOL = '/var/lib/voip-f2b-install/crowdsec';
const TEST_IP = '203.0.113.77';
// --no-watch: not this test's subject (55-watch's); the watch would bring cron, which this host may not have.
const ARGS = ['--services', 'asterisk,freeswitch', '--whitelist', '198.51.100.170', '--yes', '--json', '--crowdsec-lapi', LAPI_URL, '--no-watch'];
const ENV = { SSH_CONNECTION: undefined, SSH_CLIENT: undefined };

/** This test's processes are slow to ask (cscli, fail2ban-client): poll every 200 ms. */
const waitFor = (check: () => boolean, timeoutMs: number, everyMs = 200): Promise<boolean> => waitForEvery(check, timeoutMs, everyMs);

let tmp = '';
let lapi: ChildProcess | null = null;
/** uninstall --yes leaves the sshd override on a host with no auth log (the sshd trap): removed at the end unless it was there. */
const overrideWas = existsSync(SSHD_OVERRIDE);
let installed = false;

after(async () => {
  if (installed) runCli(['uninstall', '--yes', '--json']);
  const b = pidFromFile(BOUNCER_PID);
  if (b) await stopPid(b);
  const flusher = pidFromFile(path.join(SPOOL, 'flush.pid'));
  if (flusher) await stopPid(flusher);
  await stopFail2ban();
  if (lapi?.pid && processAlive(lapi.pid)) await stopPid(lapi.pid);
  for (const t of [['ip', 'voip-f2b-crowdsec'], ['ip6', 'voip-f2b-crowdsec6']]) sh('nft', ['delete', 'table', ...t]);
  if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === NS)) sh('ip', ['netns', 'del', NS]);
  if (sh('ip', ['link', 'show', HOST_END]).status === 0) sh('ip', ['link', 'del', HOST_END]);
  rmSync(SPOOL, { recursive: true, force: true });
  if (existsSync('/var/lib/voip-f2b-install')) rmSync('/var/lib/voip-f2b-install', { recursive: true, force: true });
  if (tmp && tmp.startsWith(tmpdir())) rmSync(tmp, { recursive: true, force: true });
  if (!overrideWas) rmSync(SSHD_OVERRIDE, { force: true });
});

const fleetSet = (): string => sh('nft', ['list', 'set', 'ip', 'voip-f2b-crowdsec', 'crowdsec-blacklists']).stdout;

test('live host: install --crowdsec-lapi runs the bouncer, pushes bans, and uninstall takes it all away', { timeout: 300000 }, async () => {
  assertRealHost();
  assert.equal(existsSync('/var/backups/voip-f2b-install/manifest.json'), false, 'the host is not provisioned by an earlier test');
  const missing = ['crowdsec', 'crowdsec-firewall-bouncer', 'nftables'].filter((p) => !dpkgInstalled(p));
  if (missing.length) {
    if (!existsSync('/etc/crowdsec/online_api_credentials.yaml')) {
      mkdirSync('/etc/crowdsec', { recursive: true });
      writeFileSync('/etc/crowdsec/online_api_credentials.yaml', '# Central API registration disabled: offline test machine\n');
    }
    sh('apt-get', ['-q', '-y', '-o', 'DPkg::Lock::Timeout=600', '--no-install-recommends', 'install', ...missing], { check: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  await stopFail2ban();
  tmp = mkdtempSync(path.join(tmpdir(), 'h13-live-'));

  // A private LAPI in its own namespace, one veth pair away.
  sh('ip', ['netns', 'add', NS], { check: true });
  sh('ip', ['link', 'add', HOST_END, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS], { check: true });
  sh('ip', ['addr', 'add', `${HOST_ADDR}/30`, 'dev', HOST_END], { check: true });
  sh('ip', ['link', 'set', HOST_END, 'up'], { check: true });
  sh('ip', ['-n', NS, 'addr', 'add', `${LAPI_ADDR}/30`, 'dev', 'eth0'], { check: true });
  sh('ip', ['-n', NS, 'link', 'set', 'eth0', 'up'], { check: true });
  sh('ip', ['-n', NS, 'link', 'set', 'lo', 'up'], { check: true });
  const dir = path.join(tmp, 'lapi');
  for (const d of ['etc', 'data', 'hub', 'log']) mkdirSync(path.join(dir, d), { recursive: true });
  const cfg = path.join(dir, 'etc/config.yaml');
  writeFileSync(
    cfg,
    readFileSync('/etc/crowdsec/config.yaml', 'utf8')
      .replaceAll('/etc/crowdsec/', `${dir}/etc/`)
      .replaceAll('/var/lib/crowdsec/data/', `${dir}/data/`)
      .replaceAll('/var/lib/crowdsec/hub/', `${dir}/hub/`)
      .replace(/^( {2}log_dir:).*$/m, `$1 ${dir}/log/`),
  );
  const tls = makeSelfSignedCert(LAPI_ADDR);
  const cert = path.join(dir, 'etc/lapi.crt');
  writeFileSync(cert, tls.cert);
  writeFileSync(path.join(dir, 'etc/lapi.key'), tls.key, { mode: 0o600 });
  writeFileSync(`${cfg}.local`, `common:\n  daemonize: false\napi:\n  server:\n    listen_uri: ${LAPI_ADDR}:8080\n    online_client: null\n    tls:\n      cert_file: ${cert}\n      key_file: ${dir}/etc/lapi.key\nprometheus:\n  enabled: false\n`);
  for (const f of ['profiles.yaml', 'simulation.yaml']) cpSync(`/etc/crowdsec/${f}`, path.join(dir, 'etc', f));
  const cscli = (args: string[]) => sh('ip', ['netns', 'exec', NS, 'cscli', '-c', cfg, ...args], { timeoutMs: 30000 });
  const creds = path.join(tmp, 'host.yaml');
  assert.equal(cscli(['machines', 'add', 'livehost', '--auto', '--url', LAPI_URL, '-f', creds]).status, 0);
  const key = cscli(['bouncers', 'add', 'livehost-firewall', '-o', 'raw']).stdout.trim();
  appendFileSync(creds, `api_key: ${key}\n`);
  chmodSync(creds, 0o600);
  assert.equal(cscli(['machines', 'add', 'cli-local', '--auto', '--url', LAPI_URL, '-f', path.join(dir, 'etc/local_api_credentials.yaml')]).status, 0);
  appendFileSync(path.join(dir, 'etc/local_api_credentials.yaml'), `ca_cert_path: ${cert}\n`);
  lapi = spawn('ip', ['netns', 'exec', NS, 'crowdsec', '-c', cfg, '-no-cs'], { stdio: 'ignore' });
  const up = (): boolean => sh('python3', ['-c', `import ssl, urllib.request\ntry:\n  urllib.request.urlopen('${LAPI_URL}health', timeout=1, context=ssl.create_default_context(cafile='${cert}'))\nexcept Exception as e:\n  print(getattr(e,'code','down'))\n`]).stdout.trim() !== 'down';
  assert.ok(await waitFor(up, 20000), 'the LAPI answers');

  // The CLI, for real.
  const r = runCli([...ARGS, '--crowdsec-credentials', creds, '--crowdsec-ca', cert], { env: ENV });
  installed = true;
  assert.equal(r.status, 0, r.stderr);
  const secret = /password: (\S+)/.exec(readFileSync(creds, 'utf8'))![1]!;
  assert.ok(![r.stdout, r.stderr].some((o) => o.includes(secret) || o.includes(key)), 'no secret in the output');
  const report = JSON.parse(r.stdout) as { services: string[]; files: Array<{ path: string; action: string }> };
  assert.ok(report.services.some((s) => s.startsWith('crowdsec-firewall-bouncer')), `bouncer started: ${JSON.stringify(report.services)}`);
  assert.match(readFileSync('/etc/fail2ban/jail.local', 'utf8'), /voip-f2b-crowdsec\[kind=sip-auth-failure\]/);
  const bouncer = pidFromFile(BOUNCER_PID);
  assert.ok(bouncer, 'the bouncer runs (init script)');
  assert.match(sh('nft', ['list', 'table', 'ip', 'voip-f2b-crowdsec']).stdout, /elements = \{ 127\.0\.0\.0\/8, 198\.51\.100\.170 \}[\s\S]*ip saddr @allow accept\n\s*ip saddr @crowdsec-blacklists drop/);
  const st = runCli(['status', '--json']);
  assert.equal(st.status, 0, st.stderr);
  const fleet = JSON.parse(st.stdout).fleet as { reachable: boolean; bouncer: string; queued: number };
  assert.equal(fleet.reachable, true, st.stdout);
  assert.equal(fleet.bouncer, 'running');

  // A ban goes to the LAPI and comes back as a fleet decision; the unban takes both away.
  assert.equal(sh('fail2ban-client', ['set', 'voip-asterisk', 'banip', TEST_IP]).status, 0);
  assert.ok(await waitFor(() => cscli(['decisions', 'list', '-a', '-o', 'json']).stdout.includes(TEST_IP), 20000), 'the LAPI holds the ban');
  assert.ok(await waitFor(() => fleetSet().includes(TEST_IP), 15000), "the decision is in this host's fleet set");
  assert.equal(sh('fail2ban-client', ['set', 'voip-asterisk', 'unbanip', TEST_IP]).status, 0);
  assert.ok(await waitFor(() => !cscli(['decisions', 'list', '-a', '-o', 'json']).stdout.includes(TEST_IP), 20000), 'the LAPI dropped it');
  assert.ok(await waitFor(() => !fleetSet().includes(TEST_IP), 15000), 'and so did the fleet set');

  const again = runCli([...ARGS, '--crowdsec-credentials', creds, '--crowdsec-ca', cert], { env: ENV });
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).nothingToDo, true);
  assert.equal(pidFromFile(BOUNCER_PID), bouncer, 'the re-run restarted nothing');

  const u = runCli(['uninstall', '--yes', '--json']);
  assert.equal(u.status, 0, u.stderr);
  installed = false;
  assert.ok(await waitFor(() => !processAlive(bouncer!), 15000), 'uninstall stopped the bouncer');
  assert.notEqual(sh('nft', ['list', 'table', 'ip', 'voip-f2b-crowdsec']).status, 0, 'and dropped its table');
  assert.equal(existsSync('/var/lib/voip-f2b-install'), false, "the pusher's spool is gone");
  for (const p of ['/etc/voip-f2b-install/crowdsec.json', '/etc/voip-f2b-install/crowdsec-ca.pem', '/etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml', '/etc/init.d/crowdsec-firewall-bouncer', '/usr/local/sbin/voip-f2b-crowdsec']) {
    assert.equal(existsSync(p), false, `${p} removed`);
  }
});
