import type { Context } from '../context.ts';
import type { HostFacts } from '../adapters/facts.ts';
import type { InstallOptions } from '../core/options.ts';

/**
 * The interactive first-time setup: each question pre-filled from what was detected.
 * (Filled in by the interactive-setup issue; with no questions the options pass through.)
 */
export async function interview(_ctx: Context, options: InstallOptions, _facts: HostFacts): Promise<InstallOptions> {
  return options;
}
