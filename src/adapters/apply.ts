import path from 'node:path';
import { configTest, parseJailList } from './fail2ban.ts';
import type { Context } from '../context.ts';
import type { HostFacts } from '../core/facts.ts';
import { fail2banVersion, processAlive } from './facts.ts';
import { fail2banConfigFingerprint, recordConfigGood } from './config-verified.ts';
import type { Distro } from '../core/distro.ts';
import { changedFiles, type Plan } from '../core/plan.ts';
import { fail2banControl } from '../core/service-control.ts';
import { RolledBackError, UnsafePathError } from '../errors.ts';
import { formatCommand, runOrThrow, tail, type RunResult } from './runner.ts';
import { backupPath, readManifest, type Manifest, recordWriting, removeTemps, settleWriting, sha256, writeManifest, MANIFEST, STATE_DIR } from './manifest.ts';
import { tempPathOf, type FileStat } from './fs.ts';

export interface ApplyResult {
  filesChanged: string[];
  packagesInstalled: string[];
  /** Services started or restarted, e.g. `fail2ban (restart)`. */
  services: string[];
  jailsActive: string[];
  warnings: string[];
}

export { tail } from './runner.ts';

/** fail2ban's own error lines (ERROR/CRITICAL), or the tail when it printed none. */
function fail2banErrors(r: RunResult): string[] {
  const all = `${r.stderr}\n${r.stdout}`.split('\n');
  const errors = all.filter((l) => /\b(ERROR|CRITICAL)\b/.test(l)).map((l) => l.trim());
  return errors.length ? errors : tail(`${r.stderr}${r.stdout}`).split('\n').filter(Boolean);
}


