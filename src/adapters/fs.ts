import { promises as fsp, constants } from 'node:fs';
import path from 'node:path';

/** File metadata we care about. */
export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  isFile: boolean;
  isDirectory: boolean;
  mtimeMs: number;
}

/**
 * The filesystem as seen from the target root. Every path argument is absolute in the target's
 * namespace (`/etc/fail2ban/jail.local`) and is mapped under `root`.
 */
export interface FileSystem {
  readonly root: string;
  readText(p: string): Promise<string | null>;
  exists(p: string): Promise<boolean>;
  stat(p: string): Promise<FileStat | null>;
  list(dir: string): Promise<string[]>;
  mkdirp(dir: string, mode?: number): Promise<void>;
  /** Write via temp file in the same directory + fsync + rename: never a partial file. */
  writeAtomic(p: string, text: string, opts?: WriteOptions): Promise<void>;
  /** Create an empty file if none exists (never truncates); returns whether it created one. */
  touch(p: string, opts?: WriteOptions): Promise<boolean>;
  remove(p: string): Promise<void>;
  /** Remove a directory only if it is empty; returns whether it was removed. */
  removeEmptyDir(p: string): Promise<boolean>;
}

function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Mode and owner of a written file. */
export interface WriteOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Atomic write on the real filesystem; exported for tests of the crash-safety property. */
export async function writeFileAtomic(real: string, text: string, opts: WriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o644;
  const dir = path.dirname(real);
  const tmp = path.join(dir, `.${path.basename(real)}.voip-f2b-${process.pid}-${Date.now()}.tmp`);
  const handle = await fsp.open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.chmod(mode); // umask must not change the mode we mean
    if (opts.uid !== undefined && opts.gid !== undefined) await handle.chown(opts.uid, opts.gid);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fsp.rename(tmp, real);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  // Make the rename itself durable.
  const dirHandle = await fsp.open(dir, constants.O_RDONLY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** The real filesystem under `root`. */
export function nodeFileSystem(root: string): FileSystem {
  const real = (p: string): string => {
    if (!path.isAbsolute(p)) throw new Error(`internal: target path must be absolute: ${p}`);
    return root === '/' ? path.normalize(p) : path.join(root, path.normalize(p));
  };
  return {
    root,
    async readText(p) {
      try {
        return await fsp.readFile(real(p), 'utf8');
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async exists(p) {
      try {
        await fsp.access(real(p));
        return true;
      } catch {
        return false;
      }
    },
    async stat(p) {
      try {
        const s = await fsp.stat(real(p));
        return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, isFile: s.isFile(), isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },
    async list(dir) {
      try {
        return (await fsp.readdir(real(dir))).sort();
      } catch (err) {
        if (isNotFound(err)) return [];
        throw err;
      }
    },
    async mkdirp(dir, mode = 0o755) {
      await fsp.mkdir(real(dir), { recursive: true, mode });
    },
    async writeAtomic(p, text, opts = {}) {
      await writeFileAtomic(real(p), text, opts);
    },
    async touch(p, opts = {}) {
      try {
        const h = await fsp.open(real(p), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, opts.mode ?? 0o640);
        try {
          if (opts.uid !== undefined && opts.gid !== undefined) await h.chown(opts.uid, opts.gid);
        } finally {
          await h.close();
        }
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    },
    async remove(p) {
      await fsp.rm(real(p), { force: true });
    },
    async removeEmptyDir(p) {
      try {
        await fsp.rmdir(real(p));
        return true;
      } catch {
        return false;
      }
    },
  };
}
