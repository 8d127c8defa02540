/**
 * The web view's pure core (src/core/web-view.ts), its auth pieces, and the HTTP server's
 * security rules over a stub source (the real fail2ban is in test/real/45-web-view.test.ts).
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { currentBans, history, jailNames, jailView, networkOf, parseBanipWithTime, testLineResult, voipContext, type DbBan } from '../../src/core/web-view.ts';
import { RateLimiter, cookieValue, newToken, tokenMatches } from '../../src/web/auth.ts';
import { startWebServer, type AuditEntry, type RunningWebServer, type WebSource } from '../../src/web/server.ts';
import { addToWhitelist, checkListen, loadOrCreateToken, webAssetsDir } from '../../src/commands/web.ts';
import { UsageError } from '../../src/errors.ts';
import { recordingRunner, removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';

const STATUS = [['Number of jail', 2], ['Jail list', 'voip-asterisk, sshd']];
const JAIL_STATUS = [
  ['Filter', [['Currently failed', 1], ['Total failed', 6], ['File list', ['/var/log/asterisk/messages']]]],
  ['Actions', [['Currently banned', 1], ['Total banned', 2], ['Banned IP list', ['203.0.113.70']]]],
];

test('jail list and jail view from fail2ban answers', () => {
  assert.deepEqual(jailNames(STATUS), ['voip-asterisk', 'sshd']);
  assert.deepEqual(jailView('voip-asterisk', JAIL_STATUS, 3600, 600, 5, ['127.0.0.1/8', '::1']), {
    jail: 'voip-asterisk',
    currentlyFailed: 1,
    totalFailed: 6,
    currentlyBanned: 1,
    totalBanned: 2,
    files: ['/var/log/asterisk/messages'],
    bantime: 3600,
    findtime: 600,
    maxretry: 5,
    ignoreip: ['127.0.0.1/8', '::1'],
  });
  assert.deepEqual(parseBanipWithTime(['203.0.113.70 \t2026-11-29 17:32:59 + 3600 = 2026-11-29 18:32:59', '2001:db8::1 \t2026-11-29 17:32:59 + -1 = 9999-12-31 23:59:59']), [
    { ip: '203.0.113.70', bantime: 3600 },
    { ip: '2001:db8::1', bantime: -1 },
  ]);
});

test('VoIP context: SIP users, User-Agents and failure kinds of Asterisk, FreeSWITCH and Kamailio lines', () => {
  const c = voipContext([
    `[2026-11-29 17:32:59] NOTICE[1] chan_sip.c: Registration from '"x" <sip:<script>alert(1)</script>"onerror=y@203.0.113.1>' failed for '203.0.113.70:5060' - Wrong password`,
    `[2026-11-29 17:33:00] NOTICE[1] res_pjsip/pjsip_distributor.c: Request 'REGISTER' from '<sip:1001@203.0.113.1>' failed for '203.0.113.70:5060' (callid: abc) - No matching endpoint found`,
    `[2026-11-29 17:33:01] SECURITY[1] res_security_log.c: SecurityEvent="InvalidAccountID",EventTV="x",Severity="Error",Service="SIP",AccountID="sip:admin@203.0.113.1",SessionID="x",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/203.0.113.70/5060",UserAgent="friendly-scanner"`,
    `2026-11-29 17:33:02.000000 [WARNING] sofia_reg.c:1 SIP auth failure (REGISTER) on sofia profile 'internal' for [1002@example.org] from ip 203.0.113.70`,
    `Nov 29 17:33:03 pbx kamailio[1]: WARNING: <script>: voip-f2b: auth failure src=203.0.113.70 port=5060 method=REGISTER user=bob rc=-3`,
  ]);
  assert.deepEqual(c.users, ['<script>alert(1)</script>"onerror=y', '1001', 'admin', '1002', 'bob']);
  assert.deepEqual(c.userAgents, ['friendly-scanner']);
  assert.deepEqual(c.kinds, ['wrong password', 'unknown user', 'auth failure']);
});

test('current bans join the live list with the database (times, counts, lines); history aggregates', () => {
  const now = 1_800_000_000;
  const data = { matches: ['l1', `Registration from '"a" <sip:100@h>' failed for '203.0.113.70:5060' - Wrong password`], failures: 5 };
  const bips: DbBan[] = [['voip-asterisk', '203.0.113.70', now - 100, 3600, 2, data]];
  const hist: DbBan[] = [bips[0]!, ['voip-asterisk', '203.0.113.70', now - 86400 * 2, 3600, 1, data], ['sshd', '2001:db8:1:2::5', now - 7200, 600, 1, null]];
  const bans = currentBans({ 'voip-asterisk': [{ ip: '203.0.113.70', bantime: 3600 }], sshd: [{ ip: '198.51.100.9', bantime: -1 }] }, bips, hist, now);
  assert.equal(bans.length, 2);
  const a = bans.find((b) => b.ip === '203.0.113.70')!;
  assert.deepEqual([a.bannedAt, a.endsAt, a.banCount, a.previousBans, a.failures, a.context.users], [now - 100, now + 3500, 2, 1, 5, ['100']]);
  const s = bans.find((b) => b.ip === '198.51.100.9')!;
  assert.equal(s.endsAt, null, 'bantime -1: never ends');
  const h = history(hist, now);
  assert.equal(h.total, 3);
  assert.equal(h.perHour.reduce((x, y) => x + y), 2);
  assert.equal(h.perDay.reduce((x, y) => x + y), 3);
  assert.deepEqual(h.topUsers, [{ user: '100', count: 2 }]);
  assert.deepEqual(h.topNetworks, [{ network: '203.0.113.0/24', count: 2 }, { network: '2001:db8:1::/48', count: 1 }]);
  assert.equal(networkOf('2001:db8::1'), '2001:db8:0::/48');
});

test("doctor's test bans (203.0.113.251-254) are in no view: not in the bans, not counted in a jail, not in the history", () => {
  const now = 1_800_000_000;
  const test = (ip: string, t: number): DbBan => ['voip-asterisk', ip, t, 3600, 1, { matches: [], failures: 1 }];
  const real: DbBan = ['voip-asterisk', '203.0.113.70', now - 100, 3600, 1, null];
  const hist: DbBan[] = [real, test('203.0.113.254', now - 50), test('203.0.113.254', now - 86400), test('203.0.113.251', now - 60)];
  const bans = currentBans({ 'voip-asterisk': [{ ip: '203.0.113.70', bantime: 3600 }, { ip: '203.0.113.254', bantime: 3600 }] }, [real, test('203.0.113.254', now - 50)], hist, now);
  assert.deepEqual(bans.map((b) => b.ip), ['203.0.113.70']);
  const h = history(hist, now);
  assert.equal(h.total, 1);
  assert.deepEqual(h.topNetworks, [{ network: '203.0.113.0/24', count: 1 }]);
  const status = [['Filter', [['Currently failed', 0]]], ['Actions', [['Currently banned', 2], ['Total banned', 9], ['Banned IP list', ['203.0.113.70', '203.0.113.254']]]]];
  assert.equal(jailView('voip-asterisk', status, 3600, 600, 5, []).currentlyBanned, 1);
});

test('test-a-line: every pasted line is reported, matched ones with the address fail2ban-regex took', () => {
  assert.deepEqual(testLineResult(['a 203.0.113.5', 'junk'], '203.0.113.5\ta 203.0.113.5\n'), [
    { line: 'a 203.0.113.5', matched: true, ip: '203.0.113.5' },
    { line: 'junk', matched: false, ip: null },
  ]);
});

test('tokens: 256 bits, constant-time match; wrong ones rate-limited with a growing wait; cookies parsed', () => {
  const t = newToken();
  assert.ok(Buffer.from(t, 'base64url').length >= 16);
  assert.notEqual(newToken(), t);
  assert.ok(tokenMatches(t, t));
  assert.ok(!tokenMatches(`${t}x`, t));
  assert.ok(!tokenMatches('', t));
  let now = 0;
  const rl = new RateLimiter(() => now);
  for (let i = 0; i < 5; i++) {
    assert.equal(rl.waitMs('c'), 0);
    rl.fail('c');
  }
  rl.fail('c');
  assert.equal(rl.waitMs('c'), 2000);
  rl.fail('c');
  assert.equal(rl.waitMs('c'), 4000);
  assert.equal(rl.waitMs('other'), 0, 'per client');
  now += 4000;
  assert.equal(rl.waitMs('c'), 0);
  assert.equal(cookieValue('a=1; vf2b_session=xyz; b=2', 'vf2b_session'), 'xyz');
});

test('--listen: loopback only unless TLS; bad values named', () => {
  assert.deepEqual(checkListen({ listen: '127.0.0.1:8473' }), { host: '127.0.0.1', port: 8473 });
  assert.deepEqual(checkListen({ listen: '[::1]:8473' }), { host: '::1', port: 8473 });
  assert.throws(() => checkListen({ listen: '0.0.0.0:8473' }), (e: unknown) => e instanceof UsageError && /refusing --listen 0\.0\.0\.0:8473 without TLS/.test(e.message));
  assert.throws(() => checkListen({ listen: '203.0.113.5:8473', tlsCert: 'c' }), UsageError);
  assert.deepEqual(checkListen({ listen: '0.0.0.0:8473', tlsCert: 'c', tlsKey: 'k' }), { host: '0.0.0.0', port: 8473 });
  assert.throws(() => checkListen({ listen: 'localhost' }), /invalid --listen 'localhost': expected host:port/);
  assert.throws(() => checkListen({ listen: '127.0.0.1:70000' }), UsageError);
});

test('the token file is created 0600 in a 0700 directory, reused, and refused when others may read it', async () => {
  const root = await tempRoot();
  const ctx = testContext(root);
  const a = await loadOrCreateToken(ctx, '/etc/voip-f2b-install/web-token');
  assert.equal(a.created, true);
  const { statSync, chmodSync } = await import('node:fs');
  assert.equal(statSync(path.join(root, 'etc/voip-f2b-install/web-token')).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(root, 'etc/voip-f2b-install')).mode & 0o777, 0o700);
  const b = await loadOrCreateToken(ctx, '/etc/voip-f2b-install/web-token');
  assert.deepEqual(b, { token: a.token, created: false });
  chmodSync(path.join(root, 'etc/voip-f2b-install/web-token'), 0o644);
  await assert.rejects(loadOrCreateToken(ctx, '/etc/voip-f2b-install/web-token'), /can be read by others \(mode 644\)/);
  await removeRoot(root);
});

// ---- the HTTP server over a stub source ---------------------------------------------------

const calls: string[] = [];
const stub: WebSource = {
  overview: async () => ({ version: '1.0.2', startedAt: null, jails: [jailView('voip-asterisk', JAIL_STATUS, 3600, 600, 5, [])], whitelist: [] }),
  bans: async () => ({ now: 0, bans: [] }),
  history: async () => history([], 0),
  ban: async (j, ip) => (calls.push(`ban ${j} ${ip}`), { ok: true, message: '' }),
  unban: async (j, ip) => (calls.push(`unban ${j} ${ip}`), { ok: true, message: '' }),
  testLines: async () => ({ results: [], filter: 'x' }),
  whitelist: async (e) => (calls.push(`whitelist ${e}`), { ok: true, message: '', ignoreip: [e] }),
};
const audit: AuditEntry[] = [];
let srv: RunningWebServer;
const TOKEN = newToken();
let dir = '';

before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'h12-web-unit-'));
  srv = await startWebServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    source: stub,
    audit: { append: async (e) => void audit.push(e), recent: async () => audit.slice().reverse() },
    assetsDir: webAssetsDir(),
  });
});
after(async () => {
  await srv?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function req(p: string, o: { method?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}) {
  const res = await fetch(new URL(p, srv.url), {
    method: o.method ?? 'GET',
    headers: { ...(o.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...o.headers },
    ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : o.raw !== undefined ? { body: o.raw } : {}),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}
const B = { Authorization: `Bearer ${TOKEN}` };

test('server: the page is public and holds no data; every response has the strict CSP', async () => {
  const r = await req('/');
  assert.equal(r.status, 200);
  assert.doesNotMatch(r.text, /voip-asterisk|1\.0\.2/);
  const csp = r.headers.get('content-security-policy') ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(r.headers.get('server'), null);
  assert.doesNotMatch(r.text, /<script>(?!<\/script>)|\son\w+=/i, 'no inline script or handler in the page');
});

test('server: 401 without or with a wrong token, naming nothing; Bearer works', async () => {
  for (const p of ['/api/jails', '/api/bans', '/api/history', '/api/audit', '/api/nonexistent', '/etc/passwd']) {
    const r = await req(p);
    assert.equal(r.status, 401, p);
    assert.equal(r.text, '{"error":"unauthorized"}');
  }
  assert.equal((await req('/api/jails', { headers: { Authorization: 'Bearer nope' } })).status, 401);
  const ok = await req('/api/jails', { headers: B });
  assert.equal(ok.status, 200);
  assert.match(ok.headers.get('server-timing') ?? '', /^app;dur=/);
});

test('server: changes need POST, JSON, our Origin; a foreign Origin or a cross-site fetch is refused; each change is audited', async () => {
  assert.equal((await req('/api/unban', { method: 'PUT', headers: B, body: {} })).status, 405);
  assert.equal((await req('/api/unban', { method: 'POST', headers: { ...B, Origin: 'http://evil.example' }, body: { ip: '203.0.113.5', jail: 'voip-asterisk' } })).status, 403);
  assert.equal((await req('/api/unban', { method: 'POST', headers: { ...B, 'Sec-Fetch-Site': 'cross-site' }, body: { ip: '203.0.113.5', jail: 'voip-asterisk' } })).status, 403);
  assert.equal((await req('/api/unban', { method: 'POST', headers: { ...B, 'Content-Type': 'text/plain' }, raw: '{"ip":"203.0.113.5","jail":"voip-asterisk"}' })).status, 415, 'a form post cannot make a change');
  const bad = await req('/api/ban', { method: 'POST', headers: B, body: { ip: '1.2.3.4;reboot', jail: 'voip-asterisk' } });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /invalid address '1\.2\.3\.4;reboot': expected an IPv4 or IPv6 address/);
  assert.equal((await req('/api/ban', { method: 'POST', headers: B, body: { ip: '203.0.113.5', jail: 'x y' } })).status, 400);
  assert.deepEqual(calls, [], 'nothing refused reached fail2ban');
  const ok = await req('/api/unban', { method: 'POST', headers: { ...B, Origin: srv.url.replace(/\/$/, '') }, body: { ip: '203.0.113.5', jail: 'voip-asterisk' } });
  assert.equal(ok.status, 200);
  assert.deepEqual(calls, ['unban voip-asterisk 203.0.113.5']);
  assert.deepEqual(audit.filter((a) => a.action === 'unban').map((a) => [a.target, a.result]), [['203.0.113.5 in voip-asterisk', 'ok']]);
  // On loopback the audit names the local account and the process at the other end (this one).
  assert.match(audit.find((a) => a.action === 'unban')!.client, new RegExp(`^127\\.0\\.0\\.1 \\(local: uid ${process.getuid!()} \\S+, node pid ${process.pid}\\)$`));
});

test('server: login sets an HttpOnly SameSite=Strict cookie that then authenticates; a foreign Host is refused (DNS rebinding)', async () => {
  const bad = await req('/api/login', { method: 'POST', body: { token: 'nope' } });
  assert.equal(bad.status, 401);
  const r = await req('/api/login', { method: 'POST', body: { token: TOKEN } });
  assert.equal(r.status, 200);
  const cookie = r.headers.get('set-cookie') ?? '';
  assert.match(cookie, /^vf2b_session=[\w-]{40,}; HttpOnly; SameSite=Strict; Path=\//);
  const sid = cookie.split(';')[0]!;
  assert.equal((await req('/api/jails', { headers: { Cookie: sid } })).status, 200);
  assert.equal((await req('/api/jails', { headers: { Cookie: 'vf2b_session=forged' } })).status, 401);
  const { request } = await import('node:http');
  const status = await new Promise<number>((resolve, reject) => {
    const rq = request({ host: '127.0.0.1', port: srv.port, path: '/api/jails', headers: { Host: 'attacker.example', ...B } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    rq.on('error', reject);
    rq.end();
  });
  assert.equal(status, 421);
});

test('server: a flood of wrong tokens never keeps out the right one; only failures are throttled and audited sparingly', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 50; i++) {
    const r = i % 2 ? await req('/api/login', { method: 'POST', body: { token: `wrong-${i}` } }) : await req('/api/jails', { headers: { Authorization: `Bearer wrong-${i}` } });
    statuses.push(r.status);
  }
  assert.ok(statuses.slice(-40).every((s) => s === 429), `later wrong tokens are throttled: ${statuses.join(',')}`);
  const limited = await req('/api/login', { method: 'POST', body: { token: 'wrong-again' } });
  assert.equal(limited.status, 429);
  assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
  // The right token, at once, both ways.
  const t0 = performance.now();
  assert.equal((await req('/api/jails', { headers: B })).status, 200);
  assert.equal((await req('/api/login', { method: 'POST', body: { token: TOKEN } })).status, 200);
  assert.ok(performance.now() - t0 < 1000);
  assert.ok(audit.filter((a) => a.result === 'wrong token').length <= 8, 'a flood does not fill the audit log');
  // Requests that are not our page's cannot add failures: refused before the token is looked at.
  const before = audit.length;
  assert.equal((await req('/api/login', { method: 'POST', headers: { 'Sec-Fetch-Site': 'cross-site' }, body: { token: 'x' } })).status, 403);
  assert.equal((await req('/api/login', { method: 'POST', headers: { Origin: 'http://evil.example' }, body: { token: 'x' } })).status, 403);
  assert.equal((await req('/api/login', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, raw: '{"token":"x"}' })).status, 415);
  assert.equal((await req('/api/jails', { headers: { 'Sec-Fetch-Site': 'same-site', ...B } })).status, 403);
  assert.equal(audit.length, before);
});

test('server: a loopback client that is an SSH port forward (sshd holds the socket) is audited as an SSH tunnel', async () => {
  const { execFile } = await import('node:child_process');
  const { symlinkSync } = await import('node:fs');
  // A process whose command is sshd (the node binary under that name) connects as a tunnel would.
  const sshd = path.join(dir, 'sshd');
  symlinkSync(process.execPath, sshd);
  // The audit line of a change: a ban through the tunnel.
  const ban = `fetch(${JSON.stringify(new URL('/api/ban', srv.url).href)}, { method: 'POST', body: JSON.stringify({ ip: '203.0.113.6', jail: 'voip-asterisk' }), headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ${TOKEN}' } }).then((r) => process.stdout.write(String(r.status)))`;
  // Not spawnSync: the server runs in this process.
  const out = await new Promise<string>((resolve, reject) => execFile(sshd, ['-e', ban], { encoding: 'utf8', timeout: 20000 }, (e, stdout, stderr) => (e ? reject(new Error(`${e.message} ${stderr}`)) : resolve(stdout))));
  assert.equal(out, '200');
  const entry = audit.find((a) => a.action === 'ban' && a.target === '203.0.113.6 in voip-asterisk');
  assert.match(entry?.client ?? '', new RegExp(`^127\\.0\\.0\\.1 \\(SSH tunnel: sshd pid \\d+, uid ${process.getuid!()} \\S+\\)$`));
});

test('the whitelist of the web view refuses what the command line refuses (everything, too wide, a zone ID): nothing written, nothing run', async () => {
  const jailLocal = '[DEFAULT]\nignoreip = 127.0.0.1/8 ::1\n';
  const root = await tempRoot({ '/etc/fail2ban/jail.local': jailLocal });
  const run = recordingRunner();
  try {
    const before = await snapshot(root);
    for (const bad of ['0.0.0.0/0', '::/0', '0.0.0.0/4', '2000::/3', 'fe80::1%eth0']) {
      await assert.rejects(addToWhitelist(testContext(root, { run }), bad), (e: unknown) => e instanceof UsageError && e.message.startsWith(`invalid --whitelist entry '${bad}': `));
    }
    assert.deepEqual(await snapshot(root), before);
    assert.deepEqual(run.lines(), []);
  } finally {
    await removeRoot(root);
  }
});

test("the web view's whitelist entry is added to the settings' whitelist, never in its place: the last run's entries stay, in jail.local and for the next plain run", async () => {
  const { readFile } = await import('node:fs/promises');
  const { install } = await import('../../src/commands/install.ts');
  const { installOptions } = await import('../helpers/options.ts');
  const { getIniValue } = await import('../../src/core/ini-edit.ts');
  const os = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
  const root = await tempRoot({ '/etc/os-release': os, '/etc/asterisk/asterisk.conf': '' });
  try {
    await install(installOptions({ whitelist: ['203.0.113.7'], yes: true, services: ['asterisk'] }), testContext(root));
    const r = await addToWhitelist(testContext(root), '198.51.100.9');
    assert.equal(r.changed, true);
    const ignoreip = () => readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8').then((t) => (getIniValue(t, 'DEFAULT', 'ignoreip') ?? '').split(/\s+/));
    for (const a of ['203.0.113.7', '198.51.100.9']) assert.ok((await ignoreip()).includes(a), `${a} in ${(await ignoreip()).join(' ')}`);
    const manifest = JSON.parse(await readFile(path.join(root, 'var/backups/voip-f2b-install/manifest.json'), 'utf8'));
    assert.deepEqual(manifest.settings.whitelist, ['203.0.113.7', '198.51.100.9']);
    // Two pages adding at once: one install run after the other, both entries kept.
    await Promise.all([addToWhitelist(testContext(root), '198.51.100.10'), addToWhitelist(testContext(root), '198.51.100.11')]);
    const after = JSON.parse(await readFile(path.join(root, 'var/backups/voip-f2b-install/manifest.json'), 'utf8'));
    assert.deepEqual(after.settings.whitelist, ['203.0.113.7', '198.51.100.9', '198.51.100.10', '198.51.100.11']);
    assert.equal(after.pending, undefined, 'no run left open');
  } finally {
    await removeRoot(root);
  }
});
