import path from 'node:path';
import type { Context } from '../context.ts';
import { gatherFacts } from '../adapters/facts.ts';
import { readManifest, STATE_DIR, MANIFEST } from '../adapters/manifest.ts';
import { removeTreeIfEmpty } from '../adapters/apply.ts';
import { formatCommand, runOrThrow, tail } from '../adapters/runner.ts';
import { detectDistro } from '../core/distro.ts';
import { purgeCommand } from '../core/packages.ts';
import { fail2banControl, serviceCommandIfPossible } from '../core/service-control.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import { requireRoot } from './require-root.ts';

export interface UninstallReport {
  command: 'uninstall';
  dryRun: boolean;
  restored: string[];
  removed: string[];
  packagesRemoved: string[];
  services: string[];
  warnings: string[];
}

/**
 * `uninstall`: puts every file in the manifest back as it was before the first run (removes
 * the files the tool created), restarts fail2ban; packages stay unless --purge-packages.
 */
export async function uninstall(options: { purgePackages: boolean; dryRun: boolean }, ctx: Context): Promise<UninstallReport> {
  requireRoot(ctx, options.dryRun, 'restore /etc/fail2ban', 'run with sudo, or use --dry-run');
  const report: UninstallReport = { command: 'uninstall', dryRun: options.dryRun, restored: [], removed: [], packagesRemoved: [], services: [], warnings: [] };
  const { manifest, text } = await readManifest(ctx.fs);
  if (text === null) {
    report.warnings.push('nothing to undo: no manifest of an earlier install was found');
    return report;
  }
  const facts = await gatherFacts(ctx);
  for (const f of manifest.files) {
    if (f.existed) report.restored.push(f.path);
    else report.removed.push(f.path);
  }
  if (options.dryRun) return report;

  // 1. Files: restore originals byte for byte (with their mode and owner), remove ours.
  for (const f of manifest.files) {
    if (f.existed && f.backup) {
      const original = await ctx.fs.readText(f.backup);
      if (original === null) {
        report.warnings.push(`backup of ${f.path} is missing; left as it is`);
        continue;
      }
      await ctx.fs.writeAtomic(f.path, original, { mode: f.mode, uid: f.uid, gid: f.gid });
    } else {
      await ctx.fs.remove(f.path);
    }
  }
  for (const l of manifest.logs ?? []) {
    const st = await ctx.fs.stat(l);
    if (st && st.isFile && (await ctx.fs.readText(l)) === '') await ctx.fs.remove(l);
  }

  // 2. Packages, only when asked.
  if (options.purgePackages && manifest.packages.length && facts.live) {
    const c = { ...purgeCommand(detectDistro(facts.os), manifest.packages), timeoutMs: 600000 };
    ctx.log.step(`removing packages: ${formatCommand(c)}`);
    await runOrThrow(ctx.run, c, 'removing packages');
    report.packagesRemoved = manifest.packages;
  }

  // 3. What each service module asks for once its files are back (e.g. rsyslog drops the
  // Kamailio rule only when it restarts).
  const paths = manifest.files.map((f) => f.path);
  for (const step of SERVICE_MODULES.flatMap((m) => m.uninstall?.({ facts, paths }) ?? [])) {
    const c = serviceCommandIfPossible(facts, step.service, step.action);
    const r = c ? await ctx.run({ ...c, timeoutMs: 60000 }) : null;
    if (r?.exitCode === 0) report.services.push(`${step.service} (${step.action})`);
    else report.warnings.push(step.otherwise);
  }

  // 4. fail2ban back on its original configuration.
  if (facts.live && facts.fail2ban.installed && !report.packagesRemoved.length) {
    const distro = detectDistro(facts.os);
    const control = fail2banControl(facts.init, distro.family);
    const c = facts.fail2ban.running ? control.restart : null;
    if (c) {
      ctx.log.step(`restarting fail2ban: ${formatCommand(c)}`);
      const r = await ctx.run(c);
      if (r.exitCode === 0) report.services.push('fail2ban (restart)');
      else report.warnings.push(`fail2ban did not start on the restored configuration: ${tail(r.stderr || r.stdout, 4)}`);
    }
  }

  // 5. Our own state last, so an interrupted uninstall can be run again: backups, manifest,
  // then the directories the tool created (deepest first, only while empty).
  for (const f of manifest.files) if (f.backup) await ctx.fs.remove(f.backup);
  await removeTreeIfEmpty(ctx, path.posix.join(STATE_DIR, 'files'));
  await ctx.fs.remove(MANIFEST);
  await ctx.fs.removeEmptyDir(STATE_DIR);
  for (const d of [...manifest.dirs].reverse()) await ctx.fs.removeEmptyDir(d);
  return report;
}
