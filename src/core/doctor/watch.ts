/**
 * The watch (issue 23): every few minutes, checks that touch nothing tell whether fail2ban still
 * protects this host, and the admin hears about a CHANGE only (a new problem, or a recovery):
 * syslog always, mail with --email, a banner in the web view (it reads the same state file).
 *
 * Pure: the plan fragment (a systemd timer + service where systemd runs, else a cron entry; both
 * run the copy of the program the web view's service uses, WEB_PROGRAM_DIR, with node by its
 * absolute path: an npx cache can be cleaned, that copy is the tool's own), the checks that need
 * no I/O (ban sets and firewall rules, accounts under attack, doctor's verdicts as problems), the
 * comparison with what was last reported, and the alert text. src/commands/watch.ts does the I/O.
 */
import type { Command } from '../command.ts';
import type { Family } from '../distro.ts';
import type { DoctorReport } from './report.ts';
import type { InitSystem } from '../facts.ts';
import type { FileChange } from '../plan.ts';
import { render } from '../render.ts';
import { durationSeconds, parseDuration } from '../validate.ts';
import { WEB_PROGRAM_BIN, WEB_PROGRAM_DIR, type ProgramFile } from '../web-service.ts';
import { UsageError } from '../../errors.ts';

export const WATCH_SERVICE = 'voip-f2b-watch';
export const WATCH_UNIT = '/etc/systemd/system/voip-f2b-watch.service';
export const WATCH_TIMER = '/etc/systemd/system/voip-f2b-watch.timer';
export const WATCH_CRON = '/etc/cron.d/voip-f2b-install-watch';
/** What the watch last reported: in the tool's state directory (root only), read by the web view. */
export const WATCH_STATE = '/var/backups/voip-f2b-install/watch-state.json';
/** The tag of its syslog lines (`journalctl -t voip-f2b-watch`, `grep voip-f2b-watch /var/log/syslog`). */
export const WATCH_SYSLOG_TAG = 'voip-f2b-watch';
export const DEFAULT_WATCH_INTERVAL = '5m';
/** How many of the last lines of each log the watch's filter check reads (doctor reads 2000). */
export const WATCH_LINES = 500;

/** Minutes the watch may run at: the same moments under cron and systemd (a divisor of an hour or a day). */
const MINUTES = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
const HOURS = [1, 2, 3, 4, 6, 8, 12, 24];

/** `--watch-interval`: a duration that divides an hour or a day, in seconds (cron can run nothing else evenly). */
export function parseWatchInterval(raw: string): number {
  const accepted = `${MINUTES.map((m) => `${m}m`).join(', ')}, ${HOURS.map((h) => `${h}h`).join(', ')}`;
  let seconds = 0;
  try {
    seconds = durationSeconds(parseDuration('--watch-interval', raw, false));
  } catch {
    seconds = 0;
  }
  const m = seconds / 60;
  if (!(MINUTES.includes(m) || (m % 60 === 0 && HOURS.includes(m / 60)))) {
    throw new UsageError(`invalid --watch-interval '${raw}': expected one of ${accepted} (a divisor of an hour or a day, so cron runs it evenly)`);
  }
  return seconds;
}

/** A human form of the interval: 5m, 2h. */
export function intervalText(seconds: number): string {
  return seconds % 3600 === 0 ? `${seconds / 3600}h` : `${seconds / 60}m`;
}

/** The cron schedule of an interval parseWatchInterval accepted. */
export function cronSchedule(seconds: number): string {
  const m = seconds / 60;
  if (m === 1) return '* * * * *';
  if (m < 60) return `*/${m} * * * *`;
  const h = m / 60;
  return h === 24 ? '0 0 * * *' : `0 */${h} * * *`;
}

/** The package that brings cron, by family. */
export function cronPackage(family: Family): string {
  return family === 'rhel' ? 'cronie' : 'cron';
}

/** The cron daemon's service name, by family. */
export function cronService(family: Family): string {
  return family === 'rhel' ? 'crond' : 'cron';
}

export interface WatchMail {
  dest: string;
  sender: string;
}

