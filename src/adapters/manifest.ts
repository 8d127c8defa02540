import path from 'node:path';
import { LEGACY_TEMP, tempPathOf, type FileSystem } from './fs.ts';
import { createHash } from 'node:crypto';
import type { Plan } from '../core/plan.ts';
import { nextIniRecord, type IniRecord } from '../core/admin-edits.ts';
import { JAIL_LOCAL } from '../core/paths.ts';
import type { Settings } from '../core/settings.ts';

export const STATE_DIR = '/var/backups/voip-f2b-install';
export const MANIFEST = `${STATE_DIR}/manifest.json`;
/** The state of one file before the tool first touched it. */
export interface ManifestFile {
  path: string;
  existed: boolean;
  /** Backup copy (target path) of the original, when it existed. */
  backup?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** sha256 of the original (when it existed). */
  sha256?: string;
  firstTouched: string;
  /**
   * What the tool last wrote here (a completed run): uninstall compares the file with it to find
   * the admin's later edits. Absent in manifests of older versions ("cannot tell").
   */
  lastWritten?: WrittenRecord;
  /**
   * What the open journal's run is writing here, recorded before the write: a kill at any point
   * leaves the file as `lastWritten` (or the original) or as this. Becomes `lastWritten` when the
   * journal closes with the file holding it.
   */
  writing?: WrittenRecord;
}

/** One text the tool wrote to a managed file. */
export interface WrittenRecord {
  sha256: string;
  /** For jail.local: its sections and keys, the admin's later ones left out (see nextIniRecord). */
  sections?: IniRecord;
  /**
   * The text holds edits the tool did not make: the admin's file, edited in place, had changed
   * since the tool last wrote it, and this write kept those changes (not for jail.local, whose
   * sections tell). Uninstall keeps such a file beside the restored original.
   */
  foreign?: boolean;
}

/** Where uninstall keeps the admin's version of a file it restores or removes. */
export const KEPT_SUFFIX = '.voip-f2b-install.kept';

/**
 * A run that has started changing the host and not finished. Written (with every file, dir and
 * log of the run already in the manifest) BEFORE the first change, removed after the last one:
 * a manifest with `pending` is the journal of an interrupted run.
 */
export interface PendingRun {
  startedAt: string;
  pid: number;
  /** Every temp file name the run may leave (fixed names, see tempPathOf). */
  temps: string[];
  /**
   * Reloads and restarts of other services the run still owes (a re-run plans none for files
   * that are already written). On a live host the journal stays open until fail2ban is verified
   * and these ran, so a run killed after its files still restarts what it must.
   */
  afterCommands?: Plan['afterCommands'];
}

export interface Manifest {
  version: 1;
  files: ManifestFile[];
  /** Directories the tool created, outermost first (removed by uninstall when empty). */
  dirs: string[];
  /** Empty log files the tool created for jails (removed by uninstall while still empty). */
  logs: string[];
  /** Packages the tool installed (removed only by uninstall --purge-packages). */
  packages: string[];
  pending?: PendingRun;
  /** The install settings of the last completed run: the baseline of the next (src/core/settings.ts). */
  settings?: Settings;
}

