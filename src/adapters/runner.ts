import { CommandFailedError } from '../errors.ts';
import { formatCommand, tail, type Command, type RunResult, type Runner } from '../core/command.ts';
import { DPKG_LOCK_TIMEOUT_S } from '../core/packages.ts';

export { formatCommand, tail, type Command, type RunResult, type Runner } from '../core/command.ts';

/**
 * The one "run or throw" helper: runs `c`, and when it exits non-zero throws CommandFailedError
 * with the command line, its exit code and the tail of its output. `what` says what the command
 * was for; `why` may refine it from the result (e.g. "fail2ban is not running").
 */
export async function runOrThrow(run: Runner, c: Command, what: string, o: { why?: (r: RunResult) => string; tailLines?: number } = {}): Promise<RunResult> {
  const r = await run(c);
  if (r.exitCode === 0) return r;
  const lock = /Could not get lock|dpkg frontend lock|Waited \d+ seconds/i.test(r.stderr);
  const why = lock ? `${what}: the package manager is busy (lock held for more than ${DPKG_LOCK_TIMEOUT_S} s); try again when it is done` : (o.why?.(r) ?? what);
  throw new CommandFailedError(formatCommand(c), r.exitCode, tail(r.stderr || r.stdout, o.tailLines), why);
}

/** The real runner, over execa, with no shell. */
export function execaRunner(baseEnv: Record<string, string | undefined> = process.env): Runner {
  return async (c) => {
    // Loaded on first use: --help, --version and a no-op re-run never pay for execa.
    const { execa } = await import('execa');
    try {
      const r = await execa(c.cmd, c.args, {
        env: { ...baseEnv, ...c.env },
        extendEnv: false,
        reject: false,
        shell: false,
        stdin: c.input === undefined ? 'ignore' : 'pipe',
        ...(c.input !== undefined ? { input: c.input } : {}),
        ...(c.timeoutMs ? { timeout: c.timeoutMs } : {}),
        stripFinalNewline: false,
      });
      const notFound = (r as { code?: string }).code === 'ENOENT';
      return {
        exitCode: r.exitCode ?? (notFound ? 127 : 1),
        stdout: String(r.stdout ?? ''),
        stderr: String(r.stderr ?? '') || (notFound ? `${c.cmd}: not found` : ''),
        notFound,
        timedOut: r.timedOut,
      };
    } catch (err) {
      return { exitCode: 127, stdout: '', stderr: String((err as Error).message), notFound: true };
    }
  };
}
