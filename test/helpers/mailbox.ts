/**
 * Reading what daemons append to this machine's files in the real tests: root's local mailbox
 * (postfix delivers root@localhost there; nothing leaves the machine) and logs such as syslog,
 * from where they stood when a test began.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { pidFromFile, waitFor } from './system.ts';

/** root's local mailbox (mbox). */
export const ROOT_MBOX = '/var/mail/root';

/** The running postfix master's pid (null when it does not run). */
export const postfixPid = (): number | null => pidFromFile('/var/spool/postfix/pid/master.pid');

/** A file's size in bytes (0 when absent): where a later {@link textFrom} starts. */
export function sizeOf(file: string): number {
  return existsSync(file) ? statSync(file).size : 0;
}

/** The text of `file` from byte `offset` on ('' when absent). */
export function textFrom(file: string, offset = 0): string {
  return existsSync(file) ? readFileSync(file).subarray(offset).toString('utf8') : '';
}

/**
 * A mailbox (mbox) read from its start, or from where it stood at `mark()`: `mails()` are its
 * mails since then, each its text from its "From " line on (without it), oldest first.
 */
export function mailbox(file = ROOT_MBOX): { mark(): void; mails(): string[] } {
  let start = 0;
  return {
    mark() {
      start = sizeOf(file);
    },
    mails() {
      return textFrom(file, start).split(/^From /m).filter(Boolean);
    },
  };
}

/**
 * Remembers `file` (a mailbox) as the test found it; the function returned puts it back once
 * postfix has delivered what it holds (bounded): the mails the test brought are cut off (the
 * file truncated to its old size), or the file is removed when there was none.
 */
export function asFound(file = ROOT_MBOX): () => Promise<void> {
  const existed = existsSync(file);
  const size = sizeOf(file);
  return async () => {
    // postqueue fails when postfix is not running: then nothing more is delivered meanwhile.
    const settled = (): boolean => {
      const q = spawnSync('postqueue', ['-p'], { encoding: 'utf8', timeout: 10000 });
      return q.status !== 0 || /Mail queue is empty/.test(q.stdout);
    };
    await waitFor(settled, 15000, 250);
    if (existed && sizeOf(file) > size) truncateSync(file, size);
    else if (!existed) rmSync(file, { force: true });
  };
}
