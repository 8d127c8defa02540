/**
 * `doctor [jail]`: proves, on this host, that each active jail reads the live log its service
 * writes, that its filter matches the failures in that log, and that a ban reaches the firewall.
 * Never touches a real address: the ban round trip uses TEST-NET-3 (203.0.113.0/24).
 *
 * Steps: 1 rights, 2 fail2ban (running, version, uptime, jails), 3 per jail (src/doctor/jail.ts):
 * log files, the service's own log settings, the filter on the last lines, the admin's whitelist
 * entry, the ban round trip; 4 verdicts.
 */
import path from 'node:path';
import type { Context } from '../context.ts';
import { adminAddressFromEnv, gatherFacts } from '../adapters/facts.ts';
import { doctorFail2ban, type DoctorFail2ban } from '../adapters/fail2ban.ts';
import { realMtime, scratchDir } from '../adapters/log-tail.ts';
import { readManifest } from '../adapters/manifest.ts';
import { fleetWarnings } from '../core/crowdsec.ts';
import type { HostFacts } from '../core/facts.ts';
import { getIniValue, listIniSections } from '../core/ini-edit.ts';
import { JAIL_LOCAL } from '../core/paths.ts';
import { LOOPBACK, tidyWhitelist, whitelistOfJail } from '../core/whitelist.ts';
import { fleetStatus } from '../adapters/fleet-status.ts';
import { parseJailName } from '../core/validate.ts';
import { UnsupportedError, UsageError } from '../errors.ts';
import { duplicateJailWarnings } from './duplicate-jails.ts';
import { checkJail, type DoctorRun } from './jail.ts';
import { openFilesOnce } from './proc.ts';
import { reportVerdict, type DoctorCheck, type DoctorOptions, type DoctorReport, type JailDoctor } from '../core/doctor/report.ts';

/** 1. Rights and arguments. */
function checkArguments(options: DoctorOptions, ctx: Context): void {
  // fail2ban's socket and the firewall are root's.
  if (ctx.live && ctx.uid !== 0) {
    throw new UnsupportedError("doctor must run as root: fail2ban's socket and the firewall are root's", 'run it with sudo');
  }
  if (options.jail) parseJailName(options.jail);
  if (!Number.isInteger(options.lines) || options.lines < 1 || options.lines > 100000) {
    throw new UsageError(`invalid --lines '${options.lines}': expected a whole number from 1 to 100000`);
  }
}

/** Seconds since the server started: its pid file is written then. */
async function uptimeOf(ctx: Context, socket: string | null): Promise<number | null> {
  const pidFiles = socket ? [path.join(path.dirname(socket), 'fail2ban.pid')] : ['/run/fail2ban/fail2ban.pid', '/var/run/fail2ban/fail2ban.pid'].map((p) => ctx.fs.real(p));
  for (const p of pidFiles) {
    const mtime = await realMtime(p);
    if (mtime !== null) return Math.max(0, Math.round((ctx.now().getTime() - mtime) / 1000));
  }
  return null;
}

interface ServerView {
  running: boolean;
  version: string | null;
  uptimeSeconds: number | null;
  jails: string[];
  warnings: string[];
}

/** 2. The server: running, its version and uptime, the jails to check. */
async function serverView(ctx: Context, f2b: DoctorFail2ban, jailLocal: string, only: string | undefined): Promise<ServerView> {
  const ping = await f2b.ping();
  const v: ServerView = { running: ping.ok, version: null, uptimeSeconds: null, jails: [], warnings: [] };
  if (v.running) {
    v.version = await f2b.version();
    v.uptimeSeconds = await uptimeOf(ctx, f2b.socket);
    v.jails = await f2b.jails();
  } else {
    // Not running: check what jail.local enables, so the admin still learns what would fail.
    // The adapter's "fail2ban is not running …: no socket at …" → what it found.
    const why = ping.error.replace(/^fail2ban is not running[^:]*:\s*/, '') || 'no answer';
    v.warnings.push(`fail2ban is not running (${why}): nothing is banned; start it with: service fail2ban start (or fail2ban-client -x start)`);
    v.jails = listIniSections(jailLocal).filter((s) => s !== 'DEFAULT' && s !== 'INCLUDES' && /^(true|yes|1|on)$/i.test(getIniValue(jailLocal, s, 'enabled') ?? ''));
  }
  if (only) {
    if (!v.jails.includes(only)) {
      const state = v.running ? 'active' : 'enabled';
      throw new UsageError(`jail '${only}' is not ${v.running ? 'active' : 'enabled in jail.local'}; ${state} jails: ${v.jails.join(', ') || 'none'}`);
    }
    v.jails = [only];
  }
  return v;
}

/** The report around the jails' results: the admin's whitelisting, duplicate jails, the fleet. */
async function report(ctx: Context, server: ServerView, admin: string | null, jails: JailDoctor[]): Promise<DoctorReport> {
  const warnings = [...server.warnings];
  const adminResults = jails.map((j) => j.checks.find((c) => c.name === 'admin whitelisted')).filter(Boolean) as DoctorCheck[];
  warnings.push(...(await duplicateJailWarnings(ctx)));
  // The CrowdSec fleet link (issue 13): where this host is a member, its state as `status` shows it.
  const fleet = await fleetStatus(ctx);
  if (fleet) warnings.push(...fleetWarnings(fleet));
  return {
    ...(fleet ? { fleet } : {}),
    command: 'doctor',
    verdict: reportVerdict(server.running, jails),
    fail2banRunning: server.running,
    fail2banVersion: server.version,
    uptimeSeconds: server.uptimeSeconds,
    adminAddress: admin,
    adminWhitelisted: admin && adminResults.length ? adminResults.every((c) => c.verdict === 'ok') : null,
    jails,
    warnings,
  };
}

/** doctor: the report of every active jail (or `options.jail`). Changes nothing but a test ban it lifts. */
export async function runDoctor(options: DoctorOptions, ctx: Context): Promise<DoctorReport> {
  checkArguments(options, ctx);
  // 2. fail2ban: the system's own on the live host; under --root, the one whose configuration
  // and socket are under that root (a container, a chroot, a test tree), never the host's.
  const f2b = await doctorFail2ban(ctx, options.socket ?? ctx.env.VOIP_F2B_SOCKET ?? null);
  const toolLogs = new Set((await readManifest(ctx.fs).catch(() => null))?.manifest.logs ?? []);
  const jailLocal = (await ctx.fs.readText(JAIL_LOCAL)) ?? '';
  const server = await serverView(ctx, f2b, jailLocal, options.jail);
  const admin = adminAddressFromEnv(ctx.env);
  let facts: HostFacts | undefined;
  let liveFacts: HostFacts | undefined;
  const scratch = await scratchDir();
  const run: DoctorRun = {
    ctx,
    options,
    f2b,
    running: server.running,
    settings: server.running ? await f2b.settings(server.jails) : new Map(),
    jailLocal,
    admin,
    toolLogs,
    defaultIgnore: [...tidyWhitelist([...LOOPBACK, ...whitelistOfJail(jailLocal)])],
    scratch,
    hostFacts: async () => (facts ??= await gatherFacts({ ...ctx, live: false })),
    // Whether a service runs, and its program (the live checks ask the running service itself).
    runningFacts: async () => (ctx.live ? (liveFacts ??= await gatherFacts(ctx)) : null),
    openFiles: openFilesOnce(),
  };
  const jails: JailDoctor[] = [];
  try {
    for (const jail of server.jails) jails.push(await checkJail(run, jail));
  } finally {
    await scratch.remove();
  }
  return report(ctx, server, admin, jails);
}
