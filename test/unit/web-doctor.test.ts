/**
 * The doctor verdicts of the web view: the cache (a page view never waits for doctor after its
 * first run; stale verdicts are shown while a refresh runs in the background; one run at a time;
 * a failed run keeps the last verdicts) with a fake doctor and a fake clock, and GET /api/jails
 * over the real fail2banSource (a stand-in fail2ban socket under a temp root) and the real
 * `doctor` command with a recording runner playing fail2ban-client and fail2ban-regex: the JSON per jail, one doctor run for many page
 * views, and never a ban or a firewall command. The real thing, in Chromium, is
 * test/real/45-web-view.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { createDoctorCache } from '../../src/web/doctor-cache.ts';
import { fail2banSource, webAssetsDir } from '../../src/commands/web.ts';
import { doctor } from '../../src/commands/doctor.ts';
import type { DoctorReport } from '../../src/core/doctor/report.ts';
import { newToken } from '../../src/web/auth.ts';
import { startWebServer } from '../../src/web/server.ts';
import type { Command } from '../../src/adapters/runner.ts';
import { recordingRunner, removeRoot, tempRoot, testContext } from '../helpers/context.ts';
import { spawnSync } from 'node:child_process';
import { FAIL2BAN_REGEX, fail2banConfigDir } from '../helpers/fail2ban-regex.ts';
import { BEGIN_MARKER } from '../../src/core/editors/kamailio-cfg.ts';
import { fakeFail2banSocket, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';
import { resolveInRoot } from '../../src/adapters/fail2ban.ts';

const report = (verdict: 'ok' | 'broken', n = 1): DoctorReport => ({
  command: 'doctor',
  verdict,
  fail2banRunning: true,
  fail2banVersion: '1.0.2',
  uptimeSeconds: 10,
  adminAddress: null,
  adminWhitelisted: null,
  warnings: [],
  jails: [
    {
      jail: 'voip-asterisk',
      verdict,
      logFiles: ['/var/log/asterisk/messages'],
      checks: [
        { name: 'log /var/log/asterisk/messages', verdict: verdict === 'ok' ? 'ok' : 'broken', detail: `run ${n}`, ...(verdict === 'ok' ? {} : { fix: 'make it write again' }) },
        { name: 'ban round trip', verdict: 'ok', detail: 'skipped (--no-ban-test)' },
      ],
    },
  ],
});

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('doctor cache: the first view waits for the first run; later views never wait; one run at a time; stale shown while refreshing', async () => {
  let clock = 1_000_000;
  const runs: Array<ReturnType<typeof deferred<DoctorReport>>> = [];
  const cache = createDoctorCache(
    () => {
      const d = deferred<DoctorReport>();
      runs.push(d);
      return d.promise;
    },
    { ttlMs: 60_000, now: () => clock },
  );

  // 1. Two views before the first run ends: one run, both get its result.
  const a = cache.get();
  const b = cache.get();
  assert.equal(runs.length, 1);
  runs[0]!.resolve(report('broken', 1));
  const [sa, sb] = await Promise.all([a, b]);
  assert.deepEqual(sa, sb);
  assert.equal(sa.verdict, 'broken');
  assert.equal(sa.running, false);
  assert.equal(sa.checkedAt, 1000);
  // Only the checks that are not ok, with name, detail and fix.
  assert.deepEqual(sa.jails['voip-asterisk'], {
    verdict: 'broken',
    checks: [{ name: 'log /var/log/asterisk/messages', verdict: 'broken', detail: 'run 1', fix: 'make it write again' }],
    checkedAt: 1000,
  });

  // 2. Within the TTL: no new run.
  clock += 59_000;
  await cache.get();
  assert.equal(runs.length, 1);

  // 3. Past it: the old verdicts at once, a refresh in the background (one for many views).
  clock += 2_000;
  const stale = await cache.get();
  assert.equal(stale.checkedAt, 1000);
  assert.equal(stale.running, true);
  await cache.get();
  assert.equal(runs.length, 2, 'one refresh for two views');
  runs[1]!.resolve(report('ok', 2));
  await runs[1]!.promise;
  await new Promise((r) => setImmediate(r));
  const fresh = await cache.get();
  assert.equal(fresh.verdict, 'ok');
  assert.equal(fresh.checkedAt, 1061);
  assert.deepEqual(fresh.jails['voip-asterisk']!.checks, [], 'ok checks are not listed');
  assert.equal(runs.length, 2);

  // 4. A failed run keeps the last verdicts and says why.
  cache.invalidate();
  const during = await cache.get();
  assert.equal(during.verdict, 'ok');
  assert.equal(runs.length, 3, 'invalidate: the next view refreshes');
  runs[2]!.reject(new Error('fail2ban-client timed out\nmore'));
  await runs[2]!.promise.catch(() => undefined);
  await new Promise((r) => setImmediate(r));
  const failed = await cache.get();
  assert.equal(failed.verdict, 'ok');
  assert.equal(failed.error, 'fail2ban-client timed out');
  assert.equal(failed.checkedAt, 1061, 'the verdicts shown are still those of the last good run');
});

test('doctor cache: a first run that takes too long does not hold the page: it shows "running"', async () => {
  const cache = createDoctorCache(() => new Promise<DoctorReport>(() => undefined), { firstWaitMs: 50 });
  const t0 = Date.now();
  const s = await cache.get();
  assert.ok(Date.now() - t0 < 5000);
  assert.deepEqual(s, { checkedAt: null, running: true, error: null, verdict: null, jails: {} });
});

// ---------------------------------------------------------------------------------------------
// GET /api/jails over the real source and the real doctor command

const JAIL_LOCAL = '[DEFAULT]\nignoreip = 127.0.0.1/8 ::1\n\n[good]\nenabled = true\nfilter = voip-asterisk\nlogpath = /var/log/good.log\n\n[gone]\nenabled = true\nfilter = voip-asterisk\nlogpath = /var/log/gone.log\n';
const SOCK = '/run/test-f2b.sock';

function fakeFail2ban() {
  const answer = (c: string[]): unknown => {
    const k = c.join(' ');
    if (k === 'version') return '1.0.2';
    if (k === 'status') return [['Number of jail', 2], ['Jail list', 'good, gone']];
    if (c[0] === 'status') {
      return [
        ['Filter', [['Currently failed', 0], ['Total failed', 3], ['File list', [`/var/log/${c[1]}.log`]]]],
        ['Actions', [['Currently banned', 0], ['Total banned', 1], ['Banned IP list', []]]],
      ];
    }
    if (c[2] === 'banip') return [];
    if (c[2] === 'bantime') return 3600;
    if (c[2] === 'findtime') return 600;
    if (c[2] === 'maxretry') return 5;
    if (c[2] === 'ignoreip') return ['127.0.0.1/8', '::1'];
    // doctor's questions
    if (k === 'ping') return 'pong';
    if (c[0] === 'get' && c[2] === 'logpath') return [`/var/log/${c[1]}.log`];
    if (c[0] === 'get' && c[2] === 'actions') return ['nftables-multiport'];
    return null;
  };
  const run = recordingRunner((c: Command) => {
    if (c.cmd === 'fail2ban-client') {
      const a = [...c.args];
      while (a[0] === '-c' || a[0] === '-s') a.splice(0, 2);
      const k = a.join(' ');
      if (k === 'ping') return { stdout: 'Server replied: pong\n' };
      if (k === 'version') return { stdout: '1.0.2\n' };
      if (k === 'status') return { stdout: 'Status\n|- Number of jail:\t2\n`- Jail list:\tgood, gone\n' };
      if (a[2] === 'logpath') return { stdout: `Current monitored log file(s):\n\`- /var/log/${a[1]}.log\n` };
      if (a[2] === 'ignoreip') return { stdout: 'These IP addresses/networks are ignored:\n|- 127.0.0.1/8\n`- ::1\n' };
      if (a[2] === 'maxretry') return { stdout: '5\n' };
      if (a[2] === 'actions') return { stdout: `The jail ${a[1]} has the following actions:\nnftables-multiport\n` };
      return { exitCode: 255, stderr: `unexpected ${k}` };
    }
    if (c.cmd === 'fail2ban-regex') {
      return { stdout: 'Failregex: 0 total\n\nDate template hits:\n|- [# of hits] date format\n|  [1] {^LN-BEG}ExYear\n`-\n\nLines: 1 lines, 0 ignored, 0 matched, 1 missed\n' };
    }
    return { exitCode: 127, stderr: `${c.cmd}: not found`, notFound: true };
  });
  // The web view's own queries go over the socket under the root (src/adapters/fail2ban.ts).
  const socket = (root: string) => fakeFail2banSocket(root, (c) => [0, answer(c) as FakeValue], SOCK);
  return { run, socket };
}

test('GET /api/jails: each jail with its doctor verdict and failing checks (name, detail, fix); doctor once for many views; never a ban', async () => {
  const root = await tempRoot({
    '/etc/fail2ban/jail.local': JAIL_LOCAL,
    '/etc/fail2ban/fail2ban.local': `[Definition]\nsocket = ${SOCK}\n`,
    '/var/log/good.log': '[2026-11-22 11:59:00] VERBOSE[1] pbx.c: a benign line\n',
  });
  const fake = fakeFail2ban();
  const run = fake.run;
  const f2b = await fake.socket(root);
  const ctx = testContext(root, { run });
  utimesSync(path.join(root, 'var/log/good.log'), ctx.now(), ctx.now());
  let doctorRuns = 0;
  const verdicts = createDoctorCache(async () => {
    doctorRuns++;
    return doctor({ banTest: false, lines: 2000, json: true, socket: resolveInRoot(root, (await source.paths()).socket)!.real }, ctx);
  });
  const source = fail2banSource(ctx, { cacheSeconds: 60, doctor: verdicts });
  const token = newToken();
  const srv = await startWebServer({ host: '127.0.0.1', port: 0, token, source, audit: { append: async () => undefined, recent: async () => [] }, assetsDir: webAssetsDir() });
  try {
    const get = async () => (await (await fetch(new URL('/api/jails', srv.url), { headers: { Authorization: `Bearer ${token}` } })).json()) as any;
    const d = await get();
    await get();
    await get();
    assert.equal(doctorRuns, 1, 'doctor ran once for three views');
    assert.deepEqual({ ...d.doctor, checkedAt: 0 }, { checkedAt: 0, running: false, error: null, verdict: 'broken', everySeconds: 60 });
    assert.ok(Math.abs(d.doctor.checkedAt - Date.now() / 1000) < 30, 'checked just now');
    const good = d.jails.find((j: any) => j.jail === 'good');
    const gone = d.jails.find((j: any) => j.jail === 'gone');
    assert.deepEqual(good.doctor, { verdict: 'ok', checks: [], checkedAt: d.doctor.checkedAt });
    assert.equal(gone.doctor.verdict, 'broken');
    assert.equal(gone.doctor.checks.length, 1);
    const [c] = gone.doctor.checks;
    assert.equal(c.name, 'log /var/log/gone.log');
    assert.equal(c.verdict, 'broken');
    assert.match(c.detail, /\/var\/log\/gone\.log does not exist/);
    assert.match(c.fix, /fail2ban-client reload/);
    assert.equal(gone.totalFailed, 3, 'the fail2ban figures are still there');
    // doctor asked the socket the view talks to (no fail2ban-client), and never banned or looked at a firewall.
    const lines = run.lines();
    assert.ok(f2b.commands.includes('ping') && f2b.commands.includes('get gone logpath'), f2b.commands.join('\n'));
    assert.ok(!lines.some((l) => l.startsWith('fail2ban-client')), lines.join('\n'));
    assert.ok(!f2b.commands.some((l) => /^set \S+ (un)?banip\b/.test(l)), 'no ban round trip');
    assert.ok(!lines.some((l) => /^(iptables-save|nft|ipset|firewall-cmd)\b/.test(l)), 'no firewall command');
  } finally {
    await srv.close();
    await f2b.close();
    await removeRoot(root);
  }
});

test('issue 23: the web view shows no false verdict for the Kamailio pike jail (auth-failure lines it is not meant to match), real fail2ban-regex over real lines', async () => {
  const { readFile } = await import('node:fs/promises');
  const fixture = async (n: string) => (await readFile(new URL(`../fixtures/logs/${n}`, import.meta.url), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'));
  const auth = (await fixture('kamailio-real.log')).filter((l) => l.includes('voip-f2b: auth failure'));
  const benign = (await fixture('kamailio-benign.log')).filter((l) => /kamailio\[\d+\]: (INFO|NOTICE|ERROR)/.test(l));
  const lines = Array.from({ length: 150 }, (_, i) => (i % 25 < 8 ? auth[i % auth.length]! : benign[i % benign.length]!));
  const jails = ['voip-kamailio', 'voip-kamailio-pike'];
  const root = await tempRoot({
    '/etc/fail2ban/jail.local': '[voip-kamailio]\nenabled = true\nfilter = voip-kamailio[mode=auth]\nlogpath = /var/log/kamailio.log\n\n[voip-kamailio-pike]\nenabled = true\nfilter = voip-kamailio[mode=pike]\nlogpath = /var/log/kamailio.log\nmaxretry = 1\n',
    '/etc/fail2ban/fail2ban.local': `[Definition]\nsocket = ${SOCK}\n`,
    '/etc/rsyslog.d/40-voip-f2b-kamailio.conf': "if $programname == 'kamailio' then /var/log/kamailio.log\n",
    '/etc/kamailio/kamailio.cfg': `#!KAMAILIO\n${BEGIN_MARKER}\n`,
    '/var/log/kamailio.log': lines.map((l) => `${l}\n`).join(''),
  });
  const run = recordingRunner((c: Command) => {
    if (c.cmd === 'fail2ban-regex') {
      const args = [...c.args];
      args[args.indexOf('-c') + 1] = fail2banConfigDir();
      const r = spawnSync(FAIL2BAN_REGEX, args, { encoding: 'utf8', env: { ...process.env, ...c.env } });
      return { exitCode: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
    }
    if (c.cmd !== 'fail2ban-client') return { exitCode: 127, stderr: `${c.cmd}: not found`, notFound: true };
    const a = [...c.args];
    while (a[0] === '-c' || a[0] === '-s') a.splice(0, 2);
    const k = a.join(' ');
    if (k === 'ping') return { stdout: 'Server replied: pong\n' };
    if (k === 'version') return { stdout: '1.0.2\n' };
    if (k === 'status') return { stdout: `Status\n|- Number of jail:\t2\n\`- Jail list:\t${jails.join(', ')}\n` };
    if (a[2] === 'logpath') return { stdout: 'Current monitored log file(s):\n`- /var/log/kamailio.log\n' };
    if (a[2] === 'ignoreip') return { stdout: 'These IP addresses/networks are ignored:\n`- 127.0.0.1/8\n' };
    if (a[2] === 'maxretry') return { stdout: '5\n' };
    if (a[2] === 'actions') return { stdout: `The jail ${a[1]} has the following actions:\nnftables-allports\n` };
    return { exitCode: 255, stderr: `unexpected ${k}` };
  });
  // The web view's own queries go over the socket under the root (src/adapters/fail2ban.ts).
  const answer = (x: string[]): FakeValue => (x[2] === 'logpath' ? ['/var/log/kamailio.log'] : x[2] === 'ignoreip' ? ['127.0.0.1/8'] : x[2] === 'maxretry' ? 5 : x[2] === 'actions' ? ['nftables-allports'] : x.join(' ') === 'status' ? [['Number of jail', 2], ['Jail list', jails.join(', ')]] : x[0] === 'status' ? [['Filter', [['Currently failed', 0], ['Total failed', 48], ['File list', ['/var/log/kamailio.log']]]], ['Actions', [['Currently banned', 0], ['Total banned', 0], ['Banned IP list', []]]]] : x.join(' ') === 'version' ? '1.0.2' : null);
  const f2b = await fakeFail2banSocket(root, (c) => [0, answer(c)], SOCK);
  const ctx = testContext(root, { run });
  utimesSync(path.join(root, 'var/log/kamailio.log'), ctx.now(), ctx.now());
  const verdicts = createDoctorCache(async () => doctor({ banTest: false, lines: 2000, json: true, probes: false, socket: resolveInRoot(root, (await source.paths()).socket)!.real }, ctx));
  const source = fail2banSource(ctx, { cacheSeconds: 60, doctor: verdicts });
  const token = newToken();
  const srv = await startWebServer({ host: '127.0.0.1', port: 0, token, source, audit: { append: async () => undefined, recent: async () => [] }, assetsDir: webAssetsDir() });
  try {
    const d = (await (await fetch(new URL('/api/jails', srv.url), { headers: { Authorization: `Bearer ${token}` } })).json()) as any;
    // Before: the pike jail BROKEN, "48 of the last 150 lines look like authentication failures, but the filter matched none".
    assert.deepEqual(d.jails.find((j: any) => j.jail === 'voip-kamailio-pike').doctor.checks, []);
    assert.equal(d.jails.find((j: any) => j.jail === 'voip-kamailio-pike').doctor.verdict, 'ok');
    assert.equal(d.jails.find((j: any) => j.jail === 'voip-kamailio').doctor.verdict, 'ok');
    assert.equal(d.doctor.verdict, 'ok');
  } finally {
    await srv.close();
    await f2b.close();
    await removeRoot(root);
  }
});