/** The command line the timer or cron runs: node by its absolute path, the program's own copy. */
export function watchCommandLine(nodePath: string, mail: WatchMail | null): string {
  return [nodePath, WEB_PROGRAM_BIN, 'watch', '--once', ...(mail ? ['--email', mail.dest, '--sender', mail.sender] : [])].join(' ');
}

export interface WatchInputs {
  /** Seconds between two runs (parseWatchInterval). */
  interval: number;
  init: InitSystem;
  family: Family;
  /** Acting on the running machine (units may be enabled). */
  live: boolean;
  nodePath: string;
  /** The running package's files; empty when the web view's service already copies them. */
  program: ProgramFile[];
  mail: WatchMail | null;
  /** The cron package is installed (or is being installed by this plan). */
  cronInstalled: boolean;
  templates: Record<string, string>;
  read(path: string): string | null;
}

export interface WatchFragment {
  files: FileChange[];
  packages: string[];
  afterCommands: Array<{ command: Command; why: string; service: string }>;
  /** Services to start through the init system once installed (cron, when this run installs it). */
  start: string[];
  manualSteps: string[];
  warnings: string[];
  details: Record<string, unknown>;
}

/** Every file the watch's plan may read. */
export function watchReads(program: Array<{ rel: string }>): string[] {
  return [...program.map((f) => `${WEB_PROGRAM_DIR}/${f.rel}`), WATCH_UNIT, WATCH_TIMER, WATCH_CRON];
}

/**
 * The watch's plan: the program's copy (unless the web view's service brings it), then a systemd
 * timer + service where systemd runs, else a cron entry (cron installed when missing). Enabled and
 * started only when one of its files changed: a re-run changes nothing.
 */
export function watchFragment(input: WatchInputs): WatchFragment {
  if (!/^\/[A-Za-z0-9._+/-]+$/.test(input.nodePath)) {
    throw new UsageError(`install: node's path '${input.nodePath}' has characters a timer or cron line cannot hold safely`, 'run the install with a node installed under a plain path (e.g. /usr/bin/node), or add --no-watch');
  }
  for (const a of input.mail ? [input.mail.dest, input.mail.sender] : []) {
    if (!/^[A-Za-z0-9._+@-]+$/.test(a)) throw new UsageError(`install: the mail address '${a}' has characters the watch's command line cannot hold; expected letters, digits and . _ + - @`, 'use a plainer address, or add --no-watch');
  }
  const tpl = (p: string): string => {
    const t = input.templates[p];
    if (t === undefined) throw new Error(`internal: template ${p} is missing`);
    return t;
  };
  const out: WatchFragment = { files: [], packages: [], afterCommands: [], start: [], manualSteps: [], warnings: [], details: {} };
  const add = (path: string, after: string, why: string, mode: number, extra: Partial<FileChange> = {}): FileChange => {
    const f: FileChange = { path, before: input.read(path), after, mode, why, ...extra };
    out.files.push(f);
    return f;
  };
  const programWhy = `the tool's program, run by the watch (${input.program.length} files)`;
  for (const p of input.program) add(`${WEB_PROGRAM_DIR}/${p.rel}`, p.text, programWhy, p.mode, { group: `${WEB_PROGRAM_DIR}/` });
  const command = watchCommandLine(input.nodePath, input.mail);
  const every = intervalText(input.interval);
  if (input.init === 'systemd') {
    const unit = add(WATCH_UNIT, render(tpl('etc/systemd/system/voip-f2b-watch.service'), { command }, 'watch unit'), 'the watch: one run of its checks', 0o644);
    const timer = add(WATCH_TIMER, render(tpl('etc/systemd/system/voip-f2b-watch.timer'), { interval: every, seconds: String(input.interval) }, 'watch timer'), `the watch's timer: every ${every}`, 0o644);
    if (input.live && (unit.before !== unit.after || timer.before !== timer.after)) {
      out.afterCommands.push(
        { service: WATCH_SERVICE, why: 'load its units', command: { cmd: 'systemctl', args: ['daemon-reload'] } },
        { service: WATCH_SERVICE, why: `run the watch every ${every}`, command: { cmd: 'systemctl', args: ['enable', '--now', `${WATCH_SERVICE}.timer`] } },
      );
    }
  } else {
    // cron's `%` is a newline unless escaped.
    add(WATCH_CRON, render(tpl('etc/cron.d/voip-f2b-install-watch'), { interval: every, schedule: cronSchedule(input.interval), command: command.replaceAll('%', '\\%') }, 'watch cron entry'), `the watch: a cron entry, every ${every}`, 0o644);
    if (!input.cronInstalled) {
      out.packages.push(cronPackage(input.family));
      out.start.push(cronService(input.family));
    }
  }
  out.details = {
    interval: every,
    runs: input.init === 'systemd' ? `${WATCH_TIMER}` : WATCH_CRON,
    command,
    state: WATCH_STATE,
    syslogTag: WATCH_SYSLOG_TAG,
    mail: input.mail?.dest ?? null,
  };
  return out;
}

