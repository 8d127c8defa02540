import type { Context } from '../context.ts';
import { parseJailName } from '../core/validate.ts';
import { fleetStatus } from '../adapters/fleet-status.ts';
import { activeJails, jailStatuses, type JailStatus } from '../adapters/fail2ban.ts';
import { processAlive } from '../adapters/facts.ts';
import { isTestBan } from '../core/test-bans.ts';
import { WEB_CGROUP_PROCS, WEB_INITD, WEB_PIDFILE, WEB_UNIT, formatWebViewStatus, webListenOf, type WebViewStatus } from '../core/web-service.ts';
import { formatFleetStatus, type FleetStatus } from '../core/crowdsec.ts';

export type { JailStatus };

export interface StatusReport {
  command: 'status';
  jails: JailStatus[];
  /** The CrowdSec fleet link, where this host is a member (install --crowdsec-lapi). */
  fleet?: FleetStatus;
  /** The web view's boot service, where install --web made one. */
  webView?: WebViewStatus;
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


export function formatStatus(r: StatusReport, now = new Date()): string {
  const fleet = `${r.fleet ? `${formatFleetStatus(r.fleet, now)}\n` : ''}${r.webView ? `${formatWebViewStatus(r.webView)}\n` : ''}`;
  if (!r.jails.length) return `fail2ban runs with no jails.\n${fleet}`;
  return `${r.jails
    .map((j) => `${j.jail}: ${j.currentlyBanned} banned (${j.totalBanned} total), ${j.currentlyFailed} failing (${j.totalFailed} total)${j.bannedIps.length ? `\n  banned: ${j.bannedIps.join(' ')}` : ''}`)
    .join('\n')}\n${fleet}`;
}
