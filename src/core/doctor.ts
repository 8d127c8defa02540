import type { FleetStatus } from './crowdsec.ts';
/**
 * `doctor`: the pure half. Types of the report (also shown by the web view), parsers of
 * fail2ban-client and fail2ban-regex output, the checks that need no I/O, and the verdict rules.
 * src/commands/doctor.ts gathers the facts (files, fail2ban, firewall) and calls these.
 *
 * Verdicts: `broken` = fail2ban would not ban an attacker through this jail (no log file, a filter
 * that matches none of the failures the log holds, a time stamp fail2ban cannot read, a ban that
 * never reaches the firewall); `warning` = it may work but something an admin should look at (a
 * log not written for a day, the admin's own address not whitelisted); `ok` otherwise.
 */
import { BlockList, isIP } from 'node:net';
import { DEFAULTS } from './options.ts';
import type { JailExpectation } from './services/types.ts';

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

import { BAN_TEST_ADDRESSES } from './test-bans.ts';
export { BAN_TEST_ADDRESSES };

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
// Parsers of fail2ban-client output

/**
 * The items of a fail2ban-client list answer:
 *   Current monitored log file(s):\n|- /a\n`- /b     →  ['/a', '/b']
 * and the one-item-per-line form of `get <jail> actions` (after its header line).
 */
