import type { Context } from '../context.ts';
import { builtin } from '../builtin.ts';
import { STATE_DIR } from './manifest.ts';

/**
 * "This exact configuration passed `fail2ban-client -t`": a digest of every file under
 * /etc/fail2ban (paths and bytes) and fail2ban's version, recorded after a run whose test passed.
 * A re-run whose digest is the same skips the test (a Python start-up of 0.3-0.5 s): the files
 * fail2ban would read are byte for byte those it accepted. Any edit, by us or by hand, anywhere
 * in /etc/fail2ban, or another fail2ban version, changes the digest and the test runs again.
 * Losing the record only costs one test.
 */
export const CONFIG_VERIFIED = `${STATE_DIR}/fail2ban-config-verified`;
const CONF_DIR = '/etc/fail2ban';

export async function fail2banConfigDigest(ctx: Context, version: string | null): Promise<string> {
  const h = builtin<typeof import('node:crypto')>('node:crypto').createHash('sha256');
  h.update(`fail2ban ${version ?? 'unknown'}\0`);
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const name of (await ctx.fs.list(dir)).sort()) {
      const p = `${dir}/${name}`;
      const st = await ctx.fs.stat(p);
      if (st?.isDirectory && depth < 4) await walk(p, depth + 1);
      else if (st?.isFile) {
        const text = await ctx.fs.readText(p);
        h.update(`${p}\0${text?.length ?? -1}\0${text ?? ''}\0`);
      }
    }
  };
  await walk(CONF_DIR, 0);
  return h.digest('hex');
}

/** Whether `digest` is the one recorded after the last passed test. */
export async function configKnownGood(ctx: Context, digest: string): Promise<boolean> {
  return (await ctx.fs.readText(CONFIG_VERIFIED))?.trim() === digest;
}

/** Records `digest` as tested good (only where the tool keeps its state already). */
export async function recordConfigGood(ctx: Context, digest: string): Promise<void> {
  if (!(await ctx.fs.exists(STATE_DIR))) return;
  await ctx.fs.writeAtomic(CONFIG_VERIFIED, `${digest}\n`, { mode: 0o600 });
}
