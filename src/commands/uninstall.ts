import path from 'node:path';
import { configTest } from '../adapters/fail2ban.ts';
import type { Context } from '../context.ts';
import { gatherFacts, processAlive } from '../adapters/facts.ts';
import { readManifest, removeTemps, sha256, STATE_DIR, MANIFEST } from '../adapters/manifest.ts';
import { CONFIG_VERIFIED } from '../adapters/config-verified.ts';
import { deepestFirst, removeTreeIfEmpty, tail, waitForStatus } from '../adapters/apply.ts';
import { formatCommand, runOrThrow, type RunResult } from '../adapters/runner.ts';
import { detectDistro } from '../core/distro.ts';
import { purgeCommand } from '../core/packages.ts';
import { fail2banControl, serviceCommandIfPossible } from '../core/service-control.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import { requireRoot } from './require-root.ts';
import { BOUNCER_CONFIG, PUSH_SPOOL, memberUninstallCommands } from '../core/crowdsec.ts';
import { WEB_LOG, WEB_PIDFILE, WEB_PROGRAM_BIN, WEB_PROGRAM_DIR, webUninstallCommands } from '../core/web-service.ts';
import { readFile } from 'node:fs/promises';

export interface UninstallReport {
  command: 'uninstall';
  dryRun: boolean;
  restored: string[];
  removed: string[];
  /** Temp files and staging directories of interrupted runs that were removed. */
  tempsRemoved: string[];
  packagesRemoved: string[];
  services: string[];
  /** Files uninstall left on purpose, with the admin's consent (the sshd override). */
  kept: string[];
  warnings: string[];
  /** Why the host is not back where it was (exit 1); empty when it is. */
  failures: string[];
  /** What the admin can run to fix a failure. */
  fixes: string[];
}

/** Left with consent when the restored stock config cannot start (the Debian sshd trap). */
export const SSHD_OVERRIDE = '/etc/fail2ban/jail.d/sshd-voip-f2b-uninstall.local';

