import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The page's files: templates/web/ beside dist/ in the package, or in the repository. These are
 * the program's own files, not the host's: they are found beside the program, not under --root
 * (the context's fs), and only read.
 */
export function webAssetsDir(): string {
  for (const rel of ['../templates/web/', '../../templates/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new Error('internal: templates/web/ not found beside the program');
}
