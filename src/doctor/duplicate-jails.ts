import type { Context } from '../context.ts';
import { fail2banJailFiles } from '../adapters/facts.ts';
import { duplicateJails, duplicateJailsWarning, existingJails } from '../core/pbx-distro-jails.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';

/**
 * doctor, on any host: enabled jails that count the same failures (two jails on one log with
 * filters of one kind: FusionPBX's [freeswitch] beside [voip-freeswitch], [ssh] beside Debian's
 * [sshd]), read from fail2ban's jail files as fail2ban composes them. One warning per group.
 */
export async function duplicateJailWarnings(ctx: Context): Promise<string[]> {
  // A service module's own filters and those it adopts count the same failures.
  const kinds = SERVICE_MODULES.filter((m) => m.adopts).map((m) => [...m.filters.map((f) => f.replace(/\.conf$/, '')), ...m.adopts!]);
  return duplicateJails(existingJails(await fail2banJailFiles(ctx)), kinds).map(duplicateJailsWarning);
}
