/**
 * The web-panel module for real: Debian's nginx serving a PBX-like panel (pages and a
 * basic-auth /admin/) with a PRIVATE configuration and log directory, inside a network
 * namespace of the test's own; the CLI writes the configuration under --root (the tree's
 * /var/log/nginx is where that nginx writes); a PRIVATE fail2ban-server, in the same namespace
 * and on that configuration verbatim (the tree's log directory bind-mounted at /var/log/nginx in
 * a mount namespace of its own), bans into the namespace's firewall.
 *
 *   h9-web   198.51.100.97/29 (to the scanners), 198.51.100.105/29 (to the user)
 *   h9-scan  198.51.100.98 (requests a few hundred panel/CMS paths that do not exist),
 *            198.51.100.99 (fails basic auth)
 *   h9-user  198.51.100.106 (browses the real pages and logs in; never banned)
 *
 * Addresses from 198.51.100.96/27 only, on links inside the test's namespaces; everything the
 * test starts is stopped by its PID, the namespaces and the temp directory are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, runCli } from '../helpers/cli.ts';
import { assertRealHost, dpkgInstalled, sh, stopPid } from '../helpers/system.ts';

const WEB = 'h9-web';
const SCAN = 'h9-scan';
const USER = 'h9-user';
const WEB_SCAN_ADDR = '198.51.100.97';
const WEB_USER_ADDR = '198.51.100.105';
const SCANNER = '198.51.100.98';
const GUESSER = '198.51.100.99';
const BROWSER = '198.51.100.106';
const WHITELISTED = '198.51.100.126'; // not on any link: shows the whitelist reaches the web jails
const JAILS = ['nginx-http-auth', 'nginx-botsearch'];

const children: ChildProcess[] = [];
let tmp = '';

const ip = (args: string[]) => sh('ip', args, { check: true, timeoutMs: 10000 });
const inNs = (ns: string, cmd: string, args: string[], timeoutMs = 60000) => sh('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(200);
  }
}

function teardownNetwork(): void {
  for (const ns of [WEB, SCAN, USER]) {
    if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === ns)) sh('ip', ['netns', 'del', ns]);
  }
}

after(async () => {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) await stopPid(c.pid);
  teardownNetwork();
  if (tmp && tmp.startsWith(tmpdir())) rmSync(tmp, { recursive: true, force: true });
});

function buildNetwork(): void {
  teardownNetwork();
  for (const ns of [WEB, SCAN, USER]) {
    ip(['netns', 'add', ns]);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  ip(['-n', WEB, 'link', 'add', 'h9w-scan', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', SCAN]);
  ip(['-n', WEB, 'link', 'add', 'h9w-user', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', USER]);
  ip(['-n', WEB, 'addr', 'add', `${WEB_SCAN_ADDR}/29`, 'dev', 'h9w-scan']);
  ip(['-n', WEB, 'addr', 'add', `${WEB_USER_ADDR}/29`, 'dev', 'h9w-user']);
  ip(['-n', SCAN, 'addr', 'add', `${SCANNER}/29`, 'dev', 'eth0']);
  ip(['-n', SCAN, 'addr', 'add', `${GUESSER}/29`, 'dev', 'eth0']);
  ip(['-n', USER, 'addr', 'add', `${BROWSER}/29`, 'dev', 'eth0']);
  for (const [ns, dev] of [[WEB, 'h9w-scan'], [WEB, 'h9w-user'], [SCAN, 'eth0'], [USER, 'eth0']] as const) ip(['-n', ns, 'link', 'set', dev, 'up']);
}

/** Starts `cmd args` in namespace `ns` (ip netns exec execs it: the child's PID is the daemon's). */
function startDaemon(ns: string, cmd: string, args: string[], log: string): ChildProcess {
  writeFileSync(log, '');
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = (d: Buffer) => appendFileSync(log, d);
  child.stdout!.on('data', out);
  child.stderr!.on('data', out);
  children.push(child);
  return child;
}

/**
 * HTTP requests from `src` inside namespace `ns` (python3, bounded): each [path, user:password
 * or ''] → status code, or 0 when the connection failed (refused, timed out).
 */