/** What uninstall runs for the watch when the manifest holds its timer: stop it before its files go, then reload. */
export function watchUninstallCommands(paths: string[]): { before: Command[]; after: Command[] } {
  if (!paths.includes(WATCH_TIMER)) return { before: [], after: [] };
  return { before: [{ cmd: 'systemctl', args: ['disable', '--now', `${WATCH_SERVICE}.timer`] }], after: [{ cmd: 'systemctl', args: ['daemon-reload'] }] };
}

// ---------------------------------------------------------------------------------------------
// Problems and what was last reported

export type Severity = 'broken' | 'warning';

/** One thing wrong now. `key` names it stably across runs (never the counts in its message). */
export interface WatchProblem {
  key: string;
  severity: Severity;
  message: string;
  fix?: string;
}

/** The state file: what the last run found (the web view shows it as a banner). */
export interface WatchState {
  version: 1;
  /** When the watch last ran (ISO). */
  checkedAt: string;
  problems: WatchProblem[];
  /** key → when it was first reported (ISO). */
  since: Record<string, string>;
}

/** Parses the state file; anything unreadable is "nothing reported yet". */
export function parseWatchState(text: string | null): WatchState | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<WatchState>;
    if (v.version !== 1 || !Array.isArray(v.problems)) return null;
    const problems = v.problems.filter((p): p is WatchProblem => typeof p?.key === 'string' && (p.severity === 'broken' || p.severity === 'warning') && typeof p.message === 'string');
    return { version: 1, checkedAt: typeof v.checkedAt === 'string' ? v.checkedAt : '', problems, since: v.since && typeof v.since === 'object' ? v.since : {} };
  } catch {
    return null;
  }
}

export interface WatchChanges {
  /** New problems, and problems that got worse (warning → broken). */
  raised: WatchProblem[];
  /** Problems reported before and gone now. */
  cleared: WatchProblem[];
}

/** What changed since the last report: only this is alerted. */
export function diffProblems(before: WatchProblem[], now: WatchProblem[]): WatchChanges {
  const old = new Map(before.map((p) => [p.key, p]));
  const cur = new Set(now.map((p) => p.key));
  return {
    raised: now.filter((p) => {
      const o = old.get(p.key);
      return !o || (o.severity === 'warning' && p.severity === 'broken');
    }),
    cleared: before.filter((p) => !cur.has(p.key)),
  };
}

/** The next state: the problems now, each with the time it was first reported. */
export function nextState(before: WatchState | null, now: WatchProblem[], at: Date): WatchState {
  const since: Record<string, string> = {};
  for (const p of now) since[p.key] = before?.since[p.key] && before.problems.some((b) => b.key === p.key) ? before.since[p.key]! : at.toISOString();
  return { version: 1, checkedAt: at.toISOString(), problems: now, since };
}

