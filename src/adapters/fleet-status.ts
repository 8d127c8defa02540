/**
 * The CrowdSec fleet link's state as status, doctor and the watch report it: the pusher's own
 * `status` on the live host, the root's files alone under --root.
 */
import path from 'node:path';
import type { Context } from '../context.ts';
import { processAlive } from './facts.ts';
import { BOUNCER_PIDFILE, PUSHER, PUSHER_CONFIG, PUSH_SPOOL, fleetStatusCommand, parseFleetStatus, type FleetStatus } from '../core/crowdsec.ts';

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
