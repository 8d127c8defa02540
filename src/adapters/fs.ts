import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { UnsafePathError } from '../errors.ts';

/** File metadata we care about. */
export interface FileStat {
  mode: number;
  uid: number;
  gid: number;
  isFile: boolean;
  isDirectory: boolean;
  mtimeMs: number;
  /** Inode status change time (ms, to the microsecond): set by the kernel on every write, rename or chmod; no program can set it. */
  ctimeMs: number;
  ino: number;
  /** Size in bytes. */
  size: number;
}

/**
 * The filesystem as seen from the target root. Every path argument is absolute in the target's
 * namespace (`/etc/fail2ban/jail.local`) and is mapped under `root`. Every method goes through
 * the safe primitives below (no link others can plant is followed, no FIFO is opened, owners and
 * modes change through a checked descriptor); a refusal is an UnsafePathError (exit 1).
 */
export interface FileSystem {
  readonly root: string;
  /** Real path on this machine for a target path (for tools that read files themselves, e.g. fail2ban-regex). */
  real(p: string): string;
  readText(p: string): Promise<string | null>;
  /** A file's bytes, or null when it does not exist (for large files searched, not read as text). */
  readBytes(p: string): Promise<Buffer | null>;
  exists(p: string): Promise<boolean>;
  stat(p: string): Promise<FileStat | null>;
  list(dir: string): Promise<string[]>;
  mkdirp(dir: string, mode?: number): Promise<void>;
  /** Write via temp file in the same directory + fsync + rename: never a partial file. */
  writeAtomic(p: string, text: string, opts?: WriteOptions): Promise<void>;
  /**
   * Create a file (empty, or holding `text`) if none exists (never truncates); returns whether it created one. Its
   * mode and owner are set on a temp file before it appears under its name (link, not rename,
   * so an existing file is never replaced).
   */
  touch(p: string, opts?: WriteOptions, text?: string): Promise<boolean>;
  /** Appends to a log file of the tool's own (created 0600; must be a regular file it owns). */
  append(p: string, text: string): Promise<void>;
  /**
   * Set mode and owner of an existing regular file, through its descriptor (never a link, a
   * FIFO or a file with other hard links); with `owners`, only a file one of them owns.
   */
  chmodChown(p: string, opts: WriteOptions, owners?: number[]): Promise<void>;
  remove(p: string): Promise<void>;
  /** rename(2): atomic replace of `to` (files) or move of a directory into place. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a directory tree; only for the tool's own staging directories. */
  removeTree(p: string): Promise<void>;
  /** Remove a directory only if it is empty; returns whether it was removed. */
  removeEmptyDir(p: string): Promise<boolean>;
}

/** Mode and owner of a written file. */
export interface WriteOptions {
  mode?: number;
  uid?: number;
  gid?: number;
}

/**
 * The one temp name used for writing `p` (same directory, hidden, fixed): the journal knows
 * every temp file a run can leave from the paths alone, so a re-run or uninstall removes them.
 */
export function tempPathOf(p: string): string {
  return path.posix.join(path.posix.dirname(p), `.${path.posix.basename(p)}.voip-f2b.tmp`);
}

/** Temp names of earlier versions (`.<name>.voip-f2b-<pid>-<ms>.tmp`), removed when found. */
export const LEGACY_TEMP = /^\..+\.voip-f2b-\d+-\d+\.tmp$/;

/*
 * Safe file access. The tool runs as root in directories other accounts can write (asterisk owns
 * /var/log/asterisk and often /etc/asterisk): such an account can swap any name in them for a
 * symbolic link, a hard link or a FIFO between two runs, or while a run works. So nothing here
 * acts on a path the kernel resolves in one go:
 *
 * 1. A directory is opened one component at a time from `/`, each with O_NOFOLLOW|O_DIRECTORY,
 *    relative to the one before: `/proc/self/fd/<fd>/<name>` is how Node says openat(2) (the
 *    kernel jumps straight to the open directory and resolves only `<name>`). Once a directory
 *    is open, renaming or replacing anything above it changes nothing for us.
 * 2. A symbolic link on the way (or at the end, for reads) is followed only when nobody else can
 *    have planted it: it lies in a directory only root (or we) can write, or in a sticky one and
 *    is owned by root (or us); /var/run -> /run is followed, a link in /var/log/asterisk is not.
 * 3. The file itself is opened with O_NOFOLLOW (and O_NONBLOCK, so a FIFO cannot hang a read),
 *    then fstat'ed: anything but a regular file is refused. Owner and mode are changed with
 *    fchown/fchmod on that descriptor, after checking its owner and link count.
 * 4. Writes go to a fixed temp name created with O_CREAT|O_EXCL|O_NOFOLLOW in the held directory,
 *    then rename(2) within that directory; removals unlink the name in the held directory.
 *
 * Anything refused throws UnsafePathError (exit 1) naming the path and why. Without /proc (never
 * the case on a supported host; a bare chroot) the same steps run on plain paths: links and
 * FIFOs are still refused, only the race on a parent directory is not closed.
 */

