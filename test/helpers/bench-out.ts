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

/**
 * The reference of the scanner figures: the same jail without its guard, in a fail2ban started
 * afresh (the guard's settings live in the running server), as stock fail2ban runs it.
 */
export function withoutGuard(host: { read(f: string): string | null; exec(cmd: string, args: string[], o?: { input?: string; timeoutMs?: number }): { status: number | null; stderr: string } }): void {
  const jail = host.read('/etc/fail2ban/jail.local') ?? '';
  host.exec('sh', ['-c', 'cat > /etc/fail2ban/jail.local'], { input: jail.replace(/^\s*voip-f2b-guard\.py\[[^\n]*\]\n/gm, '') });
  const r = host.exec('fail2ban-client', ['restart'], { timeoutMs: 60000 });
  if (r.status !== 0) throw new Error(`fail2ban-client restart: ${r.stderr}`);
}
