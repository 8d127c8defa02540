import { existsSync, readFileSync } from 'node:fs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProgramFile } from '../core/web-service.ts';
import { ToolError } from '../errors.ts';

/** What a self-contained copy of the package holds (it has no dependencies: dist/ is the bundle). */
const PARTS = ['package.json', 'bin', 'dist', 'templates'];

/**
 * The running package's root: the nearest directory above this file whose package.json is
 * voip-f2b-install's (the npx cache, a global install, the copy itself, or the repository).
 */
export function packageRoot(from = import.meta.url): string {
  let dir = path.dirname(fileURLToPath(from));
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'voip-f2b-install') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    dir = path.dirname(dir);
  }
  throw new ToolError('install --web: the package of the running program was not found (no package.json of voip-f2b-install above it)', 1);
}

/**
 * Every file of the running package that the web view's service needs, relative to its root,
 * sorted, with its mode (executable or not). The bundle must be built (dist/cli.cjs).
 */
export async function readProgram(root = packageRoot()): Promise<ProgramFile[]> {
  if (!existsSync(path.join(root, 'dist', 'cli.cjs'))) {
    throw new ToolError(`install --web: the program in ${root} is not built (no dist/cli.cjs)`, 1, 'run `npm run build` there first, or install from the packed tarball');
  }
  const out: ProgramFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const abs = path.join(root, rel);
    const st = await fsp.lstat(abs).catch(() => null);
    if (!st) return;
    if (st.isDirectory()) {
      for (const name of (await fsp.readdir(abs)).sort()) await walk(`${rel}/${name}`);
    } else if (st.isFile()) {
      out.push({ rel, text: await fsp.readFile(abs, 'utf8'), mode: st.mode & 0o111 ? 0o755 : 0o644 });
    }
  };
  for (const p of PARTS) await walk(p);
  return out;
}
