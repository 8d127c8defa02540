import { isIP } from 'node:net';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { unbanAddress } from '../adapters/fail2ban.ts';
import { parseJailName } from '../core/validate.ts';

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
  // Over fail2ban's socket (under --root, the root's): fail2ban answers how many bans it lifted.
  const n = await unbanAddress(ctx, options.ip, jail);
  return { command: 'unban', ip: options.ip, jail, unbanned: n > 0 };
}
