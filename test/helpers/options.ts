import { parseArgs } from '../../src/cli.ts';
import type { InstallOptions } from '../../src/core/options.ts';

/** The options of `install` with no flags, exactly as the CLI parses them (tracks every default). */
export const DEFAULT_INSTALL: InstallOptions = (() => {
  const inv = parseArgs([], {});
  if (inv.command !== 'install') throw new Error('internal: install is the default command');
  // Whole options, every setting as passed: no `given`, so the last run's settings are not
  // merged in (tests of that pass `given`, the settings named in the run, themselves).
  const { given: _given, ...options } = inv.options;
  void _given;
  return options;
})();

/** Default options with some changed. */
export function installOptions(o: Partial<InstallOptions> = {}): InstallOptions {
  return { ...DEFAULT_INSTALL, ...o };
}
