/**
 * doctor for one jail: its log files, what its service really writes (asked of the service's
 * module), the filter over the last lines, the admin's whitelist entry, the ban round trip.
 */
import type { Context } from '../context.ts';
import type { DoctorFail2ban, JailSettings } from '../adapters/fail2ban.ts';
import { lastLines } from '../adapters/log-tail.ts';
import type { HostFacts } from '../core/facts.ts';
import { getIniValue } from '../core/ini-edit.ts';
import type { ServiceModule } from '../core/services/types.ts';
import { banRoundTrip } from './ban-test.ts';
import { adminCheck, filterCheck, logFileCheck, logSourceCheck, openLogCheck, wouldBan } from '../core/doctor/checks.ts';
import { countFailureLines, jailModule, jailOwner } from '../core/doctor/failures.ts';
import { countAddresses, parseRegexSummary } from '../core/doctor/parse.ts';
import { jailVerdict, type DoctorCheck, type DoctorOptions, type JailDoctor } from '../core/doctor/report.ts';

/** The socket journald listens on: where it runs, it exists. */
const JOURNALD_SOCKET = '/run/systemd/journal/socket';

/** What every jail's check shares within one doctor run. */
export interface DoctorRun {
  ctx: Context;
  options: DoctorOptions;
  f2b: DoctorFail2ban;
  running: boolean;
  /** Each jail's running settings (fail2ban running), asked at once. */
  settings: Map<string, JailSettings>;
  jailLocal: string;
  admin: string | null;
  /** Logs the tool created for its jails: a re-run creates them again (the fix may say so). */
  toolLogs: Set<string>;
  /** ignoreip when fail2ban does not run: jail.local's, with the loopback. */
  defaultIgnore: string[];
  scratch: { write(name: string, text: string): Promise<string> };
  /** The host's facts (configuration files under the root), gathered once. */
  hostFacts(): Promise<HostFacts>;
  /** The facts of the running services (live host only), gathered once. */
  runningFacts(): Promise<HostFacts | null>;
  /** A process's open files, read once per pid. */
  openFiles(pid: number): string[] | null;
}

/** A jail as doctor sees it: what fail2ban uses (or, when it is down, what jail.local says). */
interface JailView {
  jail: string;
  filter: string;
  /** The service's name for messages (its module's), else the jail's. */
  label: string;
  owner: ServiceModule | undefined;
  module: ServiceModule | undefined;
  logFiles: string[];
  ignoreip: string[];
  maxretry: number;
  actions: string[];
}

async function viewOf(run: DoctorRun, jail: string): Promise<JailView> {
  const { jailLocal } = run;
  const iniFilter = getIniValue(jailLocal, jail, 'filter');
  const filter = iniFilter && !iniFilter.includes('%(') ? iniFilter : jail;
  const module = jailModule(jail, filter);
  const view: JailView = { jail, filter, label: module?.name ?? jail, owner: jailOwner(jail), module, logFiles: [], ignoreip: run.defaultIgnore, actions: [], maxretry: Number(getIniValue(jailLocal, jail, 'maxretry') ?? getIniValue(jailLocal, 'DEFAULT', 'maxretry') ?? 5) || 5 };
  const s = run.settings.get(jail);
  if (run.running && s) {
    return { ...view, logFiles: s.logpath, ignoreip: s.ignoreip, maxretry: s.maxretry ?? view.maxretry, actions: s.actions };
  }
  // What fail2ban would read: its own reading of the configuration, else jail.local's logpath.
  const lp = getIniValue(jailLocal, jail, 'logpath');
  return { ...view, logFiles: (await run.f2b.configDump()).logpaths.get(jail) ?? (lp && !lp.includes('%(') ? lp.split(/\s+/).filter(Boolean) : []) };
}

/** 3a. The log files: present, written lately (or, with none, what the jail's backend reads). The present ones. */
async function logChecks(run: DoctorRun, v: JailView, checks: DoctorCheck[]): Promise<string[]> {
  const { ctx } = run;
  if (!v.logFiles.length) {
    // fail2ban drops a file it can no longer open from a polling jail's list (after ~50 failed
    // reads): then the jail reads nothing at all, and only its configured backend tells.
    const d = await run.f2b.configDump();
    checks.push(logSourceCheck(v.jail, d.backends.get(v.jail), await ctx.fs.exists(JOURNALD_SOCKET), v.label, d.error, v.module?.doctorFixes?.logFile));
  }
  const present: string[] = [];
  for (const f of v.logFiles) {
    const st = await ctx.fs.stat(f);
    checks.push(logFileCheck(f, st ? { size: st.size, mtimeMs: st.mtimeMs, isFile: st.isFile } : null, ctx.now().getTime(), v.label, run.toolLogs.has(f)));
    if (st?.isFile) present.push(f);
  }
  return present;
}

