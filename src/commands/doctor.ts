import { readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { duplicateJailWarnings } from './doctor-duplicate-jails.ts';
import { LOOPBACK, tidyWhitelist, whitelistOfJail } from '../core/whitelist.ts';
import { fleetStatus } from './status.ts';
import { fleetWarnings } from '../core/crowdsec.ts';
import type { Context } from '../context.ts';
import { adminAddressFromEnv, gatherFacts } from '../adapters/facts.ts';
import type { HostFacts } from '../core/facts.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import { parseJailList, socketInRoot } from '../adapters/fail2ban.ts';
import { lastLines, realMtime, scratchDir } from '../adapters/log-tail.ts';
import type { Command, RunResult } from '../adapters/runner.ts';
import { getIniValue, listIniSections } from '../core/ini-edit.ts';
import {
  adminCheck,
  countAddresses,
  countFailureLines,
  filterCheck,
  logSourceCheck,
  openLogCheck,
  parseJailLogpaths,
  firewallHas,
  jailService,
  jailVerdict,
  logFileCheck,
  parseClientList,
  parseRegexSummary,
  pickTestAddress,
  reportVerdict,
  wouldBan,
  type DoctorCheck,
  type DoctorOptions,
  parseJailBackends,
  type DoctorReport,
  type JailDoctor,
} from '../core/doctor.ts';
import { UnsupportedError, UsageError } from '../errors.ts';
import { readManifest } from '../adapters/manifest.ts';
import type { ServiceModule } from '../core/services/types.ts';
import { parseJailName } from './status.ts';

export type { DoctorCheck, DoctorOptions, DoctorReport, JailDoctor, Verdict } from '../core/doctor.ts';

const JAIL_LOCAL = '/etc/fail2ban/jail.local';
/** How long the firewall may take to show (or drop) the test ban. */
const BAN_WAIT_MS = 5000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The commands that show the firewall, tried in turn; absent tools are skipped. */
const FIREWALL_VIEWS: Array<{ tool: string; command: Command }> = [
  { tool: 'iptables', command: { cmd: 'iptables-save', args: [] } },
  { tool: 'nftables', command: { cmd: 'nft', args: ['list', 'ruleset'] } },
  { tool: 'ipset', command: { cmd: 'ipset', args: ['list'] } },
  { tool: 'firewalld', command: { cmd: 'firewall-cmd', args: ['--list-rich-rules'] } },
];

/**
 * `doctor [jail]`: proves, on this host, that each active jail reads the live log its service
 * writes, that its filter matches the failures in that log, and that a ban reaches the firewall.
 * Never touches a real address: the ban round trip uses TEST-NET-3 (203.0.113.0/24).
 *
 * Steps: 1 rights, 2 fail2ban (running, version, uptime, jails), 3 per jail: log files,
 * the service's own log settings, the filter on the last lines, the admin's whitelist entry,
 * the ban round trip; 4 verdicts.
 */
export async function doctor(options: DoctorOptions, ctx: Context): Promise<DoctorReport> {
  // 1. Rights: fail2ban's socket and the firewall are root's.
  if (ctx.live && ctx.uid !== 0) {
    throw new UnsupportedError("doctor must run as root: fail2ban's socket and the firewall are root's", 'run it with sudo');
  }
  if (options.jail) parseJailName(options.jail);
  if (!Number.isInteger(options.lines) || options.lines < 1 || options.lines > 100000) {
    throw new UsageError(`invalid --lines '${options.lines}': expected a whole number from 1 to 100000`);
  }

  // 2. fail2ban: the system's own on the live host; under --root, the one whose configuration
  // and socket are under that root (a container, a chroot, a test tree).
  const confDir = ctx.live ? null : ctx.fs.real('/etc/fail2ban');
  let socket = options.socket ?? ctx.env.VOIP_F2B_SOCKET ?? null;
  // The root's socket, resolved inside the root (a tree's /var/run -> /run is its own /run, never the host's).
  if (!socket && !ctx.live) socket = await socketInRoot(ctx);
  const client = (args: string[]): Promise<RunResult> =>
    ctx.run({ cmd: 'fail2ban-client', args: [...(confDir ? ['-c', confDir] : []), ...(socket ? ['-s', socket] : []), ...args], timeoutMs: 20000 });
  const get = async (jail: string, what: string): Promise<string | null> => {
    const r = await client(['get', jail, what]);
    return r.exitCode === 0 ? r.stdout : null;
  };

  // Each jail's configured backend and log files, from fail2ban's own reading of its
  // configuration (asked once; it needs no running server).
  let dump: { backends: Map<string, string>; logpaths: Map<string, string[]>; error: string | null } | null = null;
  const configDump = async (): Promise<NonNullable<typeof dump>> => {
    if (dump) return dump;
    const r = await ctx.run({ cmd: 'fail2ban-client', args: [...(confDir ? ['-c', confDir] : []), '-d'], timeoutMs: 60000 });
    dump =
      r.exitCode === 0
        ? { backends: parseJailBackends(r.stdout), logpaths: parseJailLogpaths(r.stdout), error: null }
        : { backends: new Map(), logpaths: new Map(), error: (r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.exitCode}` };
    return dump;
  };
  // Logs the tool created for its jails: a re-run creates them again (the fix may say so).
  const toolLogs = new Set((await readManifest(ctx.fs).catch(() => null))?.manifest.logs ?? []);

  const warnings: string[] = [];
  const ping = await client(['ping']);
  const running = ping.exitCode === 0;
  let version: string | null = null;
  let uptimeSeconds: number | null = null;
  const jailLocal = (await ctx.fs.readText(JAIL_LOCAL)) ?? '';
  let jails: string[];
  if (running) {
    version = /\d+\.\d+(?:\.\d+)?/.exec((await client(['version'])).stdout)?.[0] ?? null;
    // The pid file is written when the server starts: its age is the uptime.
    const pidFiles = socket ? [path.join(path.dirname(socket), 'fail2ban.pid')] : ['/run/fail2ban/fail2ban.pid', '/var/run/fail2ban/fail2ban.pid'].map((p) => ctx.fs.real(p));
    for (const p of pidFiles) {
      const mtime = await realMtime(p);
      if (mtime !== null) {
        uptimeSeconds = Math.max(0, Math.round((ctx.now().getTime() - mtime) / 1000));
        break;
      }
    }
    jails = parseJailList((await client(['status'])).stdout);
  } else {
    // Not running: check what jail.local enables, so the admin still learns what would fail.
    const why = ((ping.stderr || ping.stdout).trim().split('\n').pop() ?? '').replace(/^.*\bERROR\s+/, '') || 'no answer';
    warnings.push(`fail2ban is not running (${why}): nothing is banned; start it with: service fail2ban start (or fail2ban-client -x start)`);
    jails = listIniSections(jailLocal).filter((s) => s !== 'DEFAULT' && s !== 'INCLUDES' && /^(true|yes|1|on)$/i.test(getIniValue(jailLocal, s, 'enabled') ?? ''));
  }
  if (options.jail) {
    if (!jails.includes(options.jail)) {
      throw new UsageError(`jail '${options.jail}' is not ${running ? 'active' : 'enabled in jail.local'}; ${running ? 'active' : 'enabled'} jails: ${jails.join(', ') || 'none'}`);
    }
    jails = [options.jail];
  }

  const admin = adminAddressFromEnv(ctx.env);
  let facts: HostFacts | null = null;
  const hostFacts = async (): Promise<HostFacts> => (facts ??= await gatherFacts({ ...ctx, live: false }));
  // Whether a service runs, and its program (the live checks ask the running service itself).
  let liveFacts: HostFacts | undefined;
  const runningFacts = async (): Promise<HostFacts | null> => (ctx.live ? (liveFacts ??= await gatherFacts(ctx)) : null);
  const defaultIgnore = [...tidyWhitelist([...LOOPBACK, ...whitelistOfJail(jailLocal)])];
  const scratch = await scratchDir();
  const out: JailDoctor[] = [];
  try {
    for (const jail of jails) out.push(await checkJail(jail));
  } finally {
    await scratch.remove();
  }
  const adminResults = out.map((j) => j.checks.find((c) => c.name === 'admin whitelisted')).filter(Boolean) as DoctorCheck[];
  warnings.push(...(await duplicateJailWarnings(ctx)));
  // The CrowdSec fleet link (issue 13): where this host is a member, its state as `status` shows it.
  const fleet = await fleetStatus(ctx);
  if (fleet) warnings.push(...fleetWarnings(fleet));
  return {
    ...(fleet ? { fleet } : {}),
    command: 'doctor',
    verdict: reportVerdict(running, out),
    fail2banRunning: running,
    fail2banVersion: version,
    uptimeSeconds,
    adminAddress: admin,
    adminWhitelisted: admin && adminResults.length ? adminResults.every((c) => c.verdict === 'ok') : null,
    jails: out,
    warnings,
  };

  // 3. One jail.
  async function checkJail(jail: string): Promise<JailDoctor> {
    const checks: DoctorCheck[] = [];
    const iniFilter = getIniValue(jailLocal, jail, 'filter');
    const filter = iniFilter && !iniFilter.includes('%(') ? iniFilter : jail;
    const service = jailService(jail, filter);
    const serviceLabel = service ?? jail;

    // What the server uses (or, when it is down, what jail.local says).
    let logFiles: string[];
    let ignoreip: string[];
    let maxretry = Number(getIniValue(jailLocal, jail, 'maxretry') ?? getIniValue(jailLocal, 'DEFAULT', 'maxretry') ?? 5) || 5;
    let actions: string[] = [];
    if (running) {
      logFiles = parseClientList((await get(jail, 'logpath')) ?? '');
      ignoreip = parseClientList((await get(jail, 'ignoreip')) ?? '');
      maxretry = Number((await get(jail, 'maxretry'))?.trim()) || maxretry;
      actions = parseClientList((await get(jail, 'actions')) ?? '');
    } else {
      // What fail2ban would read: its own reading of the configuration, else jail.local's logpath.
      const lp = getIniValue(jailLocal, jail, 'logpath');
      logFiles = (await configDump()).logpaths.get(jail) ?? (lp && !lp.includes('%(') ? lp.split(/\s+/).filter(Boolean) : []);
      ignoreip = defaultIgnore;
    }

    // 3a. The log files: present, written lately.
    const present: string[] = [];
    if (!logFiles.length) {
      // No log file: the journal when the jail's backend is systemd and a journald runs here.
      // fail2ban drops a file it can no longer open from a polling jail's list (after ~50 failed
      // reads): then the jail reads nothing at all, and only its configured backend tells.
      const d = await configDump();
      checks.push(logSourceCheck(jail, d.backends.get(jail), await ctx.fs.exists(JOURNALD_SOCKET), serviceLabel, d.error));
    }
    for (const f of logFiles) {
      const st = await ctx.fs.stat(f);
      checks.push(logFileCheck(f, st ? { size: st.size, mtimeMs: st.mtimeMs, isFile: st.isFile } : null, ctx.now().getTime(), serviceLabel, toolLogs.has(f)));
      if (st?.isFile) present.push(f);
    }

    // 3b. The files the service really writes (its module knows where it logs). A jail no module
    // owns (a stock `asterisk` jail) is still checked with its service's expectations.
    const module = SERVICE_MODULES.find((m) => m.jails.includes(jail));
    const serviceModule: ServiceModule | undefined = module ?? SERVICE_MODULES.find((m) => m.name === service);
    if (module?.doctorSource) {
      const facts = await hostFacts();
      const texts = new Map<string, string | null>();
      for (const p of module.doctorReads?.(facts) ?? []) texts.set(p, await ctx.fs.readText(p));
      checks.push(module.doctorSource({ facts, logFiles, files: { read: (p) => texts.get(p) ?? null } }));
    }
    const serviceNow = module?.doctorLive || module?.doctorWriter ? await runningFacts() : null;
    // The running service holds the logs it writes open: a channel not reloaded is not.
    const writer = serviceNow ? module!.doctorWriter?.(serviceNow) : null;
    const written = writer ? logFiles.filter((f) => writer.writes?.(f) ?? true) : [];
    if (writer && written.length) {
      const pid = await firstLivePid(writer.pidFiles);
      const open = pid === null ? null : openFiles(pid);
      if (pid !== null && open !== null) {
        checks.push(openLogCheck(module!.label, pid, written.map((f) => ctx.fs.real(f)), open, `make ${module!.label} reopen its logs (Asterisk: asterisk -rx "logger reload"), then run doctor again`));
      }
    }
    const probe = serviceNow ? (module?.doctorLive?.(serviceNow) ?? null) : null;
    const live = probe && (probe.sends !== true || options.probes !== false) ? probe : null;
    if (live) {
      const r = await ctx.run(live.command);
      checks.push(
        r.exitCode === 0
          ? live.check(r.stdout, logFiles)
          : { name: `${serviceLabel} answers`, verdict: 'warning', detail: `${live.command.cmd} ${live.command.args.join(' ')} exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`, fix: `check that ${serviceLabel} runs` },
      );
    }

    // 3c. The filter, run by the real fail2ban-regex over the last lines of the live logs.
    const result: JailDoctor = { jail, verdict: 'ok', logFiles, checks };
    if (present.length) {
      const lines: string[] = [];
      for (const f of present) lines.push(...((await lastLines(ctx.fs.real(f), options.lines)) ?? []));
      const sample = await scratch.write(`${jail.replace(/[^\w.-]/g, '_')}.log`, lines.map((l) => `${l}\n`).join(''));
      const base = ['-c', confDir ?? '/etc/fail2ban', '--usedns=no', '-e', 'UTF-8'];
      const env = { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
      const summaryRun = await ctx.run({ cmd: 'fail2ban-regex', args: [...base, '--print-no-missed', '--print-no-ignored', sample, filter], env, timeoutMs: 120000 });
      const summary = summaryRun.exitCode === 0 ? parseRegexSummary(summaryRun.stdout) : null;
      const error = summaryRun.exitCode !== 0 ? ((summaryRun.stderr || summaryRun.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${summaryRun.exitCode}`) : null;
      const failures = countFailureLines(serviceModule?.doctorExpects?.(jail, filter), lines);
      result.failureLines = failures;
      checks.push(filterCheck(summary, error, failures.expected, filter, failures.skipped));
      if (summary) {
        result.matches = summary.regexes;
        if (summary.matched > 0) {
          const ips = await ctx.run({ cmd: 'fail2ban-regex', args: [...base, '-o', '<ip>', sample, filter], env, timeoutMs: 120000 });
          if (ips.exitCode === 0) result.wouldBan = wouldBan(countAddresses(ips.stdout), maxretry, ignoreip);
        } else result.wouldBan = [];
      }
    }

    // 3d. The admin's own address.
    const a = adminCheck(admin, ignoreip);
    if (a) checks.push(a);

    // 3e. The ban round trip.
    if (running && options.banTest) checks.push(await banRoundTrip(jail, ignoreip, actions));
    else if (running) checks.push({ name: 'ban round trip', verdict: 'ok', detail: 'skipped (--no-ban-test)' });

    result.verdict = jailVerdict(checks);
    return result;
  }

  /** The first pid file (target path) naming a live process; null when none does. */
  async function firstLivePid(pidFiles: string[]): Promise<number | null> {
    for (const f of pidFiles) {
      const pid = Number.parseInt((await ctx.fs.readText(f))?.trim() ?? '', 10);
      if (Number.isInteger(pid) && pid > 0 && openFiles(pid) !== null) return pid;
    }
    return null;
  }

  /** Everything the firewall shows now, with the tool that showed it. */
  async function firewallText(): Promise<Array<{ tool: string; text: string }>> {
    const views: Array<{ tool: string; text: string }> = [];
    for (const v of FIREWALL_VIEWS) {
      const r = await ctx.run({ ...v.command, timeoutMs: 15000 });
      if (r.exitCode === 0) views.push({ tool: v.tool, text: r.stdout });
    }
    return views;
  }
  async function seenIn(ip: string): Promise<string[]> {
    return (await firewallText()).filter((v) => firewallHas(v.text, ip)).map((v) => v.tool);
  }
  async function waitUntil(ip: string, present: boolean): Promise<string[]> {
    const deadline = Date.now() + BAN_WAIT_MS;
    for (;;) {
      const tools = await seenIn(ip);
      if ((tools.length > 0) === present || Date.now() >= deadline) return tools;
      await sleep(100);
    }
  }

  /** fail2ban's own error lines about `jail` written since `sinceMs` (its log target), if readable. */
  async function fail2banErrors(jail: string, sinceMs: number): Promise<string[]> {
    const target = parseClientList((await client(['get', 'logtarget'])).stdout)[0];
    if (!target || !target.startsWith('/')) return [];
    const lines = (await lastLines(ctx.fs.real(target), 400)) ?? [];
    const since = new Date(sinceMs - 1000);
    const out: string[] = [];
    for (const l of lines) {
      const t = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(l)?.[1];
      if (t && new Date(t.replace(' ', 'T')) < since) continue;
      if (!/\bERROR\b/.test(l) || !(/-- stderr: |-- returned \d+/.test(l) || l.includes(`jail '${jail}'`))) continue;
      // "2026-… fail2ban.utils [pid]: ERROR   7f01… -- stderr: 'sh: 1: firewall-cmd: not found'" → the message.
      const msg = l
        .replace(/^.*?\bERROR\s+/, '')
        .replace(/^[0-9a-f]{6,}\s+--\s+/, '')
        .replace(/ info 'ActionInfo\(.*$/, '')
        .replace(/\s+/g, ' ')
        .slice(0, 200);
      if (!out.includes(msg)) out.push(msg);
    }
    return out.slice(-3);
  }

  async function banRoundTrip(jail: string, ignoreip: string[], actions: string[]): Promise<DoctorCheck> {
    const name = 'ban round trip';
    if (options.compact && actions.some((a) => /mail/i.test(a))) {
      return { name, verdict: 'ok', detail: `skipped: the jail mails every ban (run voip-f2b-install doctor ${jail} to test it; it sends one alert for a 203.0.113.0/24 test address)` };
    }
    const ip = pickTestAddress(ignoreip);
    if (!ip) return { name, verdict: 'warning', detail: 'skipped: every test address (203.0.113.251-254) is whitelisted', fix: 'narrow the 203.0.113.0/24 entry in ignoreip' };
    if ((await seenIn(ip)).length) {
      // A leftover of an interrupted doctor run: lift it through fail2ban first.
      await client(['set', jail, 'unbanip', ip]);
      if ((await waitUntil(ip, false)).length) {
        return { name, verdict: 'warning', detail: `skipped: the test address ${ip} is already in the firewall, not put there by this jail`, fix: `remove the firewall rule for ${ip}` };
      }
    }
    const started = Date.now();
    let seen: string[] = [];
    let left: string[] = [];
    let banExit = 0;
    let answer = '';
    try {
      const b = await client(['set', jail, 'banip', ip]);
      banExit = b.exitCode;
      answer = b.stdout.trim();
      // fail2ban answers the number of addresses it banned: 1.
      if (banExit === 0 && answer === '1') seen = await waitUntil(ip, true);
    } finally {
      await client(['set', jail, 'unbanip', ip]);
      left = await waitUntil(ip, false);
    }
    const ms = Date.now() - started;
    if (banExit !== 0 || answer !== '1') {
      return {
        name,
        verdict: 'broken',
        detail: `fail2ban did not ban the test address ${ip} (fail2ban-client exited ${banExit}${answer ? `, answered '${answer.slice(0, 80)}'` : ''})`,
        fix: `check the jail: fail2ban-client status ${jail}`,
      };
    }
    if (!seen.length) {
      const errors = await fail2banErrors(jail, started);
      return {
        name,
        verdict: 'broken',
        detail: `banned ${ip} in fail2ban, but it did not appear in the firewall (${FIREWALL_VIEWS.map((v) => v.tool).join(', ')}) within ${BAN_WAIT_MS / 1000} s: attackers are not blocked${errors.length ? `; fail2ban says: ${errors.join(' | ')}` : ''}`,
        fix: `check the jail's action (${actions.join(', ') || 'none'}) and that its firewall tool works; fail2ban's log names the failing command`,
      };
    }
    if (left.length) {
      return { name, verdict: 'broken', detail: `the test ban of ${ip} reached the firewall (${seen.join(', ')}) but the unban did not remove it`, fix: `check the action's unban command; remove the rule for ${ip} by hand` };
    }
    return { name, verdict: 'ok', detail: `banned ${ip}: seen in ${seen.join(', ')}; unbanned: gone (${ms} ms)` };
  }
}

/** The socket journald listens on: where it runs, it exists. */
const JOURNALD_SOCKET = '/run/systemd/journal/socket';

/**
 * The paths a process has open (the targets of /proc/<pid>/fd/*), or null when the process is
 * gone or not readable. Links only read, never followed.
 */
function openFiles(pid: number): string[] | null {
  const dir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(dir);
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const fd of fds) {
    try {
      out.push(readlinkSync(`${dir}/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}
