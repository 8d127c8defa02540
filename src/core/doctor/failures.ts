/**
 * Which service a jail belongs to, and the lines of its logs that look like failures: both asked
 * of the service modules (src/core/services/), never by a service's name here. Pure.
 */
import { SERVICE_MODULES } from '../services/index.ts';
import type { JailExpectation, ServiceModule } from '../services/types.ts';
import type { FailureLines } from './report.ts';

/** Lines are attacker text: the doctor looks at no more than this much of each. */
export const MAX_HINT_LINE = 4096;

/** A filter's name without its arguments (`voip-asterisk[count=once]` → `voip-asterisk`). */
const filterName = (filter: string): string => filter.replace(/\[.*$/s, '').trim();

/** The module whose jail `jail` is (its `jails`): doctor runs its own checks for it. */
export function jailOwner(jail: string, modules: readonly ServiceModule[] = SERVICE_MODULES): ServiceModule | undefined {
  return modules.find((m) => m.jails.includes(jail));
}

/**
 * The module that says what jail `jail` with filter `filter` should match: its owner, else the
 * module whose filters, adopted filters or `doctorFilters` name that filter (a stock `asterisk`
 * jail, the distro's `sshd`). Undefined for a jail no module knows: then nothing is expected.
 */
export function jailModule(jail: string, filter: string, modules: readonly ServiceModule[] = SERVICE_MODULES): ServiceModule | undefined {
  const name = filterName(filter);
  const names = (m: ServiceModule): string[] => [...m.filters.map((f) => f.replace(/\.conf$/, '')), ...(m.adopts ?? []), ...(m.doctorFilters ?? [])];
  return jailOwner(jail, modules) ?? modules.find((m) => names(m).includes(name));
}

/**
 * The lines a jail is meant to match, and those it skips on purpose (by why), in `lines`: its
 * service module's {@link JailExpectation}. Each line is looked at up to MAX_HINT_LINE characters.
 */
export function countFailureLines(exp: JailExpectation | null | undefined, lines: string[]): FailureLines {
  const out: FailureLines = { expected: 0, skipped: [] };
  if (!exp) return out;
  const counts = new Map<string, number>();
  for (const raw of lines) {
    const line = raw.slice(0, MAX_HINT_LINE);
    const skip = exp.skips?.find((s) => (typeof s.line === 'function' ? s.line(line) : s.line.test(line)));
    if (skip) counts.set(skip.why, (counts.get(skip.why) ?? 0) + 1);
    else if (exp.failures.test(line)) out.expected++;
  }
  out.skipped = [...counts].map(([why, count]) => ({ why, count }));
  return out;
}
