import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Context } from '../context.ts';
import { applyPlan, logProblems, recoverInterrupted } from '../adapters/apply.ts';
import { withRunLock } from '../adapters/run-lock.ts';
import { dpkgInstalled, gatherFacts } from '../adapters/facts.ts';
import type { HostFacts } from '../core/facts.ts';
import { loadTemplates } from '../adapters/templates.ts';
import { detectDistro, type Distro } from '../core/distro.ts';
import { buildInstallPlan, filesToRead, packageCandidates, selectedServices, type PlanInputs } from '../core/install-plan.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import type { InstallOptions } from '../core/options.ts';
import { installedQuery, parseInstalled } from '../core/packages.ts';
import { changedFiles, planLines, unifiedDiff, type FileAction, type Plan, type PlannedService } from '../core/plan.ts';
import { readProgram } from '../adapters/program.ts';
import { WEB_TOKEN_FILE } from '../core/web-service.ts';
import { ExitCode, UsageError } from '../errors.ts';
import { formatCommand } from '../core/command.ts';
import { requireRoot } from '../adapters/require-root.ts';
import { readSecretFile } from '../adapters/secret-file.ts';
import { checkLapiCa, parseCredentials, type CrowdsecCredentials, type ServerTls } from '../core/crowdsec.ts';
import { DOCTOR_DEFAULT_LINES, formatDoctorCompact, type DoctorReport } from '../core/doctor/report.ts';
import { configKnownGood, fail2banConfigFingerprint, recordConfigGood } from '../adapters/config-verified.ts';
import { backupPath, readManifest, sha256, writeManifest, type Manifest } from '../adapters/manifest.ts';
import { checkSettings, keptSettings, parseStoredSettings, settingsFromEdits, settingsFromJail, settingKeys, settingsOf, withStoredSettings, type Settings } from '../core/settings.ts';
import { iniRecord } from '../core/admin-edits.ts';
import { JAIL_LOCAL } from '../core/paths.ts';

/** What `install` reports (printed as text, or as one JSON document with --json). */
export interface InstallReport {
  command: 'install';
  distro: string;
  dryRun: boolean;
  /** The interactive "Apply this plan?" was answered no: nothing was changed. */
  declined?: boolean;
  nothingToDo: boolean;
  /** What an interrupted earlier run left and this run finished or removed. */
  recovered: string[];
  /** What a run with no file to change found missing or wrong and repaired. */
  repaired: string[];
  /** One entry per plan line: a group of files (the web view's program) is one entry with `files`, its count. */
  files: Array<{ path: string; action: FileAction; files?: number }>;
  packagesToInstall: string[];
  packageCommands: string[];
  packagesInstalled: string[];
  services: string[];
  jails: string[];
  jailsActive: string[];
  ignoreip: string[];
  banaction: string;
  /** Each planned service module: its jails, its files and its own details. */
  protected: PlannedService[];
  manualSteps: string[];
  warnings: string[];
  /** The PBX distribution found and the jails adopted (what the host had and what that changed). */
  notes?: string[];
  /** Settings not given in this run that keep the last run's value ("kept from the last run: bantime 1d"). */
  kept: string[];
  /** --reset-settings: the last run's settings were not used. */
  settingsReset?: boolean;
  /** The compact doctor run after an install that changed something on the live host. */
  doctor?: DoctorReport;
  /** install --web: the service (unit or init script, or null), listen address, program, token file, tunnel. */
  web?: Record<string, unknown>;
  /** The watch (issue 23): interval, timer or cron file, command, state file, mail address. */
  watch?: Record<string, unknown>;
}

async function repoReady(ctx: Context, distro: Distro): Promise<boolean> {
  if (distro.family !== 'rhel') return true;
  const repos = await ctx.fs.list('/etc/yum.repos.d');
  return repos.some((r) => /epel/i.test(r) && r.endsWith('.repo'));
}