const PROC_FD = existsSync('/proc/self/fd') ? '/proc/self/fd' : null;
const ME = process.geteuid?.() ?? 0;
/** Links followed in one resolution before giving up (the kernel's own limit). */
const MAX_HOPS = 40;
const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

/** A directory held open; `path` is where it was found (for messages and the no-/proc case). */
interface Dir {
  fd: number;
  path: string;
}

/** The name `name` inside the held directory `d`, as openat(d.fd, name) would resolve it. */
function at(d: Dir, name: string): string {
  return PROC_FD ? `${PROC_FD}/${d.fd}/${name}` : path.posix.join(d.path, name);
}

function closeDir(d: Dir | null): void {
  if (d) closeSync(d.fd);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException).code;
}

/** Whether an entry of directory `dir` can only have been put there by root or by us. */
function plantedByUs(dir: Stats, entry: Stats): boolean {
  const ours = (uid: number): boolean => uid === 0 || uid === ME;
  if (ours(dir.uid) && (dir.mode & 0o022) === 0) return true;
  return (dir.mode & 0o1000) !== 0 && ours(entry.uid);
}

function whoCanWrite(dir: Stats): string {
  return dir.mode & 0o002 ? 'anyone can write' : dir.mode & 0o020 ? `group ${dir.gid} can write` : `uid ${dir.uid} owns`;
}

/** `entry` in `d` is a link: its target when it may be followed, else UnsafePathError. */
function linkTarget(d: Dir, name: string, entry: Stats): string {
  const dirSt = fstatSync(d.fd);
  if (!plantedByUs(dirSt, entry)) {
    throw new UnsafePathError(path.posix.join(d.path, name), `it is a symbolic link (uid ${entry.uid}) in ${d.path}, which ${whoCanWrite(dirSt)}; the tool does not follow links others can plant`);
  }
  const target = readlinkSync(at(d, name));
  return target.startsWith('/') ? target : path.posix.join(d.path, target);
}

/**
 * Opens directory `dir` (an absolute real path) by walking it from `/` (step 1 above); null when
 * a component is missing or not a directory, unless `create` (a mode) makes the missing ones.
 */