export function parseClientList(stdout: string): string[] {
  const lines = stdout.split('\n').map((l) => l.trimEnd());
  const tree = lines.filter((l) => /^[|`]- /.test(l)).map((l) => l.slice(3).trim());
  if (tree.length) return tree.filter(Boolean);
  // `get <jail> actions`: "The jail X has the following actions:\nname1, name2"
  if (lines.length > 1 && /:\s*$/.test(lines[0]!)) {
    return lines
      .slice(1)
      .join(',')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// fail2ban-regex

export interface RegexSummary {
  lines: number;
  matched: number;
  missed: number;
  ignored: number;
  /** Lines whose time stamp fail2ban recognised (sum of "Date template hits"). */
  dateHits: number;
  regexes: { regex: string; count: number }[];
}

/** Parses the summary fail2ban-regex prints (run with --print-no-missed). */
export function parseRegexSummary(stdout: string): RegexSummary | null {
  const total = /^Lines:\s*(\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(stdout);
  if (!total) return null;
  const section = (title: string): string[] => {
    const all = stdout.split('\n');
    const start = all.findIndex((l) => l.startsWith(title));
    if (start < 0) return [];
    const out: string[] = [];
    for (const l of all.slice(start + 1)) {
      if (!l.startsWith('|')) break;
      out.push(l);
    }
    return out;
  };
  const regexes: RegexSummary['regexes'] = [];
  for (const l of section('Failregex:')) {
    const m = /^\|\s+\d+\) \[(\d+)\] (.*)$/.exec(l);
    if (m) regexes.push({ regex: m[2]!, count: Number(m[1]) });
  }
  let dateHits = 0;
  for (const l of section('Date template hits:')) {
    const m = /^\|\s+\[(\d+)\] /.exec(l);
    if (m) dateHits += Number(m[1]);
  }
  return { lines: Number(total[1]), ignored: Number(total[2]), matched: Number(total[3]), missed: Number(total[4]), dateHits, regexes };
}

/** Counts per address of `fail2ban-regex -o '<ip>'` output (one address per failure). */
export function countAddresses(stdout: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const raw of stdout.split('\n')) {
    const ip = raw.trim();
    if (!ip || isIP(ip) === 0) continue;
    counts.set(ip, (counts.get(ip) ?? 0) + 1);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Whitelist

/**
 * True when `ip` is covered by an ignoreip entry (address or CIDR, IPv4 or IPv6; `127.0.0.1/8`
 * style too). DNS names cannot be decided without a lookup and never count.
 */
export function isWhitelisted(ip: string, entries: string[]): boolean {
  const family = isIP(ip);
  if (!family) return false;
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const f = isIP(addr ?? '');
    if (!f) continue;
    const type = f === 4 ? 'ipv4' : 'ipv6';
    try {
      if (bits === undefined) list.addAddress(addr!, type);
      else list.addSubnet(addr!, Number(bits), type);
    } catch {
      // a malformed entry fail2ban would reject anyway
    }
  }
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** The first ban-test address not whitelisted in the jail, or null when all of them are. */
export function pickTestAddress(ignoreip: string[]): string | null {
  return BAN_TEST_ADDRESSES.find((a) => !isWhitelisted(a, ignoreip)) ?? null;
}

/** True when `text` (iptables-save, nft list ruleset, ipset list, …) holds `ip` as a whole address. */
export function firewallHas(text: string, ip: string): boolean {
  const esc = ip.replace(/[.:]/g, (c) => `\\${c}`);
  return new RegExp(`(^|[^0-9A-Fa-f.:])${esc}(/32|/128)?($|[^0-9A-Fa-f.:/]|/32|/128)`, 'm').test(text);
}

// ---------------------------------------------------------------------------------------------
// Log files

/** How old a log may be before doctor warns that nothing writes it. */
export const STALE_LOG_SECONDS = 24 * 3600;

export function ago(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/**
 * The check of one log file's presence and freshness. `stat` null = the file does not exist.
 * `toolCreates`: a re-run of voip-f2b-install creates this file (one it made for a jail), so the
 * fix may say so; never for a log only the service or syslog writes (auth.log).
 */
export function logFileCheck(file: string, stat: { size: number; mtimeMs: number; isFile: boolean } | null, nowMs: number, service: string, toolCreates = false): DoctorCheck {
  const name = `log ${file}`;
  if (!stat) {
    return {
      name,
      verdict: 'broken',
      detail: `${file} does not exist: the jail reads nothing from it, so no failure there is ever counted`,
      fix: `make ${service} write it again${toolCreates ? ' (or run voip-f2b-install again, which creates it)' : ''}, then: fail2ban-client reload`,
    };
  }
  if (!stat.isFile) return { name, verdict: 'broken', detail: `${file} is not a regular file`, fix: `point the jail's logpath at the file ${service} writes` };
  const age = (nowMs - stat.mtimeMs) / 1000;
  if (stat.size === 0) {
    if (age < 3600) return { name, verdict: 'ok', detail: `exists, empty so far (last changed ${ago(age)} ago): nothing logged yet` };
    return {
      name,
      verdict: 'warning',
      detail: `${file} is empty and has not changed for ${ago(age)}: ${service} does not seem to write it`,
      fix: `check that ${service} runs and logs to ${file}`,
    };
  }
  if (age > STALE_LOG_SECONDS) {
    return {
      name,
      verdict: 'warning',
      detail: `${file} was last written ${ago(age)} ago: ${service} may log elsewhere now, or not run`,
      fix: `check that ${service} runs and still logs to ${file} (log rotation, a changed log setting)`,
    };
  }
  return { name, verdict: 'ok', detail: `exists, ${stat.size} bytes, last written ${ago(age)} ago` };
}

// ---------------------------------------------------------------------------------------------
// Which files the service really writes

/** The service a jail protects, from its name or filter (voip-asterisk, asterisk, …). */
export function jailService(jail: string, filter: string | undefined): 'asterisk' | 'freeswitch' | 'kamailio' | 'sshd' | null {
  const s = `${jail} ${filter ?? ''}`.toLowerCase();
  for (const n of ['asterisk', 'freeswitch', 'kamailio', 'sshd'] as const) if (s.includes(n)) return n;
  return null;
}

/**
 * The files Asterisk writes, from logger.conf's [logfiles] channels (a file channel is any name
 * other than console/syslog.*) under astlogdir. Each with its levels.
 */
export function asteriskLogChannels(loggerConf: string, astlogdir: string): { file: string; levels: string[] }[] {
  const out: { file: string; levels: string[] }[] = [];
  let section = '';
  for (const raw of loggerConf.split(/\r?\n/)) {
    const line = raw.replace(/;.*$/, '').trim();
    const h = /^\[([^\]]+)\]/.exec(line);
    if (h) {
      section = h[1]!.toLowerCase();
      continue;
    }
    if (section !== 'logfiles') continue;
    const m = /^([^=\s]+)\s*=>?\s*(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name === 'console' || name.startsWith('syslog.')) continue;
    const levels = m[2]!.replace(/^\[[^\]]*\]/, '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    out.push({ file: name.startsWith('/') ? name : `${astlogdir.replace(/\/$/, '')}/${name}`, levels });
  }
  return out;
}

/** Asterisk's astlogdir from asterisk.conf (default /var/log/asterisk). */
export function asteriskLogDir(asteriskConf: string | null): string {
  return /^\s*astlogdir\s*=>?\s*(\S+)/m.exec(asteriskConf ?? '')?.[1] ?? '/var/log/asterisk';
}

/** The check that a jail reads the files Asterisk's logger.conf really writes. */
export function asteriskSourceCheck(logFiles: string[], loggerConf: string | null, astlogdir: string): DoctorCheck {
  const name = 'Asterisk writes these logs';
  if (loggerConf === null) {
    return { name, verdict: 'warning', detail: 'no logger.conf found: cannot tell which files Asterisk writes', fix: 'run voip-f2b-install again (it creates logger.conf)' };
  }
  const channels = asteriskLogChannels(loggerConf, astlogdir);
  const written = new Set(channels.map((c) => c.file));
  const notWritten = logFiles.filter((f) => !written.has(f));
  const notice = channels.filter((c) => logFiles.includes(c.file) && c.levels.some((l) => l === 'notice' || l === '*'));
  const problems: string[] = [];
  if (notWritten.length) problems.push(`logger.conf has no channel for ${notWritten.join(', ')} (its file channels: ${[...written].join(', ') || 'none'})`);
  if (!notice.length) problems.push('no file the jail reads gets the notice level, where Asterisk logs failed registrations');
  if (!problems.length) return { name, verdict: 'ok', detail: `logger.conf channels: ${channels.filter((c) => logFiles.includes(c.file)).map((c) => `${c.file} (${c.levels.join(',')})`).join(', ')}` };
  return { name, verdict: 'broken', detail: problems.join('; '), fix: 'run voip-f2b-install again (it sets the messages and security channels), then: asterisk -rx "logger reload"' };
}

/** FreeSWITCH's log file from switch.conf.xml's log-dir (default given) + freeswitch.log. */
export function freeswitchLogFile(switchConf: string | null, defaultDir: string): string {
  const dir = /<param\s+name="log-dir"\s+value="([^"$]+)"/.exec(switchConf ?? '')?.[1] ?? defaultDir;
  return `${dir.replace(/\/$/, '')}/freeswitch.log`;
}

