import { execa } from 'execa';

/** A process call as data: never a shell string. */
export interface Command {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  /** Kill the process after this many milliseconds (bounded waits everywhere). */
  timeoutMs?: number;
  input?: string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** True when the command could not be started (not installed). */
  notFound?: boolean;
  timedOut?: boolean;
}

/** Runs one command; never throws for a non-zero exit (callers decide). */
export type Runner = (command: Command) => Promise<RunResult>;

/** Human-readable form of a command, for plans and error messages only (never executed). */
export function formatCommand(c: Command): string {
  const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${quote(v)} `).join('');
  return env + [c.cmd, ...c.args].map(quote).join(' ');
}

/** The real runner, over execa, with no shell. */
export function execaRunner(baseEnv: Record<string, string | undefined> = process.env): Runner {
  return async (c) => {
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
