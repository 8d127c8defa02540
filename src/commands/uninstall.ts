import path from 'node:path';
import { configTest } from '../adapters/fail2ban.ts';
import type { Context } from '../context.ts';
import { gatherFacts, processAlive } from '../adapters/facts.ts';
import { withRunLock } from '../adapters/run-lock.ts';
import { readManifest, removeTemps, sha256, writtenShas, KEPT_SUFFIX, STATE_DIR, MANIFEST, type Manifest, type ManifestFile } from '../adapters/manifest.ts';
import type { HostFacts } from '../core/facts.ts';
import type { UninstallRescue } from '../core/services/types.ts';
import { iniOnUninstall, iniRecord, type IniUninstall } from '../core/admin-edits.ts';
import { GUARD_STATE_DIR, GUARD_STATE_FILE, JAIL_LOCAL, MAIL_STATE_DIR, MAIL_STATE_FILES } from '../core/paths.ts';
import { CONFIG_VERIFIED } from '../adapters/config-verified.ts';
import { WATCH_STATE, watchUninstallCommands } from '../core/doctor/watch.ts';
import { deepestFirst, removeTreeIfEmpty, tail, waitForStatus } from '../adapters/apply.ts';
import { formatCommand, runOrThrow, type RunResult } from '../adapters/runner.ts';
import { detectDistro } from '../core/distro.ts';
import { purgeCommand } from '../core/packages.ts';
import { fail2banControl, serviceCommandIfPossible } from '../core/service-control.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import { requireRoot } from '../adapters/require-root.ts';
import { UnsafePathError } from '../errors.ts';
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
  /** Files uninstall left on purpose, with the admin's consent (a service module's {@link UninstallRescue}). */
  kept: string[];
  /**
   * Managed files that changed after the tool last wrote them (the admin's edits, or a program's):
   * what was carried into the restored file and where the admin's version is kept. Listed by
   * --dry-run too.
   */
  edits: AdminEdit[];
  warnings: string[];
  /** Why the host is not back where it was (exit 1); empty when it is. */
  failures: string[];
  /** What the admin can run to fix a failure. */
  fixes: string[];
}

/** One managed file the admin changed after the tool wrote it, and what uninstall does with the change. */
export interface AdminEdit {
  path: string;
  /** The admin's whole version, kept beside the file (absent when everything was carried). */
  keptAs?: string;
  /** jail.local: `[section]` added, or `[section] key` changed in a section of the original, carried into the restored file. */
  carried: string[];
  /** jail.local: edits not carried (`[<jail>] maxretry changed`), found in `keptAs` only. */
  notCarried: string[];
  /** One sentence for the admin. */
  message: string;
}

/** What uninstall does with one managed file beyond restoring its original or removing it. */
interface FileUndo {
  edit?: AdminEdit;
  /** The admin's version to keep, and its name. */
  keep?: { path: string; text: string; mode?: number; uid?: number; gid?: number };
  /** jail.local with the admin's sections carried: written instead of the original (null: no file). */
  restored?: string | null;
  /** The original (null: none), when `restored` is set: written instead if fail2ban rejects `restored`. */
  original?: string | null;
  /** The admin's version, when `restored` is set: kept beside then, if it was not already. */
  admin?: { text: string; mode?: number; uid?: number; gid?: number };
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
  // One run at a time changes the host (a dry run changes nothing and takes no lock).
  return options.dryRun ? uninstallHost(options, ctx) : withRunLock(ctx, 'uninstall', () => uninstallHost(options, ctx));
}

