#!/usr/bin/env node
// `npm run bench`: performance figures of the filters and the CLI, each beside its reference
// measured in the same run. Prints a table (Markdown) and exits 0; it never fails CI and is not
// part of `npm test`. Results and the machine they came from: docs/BENCHMARKS.md.
//
// Env: BENCH_LINES (default 200000), BENCH_HOST=0 to skip the steps that change this machine
// (real-host no-op re-run, package step: purge + fresh install), BENCH_ONLY=a,b to run only some
// sections (throughput, worst, startup, noop, host, ban, fleet, sets, web, scanner); BENCH_FLEET_RUNS (default 3).
// BENCH_SETS_REF_RESTORE (default 1000): bans in the database for the stock actions' restart
// figure (10,000 takes them minutes). BENCH_WEB_BANS (default 1000), BENCH_WEB_N (default 9):
// bans and requests per figure of the web view section.
import { $ } from 'zx';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { timeToBan } from './bench/ban.mjs';
import { actionReturn, fleetPropagation, POLL } from './bench/fleet.mjs';
import { measureAction } from './bench/sets.mjs';
import { hostBlocker, hostSteps, noopRoot, CLI } from './bench/host.mjs';
import { fail2banRegex, fail2banRegexFailures, fmtInt, fmtMs, machine, median, REPO, repeat, timed } from './bench/lib.mjs';
import { generateLog } from './bench/loggen.mjs';
import { worstCases } from './bench/worst.mjs';
import { webLatency } from './bench/web.mjs';
import { scannerFigures } from './bench/scanner.mjs';

