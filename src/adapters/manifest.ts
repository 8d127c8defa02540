import { createHash } from 'node:crypto';
import type { FileSystem } from './fs.ts';

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
  sha256?: string;
  firstTouched: string;
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

/** Where the original of `path` is kept. */
export function backupPath(path: string): string {
  return `${STATE_DIR}/files${path}`;
}

export async function writeManifest(fs: FileSystem, m: Manifest): Promise<void> {
  await fs.mkdirp(STATE_DIR, 0o700);
  await fs.writeAtomic(MANIFEST, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
}
