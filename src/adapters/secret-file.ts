import { promises as fsp } from 'node:fs';
import { UsageError } from '../errors.ts';
import { tooOpen } from '../core/crowdsec.ts';

/**
 * Reads a file holding secrets that the operator names on the command line (a path on this
 * machine, also under --root). Refused (exit 2, nothing changed) when it is missing or when
 * anyone but its owner may read or write it; its text is returned, never logged.
 */
export async function readSecretFile(flag: string, file: string): Promise<string> {
  let st;
  try {
    st = await fsp.stat(file);
  } catch {
    throw new UsageError(`invalid ${flag} '${file}': no such file; expected a file readable by root only`);
  }
  if (!st.isFile()) throw new UsageError(`invalid ${flag} '${file}': not a regular file; expected a file readable by root only`);
  if (tooOpen(st.mode)) {
    throw new UsageError(
      `invalid ${flag} '${file}': mode ${(st.mode & 0o777).toString(8).padStart(4, '0')} lets others read it; expected a file readable by its owner only`,
      `chmod 600 ${file}`,
    );
  }
  return fsp.readFile(file, 'utf8');
}