/** A line fit for syslog and a mail: no control characters (log lines are attacker text), bounded. */
export function clean(s: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/**
 * doctor's verdicts (run with no ban test and no probes) as problems: every check that is not ok,
 * fail2ban not running, a jail jail.local enables that fail2ban does not run, doctor's warnings
 * (the fleet link among them).
 */
export function problemsFromDoctor(r: DoctorReport, enabledJails: string[]): WatchProblem[] {
  const out: WatchProblem[] = [];
  if (!r.fail2banRunning) {
    out.push({ key: 'fail2ban:running', severity: 'broken', message: 'fail2ban is not running: nothing is banned', fix: 'start it: service fail2ban start (or systemctl start fail2ban)' });
  } else {
    const running = new Set(r.jails.map((j) => j.jail));
    for (const j of enabledJails) {
      if (!running.has(j)) out.push({ key: `jail:${j}:running`, severity: 'broken', message: `jail ${j} is enabled in jail.local but fail2ban does not run it`, fix: `fail2ban-client reload; fail2ban's log says why the jail did not start` });
    }
  }
  for (const j of r.jails) {
    for (const c of j.checks) {
      if (c.verdict === 'ok') continue;
      out.push({ key: `jail:${j.jail}:${c.name}`, severity: c.verdict, message: `jail ${j.jail}: ${c.name}: ${clean(c.detail)}`, ...(c.fix ? { fix: clean(c.fix) } : {}) });
    }
  }
  for (const w of r.warnings) {
    if (/^fail2ban is not running/.test(w)) continue;
    out.push({ key: `doctor:${clean(w, 80).replace(/\d+/g, '#')}`, severity: 'warning', message: clean(w) });
  }
  return out;
}

/** One running jail as the firewall check sees it. */
export interface JailBans {
  jail: string;
  /** fail2ban-client get <jail> actions. */
  actions: string[];
  /** The addresses fail2ban holds banned in it. */
  banned: string[];
}

/** The firewall as the tools show it (absent tools: empty text). */
export interface FirewallViews {
  nft: string;
  ipset: string;
  iptables: string;
}

/** The set names our set action derives from a jail name (templates/etc/fail2ban/action.d/voip-f2b-nftset.py). */
export function banSetNames(jail: string): { table: string; set4: string; set6: string } {
  const safe = jail.replace(/[^A-Za-z0-9_-]/g, '_');
  return { table: `f2b-${safe}`, set4: `f2b-${safe}`.slice(0, 29) + '4', set6: `f2b-${safe}`.slice(0, 29) + '6' };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** An nft ruleset listing without the guard's tables (`table inet f2bg-<jail> { … }`). */
function withoutGuardTables(nft: string): string {
  return nft.replace(/^table inet f2bg-[^\s{]+ \{\n[\s\S]*?^\}\n?/gm, '');
}

/** The members of one ipset in `ipset list` output ('' when the set is not listed). */
function ipsetMembers(ipset: string, name: string): string {
  const block = new RegExp(`^Name: ${escapeRe(name)}\\n([\\s\\S]*?)(?=^Name: |(?![\\s\\S]))`, 'm').exec(ipset)?.[1] ?? '';
  return block.split(/^Members:\n/m)[1] ?? '';
}

/** The address appears as a whole in a firewall listing (203.0.113.2 is not 203.0.113.21). */
function listed(text: string, ip: string): boolean {
  return new RegExp(`(^|[^0-9A-Fa-f:.])${escapeRe(ip)}(?![0-9A-Fa-f:.]|/(?!32\\b|128\\b))`, 'm').test(text);
}

/**
 * Every ban set and its firewall rule present, every ban fail2ban holds in the firewall. Our set
 * actions: nftables table `inet f2b-<jail>` (its sets and its chain live and die together);
 * ipset `f2b-<jail>4` plus the iptables rule matching it. Other actions: each banned address must
 * show in some listing.
 */
export function banSetProblems(jails: JailBans[], fw: FirewallViews): WatchProblem[] {
  const out: WatchProblem[] = [];
  // The guard's pause sets (nft tables inet f2bg-*) hold an address for 2 s after a failure, on
  // the SIP ports only: never the ban. They are left out of every listing a ban is looked for in.
  const all = `${withoutGuardTables(fw.nft)}\n${fw.ipset}\n${fw.iptables}`;
  for (const j of jails) {
    const names = banSetNames(j.jail);
    const fix = `restore the jail's firewall objects and its bans: fail2ban-client reload --restart ${j.jail}`;
    let missingObject = false;
    if (j.actions.some((a) => a.startsWith('voip-f2b-nftset'))) {
      const table = new RegExp(`^table inet ${escapeRe(names.table)} \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(fw.nft)?.[1];
      if (table === undefined) {
        missingObject = true;
        out.push({ key: `jail:${j.jail}:ban set`, severity: 'broken', message: `jail ${j.jail}: its nftables table inet ${names.table} is gone (flushed by another tool?): banned addresses get through`, fix });
      } else if (!/\bip saddr @a4 (?:drop|reject)\b/.test(table)) {
        missingObject = true;
        out.push({ key: `jail:${j.jail}:ban rule`, severity: 'broken', message: `jail ${j.jail}: the nftables rule that drops the addresses in inet ${names.table} a4 is gone (its chain was flushed by another tool?): banned addresses get through`, fix });
      }
    }
    if (j.actions.some((a) => a.startsWith('voip-f2b-ipset'))) {
      if (!new RegExp(`^Name: ${escapeRe(names.set4)}$`, 'm').test(fw.ipset)) {
        missingObject = true;
        out.push({ key: `jail:${j.jail}:ban set`, severity: 'broken', message: `jail ${j.jail}: its ipset ${names.set4} is gone (removed by another tool?): banned addresses get through`, fix });
      } else if (!new RegExp(`--match-set ${escapeRe(names.set4)} src`).test(fw.iptables)) {
        missingObject = true;
        out.push({ key: `jail:${j.jail}:ban rule`, severity: 'broken', message: `jail ${j.jail}: the iptables rule that drops the addresses in ${names.set4} is gone (a firewall restart or iptables-restore?): banned addresses get through`, fix });
      }
    }
    if (missingObject) continue;
    // Ours: the address must be in the jail's own set, not just anywhere in the firewall.
    const own = [
      ...(j.actions.some((a) => a.startsWith('voip-f2b-nftset')) ? [new RegExp(`^table inet ${escapeRe(names.table)} \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(fw.nft)?.[1] ?? ''] : []),
      ...(j.actions.some((a) => a.startsWith('voip-f2b-ipset')) ? [ipsetMembers(fw.ipset, names.set4), ipsetMembers(fw.ipset, names.set6)] : []),
    ];
    const absent = j.banned.filter((ip) => !listed(own.length ? own.join('\n') : all, ip));
    if (absent.length) {
      out.push({
        key: `jail:${j.jail}:bans in firewall`,
        severity: 'broken',
        message: `jail ${j.jail}: ${absent.length} of the ${j.banned.length} addresses fail2ban holds banned are not in the firewall (${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ', …' : ''}): the ban set was flushed by another tool?`,
        fix,
      });
    }
  }
  return out;
}

/**
 * The guard's lines that `re` matches and that are newer than their jail's findtime. `re` starts
 * with fail2ban's time stamp (groups 1-6, local time) and has the jail as group 7.
 */
function recentGuardLines(lines: string[], re: RegExp, nowMs: number, findtimeSeconds: (jail: string) => number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  for (const l of lines) {
    const m = re.exec(l);
    if (!m) continue;
    const at = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime();
    if (nowMs - at > findtimeSeconds(m[7]!) * 1000 || at - nowMs > 60000) continue;
    out.push(m);
  }
  return out;
}

/**
 * Accounts under attack from many addresses, as the guard reports them in fail2ban's log:
 *   2026-12-07 05:31:02,120 fail2ban.actions [812]: WARNING [voip-pbx] voip-f2b: account '1001' is under attack: 5 failures from 5 addresses within findtime; …
 * A report newer than the jail's findtime is an attack in progress (the time stamps are local time).
 */
export function attackProblems(lines: string[], nowMs: number, findtimeSeconds: (jail: string) => number): WatchProblem[] {
  const found = new Map<string, WatchProblem>();
  const re = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)[,.]\d+ .*?\bWARNING\s+\[([^\]\s]{1,64})\] voip-f2b: account (.{1,200}?) is under attack: (\d+) failures from (\d+) addresses/;
  for (const m of recentGuardLines(lines, re, nowMs, findtimeSeconds)) {
    const jail = m[7]!;
    const account = clean(m[8]!.replace(/^'(.*)'$|^"(.*)"$/, '$1$2'), 80);
    found.set(`${jail}\0${account}`, {
      key: `attack:${jail}:${account}`,
      severity: 'warning',
      message: `jail ${jail}: account ${account} is under attack from many addresses (${m[9]} failures from ${m[10]} addresses within findtime); each address that fails on it is banned`,
      fix: `check account ${account}'s password is strong; see: voip-f2b-install status ${jail}`,
    });
  }
  return [...found.values()];
}

