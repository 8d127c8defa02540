import { closeSync, fstatSync, promises as fsp, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openForRead, statSafe } from './fs.ts';

/**
 * The last `n` lines of a file on this machine (a real path), reading only its end: a log of
 * gigabytes costs no more than its last lines. Null when it does not exist. Opened safely
 * (src/adapters/fs.ts): a link another account planted, or a FIFO, is refused, never followed
 * or waited on.
 */
export async function lastLines(realPath: string, n: number): Promise<string[] | null> {
  const fd = openForRead(realPath);
  if (fd === null) return null;
  try {
    const { size } = fstatSync(fd);
    let chunk = 64 * 1024;
    for (;;) {
      const start = Math.max(0, size - chunk);
      const buf = Buffer.alloc(size - start);
      readSync(fd, buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      // The first piece may be a partial line unless we read from the start.
      if (start > 0) lines.shift();
      if (lines.length >= n || start === 0) return lines.slice(-n);
      chunk *= 4;
    }
  } finally {
    closeSync(fd);
  }
}

/** A private temp directory (mode 0700) for one doctor run; `remove` deletes it. */
export async function scratchDir(): Promise<{ dir: string; write: (name: string, text: string) => Promise<string>; remove: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(tmpdir(), 'voip-f2b-doctor-'));
  return {
    dir,
    write: async (name, text) => {
      const p = path.join(dir, name);
      await fsp.writeFile(p, text, { mode: 0o600 });
      return p;
    },
    remove: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}

/** The modification time of a file on this machine (a real path), or null. */
export async function realMtime(realPath: string): Promise<number | null> {
  try {
    return statSafe(realPath)?.mtimeMs ?? null;
  } catch {
    return null;
  }
}
