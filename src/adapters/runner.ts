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

/** The PATH every child gets: system directories only, none a user can write. */
export const CHILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What children inherit from the caller's environment: proxy settings (apt behind a proxy). */
const PASSED_ON = /^(?:https?_proxy|no_proxy|HTTPS?_PROXY|NO_PROXY)$/;

/**
 * The environment every child starts from, whatever the caller's was: a fixed PATH, a fixed
 * locale (the tool reads its children's output), HOME of the user running it (root's own), and
 * proxy settings only. No PYTHONPATH, LD_PRELOAD, PATH entry or the like from the shell the
 * admin ran sudo in reaches a root process. The command's own `env` is added on top.
 */
export function childEnv(baseEnv: Record<string, string | undefined>, uid = process.getuid?.() ?? 0): Record<string, string> {
  const env: Record<string, string> = { PATH: CHILD_PATH, LANG: 'C.UTF-8', HOME: uid === 0 ? '/root' : (baseEnv.HOME ?? '/') };
  for (const [k, v] of Object.entries(baseEnv)) if (v !== undefined && PASSED_ON.test(k)) env[k] = v;
  return env;
}

/**
 * The real runner, over execa, with no shell. Every child runs in `/` (never the directory the
 * admin started the tool from, where another account may have planted a `json.py` that a
 * `python -c` would import) with childEnv's fixed environment.
 */
export function execaRunner(baseEnv: Record<string, string | undefined> = process.env): Runner {
  const base = childEnv(baseEnv);
  return async (c) => {
    // Loaded on first use: --help, --version and a no-op re-run never pay for execa.
    const { execa } = await import('execa');
    try {
      const r = await execa(c.cmd, c.args, {
        env: { ...base, ...c.env },
        extendEnv: false,
        cwd: '/',
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
