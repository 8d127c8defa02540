import type { Context } from '../context.ts';
import { runOrThrow, type RunResult } from '../adapters/runner.ts';

/** Runs fail2ban-client with `args`; a failure is a CommandFailedError with fail2ban's message. */
export async function fail2banClient(ctx: Context, args: string[]): Promise<RunResult> {
  const c = { cmd: 'fail2ban-client', args, timeoutMs: 20000 };
  return runOrThrow(ctx.run, c, 'fail2ban-client failed', {
    tailLines: 5,
    why: (r) => (r.notFound ? 'fail2ban is not installed' : /Failed to access socket|Is fail2ban running/i.test(r.stderr + r.stdout) ? 'fail2ban is not running' : 'fail2ban-client failed'),
  });
}
