import type { HostFacts } from './facts.ts';
import type { ServiceModule } from './services/types.ts';

/**
 * What a service module may ask the host while facts are gathered (its `probe`), all through the
 * run's context: files under the root (--root), processes only on the live host. Implemented once
 * in src/adapters/facts.ts. A module probes its own paths; nothing here knows any service.
 */
export interface HostProbe {
  /** false under --root: no process is asked about, only files are read (nothing runs there). */
  live: boolean;
  /** A file's text, null when absent. Throws where the safe reader refuses it (a planted link). */
  read(path: string): Promise<string | null>;
  exists(path: string): Promise<boolean>;
  /** The first of `paths` that exists, or null. */
  firstExisting(paths: readonly string[]): Promise<string | null>;
  /** The names in a directory ([] when absent). */
  list(dir: string): Promise<string[]>;
  /** The live process named in the first of `pidFiles` that names one; null under --root. */
  livePid(pidFiles: readonly string[]): Promise<number | null>;
  /** A live process's arguments (/proc/<pid>/cmdline; [] when unreadable). */
  commandLine(pid: number): Promise<string[]>;
  /**
   * The program process `pid` was started from, when its name is `name` and it (and every
   * directory above it) is root's and writable by root alone: safe to run as root. Else null.
   */
  program(pid: number, name: string): Promise<string | null>;
  /** `file` when it and every directory above it are root's and writable by root alone; else null. */
  rootsAlone(file: string): Promise<string | null>;
}

/**
 * A module's own facts (what its `probe` found), read back from the host's facts: its `absent`
 * facts where it was not probed (facts built by tests, a module registered after gathering).
 */
export function factsOf<F>(module: Pick<ServiceModule<F>, 'name' | 'absent'>, facts: Pick<HostFacts, 'services'>): F {
  const found = facts.services[module.name] as F | undefined;
  if (found !== undefined) return found;
  if (module.absent === undefined) throw new Error(`service ${module.name} has no facts (no probe, no absent facts)`);
  return module.absent;
}
