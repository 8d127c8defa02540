import type { DoctorCheck, DoctorReport, Verdict } from '../core/doctor/report.ts';

/** How long a `doctor` verdict is shown before it is computed again (in the background). */
export const DOCTOR_TTL_SECONDS = 60;
/** How long the very first page view waits for the first verdicts before showing "checking". */
export const DOCTOR_FIRST_WAIT_MS = 20_000;

/** One jail's verdict as the web view shows it: the checks that are not ok, with their fixes. */
export interface JailVerdict {
  verdict: Verdict;
  checks: DoctorCheck[];
  /** Unix seconds of the doctor run this comes from. */
  checkedAt: number;
}

/** The state of the verdicts for GET /api/jails. */
export interface DoctorState {
  /** Unix seconds of the last finished run; null before the first. */
  checkedAt: number | null;
  /** A run is under way (the first one, or a refresh of stale verdicts). */
  running: boolean;
  /** Why the last run failed, if it did (the previous verdicts are then kept). */
  error: string | null;
  /** The whole report's verdict of the last run. */
  verdict: Verdict | null;
  jails: Record<string, JailVerdict>;
}

export interface DoctorCache {
  /**
   * The verdicts now. Before the first run has finished this waits for it (at most
   * `firstWaitMs`); afterwards it never waits: stale verdicts are returned at once and a refresh
   * starts in the background. Concurrent callers share one run.
   */
  get(): Promise<DoctorState>;
  /** Starts a run now unless one is under way (e.g. at start-up, so the first page is quick). */
  refresh(): Promise<void>;
  /** Marks the verdicts stale (after a change such as a whitelist entry): the next get refreshes. */
  invalidate(): void;
}

/**
 * Caches `doctor` for the web view. doctor runs fail2ban-regex over each jail's live log, which
 * takes seconds, so a page view must not pay for it: the report is reused for `ttlMs` and then
 * recomputed in the background while the old one is still shown (with its time, so the page says
 * how old it is). A failed run keeps the previous verdicts and reports its error.
 */
export function createDoctorCache(compute: () => Promise<DoctorReport>, o: { ttlMs?: number; firstWaitMs?: number; now?: () => number } = {}): DoctorCache {
  const ttlMs = o.ttlMs ?? DOCTOR_TTL_SECONDS * 1000;
  const firstWaitMs = o.firstWaitMs ?? DOCTOR_FIRST_WAIT_MS;
  const now = o.now ?? Date.now;
  let done: { at: number; report: DoctorReport | null; error: string | null } | null = null;
  let lastReport: DoctorReport | null = null;
  let stale = false;
  let inflight: Promise<void> | null = null;

  const run = (): Promise<void> =>
    (inflight ??= (async () => {
      stale = false;
      try {
        const report = await compute();
        lastReport = report;
        done = { at: now(), report, error: null };
      } catch (err) {
        done = { at: now(), report: lastReport, error: (err as Error).message.split('\n')[0] ?? 'doctor failed' };
      } finally {
        inflight = null;
      }
    })());

  const state = (): DoctorState => {
    const r = done?.report ?? null;
    const checkedAt = done ? Math.floor(done.at / 1000) : null;
    const jails: Record<string, JailVerdict> = {};
    for (const j of r?.jails ?? []) {
      jails[j.jail] = { verdict: j.verdict, checks: j.checks.filter((c) => c.verdict !== 'ok'), checkedAt: checkedAt! };
    }
    return { checkedAt: r ? checkedAt : null, running: inflight !== null, error: done?.error ?? null, verdict: r?.verdict ?? null, jails };
  };

  return {
    async get() {
      if (!done) {
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, firstWaitMs)));
        await Promise.race([run(), waited]);
        clearTimeout(timer);
      } else if (stale || now() - done.at >= ttlMs) {
        void run();
      }
      return state();
    },
    refresh: run,
    invalidate() {
      stale = true;
    },
  };
}
