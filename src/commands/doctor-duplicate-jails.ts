import type { Context } from '../context.ts';
import { JAIL_DIR, duplicateJails, duplicateJailsWarning, existingJails, type ConfigText } from '../core/pbx-distro-jails.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';

/**
 * doctor, on any host: enabled jails that count the same failures (two jails on one log with
 * filters of one kind: FusionPBX's [freeswitch] beside [voip-freeswitch], [ssh] beside Debian's
 * [sshd]), read from fail2ban's jail files as fail2ban composes them. One warning per group.
 */
export async function duplicateJailWarnings(ctx: Context): Promise<string[]> {
  const f2b = '/etc/fail2ban';
  const paths = [
    ...(await ctx.fs.list(f2b)).filter((n) => /^(?:jail\.(?:conf|local)|paths-[\w-]+\.conf)$/.test(n)).map((n) => `${f2b}/${n}`),
    ...(await ctx.fs.list(JAIL_DIR)).filter((n) => /\.(?:conf|local)$/.test(n)).map((n) => `${JAIL_DIR}/${n}`),
  ];
  const files: ConfigText[] = [];
  for (const path of paths) {
    const text = await ctx.fs.readText(path);
    if (text !== null) files.push({ path, text });
  }
  // A service module's own filters and those it adopts count the same failures.
  const kinds = SERVICE_MODULES.filter((m) => m.adopts).map((m) => [...m.filters.map((f) => f.replace(/\.conf$/, '')), ...m.adopts!]);
  return duplicateJails(existingJails(files), kinds).map(duplicateJailsWarning);
}