export function freeswitchSourceCheck(logFiles: string[], expected: string, profiles: Record<string, string>): DoctorCheck {
  const name = 'FreeSWITCH writes this log';
  const problems: string[] = [];
  if (!logFiles.includes(expected)) problems.push(`FreeSWITCH writes ${expected}, the jail reads ${logFiles.join(', ')}`);
  const off = Object.entries(profiles)
    .filter(([, text]) => !/<param\s+name="log-auth-failures"\s+value="true"/.test(text))
    .map(([p]) => p);
  if (problems.length) return { name, verdict: 'broken', detail: problems.join('; '), fix: `point the jail at ${expected} (run voip-f2b-install again)` };
  if (off.length) return { name, verdict: 'warning', detail: `log-auth-failures is not true in ${off.join(', ')}: failures there are not logged`, fix: 'run voip-f2b-install again, then restart those sofia profiles' };
  return { name, verdict: 'ok', detail: `FreeSWITCH writes ${expected}; log-auth-failures is on in every profile` };
}

/** The file an rsyslog rule sends Kamailio's lines to (`… then /var/log/kamailio.log`). */
export function rsyslogTarget(rule: string | null): string | null {
  return /\bthen\s+-?(\/\S+)/.exec(rule ?? '')?.[1] ?? null;
}