/** Polls `fail2ban-client status` until the server answers (bounded). */
export async function waitForStatus(ctx: Context, seconds: number): Promise<RunResult> {
  let last: RunResult = { exitCode: 1, stdout: '', stderr: 'fail2ban did not answer' };
  const deadline = Date.now() + seconds * 1000;
  for (let i = 0; i < seconds * 4 && Date.now() < deadline; i++) {
    last = await ctx.run({ cmd: 'fail2ban-client', args: ['status'], timeoutMs: 10000 });
    if (last.exitCode === 0) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

/**
 * Carries out a plan: 1 packages, 2 the journal (the manifest with this run's intent), 3 backups,
 * 4 atomic writes, 5 log files, 6 (--root) close the journal; on a live host 7 config test,
 * (re)start and verify fail2ban, 8 after-commands, 9 close the journal. A failure in 3-5 undoes
 * what was written; a failure in 7-8 restores every file and the previous fail2ban, then throws
 * RolledBackError (exit 1).
 */
export async function applyPlan(ctx: Context, plan: Plan, facts: HostFacts, distro: Distro, o: { restart?: boolean } = {}): Promise<ApplyResult> {
  const result: ApplyResult = { filesChanged: [], packagesInstalled: [], services: [], jailsActive: [], warnings: [] };
  // 1. Packages: before any file is touched, so a failure leaves every file as it was.
  for (const c of plan.packageCommands) {
    ctx.log.step(`installing packages: ${formatCommand(c)}`);
    await runOrThrow(ctx.run, c, 'installing packages');
  }
  result.packagesInstalled = plan.packages;
  // 2. Intent first: everything this run will create or replace, in the manifest.
  const a = await journalIntent(ctx, plan, result);
  // 3-6. Backups, directories, files, log files (undone on a failure).
  await writeFiles(a, facts);
  if (!facts.live) return result; // --root: no services are touched
  // 7. Test, (re)start and verify fail2ban; on failure restore files and the old fail2ban.
  const svc: Fail2banState = { control: fail2banControl(facts.init, distro.family), wasRunning: facts.fail2ban.running, touched: false };
  const tested = await startFail2ban(a, svc, facts, o);
  // 8. Reloads and restarts of other services, once fail2ban is known good.
  await runAfterCommands(a, svc);
  // 9. Done: close the journal, and remember that this configuration passed the test (a re-run
  // with the same files need not start Python to test it again).
  if (a.journalWritten) await closeJournal(a);
  // The version as the re-run's facts will read it (a fresh install's facts had none yet).
  if (tested) await recordConfigGood(ctx, await fail2banConfigFingerprint(ctx, facts.fail2ban.version ?? (await fail2banVersion(ctx, false))));
  return result;
}

type PlannedWrite = ReturnType<typeof changedFiles>[number];

/**
 * One application of a plan: its intent (journaled before the first change), what it has done so
 * far, and what undoing it takes.
 */
interface Application {
  ctx: Context;
  plan: Plan;
  result: ApplyResult;
  toWrite: PlannedWrite[];
  manifest: Manifest;
  /** The manifest's text before this run (null: there was none). */
  manifestBefore: string | null;
  dirsBefore: string[];
  stats: Map<string, FileStat | null>;
  backups: Array<{ path: string; text: string }>;
  temps: string[];
  newDirs: string[];
  /** The reloads this run owes, with those an interrupted run still owed. */
  afterCommands: Plan['afterCommands'];
  /** Anything to journal: a file, directory, log or package to add, or an interrupted run to finish. */
  work: boolean;
  written: PlannedWrite[];
  touched: string[];
  journalWritten: boolean;
  /** Best effort: what the rollback could not restore (a file removed meanwhile, a full disk). */
  rollbackErrors: string[];
}

/**
 * Step 2: everything this run will create or replace (files with their backups, directories, log
 * files, temp names) recorded in the manifest in memory; {@link writeFiles} writes it atomically
 * BEFORE the first change. A kill at any later point leaves a journal that a re-run or uninstall reads.
 */
async function journalIntent(ctx: Context, plan: Plan, result: ApplyResult): Promise<Application> {
  const toWrite = changedFiles(plan);
  const { manifest, text: manifestBefore } = await readManifest(ctx.fs);
  const dirsBefore = [...manifest.dirs];
  const now = ctx.now().toISOString();
  const stats = new Map<string, FileStat | null>();
  const backups: Array<{ path: string; text: string }> = [];
  const temps: string[] = [];
  for (const f of toWrite) {
    const st = await ctx.fs.stat(f.path);
    stats.set(f.path, st);
    temps.push(tempPathOf(f.path));
    let entry = manifest.files.find((m) => m.path === f.path);
    if (!entry) {
      if (f.before !== null && st) {
        const b = backupPath(f.path);
        backups.push({ path: b, text: f.before });
        temps.push(tempPathOf(b));
        entry = { path: f.path, existed: true, backup: b, mode: st.mode, uid: st.uid, gid: st.gid, sha256: sha256(f.before), firstTouched: now };
      } else {
        entry = { path: f.path, existed: false, firstTouched: now };
      }
      manifest.files.push(entry);
    }
    // What this run writes there, in the same journal: uninstall tells the admin's later edits by it.
    recordWriting(entry, f.after, f.before, f.adminOwned);
  }
  const newDirs: string[] = [];
  const wantDir = async (dir: string): Promise<void> => {
    const missing: string[] = [];
    for (let d = dir; d !== '/' && !(await ctx.fs.exists(d)); d = path.posix.dirname(d)) missing.unshift(d);
    for (const d of missing) if (!newDirs.includes(d)) newDirs.push(d);
  };
  for (const f of toWrite) await wantDir(path.posix.dirname(f.path));
  for (const e of plan.ensureFiles) await wantDir(path.posix.dirname(e.path));
  const newLogs: string[] = [];
  for (const e of plan.ensureFiles) if (!(await ctx.fs.exists(e.path))) newLogs.push(e.path);
  for (const l of newLogs) temps.push(tempPathOf(l));
  for (const d of newDirs) if (!manifest.dirs.includes(d)) manifest.dirs.push(d);
  for (const l of newLogs) if (!manifest.logs.includes(l)) manifest.logs.push(l);
  const newPackages = plan.packages.filter((p) => !manifest.packages.includes(p));
  manifest.packages.push(...newPackages);
  // An interrupted run's journal (left open by recoverInterrupted) is carried on: its owed
  // reloads join this run's, and it is closed only when this run completes.
  const inherited = manifest.pending;
  const afterCommands = [...plan.afterCommands];
  for (const c of inherited?.afterCommands ?? []) {
    if (!afterCommands.some((b) => formatCommand(b.command) === formatCommand(c.command))) afterCommands.push(c);
  }
  const work = toWrite.length > 0 || newLogs.length > 0 || newDirs.length > 0 || newPackages.length > 0 || inherited !== undefined;
  if (work) {
    manifest.pending = { startedAt: now, pid: process.pid, temps: [...new Set([...(inherited?.temps ?? []), ...temps])], ...(afterCommands.length ? { afterCommands } : {}) };
  }
  return { ctx, plan, result, toWrite, manifest, manifestBefore, dirsBefore, stats, backups, temps, newDirs, afterCommands, work, written: [], touched: [], journalWritten: false, rollbackErrors: [] };
}

/** Steps 2 (the journal on disk) to 6; on any failure what was written is undone and the error rethrown. */
async function writeFiles(a: Application, facts: HostFacts): Promise<void> {
  const { ctx, plan, manifest, toWrite } = a;
  try {
    if (a.work) {
      await writeManifest(ctx.fs, manifest);
      a.journalWritten = true;
    }
    // 3. Backups of the originals (first touch only), before any of them is replaced.
    for (const b of a.backups) {
      await ctx.fs.mkdirp(path.posix.dirname(b.path), 0o700);
      await ctx.fs.writeAtomic(b.path, b.text, { mode: 0o600 });
    }
    // 4. Directories, then each file atomically, keeping the mode and owner of files that exist.
    for (const d of a.newDirs) await ctx.fs.mkdirp(d);
    for (const f of toWrite) {
      await ctx.fs.writeAtomic(f.path, f.after, writeModeOf(f, a.stats.get(f.path)));
      a.written.push(f);
      a.result.filesChanged.push(f.path);
      if (!f.group) ctx.log.info(`${f.before === null ? 'created' : 'updated'} ${f.path}`);
    }
    // A group of files (the web view's program) is one line here as in the plan.
    for (const g of new Set(toWrite.flatMap((f) => (f.group ? [f.group] : [])))) {
      ctx.log.info(`wrote ${toWrite.filter((f) => f.group === g).length} file(s) in ${g}`);
    }
    // 5. Log files fail2ban must find: created empty, owned like their directory so the service
    // that writes them still can; owner and mode are set before the name appears. Ours that a
    // killed run or someone else left with another owner or mode are repaired.
    for (const e of plan.ensureFiles) {
      const want = await logOwnership(ctx, e.path);
      if (await ctx.fs.touch(e.path, want)) {
        a.touched.push(e.path);
        continue;
      }
      // Through the file's descriptor, only a regular file with one link owned by root or the
      // directory's owner (a link or FIFO planted there stops the run: UnsafePathError).
      if (manifest.logs.includes(e.path) && (await logNeedsRepair(ctx, e.path))) await ctx.fs.chmodChown(e.path, want, [0, ...(want.uid === undefined ? [] : [want.uid])]);
    }
    // 6. Under --root the run is complete: the journal becomes the manifest again. On a live
    // host it stays open until fail2ban is verified and the reloads ran (step 9).
    if (a.journalWritten && !facts.live) await closeJournal(a);
  } catch (err) {
    await rollback(a);
    if (a.rollbackErrors.length) throw new RolledBackError(`writing the files failed (${(err as Error).message}); the rollback was incomplete`, a.rollbackErrors);
    throw err;
  }
}

async function closeJournal(a: Application): Promise<void> {
  await settleWriting(a.ctx.fs, a.manifest);
  delete a.manifest.pending;
  await writeManifest(a.ctx.fs, a.manifest);
}

/** Puts back every file written, removes what this run created; best effort, errors in `a.rollbackErrors`. */
async function rollback(a: Application): Promise<void> {
  const { ctx } = a;
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      a.rollbackErrors.push(`could not restore ${what}: ${(err as Error).message}`);
    }
  };
  for (const f of [...a.written].reverse()) {
    const st = a.stats.get(f.path);
    await attempt(f.path, () =>
      f.before === null ? ctx.fs.remove(f.path) : ctx.fs.writeAtomic(f.path, f.before, { mode: st?.mode ?? f.mode, uid: st?.uid, gid: st?.gid }),
    );
  }
  for (const t of a.touched) await attempt(t, () => ctx.fs.remove(t));
  for (const b of a.backups) await attempt(b.path, () => ctx.fs.remove(b.path));
  for (const t of a.temps) await attempt(t, () => ctx.fs.remove(t));
  if (a.journalWritten) {
    const before = a.manifestBefore;
    await attempt(MANIFEST, () => (before === null ? ctx.fs.remove(MANIFEST) : ctx.fs.writeAtomic(MANIFEST, before, { mode: 0o600 })));
  }
  await attempt(`${STATE_DIR}/files`, () => removeTreeIfEmpty(ctx, `${STATE_DIR}/files`));
  const created = a.manifest.dirs.filter((d) => !a.dirsBefore.includes(d));
  for (const d of deepestFirst(created)) await attempt(d, () => ctx.fs.removeEmptyDir(d));
  for (const e of a.rollbackErrors) ctx.log.error(e);
}

