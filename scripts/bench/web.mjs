// Web view latency with 1,000 banned addresses (issue 12: "the bans view under 300 ms server
// time"). No host state: a private fail2ban-server on a temp tree (own config dir, socket, pid
// file, database, log) whose jail has no action, so a ban is fail2ban's own record and never
// touches a firewall; it runs in a private mount namespace where the tree's /var/log is
// /var/log (root needed), so its log path is the tree's for the web view and doctor too. The
// built CLI's `web --root <tree>` serves it on a free loopback port.
//
// The bans are real: 3 Asterisk failure lines per address are appended to the jail's log
// (maxretry 3), so fail2ban's database holds each ban with its log lines, as on a PBX under attack.
// The banned addresses (100.64.0.0/10, as in the ban-action bench) are numbers in fail2ban's
// lists and database only, never put on any link.
//
// Every figure is measured twice in the same run: with no ban (the floor: the same requests
// against the same fail2ban, empty), then with 1,000. Requests go one at a time over one
// keep-alive connection. "cold" = the view's 2 s snapshot of fail2ban has expired (the first
// request after 2 s pays for one refresh: one Python process asking fail2ban over its socket and
// reading its database); "warm" = answered from the snapshot. Server time is the view's own
// `Server-Timing: app;dur=` (handler start to response), client time is the round trip.
// Beside them: one bare `fail2ban-client status <jail>` (what fail2rest-style tools pay per call).
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, REPO, TEMPLATE_FILTER_DIR, timed } from './lib.mjs';

const CLI = join(REPO, 'bin/voip-f2b-install.js');
const JAIL = 'voip-asterisk';
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const p2 = (n) => String(n).padStart(2, '0');

/** The n-th banned address: 100.64.0.1, 100.64.0.2, ... (never on a link). */
export const banAddress = (i) => `100.64.${Math.floor((i + 1) / 250)}.${((i + 1) % 250) + 1}`;

function asteriskLine(user, ip, d = new Date()) {
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `[${stamp}] NOTICE[4242] chan_sip.c: Registration from '"${user}" <sip:${user}@198.51.100.1>' failed for '${ip}:5060' - Wrong password`;
}

/** A temp tree with fail2ban's configuration for one action-less jail, and the server on it. */
export function startFail2ban(dir) {
  const root = join(dir, 'root');
  const conf = join(root, 'etc/fail2ban');
  mkdirSync(join(conf, 'filter.d'), { recursive: true });
  mkdirSync(join(conf, 'action.d'), { recursive: true });
  cpSync('/etc/fail2ban/filter.d/common.conf', join(conf, 'filter.d/common.conf'));
  for (const f of readdirSync(TEMPLATE_FILTER_DIR)) if (f.endsWith('.conf')) cpSync(join(TEMPLATE_FILTER_DIR, f), join(conf, 'filter.d', f));
  const sock = join(dir, 'f2b.sock');
  const pidfile = join(dir, 'f2b.pid');
  // The jail reads /var/log/asterisk/messages: the tree's, through a private mount namespace
  // the server runs in (the host's mounts are untouched), so fail2ban, the web view and doctor
  // (both --root on the tree) read the same file by the same name, as on a real host.
  const log = join(root, 'var/log/asterisk/messages');
  mkdirSync(join(root, 'var/log/asterisk'), { recursive: true });
  mkdirSync(join(root, 'etc/asterisk'), { recursive: true });
  writeFileSync(join(root, 'etc/asterisk/logger.conf'), '[general]\ndateformat = %F %T\n[logfiles]\nmessages => notice,warning,error\n');
  writeFileSync(
    join(conf, 'fail2ban.conf'),
    `[Definition]\nloglevel = INFO\nlogtarget = ${join(dir, 'fail2ban.log')}\nsocket = ${sock}\npidfile = ${pidfile}\ndbfile = ${join(dir, 'fail2ban.sqlite3')}\ndbpurgeage = 30d\ndbmaxmatches = 10\n\n[Thread]\n`,
  );
  writeFileSync(join(conf, 'jail.conf'), '[DEFAULT]\nenabled = false\nusedns = no\nlogencoding = utf-8\nbackend = auto\nbantime = 1d\nfindtime = 1h\nmaxretry = 3\naction =\n');
  writeFileSync(join(conf, 'jail.local'), `[DEFAULT]\nignoreip = 127.0.0.1/8 ::1\n\n[${JAIL}]\nenabled = true\nfilter = voip-asterisk[count=lines]\nlogpath = /var/log/asterisk/messages\n`);
  writeFileSync(log, '');
  const client = (args, opts = {}) => timed('fail2ban-client', ['-c', conf, '-s', sock, '-p', pidfile, ...args], { timeout: 60_000, ...opts });
  const r = timed('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1/var/log" /var/log && shift && exec "$@"', 'sh', root, 'fail2ban-client', '-c', conf, '-s', sock, '-p', pidfile, '-x', 'start'], { timeout: 60_000 });
  const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : null;
  if (r.status !== 0) throw new Error(`private fail2ban-server did not start: ${r.stderr}${r.stdout}`);
  const stop = () => {
    try {
      client(['stop']);
    } catch {
      // fail2ban-client gone (another suite reinstalling fail2ban): the PID below still works
    }
    if (pid && existsSync(`/proc/${pid}`)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  };
  return { root, conf, log, sock, client, stop };
}