export function kamailioSourceCheck(logFiles: string[], rulePath: string, rule: string | null, cfg: string | null, authLogMarker: string): DoctorCheck {
  const name = 'Kamailio writes this log';
  const target = rsyslogTarget(rule);
  if (!logFiles.length) return { name, verdict: 'ok', detail: 'the jail reads the journal, where Kamailio logs through syslog' };
  if (rule === null) return { name, verdict: 'broken', detail: `no rsyslog rule ${rulePath}: nothing copies Kamailio's syslog lines to ${logFiles.join(', ')}`, fix: 'run voip-f2b-install again (it writes the rule), then restart rsyslog' };
  if (!target || !logFiles.includes(target)) return { name, verdict: 'broken', detail: `${rulePath} writes ${target ?? 'no file'}, the jail reads ${logFiles.join(', ')}`, fix: 'run voip-f2b-install again, then restart rsyslog' };
  if (cfg !== null && !cfg.includes(authLogMarker)) {
    return { name, verdict: 'warning', detail: `rsyslog writes ${target}, but kamailio.cfg does not log authentication failures: only pike blocks are seen`, fix: 'run voip-f2b-install --kamailio-auth-log and restart kamailio' };
  }
  return { name, verdict: 'ok', detail: `rsyslog (${rulePath}) writes Kamailio's lines to ${target}` };
}

/**
 * The check that the running service (pid `pid`) has each log it writes itself open: `open` is
 * what its /proc/<pid>/fd links name (a rotated-away file reads "<path> (deleted)", which is not
 * the file). A log channel added to the configuration but not reloaded is not open, and nothing
 * the service logs reaches it.
 */
export function openLogCheck(service: string, pid: number, logFiles: string[], open: string[], reload: string): DoctorCheck {
  const name = `${service} has its logs open`;
  const held = new Set(open);
  const missing = logFiles.filter((f) => !held.has(f));
  if (!missing.length) return { name, verdict: 'ok', detail: `${service} (pid ${pid}) writes ${logFiles.join(', ')}` };
  const deleted = missing.filter((f) => held.has(`${f} (deleted)`));
  return {
    name,
    verdict: 'broken',
    detail: `${service} runs (pid ${pid}) but does not have ${missing.join(', ')} open: it does not write ${missing.length > 1 ? 'them' : 'it'}, so no failure there reaches the jail${deleted.length ? ` (it still writes the rotated-away ${deleted.join(', ')})` : ''}`,
    fix: reload,
  };
}

// ---------------------------------------------------------------------------------------------
// The filter on the live log

/**
 * Lines that look like authentication failures of `service`, by words the servers use (not by our
 * filter): used to tell "no attack in these lines" (ok) from "a filter that misses what the log
 * holds" (broken).
 */
const FAILURE_HINTS: Record<string, RegExp> = {
  asterisk:
    /Wrong password|No matching peer found|Username\/auth name mismatch|failed to authenticate|No matching endpoint found|Failed to authenticate|SecurityEvent="(?:InvalidPassword|ChallengeResponseFailed|InvalidAccountID|FailedACL)"|rejected because extension not found/,
  freeswitch: /SIP auth failure/,
  kamailio: /voip-f2b: auth failure|pike block/i,
  sshd: /Failed password|Invalid user/,
};

/**
 * Asterisk lines that have a twin in the security log: with `voip-asterisk[count=once]` (a jail
 * reading both logs) the filter counts the security event and deliberately skips these. Each is
 * a head, then (anywhere after it) a fixed tail: the regex `head.*tail` found with indexOf, as a
 * `.*` between two markers backtracks over the line once per head an attacker repeats.
 */
