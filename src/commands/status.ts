import path from 'node:path';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { activeJails, jailStatuses, type JailStatus } from '../adapters/fail2ban.ts';
import { processAlive } from '../adapters/facts.ts';
import { isTestBan } from '../core/test-bans.ts';
import { WEB_CGROUP_PROCS, WEB_INITD, WEB_PIDFILE, WEB_UNIT, formatWebViewStatus, webListenOf, type WebViewStatus } from '../core/web-service.ts';
import { BOUNCER_PIDFILE, PUSHER, PUSHER_CONFIG, PUSH_SPOOL, fleetStatusCommand, formatFleetStatus, parseFleetStatus, type FleetStatus } from '../core/crowdsec.ts';

export type { JailStatus };

export interface StatusReport {
  command: 'status';
  jails: JailStatus[];
  /** The CrowdSec fleet link, where this host is a member (install --crowdsec-lapi). */
  fleet?: FleetStatus;
  /** The web view's boot service, where install --web made one. */
  webView?: WebViewStatus;
}

/** A jail name as fail2ban allows them (no spaces or shell characters). */
export function parseJailName(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(raw)) {
    throw new UsageError(`invalid jail name '${raw}': expected letters, digits, '.', '_', '-' (e.g. voip-asterisk)`);
  }
  return raw;
}

/**
 * A jail's status without doctor's own test bans (src/core/test-bans.ts): they are not
 * attackers, so they are neither listed nor counted as currently banned. (fail2ban's "total
 * banned" counter cannot be corrected: it is shown as fail2ban keeps it.)
 */
export function withoutTestBans(j: JailStatus): JailStatus {
  const bannedIps = j.bannedIps.filter((ip) => !isTestBan(ip));
  return { ...j, bannedIps, currentlyBanned: Math.max(0, j.currentlyBanned - (j.bannedIps.length - bannedIps.length)) };
}

/**
 * `status [jail]`: each jail's counters and banned addresses, asked over fail2ban's socket
 * (under --root, the root's; never the host's fail2ban).
 */
export async function status(options: { jail?: string }, ctx: Context): Promise<StatusReport> {
  const jails = options.jail ? [parseJailName(options.jail)] : await activeJails(ctx);
  const out = (await jailStatuses(ctx, jails)).map(withoutTestBans);
  const fleet = await fleetStatus(ctx);
  const webView = await webViewStatus(ctx);
  return { command: 'status', jails: out, ...(fleet ? { fleet } : {}), ...(webView ? { webView } : {}) };
}

/** The web view's service (install --web): running from its pid file, or its systemd cgroup. Files only. */
export async function webViewStatus(ctx: Context): Promise<WebViewStatus | undefined> {
  for (const service of [WEB_UNIT, WEB_INITD]) {
    const text = await ctx.fs.readText(service);
    if (text === null) continue;
    let pid: number | null = null;
    if (service === WEB_UNIT) pid = Number.parseInt(((await ctx.fs.readText(WEB_CGROUP_PROCS)) ?? '').trim().split('\n')[0] ?? '', 10) || null;
    else pid = Number.parseInt((await ctx.fs.readText(WEB_PIDFILE))?.trim() ?? '', 10) || null;
    const running = pid !== null && processAlive(pid);
    return { service, running, pid: running ? pid : null, listen: webListenOf(text) };
  }
  return undefined;
}

/** The fleet link's state where the pusher is configured; a failed query is reported, not thrown. */
export async function fleetStatus(ctx: Context): Promise<FleetStatus | undefined> {
  if (!(await ctx.fs.exists(PUSHER_CONFIG))) return undefined;
  if (!ctx.live) return fleetStatusUnderRoot(ctx);
  const pid = Number.parseInt((await ctx.fs.readText(BOUNCER_PIDFILE)) ?? '', 10);
  const bouncer: FleetStatus['bouncer'] = Number.isInteger(pid) && pid > 0 ? (processAlive(pid) ? 'running' : 'stopped') : 'unknown';
  const r = await ctx.run(fleetStatusCommand(path.posix.join(ctx.root, PUSHER), path.posix.join(ctx.root, PUSHER_CONFIG)));
  return (
    parseFleetStatus(r.stdout, bouncer) ?? {
      lapi: '?', machine: '?', reachable: false, error: `${PUSHER} status exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}`,
      queued: 0, lastPushAt: null, lastError: null, bouncer,
    }
  );
}

/**
 * Under --root: the link's state from the root's files only. The pusher is not run (it would ask
 * the LAPI, and its spool path names the host's /var/lib), and no process of the root is alive here.
 */
async function fleetStatusUnderRoot(ctx: Context): Promise<FleetStatus> {
  let cfg: Record<string, unknown> = {};
  try {
    cfg = JSON.parse((await ctx.fs.readText(PUSHER_CONFIG)) ?? '{}') as Record<string, unknown>;
  } catch {
    // an unreadable config: the link's state is unknown
  }
  const spool = typeof cfg.spool === 'string' && cfg.spool.startsWith('/') ? cfg.spool : PUSH_SPOOL;
  let state: Record<string, unknown> = {};
  try {
    state = JSON.parse((await ctx.fs.readText(`${spool}/state.json`)) ?? '{}') as Record<string, unknown>;
  } catch {
    // no state yet
  }
  const queued = (await ctx.fs.list(`${spool}/queue`).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).length;
  const line = JSON.stringify({ url: cfg.url, machine: cfg.login, reachable: false, error: 'not asked under --root (the LAPI is a service of the running host)', queued, lastPushAt: state.lastPushAt, lastError: state.lastError });
  return parseFleetStatus(line, 'unknown')!;
}

export function formatStatus(r: StatusReport, now = new Date()): string {
  const fleet = `${r.fleet ? `${formatFleetStatus(r.fleet, now)}\n` : ''}${r.webView ? `${formatWebViewStatus(r.webView)}\n` : ''}`;
  if (!r.jails.length) return `fail2ban runs with no jails.\n${fleet}`;
  return `${r.jails
    .map((j) => `${j.jail}: ${j.currentlyBanned} banned (${j.totalBanned} total), ${j.currentlyFailed} failing (${j.totalFailed} total)${j.bannedIps.length ? `\n  banned: ${j.bannedIps.join(' ')}` : ''}`)
    .join('\n')}\n${fleet}`;
}
