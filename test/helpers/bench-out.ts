/**
 * `npm run bench` runs the real scanner tests with VOIP_F2B_BENCH_OUT naming a JSON file: they add
 * their figures to it (and measure their reference, a plain jail, which `npm test` leaves out).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

export const benchMode = (): boolean => Boolean(process.env.VOIP_F2B_BENCH_OUT);

/** Adds `value` under `key` to the bench's JSON file (nothing outside `npm run bench`). */
export function benchOut(key: string, value: unknown): void {
  const file = process.env.VOIP_F2B_BENCH_OUT;
  if (!file) return;
  const all = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  all[key] = value;
  writeFileSync(file, JSON.stringify(all, null, 1));
}

export const median = (xs: number[]): number => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : NaN);

type HostLike = { read(f: string): string | null; exec(cmd: string, args: string[], o?: { input?: string; timeoutMs?: number }): { status: number | null; stdout: string; stderr: string } };

/**
 * The reference of the scanner figures: the same jail without its guard, as stock fail2ban runs it.
 * Each reference run starts from a fresh fail2ban (see {@link freshFail2ban}).
 */
export function withoutGuard(host: HostLike): void {
  const jail = host.read('/etc/fail2ban/jail.local') ?? '';
  host.exec('sh', ['-c', 'cat > /etc/fail2ban/jail.local'], { input: jail.replace(/^\s*voip-f2b-guard\.py\[[^\n]*\]\n/gm, '') });
}

/**
 * fail2ban stopped and started afresh with no ban history (a plain jail has no "fresh start" on
 * unban: an address banned before is banned again at its first failure, which would not measure
 * a first attack), and without the guard's settings, which live in the running server.
 */
export function freshFail2ban(host: HostLike): void {
  const r = host.exec('sh', ['-c', 'fail2ban-client stop >/dev/null; rm -f /var/lib/fail2ban/fail2ban.sqlite3; fail2ban-client -x start'], { timeoutMs: 60000 });
  if (r.status !== 0) throw new Error(`fail2ban restart: ${r.stderr}${r.stdout}`);
}