function openDir(dir: string, create?: number): Dir | null {
  let cur: Dir = { fd: openSync('/', O_RDONLY | O_DIRECTORY), path: '/' };
  const todo = dir.split('/').filter((c) => c !== '' && c !== '.');
  let hops = 0;
  try {
    while (todo.length) {
      const c = todo.shift()!;
      let fd: number;
      try {
        fd = openSync(at(cur, c), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      } catch (err) {
        const code = errCode(err);
        if (code === 'ENOENT' && create !== undefined) {
          try {
            mkdirSync(at(cur, c), create);
          } catch (e) {
            if (errCode(e) !== 'EEXIST') throw e;
          }
          todo.unshift(c);
          continue;
        }
        if (code === 'ENOENT') return closeDir(cur), null;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw err;
        const entry = lstatSync(at(cur, c), { throwIfNoEntry: false });
        if (!entry?.isSymbolicLink()) return closeDir(cur), null;
        if (++hops > MAX_HOPS) throw new UnsafePathError(path.posix.join(cur.path, c), 'too many levels of symbolic links');
        const target = linkTarget(cur, c, entry);
        todo.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
        if (target.startsWith('/')) {
          closeDir(cur);
          cur = { fd: openSync('/', O_RDONLY | O_DIRECTORY), path: '/' };
        }
        continue;
      }
      closeDir(cur);
      cur = { fd, path: path.posix.join(cur.path, c) };
    }
    return cur;
  } catch (err) {
    closeDir(cur);
    throw err;
  }
}

/**
 * The held directory and name of `real`; with `follow`, a last component that is a link is
 * followed when nobody else can have planted it (step 2). Null when the directory is missing.
 */
function locate(real: string, follow: boolean): { dir: Dir; name: string } | null {
  let target = real;
  for (let hops = 0; ; hops++) {
    const dir = openDir(path.posix.dirname(target));
    if (!dir) return null;
    const name = path.posix.basename(target);
    try {
      const entry = follow ? lstatSync(at(dir, name), { throwIfNoEntry: false }) : undefined;
      if (!entry?.isSymbolicLink()) return { dir, name };
      if (hops >= MAX_HOPS) throw new UnsafePathError(real, 'too many levels of symbolic links');
      target = linkTarget(dir, name, entry);
    } catch (err) {
      closeDir(dir);
      throw err;
    }
    closeDir(dir);
  }
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/** Opens `name` in `dir` with O_NOFOLLOW; fstat must show a regular file (step 3). */
function openFileIn(dir: Dir, name: string, flags: number, shown: string, mode?: number): { fd: number; st: Stats } {
  let fd: number;
  try {
    fd = openSync(at(dir, name), flags | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (err) {
    if (errCode(err) === 'ELOOP') throw new UnsafePathError(shown, 'it is a symbolic link, and the tool does not follow it here');
    throw err;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new UnsafePathError(shown, `it is ${kindOf(st)}, not a regular file`);
  }
  return { fd, st };
}

/**
 * Opens a regular file for reading, safely (steps 1-3): its descriptor, or null when it does
 * not exist. Links others can plant, FIFOs and devices throw UnsafePathError.
 */
export function openForRead(real: string): number | null {
  const loc = locate(real, true);
  if (!loc) return null;
  try {
    return openFileIn(loc.dir, loc.name, O_RDONLY, real).fd;
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return null;
    throw err;
  }
}

/** A file's bytes, read safely; null when it does not exist. */
export function readFileSafe(real: string): Buffer | null {
  const fd = openForRead(real);
  if (fd === null) return null;
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** lstat of `real` after a safe walk (links followed only where nobody else can plant them); null when missing. */
export function statSafe(real: string): Stats | null {
  const loc = locate(real, true);
  if (!loc) return null;
  try {
    return lstatSync(at(loc.dir, loc.name), { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (errCode(err) === 'ENOTDIR') return null;
    throw err;
  } finally {
    closeDir(loc.dir);
  }
}

/** Runs `fn` with the held parent directory of `real` and its last name (never following it). */
function inParent<T>(real: string, fn: (dir: Dir, name: string) => T, missing: () => T): T {
  const loc = locate(real, false);
  if (!loc) return missing();
  try {
    return fn(loc.dir, loc.name);
  } finally {
    closeDir(loc.dir);
  }
}

function noDir(real: string): never {
  throw Object.assign(new Error(`ENOENT: no such file or directory, '${path.posix.dirname(real)}'`), { code: 'ENOENT' });
}

/** Opens the temp name in `dir` for a new file, replacing one a killed run left behind. */
function openTemp(dir: Dir, tmp: string, mode: number): number {
  try {
    unlinkSync(at(dir, tmp));
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
  return openSync(at(dir, tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
}

/** Sets mode (umask must not change it) and owner on a new file's descriptor, then fsyncs it. */
function finishNew(fd: number, mode: number, opts: WriteOptions): void {
  fchmodSync(fd, mode);
  if (opts.uid !== undefined && opts.gid !== undefined) fchownSync(fd, opts.uid, opts.gid);
  fsyncSync(fd);
}

function removeQuietly(dir: Dir, name: string): void {
  try {
    unlinkSync(at(dir, name));
  } catch {
    // already gone
  }
}

/** Atomic write on the real filesystem (step 4); exported for tests of the crash-safety property. */
export async function writeFileAtomic(real: string, text: string, opts: WriteOptions = {}): Promise<void> {
  const mode = opts.mode ?? 0o644;
  inParent(
    real,
    (dir, name) => {
      const tmp = path.posix.basename(tempPathOf(real));
      const fd = openTemp(dir, tmp, mode);
      try {
        writeAll(fd, Buffer.from(text, 'utf8'));
        finishNew(fd, mode, opts);
      } catch (err) {
        closeSync(fd);
        removeQuietly(dir, tmp);
        throw err;
      }
      closeSync(fd);
      try {
        renameSync(at(dir, tmp), at(dir, name));
      } catch (err) {
        removeQuietly(dir, tmp);
        throw err;
      }
      fsyncSync(dir.fd); // makes the rename itself durable
    },
    () => noDir(real),
  );
}

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += writeSync(fd, buf, off, buf.length - off);
}

/**
 * Creates a file (empty, or holding `text`) with its mode and owner already set: temp file, fchmod, fchown, fsync,
 * then link() to the final name (fails with EEXIST instead of replacing a file, or a link, that
 * appeared meanwhile), then the temp name is removed. Returns false when the name already existed.
 */
export async function createFileAtomic(real: string, opts: WriteOptions = {}, text = ''): Promise<boolean> {
  const mode = opts.mode ?? 0o640;
  return inParent(
    real,
    (dir, name) => {
      if (lstatSync(at(dir, name), { throwIfNoEntry: false })) return false;
      const tmp = path.posix.basename(tempPathOf(real));
      const fd = openTemp(dir, tmp, mode);
      try {
        writeAll(fd, Buffer.from(text, 'utf8'));
        finishNew(fd, mode, opts);
      } finally {
        closeSync(fd);
      }
      let created = true;
      try {
        linkSync(at(dir, tmp), at(dir, name));
      } catch (err) {
        if (errCode(err) !== 'EEXIST') {
          removeQuietly(dir, tmp);
          throw err;
        }
        created = false;
      }
      removeQuietly(dir, tmp);
      fsyncSync(dir.fd);
      return created;
    },
    () => noDir(real),
  );
}

/**
 * Sets mode and owner of an existing regular file through its descriptor (step 3): a link, a
 * FIFO, a file with more than one hard link (it may be a root-only file linked in) or, with
 * `owners`, one owned by anyone else is refused.
 */
export function chmodChownSafe(real: string, opts: WriteOptions, owners?: number[]): void {
  inParent(
    real,
    (dir, name) => {
      const { fd, st } = openFileIn(dir, name, O_RDONLY, real);
      try {
        if (st.nlink !== 1) throw new UnsafePathError(real, `it has ${st.nlink} hard links: it may be another file linked in, whose owner and mode must not change`);
        if (owners && !owners.includes(st.uid)) throw new UnsafePathError(real, `it is owned by uid ${st.uid}, expected ${owners.join(' or ')}`);
        if (opts.mode !== undefined) fchmodSync(fd, opts.mode);
        if (opts.uid !== undefined && opts.gid !== undefined) fchownSync(fd, opts.uid, opts.gid);
      } finally {
        closeSync(fd);
      }
    },
    () => noDir(real),
  );
}

/** What reading a secret file found: its text, nothing, or why it is refused and the fix. */
export type SecretRead = { text: string } | { missing: true } | { refused: string; fix: string; looseMode?: number };

const oct = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Reads a file holding a secret (a token, a password), trusted on more than its mode: its
 * directories walked safely (step 1), the file opened with O_NOFOLLOW (a link is refused, even
 * one root made), then fstat'ed: a regular file owned by the user running the tool, no group or
 * other bits, one link, in a directory owned by root or that user which nobody else can write
 * or which is sticky (else the file could be swapped for one chosen by someone else).
 */
export function readSecretSafe(real: string): SecretRead {
  const loc = locate(real, false);
  if (!loc) return { missing: true };
  const { dir, name } = loc;
  try {
    const d = fstatSync(dir.fd);
    // A sticky directory (/tmp) is fine: nobody else can rename or replace our file in it, and
    // a name planted there before ours was made is caught by the owner and link checks below.
    if ((d.uid !== 0 && d.uid !== ME) || ((d.mode & 0o022) !== 0 && (d.mode & 0o1000) === 0)) {
      return { refused: `its directory ${dir.path} is owned by uid ${d.uid} with mode ${oct(d.mode)}: others can replace the file`, fix: `keep it in a directory only root can write (chown root ${dir.path}; chmod go-w ${dir.path})` };
    }
    let fd: number;
    try {
      fd = openSync(at(dir, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return { missing: true };
      if (errCode(err) === 'ELOOP') return { refused: 'it is a symbolic link', fix: `put the file itself there (cp --remove-destination "$(readlink -f ${real})" ${real})` };
      throw err;
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) return { refused: `it is ${kindOf(st)}, not a regular file`, fix: `put a regular file there` };
      if (st.nlink !== 1) return { refused: `it has ${st.nlink} hard links: it may be another file linked in`, fix: `put a copy of its own there (cp ${real} ${real}.new && mv ${real}.new ${real})` };
      if (st.uid !== ME) return { refused: `it is owned by uid ${st.uid}, not by uid ${ME} that runs the tool: that user chose its content`, fix: `check it, then: chown ${ME} ${real}` };
      if (st.mode & 0o077) return { refused: `mode ${oct(st.mode)} lets others ${st.mode & 0o044 ? 'read' : 'change'} it`, fix: `chmod 600 ${real}`, ...(st.mode & 0o044 ? { looseMode: st.mode & 0o7777 } : {}) };
      return { text: readFileSync(fd, 'utf8') };
    } finally {
      closeSync(fd);
    }
  } finally {
    closeDir(dir);
  }
}

/**
 * Appends `text` to a log file the tool owns (created 0600 when missing): opened with
 * O_APPEND|O_NOFOLLOW in its safely walked directory; anything but a regular file owned by the
 * running user is refused.
 */
export function appendSafe(real: string, text: string, mode = 0o600): void {
  inParent(
    real,
    (dir, name) => {
      const { fd, st } = openFileIn(dir, name, O_WRONLY | constants.O_APPEND | O_CREAT, real, mode);
      try {
        if (st.uid !== ME) throw new UnsafePathError(real, `it is owned by uid ${st.uid}, not by the tool's user`);
        writeAll(fd, Buffer.from(text, 'utf8'));
      } finally {
        closeSync(fd);
      }
    },
    () => noDir(real),
  );
}

/**
 * Where a target path is under `root`. The path is normalized first, so `..` parts stop at the
 * root (`/..` is the root itself) and never climb out of it.
 */
export function underRoot(root: string): (p: string) => string {
  return (p: string): string => {
    if (!path.isAbsolute(p)) throw new Error(`internal: target path must be absolute: ${p}`);
    return root === '/' ? path.normalize(p) : path.join(root, path.normalize(p));
  };
}

function toStat(s: Stats): FileStat {
  return { mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, isFile: s.isFile(), isDirectory: s.isDirectory(), mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, size: s.size };
}

/**
 * The real filesystem under `root`, every access through the safe primitives above. Reads are
 * synchronous on purpose: a run reads a hundred small files one after another, and each
 * asynchronous read is four trips through libuv's thread pool that the process sits idle for.
 */
export function nodeFileSystem(root: string): FileSystem {
  const real = underRoot(root);
  return {
    root,
    real,
    async readText(p) {
      return readFileSafe(real(p))?.toString('utf8') ?? null;
    },
    async readBytes(p) {
      return readFileSafe(real(p));
    },
    async exists(p) {
      return statSafe(real(p)) !== null;
    },
    async stat(p) {
      const s = statSafe(real(p));
      return s ? toStat(s) : null;
    },
    async list(dir) {
      const d = openDir(real(dir));
      if (!d) return [];
      try {
        return readdirSync(PROC_FD ? `${PROC_FD}/${d.fd}` : d.path).sort();
      } finally {
        closeDir(d);
      }
    },
    async mkdirp(dir, mode = 0o755) {
      closeDir(openDir(real(dir), mode));
    },
    async writeAtomic(p, text, opts = {}) {
      await writeFileAtomic(real(p), text, opts);
    },
    async touch(p, opts = {}, text = '') {
      return createFileAtomic(real(p), opts, text);
    },
    async append(p, text) {
      appendSafe(real(p), text);
    },
    async chmodChown(p, opts, owners) {
      chmodChownSafe(real(p), opts, owners);
    },
    async remove(p) {
      inParent(real(p), (dir, name) => removeQuietlyOrThrow(dir, name), () => undefined);
    },
    async rename(from, to) {
      const move = (d1: Dir, n1: string) => (d2: Dir, n2: string): void => {
        renameSync(at(d1, n1), at(d2, n2));
        fsyncSync(d2.fd); // makes the rename itself durable
      };
      inParent(real(from), (d1, n1) => inParent(real(to), move(d1, n1), () => noDir(real(to))), () => noDir(real(from)));
    },
    async removeTree(p) {
      inParent(real(p), (dir, name) => rmSync(at(dir, name), { recursive: true, force: true }), () => undefined);
    },
    async removeEmptyDir(p) {
      try {
        return inParent(real(p), (dir, name) => (rmdirSync(at(dir, name)), true), () => false);
      } catch {
        return false;
      }
    },
  };
}

/** unlink(2) of `name` in `dir`; a missing name is not an error. */
function removeQuietlyOrThrow(dir: Dir, name: string): void {
  try {
    unlinkSync(at(dir, name));
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
  }
}
