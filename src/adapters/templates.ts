import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The templates/ folder of the package: beside dist/ in a packed tarball (`../templates/` from
 * dist/cli.cjs), two levels up from this source file when run from src/ by the tests.
 */
export function templatesDir(): string {
  for (const rel of ['../templates/', '../../templates/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path.join(dir, 'etc'))) return dir;
  }
  throw new Error('internal: templates/ not found beside the program');
}

/**
 * Every template: relative path (e.g. `etc/fail2ban/jail.local`) → text. The directory is listed
 * at once; each file is read when first used (a re-run of one service reads its few templates,
 * not the web view's page or the CrowdSec scripts). Synchronous on purpose: two dozen small files
 * read one after another asynchronously cost a no-op re-run ~12 ms of idle trips through the
 * thread pool.
 */
export async function loadTemplates(dir = templatesDir()): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        Object.defineProperty(out, r, {
          enumerable: true,
          configurable: true,
          get(): string {
            const text = readFileSync(path.join(dir, r), 'utf8');
            Object.defineProperty(out, r, { value: text, enumerable: true, writable: false, configurable: false });
            return text;
          },
        });
      }
    }
  };
  walk('');
  return out;
}
