import path from 'node:path';
import type { Context } from '../context.ts';
import type { AuditEntry, AuditLog } from './server.ts';

export const AUDIT_LOG = '/var/log/voip-f2b-install/web-audit.log';

/** Audit log: one JSON line per change (time, client, action, target, result), file 0600. */
export function fileAuditLog(ctx: Context, file = AUDIT_LOG): AuditLog {
  return {
    async append(e: AuditEntry): Promise<void> {
      await ctx.fs.mkdirp(path.posix.dirname(file), 0o700);
      await ctx.fs.append(file, `${JSON.stringify(e)}\n`);
    },
    async recent(n: number): Promise<AuditEntry[]> {
      const text = (await ctx.fs.readText(file).catch(() => null)) ?? '';
      return text
        .split('\n')
        .filter(Boolean)
        .slice(-n)
        .reverse()
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as AuditEntry];
          } catch {
            return [];
          }
        });
    },
  };
}
