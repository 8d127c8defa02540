import path from 'node:path';
import type { Context } from '../context.ts';
import { lastLines } from '../adapters/log-tail.ts';
import type { DoctorReport } from '../core/doctor/report.ts';
import {
  WATCH_STATE,
  WATCH_SYSLOG_TAG,
  attackProblems,
  officeProblems,
  banSetProblems,
  clean,
  diffProblems,
  formatAlert,
  nextState,
  parseWatchState,
  problemsFromDoctor,
  syslogLines,
  type JailBans,
  type WatchChanges,
  type WatchMail,
  type WatchProblem,
} from '../core/doctor/watch.ts';
import { UnsupportedError } from '../errors.ts';
import { activeJails, askContext, jailStatusOf } from '../adapters/fail2ban.ts';
import { fail2banJailFiles } from '../adapters/facts.ts';
import { existingJails } from '../core/pbx-distro-jails.ts';

export interface WatchOptions {
  /** One round of checks, then exit (what the timer and cron run); else a round every `interval` seconds. */
  once: boolean;
  interval: number;
  /** Mail changes here (install --email puts it on the timer's command line). */
  mail?: WatchMail;
  /** Lines of each log the filter check reads. */
  lines: number;
  json: boolean;
}

export interface WatchReport {
  command: 'watch';
  checkedAt: string;
  /** broken when any problem is, warning when only warnings, ok when none. */
  verdict: 'ok' | 'warning' | 'broken';
  problems: WatchProblem[];
  /** What changed since the last report (only this was alerted). */
  raised: WatchProblem[];
  cleared: WatchProblem[];
  /** Where the change was told: syslog, mail to …; empty when nothing changed. */
  alerted: string[];
  warnings: string[];
}

/**
 * `watch`: the checks that touch nothing (doctor without its ban test and without probes, the
 * ban sets and their firewall rules, accounts under attack), compared with what was last reported
 * (the state file); a change is told to syslog, by mail with --email, and (through the state file)
 * in the web view. `--once` is one round (the timer's and cron's way); without it, a round every
 * --interval until stopped.
 */
export async function watch(options: WatchOptions, ctx: Context): Promise<WatchReport> {
  if (ctx.live && ctx.uid !== 0) throw new UnsupportedError("watch must run as root: fail2ban's socket and the firewall are root's", 'run it with sudo');
  for (;;) {
    const r = await watchOnce(options, ctx);
    if (options.once) return r;
    if (!options.json) ctx.log.out(formatWatchReport(r));
    await new Promise((res) => setTimeout(res, options.interval * 1000));
  }
}