/** fail2ban as this run found it and whether the run has touched it (a failed config test leaves it alone). */
interface Fail2banState {
  control: ReturnType<typeof fail2banControl>;
  wasRunning: boolean;
  touched: boolean;
}

/** Rolls back every file, runs `afterRollback`, brings back the previous fail2ban, and throws RolledBackError. */
async function fail(a: Application, svc: Fail2banState, message: string, details: string[], afterRollback?: () => Promise<unknown>): Promise<never> {
  const { ctx } = a;
  ctx.log.error(message);
  await rollback(a);
  if (afterRollback) await afterRollback();
  if (!svc.touched) {
    // nothing to bring back
  } else if (svc.wasRunning) {
    const r = await ctx.run(svc.control.restart);
    if (r.exitCode !== 0) details.push(`and restarting the previous fail2ban failed too: ${tail(r.stderr || r.stdout, 3)}`);
  } else if (a.written.length) {
    await ctx.run(svc.control.stop);
  }
  if (a.rollbackErrors.length) throw new RolledBackError(`${message}; the rollback was incomplete`, [...details, ...a.rollbackErrors]);
  throw new RolledBackError(`${message}; every file was restored${svc.touched && svc.wasRunning ? ' and the previous fail2ban restarted' : ''}`, details);
}

/** Step 7: config test and (re)start when something changed (or fail2ban is down, or asked), then its jails verified. Returns whether it was tested. */
async function startFail2ban(a: Application, svc: Fail2banState, facts: HostFacts, o: { restart?: boolean }): Promise<boolean> {
  const { ctx, result } = a;
  const { control, wasRunning } = svc;
  const changed = a.written.length > 0 || a.touched.length > 0;
  let tested = false;
  if (changed || !wasRunning || o.restart) {
    ctx.log.step('testing the fail2ban configuration: fail2ban-client -t');
    const t = await configTest(ctx);
    if (t.exitCode !== 0) await fail(a, svc, 'fail2ban rejected the configuration', fail2banErrors(t));
    tested = true;

    const c = wasRunning ? control.restart : control.start;
    ctx.log.step(`${wasRunning ? 'restarting' : 'starting'} fail2ban: ${formatCommand(c)}`);
    if (facts.init === 'none') ctx.log.warn('no init system runs here: fail2ban is started with fail2ban-client and will not start again at boot');
    svc.touched = true;
    const r = await ctx.run(c);
    if (r.exitCode !== 0) await fail(a, svc, 'fail2ban did not start', fail2banErrors(r));
    result.services.push(`fail2ban (${wasRunning ? 'restart' : 'start'})`);
    if (control.enable) {
      const e = await ctx.run(control.enable);
      if (e.exitCode !== 0) result.warnings.push(`could not enable fail2ban at boot: ${formatCommand(control.enable)}: ${tail(e.stderr, 2)}`);
    }
  }
  const status = await waitForStatus(ctx, 30);
  if (status.exitCode !== 0) await fail(a, svc, 'fail2ban is not answering', fail2banErrors(status));
  result.jailsActive = parseJailList(status.stdout);
  const missing = a.plan.jails.filter((j) => !result.jailsActive.includes(j));
  if (missing.length) await fail(a, svc, `fail2ban runs but these jails are not active: ${missing.join(', ')}`, []);
  return tested;
}