const ASTERISK_TWINNED: Array<[RegExp, string]> = [
  [/Registration from '/, "' failed for"],
  [/to extension '/, "' rejected because extension not found"],
  [/Request (?:'[^'\s]{1,64}' )?from '/, "' failed for"],
];

/** Lines are attacker text: the doctor looks at no more than this much of each. */
export const MAX_HINT_LINE = 4096;

/** An Asterisk messages-log line that has a twin in the security log (count=once counts the twin). */
export function asteriskTwinned(line: string): boolean {
  return ASTERISK_TWINNED.some(([head, tail]) => {
    const m = head.exec(line);
    return m !== null && line.indexOf(tail, m.index + m[0].length) >= 0;
  });
}

/**
 * Lines that look like failures of `service` by the generic words above (kept for callers that
 * know no service module; doctor itself asks the module: {@link countFailureLines}).
 */
export function failureLikeLines(service: string | null, lines: string[], filter = ''): number {
  const re = service ? FAILURE_HINTS[service] : undefined;
  if (!re) return 0;
  const once = service === 'asterisk' && /count\s*=\s*once/.test(filter);
  return lines.map((l) => l.slice(0, MAX_HINT_LINE)).filter((l) => re.test(l) && !(once && asteriskTwinned(l))).length;
}

/**
 * The lines a jail is meant to match, and those it skips on purpose (by why), in `lines`: its
 * service module's {@link JailExpectation}. Each line is looked at up to MAX_HINT_LINE characters.
 */
export function countFailureLines(exp: JailExpectation | null | undefined, lines: string[]): FailureLines {
  const out: FailureLines = { expected: 0, skipped: [] };
  if (!exp) return out;
  const counts = new Map<string, number>();
  for (const raw of lines) {
    const line = raw.slice(0, MAX_HINT_LINE);
    const skip = exp.skips?.find((s) => (typeof s.line === 'function' ? s.line(line) : s.line.test(line)));
    if (skip) counts.set(skip.why, (counts.get(skip.why) ?? 0) + 1);
    else if (exp.failures.test(line)) out.expected++;
  }
  out.skipped = [...counts].map(([why, count]) => ({ why, count }));
  return out;
}

/** "35 skipped on purpose (…: 30; …: 5)", or '' when none. */
function skippedText(skipped: FailureLines['skipped'] | undefined): string {
  const n = (skipped ?? []).reduce((a, s) => a + s.count, 0);
  if (!n) return '';
  return `; ${n} other failure-like line(s) this jail skips on purpose (${skipped!.map((s) => `${s.why}: ${s.count}`).join('; ')})`;
}

/**
 * The check of the filter over the last lines of the jail's logs. `failureLike`: the lines it is
 * meant to match; `skipped`: failure-like lines it skips on purpose (named in the detail, never a
 * warning).
 */
export function filterCheck(summary: RegexSummary | null, error: string | null, failureLike: number, filter: string, skipped?: FailureLines['skipped']): DoctorCheck {
  const name = `filter ${filter}`;
  if (error !== null || !summary) {
    return { name, verdict: 'broken', detail: `fail2ban-regex could not run the filter: ${error ?? 'no summary'}`, fix: `fix /etc/fail2ban/filter.d/${filter.replace(/\[.*$/, '')}.conf (or run voip-f2b-install again)` };
  }
  const counted = summary.lines - summary.ignored;
  if (summary.lines === 0) return { name, verdict: 'ok', detail: 'the log has no lines yet' };
  if (summary.dateHits === 0 && counted > 0) {
    return {
      name,
      verdict: 'broken',
      detail: `fail2ban finds no time stamp it can read in the last ${summary.lines} lines: no failure would ever be counted`,
      fix: 'make the service log a standard time stamp (Asterisk: dateformat = %F %T in logger.conf; run voip-f2b-install again)',
    };
  }
  if (summary.matched === 0 && failureLike > 0) {
    return {
      name,
      verdict: 'broken',
      detail: `${failureLike} of the last ${summary.lines} lines look like authentication failures, but the filter matched none of them${skippedText(skipped)}`,
      fix: `restore the filter (run voip-f2b-install again), then: fail2ban-client reload; check with: fail2ban-regex <log> ${filter}`,
    };
  }
  if (summary.matched < failureLike) {
    return {
      name,
      verdict: 'warning',
      detail: `matched ${summary.matched} of ${failureLike} lines that look like authentication failures (last ${summary.lines} lines)${skippedText(skipped)}`,
      fix: `see which lines it misses: fail2ban-regex --print-all-missed <log> ${filter}`,
    };
  }
  return { name, verdict: 'ok', detail: `matched ${summary.matched} of the last ${summary.lines} lines${skippedText(skipped)}` };
}

/** The addresses with at least `maxretry` failures, most first, whitelisted ones marked. */
export function wouldBan(counts: Map<string, number>, maxretry: number, ignoreip: string[]): NonNullable<JailDoctor['wouldBan']> {
  return [...counts]
    .filter(([, n]) => n >= maxretry)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([ip, failures]) => ({ ip, failures, whitelisted: isWhitelisted(ip, ignoreip) }));
}

/** The admin's SSH address in a jail's whitelist. */
export function adminCheck(admin: string | null, ignoreip: string[]): DoctorCheck | null {
  if (!admin) return null;
  if (isWhitelisted(admin, ignoreip)) return { name: 'admin whitelisted', verdict: 'ok', detail: `${admin} (this SSH session) is in ignoreip` };
  return {
    name: 'admin whitelisted',
    verdict: 'warning',
    detail: `${admin} (this SSH session) is not in ignoreip: a few wrong passwords from your machine would ban you`,
    fix: `voip-f2b-install --whitelist ${admin}`,
  };
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

/** Each jail's backend from `fail2ban-client -d` (its lines `['add', '<jail>', '<backend>']`). */
export function parseJailBackends(dump: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of dump.matchAll(/^\['add', '([^'\n]+)', '([^'\n]+)'\]$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/** Each jail's log files from `fail2ban-client -d` (its lines `['set', '<jail>', 'addlogpath', '<file>', …]`). */
export function parseJailLogpaths(dump: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of dump.matchAll(/^\['set', '([^'\n]+)', 'addlogpath', '([^'\n]+)'/gm)) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  return out;
}

/**
 * The check of a jail that reads no log file: what its backend reads. `backend` undefined = not
 * known (fail2ban-client -d failed); `journald` = a journald runs here (its socket).
 */
export function logSourceCheck(jail: string, backend: string | undefined, journald: boolean, service: string, dumpError: string | null): DoctorCheck {
  const name = 'log source';
  if (backend === undefined) {
    return { name, verdict: 'warning', detail: `fail2ban lists no log file for this jail, and its backend could not be read (fail2ban-client -d: ${dumpError ?? 'no answer'})`, fix: `check the jail's configuration: fail2ban-client -d | grep "'${jail}'"` };
  }
  if (backend.startsWith('systemd')) {
    if (journald) return { name, verdict: 'ok', detail: 'the jail reads the systemd journal (no log file to check)' };
    return {
      name,
      verdict: 'broken',
      detail: `the jail reads the systemd journal (backend ${backend}), but no journald runs on this host: it never sees a line`,
      fix: `read the file ${service} logs to instead: set backend = auto and its logpath in [${jail}] of jail.local (for sshd: the auth log), then: fail2ban-client reload ${jail}`,
    };
  }
  return {
    name,
    verdict: 'broken',
    detail: `fail2ban reads no log file for this jail (backend ${backend}): its log file was removed or never there, so nothing is banned`,
    fix: `make ${service} write its log again (see the jail's logpath), then: fail2ban-client reload ${jail}`,
  };
}
