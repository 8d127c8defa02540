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
import { processAlive } from './facts.ts';

export const RUN_LOCK = '/run/voip-f2b-install.lock';

/** Another run holds the lock: nothing was changed. */
export class BusyError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.busy, hint);
  }
}

/** The holder a lock file names: `<pid> <command>`. */
function holderOf(text: string | null): { pid: number; what: string } | null {
  const m = /^(\d{1,10}) ([a-z-]{1,40})\n?$/.exec(text ?? '');
  return m ? { pid: Number(m[1]), what: m[2]! } : null;
}

/**
 * Runs `fn` holding the run lock (`what`: the command, for the other run's message). Another
 * live run holding it is exit 5 naming its pid and command; a holder that is gone is replaced.
 */
export async function withRunLock<T>(ctx: Context, what: string, fn: () => Promise<T>): Promise<T> {
  if (!(await ctx.fs.exists('/run'))) return fn();
  let taken = false;
  for (let attempt = 0; attempt < 3 && !taken; attempt++) {
    taken = await ctx.fs.touch(RUN_LOCK, { mode: 0o600 }, `${process.pid} ${what}\n`).catch(() => false);
    if (taken) break;
    const holder = holderOf(await ctx.fs.readText(RUN_LOCK).catch(() => null));
    if (holder && holder.pid !== process.pid && processAlive(holder.pid)) {
      throw new BusyError(
        `another voip-f2b-install run (${holder.what}, pid ${holder.pid}) is changing this host; nothing was changed`,
        `wait for it to finish and run again (a lock left by a run that no longer exists is taken over: ${RUN_LOCK})`,
      );
    }
    // Its holder is gone (killed, or this very process after a crash in a test): take it over.
    await ctx.fs.remove(RUN_LOCK).catch(() => undefined);
  }
  if (!taken) throw new BusyError(`could not take the run lock ${RUN_LOCK}; nothing was changed`, 'run again');
  try {
    return await fn();
  } finally {
    await ctx.fs.remove(RUN_LOCK).catch(() => undefined);
  }
}