export function emptyManifest(): Manifest {
  return { version: 1, files: [], dirs: [], logs: [], packages: [] };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function readManifest(fs: FileSystem): Promise<{ manifest: Manifest; text: string | null }> {
  const text = await fs.readText(MANIFEST);
  if (text === null) return { manifest: emptyManifest(), text: null };
  const parsed = JSON.parse(text) as Manifest;
  return { manifest: { ...emptyManifest(), ...parsed }, text };
}

/**
 * Records, in the journal about to be written, the text a run will write to `f` (`before` is
 * the text there now). The record it builds on is the one that text is: `writing` of an
 * interrupted run that got to write it, else `lastWritten`.
 */
export function recordWriting(f: ManifestFile, after: string, before: string | null, editedInPlace = false): void {
  const prev = f.writing && before !== null && sha256(before) === f.writing.sha256 ? f.writing : f.lastWritten;
  if (f.path === JAIL_LOCAL) {
    f.writing = { sha256: sha256(after), sections: nextIniRecord(after, before, prev?.sections) };
    return;
  }
  const foreign = editedInPlace && !!prev && (prev.foreign || (before !== null && sha256(before) !== prev.sha256));
  f.writing = { sha256: sha256(after), ...(foreign ? { foreign } : {}) };
}

/**
 * When the journal closes: each `writing` the file now holds becomes `lastWritten`; one the file
 * does not hold (its run was killed before writing it) is dropped.
 */
export async function settleWriting(fs: FileSystem, m: Manifest): Promise<void> {
  for (const f of m.files) {
    if (!f.writing) continue;
    const now = await fs.readText(f.path);
    if (now !== null && sha256(now) === f.writing.sha256) f.lastWritten = f.writing;
    delete f.writing;
  }
}

/** The sha256 of every text the tool wrote (or is writing) to `f`. */
export function writtenShas(f: ManifestFile): string[] {
  return [f.lastWritten?.sha256, f.writing?.sha256].filter((x): x is string => !!x);
}

/** Where the original of `path` is kept. */
export function backupPath(path: string): string {
  return `${STATE_DIR}/files${path}`;
}

/** STATE_DIR and its ancestors, outermost first (`/var`, `/var/backups`, STATE_DIR). */
function stateChain(): string[] {
  const chain: string[] = [];
  for (let d = STATE_DIR; d !== '/'; d = path.posix.dirname(d)) chain.unshift(d);
  return chain;
}

/** The staging directory used to create `dir` with the manifest already inside it. */
function stagingOf(dir: string): string {
  return tempPathOf(dir);
}

/**
 * Writes the manifest atomically. When STATE_DIR (or some of its ancestors) does not exist yet,
 * the missing chain is built under a hidden staging name with the manifest inside, the created
 * directories recorded in it, and renamed into place in one step: no directory of ours ever
 * exists without a manifest that names it.
 */
export async function writeManifest(fs: FileSystem, m: Manifest): Promise<void> {
  const text = (mm: Manifest): string => `${JSON.stringify(mm, null, 2)}\n`;
  if (await fs.exists(STATE_DIR)) {
    await fs.writeAtomic(MANIFEST, text(m), { mode: 0o600 });
    return;
  }
  const missing: string[] = [];
  for (const d of stateChain()) if (!(await fs.exists(d))) missing.push(d);
  for (const d of [...missing].reverse()) if (!m.dirs.includes(d)) m.dirs.unshift(d);
  const top = missing[0]!;
  const staging = stagingOf(top);
  await fs.removeTree(staging);
  for (const d of missing) {
    const inStaging = staging + d.slice(top.length);
    await fs.mkdirp(inStaging, d === STATE_DIR ? 0o700 : 0o755);
  }
  await fs.writeAtomic(staging + MANIFEST.slice(top.length), text(m), { mode: 0o600 });
  await fs.rename(staging, top);
}

/** Temp names a run killed at any point can leave, for removal by a re-run or uninstall. */
export function tempsOf(m: Manifest): string[] {
  const out = new Set<string>([tempPathOf(MANIFEST), ...(m.pending?.temps ?? [])]);
  for (const f of m.files) {
    out.add(tempPathOf(f.path));
    out.add(tempPathOf(`${f.path}${KEPT_SUFFIX}`));
    if (f.backup) out.add(tempPathOf(f.backup));
  }
  for (const l of m.logs) out.add(tempPathOf(l));
  return [...out];
}

/** Removes every temp file and staging directory the tool may have left behind. */
export async function removeTemps(fs: FileSystem, m: Manifest): Promise<string[]> {
  const removed: string[] = [];
  for (const t of tempsOf(m)) {
    if (await fs.exists(t)) {
      await fs.remove(t);
      removed.push(t);
    }
  }
  // Temp names of earlier versions carried a pid and a time: found by their pattern.
  const managed = [...m.files.map((f) => f.path), ...m.files.flatMap((f) => (f.backup ? [f.backup] : [])), ...m.logs, MANIFEST];
  const byDir = new Map<string, Set<string>>();
  for (const p of managed) {
    const d = path.posix.dirname(p);
    if (!byDir.has(d)) byDir.set(d, new Set());
    byDir.get(d)!.add(path.posix.basename(p));
  }
  for (const [d, names] of byDir) {
    for (const n of await fs.list(d)) {
      const m2 = /^\.(.+)\.voip-f2b-\d+-\d+\.tmp$/.exec(n);
      if (m2 && LEGACY_TEMP.test(n) && names.has(m2[1]!)) {
        await fs.remove(`${d}/${n}`);
        removed.push(`${d}/${n}`);
      }
    }
  }
  for (const d of stateChain()) {
    const s = stagingOf(d);
    if (await fs.exists(s)) {
      await fs.removeTree(s);
      removed.push(s);
    }
  }
  return removed;
}
