import type { FileSystem } from './adapters/fs.ts';
import type { Runner } from './adapters/runner.ts';
import type { Prompter } from './adapters/prompt.ts';
import type { Logger } from './adapters/log.ts';

/**
 * Everything a command may use to touch the world. Tests build one over a temp directory and a
 * recording runner (test/helpers/context.ts).
 */
export interface Context {
  /** What the tool treats as `/`: `/` normally, the `--root` directory for tests and images. */
  root: string;
  /**
   * True when acting on the running machine (root is `/`): packages, services and live queries
   * are allowed. False under --root. Tests set it over a temp root with a recording runner.
   */
  live: boolean;
  fs: FileSystem;
  run: Runner;
  prompt: Prompter;
  log: Logger;
  env: Record<string, string | undefined>;
  dryRun: boolean;
  interactive: boolean;
  /** Effective user id (0 = root); injected so tests can act as root over a temp root. */
  uid: number;
  now: () => Date;
}