/** Starts the built CLI's web view on the tree; resolves with its URL, token and process. */
export async function startWeb(root) {
  const proc = spawn(process.execPath, [CLI, 'web', '--root', root, '--listen', '127.0.0.1:0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
  let out = '';
  let err = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (err += c));
  const deadline = Date.now() + 30_000;
  while (!out.includes('\n')) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`the web view did not start: ${err}`);
    await sleep(50);
  }
  const notice = JSON.parse(out.split('\n')[0]);
  const token = readFileSync(join(root, 'etc/voip-f2b-install/web-token'), 'utf8').trim();
  return { url: notice.url, loginUrl: notice.loginUrl, token, proc };
}

/** GET over one keep-alive connection: client ms, the server's own ms (Server-Timing), the body. */
function client(base, token) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  // The server closes a connection idle for 5 s (Node's keep-alive timeout): a request that
  // meets that race is sent again, once, on a new connection.
  const retry = (fn) =>
    fn().catch((e) => {
      if (e.code !== 'ECONNRESET') throw e;
      return fn();
    });
  const once = (method, path, auth, body) =>
    new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const headers = { ...(auth ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) };
      const req = http.request(new URL(path, base), { method, agent, headers }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          const st = /app;dur=([\d.]+)/.exec(res.headers['server-timing'] ?? '');
          const data = Buffer.concat(chunks);
          if (method === 'GET' && res.statusCode !== 200) return reject(new Error(`GET ${path}: ${res.statusCode} ${data.toString().slice(0, 200)}`));
          resolve({ status: res.statusCode, ms, serverMs: st ? Number(st[1]) : NaN, bytes: data.length, body: data });
        });
      });
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });
  return {
    get: (path, auth = true) => retry(() => once('GET', path, auth)),
    post: (path, body) => retry(() => once('POST', path, true, body)),
    close: () => agent.destroy(),
  };
}

/** Waits until no doctor run is under way (it runs in the background and would load the CPU). */
async function settleDoctor(c) {
  for (let i = 0; i < 120; i++) {
    const d = JSON.parse((await c.get('/api/jails')).body.toString()).doctor;
    if (d && !d.running && d.checkedAt) return;
    await sleep(500);
  }
}

/**
 * Medians of n requests per path, three ways:
 *  - fresh: back to back, answered from the snapshot (younger than 2 s);
 *  - expired: each 2.1 s after the last, the snapshot stale: answered from it at once while a
 *    refresh runs in the background (the next sample waits 2.1 s, long enough for it to end);
 *  - after a change: each right after a POST /api/unban (of an address not banned: fail2ban
 *    answers "not banned", the view drops its snapshot all the same, as after any change), so the
 *    request waits for one refresh: the Python process, fail2ban's answers, its database read.
 *    This is the page's worst case (its first view, and the list shown after an unban).
 * /api/jails comes last: its views may start the once-a-minute background doctor, waited for.
 */