/** Step 8: the reloads and restarts of other services (with those an interrupted run still owed). */
async function runAfterCommands(a: Application, svc: Fail2banState): Promise<void> {
  const { ctx, result } = a;
  for (const c of a.afterCommands) {
    ctx.log.step(`${c.service}: ${c.why}: ${formatCommand(c.command)}`);
    const r = await ctx.run({ timeoutMs: 120000, ...c.command });
    if (c.verify && !(await runsWithin(ctx, c.verify.pidFiles, c.verify.seconds))) {
      // An init script may print "failed!" and still exit 0 (one whose defaults file keeps the
      // service off): only a live process counts. Put every file back, and the service on it.
      svc.touched = true;
      await fail(
        a,
        svc,
        `${c.service} is not running after \`${formatCommand(c.command)}\` (exit ${r.exitCode}; no live process in ${c.verify.pidFiles.join(' or ')} within ${c.verify.seconds} s)`,
        [...(r.stderr || r.stdout ? [tail(r.stderr || r.stdout, 3)] : []), c.verify.hint ?? `check the configuration of ${c.service}, and its log`],
        () => ctx.run({ timeoutMs: 120000, ...c.command }),
      );
    }
    if (r.exitCode === 0) result.services.push(`${c.service} (${c.why})`);
    else result.warnings.push(`${c.service}: \`${formatCommand(c.command)}\` exited ${r.exitCode}: ${tail(r.stderr || r.stdout, 3)}`);
  }
}

/**
 * Mode and owner a planned file is written with: those of the file it replaces (an admin's
 * choice), except for a secret (a file planned root-only, 0600): that is always written with
 * its planned mode and owned by the user running the tool, whatever the old file's were.
 */
