/**
 * A Node built-in loaded when first used instead of at start-up. A no-op re-run over `--root`
 * hashes nothing and asks no socket, yet `node:crypto` alone costs ~3 ms of its start-up and
 * `node:net` (with the stream modules it pulls in) ~3 ms more.
 *
 * The bundle is CommonJS and has Node's own `require`; the tests run these sources as ES
 * modules, where `process.getBuiltinModule` (Node 20.16+) does the same.
 */
export function builtin<T>(id: `node:${string}`): T {
  if (typeof require === 'function') return require(id) as T;
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (!get) throw new Error(`internal: cannot load ${id} (no require and no process.getBuiltinModule)`);
  return get(id) as T;
}
