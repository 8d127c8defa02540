import type { FleetStatus } from '../crowdsec.ts';
import { DEFAULTS } from '../options.ts';
import { ago } from './checks.ts';
/**
 * `doctor`: the report (also shown by the web view and the watch), its verdicts and its text.
 * src/doctor/run.ts gathers the facts (files, fail2ban, firewall); checks.ts, parse.ts and
 * failures.ts judge them.
 *
 * Verdicts: `broken` = fail2ban would not ban an attacker through this jail (no log file, a filter
 * that matches none of the failures the log holds, a time stamp fail2ban cannot read, a ban that
 * never reaches the firewall); `warning` = it may work but something an admin should look at (a
 * log not written for a day, the admin's own address not whitelisted); `ok` otherwise.
 */

export type Verdict = 'ok' | 'warning' | 'broken';

export interface DoctorCheck {
  name: string;
  verdict: Verdict;
  detail: string;
  /** What to do about a warning or a broken check. */
  fix?: string;
}

export interface JailDoctor {
  jail: string;
  verdict: Verdict;
  logFiles: string[];
  /** Hits per failregex over the last lines of the jail's logs (fail2ban-regex). */
  matches?: { regex: string; count: number }[];
  /**
   * Addresses with at least `maxretry` failures in those lines (the time window is not applied),
   * most failures first; whitelisted ones are marked (fail2ban never bans them).
   */
  wouldBan?: { ip: string; whitelisted: boolean; failures: number }[];
  /**
   * The lines of the sample that look like failures this jail is meant to match (by its service
   * module's words), and those it skips on purpose, with why.
   */
  failureLines?: FailureLines;
  checks: DoctorCheck[];
}

/** What {@link countFailureLines} found in a sample. */
export interface FailureLines {
  expected: number;
  skipped: Array<{ why: string; count: number }>;
}

export interface DoctorReport {
  command: 'doctor';
  verdict: Verdict;
  fail2banRunning: boolean;
  fail2banVersion: string | null;
  /** Seconds since the fail2ban server started (its pid file's age), when known. */
  uptimeSeconds: number | null;
  /** The address of the SSH session running doctor (SSH_CONNECTION), if any. */
  adminAddress: string | null;
  /** The admin address is in every checked jail's ignoreip; null when it is not known. */
  adminWhitelisted: boolean | null;
  jails: JailDoctor[];
  warnings: string[];
  /** The CrowdSec fleet link, where this host is a member (install --crowdsec-lapi). */
  fleet?: FleetStatus;
}

export interface DoctorOptions {
  /** Check this jail only (default: every active jail). */
  jail?: string;
  /** Ban and unban a TEST-NET-3 address in each jail and look for it in the firewall. */
  banTest: boolean;
  /** How many of the last lines of each log fail2ban-regex reads. */
  lines: number;
  json: boolean;
  /** The fail2ban server's socket (default: the one under --root, or fail2ban's own default). */
  socket?: string;
  /** One line per jail (run at the end of install). */
  compact?: boolean;
  /**
   * Checks that send the service something (FreeSWITCH's wrong-password probe) run unless false:
   * the web view's periodic doctor sets it false (no SIP traffic, no log lines every few minutes).
   */
  probes?: boolean;
  /**
   * Exit codes of a Nagios/Icinga plugin (monitoring-plugins guidelines): 0 ok, 1 warning,
   * 2 broken (CRITICAL), 3 doctor could not check (UNKNOWN); the text output starts with one
   * status line. Without it: 0 ok or warning, 1 broken.
   */
  nagios?: boolean;
}

export const DOCTOR_DEFAULT_LINES = DEFAULTS.doctorLines;

const RANK: Record<Verdict, number> = { ok: 0, warning: 1, broken: 2 };

/** The worse of all verdicts (ok for none). */
export function worst(verdicts: Verdict[]): Verdict {
  return verdicts.reduce<Verdict>((a, v) => (RANK[v] > RANK[a] ? v : a), 'ok');
}

/**
 * doctor's exit code for a verdict. Default (kept from the first release): 1 when broken, else 0.
 * `nagios`: the plugin convention, 0 ok, 1 warning, 2 broken (3, UNKNOWN, is the error boundary's
 * for a doctor that could not check).
 */
export function doctorExitCode(verdict: Verdict, nagios = false): number {
  if (nagios) return RANK[verdict];
  return verdict === 'broken' ? 1 : 0;
}

/**
 * The one status line a Nagios/Icinga plugin prints first: `VOIP-F2B CRITICAL - <what> | <perfdata>`.
 * The perfdata counts jails per verdict (label=value pairs, no unit).
 */