/** The first pid file (target path) naming a live process; null when none does. */
async function firstLivePid(run: DoctorRun, pidFiles: string[]): Promise<number | null> {
  for (const f of pidFiles) {
    const pid = Number.parseInt((await run.ctx.fs.readText(f))?.trim() ?? '', 10);
    if (Number.isInteger(pid) && pid > 0 && run.openFiles(pid) !== null) return pid;
  }
  return null;
}

/** 3b. The files the service really writes: its module's own checks (a jail it owns). */
async function serviceChecks(run: DoctorRun, v: JailView, checks: DoctorCheck[]): Promise<void> {
  const m = v.owner;
  if (!m) return;
  if (m.doctorSource) {
    const facts = await run.hostFacts();
    const texts = new Map<string, string | null>();
    for (const p of m.doctorReads?.(facts) ?? []) texts.set(p, await run.ctx.fs.readText(p));
    checks.push(m.doctorSource({ facts, logFiles: v.logFiles, files: { read: (p) => texts.get(p) ?? null } }));
  }
  const now = m.doctorLive || m.doctorWriter ? await run.runningFacts() : null;
  if (!now) return;
  // The running service holds the logs it writes open: a channel not reloaded is not.
  const writer = m.doctorWriter?.(now);
  const written = writer ? v.logFiles.filter((f) => writer.writes?.(f) ?? true) : [];
  if (writer && written.length) {
    const pid = await firstLivePid(run, writer.pidFiles);
    const open = pid === null ? null : run.openFiles(pid);
    if (pid !== null && open !== null) {
      checks.push(openLogCheck(m.label, pid, written.map((f) => run.ctx.fs.real(f)), open, `make ${m.label} reopen its logs${writer.reopen ? ` (${writer.reopen})` : ''}, then run doctor again`));
    }
  }
  const probe = m.doctorLive?.(now) ?? null;
  const live = probe && (probe.sends !== true || run.options.probes !== false) ? probe : null;
  if (!live) return;
  const r = await run.ctx.run(live.command);
  checks.push(
    r.exitCode === 0
      ? live.check(r.stdout, v.logFiles)
      : { name: `${v.label} answers`, verdict: 'warning', detail: `${live.command.cmd} ${live.command.args.join(' ')} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`, fix: `check that ${v.label} runs` },
  );
}

/** 3c. The filter, run by the real fail2ban-regex over the last lines of the live logs. */
async function filterChecks(run: DoctorRun, v: JailView, present: string[], result: JailDoctor): Promise<void> {
  const { ctx } = run;
  const lines: string[] = [];
  for (const f of present) lines.push(...((await lastLines(ctx.fs.real(f), run.options.lines)) ?? []));
  const sample = await run.scratch.write(`${v.jail.replace(/[^\w.-]/g, '_')}.log`, lines.map((l) => `${l}\n`).join(''));
  const base = ['-c', run.f2b.confDir ?? '/etc/fail2ban', '--usedns=no', '-e', 'UTF-8'];
  const env = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
  const summaryRun = await ctx.run({ cmd: 'fail2ban-regex', args: [...base, '--print-no-missed', '--print-no-ignored', sample, v.filter], env, timeoutMs: 120000 });
  const summary = summaryRun.exitCode === 0 ? parseRegexSummary(summaryRun.stdout) : null;
  const error = summaryRun.exitCode !== 0 ? ((summaryRun.stderr || summaryRun.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${summaryRun.exitCode}`) : null;
  const failures = countFailureLines(v.module?.doctorExpects?.(v.jail, v.filter), lines);
  result.failureLines = failures;
  result.checks.push(filterCheck(summary, error, failures.expected, v.filter, failures.skipped, v.module?.doctorFixes?.timeStamp));
  if (!summary) return;
  result.matches = summary.regexes;
  if (summary.matched === 0) {
    result.wouldBan = [];
    return;
  }
  const ips = await ctx.run({ cmd: 'fail2ban-regex', args: [...base, '-o', '<ip>', sample, v.filter], env, timeoutMs: 120000 });
  if (ips.exitCode === 0) result.wouldBan = wouldBan(countAddresses(ips.stdout), v.maxretry, v.ignoreip);
}

/** 3. One jail. */
export async function checkJail(run: DoctorRun, jail: string): Promise<JailDoctor> {
  const v = await viewOf(run, jail);
  const checks: DoctorCheck[] = [];
  const present = await logChecks(run, v, checks);
  await serviceChecks(run, v, checks);
  const result: JailDoctor = { jail, verdict: 'ok', logFiles: v.logFiles, checks };
  if (present.length) await filterChecks(run, v, present, result);
  // 3d. The admin's own address.
  const a = adminCheck(run.admin, v.ignoreip);
  if (a) checks.push(a);
  // 3e. The ban round trip.
  if (run.running && run.options.banTest) checks.push(await banRoundTrip(run.ctx, run.f2b, jail, v.ignoreip, v.actions, run.options.compact === true));
  else if (run.running) checks.push({ name: 'ban round trip', verdict: 'ok', detail: 'skipped (--no-ban-test)' });
  result.verdict = jailVerdict(checks);
  return result;
}