/** One round: check, compare, tell, remember. */
export async function watchOnce(options: WatchOptions, ctx: Context): Promise<WatchReport> {
  const warnings: string[] = [];
  const now = ctx.now();
  // 1. doctor's checks that touch nothing: no test ban, no probe sent to the service.
  const { doctor } = await import('./doctor.ts');
  const report: DoctorReport = await doctor({ banTest: false, probes: false, lines: options.lines, json: true, compact: true }, ctx);
  // The jails fail2ban should run, composed over all its jail files as it does (a jail of the
  // admin's that the tool adopted is switched off in jail.d, not in jail.local).
  const enabled = existingJails(await fail2banJailFiles(ctx)).filter((j) => j.enabled).map((j) => j.name);
  const problems: WatchProblem[] = problemsFromDoctor(report, enabled);

  // 2. The firewall and accounts under attack, from the running server (the live host only).
  if (ctx.live && report.fail2banRunning) {
    // fail2ban over its socket (the one adapter): the jails, their actions, bans and findtime.
    const jails = await activeJails(ctx);
    const asked = await askContext(ctx, jails.flatMap((j) => [['status', j], ['get', j, 'actions'], ['get', j, 'findtime']]), { timeoutMs: 20000 });
    const bans: JailBans[] = [];
    const findtimes = new Map<string, number>();
    jails.forEach((jail, i) => {
      const [status, actions, findtime] = asked.slice(i * 3, i * 3 + 3);
      const names = status?.ok && actions?.ok ? actions.value : [];
      bans.push({ jail, actions: Array.isArray(names) ? names.map((n) => String(n)) : [], banned: status?.ok ? jailStatusOf(jail, status.value).bannedIps : [] });
      const ft = findtime?.ok ? Number(findtime.value) : NaN;
      findtimes.set(jail, Number.isFinite(ft) && ft > 0 ? ft : 600);
    });
    const view = async (cmd: string, args: string[]): Promise<string> => {
      const r = await ctx.run({ cmd, args, timeoutMs: 15000 });
      return r.exitCode === 0 ? r.stdout : '';
    };
    const fw = {
      nft: await view('nft', ['list', 'ruleset']),
      ipset: await view('ipset', ['list']),
      iptables: `${await view('iptables-save', [])}\n${await view('ip6tables-save', [])}`,
    };
    problems.push(...banSetProblems(bans, fw));
    const [lt] = await askContext(ctx, [['get', 'logtarget']]);
    const target = lt?.ok && typeof lt.value === 'string' ? lt.value : undefined;
    if (target?.startsWith('/')) {
      const lines = (await lastLines(ctx.fs.real(target), 2000)) ?? [];
      problems.push(...attackProblems(lines, now.getTime(), (j) => findtimes.get(j) ?? 600));
      problems.push(...officeProblems(lines, now.getTime(), (j) => findtimes.get(j) ?? 600));
    }
  }

  // 3. Compare with the last report; remember this one (root only: it names the weak spots).
  // The state lives in the tool's state directory, which install makes (and uninstall removes).
  const before = parseWatchState(await ctx.fs.readText(WATCH_STATE));
  const changes: WatchChanges = diffProblems(before?.problems ?? [], problems);
  if (await ctx.fs.exists(path.posix.dirname(WATCH_STATE))) {
    await ctx.fs.writeAtomic(WATCH_STATE, `${JSON.stringify(nextState(before, problems, now), null, 2)}\n`, { mode: 0o600 });
  } else warnings.push(`${path.posix.dirname(WATCH_STATE)} does not exist (voip-f2b-install is not installed here): nothing remembered, so every run tells everything`);

  // 4. Tell the change: syslog always, mail when asked.
  const alerted: string[] = [];
  if (changes.raised.length || changes.cleared.length) {
    let logged = true;
    for (const l of syslogLines(changes)) {
      const r = await ctx.run({ cmd: 'logger', args: ['-t', WATCH_SYSLOG_TAG, '-p', l.priority, '--', l.text], timeoutMs: 10000 });
      if (r.exitCode !== 0) {
        logged = false;
        warnings.push(`syslog: logger exited ${r.exitCode}: ${clean(r.stderr || r.stdout, 160)} (is a syslog daemon or journald running?)`);
        break;
      }
    }
    if (logged) alerted.push('syslog');
    if (options.mail) {
      const host = clean((await ctx.fs.readText('/etc/mailname'))?.trim() || (await ctx.fs.readText('/etc/hostname'))?.trim() || 'this host', 100);
      const alert = formatAlert(host, changes, problems)!;
      const m = { dest: options.mail.dest, sender: options.mail.sender || `fail2ban@${host.split(/\s+/)[0]}` };
      const r = await ctx.run({
        cmd: '/usr/sbin/sendmail',
        args: ['-f', m.sender, m.dest],
        input: `Subject: ${clean(alert.subject, 200)}\nFrom: voip-f2b-install watch <${m.sender}>\nTo: ${m.dest}\nContent-Type: text/plain; charset=utf-8\n\n${alert.body}`,
        timeoutMs: 30000,
      });
      if (r.exitCode === 0) alerted.push(`mail to ${m.dest}`);
      else warnings.push(`mail to ${m.dest}: sendmail exited ${r.exitCode}: ${clean(r.stderr || r.stdout, 160)}`);
    }
  }
  for (const w of warnings) ctx.log.warn(w);
  return {
    command: 'watch',
    checkedAt: now.toISOString(),
    verdict: problems.some((p) => p.severity === 'broken') ? 'broken' : problems.length ? 'warning' : 'ok',
    problems,
    raised: changes.raised,
    cleared: changes.cleared,
    alerted,
    warnings,
  };
}

/** The text `watch` prints: the state now and what was told. */
export function formatWatchReport(r: WatchReport): string {
  const lines = [`Watch ${r.checkedAt}: ${r.verdict === 'ok' ? 'protection works (no problem found)' : `${r.verdict.toUpperCase()}: ${r.problems.length} problem(s)`}`];
  for (const p of r.problems) lines.push(`  ${p.severity === 'broken' ? 'BROKEN ' : 'WARNING'} ${p.message}`);
  if (r.raised.length || r.cleared.length) lines.push(`Told (${r.alerted.join(', ') || 'nowhere: see the warnings'}): ${r.raised.length} new, ${r.cleared.length} recovered.`);
  else lines.push('Nothing changed since the last run: nothing told.');
  return `${lines.join('\n')}\n`;
}
