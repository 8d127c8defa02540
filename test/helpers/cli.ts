import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = `${REPO}bin/voip-f2b-install.js`;

let built = false;
/** Builds dist/cli.cjs once per test process if it is missing (npm test builds it first). */
export function ensureBuilt(): void {
  if (built || existsSync(`${REPO}dist/cli.cjs`)) {
    built = true;
    return;
  }
  const r = spawnSync(process.execPath, [`${REPO}scripts/build.mjs`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`);
  built = true;
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a user would: `node bin/voip-f2b-install.js …`, no terminal. */
export function runCli(args: string[], o: { env?: Record<string, string | undefined>; node?: string; timeoutMs?: number } = {}): CliResult {
  ensureBuilt();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...o.env })) if (v !== undefined) env[k] = v;
  const r = spawnSync(o.node ?? process.execPath, [BIN, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], timeout: o.timeoutMs ?? 600000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
