import type { Context } from '../context.ts';
import { STATE_DIR } from './manifest.ts';

/**
 * "This exact configuration passed `fail2ban-client -t`": a fingerprint of every file under
 * /etc/fail2ban (path, inode, size, modification and change times) and fail2ban's version,
 * recorded after a run whose test passed. A re-run whose fingerprint is the same skips the test
 * (a Python start-up of 0.3-0.5 s). Any edit, by us or by hand, anywhere in /etc/fail2ban, or
 * another fail2ban version, changes it and the test runs again. Losing the record only costs one
 * test.
 *
 * Why the files' status and not their bytes: the change time (ctime) is set by the kernel on
 * every write, rename, chmod or chown and no program can set it back short of changing the
 * system clock (tar, cp -p and touch set only the modification time), and a replaced file has
 * another inode; so equal status means the files were not touched since the test. It reads no
 * file and hashes nothing.
 * Python's byte-code caches (__pycache__, written by fail2ban itself when it loads an action)
 * are not configuration and are left out.
 */
export const CONFIG_VERIFIED = `${STATE_DIR}/fail2ban-config-verified`;
const CONF_DIR = '/etc/fail2ban';

export async function fail2banConfigFingerprint(ctx: Context, version: string | null): Promise<string> {
  const lines = [`fail2ban-config-status 1 ${version ?? 'unknown'}`];
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const name of (await ctx.fs.list(dir)).sort()) {
      const p = `${dir}/${name}`;
      const st = await ctx.fs.stat(p);
      if (st?.isDirectory && depth < 4) {
        if (name !== '__pycache__') await walk(p, depth + 1);
      } else if (st?.isFile) lines.push(`${JSON.stringify(p)} ${st.ino} ${st.size} ${st.mtimeMs} ${st.ctimeMs} ${st.mode.toString(8)} ${st.uid}:${st.gid}`);
    }
  };
  await walk(CONF_DIR, 0);
  return lines.join('\n');
}

/** Whether `fingerprint` is the one recorded after the last passed test. */
export async function configKnownGood(ctx: Context, fingerprint: string): Promise<boolean> {
  return (await ctx.fs.readText(CONFIG_VERIFIED))?.trim() === fingerprint.trim();
}

/** Records `fingerprint` as tested good (only where the tool keeps its state already). */
export async function recordConfigGood(ctx: Context, fingerprint: string): Promise<void> {
  if (!(await ctx.fs.exists(STATE_DIR))) return;
  await ctx.fs.writeAtomic(CONFIG_VERIFIED, `${fingerprint}\n`, { mode: 0o600 });
}