async function measure(c, n) {
  const out = {};
  const med = (rs) => ({ ms: median(rs.map((r) => r.ms)), serverMs: median(rs.map((r) => r.serverMs)), bytes: rs[0].bytes });
  out.page = med(await seq(n, () => c.get('/', false)));
  for (const p of ['/api/bans', '/api/history', '/api/jails']) {
    await settleDoctor(c);
    await c.post('/api/unban', { ip: '100.127.255.254', jail: JAIL });
    await c.get(p);
    const fresh = await seq(n, () => c.get(p));
    const expired = [];
    for (let i = 0; i < n; i++) {
      await sleep(2100);
      expired.push(await c.get(p));
    }
    const changed = [];
    for (let i = 0; i < n; i++) {
      await sleep(300);
      const r = await c.post('/api/unban', { ip: '100.127.255.254', jail: JAIL });
      if (r.status !== 409 && r.status !== 200) throw new Error(`POST /api/unban: ${r.status} ${r.body.toString().slice(0, 200)}`);
      changed.push(await c.get(p));
    }
    const sizes = new Set([fresh[0].bytes, expired.at(-1).bytes, changed[0].bytes]);
    if (p === '/api/bans' && sizes.size !== 1) throw new Error(`${p}: answers of different sizes (${[...sizes].join(', ')} bytes): a snapshot from before was measured`);
    out[p] = { fresh: med(fresh), expired: med(expired), changed: med(changed) };
  }
  return out;
}