$.verbose = false;
const started = Date.now();
const LINES = Number(process.env.BENCH_LINES ?? 200_000);
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : null;
const want = (s) => !ONLY || ONLY.has(s);
const tmp = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-'));
process.once('exit', () => rmSync(tmp, { recursive: true, force: true }));
const log = (...a) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s]`, ...a);
const ok = (b) => (b ? 'met' : '**missed**');
const rows = []; // [section, measure, ours, reference, target, verdict]
const notes = [];
const row = (...r) => rows.push(r);

const empty = join(tmp, 'empty.log');
writeFileSync(empty, '');
const startupCache = new Map();
/** fail2ban-regex start-up (Python, config, filter compile) with `filter`: median of n over an empty log. */
function startup(filter, n = 5) {
  if (!startupCache.has(filter)) startupCache.set(filter, median(repeat(n, () => fail2banRegex(empty, filter).ms, 1)));
  return startupCache.get(filter);
}

// ---------------------------------------------------------------------------------------------
// 1. Filter throughput
if (want('throughput')) {
  for (const [service, ours, stock] of [
    ['asterisk', 'voip-asterisk', 'asterisk'],
    ['freeswitch', 'voip-freeswitch', 'freeswitch[mode=normal]'],
  ]) {
    const path = join(tmp, `${service}.log`);
    const truth = generateLog(service, path, LINES);
    log(`throughput ${service}: ${truth.attack} attack, ${truth.benign} benign, ${truth.injection} injection lines, ${truth.attackers.size} attackers`);
    const res = {};
    // interleave ours and stock (ABAB...) so that load from other processes hits both alike
    const pairs = repeat(3, () => [fail2banRegex(path, ours), fail2banRegex(path, stock)]);
    for (const [who, filter] of [['ours', ours], ['stock', stock]]) {
      const su = startup(filter);
      const runs = pairs.map((p) => p[who === 'ours' ? 0 : 1]);
      const wall = median(runs.map((r) => r.ms));
      const own = median(runs.map((r) => r.ownMs));
      const failures = fail2banRegexFailures(path, filter);
      const injected = failures.filter((f) => f.ip.startsWith('203.0.113.')).map((f) => f.ip);
      const kinds = { attack: new Set(), injection: new Set(), benign: new Set(), unknown: new Set() };
      for (const f of failures) kinds[truth.kindOf.get(f.msg) ?? 'unknown'].add(f.msg);
      res[who] = { filter, su, wall, own, lps: LINES / ((wall - su) / 1000), lpsOwn: LINES / (own / 1000), matched: runs[0].matched, attackMatched: kinds.attack.size, injectionMatched: kinds.injection.size, benignMatched: kinds.benign.size, unknown: kinds.unknown.size, injected: injected.length, injectedDistinct: new Set(injected).size };
      log(`  ${filter}: wall ${fmtMs(wall)}, own ${fmtMs(own)}, start-up ${fmtMs(su)}, matched ${runs[0].matched}, injected ${injected.length}`);
    }
    const o = res.ours;
    const s = res.stock;
    const S = service === 'asterisk' ? 'Asterisk' : 'FreeSWITCH';
    row(`1 ${S}`, `lines/s, wall minus start-up (${fmtInt(LINES)} lines)`, fmtInt(o.lps), `${fmtInt(s.lps)} (stock ${s.filter})`, '≥ stock', ok(o.lps >= s.lps * 0.97));
    row(`1 ${S}`, "lines/s, fail2ban-regex's own time", fmtInt(o.lpsOwn), fmtInt(s.lpsOwn), '≥ stock', ok(o.lpsOwn >= s.lpsOwn * 0.97));
    row(`1 ${S}`, 'wall / start-up (median of 3 / 5)', `${fmtMs(o.wall)} / ${fmtMs(o.su)}`, `${fmtMs(s.wall)} / ${fmtMs(s.su)}`, '', '');
    row(`1 ${S}`, `matched lines, all (fail2ban-regex "matched")`, fmtInt(o.matched), fmtInt(s.matched), '', '');
    row(`1 ${S}`, `genuine attack lines matched (of ${fmtInt(truth.attack)} generated)`, fmtInt(o.attackMatched), fmtInt(s.attackMatched), '≥ stock', ok(o.attackMatched >= s.attackMatched));
    row(`1 ${S}`, `injection lines matched (of ${fmtInt(truth.injection)}) / benign lines matched`, `${fmtInt(o.injectionMatched)} / ${fmtInt(o.benignMatched)}`, `${fmtInt(s.injectionMatched)} / ${fmtInt(s.benignMatched)}`, 'benign 0', ok(o.benignMatched === 0));
    row(`1 ${S}`, `injected addresses extracted (lines / distinct of ${truth.injected.size})`, `${o.injected} / ${o.injectedDistinct}`, `${s.injected} / ${s.injectedDistinct}`, 'ours 0', ok(o.injected === 0));
    res.truth = truth;
    notes.push({ service, res, truth });
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Worst case: one 64 KiB line per regex
if (want('worst')) {
  const cases = worstCases();
  log(`worst case: ${cases.length} lines of 64 KiB`);
  const wlog = join(tmp, 'worst.log');
  let worstOurs = 0;
  for (const c of cases) {
    writeFileSync(wlog, `${c.line}\n`);
    const measure = (filter) => {
      if (!filter) return null;
      const first = fail2banRegex(wlog, filter);
      const n = first.ms > 2000 ? 3 : 5;
      const runs = [first, ...repeat(n - 1, () => fail2banRegex(wlog, filter))];
      const wall = median(runs.map((r) => r.ms));
      return { wall, net: wall - startup(filter), own: median(runs.map((r) => r.ownMs)), matched: runs[0].matched };
    };
    const o = measure(c.ours);
    const s = measure(c.stock);
    worstOurs = Math.max(worstOurs, o.own);
    const fmt = (r) => (r ? `${fmtMs(r.own)} (wall ${fmtMs(r.wall)}, −start-up ${fmtMs(r.net)})` : 'no stock filter');
    row(`2 ${c.service}`, c.target, fmt(o), fmt(s), '< 50 ms', ok(o.own < 50));
  }
  notes.push({ worstOurs });
}

// ---------------------------------------------------------------------------------------------
// 4. Start-up
if (want('startup')) {
  // Interleaved (bare, --help, --version, bare, …) so that load from other processes hits all alike.
  const runs = repeat(15, () => [timed(process.execPath, ['-e', '0']).ms, timed(process.execPath, [CLI, '--help']).ms, timed(process.execPath, [CLI, '--version']).ms], 2);
  const bare = median(runs.map((r) => r[0]));
  const help = median(runs.map((r) => r[1]));
  const version = median(runs.map((r) => r[2]));
  // The ratio is the median of each round's own ratio: a round's runs are back to back, so a
  // slow spell of this machine (it swings ±30% within a minute) weighs on both sides of it.
  const helpRatio = median(runs.map((r) => r[1] / r[0]));
  const versionRatio = median(runs.map((r) => r[2] / r[0]));
  row('4 start-up', '`voip-f2b-install --help` wall (median of 15 rounds; ratio: median of the rounds\' ratios)', `${fmtMs(help)} (${helpRatio.toFixed(2)}×)`, `${fmtMs(bare)} (node -e 0)`, '≤ 1.5× node -e 0', ok(helpRatio <= 1.5));
  row('4 start-up', '`voip-f2b-install --version` wall (same rounds)', `${fmtMs(version)} (${versionRatio.toFixed(2)}×)`, `${fmtMs(bare)} (node -e 0)`, '≤ 1.5× node -e 0', ok(versionRatio <= 1.5));
}

/** The no-op re-run's wall rows: against bare node (the target) and against its floor (for reference). */
function noopRows(section, r) {
  row(section, 'wall (median of 15 rounds, each the re-run, bare node, its floor; ratio: median of the rounds\' ratios)', `${fmtMs(r.ms)} (${r.ratio.toFixed(2)}×)`, `${fmtMs(r.bareMs)} (node -e 0)`, '≤ 2× node -e 0', ok(r.ratio <= 2));
  row(section, 'wall against its floor (same rounds)', `${r.floorRatio.toFixed(2)}×`, `${fmtMs(r.floorMs)} (node + same ${r.files} file checks)`, '', '');
}

// ---------------------------------------------------------------------------------------------
// 3. No-op re-run over a provisioned temp root
if (want('noop')) {
  log('no-op re-run over --root');
  const r = noopRoot(15);
  noopRows('3 no-op --root', r);
  row('3 no-op --root', 'processes started', String(r.procs), '0', '0', r.procs ? `**missed**: ${r.progs.join(', ')}` : 'met');
}

// ---------------------------------------------------------------------------------------------
// 6 + 3. Real host: package step (purge, fresh install under strace), no-op re-run, restore
if (want('host')) {
  const blocker = hostBlocker();
  if (blocker) {
    log(`real-host steps skipped: ${blocker}`);
    row('3/6 host', 'real-host steps', 'skipped', '', '', blocker);
  } else {
    log('real host: purge fail2ban, fresh install through the CLI, no-op re-runs, uninstall, restore');
    const h = hostSteps(15);
    const f = h.fresh;
    if (f) {
      row('6 packages', 'dry-run `packageCommands` on the fresh host', String(f.planned.length), '', '', f.planned.map((c) => (Array.isArray(c) ? c.join(' ') : JSON.stringify(c))).join('; '));
      row('6 packages', 'apt-get calls in a real fresh install (strace)', `${f.aptGet} (${f.aptInstall} install, ${f.aptUpdate} update)`, `${f.dpkg} dpkg, ${f.procs} processes in all`, '1 install, ≤ 1 update', ok(f.aptInstall === 1 && f.aptUpdate <= 1));
      row('6 packages', 'fresh install wall (packages, config, fail2ban start)', fmtMs(f.ms), '', '', '');
    }
    const r = h.noop;
    if (r) {
      noopRows('3 no-op host', r);
      row('3 no-op host', 'processes started', String(r.procs), '0', '0', r.procs ? `**missed**: ${[...new Set(r.progs)].map((p) => `${p} ×${r.progs.filter((x) => x === p).length}`).join(', ')}` : 'met');
    }
    row('3/6 host', 'host restored (uninstall, fail2ban stopped, fail2ban config dir as found)', h.restored ? 'yes' : 'NO', '', '', '');
  }
}

// ---------------------------------------------------------------------------------------------
// 5. Time to ban
if (want('ban')) {
  if (process.getuid?.() !== 0) {
    row('5 time to ban', 'all backends', 'skipped', '', '', 'not root');
  } else {
    for (const backend of ['pyinotify', 'auto', 'polling']) {
      log(`time to ban: ${backend}`);
      const r = timeToBan(backend, 5);
      const med = median(r.times);
      const target = backend === 'auto' ? '≤ 1 s' : '';
      row('5 time to ban', `backend ${backend} (fail2ban used: ${r.used}); median, [min–max] of 5`, `${fmtMs(med)} [${fmtMs(Math.min(...r.times))}–${fmtMs(Math.max(...r.times))}]`, backend === 'auto' ? 'pyinotify row' : '', target, backend === 'auto' ? ok(med <= 1000 && Math.max(...r.times) <= 1000) : '');
      if (!r.chainRemovedByFail2ban) notes.push({ chainLeft: backend });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 7. CrowdSec fleet: propagation of a ban between two PBXs, and the action's return time
if (want('fleet')) {
  const a = actionReturn(10);
  row('7 fleet', '`voip-f2b-crowdsec ban` (the action) with the LAPI unreachable, median of 10', `${fmtMs(a.ours)} (max ${fmtMs(a.max)})`, `${fmtMs(a.bare)} (python3 -c pass)`, 'returns at once', ok(a.max < 1000));
  if (process.getuid?.() !== 0) row('7 fleet', 'propagation', 'skipped', '', '', 'not root');
  else {
    const n = Number(process.env.BENCH_FLEET_RUNS ?? 3);
    log(`fleet: ${n} run(s) of test/real/40-crowdsec-fleet.test.ts`);
    const f = fleetPropagation(n);
    const s = (xs) => (xs.length ? `${median(xs).toFixed(1)} s [${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}]` : 'no figure');
    row('7 fleet', `ban on pbx1 → dropped on pbx2; median [min–max] of ${f.ban.length}`, s(f.ban), `bouncer poll interval ${POLL}`, '≤ 15 s', ok(f.ban.length > 0 && Math.max(...f.ban) <= 15));
    row('7 fleet', 'unban on pbx1 → lifted on pbx2', s(f.unban), `bouncer poll interval ${POLL}`, '', '');
    row('7 fleet', 'LAPI back → queued ban dropped on pbx2 (pusher retry backoff 1-30 s)', s(f.catchUp), '', '', f.failed ? `${f.failed} run(s) failed` : '');
  }
}

// ---------------------------------------------------------------------------------------------
// 8. Ban actions at scale (private fail2ban-server in its own network namespace)
if (want('sets')) {
  if (process.getuid?.() !== 0) {
    row('8 ban actions', 'all', 'skipped', '', '', 'not root');
  } else {
    const refRestore = Number(process.env.BENCH_SETS_REF_RESTORE ?? 1000);
    const r = {};
    for (const [name, opts] of [
      ['voip-f2b-nftset.py', { restoreN: 10_000, v6: true }],
      ['iptables-allports', { restoreN: refRestore, v6: true, maxMs: 120_000 }],
      ['nftables-allports', { restoreN: refRestore, v6: true, maxMs: 120_000 }],
      ['voip-f2b-ipset.py', { restoreN: 10_000, v6: true }],
      ['iptables-ipset-proto6-allports', { restoreN: refRestore, v6: true, maxMs: 120_000 }],
    ]) {
      log(`ban actions: ${name}`);
      try {
        r[name] = measureAction(name, opts);
      } catch (e) {
        log(`  ${name} failed: ${e.message}`);
        r[name] = null;
      }
    }
    const refs = ['iptables-allports', 'nftables-allports'];
    const ms = (x) => (x && Number.isFinite(x.ms) ? fmtMs(x.ms) : x ? `not done (${fmtInt(x.count)} in)` : 'failed');
    const refText = (f) => refs.map((n) => `${n} ${r[n] ? f(r[n]) : 'failed'}`).join('; ');
    const flat = (x) => x && x.pps[10000] >= 0.8 * x.pps[10];
    const ppsText = (x) => (x ? [10, 1000, 10000].map((n) => fmtInt(x.pps[n])).join(' / ') : 'failed');
    for (const ours of ['voip-f2b-nftset.py', 'voip-f2b-ipset.py']) {
      const o = r[ours];
      const T = `8 ${ours}`;
      row(T, '1,000 IPv4 addresses banned at once (one `banip`), until all are in the firewall', ms(o?.ban1000), refText((x) => ms(x.ban1000)), '≤ 2 s', ok(o && o.ban1000.ms <= 2000));
      row(T, '1,000 IPv6 addresses banned at once', ms(o?.ban1000v6), refText((x) => ms(x.ban1000v6)), '≤ 2 s', ok(o && o.ban1000v6.ms <= 2000));
      row(T, 'UDP packets/s through the ruleset, 10 / 1,000 / 10,000 banned', ppsText(o), refText(ppsText), 'flat (10,000 ≥ 80 % of 10)', ok(flat(o)));
      row(T, 'unban of one address among 10 / 10,000 (the firewall command, median of 5)', o ? `${fmtMs(o.unban[10])} / ${fmtMs(o.unban[10000])}` : 'failed', refText((x) => `${fmtMs(x.unban[10])} / ${fmtMs(x.unban[10000])}`), 'O(1)', ok(o && o.unban[10000] <= 2 * o.unban[10] + 5));
      row(T, 'restart with 10,000 bans in the database, until all are back in the firewall', ms(o?.restart), refText((x) => `${ms(x.restart)} with ${fmtInt(refRestore)}`), '≤ 10 s', ok(o && o.restart.ms <= 10_000));
    }
    const st = r['iptables-ipset-proto6-allports'];
    if (st) row('8 stock ipset', 'iptables-ipset-proto6-allports: 1,000 at once / IPv6 / restart with ' + fmtInt(refRestore), `${ms(st.ban1000)} / ${ms(st.ban1000v6)} / ${ms(st.restart)}`, `packets/s ${ppsText(st)}`, '', '');
  }
}

// ---------------------------------------------------------------------------------------------
// 9. Web view: API and page latency with 1,000 banned addresses (private fail2ban, no firewall)
if (want('web')) {
  try {
    const bans = Number(process.env.BENCH_WEB_BANS ?? 1000);
    const w = await webLatency({ bans, n: Number(process.env.BENCH_WEB_N ?? 9), log });
    const N = fmtInt(w.bans);
    const ref = (p, k) => `${fmtMs(w.empty[p][k].serverMs)} with 0 bans`;
    const both = (x) => `${fmtMs(x.serverMs)} (round trip ${fmtMs(x.ms)})`;
    const b = w.full['/api/bans'];
    row('9 web', `GET /api/bans, ${N} bans, right after a change (waits for one refresh of fail2ban's state): server time, median of ${w.n}`, both(b.changed), `${ref('/api/bans', 'changed')}; one \`fail2ban-client status\` ${fmtMs(w.bareFull)}, one \`get banip --with-time\` ${fmtMs(w.bareBanip)}; the refresh's ${w.refreshCommands} commands as separate \`fail2ban-client\` calls ${fmtMs(w.perCall)} (without the database)`, '≤ 300 ms', ok(b.changed.serverMs <= 300));
    row('9 web', `GET /api/bans, ${N} bans, snapshot older than 2 s (answered from it, refreshed in the background)`, both(b.expired), ref('/api/bans', 'expired'), '≤ 300 ms', ok(b.expired.serverMs <= 300));
    row('9 web', `GET /api/bans, ${N} bans, snapshot fresh (${fmtInt(b.fresh.bytes / 1024)} KiB of JSON)`, both(b.fresh), ref('/api/bans', 'fresh'), '≤ 300 ms', ok(b.fresh.serverMs <= 300));
    const three = (p) => ['changed', 'expired', 'fresh'].map((k) => fmtMs(w.full[p][k].serverMs)).join(' / ');
    const threeRef = (p) => ['changed', 'expired', 'fresh'].map((k) => fmtMs(w.empty[p][k].serverMs)).join(' / ');
    row('9 web', 'GET /api/jails (overview; doctor verdicts from their own cache), server time: after a change / expired / fresh', three('/api/jails'), `${threeRef('/api/jails')} with 0 bans`, '', '');
    row('9 web', 'GET /api/history (24 h, 30 days, top users and networks, audit log), server time: after a change / expired / fresh', three('/api/history'), `${threeRef('/api/history')} with 0 bans`, '', '');
    row('9 web', `\`doctor --no-ban-test\` on that fail2ban (1 jail, fail2ban-regex over the last 2,000 of 3,000 lines): what the Overview's verdicts cost, once a minute in the background`, `${fmtMs(w.doctorMs)} (verdict ${w.doctorVerdict})`, `GET /api/jails with the verdicts: ${fmtMs(w.full['/api/jails'].fresh.serverMs)}`, '', '');
    row('9 web', 'GET / (the page: static, from memory), round trip', fmtMs(w.full.page.ms), `${fmtMs(w.empty.page.ms)} with 0 bans`, '', '');
    if (w.fullPage) {
      row('9 web', `Bans view in Chromium, ${N} bans: hash change to the newest ${fmtInt(w.fullPage.rows)} rows painted (of which its /api/bans fetch), median of 5`, `${fmtMs(w.fullPage.ms)} (${fmtMs(w.fullPage.fetchMs)})`, `${fmtMs(w.emptyPage.ms)} (${fmtMs(w.emptyPage.fetchMs)}) with 0 bans`, '', '');
      if (w.fullPage.showAllMs !== null) row('9 web', `… then "Show all": ${fmtInt(w.fullPage.allRows)} rows painted`, fmtMs(w.fullPage.showAllMs), '', '', '');
    }
    row('9 web', `${N} bans made by ${fmtInt(w.bans * 3)} log lines (maxretry 3), until fail2ban lists them all`, `${w.banSeconds.toFixed(1)} s`, `${fmtInt(w.listed)} listed by the API, ${fmtInt(w.withLines)} with their log lines`, '', '');
  } catch (e) {
    log(`web: failed: ${e.message}`);
    row('9 web', 'all', 'failed', '', '', e.message.split('\n')[0]);
  }
}

