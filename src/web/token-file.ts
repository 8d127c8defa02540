import path from 'node:path';
import { readSecretSafe, type SecretRead } from '../adapters/fs.ts';
import type { Context } from '../context.ts';
import { UsageError } from '../errors.ts';
import { newToken } from './auth.ts';

/**
 * The token: read from the file, or created there on first start (256 random bits, directory
 * 0700, file 0600, both root's). The file is trusted on more than its mode (readSecretSafe): a
 * link, a file another user owns (that user chose the token), one others may read (that token is
 * spent) or one in a directory others can write is refused, exit 2.
 */
export async function loadOrCreateToken(ctx: Context, file: string): Promise<{ token: string; created: boolean }> {
  const real = ctx.fs.real(file);
  const read = (): SecretRead => {
    const r = readSecretSafe(real);
    if ('refused' in r && r.looseMode !== undefined) {
      throw new UsageError(`the token file ${file} can be read by others (mode ${r.looseMode.toString(8)}): refusing to use it`, `delete it to have a new token made (mode 0600), or chmod 600 ${file} if nobody else read it`);
    }
    if ('refused' in r) throw new UsageError(`refusing the token file ${file}: ${r.refused}`, `delete it to have a new token made (mode 0600), or ${r.fix}`);
    return r;
  };
  let r = read();
  if ('missing' in r) {
    await ctx.fs.mkdirp(path.posix.dirname(file), 0o700);
    r = read(); // the directory, now that it exists, is checked too
  }
  if ('text' in r) {
    const token = r.text.trim();
    if (token.length < 22) throw new UsageError(`the token file ${file} holds a token shorter than 128 bits; delete it to have a new one made`);
    return { token, created: false };
  }
  const token = newToken();
  // Made whole (mode, owner, content) under a temp name, then linked: never replaces a file.
  if (!(await ctx.fs.touch(file, { mode: 0o600 }, `${token}\n`))) return loadOrCreateToken(ctx, file);
  return { token, created: true };
}
