/**
 * One run at a time changes a host. install, uninstall and the web view's whitelist change (an
 * install) each journal their writes in the manifest; a second run started meanwhile (cloud-init
 * and an admin, the web view and a shell) would find that journal and "heal" a run still going.
 * So the run that writes holds a lock file, created exclusively in /run (root's alone, emptied at
 * boot; not in the state directory, which must never exist without its manifest): its holder's
 * pid and command. A lock whose holder is gone (a run killed) is taken over: that run's journal
 * is then healed as before. A tree without /run (--root on a bare tree) takes no lock.
 */
import type { Context } from '../context.ts';
import { ExitCode, ToolError } from '../errors.ts';
import { readFileSync } from 'node:fs';

export const RUN_LOCK = '/run/voip-f2b-install.lock';

/** Another run holds the lock: nothing was changed. */
export class BusyError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.busy, hint);
  }
}

/** The holder a lock file names: `<pid> <start> <command>` (start: the process's start time in clock ticks). */
function holderOf(text: string | null): { pid: number; start: string; what: string } | null {
  const m = /^(\d{1,10}) (\d{1,20}) ([a-z-]{1,40})\n?$/.exec(text ?? '');
  return m ? { pid: Number(m[1]), start: m[2]!, what: m[3]! } : null;
}

/** A process's start time (field 22 of /proc/<pid>/stat), which tells it from a later one with its pid; null when it is gone. */
function startOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

/** The live run a lock names, or null when its run is gone (killed: its pid unused, or reused by another process). */
function liveHolder(text: string | null): { pid: number; what: string } | null {
  const h = holderOf(text);
  return h && startOf(h.pid) === h.start ? h : null;
}

function busy(h: { pid: number; what: string }): BusyError {
  return new BusyError(
    `another voip-f2b-install run (${h.what}, pid ${h.pid}) is changing this host; nothing was changed`,
    `wait for it to finish and run again (a lock left by a run that no longer exists is taken over: ${RUN_LOCK})`,
  );
}

/**
 * Runs `fn` holding the run lock (`what`: the command, for the other run's message). Another
 * live run holding it is exit 5 naming its pid and command; a lock whose run is gone is taken
 * over: moved aside under a name of this run's own first (one run's move succeeds), then removed
 * only if what was moved is still that dead run's (else it goes back, and this run is refused).
 */
export async function withRunLock<T>(ctx: Context, what: string, fn: () => Promise<T>): Promise<T> {
  if (!(await ctx.fs.exists('/run'))) return fn();
  const mine = `${process.pid} ${startOf(process.pid) ?? 0} ${what}\n`;
  const aside = `${RUN_LOCK}.stale.${process.pid}`;
  let taken = false;
  for (let attempt = 0; attempt < 3 && !taken; attempt++) {
    taken = await ctx.fs.touch(RUN_LOCK, { mode: 0o600 }, mine).catch(() => false);
    if (taken) break;
    const holder = liveHolder(await ctx.fs.readText(RUN_LOCK).catch(() => null));
    if (holder) throw busy(holder);
    const moved = await ctx.fs.rename(RUN_LOCK, aside).then(() => true, () => false);
    if (!moved) continue; // another run moved it first: try again
    const was = await ctx.fs.readText(aside).catch(() => null);
    const other = liveHolder(was);
    if (other) {
      await ctx.fs.rename(aside, RUN_LOCK); // a live run's fresh lock: back in place
      throw busy(other);
    }
    await ctx.fs.remove(aside);
  }
  if (!taken) throw new BusyError(`could not take the run lock ${RUN_LOCK}; nothing was changed`, 'run again');
  try {
    return await fn();
  } finally {
    await ctx.fs.remove(RUN_LOCK).catch(() => undefined);
  }
}
