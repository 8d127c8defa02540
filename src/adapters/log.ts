/**
 * Progress and diagnostics go to stderr; stdout is kept for the report (`--json`).
 *
 * - On a terminal: lines with a marker, coloured unless NO_COLOR is set (https://no-color.org)
 *   or TERM=dumb. A `step` (a long action: package install, fail2ban start) shows a live
 *   spinner with the elapsed time until the next line is written, then stays as one plain line
 *   with its duration.
 * - Elsewhere (cloud-init's log, a pipe, CI): timestamped plain lines, never colour or cursor
 *   codes; a step still running after `heartbeatMs` prints a "still running" line now and then,
 *   and one that took a while ends with a line saying how long it took.
 */
export interface Logger {
  info(msg: string): void;
  /** A long action starts; it lasts until the next line is logged (or `close`). */
  step(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** Report text (not JSON) goes to stdout. */
  out(text: string): void;
  /** Ends a live progress line, if any; call before writing to stderr directly or exiting. */
  close(): void;
}

export interface LoggerOptions {
  tty: boolean;
  color: boolean;
  quiet?: boolean;
  now?: () => Date;
  write?: (stream: 'stdout' | 'stderr', text: string) => void;
  /** Terminal width, to keep the live line on one row (default: stderr's, else 80). */
  columns?: number;
  /** Spinner frame interval on a terminal (ms). */
  frameMs?: number;
  /** Without a terminal: how often a running step says it is still running (ms). */
  heartbeatMs?: number;
}

/** Colour on stderr: only on a terminal, and not when NO_COLOR is set (non-empty) or TERM=dumb. */
export function colorWanted(env: Record<string, string | undefined>, tty: boolean): boolean {
  return tty && !env.NO_COLOR && env.TERM !== 'dumb';
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function seconds(ms: number): string {
  return ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function createLogger(o: LoggerOptions): Logger {
  const write = o.write ?? ((s, t) => {
    process[s].write(t);
  });
  const now = o.now ?? (() => new Date());
  const paint = (code: string, s: string): string => (o.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const stamp = (): string => now().toISOString();
  const plain = (tag: string, colour: string, msg: string): void => {
    if (o.tty) write('stderr', `${paint(colour, tag)} ${msg}\n`);
    else write('stderr', `${stamp()} ${tag} ${msg}\n`);
  };

  // The step in progress, if any.
  let active: { msg: string; started: number; timer: ReturnType<typeof setInterval> | null; frame: number } | null = null;
  const finish = (): void => {
    if (!active) return;
    const a = active;
    active = null;
    if (a.timer) clearInterval(a.timer);
    const took = Date.now() - a.started;
    if (o.tty) write('stderr', `\r\x1b[K${paint('36', '→')} ${a.msg}${took >= 1000 ? paint('2', ` (${seconds(took)})`) : ''}\n`);
    else if (took >= 5000) write('stderr', `${stamp()} · took ${seconds(took)}: ${a.msg}\n`);
  };
  const draw = (): void => {
    if (!active) return;
    const width = Math.max(20, (o.columns ?? process.stderr.columns ?? 80) - 12);
    const msg = active.msg.length > width ? `${active.msg.slice(0, width - 1)}…` : active.msg;
    const frame = FRAMES[active.frame++ % FRAMES.length]!;
    write('stderr', `\r\x1b[K${paint('36', frame)} ${msg} ${paint('2', seconds(Date.now() - active.started))}`);
  };
  const startStep = (msg: string): void => {
    finish();
    const started = Date.now();
    if (o.tty) {
      active = { msg, started, timer: null, frame: 0 };
      draw();
      active.timer = setInterval(draw, o.frameMs ?? 100);
    } else {
      write('stderr', `${stamp()} → ${msg}\n`);
      active = { msg, started, timer: null, frame: 0 };
      active.timer = setInterval(() => {
        if (active) write('stderr', `${stamp()} · still running (${seconds(Date.now() - active.started)}): ${active.msg}\n`);
      }, o.heartbeatMs ?? 30000);
    }
    // A forgotten step must never keep the process alive.
    (active.timer as { unref?: () => void } | null)?.unref?.();
  };

  return {
    info: (m) => {
      if (o.quiet) return;
      finish();
      plain('·', '2', m);
    },
    step: (m) => {
      if (o.quiet) return;
      startStep(m);
    },
    warn: (m) => {
      finish();
      plain('!', '33', `warning: ${m}`);
    },
    error: (m) => {
      finish();
      plain('✗', '31', m);
    },
    out: (t) => {
      finish();
      write('stdout', t.endsWith('\n') ? t : `${t}\n`);
    },
    close: finish,
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
    close: () => undefined,
  };
}
