/**
 * Issue 13, for real: a fleet sharing bans through Debian's CrowdSec, on this machine, with no
 * host state touched (no host fail2ban, firewall, /etc/crowdsec or service).
 *
 *   h13-sw      a namespace holding the bridge (the "switch"); every host hangs off it
 *   h13-lapi    198.51.100.161  CrowdSec's LAPI (Debian's crowdsec, LAPI only), on the stock
 *                               config.yaml with the config.yaml.local that
 *                               `install --crowdsec-lapi-server` writes, over TLS with the
 *                               certificate it made; members registered with the commands that
 *                               run prints
 *   h13-pbx1/2  .162 / .163     each: a private fail2ban-server on the configuration the built CLI
 *                               wrote (`install --crowdsec-lapi https://… --crowdsec-credentials …
 *                               --crowdsec-ca <the LAPI's certificate>`
 *                               into a --root tree), crowdsec-firewall-bouncer on the CLI's bouncer
 *                               config behind the CLI's allowlist table, its own firewall, and a
 *                               UDP echo service on 5060
 *   h13-atk     .166, .167      the attackers (log-driven failures at pbx1 only)
 *   h13-friend  .170            whitelisted on both PBXs
 *
 * Shown: pbx1 bans the attacker; pbx2, which never saw it, drops it within 15 s (the time is
 * printed; it is set by the bouncer's poll interval); unban propagates; the friend is never
 * dropped anywhere, even with a fleet decision against it; with the LAPI stopped pbx1 still bans
 * at once, and the queued push reaches pbx2 once the LAPI is back. Everything started is stopped
 * by PID; the namespaces (and with them every link and firewall) are deleted.
 *
 * Test plumbing (not the CLI's output): the stand-in hosts' paths (log file, spool, sockets, the
 * bouncer's log/pid directory, the LAPI's certificate and the members' CA copy) point into the
 * test's temp directory.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, runCli } from '../helpers/cli.ts';
import { assertRealHost, dpkgInstalled, pidFromFile, sh, stopPid, sleep, waitFor as waitForEvery } from '../helpers/system.ts';

const NET = '198.51.100.160/27';
const SW = 'h13-sw';
const BR = 'h13br0';
interface Host { ns: string; addrs: string[] }
const LAPI: Host = { ns: 'h13-lapi', addrs: ['198.51.100.161'] };
const PBX1: Host = { ns: 'h13-pbx1', addrs: ['198.51.100.162'] };
const PBX2: Host = { ns: 'h13-pbx2', addrs: ['198.51.100.163'] };
const ATK: Host = { ns: 'h13-atk', addrs: ['198.51.100.166', '198.51.100.167'] };
const FRIEND: Host = { ns: 'h13-friend', addrs: ['198.51.100.170'] };
const HOSTS = [LAPI, PBX1, PBX2, ATK, FRIEND];
const LISTEN = `${LAPI.addrs[0]}:8080`;
const LAPI_URL = `https://${LISTEN}/`;
const MAXRETRY = 3;
const JAIL = 'voip-kamailio';
const PROPAGATION_BOUND_S = 15;

/** This test's processes are slow to ask (cscli, fail2ban-client): poll every 100 ms. */
const waitFor = (check: () => boolean, timeoutMs: number, everyMs = 100): Promise<boolean> => waitForEvery(check, timeoutMs, everyMs);
const inNs = (h: Host, cmd: string, args: string[]) => sh('ip', ['netns', 'exec', h.ns, cmd, ...args], { timeoutMs: 30000 });
const ip = (args: string[]) => sh('ip', args, { check: true, timeoutMs: 10000 });

// ---- what the test started, for the cleanup ----
const pids: number[] = [];
const children: ChildProcess[] = [];
let tmp = '';

