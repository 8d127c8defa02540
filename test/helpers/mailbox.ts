/**
 * Reading what daemons append to this machine's files in the real tests: root's local mailbox
 * (postfix delivers root@localhost there; nothing leaves the machine) and logs such as syslog,
 * from where they stood when a test began.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';

/** root's local mailbox (mbox). */
export const ROOT_MBOX = '/var/mail/root';

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
