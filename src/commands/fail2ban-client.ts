import type { Context } from '../context.ts';
import { CommandFailedError } from '../errors.ts';
import { formatCommand, type RunResult } from '../adapters/runner.ts';
import { tail } from '../adapters/apply.ts';

/** Runs fail2ban-client with `args`; a failure is a CommandFailedError with fail2ban's message. */
export async function fail2banClient(ctx: Context, args: string[]): Promise<RunResult> {
  const c = { cmd: 'fail2ban-client', args, timeoutMs: 20000 };
  const r = await ctx.run(c);
  if (r.exitCode !== 0) {
    const why = r.notFound ? 'fail2ban is not installed' : /Failed to access socket|Is fail2ban running/i.test(r.stderr + r.stdout) ? 'fail2ban is not running' : 'fail2ban-client failed';
    throw new CommandFailedError(formatCommand(c), r.exitCode, tail(r.stderr || r.stdout, 5), why);
  }
  return r;
}