function requests(ns: string, src: string, server: string, reqs: Array<[string, string]>): number[] {
  const py = `
import base64, http.client, json, sys
out = []
for path, cred in json.loads(sys.stdin.read()):
    try:
        c = http.client.HTTPConnection(${JSON.stringify(server)}, 80, timeout=2, source_address=(${JSON.stringify(src)}, 0))
        h = {'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0'}
        if cred:
            h['Authorization'] = 'Basic ' + base64.b64encode(cred.encode()).decode()
        c.request('GET', path, headers=h)
        out.append(c.getresponse().status)
        c.close()
    except OSError:
        out.append(0)
print(json.dumps(out))
`;
  const r = sh('ip', ['netns', 'exec', ns, 'python3', '-c', py], { input: JSON.stringify(reqs), timeoutMs: 300000 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as number[];
}

test('web panel behind nginx: a path scanner and a password guesser are banned, a normal user browsing never', { timeout: 300000 }, async () => {
  assertRealHost();
  for (const pkg of ['nginx', 'fail2ban', 'iptables', 'python3-pyinotify']) {
    if (!dpkgInstalled(pkg)) sh('apt-get', ['install', '-y', '-q', '--no-install-recommends', '-o', 'DPkg::Lock::Timeout=600', pkg], { check: true, env: { DEBIAN_FRONTEND: 'noninteractive' } });
  }
  tmp = mkdtempSync(path.join(tmpdir(), 'voip-f2b-h9-web-'));
  chmodSync(tmp, 0o755); // nginx's workers (nobody) read the pages and the password file

  // 1. The tree the CLI configures: Debian 12 with nginx, whose logs the private nginx writes.
  const tree = path.join(tmp, 'root');
  const logDir = path.join(tree, 'var/log/nginx');
  mkdirSync(logDir, { recursive: true });
  mkdirSync(path.join(tree, 'etc/nginx'), { recursive: true });
  cpSync(path.join(REPO, 'test/fixtures/os-release/debian-12'), path.join(tree, 'etc/os-release'));
  writeFileSync(path.join(tree, 'etc/nginx/nginx.conf'), '# stand-in: nginx is installed\n');
  writeFileSync(path.join(logDir, 'access.log'), '');
  writeFileSync(path.join(logDir, 'error.log'), '');

  const cli = runCli(['--root', tree, '--services', 'web-panel', '--whitelist', WHITELISTED, '--no-protect-admin', '--yes', '--json'], { env: { SSH_CONNECTION: undefined } });
  assert.equal(cli.status, 0, cli.stderr);
  const report = JSON.parse(cli.stdout);
  assert.deepEqual(report.jails, JAILS);
  const jailLocal = readFileSync(path.join(tree, 'etc/fail2ban/jail.local'), 'utf8');
  assert.match(jailLocal, /^\[nginx-botsearch\]\nenabled = true\nport = http,https\nlogpath = \/var\/log\/nginx\/error\.log\nbackend = auto$/m);
  assert.doesNotMatch(jailLocal, /^\[apache-/m, 'no jail for a server that is not installed');
  assert.match(jailLocal, new RegExp(`^ignoreip = .*${WHITELISTED.replace(/\./g, '\\.')}`, 'm'));

  // 2. The network and the panel: pages, and /admin/ behind basic auth.
  buildNetwork();
  const www = path.join(tmp, 'www');
  mkdirSync(path.join(www, 'admin'), { recursive: true });
  const pages: Array<[string, string]> = [['index.html', '<h1>PBX</h1>'], ['about.html', '<p>about</p>'], ['style.css', 'h1{}'], ['favicon.ico', 'x'], ['admin/index.html', '<p>panel</p>']];
  for (const [f, body] of pages) writeFileSync(path.join(www, f), body);
  const ngx = path.join(tmp, 'nginx');
  mkdirSync(path.join(ngx, 'tmp'), { recursive: true });
  const hash = sh('openssl', ['passwd', '-apr1', 'right-horse'], { check: true }).stdout.trim();
  writeFileSync(path.join(ngx, 'htpasswd'), `admin:${hash}\n`);
  writeFileSync(
    path.join(ngx, 'nginx.conf'),
    `worker_processes 1;
error_log ${logDir}/error.log error;
pid ${ngx}/nginx.pid;
events { worker_connections 256; }
http {
  access_log ${logDir}/access.log;
  client_body_temp_path ${ngx}/tmp/body;
  proxy_temp_path ${ngx}/tmp/proxy;
  fastcgi_temp_path ${ngx}/tmp/fastcgi;
  uwsgi_temp_path ${ngx}/tmp/uwsgi;
  scgi_temp_path ${ngx}/tmp/scgi;
  server {
    listen 80;
    server_name pbx;
    root ${www};
    location /admin/ { auth_basic "PBX panel"; auth_basic_user_file ${ngx}/htpasswd; }
  }
}
`,
  );
  const nginx = startDaemon(WEB, 'nginx', ['-c', path.join(ngx, 'nginx.conf'), '-p', `${ngx}/`, '-g', 'daemon off;'], path.join(tmp, 'nginx.out'));
  assert.ok(await waitFor(() => requests(USER, BROWSER, WEB_USER_ADDR, [['/', '']])[0] === 200, 15000), `nginx answers: ${existsSync(path.join(tmp, 'nginx.out')) ? readFileSync(path.join(tmp, 'nginx.out'), 'utf8') : ''}`);

  // 3. A private fail2ban on the CLI's configuration, verbatim: stock /etc/fail2ban with the
  // tree's files over it; only the server's own files (socket, pid, database, log) are its own.
  const conf = path.join(tmp, 'fail2ban');
  cpSync('/etc/fail2ban', conf, { recursive: true });
  cpSync(path.join(tree, 'etc/fail2ban'), conf, { recursive: true, force: true });
  for (const f of readdirSync(conf)) if (f === 'fail2ban.local') rmSync(path.join(conf, f));
  const sock = path.join(tmp, 'f2b.sock');
  writeFileSync(path.join(conf, 'fail2ban.local'), `[Definition]\nloglevel = INFO\nlogtarget = ${tmp}/fail2ban.log\nsocket = ${sock}\npidfile = ${tmp}/f2b.pid\ndbfile = ${tmp}/f2b.sqlite3\n`);
  // Its own mount namespace: the tree's log directory is /var/log/nginx for it alone.
  const f2b = startDaemon(WEB, 'unshare', ['-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /var/log/nginx && exec fail2ban-server -f -x -c "$1" -s "$2" -p "$3"', logDir, conf, sock, path.join(tmp, 'f2b.pid')], path.join(tmp, 'fail2ban.out'));
  const client = (args: string[]) => inNs(WEB, 'fail2ban-client', ['-c', conf, '-s', sock, ...args], 30000);
  const banned = (jail: string): string[] => (/Banned IP list:\s*(.*)$/m.exec(client(['status', jail]).stdout)?.[1] ?? '').split(/\s+/).filter(Boolean);
  const status = () => /Jail list:\s*(.*)$/m.exec(client(['status']).stdout)?.[1] ?? '';
  const up = await waitFor(() => JAILS.every((j) => status().includes(j)), 30000);
  assert.ok(up, `fail2ban runs the web jails: ${status()} ${existsSync(path.join(tmp, 'fail2ban.log')) ? readFileSync(path.join(tmp, 'fail2ban.log'), 'utf8').slice(-2000) : ''}${readFileSync(path.join(tmp, 'fail2ban.out'), 'utf8')}`);
  assert.ok(!/apache-/.test(status()), 'no Apache jail');

  // 4. The user browses the real pages and logs in, before and during the attack.
  const browse: Array<[string, string]> = [];
  for (let i = 0; i < 10; i++) browse.push(['/', ''], ['/about.html', ''], ['/style.css', ''], ['/favicon.ico', ''], ['/admin/', 'admin:right-horse']);
  assert.ok(requests(USER, BROWSER, WEB_USER_ADDR, browse).every((s) => s === 200), 'every page answers the user');

  // 5. The scanner: a few hundred paths that do not exist (what bots look for on a panel).
  const paths: Array<[string, string]> = [];
  const names = ['wp-login.php', 'wp-admin/setup-config.php', 'phpmyadmin/index.php', 'phpMyAdmin/setup/', 'pma/', 'myadmin/', 'mysqladmin/', 'roundcube/', 'webmail/', 'horde/', 'cgi-bin/luci', 'admin/pma/', 'xampp/phpmyadmin/', 'typo3/phpmyadmin/', 'mail/'];
  for (let i = 0; i < 300; i++) paths.push([`/${i % 3 ? '' : `site${i}/`}${names[i % names.length]}${i >= names.length ? `?v=${i}` : ''}`, '']);
  const t0 = Date.now();
  const scanned = requests(SCAN, SCANNER, WEB_SCAN_ADDR, paths);
  assert.equal(scanned[0], 404, 'the first scan request reaches nginx');
  // 6. The password guesser: wrong passwords on /admin/.
  const guesses = requests(SCAN, GUESSER, WEB_SCAN_ADDR, Array.from({ length: 12 }, (_, i): [string, string] => ['/admin/', `admin:guess${i}`]));
  assert.equal(guesses[0], 401, 'the first guess reaches nginx');

  assert.ok(await waitFor(() => banned('nginx-botsearch').includes(SCANNER), 30000), `the scanner is banned by nginx-botsearch: ${banned('nginx-botsearch')}`);
  assert.ok(await waitFor(() => banned('nginx-http-auth').includes(GUESSER), 30000), `the guesser is banned by nginx-http-auth: ${banned('nginx-http-auth')}`);
  console.log(`# scanner: ${scanned.filter((s) => s === 404).length} of ${scanned.length} requests answered 404 before the ban took hold; banned within ${((Date.now() - t0) / 1000).toFixed(1)} s of the first request`);
  // Banned in the namespace's firewall: their requests no longer reach nginx.
  assert.deepEqual(requests(SCAN, SCANNER, WEB_SCAN_ADDR, [['/', '']]), [0], 'the scanner is cut off');
  assert.deepEqual(requests(SCAN, GUESSER, WEB_SCAN_ADDR, [['/', '']]), [0], 'the guesser is cut off');
  // The stock set-based action (iptables-ipset-proto6): a REJECT rule matching the jail's set, the scanner in the set.
  assert.match(inNs(WEB, 'iptables', ['-S']).stdout, /--match-set f2b-nginx-botsearch src -j REJECT/);
  assert.equal(inNs(WEB, 'ipset', ['test', 'f2b-nginx-botsearch', SCANNER]).status, 0, 'the scanner is in the nginx-botsearch set');

  // 7. The user, after all that: still served, never banned.
  assert.ok(requests(USER, BROWSER, WEB_USER_ADDR, browse).every((s) => s === 200), 'the user is still served');
  for (const j of JAILS) assert.ok(!banned(j).includes(BROWSER), `the user is not banned in ${j}`);

  // 8. Stop what the test started, by PID.
  await stopPid(f2b.pid!);
  await stopPid(nginx.pid!);
});
