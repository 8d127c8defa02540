import { UsageError } from '../errors.ts';
import { readSecretSafe } from './fs.ts';

/**
 * Reads a file holding secrets that the operator names on the command line (a path on this
 * machine, also under --root). Refused (exit 2, nothing changed) when it is missing, a link, not
 * a regular file, owned by another user, readable or writable by anyone but its owner, or in a
 * directory others can write (src/adapters/fs.ts readSecretSafe); its text is returned, never
 * logged.
 */
export async function readSecretFile(flag: string, file: string): Promise<string> {
  const r = readSecretSafe(file);
  if ('text' in r) return r.text;
  if ('missing' in r) throw new UsageError(`invalid ${flag} '${file}': no such file; expected a file readable by root only`);
  throw new UsageError(`invalid ${flag} '${file}': ${r.refused}; expected a regular file of root's, mode 0600, in a directory only root can write`, r.fix);
}
