import { isIP } from 'node:net';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { fail2banClient } from './fail2ban-client.ts';
import { parseJailName } from './status.ts';

export interface UnbanReport {
  command: 'unban';
  ip: string;
  jail: string | null;
  unbanned: boolean;
}

/** `unban <ip> [--jail name]`: lifts a ban in one jail or in all of them. */
export async function unban(options: { ip: string; jail?: string }, ctx: Context): Promise<UnbanReport> {
  if (!isIP(options.ip)) throw new UsageError(`invalid address '${options.ip}': expected an IPv4 or IPv6 address`);
  const jail = options.jail ? parseJailName(options.jail) : null;
  const r = jail ? await fail2banClient(ctx, ['set', jail, 'unbanip', options.ip]) : await fail2banClient(ctx, ['unban', options.ip]);
  // fail2ban prints the number of addresses it unbanned (or 1/0 for one jail).
  const n = Number(/(\d+)\s*$/.exec(r.stdout.trim())?.[1] ?? '0');
  return { command: 'unban', ip: options.ip, jail, unbanned: n > 0 };
}