export function nagiosStatusLine(r: DoctorReport): string {
  const state = { ok: 'OK', warning: 'WARNING', broken: 'CRITICAL' }[r.verdict];
  const bad = r.jails.filter((j) => j.verdict !== 'ok');
  let what: string;
  if (!r.fail2banRunning) what = 'fail2ban is not running';
  else if (!bad.length) what = `${r.jails.length} jail(s) ok`;
  else {
    const first = bad.find((j) => j.verdict === r.verdict) ?? bad[0]!;
    const check = first.checks.find((c) => c.verdict === first.verdict);
    what = `${bad.map((j) => `${j.jail} ${j.verdict}`).join(', ')}${check ? `: ${check.detail}` : ''}`;
  }
  // Plugin output: one line, and "|" starts the performance data.
  what = what.replace(/[\s|]+/g, ' ').slice(0, 300);
  const n = (v: Verdict): number => r.jails.filter((j) => j.verdict === v).length;
  return `VOIP-F2B ${state} - ${what} | jails=${r.jails.length} ok=${n('ok')} warning=${n('warning')} broken=${n('broken')}`;
}

/** A jail's verdict: its worst check. */
export function jailVerdict(checks: DoctorCheck[]): Verdict {
  return worst(checks.map((c) => c.verdict));
}

/** The whole report's verdict: broken when fail2ban does not run, else the worst jail. */
export function reportVerdict(running: boolean, jails: JailDoctor[]): Verdict {
  if (!running) return 'broken';
  return worst(jails.map((j) => j.verdict));
}

// ---------------------------------------------------------------------------------------------
// Text output

const MARK: Record<Verdict, string> = { ok: 'ok', warning: 'WARNING', broken: 'BROKEN' };

function jailSummary(j: JailDoctor): string {
  const bad = j.checks.filter((c) => c.verdict !== 'ok');
  if (!bad.length) {
    const ban = j.checks.find((c) => c.name === 'ban round trip');
    return `${j.jail}: ok (${j.logFiles.length ? `${j.logFiles.length} log file(s)` : 'journal'}${j.matches ? `, ${j.matches.reduce((a, m) => a + m.count, 0)} failure(s) in recent lines` : ''}${ban ? `, ${ban.verdict === 'ok' && /skipped/.test(ban.detail) ? 'ban test skipped' : 'ban reaches the firewall'}` : ''})`;
  }
  return `${j.jail}: ${MARK[j.verdict]}: ${bad.map((c) => c.detail).join('; ')}`;
}

/** One line per jail, for the end of install. */
export function formatDoctorCompact(r: DoctorReport): string {
  const lines = [`Doctor: ${MARK[r.verdict]}${r.fail2banRunning ? '' : ': fail2ban is not running'}`];
  for (const j of r.jails) lines.push(`  ${jailSummary(j)}`);
  for (const j of r.jails) for (const c of j.checks) if (c.verdict !== 'ok' && c.fix) lines.push(`  fix (${j.jail}): ${c.fix}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

/** The full text report (`nagios`: the exit code it names is the plugin's). */
export function formatDoctor(r: DoctorReport, o: { nagios?: boolean } = {}): string {
  const out: string[] = [];
  out.push(
    r.fail2banRunning
      ? `fail2ban ${r.fail2banVersion ?? '(version unknown)'} running${r.uptimeSeconds !== null ? ` for ${ago(r.uptimeSeconds)}` : ''}`
      : 'fail2ban is NOT running: no jail bans anything (start it: service fail2ban start, or fail2ban-client -x start)',
  );
  if (r.adminAddress) out.push(`your address ${r.adminAddress}: ${r.adminWhitelisted ? 'whitelisted in every jail' : 'NOT whitelisted in every jail'}`);
  for (const j of r.jails) {
    out.push('', `[${j.jail}] ${MARK[j.verdict]}`);
    for (const c of j.checks) {
      out.push(`  ${c.verdict === 'ok' ? 'ok     ' : c.verdict === 'warning' ? 'WARNING' : 'BROKEN '} ${c.name}: ${c.detail}`);
      if (c.fix && c.verdict !== 'ok') out.push(`          fix: ${c.fix}`);
      if (c.name.startsWith('filter ')) {
        for (const m of j.matches ?? []) if (m.count) out.push(`          ${String(m.count).padStart(5)} × ${m.regex.length > 100 ? `${m.regex.slice(0, 99)}…` : m.regex}`);
      }
    }
    const wb = j.wouldBan ?? [];
    if (wb.length) {
      out.push(`  would ban (at least maxretry failures in these lines): ${wb.slice(0, 20).map((w) => `${w.ip} (${w.failures}${w.whitelisted ? ', whitelisted: never banned' : ''})`).join(', ')}${wb.length > 20 ? `, and ${wb.length - 20} more` : ''}`);
    }
  }
  if (!r.jails.length) out.push('', 'no jail to check');
  for (const w of r.warnings) out.push(`warning: ${w}`);
  const code = doctorExitCode(r.verdict, o.nagios);
  out.push('', `Verdict: ${MARK[r.verdict]}${code ? ` (exit ${code})` : ''}`);
  return `${out.join('\n')}\n`;
}