/** uninstall, the lock held (or a dry run). */
async function uninstallHost(options: { purgePackages: boolean; dryRun: boolean; yes?: boolean }, ctx: Context): Promise<UninstallReport> {
  const report: UninstallReport = {
    command: 'uninstall',
    dryRun: options.dryRun,
    restored: [],
    removed: [],
    tempsRemoved: [],
    packagesRemoved: [],
    services: [],
    kept: [],
    edits: [],
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
  const u: Undoing = { ctx, options, manifest, facts, report, undos: await decideUndos(ctx, manifest, report) };
  if (options.dryRun) return report;

  // 0. The tool's own services (the CrowdSec bouncer, the web view, the watch) stop first.
  const own = await stopOwnServices(u);
  // 1. Files: originals back, ours removed, empty logs and temp files gone.
  await restoreFiles(u);
  // 1b. What the tool's own services leave once their files are gone.
  await finishOwnServices(u, own);
  // 2. Packages, only when asked.
  if (options.purgePackages && manifest.packages.length && facts.live) {
    const c = { ...purgeCommand(detectDistro(facts.os), manifest.packages), timeoutMs: 600000 };
    ctx.log.step(`removing packages: ${formatCommand(c)}`);
    await runOrThrow(ctx.run, c, 'removing packages');
    report.packagesRemoved = manifest.packages;
  }
  // 3. What each service module asks for once its files are back (e.g. rsyslog drops a
  // service's rule only when it restarts).
  const paths = manifest.files.map((f) => f.path);
  for (const step of SERVICE_MODULES.flatMap((m) => m.uninstall?.({ facts, paths }) ?? [])) {
    const c = serviceCommandIfPossible(facts, step.service, step.action);
    const r = c ? await ctx.run({ ...c, timeoutMs: 60000 }) : null;
    if (r?.exitCode === 0) report.services.push(`${step.service} (${step.action})`);
    else report.warnings.push(step.otherwise);
  }
  // 4. Our own state, so nothing of the tool is left.
  await removeOwnState(ctx, manifest);
  // 5. fail2ban back on its original configuration; running before and not after is a failure.
  // (Unless fail2ban itself was purged: other packages the install brought, cron or postfix, do
  // not stop it, and it would go on running the tool's jails from memory.)
  if (facts.live && facts.fail2ban.installed && !report.packagesRemoved.includes('fail2ban')) await restartFail2ban(u);
  // 6. What our actions wrote while the jails ran, and may write until the restart above stopped
  // them (so removed only now).
  await removeActionState(ctx);
  return report;
}

/** Step 6: the guard's offices and the mail action's pending bans: their own files only (a foreign file keeps its directory). */
async function removeActionState(ctx: Context): Promise<void> {
  for (const name of await ctx.fs.list(GUARD_STATE_DIR)) if (GUARD_STATE_FILE.test(name)) await ctx.fs.remove(`${GUARD_STATE_DIR}/${name}`);
  await ctx.fs.removeEmptyDir(GUARD_STATE_DIR);
  for (const jail of await ctx.fs.list(MAIL_STATE_DIR)) {
    const dir = `${MAIL_STATE_DIR}/${jail}`;
    if (!(await ctx.fs.stat(dir))?.isDirectory) continue;
    for (const f of MAIL_STATE_FILES) await ctx.fs.remove(`${dir}/${f}`);
    await ctx.fs.removeEmptyDir(dir);
  }
  await ctx.fs.removeEmptyDir(MAIL_STATE_DIR);
}

/** One uninstall in progress: the manifest it undoes, what it decided per file, what it reports. */
interface Undoing {
  ctx: Context;
  options: { purgePackages: boolean; dryRun: boolean; yes?: boolean };
  manifest: Manifest;
  facts: HostFacts;
  report: UninstallReport;
  undos: Map<string, FileUndo>;
}

/**
 * What the admin changed after the tool wrote each file, decided before anything is touched, so
 * that --dry-run lists the same (report.restored, removed, edits filled in).
 */
async function decideUndos(ctx: Context, manifest: Manifest, report: UninstallReport): Promise<Map<string, FileUndo>> {
  for (const f of manifest.files) {
    if (f.existed) report.restored.push(f.path);
    else report.removed.push(f.path);
  }
  const undos = new Map<string, FileUndo>();
  for (const f of manifest.files) {
    const u = await undoOf(ctx, f);
    undos.set(f.path, u);
    if (u.edit) report.edits.push(u.edit);
    // A jail.local the tool created that keeps the admin's sections is not removed.
    if (typeof u.restored === 'string' && !f.existed) report.removed = report.removed.filter((p) => p !== f.path);
  }
  return undos;
}

/** The tool's own services, as the manifest says they were installed. */
interface OwnServices {
  member: boolean;
  fleet: ReturnType<typeof memberUninstallCommands>;
  webService: ReturnType<typeof webUninstallCommands>;
  watchService: ReturnType<typeof watchUninstallCommands>;
}

/** Step 0: the tool's own services stop while their unit files and init scripts are still there. */
async function stopOwnServices(u: Undoing): Promise<OwnServices> {
  const { ctx, manifest, facts, report } = u;
  // 0a. CrowdSec member: the bouncer stops (through its service file, still there) and its
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
  const created = manifest.files.filter((f) => !f.existed).map((f) => f.path);
  const webService = webUninstallCommands(created);
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
  // 0c. The watch's timer (issue 23) stops before its unit goes (a cron entry just goes).
  const watchService = watchUninstallCommands(created);
  if (facts.live) for (const c of watchService.before) if ((await ctx.run({ ...c, timeoutMs: 60000 })).exitCode === 0) report.services.push(`voip-f2b-watch (${formatCommand(c)})`);
  return { member, fleet, webService, watchService };
}

/**
 * Step 1: the admin's later version kept beside first, then originals restored byte for byte
 * (with their mode and owner) and ours removed; jail.local gets the admin's own sections. Then
 * the empty log files the tool created and the temp files of interrupted runs go.
 */
async function restoreFiles(u: Undoing): Promise<void> {
  const { ctx, manifest, report } = u;
  for (const f of manifest.files) {
    const undo = u.undos.get(f.path)!;
    if (undo.keep) await ctx.fs.writeAtomic(undo.keep.path, undo.keep.text, { mode: undo.keep.mode, uid: undo.keep.uid, gid: undo.keep.gid });
    if (undo.restored !== undefined) {
      if (undo.restored === null) await ctx.fs.remove(f.path);
      else await ctx.fs.writeAtomic(f.path, undo.restored, f.existed ? { mode: f.mode, uid: f.uid, gid: f.gid } : { mode: 0o644 });
      continue;
    }
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
}

/** Step 1b: the bouncer's tables and the pusher's spool, the watch's and the web view's leftovers. */
async function finishOwnServices(u: Undoing, own: OwnServices): Promise<void> {
  const { ctx, facts } = u;
  if (own.member) {
    for (const c of own.fleet.after) await ctx.run({ ...c, timeoutMs: 60000 });
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

  if (facts.live) for (const c of own.watchService.after) await ctx.run({ ...c, timeoutMs: 60000 });
  if (own.webService.before.length) {
    if (facts.live) for (const c of own.webService.after) await ctx.run({ ...c, timeoutMs: 60000 });
    // Its own output and a pid file a killed service left: runtime files of the tool, gone with it.
    // (The web view's audit log, a security record, stays.)
    await ctx.fs.remove(WEB_LOG);
    await ctx.fs.removeEmptyDir(path.posix.dirname(WEB_LOG));
    const pid = Number.parseInt((await ctx.fs.readText(WEB_PIDFILE))?.trim() ?? '', 10);
    if (facts.live && !(pid > 0 && processAlive(pid))) await ctx.fs.remove(WEB_PIDFILE);
  }
}

/**
 * Step 4: our own state: backups, manifest, then the directories the tool created (deepest
 * first, only while empty: foreign files keep theirs).
 */
async function removeOwnState(ctx: Context, manifest: Manifest): Promise<void> {
  for (const f of manifest.files) if (f.backup) await ctx.fs.remove(f.backup);
  await removeTreeIfEmpty(ctx, path.posix.join(STATE_DIR, 'files'));
  await ctx.fs.remove(CONFIG_VERIFIED);
  await ctx.fs.remove(WATCH_STATE);
  await ctx.fs.remove(MANIFEST);
  await ctx.fs.removeEmptyDir(STATE_DIR);
  for (const d of deepestFirst(manifest.dirs)) await ctx.fs.removeEmptyDir(d);
}

/** The first service module's file that would let fail2ban start, when its test output is about that module. */
function rescueFor(facts: HostFacts, r: RunResult): UninstallRescue | null {
  const output = `${r.stderr}\n${r.stdout}`;
  for (const m of SERVICE_MODULES) {
    const rescue = m.uninstallRescue?.({ facts, output });
    if (rescue) return rescue;
  }
  return null;
}

/**
 * Step 5: fail2ban tested on the restored configuration and restarted if it ran before. What the
 * admin added that fail2ban rejects is not carried after all; a stock jail that cannot start
 * (a module's {@link UninstallRescue}) gets its file with the admin's consent, or a fix to run.
 */
async function restartFail2ban(u: Undoing): Promise<void> {
  const { ctx, facts, report } = u;
  const control = fail2banControl(facts.init, detectDistro(facts.os).family);
  let test = await configTest(ctx);
  if (test.exitCode !== 0 && !rescueFor(facts, test) && (await uncarryRejected(u, test))) test = await configTest(ctx);
  const rescue = test.exitCode !== 0 ? rescueFor(facts, test) : null;
  if (rescue) {
    const change = rescue.settings.trim().split('\n').join(' ');
    const why = `${rescue.why} (${errorLines(test)})`;
    const consent =
      u.options.yes ||
      (ctx.interactive && (await ctx.prompt.confirm({ message: `${why}. Leave ${rescue.path} (${change}) so fail2ban starts?`, flag: '--yes', default: true })));
    if (consent) {
      await ctx.fs.writeAtomic(rescue.path, rescue.text, { mode: 0o644 });
      report.kept.push(rescue.path);
      report.warnings.push(`${why}; left ${rescue.path} (${change}) so that it starts`);
    } else {
      report.warnings.push(why);
      report.fixes.push(`printf '${rescue.settings.replace(/\n/g, '\\n')}' > ${rescue.path} && ${formatCommand(facts.fail2ban.running ? control.restart : control.start)}`);
      report.fixes.push(`or run again with --yes to leave that file: voip-f2b-install uninstall --yes`);
    }
  }
  if (facts.fail2ban.running) {
    ctx.log.step(`restarting fail2ban: ${formatCommand(control.restart)}`);
    const r = await ctx.run(control.restart);
    const s = r.exitCode === 0 ? await waitForStatus(ctx, 30) : r;
    if (r.exitCode === 0 && s.exitCode === 0) report.services.push('fail2ban (restart)');
    else report.failures.push(`fail2ban was running before uninstall and does not run on the restored configuration: ${errorLines(s)}`);
  } else if (test.exitCode !== 0 && !report.kept.length) {
    report.warnings.push(`fail2ban (not running) would not start on the restored configuration: ${errorLines(test)}`);
  }
}

/**
 * Sections the admin added that fail2ban cannot load without the tool (a jail on one of its
 * filters): not carried after all; the original goes back and the admin's version is kept.
 * Returns whether any file was changed (then the test is run again).
 */
async function uncarryRejected(u: Undoing, test: RunResult): Promise<boolean> {
  const { ctx, manifest, report } = u;
  const carriedFiles = manifest.files.filter((f) => u.undos.get(f.path)?.restored !== undefined);
  for (const f of carriedFiles) {
    const undo = u.undos.get(f.path)!;
    const edit = undo.edit!;
    if (!undo.keep && undo.admin) {
      const kept = await keptPathFor(ctx, f.path, undo.admin.text);
      await ctx.fs.writeAtomic(kept, undo.admin.text, { mode: undo.admin.mode, uid: undo.admin.uid, gid: undo.admin.gid });
      edit.keptAs = kept;
    }
    if (undo.original === undefined || undo.original === null) await ctx.fs.remove(f.path);
    else await ctx.fs.writeAtomic(f.path, undo.original, { mode: f.mode, uid: f.uid, gid: f.gid });
    report.warnings.push(
      `fail2ban rejected the restored configuration with what you added carried into ${f.path} (${errorLines(test)}); not carried after all: ${f.existed ? 'its original is restored' : 'it is removed'}, your version is in ${edit.keptAs}`,
    );
    edit.notCarried.push(...edit.carried.map((c) => `${c} (fail2ban rejected it)`));
    edit.carried = [];
  }
  return carriedFiles.length > 0;
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
    ...r.edits.flatMap((e) => [...e.carried.map((c) => `CARRY   ${c} into ${e.path}`), ...(e.keptAs ? [`KEEP    ${e.keptAs} (your version of ${e.path})`] : [])]),
    ...r.kept.map((p) => `KEEP    ${p}`),
    ...r.edits.map((e) => `Edited: ${e.message}`),
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

/** Where the admin's version of `p` is kept: `<name>.voip-f2b-install.kept` (then `.2`, `.3`… beside an older one that differs). */
async function keptPathFor(ctx: Context, p: string, text: string): Promise<string> {
  for (let i = 1; i <= 99; i++) {
    const k = `${p}${KEPT_SUFFIX}${i === 1 ? '' : `.${i}`}`;
    const st = await ctx.fs.stat(k);
    if (!st) return k;
    if (st.isFile && (await ctx.fs.readText(k)) === text) return k;
  }
  throw new Error(`${p}${KEPT_SUFFIX}: 99 kept versions are there already; move them away and run uninstall again`);
}

/**
 * Compares a managed file with what the tool last wrote there (its record in the manifest) and
 * decides what uninstall does with the difference: nothing (still the tool's text or the
 * original), carry the admin's sections and keys (jail.local), keep the admin's version beside
 * the file, or say that the admin removed it. Reads only.
 */
async function undoOf(ctx: Context, f: ManifestFile): Promise<FileUndo> {
  const original = f.existed && f.backup ? await ctx.fs.readText(f.backup) : null;
  if (f.existed && f.backup && original === null) return {}; // handled (and said) by the restore step
  const name = f.path;
  const undone = f.existed ? 'its original is restored' : 'it is removed';
  let current: string | null;
  try {
    current = await ctx.fs.readText(f.path);
  } catch (err) {
    // A link or FIFO a service account put in its place is not read (nor kept): replaced as before.
    if (!(err instanceof UnsafePathError)) throw err;
    return { edit: { path: name, carried: [], notCarried: [], message: `${name} is no longer a file the tool can read safely (${err.message}); not kept; ${undone}` } };
  }
  if (current === null) {
    if (!f.existed) return {};
    return { edit: { path: name, carried: [], notCarried: [], message: `${name} was removed after voip-f2b-install wrote it; its original is restored` } };
  }
  const h = sha256(current);
  if (f.existed && h === f.sha256) return {}; // still (or again) the original
  const known = writtenShas(f);
  const record = f.writing && h === f.writing.sha256 ? f.writing : (f.lastWritten ?? f.writing);
  const st = await ctx.fs.stat(f.path);
  const keepAs = async (): Promise<NonNullable<FileUndo['keep']>> => ({ path: await keptPathFor(ctx, f.path, current), text: current, mode: st?.mode, uid: st?.uid, gid: st?.gid });

  if (f.path === JAIL_LOCAL && (f.lastWritten?.sections || f.writing?.sections)) {
    // Compared with what the tool wrote (and, for a run killed before it wrote jail.local, with
    // the original, which is then what the admin edited): the reading that explains the file
    // with the fewest edits is the admin's.
    const bases = [record, f.lastWritten, f.writing].flatMap((r) => (r?.sections ? [{ rec: r.sections, known }] : []));
    bases.push({ rec: iniRecord(original ?? ''), known: [sha256(original ?? '')] });
    const cost = (x: IniUninstall): number => x.carriedSections.length + x.carriedKeys.length + x.notCarried.length + (x.otherChanges ? 1 : 0);
    const o = bases.map((b) => iniOnUninstall(current, original, b.rec, b.known)).reduce((best, x) => (cost(x) < cost(best) ? x : best));
    const carried = [...o.carriedSections.map((s) => `[${s}]`), ...o.carriedKeys];
    if (!o.keep && !carried.length) return {};
    const keep = o.keep ? await keepAs() : undefined;
    const parts: string[] = [];
    const into = f.existed ? 'carried into the restored file' : `left in ${name}, which holds only ${carried.length > 1 ? 'them' : 'it'} now (there was none before)`;
    if (carried.length) parts.push(`${carried.join(', ')} added or changed after voip-f2b-install wrote it ${carried.length > 1 ? 'are' : 'is'} ${into}`);
    if (o.notCarried.length) parts.push(`not carried: ${o.notCarried.join(', ')} (the tool's jails and settings go with it; the original's values come back)`);
    if (o.otherChanges) parts.push(`changed after voip-f2b-install wrote it outside any key (comments, layout): not carried`);
    if (keep) parts.push(`your whole version is kept as ${keep.path}`);
    return {
      edit: { path: name, ...(keep ? { keptAs: keep.path } : {}), carried, notCarried: o.notCarried, message: `${name}: ${parts.join('; ')}` },
      keep,
      ...(carried.length ? { restored: o.text, original, admin: { text: current, mode: st?.mode, uid: st?.uid, gid: st?.gid } } : {}),
    };
  }
  if (known.includes(h)) {
    if (!record?.foreign || h !== record.sha256) return {};
    // Edits made before a later run, which kept them in the file it wrote.
    const keep = await keepAs();
    return {
      edit: { path: name, keptAs: keep.path, carried: [], notCarried: [], message: `${name} held changes made after voip-f2b-install wrote it, which a later run kept; ${undone}, the version with them is kept as ${keep.path}` },
      keep,
    };
  }
  if (!known.length) {
    // A manifest of an older version, with no record of what it wrote: a file not modified since
    // the manifest was last written (the last step of every run) is the tool's; so is the web
    // view's program (the tool's code).
    const m = await ctx.fs.stat(MANIFEST);
    if ((st && m && st.mtimeMs <= m.mtimeMs) || f.path.startsWith(`${WEB_PROGRAM_DIR}/`)) return {};
  }
  const keep = await keepAs();
  const message = known.length
    ? `${name} changed after voip-f2b-install last wrote it; ${undone}, your version is kept as ${keep.path}`
    : `cannot tell whether you edited ${name} (an older version of voip-f2b-install kept no record of what it wrote); ${undone}, your version is kept as ${keep.path}`;
  return { edit: { path: name, keptAs: keep.path, carried: [], notCarried: [], message }, keep };
}
