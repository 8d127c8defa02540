import type { Context } from '../context.ts';
import { parseJailList } from '../adapters/apply.ts';
import { UsageError } from '../errors.ts';
import { fail2banClient } from './fail2ban-client.ts';

export interface JailStatus {
  jail: string;
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  bannedIps: string[];
  files: string[];
}

export interface StatusReport {
  command: 'status';
  jails: JailStatus[];
}

/** A jail name as fail2ban allows them (no spaces or shell characters). */
export function parseJailName(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(raw)) {
    throw new UsageError(`invalid jail name '${raw}': expected letters, digits, '.', '_', '-' (e.g. voip-asterisk)`);
  }
  return raw;
}

/** Parses `fail2ban-client status <jail>`. */
export function parseJailStatus(jail: string, stdout: string): JailStatus {
  const num = (label: string): number => Number(new RegExp(`${label}:\\s*(\\d+)`).exec(stdout)?.[1] ?? 0);
  const list = (label: string): string[] => (new RegExp(`${label}:[ \\t]*(.*)$`, 'm').exec(stdout)?.[1] ?? '').split(/\s+/).filter(Boolean);
  return {
    jail,
    currentlyFailed: num('Currently failed'),
    totalFailed: num('Total failed'),
    currentlyBanned: num('Currently banned'),
    totalBanned: num('Total banned'),
    bannedIps: list('Banned IP list'),
    files: list('File list'),
  };
}

/** `status [jail]`: each jail's counters and banned addresses. */
export async function status(options: { jail?: string }, ctx: Context): Promise<StatusReport> {
  const jails = options.jail ? [parseJailName(options.jail)] : parseJailList((await fail2banClient(ctx, ['status'])).stdout);
  const out: JailStatus[] = [];
  for (const j of jails) out.push(parseJailStatus(j, (await fail2banClient(ctx, ['status', j])).stdout));
  return { command: 'status', jails: out };
}

export function formatStatus(r: StatusReport): string {
  if (!r.jails.length) return 'fail2ban runs with no jails.\n';
  return `${r.jails
    .map((j) => `${j.jail}: ${j.currentlyBanned} banned (${j.totalBanned} total), ${j.currentlyFailed} failing (${j.totalFailed} total)${j.bannedIps.length ? `\n  banned: ${j.bannedIps.join(' ')}` : ''}`)
    .join('\n')}\n`;
}