/**
 * A phone that keeps failing behind an office's address, as the guard reports it in fail2ban's log
 * (an address with a registered device or a recent login is banned only at office_maxretry):
 *   2026-12-07 05:31:02,120 fail2ban.actions [812]: WARNING [voip-pbx] voip-f2b-guard: office 203.0.113.5 has a registered device; account '1003' keeps failing (10 of 50 failures that ban the address)
 * A report newer than the jail's findtime is a phone failing now; one problem per office and account.
 */
export function officeProblems(lines: string[], nowMs: number, findtimeSeconds: (jail: string) => number): WatchProblem[] {
  const found = new Map<string, WatchProblem>();
  const re = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)[,.]\d+ .*?\bWARNING\s+\[([^\]\s]{1,64})\] voip-f2b-guard: office ([0-9A-Fa-f:.]{2,45}) (has a registered device|had a login[^;]{0,80}|[^;]{1,80}); account (.{1,200}?) keeps failing \((\d+) of (\d+) /;
  for (const m of recentGuardLines(lines, re, nowMs, findtimeSeconds)) {
    const jail = m[7]!;
    const address = m[8]!;
    const account = clean(m[10]!.replace(/^'(.*)'$|^"(.*)"$/, '$1$2'), 80);
    found.set(`${jail}\0${address}\0${account}`, {
      key: `office:${jail}:${address}:${account}`,
      severity: 'warning',
      message: `jail ${jail}: a phone behind the office address ${address} keeps failing on account ${account} (${m[11]} of the ${m[12]} failures that would ban the office); the office is not banned for it`,
      fix: `check the password configured on the phone that uses account ${account} at ${address}`,
    });
  }
  return [...found.values()];
}