/** Which of the packages the plan may want are installed: dpkg's status file where there is one, else the package manager's query. */
async function installedPackages(ctx: Context, distro: Distro, facts: HostFacts): Promise<Set<string>> {
  const names = packageCandidates(distro, facts);
  const dpkg = distro.pm === 'apt' ? await dpkgInstalled(ctx, names) : null;
  if (dpkg) return new Set(names.filter((n) => dpkg.has(n)));
  return parseInstalled((await ctx.run(installedQuery(distro, names))).stdout);
}

/**
 * Prints the plan: the package commands, one line per file (CREATE / UPDATE / UNCHANGED and
 * why), the follow-up commands. Full unified diffs only with `diff`, and when the plan is up for
 * review (a dry run, or before "Apply this plan?") for the files the admin owns (jail.local and
 * the services' own configuration); a hint says how to see the others.
 */
export async function formatPlan(plan: Plan, o: { diff?: boolean; review?: boolean; kept?: string[]; reset?: boolean } = {}): Promise<string> {
  const out: string[] = [];
  if (o.reset) out.push('Settings: the defaults and the flags given (--reset-settings: the last run\'s settings are not used)');
  else if (o.kept?.length) out.push(`Kept from the last run: ${o.kept.join(', ')}`);
  out.push('Plan:');
  for (const n of plan.notes ?? []) out.push(`  NOTE      ${n}`);
  for (const p of plan.packageCommands) out.push(`  RUN       ${formatCommand(p)}`);
  for (const l of planLines(plan.files)) {
    const why = l.count === undefined ? l.why : l.action === 'UPDATE' ? `${l.why}; ${l.changed} of them change` : l.why;
    out.push(`  ${l.action.padEnd(9)} ${l.path}  (${why})`);
  }
  for (const a of plan.afterCommands) out.push(`  THEN      ${formatCommand(a.command)}  (${a.service}: ${a.why})`);
  // A group of files (the web view's program) is one line and never diffed.
  const changed = changedFiles(plan).filter((f) => !f.group);
  // A file holding a secret shows a one-line notice instead of its diff, also in review.
  const shown = changed.filter((f) => o.diff || (o.review && (f.adminOwned || f.secret)));
  if (shown.length < changed.length) out.push(`  (diffs with --diff)`);
  for (const f of shown) out.push('', (await unifiedDiff(f)).trimEnd());
  return `${out.join('\n')}\n`;
}

/**
 * The fleet's TLS inputs, checked before anything changes (exit 2 naming the file): a member's
 * --crowdsec-ca, the LAPI host's own certificate and key, or a fresh self-signed pair for it.
 */
