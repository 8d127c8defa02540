/** A process call as data: never a shell string. Builders in the core return these; one runner executes them. */
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

/** Last lines of a command's output, for error messages. */
export function tail(text: string, n = 12): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
