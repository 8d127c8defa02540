/**
 * What a running process has open, from the kernel's /proc (not a file under the root: the
 * process runs on this machine). Each pid is read once per doctor run, however many jails ask.
 */
import { readdirSync, readlinkSync } from 'node:fs';

/**
 * The paths a process has open (the targets of /proc/<pid>/fd/*), or null when the process is
 * gone or not readable. Links only read, never followed.
 */
function readOpenFiles(pid: number): string[] | null {
  const dir = `/proc/${pid}/fd`;
  let fds: string[];
  try {
    fds = readdirSync(dir);
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const fd of fds) {
    try {
      out.push(readlinkSync(`${dir}/${fd}`));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

/** {@link readOpenFiles}, remembered per pid: one doctor run reads a busy server's fd table once. */
export function openFilesOnce(): (pid: number) => string[] | null {
  const seen = new Map<number, string[] | null>();
  return (pid) => {
    if (!seen.has(pid)) seen.set(pid, readOpenFiles(pid));
    return seen.get(pid)!;
  };
}