async function crowdsecTlsInputs(options: InstallOptions): Promise<{ crowdsecCa?: string; crowdsecTls?: ServerTls }> {
  const out: { crowdsecCa?: string; crowdsecTls?: ServerTls } = {};
  if (!options.crowdsecCa && !options.crowdsecLapiServer && !options.crowdsecTlsCert && !options.crowdsecTlsKey) return out;
  const tlsFiles = await import('../adapters/tls-files.ts');
  if (options.crowdsecCa) {
    if (!options.crowdsecLapi) throw new UsageError('--crowdsec-ca is the CA a member trusts for --crowdsec-lapi', 'add --crowdsec-lapi https://…, or drop --crowdsec-ca');
    out.crowdsecCa = checkLapiCa(options.crowdsecLapi, options.crowdsecCa, await tlsFiles.readCertificateFile('--crowdsec-ca', options.crowdsecCa));
  }
  const { crowdsecTlsCert: certFile, crowdsecTlsKey: keyFile } = options;
  if ((certFile || keyFile) && !(certFile && keyFile && options.crowdsecLapiServer)) {
    throw new UsageError('--crowdsec-tls-cert and --crowdsec-tls-key go together, with --crowdsec-lapi-server', 'give both with --crowdsec-lapi-server, or neither (a self-signed certificate is made)');
  }
  if (certFile && keyFile) {
    for (const [flag, f] of [['--crowdsec-tls-cert', certFile], ['--crowdsec-tls-key', keyFile]] as const) {
      if (!path.isAbsolute(f)) throw new UsageError(`invalid ${flag} '${f}': the LAPI reads it from its own directory; expected an absolute path`);
    }
    out.crowdsecTls = { own: { certFile, keyFile, cert: await tlsFiles.readOwnCertificate(certFile, keyFile) } };
  } else if (options.crowdsecLapiServer) {
    const host = options.crowdsecLapiServer.slice(0, options.crowdsecLapiServer.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    out.crowdsecTls = { fresh: tlsFiles.makeSelfSignedCert(host) };
  }
  return out;
}

/** Questions for the interactive first-time setup live in src/cli/interactive.ts (issue 4). */
export type Interview = (ctx: Context, options: InstallOptions, facts: HostFacts) => Promise<InstallOptions>;

/** The options of this run once the baselines are applied: the last run's settings, the admin's own values and edits. */
interface Settled {
  options: InstallOptions;
  stored: Settings | null;
  reset: boolean;
  adminEdited: string[];
}

/** What the run read before planning: the CrowdSec inputs (checked before anything). */
type CrowdsecInputs = Pick<PlanInputs, 'crowdsecCredentials' | 'crowdsecCa' | 'crowdsecTls'>;

/**
 * `install`: options → facts → plan → (print) → apply → verify → report.
 * Throws typed errors; never exits the process itself.
 */
export async function install(options: InstallOptions, ctx: Context, interview?: Interview): Promise<InstallReport> {
  // 1. Rights: acting on the live host needs root; a dry run or --root does not. One run at a
  // time changes the host: the lock is held from the first read of the state (a dry run changes
  // nothing and takes none).
  requireRoot(ctx, options.dryRun, 'install packages and write /etc/fail2ban', 'run with sudo, or use --dry-run to only see the plan');
  return options.dryRun ? installHost(options, ctx, interview) : withRunLock(ctx, 'install', () => installHost(options, ctx, interview));
}

/** install, the lock held (or a dry run): steps 2 to 10. */
async function installHost(options: InstallOptions, ctx: Context, interview?: Interview): Promise<InstallReport> {
  // 2. Settings: the last completed run's are the baseline, then the admin's own values.
  const settled = await settleSettings(ctx, options);
  // 3. Inputs read and checked before anything changes (CrowdSec credentials and TLS).
  const crowdsec = await crowdsecInputs(settled.options);
  // 4. Facts and the distro (exit 3 when unsupported, before anything else); the modules' own
  // checks of their flags; the questions.
  const facts = await gatherFacts(ctx);
  const distro = detectDistro(facts.os);
  for (const m of SERVICE_MODULES) await m.checkOptions?.({ options: settled.options, facts, readText: (p) => ctx.fs.readText(p) });
  const { options: run, kept } = await askAndCheck(ctx, options, settled, facts, interview);
  // 5. A run killed earlier left a journal: finish it (temp files out, promised backups in)
  // before planning; the plan made from what is on disk then rolls the rest forward.
  const recovery = run.dryRun ? { done: [], interrupted: false } : await recoverInterrupted(ctx);
  for (const r of recovery.done) ctx.log.warn(r);
  // 6. Plan, from what is on disk now.
  const plan = await planInstall(ctx, run, facts, distro, { adminEdited: settled.adminEdited, ...crowdsec });
  for (const w of plan.warnings) ctx.log.warn(w);
  // 7. Verify what a plan without changes promises, report and print.
  const { report, pending, repaired } = await reportOf(ctx, run, plan, facts, { recovered: recovery.done, kept, reset: settled.reset });
  const review = run.dryRun || (ctx.interactive && !run.yes && pending);
  if (!run.json) ctx.log.out(await formatPlan(plan, { diff: run.diff, review, kept, reset: settled.reset }));
  if (run.dryRun) return report;
  // 8. Ask before applying in the interactive setup. A considered "no" is not an interruption:
  // nothing was changed, and that is what was asked.
  if (ctx.interactive && !run.yes && pending && !(await ctx.prompt.confirm({ message: 'Apply this plan?', flag: '--yes', default: true }))) {
    return { ...report, declined: true };
  }
  // 9. Apply (packages, backups, atomic writes, test, start, verify, reloads). Nothing to write
  // and fail2ban running (known from its pid file): a re-run starts nothing.
  if (!report.nothingToDo) await applyInstall(ctx, plan, facts, distro, report, repaired.length > 0 || recovery.interrupted);
  // The run completed: its settings are the next run's baseline.
  await saveSettings(ctx, settingsOf(run));
  // 10. Prove it: each jail reads its live log, its filter matches, a test ban reaches the firewall.
  if (!report.nothingToDo && facts.live && run.doctor !== false) await doctorAfterInstall(ctx, run, report);
  return report;
}

/** Step 2: the options over the last run's settings, the admin's jail.local before the tool, and their [DEFAULT] edits since. */
async function settleSettings(ctx: Context, options: InstallOptions): Promise<Settled> {
  const disk = await onDisk(ctx);
  const stored = storedSettingsOf(ctx, disk);
  const reset = Boolean(options.resetSettings);
  options = withStoredSettings(options, stored, reset);
  // A first install over the admin's own jail.local: an omitted flag keeps their [DEFAULT] value
  // (bantime, findtime, maxretry, repeat offenders), as "kept as they are" in the plan.
  if (stored === null) options = withStoredSettings(options, await adminBaseline(ctx, disk), false);
  // Keys of [DEFAULT] the admin changed since the tool last wrote jail.local: theirs too (an
  // omitted flag keeps the edit; the plan names a flag's change; a default of ours is refused).
  const adminEdited = editedDefaults(disk);
  if (adminEdited.length) options = withStoredSettings(options, settingsFromEdits(disk.jail, adminEdited), false);
  return { options, stored, reset, adminEdited };
}

/** Step 3: CrowdSec's inputs: both options or neither; the credentials file is root-only (checked before anything). */
async function crowdsecInputs(options: InstallOptions): Promise<CrowdsecInputs> {
  if (Boolean(options.crowdsecLapi) !== Boolean(options.crowdsecCredentials)) {
    throw new UsageError(
      options.crowdsecLapi ? '--crowdsec-lapi needs --crowdsec-credentials <file> (this host\'s login, password and api_key)' : '--crowdsec-credentials needs --crowdsec-lapi <url>',
      'give both, or neither',
    );
  }
  let crowdsecCredentials: CrowdsecCredentials | undefined;
  if (options.crowdsecCredentials) {
    const file = options.crowdsecCredentials;
    crowdsecCredentials = parseCredentials(file, await readSecretFile('--crowdsec-credentials', file));
  }
  const { crowdsecCa, crowdsecTls } = await crowdsecTlsInputs(options);
  return { ...(crowdsecCredentials ? { crowdsecCredentials } : {}), ...(crowdsecCa ? { crowdsecCa } : {}), ...(crowdsecTls ? { crowdsecTls } : {}) };
}

/**
 * Step 4: flags that would do nothing here are a usage error (the settings kept from the last run
 * count); the questions are pre-filled with these options: what is installed, not the defaults.
 */
async function askAndCheck(ctx: Context, asParsed: InstallOptions, settled: Settled, facts: HostFacts, interview?: Interview): Promise<{ options: InstallOptions; kept: string[] }> {
  const { stored, reset } = settled;
  let options = settled.options;
  checkSettings(options, { services: selectedServices(options, facts), stored: reset ? null : stored });
  if (interview && ctx.interactive) {
    const asked = options;
    options = await interview(ctx, options, facts);
    // An answer that changes its pre-filled value is a deliberate change, as its flag would be.
    const answered = settingKeys().filter((k) => !asked.given?.includes(k) && JSON.stringify(options[k]) !== JSON.stringify(asked[k]));
    if (asked.given && answered.length) options = { ...options, given: [...asked.given, ...answered] };
  }
  return { options, kept: keptSettings(options, asParsed, stored, reset) };
}

/** Step 6: what the planner needs from the world (packages, the program's files, every file it may read), then the plan. */
async function planInstall(ctx: Context, options: InstallOptions, facts: HostFacts, distro: Distro, extra: Pick<PlanInputs, 'adminEdited'> & CrowdsecInputs): Promise<Plan> {
  const installed = facts.live ? await installedPackages(ctx, distro, facts) : new Set<string>();
  // --web: the running package is copied for the service; node by its absolute path.
  const web = options.web ? { program: await readProgram(), nodePath: process.execPath, newToken: (await import('../web/auth.ts')).newToken() } : undefined;
  if (web) await checkWebToken(ctx);
  // The watch (on unless --no-watch) runs the same copy of the program as the web view's service.
  const watch = options.watch ? { program: web?.program ?? (await readProgram()), nodePath: process.execPath } : undefined;
  const files: Record<string, string | null> = {};
  for (const p of filesToRead(options, facts, undefined, web, watch)) files[p] = await ctx.fs.readText(p);
  return buildInstallPlan({
    options,
    facts,
    distro,
    installed,
    repoReady: await repoReady(ctx, distro),
    templates: await loadTemplates(),
    files,
    ...extra,
    ...(web ? { web } : {}),
    ...(watch ? { watch } : {}),
  });
}

/**
 * A token file others could read is spent, and the web view refuses it: say so now, before
 * anything changes, rather than roll back a service that cannot start.
 */
async function checkWebToken(ctx: Context): Promise<void> {
  const st = await ctx.fs.stat(WEB_TOKEN_FILE);
  if (st && (!st.isFile || (st.mode & 0o077) !== 0)) {
    throw new UsageError(
      `install --web: the token file ${WEB_TOKEN_FILE} can be read by others (mode ${(st.mode & 0o777).toString(8)}), so the web view would refuse it`,
      `delete it (the install makes a new one, mode 0600), or chmod 600 ${WEB_TOKEN_FILE} if nobody else read it`,
    );
  }
}

/**
 * Step 7: the report of the plan. Only changes make work: a re-run restarts nothing (not even
 * a service whose restart a flag asked for). With nothing to write, what the plan promises is still
 * verified: the log files the jails read (with their owner and mode) and, on a live host, a valid
 * configuration and a running fail2ban with the planned jails. "Nothing to do" only when all of that holds.
 */
async function reportOf(ctx: Context, options: InstallOptions, plan: Plan, facts: HostFacts, r: { recovered: string[]; kept: string[]; reset: boolean }): Promise<{ report: InstallReport; pending: boolean; repaired: string[] }> {
  const pending = changedFiles(plan).length > 0 || plan.packageCommands.length > 0 || plan.afterCommands.some((a) => a.standalone);
  const repaired = pending || options.dryRun ? [] : await verifyPromises(ctx, plan, facts);
  for (const x of repaired) ctx.log.warn(`repairing: ${x}`);
  const report: InstallReport = {
    command: 'install',
    distro: plan.distro,
    dryRun: options.dryRun,
    nothingToDo: !pending && repaired.length === 0 && r.recovered.length === 0 && (!facts.live || facts.fail2ban.running),
    recovered: r.recovered,
    repaired,
    files: planLines(plan.files).map((l) => ({ path: l.path, action: l.action, ...(l.count !== undefined ? { files: l.count } : {}) })),
    packagesToInstall: plan.packages,
    packageCommands: plan.packageCommands.map(formatCommand),
    packagesInstalled: [],
    services: [],
    jails: plan.jails,
    jailsActive: [],
    ignoreip: plan.ignoreip,
    banaction: plan.banaction,
    protected: plan.services,
    manualSteps: plan.manualSteps,
    warnings: plan.warnings,
    ...(plan.notes?.length ? { notes: plan.notes } : {}),
    kept: r.kept,
    ...(r.reset ? { settingsReset: true } : {}),
    ...(plan.web ? { web: plan.web } : {}),
    ...(plan.watch ? { watch: plan.watch } : {}),
  };
  return { report, pending, repaired };
}

/** Step 9: the plan applied; what it did goes into the report. */
async function applyInstall(ctx: Context, plan: Plan, facts: HostFacts, distro: Distro, report: InstallReport, restart: boolean): Promise<void> {
  const r = await applyPlan(ctx, plan, facts, distro, { restart });
  report.packagesInstalled = r.packagesInstalled;
  report.services = r.services;
  report.jailsActive = r.jailsActive;
  report.warnings = [...plan.warnings, ...r.warnings];
  for (const w of r.warnings) ctx.log.warn(w);
}

/**
 * Step 10: the compact doctor after an install that changed the live host. A doctor that cannot
 * run never fails the install: the configuration is already verified. A broken verdict leaves
 * the install done and is its exit code (4, main.ts).
 */
async function doctorAfterInstall(ctx: Context, options: InstallOptions, report: InstallReport): Promise<void> {
  ctx.log.step('checking the jails (doctor: logs, filters, a test ban of a 203.0.113.0/24 address)');
  try {
    // Loaded only here (with fail2ban-regex's parsing): a no-op re-run never needs it.
    const { doctor } = await import('./doctor.ts');
    report.doctor = await doctor({ banTest: true, lines: DOCTOR_DEFAULT_LINES, json: options.json, compact: true }, ctx);
  } catch (err) {
    const w = `the doctor check could not run: ${(err as Error).message.split('\n')[0]}; run: voip-f2b-install doctor`;
    report.warnings.push(w);
    ctx.log.warn(w);
  }
}

/**
 * The settings of the last completed run: the manifest's, else (a completed install by an older
 * version, which stored none) what jail.local's managed keys say; null before the first install.
 */
export async function storedSettings(ctx: Context): Promise<Settings | null> {
  return storedSettingsOf(ctx, await onDisk(ctx));
}

/** The manifest and jail.local as a run finds them, read once for the settings step. */
interface OnDisk {
  manifest: Manifest;
  /** The manifest's text (null: there is none). */
  text: string | null;
  jail: string | null;
}

async function onDisk(ctx: Context): Promise<OnDisk> {
  return { ...(await readManifest(ctx.fs)), jail: await ctx.fs.readText(JAIL_LOCAL) };
}

function storedSettingsOf(ctx: Context, { manifest, text, jail }: OnDisk): Settings | null {
  if (manifest.settings) {
    const { settings, problems } = parseStoredSettings(manifest.settings);
    for (const p of problems) ctx.log.warn(p);
    return settings;
  }
  // No manifest: a first install. A journal (`pending`) without settings: a first run was
  // interrupted, and jail.local may still be the admin's own, not ours: no baseline either.
  if (text === null || manifest.pending) return null;
  return settingsFromJail(jail);
}

/**
 * With no completed run (none yet, or a first run interrupted), the admin's jail.local as it was
 * before the tool (its backup once the tool has touched it): its [DEFAULT] values that a flag
 * could set are the baseline (null: there was none).
 */
async function adminBaseline(ctx: Context, { manifest, jail: now }: OnDisk): Promise<Settings | null> {
  const entry = manifest.files.find((f) => f.path === JAIL_LOCAL);
  if (entry && !entry.existed) return null;
  let jail = entry ? await ctx.fs.readText(entry.backup ?? backupPath(JAIL_LOCAL)) : now;
  // Killed before its backup was made: jail.local is still the original (recovery makes the backup).
  if (jail === null && entry && now !== null && entry.sha256 === sha256(now)) jail = now;
  return jail === null ? null : settingsFromJail(jail);
}

/**
 * The [DEFAULT] keys of jail.local (lower case) whose value is not what the tool last wrote
 * there (the manifest's per-key record): the admin's edits since. None without a record.
 */
function editedDefaults({ manifest, jail }: OnDisk): string[] {
  const f = manifest.files.find((x) => x.path === JAIL_LOCAL);
  const rec = f?.lastWritten?.sections;
  if (!rec || jail === null || f?.lastWritten?.sha256 === sha256(jail)) return [];
  const wrote = Object.hasOwn(rec, 'DEFAULT') ? rec.DEFAULT! : {};
  const now = iniRecord(jail);
  const keys = Object.hasOwn(now, 'DEFAULT') ? now.DEFAULT! : {};
  return Object.keys(keys).filter((k) => Object.hasOwn(wrote, k) && wrote[k] !== keys[k]);
}

/** Stores `settings` in the manifest when they differ from the stored ones (never creates one). */
async function saveSettings(ctx: Context, settings: Settings): Promise<void> {
  const { manifest, text } = await readManifest(ctx.fs);
  // Compared as values, not text: the same settings in another key order (a newer version lists
  // the modules' keys in registry order) change nothing on a re-run.
  if (text === null || isDeepStrictEqual(manifest.settings, JSON.parse(JSON.stringify(settings)))) return;
  await writeManifest(ctx.fs, { ...manifest, settings });
}

/**
 * What a plan with no file change still promises and is not so (one line each). It asks no
 * process when all is well: the configuration test is skipped when no file in /etc/fail2ban was
 * touched since the configuration last passed it, and the jail list comes from fail2ban's socket.
 */
async function verifyPromises(ctx: Context, plan: Plan, facts: HostFacts): Promise<string[]> {
  const out = await logProblems(ctx, plan);
  if (!facts.live || !facts.fail2ban.running) return out; // not running: the apply step starts it
  const fingerprint = await fail2banConfigFingerprint(ctx, facts.fail2ban.version);
  if (!(await configKnownGood(ctx, fingerprint))) {
    const { configTest } = await import('../adapters/fail2ban.ts');
    const t = await configTest(ctx);
    if (t.exitCode !== 0) out.push('fail2ban-client -t rejects the configuration on disk');
    else await recordConfigGood(ctx, fingerprint);
  }
  const active = await runningJails(ctx);
  const missing = plan.jails.filter((j) => !active?.includes(j));
  if (active === null) out.push('fail2ban does not answer fail2ban-client status');
  else if (missing.length) out.push(`fail2ban runs without the planned jails ${missing.join(', ')}`);
  return out;
}

/** The running server's jails: over its socket (src/adapters/fail2ban.ts), else by `fail2ban-client status`; null when it does not answer. */
async function runningJails(ctx: Context): Promise<string[] | null> {
  const { activeJails, parseJailList } = await import('../adapters/fail2ban.ts');
  try {
    return await activeJails(ctx);
  } catch {
    // no socket here, or an answer we do not read: ask fail2ban's own client
  }
  const s = await ctx.run({ cmd: 'fail2ban-client', args: ['status'], timeoutMs: 10000 });
  return s.exitCode === 0 ? parseJailList(s.stdout) : null;
}

/**
 * install's exit code once it returned: 4 when its doctor check found a jail broken (the files
 * are written and fail2ban runs, but an attacker would not be banned there), else 0.
 */
export function installExitCode(r: InstallReport): number {
  return r.doctor?.verdict === 'broken' ? ExitCode.doctorBroken : ExitCode.ok;
}

/** Human-readable summary printed after the plan. */
export function formatInstallReport(r: InstallReport): string {
  const lines: string[] = [];
  for (const x of r.recovered) lines.push(`Recovered: ${x}`);
  for (const x of r.repaired) lines.push(`Repaired: ${x}`);
  if (r.dryRun) lines.push('Dry run: nothing was changed.');
  else if (r.declined) lines.push('Plan not applied: nothing was changed.');
  else if (r.nothingToDo) lines.push('Nothing to do: the configuration is already in place.');
  else {
    const changed = r.files.filter((f) => f.action !== 'UNCHANGED');
    lines.push(`Done: ${changed.length} file(s) written${r.packagesInstalled.length ? `, installed ${r.packagesInstalled.join(' ')}` : ''}.`);
    if (r.services.length) lines.push(`Services: ${r.services.join(', ')}`);
    if (r.jailsActive.length) lines.push(`Active jails: ${r.jailsActive.join(', ')}`);
  }
  lines.push(`Whitelisted (ignoreip): ${r.ignoreip.join(' ')}`);
  if (r.watch) lines.push(`Watch: every ${String(r.watch.interval)} (${String(r.watch.runs)}); changes go to syslog (tag voip-f2b-watch)${r.watch.mail ? ` and by mail to ${String(r.watch.mail)}` : ''}`);
  for (const s of r.manualSteps) lines.push(`To do by hand: ${s}`);
  if (r.doctor) lines.push(formatDoctorCompact(r.doctor).trimEnd());
  if (r.doctor?.verdict === 'broken') {
    lines.push('The install is done, but doctor found a jail that would not ban: fix what it says, then run: voip-f2b-install doctor (exit 4)');
  }
  return `${lines.join('\n')}\n`;
}