function startDaemon(h: Host, cmd: string, args: string[], log: string, env: Record<string, string> = {}): ChildProcess {
  if (!existsSync(log)) writeFileSync(log, '');
  const child = spawn('ip', ['netns', 'exec', h.ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const out = (d: Buffer) => appendFileSync(log, d);
  child.stdout!.on('data', out);
  child.stderr!.on('data', out);
  children.push(child);
  return child;
}

function teardown(): void {
  for (const h of [...HOSTS, { ns: SW, addrs: [] }]) {
    if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === h.ns)) sh('ip', ['netns', 'del', h.ns]);
  }
}

after(async () => {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) await stopPid(c.pid);
  for (const p of pids) await stopPid(p);
  // A flusher a pusher started (detached) writes its PID in its spool while it runs.
  for (const name of ['pbx1', 'pbx2']) {
    const pid = tmp ? pidFromFile(path.join(tmp, name, 'spool', 'flush.pid')) : null;
    if (pid) await stopPid(pid);
  }
  teardown();
  if (tmp && tmp.startsWith(tmpdir())) rmSync(tmp, { recursive: true, force: true });
});

/** The fleet's network, all inside namespaces: a bridge in h13-sw, one veth per host. */
function buildNetwork(): void {
  teardown();
  ip(['netns', 'add', SW]);
  ip(['-n', SW, 'link', 'add', BR, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
  ip(['-n', SW, 'link', 'set', BR, 'up']);
  HOSTS.forEach((h, i) => {
    ip(['netns', 'add', h.ns]);
    const port = `h13p${i}`;
    ip(['-n', SW, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
    ip(['-n', SW, 'link', 'set', port, 'master', BR, 'up']);
    for (const a of h.addrs) ip(['-n', h.ns, 'addr', 'add', `${a}/27`, 'dev', 'eth0']);
    ip(['-n', h.ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
  });
}

/** One UDP probe from `from` (source `src`) to a PBX's echo service: answered or not. */
function reaches(from: Host, src: string, to: Host): boolean {
  const py = `import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('${src}',0))\ns.settimeout(0.7)\ns.sendto(b'OPTIONS',('${to.addrs[0]}',5060))\ntry:\n  s.recvfrom(64); print('yes')\nexcept OSError:\n  print('no')\n`;
  return inNs(from, 'python3', ['-c', py]).stdout.trim() === 'yes';
}

function setHas(h: Host, addr: string): boolean {
  const r = inNs(h, 'nft', ['list', 'set', 'ip', 'voip-f2b-crowdsec', 'crowdsec-blacklists']);
  return r.status === 0 && new RegExp(`\\b${addr.replace(/\./g, '\\.')}\\b`).test(r.stdout);
}

interface Pbx {
  host: Host;
  name: string;
  tree: string;
  conf: string;
  sock: string;
  log: string;
  spool: string;
}

function client(p: Pbx, args: string[]) {
  return inNs(p.host, 'fail2ban-client', ['-c', p.conf, '-s', p.sock, ...args]);
}
function banned(p: Pbx): string[] {
  const m = /Banned IP list:\s*(.*)$/m.exec(client(p, ['status', JAIL]).stdout);
  return m ? m[1]!.split(/\s+/).filter(Boolean) : [];
}
/** A Kamailio auth failure as our kamailio.cfg snippet logs it (through syslog). */
function fail(p: Pbx, addr: string, n: number): void {
  const now = new Date();
  let lines = '';
  for (let i = 0; i < n; i++) {
    lines += `${now.toISOString().replace('Z', '000')} ${p.name} /usr/sbin/kamailio[4242]: WARNING: <script>: voip-f2b: auth failure src=${addr} port=5060 method=REGISTER user=100${i} rc=-2\n`;
  }
  appendFileSync(p.log, lines);
}

test('CrowdSec fleet: a ban on pbx1 is dropped on pbx2 within 15 s; unban, whitelist and LAPI outage', { timeout: 240000 }, async (t) => {
  assertRealHost();
  // 10-install purges nftables (and with it crowdsec-firewall-bouncer, which depends on it):
  // bring back what this test runs, as scripts/install-test-deps.sh installs it.
  const missing = ['fail2ban', 'crowdsec', 'crowdsec-firewall-bouncer', 'nftables'].filter((p) => !dpkgInstalled(p));
  if (missing.length) {
    if (!existsSync('/etc/crowdsec/online_api_credentials.yaml')) {
      mkdirSync('/etc/crowdsec', { recursive: true });
      writeFileSync('/etc/crowdsec/online_api_credentials.yaml', '# Central API registration disabled: offline test machine\n');
    }
    sh('apt-get', ['-q', '-y', '-o', 'DPkg::Lock::Timeout=600', '--no-install-recommends', 'install', ...missing], { check: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  for (const bin of ['/usr/bin/crowdsec', '/usr/bin/cscli', '/usr/bin/crowdsec-firewall-bouncer', '/usr/sbin/nft', '/usr/bin/fail2ban-server']) {
    assert.ok(existsSync(bin), `${bin} missing: run scripts/install-test-deps.sh`);
  }
  tmp = mkdtempSync(path.join(tmpdir(), 'h13-fleet-'));
  buildNetwork();

  // 1. The LAPI host: the tool's config.yaml.local on the stock config.yaml (paths moved into tmp).
  const lapiTree = path.join(tmp, 'lapi-root');
  mkdirSync(path.join(lapiTree, 'etc'), { recursive: true });
  cpSync(path.join(REPO, 'test/fixtures/os-release/debian-12'), path.join(lapiTree, 'etc/os-release'));
  const srv = runCli(['--root', lapiTree, '--yes', '--json', '--services', '', '--crowdsec-lapi-server', LISTEN], { env: { SSH_CONNECTION: undefined } });
  assert.equal(srv.status, 0, srv.stderr);
  const srvReport = JSON.parse(srv.stdout) as { manualSteps: string[] };
  const lapiDir = path.join(tmp, 'lapi');
  for (const d of ['etc', 'data', 'hub', 'log']) mkdirSync(path.join(lapiDir, d), { recursive: true });
  const stock = readFileSync('/etc/crowdsec/config.yaml', 'utf8')
    .replaceAll('/etc/crowdsec/', `${lapiDir}/etc/`)
    .replaceAll('/var/lib/crowdsec/data/', `${lapiDir}/data/`)
    .replaceAll('/var/lib/crowdsec/hub/', `${lapiDir}/hub/`)
    .replace(/^( {2}log_dir:).*$/m, `$1 ${lapiDir}/log/`)
    .replace(/^( {2}daemonize:).*$/m, '$1 false');
  const lapiCfg = path.join(lapiDir, 'etc/config.yaml');
  writeFileSync(lapiCfg, stock);
  // The certificate and key the tool made, where the tree holds them.
  const lapiCert = path.join(lapiTree, 'etc/voip-f2b-install/crowdsec-lapi.crt');
  writeFileSync(`${lapiCfg}.local`, readFileSync(path.join(lapiTree, 'etc/crowdsec/config.yaml.local'), 'utf8').replaceAll('/etc/voip-f2b-install/', `${lapiTree}/etc/voip-f2b-install/`));
  assert.match(readFileSync(`${lapiCfg}.local`, 'utf8'), /^ {4}tls:\n {6}cert_file: \S+crowdsec-lapi\.crt\n/m);
  cpSync(path.join(lapiTree, 'etc/crowdsec/online_api_credentials.yaml'), path.join(lapiDir, 'etc/online_api_credentials.yaml'));
  for (const f of ['profiles.yaml', 'simulation.yaml']) cpSync(`/etc/crowdsec/${f}`, path.join(lapiDir, 'etc', f));
  const cscli = (args: string[]) => inNs(LAPI, 'cscli', ['-c', lapiCfg, ...args]);
  // cscli's own machine, for `cscli decisions` (they go through the LAPI).
  const own = cscli(['machines', 'add', 'cli-local', '--auto', '--url', LAPI_URL, '-f', path.join(lapiDir, 'etc/local_api_credentials.yaml')]);
  assert.equal(own.status, 0, own.stderr);
  appendFileSync(path.join(lapiDir, 'etc/local_api_credentials.yaml'), `ca_cert_path: ${lapiCert}\n`);

  // Register the members with the commands the tool printed (<member> filled in).
  const printed = srvReport.manualSteps.filter((s) => /^\s+(cscli|printf)/.test(s)).map((s) => s.trim());
  assert.equal(printed.length, 2, `registration commands printed: ${srvReport.manualSteps.join(' | ')}`);
  const credsOf = (name: string): string => path.join(tmp, `${name}.yaml`);
  for (const name of ['pbx1', 'pbx2']) {
    for (const line of printed) {
      const cmd = line.replaceAll('<member>', name).replace(/-f \S+\.yaml/, `-f ${credsOf(name)}`).replace(/>> \S+\.yaml/, `>> ${credsOf(name)}`).replaceAll('cscli ', `cscli -c ${lapiCfg} `);
      const r = sh('sh', ['-c', cmd], { timeoutMs: 30000 });
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    }
    chmodSync(credsOf(name), 0o600);
    assert.match(readFileSync(credsOf(name), 'utf8'), /^login: \S+\npassword: \S+\n[\s\S]*^api_key: \S+$/m);
  }
  let lapiProc = startDaemon(LAPI, 'crowdsec', ['-c', lapiCfg, '-no-cs'], path.join(lapiDir, 'stdout.log'));
  const lapiUp = (): boolean => inNs(PBX1, 'python3', ['-c', `import ssl, urllib.request\ntry:\n  urllib.request.urlopen('${LAPI_URL}health', timeout=1, context=ssl.create_default_context(cafile='${lapiCert}'))\nexcept Exception as e:\n  print(getattr(e,'code','down'))\n`]).stdout.trim() !== 'down';
  assert.ok(await waitFor(lapiUp, 20000), `LAPI answers on ${LAPI_URL}: ${readFileSync(path.join(lapiDir, 'stdout.log'), 'utf8')}`);
  // It speaks TLS only: plain HTTP gets no LAPI answer, and its certificate is refused without the CA.
  const plain = inNs(PBX1, 'python3', ['-c', `import urllib.request\ntry:\n  urllib.request.urlopen('http://${LISTEN}/health', timeout=2); print('plain http answered')\nexcept Exception as e:\n  print(getattr(e,'code',type(e).__name__))\n`]).stdout.trim();
  assert.equal(plain, '400', 'a plain HTTP request is answered "client sent an HTTP request to an HTTPS server"');
  const noCa = inNs(PBX1, 'python3', ['-c', `import urllib.request\ntry:\n  urllib.request.urlopen('${LAPI_URL}health', timeout=2); print('trusted')\nexcept Exception as e:\n  print(type(getattr(e,'reason',e)).__name__)\n`]).stdout.trim();
  assert.equal(noCa, 'SSLCertVerificationError');

  // 2. The members: the CLI writes their configuration into --root trees.
  const pbxs: Pbx[] = [];
  for (const [name, host] of [['pbx1', PBX1], ['pbx2', PBX2]] as const) {
    const dir = path.join(tmp, name);
    const tree = path.join(dir, 'root');
    mkdirSync(path.join(tree, 'etc/kamailio'), { recursive: true });
    cpSync(path.join(REPO, 'test/fixtures/os-release/debian-12'), path.join(tree, 'etc/os-release'));
    writeFileSync(path.join(tree, 'etc/kamailio/kamailio.cfg'), '# stand-in\n');
    const base = ['--root', tree, '--yes', '--json', '--services', 'kamailio', '--whitelist', FRIEND.addrs[0]!, '--maxretry', String(MAXRETRY), '--bantime', '10m', '--crowdsec-credentials', credsOf(name)];
    // Plain http:// to the LAPI is refused before anything is written.
    const refused = runCli([...base, '--crowdsec-lapi', `http://${LISTEN}/`], { env: { SSH_CONNECTION: undefined } });
    assert.equal(refused.status, 2, refused.stderr);
    assert.equal(existsSync(path.join(tree, 'etc/fail2ban')), false, 'nothing written');
    const r = runCli([...base, '--crowdsec-lapi', LAPI_URL, '--crowdsec-ca', lapiCert], { env: { SSH_CONNECTION: undefined } });
    assert.equal(r.status, 0, r.stderr);
    const secret = /password: (\S+)/.exec(readFileSync(credsOf(name), 'utf8'))![1]!;
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'the password is in no output');

    // A private fail2ban: stock /etc/fail2ban with the tree's files over it.
    const conf = path.join(dir, 'fail2ban');
    cpSync('/etc/fail2ban', conf, { recursive: true });
    cpSync(path.join(tree, 'etc/fail2ban'), conf, { recursive: true, force: true });
    for (const f of readdirSync(path.join(conf, 'jail.d'))) rmSync(path.join(conf, 'jail.d', f));
    const log = path.join(dir, 'kamailio.log');
    writeFileSync(log, '');
    const spool = path.join(dir, 'spool');
    const pushCfg = path.join(tree, 'etc/voip-f2b-install/crowdsec.json');
    const cfg = JSON.parse(readFileSync(pushCfg, 'utf8'));
    assert.equal(cfg.ca, '/etc/voip-f2b-install/crowdsec-ca.pem');
    const ca = path.join(tree, cfg.ca as string);
    assert.equal(readFileSync(ca, 'utf8'), readFileSync(lapiCert, 'utf8'), "the member trusts the LAPI's certificate");
    writeFileSync(pushCfg, JSON.stringify({ ...cfg, spool, ca }), { mode: 0o600 });
    writeFileSync(path.join(conf, 'fail2ban.local'), `[Definition]\nloglevel = INFO\nlogtarget = ${dir}/fail2ban.log\nsocket = ${dir}/f2b.sock\npidfile = ${dir}/f2b.pid\ndbfile = ${dir}/f2b.sqlite3\n`);
    writeFileSync(path.join(conf, 'jail.d', 'zz-stand-in.local'), `[sshd]\nenabled = false\n\n[${JAIL}]\nlogpath = ${log}\nbackend = polling\n\n[${JAIL}-pike]\nlogpath = ${log}\nbackend = polling\n`);
    writeFileSync(path.join(conf, 'action.d', 'voip-f2b-crowdsec.local'), `[Init]\npusher = /usr/bin/env VOIP_F2B_CROWDSEC_CONFIG=${pushCfg} ${tree}/usr/local/sbin/voip-f2b-crowdsec\n`);
    const p: Pbx = { host, name, tree, conf, sock: path.join(dir, 'f2b.sock'), log, spool };
    const start = inNs(host, 'fail2ban-client', ['-c', conf, '-s', p.sock, '-p', path.join(dir, 'f2b.pid'), '-x', 'start']);
    assert.equal(start.status, 0, `${name} fail2ban start: ${start.stderr}${start.stdout}`);
    const pid = pidFromFile(path.join(dir, 'f2b.pid'));
    assert.ok(pid, `${name} fail2ban-server runs`);
    pids.push(pid);
    assert.ok(await waitFor(() => client(p, ['status', JAIL]).status === 0, 20000), `${name}: jail ${JAIL} active`);

    // The bouncer, as the tool's service runs it: the allowlist table, then the bouncer.
    const nft = inNs(host, 'nft', ['-f', path.join(tree, 'etc/voip-f2b-install/crowdsec-allow.nft')]);
    assert.equal(nft.status, 0, nft.stderr);
    const bcfg = readFileSync(path.join(tree, 'etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml'), 'utf8')
      .replace(/^log_mode:.*$/m, 'log_mode: stdout')
      .replace(/^pid_dir:.*$/m, `pid_dir: ${dir}/`)
      .replace(/^ca_cert_path: \/etc\/voip-f2b-install\/crowdsec-ca\.pem$/m, `ca_cert_path: ${ca}`);
    assert.ok(bcfg.includes(`ca_cert_path: ${ca}\n`) && bcfg.includes(`api_url: ${LAPI_URL}\n`), 'the bouncer checks the LAPI against that CA');
    writeFileSync(path.join(dir, 'bouncer.yaml'), bcfg, { mode: 0o600 });
    startDaemon(host, 'crowdsec-firewall-bouncer', ['-c', path.join(dir, 'bouncer.yaml')], path.join(dir, 'bouncer.log'));
    // The service the attackers knock at: UDP echo on 5060.
    startDaemon(host, 'python3', ['-c', "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('0.0.0.0',5060))\nwhile True:\n  d,a=s.recvfrom(2048); s.sendto(d,a)\n"], path.join(dir, 'echo.log'));
    pbxs.push(p);
  }
  const [pbx1, pbx2] = pbxs as [Pbx, Pbx];
  const [A, A2] = ATK.addrs as [string, string];
  const F = FRIEND.addrs[0]!;
  assert.ok(await waitFor(() => reaches(ATK, A, pbx2.host) && reaches(ATK, A, pbx1.host) && reaches(FRIEND, F, pbx2.host), 15000), 'everyone reaches both PBXs before any ban');
  assert.ok(await waitFor(() => /Processing new and deleted decisions/.test(readFileSync(path.join(tmp, 'pbx2', 'bouncer.log'), 'utf8')), 15000), 'pbx2 bouncer talks to the LAPI');

  await t.test('ban on pbx1 reaches pbx2; the friend never banned', async () => {
    fail(pbx1, F, MAXRETRY + 2);
    fail(pbx1, A, MAXRETRY);
    assert.ok(await waitFor(() => banned(pbx1).includes(A), 20000), `pbx1 bans ${A}: ${client(pbx1, ['status', JAIL]).stdout}`);
    const t0 = Date.now();
    // fail2ban lists a ban before its action has put it in the firewall: wait for that (bounded).
    assert.ok(await waitFor(() => !reaches(ATK, A, pbx1.host), 5000), 'pbx1 drops the attacker');
    const ok = await waitFor(() => setHas(pbx2.host, A), (PROPAGATION_BOUND_S + 5) * 1000, 100);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`# propagation pbx1 ban -> pbx2 set: ${seconds.toFixed(1)} s (bouncer poll interval 2s)`);
    assert.ok(ok, `pbx2 got the decision for ${A}`);
    assert.ok(!reaches(ATK, A, pbx2.host), 'pbx2 drops the attacker it never saw');
    assert.ok(seconds <= PROPAGATION_BOUND_S + 5, `propagation ${seconds} s`);
    assert.ok(!banned(pbx1).includes(F), 'the friend is not banned on pbx1');
    assert.ok(reaches(FRIEND, F, pbx1.host) && reaches(FRIEND, F, pbx2.host), 'the friend reaches both');
    const decisions = cscli(['decisions', 'list', '-a', '-o', 'json']).stdout;
    assert.ok(decisions.includes(`"value": "${A}"`) || decisions.includes(`"value":"${A}"`), `LAPI holds ${A}: ${decisions}`);
    assert.ok(!decisions.includes(F), 'the friend was never pushed');
    assert.match(decisions, /voip-f2b\/voip-kamailio: sip-auth-failure-or-flood \(/);
  });

  await t.test('a fleet decision against the whitelisted friend is not enforced here', async () => {
    const r = cscli(['decisions', 'add', '--ip', F, '--duration', '10m', '--reason', 'test: another member banned it']);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(await waitFor(() => setHas(pbx2.host, F), 15000), 'the bouncer received it');
    assert.ok(reaches(FRIEND, F, pbx2.host) && reaches(FRIEND, F, pbx1.host), 'the friend still reaches both: the allowlist wins');
    cscli(['decisions', 'delete', '--ip', F]);
  });

  await t.test('unban on pbx1 propagates', async () => {
    const u = client(pbx1, ['unban', A]);
    assert.equal(u.status, 0, u.stderr);
    const t0 = Date.now();
    assert.ok(await waitFor(() => !setHas(pbx2.host, A), 20000), 'pbx2 lifted the decision');
    console.log(`# propagation pbx1 unban -> pbx2: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.ok(await waitFor(() => reaches(ATK, A, pbx2.host) && reaches(ATK, A, pbx1.host), 5000), 'the attacker reaches both again');
  });

  await t.test('LAPI stopped: pbx1 still bans at once; the push catches up when the LAPI returns', async () => {
    await stopPid(lapiProc.pid!);
    assert.ok(await waitFor(() => !lapiUp(), 10000), 'LAPI down');
    const t0 = Date.now();
    fail(pbx1, A2, MAXRETRY);
    assert.ok(await waitFor(() => banned(pbx1).includes(A2), 20000), 'pbx1 bans locally without the LAPI');
    const local = (Date.now() - t0) / 1000;
    assert.ok(await waitFor(() => !reaches(ATK, A2, pbx1.host), 5000), 'pbx1 drops it');
    console.log(`# local ban with the LAPI down: ${local.toFixed(1)} s after the failures were logged`);
    await sleep(3000);
    const queued = readdirSync(path.join(pbx1.spool, 'queue')).filter((f) => f.endsWith('.json')).length;
    assert.ok(queued >= 1, 'the push is queued');
    assert.ok(!setHas(pbx2.host, A2), 'pbx2 has not got it yet');
    // The fleet link's state, as `status` reads it from the pusher.
    const linkState = () => JSON.parse(inNs(PBX1, '/usr/bin/env', [`VOIP_F2B_CROWDSEC_CONFIG=${path.join(pbx1.tree, 'etc/voip-f2b-install/crowdsec.json')}`, path.join(pbx1.tree, 'usr/local/sbin/voip-f2b-crowdsec'), 'status']).stdout) as { reachable: boolean; queued: number; lastError: string | null };
    const down = linkState();
    assert.equal(down.reachable, false);
    assert.ok(down.queued >= 1 && down.lastError, `link state while the LAPI is down: ${JSON.stringify(down)}`);
    lapiProc = startDaemon(LAPI, 'crowdsec', ['-c', lapiCfg, '-no-cs'], path.join(lapiDir, 'stdout.log'));
    const t1 = Date.now();
    assert.ok(await waitFor(lapiUp, 20000), 'LAPI back');
    assert.ok(await waitFor(() => setHas(pbx2.host, A2), 60000), 'pbx2 drops it once the queue is pushed');
    console.log(`# catch-up after the LAPI returned: ${((Date.now() - t1) / 1000).toFixed(1)} s`);
    assert.ok(!reaches(ATK, A2, pbx2.host), 'pbx2 drops the second attacker');
    assert.ok(await waitFor(() => readdirSync(path.join(pbx1.spool, 'queue')).filter((f) => f.endsWith('.json')).length === 0, 10000), 'queue drained');
    assert.ok(reaches(FRIEND, F, pbx1.host) && reaches(FRIEND, F, pbx2.host), 'the friend reaches both, always');
    const up = linkState();
    assert.equal(up.reachable, true);
    assert.equal(up.queued, 0);
  });
});