// ---------------------------------------------------------------------------------------------
// 10. A real scanner against the real servers: guesses it gets, time to the pause and the ban
if (want('scanner')) {
  for (const [server, S] of [['asterisk', 'Asterisk 22'], ['freeswitch', 'FreeSWITCH 1.10']]) {
    try {
      log(`scanner: ${S} (its real test, 10 svcrack runs and 3 against a plain jail)`);
      const { ours, plain } = scannerFigures(server, tmp);
      const cracked = plain.filter((p) => p.cracked).length;
      const plainRef = `plain jail (no guard): ${plain.map((p) => p.guesses).join(', ')} guesses, cracked in ${cracked} of ${plain.length} runs`;
      row(`10 ${S}`, 'svcrack guesses answered (the right password 30th), median / worst of 10 runs', `${median(ours.guesses)} / ${Math.max(...ours.guesses)}`, plainRef, '< 30, never cracked', ok(Math.max(...ours.guesses) < 30));
      if (ours.pauseMs) row(`10 ${S}`, 'first failure to the pause (the last answered guess of its first burst), median / worst', `${fmtMs(median(ours.pauseMs))} / ${fmtMs(Math.max(...ours.pauseMs))}`, "fail2ban's own read and ban: up to 0.2 s + 0.8 s", '', '');
      row(`10 ${S}`, 'first failure to the ban (5 counted failures, one per 2 s pause), median / worst', `${fmtMs(median(ours.banMs))} / ${fmtMs(Math.max(...ours.banMs))}`, '', '', '');
    } catch (e) {
      log(`scanner ${server}: failed: ${e.message}`);
      row(`10 ${S}`, 'all', 'failed', '', '', e.message.split('\n')[0]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
const m = machine();
const elapsed = (Date.now() - started) / 1000;
const esc = (s) => String(s).replaceAll('|', '\\|');
const out = [];
out.push(`Machine: ${m.cores} cores, ${m.memory}, ${m.cpu}; ${m.os}, kernel ${m.kernel}; Node ${m.node}; ${m.fail2ban}; ${m.python}; ${m.iptables}`);
out.push('');
out.push('| # | measure | ours | reference (same run) | target | verdict |');
out.push('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) out.push(`| ${r.map(esc).join(' | ')} |`);
out.push('');
for (const n of notes) {
  if (n.service) {
    const { res, truth } = n;
    out.push(`${n.service}: ${fmtInt(truth.lines)} lines = ${fmtInt(truth.attack)} attack lines from ${truth.attackers.size} addresses, ${fmtInt(truth.benign)} benign, ${fmtInt(truth.injection)} injection attempts (${truth.injected.size} forged addresses). ours ${res.ours.filter}: ${fmtInt(res.ours.matched)} matched; stock ${res.stock.filter}: ${fmtInt(res.stock.matched)} matched, of which ${fmtInt(res.stock.injected)} gave a forged address.`);
  }
  if (n.chainLeft) out.push(`time to ban ${n.chainLeft}: fail2ban left its chain behind; the bench removed it.`);
}
out.push(`Bench runtime: ${elapsed.toFixed(0)} s`);
console.log(out.join('\n'));
