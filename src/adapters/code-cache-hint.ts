/**
 * Tells the bin shim's code cache (bin/code-cache.js) that this run changed nothing: the cache it
 * keeps is then the one a re-run compiles, not the first run's. A hint for a cache, nothing more.
 */
export const RE_RUN = Symbol.for('voip-f2b-install.re-run');

export function markReRun(): void {
  (globalThis as unknown as Record<symbol, unknown>)[RE_RUN] = true;
}
