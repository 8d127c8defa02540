import { fstatSync, writeSync } from 'node:fs';
import { builtin } from '../builtin.ts';

/**
 * The program's output, written to file descriptors 1 and 2 directly. `process.stdout` and
 * `process.stderr` are streams whose first use loads Node's net and stream modules (~3 ms of a
 * no-op re-run's start-up); a pipe, a file or /dev/null needs none of that. Writes stay in order:
 * Node's own stdio is synchronous for files, pipes and terminals on Linux, and so is this. A
 * descriptor that cannot take a synchronous write (a non-blocking pipe that is full, EAGAIN) or
 * fails otherwise goes over to Node's stream for the rest of the run, which then behaves as Node
 * always does.
 */
export type StdFd = 0 | 1 | 2;

const terminal = new Map<StdFd, boolean>();
const onStream = new Set<1 | 2>();

/**
 * Whether the descriptor is a terminal. Only a character device can be one; /dev/null and its
 * kin (major 1) are not, so a run under cron, cloud-init or CI never loads the tty module.
 */
export function isTerminal(fd: StdFd): boolean {
  let known = terminal.get(fd);
  if (known === undefined) {
    let st: ReturnType<typeof fstatSync> | undefined;
    try {
      st = fstatSync(fd);
    } catch {
      st = undefined;
    }
    const major = st ? (st.rdev >> 8) & 0xfff : 0;
    known = Boolean(st?.isCharacterDevice()) && major !== 1 && builtin<typeof import('node:tty')>('node:tty').isatty(fd);
    terminal.set(fd, known);
  }
  return known;
}

/** Writes `text` to stdout (1) or stderr (2). */
export function writeStd(fd: 1 | 2, text: string): void {
  let buf = Buffer.from(text, 'utf8');
  if (!onStream.has(fd) && !isTerminal(fd)) {
    try {
      while (buf.length > 0) buf = buf.subarray(writeSync(fd, buf));
      return;
    } catch {
      onStream.add(fd);
    }
  }
  if (buf.length > 0) (fd === 1 ? process.stdout : process.stderr).write(buf);
}

/** Whether `fd` went over to Node's stream (for the tests). */
export function onNodeStream(fd: 1 | 2): boolean {
  return onStream.has(fd);
}