function writeModeOf(f: { mode: number; secret?: boolean }, st: { mode: number; uid: number; gid: number } | null | undefined): { mode: number; uid?: number; gid?: number } {
  if (f.secret || (f.mode & 0o077) === 0 || !st) return { mode: f.mode };
  return { mode: st.mode, uid: st.uid, gid: st.gid };
}

/** Polls `pidFiles` (every 250 ms, at most `seconds`) until one names a live process. */
async function runsWithin(ctx: Context, pidFiles: string[], seconds: number): Promise<boolean> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    for (const f of pidFiles) {
      const pid = Number.parseInt((await ctx.fs.readText(f))?.trim() ?? '', 10);
      if (pid > 0 && processAlive(pid)) return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Removes `dir` and its empty subdirectories; keeps anything holding files. */
export async function removeTreeIfEmpty(ctx: Context, dir: string): Promise<void> {
  for (const name of await ctx.fs.list(dir)) {
    const p = `${dir}/${name}`;
    if ((await ctx.fs.stat(p))?.isDirectory) await removeTreeIfEmpty(ctx, p);
  }
  await ctx.fs.removeEmptyDir(dir);
}

/** Directories ordered deepest first (children before their parents). */
export function deepestFirst(dirs: string[]): string[] {
  return [...new Set(dirs)].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

/** Owner and mode a log file we create gets: 0640, owned like its directory. */
async function logOwnership(ctx: Context, p: string): Promise<{ mode: number; uid?: number; gid?: number }> {
  const dst = await ctx.fs.stat(path.posix.dirname(p));
  return { mode: 0o640, uid: dst?.uid, gid: dst?.gid };
}

/**
 * Whether a log file the tool created has lost the owner or mode it was given. Something else
 * in its place (a FIFO, a device, a link the service account planted) stops the run here,
 * while planning, before anything is changed.
 */
async function logNeedsRepair(ctx: Context, p: string): Promise<boolean> {
  const st = await ctx.fs.stat(p);
  if (st && !st.isFile) throw new UnsafePathError(ctx.fs.real(p), 'the tool created it as a log file and it is no longer a regular file');
  const want = await logOwnership(ctx, p);
  return !!st && (st.mode !== want.mode || st.uid !== want.uid || st.gid !== want.gid);
}

/**
 * What a run that plans no file change must still verify: the log files the jails read exist,
 * and the ones we created have their owner and mode. Returns one line per problem.
 */
export async function logProblems(ctx: Context, plan: Plan): Promise<string[]> {
  const { manifest } = await readManifest(ctx.fs);
  const out: string[] = [];
  for (const e of plan.ensureFiles) {
    if (!(await ctx.fs.exists(e.path))) out.push(`${e.path} is missing (${e.why})`);
    else if (manifest.logs.includes(e.path) && (await logNeedsRepair(ctx, e.path))) out.push(`${e.path} lost its owner or mode`);
  }
  return out;
}

/**
 * Finishes what an interrupted run left (a manifest with `pending`, temp files, a staging
 * directory): backups the journal promised are written from the still untouched originals,
 * temp files removed. The run that follows then rolls forward by planning from what is on disk,
 * restarts fail2ban and runs the reloads the journal still owes, and closes the journal.
 * Returns what was done, one line each, and whether a run had been interrupted.
 */
export async function recoverInterrupted(ctx: Context): Promise<{ done: string[]; interrupted: boolean }> {
  const { manifest, text } = await readManifest(ctx.fs);
  const done: string[] = [];
  for (const t of await removeTemps(ctx.fs, manifest)) done.push(`removed the temp file ${t}`);
  if (text === null || !manifest.pending) return { done, interrupted: false };
  done.unshift(`a run started at ${manifest.pending.startedAt} was interrupted; finishing it`);
  for (const f of manifest.files) {
    if (!f.existed || !f.backup || (await ctx.fs.exists(f.backup))) continue;
    // Backups are written before any file is replaced: a missing backup means the file is
    // still the original, which its recorded checksum confirms.
    const current = await ctx.fs.readText(f.path);
    if (current !== null && sha256(current) === f.sha256) {
      await ctx.fs.mkdirp(path.posix.dirname(f.backup), 0o700);
      await ctx.fs.writeAtomic(f.backup, current, { mode: 0o600 });
    } else {
      throw new RolledBackError(`the journal of an interrupted run has no backup of ${f.path}, and the file is no longer its original`, [
        `restore ${f.path} by hand, then remove ${MANIFEST}`,
      ]);
    }
  }
  // The journal stays open: the apply step of this run closes it once it has completed.
  return { done, interrupted: true };
}
