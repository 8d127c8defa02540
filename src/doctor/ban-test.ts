/**
 * doctor's ban round trip: a TEST-NET-3 address (203.0.113.251-254, never a real one) banned in
 * the jail through fail2ban, looked for in the firewall, unbanned, looked for again.
 */
import type { Context } from '../context.ts';
import type { DoctorFail2ban } from '../adapters/fail2ban.ts';
import { lastLines } from '../adapters/log-tail.ts';
import type { Command } from '../adapters/runner.ts';
import { firewallHas, pickTestAddress } from '../core/doctor/checks.ts';
import type { DoctorCheck } from '../core/doctor/report.ts';

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

/** The firewall tools that show `ip` now. */
async function seenIn(ctx: Context, ip: string): Promise<string[]> {
  const tools: string[] = [];
  for (const v of FIREWALL_VIEWS) {
    const r = await ctx.run({ ...v.command, timeoutMs: 15000 });
    if (r.exitCode === 0 && firewallHas(r.stdout, ip)) tools.push(v.tool);
  }
  return tools;
}

/** Waits (up to BAN_WAIT_MS) until `ip` is (or is no longer) in the firewall: the tools that show it. */
async function waitUntil(ctx: Context, ip: string, present: boolean): Promise<string[]> {
  const deadline = Date.now() + BAN_WAIT_MS;
  for (;;) {
    const tools = await seenIn(ctx, ip);
    if ((tools.length > 0) === present || Date.now() >= deadline) return tools;
    await sleep(100);
  }
}

/** fail2ban's own error lines about `jail` written since `sinceMs` (its log target), if readable. */
async function fail2banErrors(ctx: Context, f2b: DoctorFail2ban, jail: string, sinceMs: number): Promise<string[]> {
  const target = await f2b.logTarget();
  if (!target) return [];
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

/** What the round trip saw. */
interface Trip {
  ip: string;
  /** fail2ban's refusal of the ban ('' when it took it). */
  refused: string;
  answer: string;
  seen: string[];
  left: string[];
  started: number;
  ms: number;
}

/** Bans `ip` in `jail`, waits for the firewall, always unbans and waits again. */
async function trip(ctx: Context, f2b: DoctorFail2ban, jail: string, ip: string): Promise<Trip> {
  const started = Date.now();
  const t: Trip = { ip, refused: '', answer: '', seen: [], left: [], started, ms: 0 };
  try {
    const b = await f2b.ban(jail, ip);
    t.refused = b.ok ? '' : b.error || 'refused';
    t.answer = b.stdout.trim();
    // fail2ban answers the number of addresses it banned: 1.
    if (b.ok && t.answer === '1') t.seen = await waitUntil(ctx, ip, true);
  } finally {
    await f2b.unban(jail, ip);
    t.left = await waitUntil(ctx, ip, false);
  }
  t.ms = Date.now() - started;
  return t;
}

/** The verdict of a round trip. */
async function tripCheck(ctx: Context, f2b: DoctorFail2ban, jail: string, actions: string[], t: Trip): Promise<DoctorCheck> {
  const name = 'ban round trip';
  const { ip } = t;
  if (t.refused || t.answer !== '1') {
    return {
      name,
      verdict: 'broken',
      detail: `fail2ban did not ban the test address ${ip} (${t.refused ? `it refused: ${t.refused.slice(0, 200)}` : `it answered '${t.answer.slice(0, 80)}'`})`,
      fix: `check the jail: fail2ban-client status ${jail}`,
    };
  }
  if (!t.seen.length) {
    const errors = await fail2banErrors(ctx, f2b, jail, t.started);
    return {
      name,
      verdict: 'broken',
      detail: `banned ${ip} in fail2ban, but it did not appear in the firewall (${FIREWALL_VIEWS.map((v) => v.tool).join(', ')}) within ${BAN_WAIT_MS / 1000} s: attackers are not blocked${errors.length ? `; fail2ban says: ${errors.join(' | ')}` : ''}`,
      fix: `check the jail's action (${actions.join(', ') || 'none'}) and that its firewall tool works; fail2ban's log names the failing command`,
    };
  }
  if (t.left.length) {
    return { name, verdict: 'broken', detail: `the test ban of ${ip} reached the firewall (${t.seen.join(', ')}) but the unban did not remove it`, fix: `check the action's unban command; remove the rule for ${ip} by hand` };
  }
  return { name, verdict: 'ok', detail: `banned ${ip}: seen in ${t.seen.join(', ')}; unbanned: gone (${t.ms} ms)` };
}

/**
 * The ban round trip of `jail`. `compact` (the end of install): a jail that mails every ban is
 * skipped (run doctor for it on purpose).
 */
export async function banRoundTrip(ctx: Context, f2b: DoctorFail2ban, jail: string, ignoreip: string[], actions: string[], compact: boolean): Promise<DoctorCheck> {
  const name = 'ban round trip';
  if (compact && actions.some((a) => /mail/i.test(a))) {
    return { name, verdict: 'ok', detail: `skipped: the jail mails every ban (run voip-f2b-install doctor ${jail} to test it; it sends one alert for a 203.0.113.0/24 test address)` };
  }
  const ip = pickTestAddress(ignoreip);
  if (!ip) return { name, verdict: 'warning', detail: 'skipped: every test address (203.0.113.251-254) is whitelisted', fix: 'narrow the 203.0.113.0/24 entry in ignoreip' };
  if ((await seenIn(ctx, ip)).length) {
    // A leftover of an interrupted doctor run: lift it through fail2ban first.
    await f2b.unban(jail, ip);
    if ((await waitUntil(ctx, ip, false)).length) {
      return { name, verdict: 'warning', detail: `skipped: the test address ${ip} is already in the firewall, not put there by this jail`, fix: `remove the firewall rule for ${ip}` };
    }
  }
  return tripCheck(ctx, f2b, jail, actions, await trip(ctx, f2b, jail, ip));
}