async function seq(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

/** The Bans view in real Chromium: from the hash change to the table rendered (median of n). */
async function pageLoad(web, n) {
  let chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return null;
  }
  if (!existsSync(CHROMIUM)) return null;
  const userDataDir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 } });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    await page.goto(web.loginUrl);
    await page.waitForSelector('body[data-loaded="overview"]', { timeout: 60_000 });
    const times = [];
    const fetches = [];
    const showAll = [];
    let rows = 0;
    let allRows = 0;
    // The page is on #overview: each round goes to #bans (timed until the rows are laid out and
    // painted: the next frame), clicks "Show all" when there is one (timed the same way), and
    // goes back (a hash change each time).
    for (let i = 0; i < n; i++) {
      for (const view of ['bans', 'overview']) {
        const r = await page.evaluate(async (v) => {
          const frame = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
          state.showAll = false;
          const t0 = performance.now();
          delete document.body.dataset.loaded;
          location.hash = v;
          while (document.body.dataset.loaded !== v) {
            if (performance.now() - t0 > 60_000) throw new Error(`#${v} did not load in 60 s`);
            await new Promise((res) => setTimeout(res, 2));
          }
          await frame();
          const total = performance.now() - t0;
          const api = performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/api/bans')).pop();
          performance.clearResourceTimings();
          const rows = document.querySelectorAll('#bans tbody tr').length;
          const more = document.getElementById('ban-more');
          let all = null;
          if (v === 'bans' && more && !more.hidden) {
            const t1 = performance.now();
            more.click();
            await frame();
            all = { ms: performance.now() - t1, rows: document.querySelectorAll('#bans tbody tr').length };
          }
          return { total, fetch: api ? api.responseEnd - api.startTime : NaN, rows, all };
        }, view);
        if (view === 'bans') {
          times.push(r.total);
          fetches.push(r.fetch);
          rows = r.rows;
          if (r.all) {
            showAll.push(r.all.ms);
            allRows = r.all.rows;
          }
        }
      }
    }
    return { ms: median(times), fetchMs: median(fetches), rows, showAllMs: showAll.length ? median(showAll) : null, allRows };
  } finally {
    await ctx.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/**
 * The whole section: floor (no ban) and 1,000 bans. Returns the figures, or throws with why.
 * `n` requests per figure (median).
 */
export async function webLatency({ bans = 1000, n = 9, log = () => undefined } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-web-'));
  let f2b = null;
  let web = null;
  let c = null;
  try {
    f2b = startFail2ban(dir);
    web = await startWeb(f2b.root);
    c = client(web.url, web.token);
    await settleDoctor(c);
    const bare = median(Array.from({ length: 5 }, () => f2b.client(['status', JAIL]).ms));
    log(`web: floor (no ban), ${n} requests per figure`);
    const empty = await measure(c, n);
    const emptyPage = await pageLoad(web, 5);

    log(`web: ${bans} bans from ${bans * 3} log lines`);
    const t0 = Date.now();
    const lines = [];
    for (let i = 0; i < bans; i++) for (let k = 0; k < 3; k++) lines.push(asteriskLine(String(1000 + ((i * 7 + k) % 300)), banAddress(i)));
    appendFileSync(f2b.log, `${lines.join('\n')}\n`);
    for (;;) {
      const st = f2b.client(['status', JAIL]).stdout;
      const now = Number(/Currently banned:\s*(\d+)/.exec(st)?.[1] ?? 0);
      if (now >= bans) break;
      if (Date.now() - t0 > 180_000) throw new Error(`only ${now} of ${bans} bans after 180 s`);
      await sleep(500);
    }
    const banSeconds = (Date.now() - t0) / 1000;
    const bareFull = median(Array.from({ length: 5 }, () => f2b.client(['status', JAIL]).ms));
    const bareBanip = median(Array.from({ length: 5 }, () => f2b.client(['get', JAIL, 'banip', '--with-time']).ms));
    // What one refresh asks, as separate fail2ban-client calls (the fail2rest way): median of 3.
    const REFRESH = [['version'], ['status'], ['status', JAIL], ['get', JAIL, 'banip', '--with-time'], ['get', JAIL, 'bantime'], ['get', JAIL, 'findtime'], ['get', JAIL, 'maxretry'], ['get', JAIL, 'ignoreip']];
    // What one set of Overview verdicts costs: the CLI's doctor without the ban test, on the
    // same fail2ban (its log now 3,000 lines: fail2ban-regex over the last 2,000), median of 3.
    const doctorRuns = Array.from({ length: 3 }, () => timed(process.execPath, [CLI, 'doctor', '--root', f2b.root, '--socket', f2b.sock, '--no-ban-test', '--json'], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } }));
    const doctorMs = median(doctorRuns.map((r) => r.ms));
    const doctorVerdict = (() => {
      try {
        return JSON.parse(doctorRuns[0].stdout).verdict;
      } catch {
        return `exit ${doctorRuns[0].status}`;
      }
    })();
    const perCall = median(Array.from({ length: 3 }, () => REFRESH.reduce((t, cmd) => t + f2b.client(cmd).ms, 0)));
    log(`web: ${bans} banned in ${banSeconds.toFixed(1)} s; measuring`);
    const full = await measure(c, n);
    const bansBody = JSON.parse((await c.get('/api/bans')).body.toString());
    const fullPage = await pageLoad(web, 5);
    return { bans, listed: bansBody.bans.length, withLines: bansBody.bans.filter((b) => b.lines.length).length, banSeconds, bare, bareFull, bareBanip, perCall, refreshCommands: REFRESH.length, doctorMs, doctorVerdict, empty, full, emptyPage, fullPage, n };
  } finally {
    c?.close();
    if (web?.proc.exitCode === null) {
      web.proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => web.proc.once('exit', r)), sleep(10_000)]);
      if (web.proc.exitCode === null) web.proc.kill('SIGKILL');
    }
    f2b?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node scripts/bench/web.mjs (after npm run build) prints the figures as JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await webLatency({ log: (...a) => console.error(...a), n: Number(process.env.BENCH_WEB_N ?? 9) });
  console.log(JSON.stringify(r, null, 2));
}
