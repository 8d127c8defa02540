/**
 * Progress and diagnostics go to stderr; stdout is kept for the report (`--json`).
 * On a terminal: plain lines with a marker (colour unless NO_COLOR). Elsewhere (cloud-init logs):
 * timestamped lines.
 */
export interface Logger {
  info(msg: string): void;
  step(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Report text (not JSON) goes to stdout. */
  out(text: string): void;
}

export interface LoggerOptions {
  tty: boolean;
  color: boolean;
  quiet?: boolean;
  now?: () => Date;
  write?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export function createLogger(o: LoggerOptions): Logger {
  const write = o.write ?? ((s, t) => (s === 'stdout' ? process.stdout : process.stderr).write(t));
  const now = o.now ?? (() => new Date());
  const paint = (code: string, s: string): string => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const line = (tag: string, colour: string, msg: string): void => {
    if (o.tty) write('stderr', `${paint(colour, tag)} ${msg}\n`);
    else write('stderr', `${now().toISOString()} ${tag} ${msg}\n`);
  };
  return {
    info: (m) => !o.quiet && line('·', '2', m),
    step: (m) => !o.quiet && line('→', '36', m),
    warn: (m) => line('!', '33', `warning: ${m}`),
    error: (m) => line('✗', '31', m),
    out: (t) => write('stdout', t.endsWith('\n') ? t : `${t}\n`),
  };
}

/** A logger that records, for tests. */
export function memoryLogger(): Logger & { lines: string[]; stdout: string[] } {
  const lines: string[] = [];
  const stdout: string[] = [];
  return {
    lines,
    stdout,
    info: (m) => lines.push(`info: ${m}`),
    step: (m) => lines.push(`step: ${m}`),
    warn: (m) => lines.push(`warn: ${m}`),
    error: (m) => lines.push(`error: ${m}`),
    out: (t) => stdout.push(t),
  };
}