/** The alert: a subject and a body, from what changed. Null when nothing did. */
export function formatAlert(host: string, changes: WatchChanges, now: WatchProblem[]): { subject: string; body: string } | null {
  const { raised, cleared } = changes;
  if (!raised.length && !cleared.length) return null;
  const broken = now.filter((p) => p.severity === 'broken').length;
  const subject = raised.length
    ? `[voip-f2b-install] ${host}: ${raised[0]!.severity === 'broken' || raised.some((p) => p.severity === 'broken') ? 'PROTECTION BROKEN' : 'warning'}: ${raised[0]!.message}`.slice(0, 200)
    : `[voip-f2b-install] ${host}: recovered${now.length ? ` (${now.length} problem(s) remain)` : ': protection works again'}`;
  const lines: string[] = [];
  for (const p of raised) lines.push(`${p.severity === 'broken' ? 'BROKEN' : 'WARNING'}: ${p.message}`, ...(p.fix ? [`  fix: ${p.fix}`] : []));
  for (const p of cleared) lines.push(`RECOVERED: ${p.message}`);
  lines.push('', now.length ? `Now: ${broken} broken, ${now.length - broken} warning(s).` : 'Now: no problem found.', 'Details: voip-f2b-install doctor');
  return { subject, body: `${lines.join('\n')}\n` };
}

/** The syslog lines of a change: one per problem raised or cleared. */
export function syslogLines(changes: WatchChanges): Array<{ priority: 'daemon.err' | 'daemon.warning' | 'daemon.notice'; text: string }> {
  return [
    ...changes.raised.map((p) => ({ priority: p.severity === 'broken' ? ('daemon.err' as const) : ('daemon.warning' as const), text: `${p.severity === 'broken' ? 'BROKEN' : 'WARNING'}: ${p.message}` })),
    ...changes.cleared.map((p) => ({ priority: 'daemon.notice' as const, text: `RECOVERED: ${p.message}` })),
  ];
}
