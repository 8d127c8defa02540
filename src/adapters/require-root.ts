import type { Context } from '../context.ts';
import { UnsupportedError } from '../errors.ts';

/**
 * The one root check: acting on the live host needs root; a dry run or --root does not.
 * `what` completes "must run as root to …".
 */
export function requireRoot(ctx: Context, dryRun: boolean, what: string, hint: string): void {
  if (ctx.live && !dryRun && ctx.uid !== 0) throw new UnsupportedError(`must run as root to ${what}`, hint);
}