/** fail2ban's errors name the sshd jail: the stock sshd jail has no log to read. */
function isSshdTrap(r: RunResult): boolean {
  return /jail ['"]?sshd['"]?|sshd jail|Have not found any log file for sshd/i.test(`${r.stderr}\n${r.stdout}`);
}

function errorLines(r: RunResult): string {
  const all = `${r.stderr}\n${r.stdout}`
    .split('\n')
    .filter((l) => /\b(ERROR|CRITICAL)\b/.test(l) && !/test configuration failed/.test(l))
    .map((l) => l.replace(/^.*?\b(ERROR|CRITICAL)\b\s*/, '$1 ').trim());
  return (all.length ? all.slice(0, 4) : tail(r.stderr || r.stdout, 4).split('\n')).join('; ');
}

/**
 * `uninstall`: puts every file in the manifest back as it was before the first run (removes
 * the files the tool created), removes temp files and the directories the tool created (when
 * empty), restarts fail2ban; packages stay unless --purge-packages. Works from the journal of an
 * interrupted run too. fail2ban running before and not after is a failure (report.failures).
 */
export async function uninstall(options: { purgePackages: boolean; dryRun: boolean; yes?: boolean }, ctx: Context): Promise<UninstallReport> {
  requireRoot(ctx, options.dryRun, 'restore /etc/fail2ban', 'run with sudo, or use --dry-run');
  const report: UninstallReport = {
    command: 'uninstall',
    dryRun: options.dryRun,
    restored: [],
    removed: [],
    tempsRemoved: [],
    packagesRemoved: [],
    services: [],
    kept: [],
    warnings: [],
    failures: [],
    fixes: [],
  };
  const { manifest, text } = await readManifest(ctx.fs);
  if (text === null) {
    if (!options.dryRun) report.tempsRemoved = await removeTemps(ctx.fs, manifest);
    report.warnings.push('nothing to undo: no manifest of an earlier install was found');
    return report;
  }
  if (manifest.pending) report.warnings.push(`a run started at ${manifest.pending.startedAt} was interrupted; undoing it from its journal`);
  const facts = await gatherFacts(ctx);
  for (const f of manifest.files) {
    if (f.existed) report.restored.push(f.path);
    else report.removed.push(f.path);
  }
  if (options.dryRun) return report;
  const wasRunning = facts.live && facts.fail2ban.running;

  // 0. CrowdSec member: the bouncer stops (through its service file, still there) and its
  // tables go, so no fleet decision is enforced once our files are gone.
  const member = facts.live && manifest.files.some((f) => f.path === BOUNCER_CONFIG && !f.existed);
  const fleet = memberUninstallCommands(facts.init);
  if (member) {
    for (const c of fleet.before) {
      const r = await ctx.run({ ...c, timeoutMs: 60000 });
      if (r.exitCode === 0) report.services.push(`crowdsec-firewall-bouncer (${formatCommand(c)})`);
    }
  }

  // 0b. The web view's service (install --web) stops through its unit or init script, while
  // they are still there, before its program goes.
  const webService = webUninstallCommands(manifest.files.filter((f) => !f.existed).map((f) => f.path));
  if (facts.live) {
    for (const c of webService.before) {
      const r = await ctx.run({ ...c, timeoutMs: 60000 });
      if (r.exitCode === 0) report.services.push(`voip-f2b-web (${formatCommand(c)})`);
      else report.warnings.push(`the web view's service did not stop: \`${formatCommand(c)}\` exited ${r.exitCode}: ${tail(r.stderr || r.stdout, 2)}`);
    }
    // Still running (its script failed or is gone)? The PID in its pid file, if that process runs
    // our program, gets SIGTERM, then SIGKILL after 10 s: its program is about to be removed.
    if (webService.before.length) await stopWebByPid(ctx, report);
  }

  // 1. Files: restore originals byte for byte (with their mode and owner), remove ours.
  for (const f of manifest.files) {
    if (f.existed && f.backup) {
      const original = await ctx.fs.readText(f.backup);
      if (original === null) {
        // Backups are written before any file is replaced: an interrupted run that had not
        // written this backup had not touched the file either (its checksum says so).
        const current = await ctx.fs.readText(f.path);
        if (current === null || sha256(current) !== f.sha256) report.warnings.push(`backup of ${f.path} is missing; left as it is`);
        continue;
      }
      await ctx.fs.writeAtomic(f.path, original, { mode: f.mode, uid: f.uid, gid: f.gid });
    } else {
      await ctx.fs.remove(f.path);
      if (f.path.endsWith('.py')) await removeBytecode(ctx, f.path);
    }
  }
  for (const l of manifest.logs ?? []) {
    const st = await ctx.fs.stat(l);
    if (st && st.isFile && (await ctx.fs.readText(l)) === '') await ctx.fs.remove(l);
  }
  report.tempsRemoved = await removeTemps(ctx.fs, manifest);

  if (member) {
    for (const c of fleet.after) await ctx.run({ ...c, timeoutMs: 60000 });
    // The pusher's spool (queued pushes, its state): runtime state of the tool, gone with it.
    const removeTree = async (dir: string): Promise<void> => {
      for (const name of await ctx.fs.list(dir)) {
        const p = `${dir}/${name}`;
        if ((await ctx.fs.stat(p))?.isDirectory) await removeTree(p);
        else await ctx.fs.remove(p);
      }
      await ctx.fs.removeEmptyDir(dir);
    };
    await removeTree(PUSH_SPOOL);
    await ctx.fs.removeEmptyDir(path.posix.dirname(PUSH_SPOOL));
  }

  if (webService.before.length) {
    if (facts.live) for (const c of webService.after) await ctx.run({ ...c, timeoutMs: 60000 });
    // Its own output and a pid file a killed service left: runtime files of the tool, gone with it.
    // (The web view's audit log, a security record, stays.)
    await ctx.fs.remove(WEB_LOG);
    await ctx.fs.removeEmptyDir(path.posix.dirname(WEB_LOG));
    const pid = Number.parseInt((await ctx.fs.readText(WEB_PIDFILE))?.trim() ?? '', 10);
    if (facts.live && !(pid > 0 && processAlive(pid))) await ctx.fs.remove(WEB_PIDFILE);
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

  // 4. Our own state, so nothing of the tool is left: backups, manifest, then the directories
  // the tool created (deepest first, only while empty: foreign files keep theirs).
  for (const f of manifest.files) if (f.backup) await ctx.fs.remove(f.backup);
  await removeTreeIfEmpty(ctx, path.posix.join(STATE_DIR, 'files'));
  await ctx.fs.remove(CONFIG_VERIFIED);
  await ctx.fs.remove(MANIFEST);
  await ctx.fs.removeEmptyDir(STATE_DIR);
  for (const d of deepestFirst(manifest.dirs)) await ctx.fs.removeEmptyDir(d);

  // 5. fail2ban back on its original configuration; running before and not after is a failure.
  if (facts.live && facts.fail2ban.installed && !report.packagesRemoved.length) {
    const distro = detectDistro(facts.os);
    const control = fail2banControl(facts.init, distro.family);
    const test = await configTest(ctx);
    if (test.exitCode !== 0 && isSshdTrap(test)) {
      const fix = facts.journald ? 'backend = systemd' : 'enabled = false';
      const why = `the restored stock configuration enables the sshd jail, which cannot start here (${errorLines(test)})`;
      const consent =
        options.yes ||
        (ctx.interactive && (await ctx.prompt.confirm({ message: `${why}. Leave ${SSHD_OVERRIDE} ([sshd] ${fix}) so fail2ban starts?`, flag: '--yes', default: true })));
      if (consent) {
        await ctx.fs.writeAtomic(
          SSHD_OVERRIDE,
          `# Left by voip-f2b-install uninstall, with the admin's consent: the stock sshd jail\n# cannot start on this host (${facts.journald ? 'no auth log; journald has the SSH logins' : 'no auth log and no journald'}).\n# Remove this file once sshd logs reach fail2ban.\n[sshd]\n${fix}\n`,
          { mode: 0o644 },
        );
        report.kept.push(SSHD_OVERRIDE);
        report.warnings.push(`${why}; left ${SSHD_OVERRIDE} ([sshd] ${fix}) so that it starts`);
      } else {
        report.warnings.push(why);
        report.fixes.push(`printf '[sshd]\\n${fix}\\n' > ${SSHD_OVERRIDE} && ${formatCommand(wasRunning ? control.restart : control.start)}`);
        report.fixes.push(`or run again with --yes to leave that file: voip-f2b-install uninstall --yes`);
      }
    }
    if (wasRunning) {
      ctx.log.step(`restarting fail2ban: ${formatCommand(control.restart)}`);
      const r = await ctx.run(control.restart);
      const s = r.exitCode === 0 ? await waitForStatus(ctx, 30) : r;
      if (r.exitCode === 0 && s.exitCode === 0) report.services.push('fail2ban (restart)');
      else report.failures.push(`fail2ban was running before uninstall and does not run on the restored configuration: ${errorLines(s)}`);
    } else if (test.exitCode !== 0 && !report.kept.length) {
      report.warnings.push(`fail2ban (not running) would not start on the restored configuration: ${errorLines(test)}`);
    }
  }
  return report;
}

/** The text printed by `uninstall`: every action, every warning, and the verdict. */
export function formatUninstallReport(r: UninstallReport): string {
  // The web view's program is one line, as in the install's plan (--json lists every file).
  const program = r.removed.filter((p) => p.startsWith(`${WEB_PROGRAM_DIR}/`));
  const removed = r.removed.filter((p) => !program.includes(p)).map((p) => `REMOVE  ${p}`);
  if (program.length) removed.push(`REMOVE  ${WEB_PROGRAM_DIR}/ (the web view's program, ${program.length} files)`);
  const lines = [
    ...r.restored.map((p) => `RESTORE ${p}`),
    ...removed,
    ...r.tempsRemoved.map((p) => `REMOVE  ${p} (temp file of an interrupted run)`),
    ...r.kept.map((p) => `KEEP    ${p}`),
    ...(r.packagesRemoved.length ? [`Removed packages: ${r.packagesRemoved.join(' ')}`] : []),
    ...(r.services.length ? [`Services: ${r.services.join(', ')}`] : []),
    ...r.warnings.map((w) => `Warning: ${w}`),
    ...r.failures.map((f) => `FAILED: ${f}`),
    ...r.fixes.map((f) => `To fix: ${f}`),
  ];
  if (r.dryRun) lines.push('Dry run: nothing was changed.');
  else if (r.failures.length) lines.push('Files restored, but the host is not as it was (exit 1).');
  else if (r.warnings.some((w) => w.startsWith('nothing to undo'))) lines.push('Nothing to undo.');
  else lines.push('Done.');
  return `${lines.join('\n')}\n`;
}

/** Stops the web view's process by the PID in its pid file, only if that process runs our copy. */
async function stopWebByPid(ctx: Context, report: UninstallReport): Promise<void> {
  const pid = Number.parseInt((await ctx.fs.readText(WEB_PIDFILE))?.trim() ?? '', 10);
  if (!(pid > 0) || !processAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!cmdline.split('\0').includes(WEB_PROGRAM_BIN)) return;
  for (const [signal, ms] of [['SIGTERM', 10000], ['SIGKILL', 5000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    const deadline = Date.now() + ms;
    while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!processAlive(pid)) {
      report.services.push(`voip-f2b-web (${signal} to PID ${pid})`);
      return;
    }
  }
}

/**
 * Python writes `__pycache__/<name>.cpython-3NN.pyc` beside a module it imports: fail2ban does
 * so for our Python ban action. Removed with the module (and the directory, when left empty).
 */
async function removeBytecode(ctx: Context, file: string): Promise<void> {
  const cache = path.posix.join(path.posix.dirname(file), '__pycache__');
  const stem = path.posix.basename(file, '.py');
  for (const name of await ctx.fs.list(cache)) {
    if (name.startsWith(`${stem}.`) && name.endsWith('.pyc')) await ctx.fs.remove(path.posix.join(cache, name));
  }
  await ctx.fs.removeEmptyDir(cache);
}
