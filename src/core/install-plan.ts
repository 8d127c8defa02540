import type { Distro } from './distro.ts';
import { LOOPBACK, tidyWhitelist, whitelistOfJail } from './whitelist.ts';
import type { HostFacts } from './facts.ts';
import type { InstallOptions } from './options.ts';
import type { EnsureFile, FileChange, Plan, PlannedService } from './plan.ts';
import { chooseBanaction } from './firewall.ts';
import { getIniValue, listIniSections, setIniValues } from './ini-edit.ts';
import { packageCommands } from './packages.ts';
import { repeatOffenderKeys } from './repeat-offenders.ts';
import { serviceCommandIfPossible } from './service-control.ts';
import { JAIL_LOCAL } from './paths.ts';
import { SERVICE_MODULES } from './services/index.ts';
import type { AfterStep, FileSnapshot, ServiceModule } from './services/types.ts';
import type { Command } from './command.ts';
import type { CrowdsecCredentials, ServerTls } from './crowdsec.ts';
import type { ProgramFile } from './web-service.ts';
import { ADOPTED_JAILS, existingJails, sameFailures, type Adoption, type ExistingJail } from './pbx-distro-jails.ts';
import { pbxDistroNote } from './pbx-distro.ts';
import { adminDefaults, keepEqualSpelling, laterDefaults } from './settings.ts';
import { mailAction, mailSettings } from './alert-mail.ts';
import { PLAN_FEATURES } from './plan-features.ts';
import type { PlanCommand, PlanFeature, PlanFragment, PlanPiece, PlanSoFar } from './plan-fragment.ts';

export { FILTER_DIR, JAIL_LOCAL, MAIL_ACTION } from './paths.ts';
export { guardActionLine, officeCommandArg } from './plan-features.ts';
export type { PlanFeature, PlanFragment, PlanPiece, PlanSoFar } from './plan-fragment.ts';

/** Loopback is always ignored: fail2ban must never ban the machine itself. */

/** Inputs of the pure planner: options, facts, templates and the current text of files. */
export interface PlanInputs {
  options: InstallOptions;
  facts: HostFacts;
  distro: Distro;
  installed: Set<string>;
  repoReady: boolean;
  /** Template path (relative to templates/, e.g. `etc/fail2ban/jail.local`) → text. */
  templates: Record<string, string>;
  /** Target path → current text (null = absent), for every path in filesToRead(). */
  files: Record<string, string | null>;
  /** The service modules (default: the registry); tests may pass their own. */
  modules?: ServiceModule[];
  /** The --crowdsec-credentials file, parsed (read and checked by the command). */
  crowdsecCredentials?: CrowdsecCredentials;
  /** --crowdsec-ca: the PEM text of the CA a member trusts for the LAPI (read by the command). */
  crowdsecCa?: string;
  /** --crowdsec-lapi-server: the LAPI's TLS (the admin's certificate, or a fresh pair the command made). */
  crowdsecTls?: ServerTls;
  /** [DEFAULT] keys (lower case) the admin changed in jail.local since the tool last wrote it (from the manifest's record). */
  adminEdited?: string[];
  /** --web: the running package's files, node's absolute path, a fresh token (the command makes them). */
  web?: WebInputs;
  /** The watch (on unless --no-watch): the running package's files and node's absolute path (the command gathers them). */
  watch?: WatchInputsOfCommand;
  /** The features folded after the services (default: PLAN_FEATURES); tests may pass their own. */
  features?: PlanFeature[];
}

/** What the watch's plan needs from the world, gathered by the command. */
export interface WatchInputsOfCommand {
  program: ProgramFile[];
  nodePath: string;
}

/** What `install --web` needs from the world, gathered by the command. */
export interface WebInputs {
  program: ProgramFile[];
  nodePath: string;
  newToken: string;
}

/** The services to protect: the named ones, else the detected ones. */
export function selectedServices(options: InstallOptions, facts: HostFacts, modules: ServiceModule[] = SERVICE_MODULES): string[] {
  if (options.services) return options.services;
  return modules.filter((m) => m.detect(facts)).map((m) => m.name);
}

/** The modules this run plans, in registry order: the selected ones and the implicit ones. */
function plannedModules(options: InstallOptions, facts: HostFacts, modules: ServiceModule[]): Array<{ module: ServiceModule; selected: boolean }> {
  const selected = selectedServices(options, facts, modules);
  return modules
    .map((module) => ({ module, selected: selected.includes(module.name) }))
    .filter((m) => m.selected || m.module.implicit !== undefined);
}

/**
 * Every file the planner may read, derived from the same module and feature data the planner
 * uses, so the command reads them all up front and the planner can read nothing else.
 */
export function filesToRead(options: InstallOptions, facts: HostFacts, modules: ServiceModule[] = SERVICE_MODULES, web?: Pick<WebInputs, 'program'>, watch?: WatchInputsOfCommand, features: PlanFeature[] = PLAN_FEATURES): string[] {
  const paths = [JAIL_LOCAL, ...jailInventoryReads(facts)];
  for (const { module } of plannedModules(options, facts, modules)) paths.push(...module.reads(facts));
  const r = { options, facts, modules, ...(web ? { web } : {}), ...(watch ? { watch } : {}) };
  for (const f of features) paths.push(...(f.reads?.(r) ?? []));
  return [...new Set(paths)];
}

/** The files the jail inventory reads: fail2ban's jail files, the tool's override, jail.local's original. */
function jailInventoryReads(facts: HostFacts): string[] {
  const pbx = facts.pbx;
  return [ADOPTED_JAILS, ...(pbx?.fail2banFiles ?? []), ...(pbx?.jailLocalOriginal ? [pbx.jailLocalOriginal] : [])];
}

/**
 * The jails the host has before this run, without the tool's own: the modules' jail sections in
 * jail.local and the tool's override file are left out, except a section that was in jail.local
 * before the tool's first run (the admin's, whatever its name).
 */
function jailInventory(facts: HostFacts, files: FileSnapshot, modules: ServiceModule[]): ExistingJail[] {
  const pbx = facts.pbx;
  if (!pbx) return [];
  const original = pbx.jailLocalOriginal ? (files.read(pbx.jailLocalOriginal) ?? '') : '';
  const admins = new Set(listIniSections(original));
  const ours = modules.flatMap((m) => m.jails).filter((j) => !admins.has(j));
  const texts = pbx.fail2banFiles.flatMap((path) => {
    const text = files.read(path);
    return text === null ? [] : [{ path, text }];
  });
  return existingJails(texts, { skipFiles: [ADOPTED_JAILS], skipJailLocal: ours });
}

/**
 * A snapshot over `files` that refuses any path not in `declared` (see FileSnapshot); a declared
 * path missing from `files` is absent.
 */
export function strictSnapshot(files: Record<string, string | null>, declared: Iterable<string>): FileSnapshot {
  const allowed = new Set(declared);
  return {
    read(p) {
      if (!allowed.has(p)) throw new Error(`internal: the plan read ${p}, which no service module declares in reads()`);
      return files[p] ?? null;
    },
  };
}

/** What the fold starts from: the run's inputs, the snapshot, the ban action and the pieces with their packages. */
interface PlanStart {
  input: PlanInputs;
  modules: ServiceModule[];
  planned: Array<{ module: ServiceModule; selected: boolean }>;
  files: FileSnapshot;
  template(path: string): string;
  ban: PlanSoFar['ban'];
  pieces: PlanPiece[];
  /** Every package the pieces need (installed ones included: their init scripts are known). */
  wanted: string[];
  packages: string[];
  packageCommands: Command[];
}

/** The plan as it is folded: what pieces see (PlanSoFar) and what the fold collects. */
interface FoldState extends PlanSoFar {
  start: PlanStart;
  jails: string[];
  adoptions: Adoption[];
  onChange: AfterStep[];
  warnings: string[];
  manualSteps: string[];
  notes: string[];
  afterCommands: PlanCommand[];
  ensureFiles: EnsureFile[];
  fail2banFiles: FileChange[];
  serviceFiles: FileChange[];
  featureFiles: FileChange[];
  services: PlannedService[];
  web?: Record<string, unknown>;
  watch?: Record<string, unknown>;
}

/**
 * Builds the whole install plan from facts and file texts. Pure: same inputs, same plan.
 * A fold over fragments: 1 the pieces of this run (each planned service in registry order, then
 * the features: src/core/plan-features.ts) and the packages they need, 2 [DEFAULT], 3 each
 * piece's fragment folded in order, 4 the plan (jail.local first, then the files in their
 * places, the package and follow-up commands). The planner never names a service or a feature.
 */
export function buildInstallPlan(input: PlanInputs): Plan {
  const start = startPlan(input);
  const state = planDefaults(start);
  for (const piece of start.pieces) foldFragment(state, piece.plan(state));
  return finishPlan(state);
}

/** Step 1: the snapshot, the ban action, the pieces of this run and the packages they need. */
function startPlan(input: PlanInputs): PlanStart {
  const { options, facts, distro, templates } = input;
  const modules = input.modules ?? SERVICE_MODULES;
  const features = input.features ?? PLAN_FEATURES;
  const files = strictSnapshot(input.files, filesToRead(options, facts, modules, input.web, input.watch, features));
  const planned = plannedModules(options, facts, modules);
  const template = (p: string): string => {
    const t = templates[p];
    if (t === undefined) throw new Error(`internal: template ${p} is missing`);
    return t;
  };
  const ban = chooseBanaction(distro, facts.firewall, options.banaction, input.installed);
  const pieces: PlanPiece[] = modules.map((module) => servicePiece(input, module, planned.find((p) => p.module === module)?.selected ?? null));
  for (const f of features) {
    const piece = f.piece(input, files);
    if (piece) pieces.push(piece);
  }
  const wanted = [distro.pkgs.fail2ban, ...ban.packages];
  if (distro.pkgs.pyinotify) wanted.push(distro.pkgs.pyinotify); // instant log reading, fast bans
  wanted.push(...pieces.flatMap((p) => p.packages ?? []));
  const pkgCommands = facts.live
    ? packageCommands(distro, wanted, { installed: input.installed, aptListsFresh: facts.aptListsFresh, repoReady: input.repoReady })
    : [];
  if (facts.live && pkgCommands.length) pkgCommands.unshift(...pieces.flatMap((p) => p.preInstall ?? []));
  const packages = facts.live ? [...new Set(wanted)].filter((p) => !input.installed.has(p)) : [];
  return { input, modules, planned, files, template, ban, pieces, wanted, packages, packageCommands: pkgCommands };
}

/**
 * Every package a plan may ask for on this distro and host: fail2ban, the ban actions' tools,
 * each service module's and each feature's (install asks the package manager about these once,
 * so a package installed is never planned again).
 */
export function packageCandidates(distro: Distro, facts: HostFacts, modules: ServiceModule[] = SERVICE_MODULES, features: PlanFeature[] = PLAN_FEATURES): string[] {
  const { pkgs } = distro;
  const names = [pkgs.fail2ban, pkgs.iptables, pkgs.nftables, pkgs.ipset, pkgs.conntrack, pkgs.pyinotify ?? '', pkgs.pysystemd ?? ''];
  for (const f of features) names.push(...(f.candidates?.(distro) ?? []));
  for (const m of modules) names.push(...(m.packages?.(facts, distro) ?? []));
  return [...new Set(names.filter(Boolean))];
}

/**
 * Step 2, [DEFAULT]: ignoreip is the union of what the file has and what we add, so a run never
 * drops an address an admin whitelisted by hand (that could lock them out).
 */
function planDefaults(start: PlanStart): FoldState {
  const { input, files, ban } = start;
  const { options, facts, distro } = input;
  const warnings: string[] = [];
  const jailOnDisk = files.read(JAIL_LOCAL);
  let jail = jailOnDisk ?? start.template('etc/fail2ban/jail.local');
  const existingIgnore = whitelistOfJail(jail);
  const admin = options.protectAdmin && facts.adminAddress ? [facts.adminAddress] : [];
  if (options.protectAdmin && !facts.adminAddress && facts.live) {
    warnings.push('no SSH_CONNECTION in the environment: your own address is not known, so it is not whitelisted (use --whitelist)');
  }
  const ignoreip = [...tidyWhitelist([...LOOPBACK, ...existingIgnore, ...options.whitelist, ...admin])];
  const defaults: Array<[string, string]> = [
    ['ignoreip', ignoreip.join(' ')],
    ['bantime', options.bantime],
    ['findtime', options.findtime],
    ['maxretry', String(options.maxretry)],
    ['banaction', ban.banaction],
    ['banaction_allports', ban.banactionAllports],
  ];
  const mail = options.email ? mailSettings(options, facts) : null;
  if (mail) defaults.push(['destemail', mail.dest], ['sender', mail.sender], ['action', mailAction(options.mailInterval, true)]);
  // Repeat offenders: growing bans on fail2ban 0.11+ (the installed version, else the one the
  // distro ships), a recidive jail on 0.10.
  const repeat = repeatOffenderKeys(options, facts.fail2ban.version ?? distro.shippedFail2ban, getIniValue(jail, 'recidive', 'enabled'));
  defaults.push(...repeat.defaults);
  // The admin's own [DEFAULT] values (jail.local before the tool's first run): kept, replaced by a
  // flag of this run (said in the plan), or refused (exit 2) — never rewritten silently.
  const originalPath = facts.pbx?.jailLocalOriginal ?? null;
  const own = adminDefaults(jailOnDisk !== null && originalPath ? files.read(originalPath) : null, jail, defaults, options, jailOnDisk !== null ? (input.adminEdited ?? []) : []);
  jail = setKeys(jail, 'DEFAULT', own.keys);
  // A jail.d/*.local's [DEFAULT] (read after jail.local) wins over ours: said, not touched.
  const later = (facts.pbx?.fail2banFiles ?? []).filter((p) => p !== ADOPTED_JAILS).flatMap((path) => {
    const text = files.read(path);
    return text === null ? [] : [{ path, text }];
  });
  const overridden = laterDefaults(later, own.keys);
  own.notes.push(...overridden.notes);
  warnings.push(...overridden.warnings);
  if (repeat.recidive) jail = setKeys(jail, 'recidive', repeat.recidive);
  const distroNote = facts.pbx ? pbxDistroNote(facts.pbx.distro) : null;
  const notes = [...(distroNote ? [distroNote] : []), ...own.notes];
  return foldState(start, { jailOnDisk, jail, ignoreip, mail, jails: [...repeat.jails], warnings, notes });
}

/**
 * Sets keys in a section; a value jail.local already has in another spelling (1d for 24h, ignoreip
 * in another order) stays as it is: equal settings leave the file UNCHANGED.
 */
function setKeys(text: string, section: string, keys: Array<[string, string]>): string {
  return setIniValues(text, section, keepEqualSpelling(text, section, keys));
}

/** The fold's state after [DEFAULT]: nothing collected yet but the defaults' warnings and notes. */
function foldState(start: PlanStart, d: Pick<FoldState, 'jailOnDisk' | 'jail' | 'ignoreip' | 'mail' | 'jails' | 'warnings' | 'notes'>): FoldState {
  const { input, files } = start;
  const s: FoldState = {
    ...d,
    start,
    input,
    options: input.options,
    facts: input.facts,
    distro: input.distro,
    files,
    template: start.template,
    change: (path, text, why, adminOwned, mode = 0o644) => ({ path, before: files.read(path), after: text, mode, why, adminOwned }),
    modules: start.modules,
    planned: start.planned,
    ban: start.ban,
    mailAction: (withLogpath) => mailAction(input.options.mailInterval, withLogpath),
    existing: jailInventory(input.facts, files, start.modules),
    adoptions: [],
    onChange: [],
    manualSteps: [],
    afterCommands: [],
    ensureFiles: [],
    fail2banFiles: [],
    serviceFiles: [],
    featureFiles: [],
    services: [],
    changedSoFar: () => s.jailOnDisk !== s.jail || [...s.fail2banFiles, ...s.serviceFiles, ...s.featureFiles].some((c) => c.before !== c.after),
  };
  return s;
}

/** Step 3: one fragment into the plan (see PlanFragment for the order its fields apply in). */
function foldFragment(s: FoldState, f: PlanFragment): void {
  if (f.jailLocal !== undefined) s.jail = f.jailLocal;
  for (const e of f.jail ?? []) s.jail = setKeys(s.jail, e.section, e.keys);
  s.adoptions.push(...(f.adoptions ?? []));
  s.fail2banFiles.push(...(f.fail2banFiles ?? []));
  for (const x of f.files ?? []) s.serviceFiles.push(s.change(x.path, x.text, x.why, x.adminOwned, x.mode));
  s.featureFiles.push(...(f.changes ?? []));
  s.ensureFiles.push(...(f.ensureFiles ?? []));
  s.jails.push(...(f.jails ?? []));
  s.warnings.push(...(f.warnings ?? []));
  s.manualSteps.push(...(f.manualSteps ?? []));
  s.notes.push(...(f.notes ?? []));
  for (const a of f.after ?? []) {
    if ('action' in a && a.onlyOnChange) s.onChange.push(a);
    else resolveAfter(s, a);
  }
  if (f.service) s.services.push(f.service);
  if (f.web) s.web = f.web;
  if (f.watch) s.watch = f.watch;
}

/** Resolves a follow-up: a command as is; a start/restart through the init system, or by hand. */
function resolveAfter(s: FoldState, a: AfterStep | PlanCommand): void {
  if ('command' in a) {
    s.afterCommands.push(a);
    return;
  }
  const { facts, input } = s;
  // A package this run installs brings its init script (Debian: postfix → /etc/init.d/postfix).
  const initScripts = [...facts.initScripts, ...(facts.live ? s.start.wanted.filter((p) => !input.installed.has(p)) : [])];
  const command = serviceCommandIfPossible({ init: facts.init, initScripts }, a.service, a.action);
  if (command) s.afterCommands.push({ service: a.service, why: a.why, command, ...(a.verify ? { verify: a.verify } : {}) });
  else {
    s.warnings.push(`${a.service}: no init system or /etc/init.d/${a.service} script to ${a.action} it with; ${a.action} it by hand to ${a.why}`);
    s.manualSteps.push(`${a.action} ${a.service} to ${a.why}`);
  }
}

/** Step 4: the plan. jail.local first, then the tool's fail2ban files, the services', the features'. */
function finishPlan(s: FoldState): Plan {
  const jailLocal: FileChange = { path: JAIL_LOCAL, before: s.jailOnDisk, after: s.jail, mode: 0o644, why: 'fail2ban settings and jails', adminOwned: true };
  return {
    distro: s.distro.key,
    packages: s.start.packages,
    ...(s.watch ? { watch: s.watch } : {}),
    packageCommands: s.start.packageCommands,
    files: [jailLocal, ...s.fail2banFiles, ...s.serviceFiles, ...s.featureFiles],
    ensureFiles: s.ensureFiles,
    jails: s.jails,
    afterCommands: s.afterCommands,
    manualSteps: s.manualSteps,
    warnings: s.warnings,
    banaction: s.ban.banaction,
    banactionAllports: s.ban.banactionAllports,
    ignoreip: s.ignoreip,
    services: s.services,
    notes: s.notes,
    ...(s.web ? { web: s.web } : {}),
  };
}

/**
 * A service module as a piece: a planned one (chosen, or implicit) plans its fragment; one not
 * planned switches off a jail it enabled before (never deleted).
 */
function servicePiece(input: PlanInputs, module: ServiceModule, selected: boolean | null): PlanPiece {
  if (selected === null) return { plan: (s) => ({ jailLocal: switchedOff(s, module) }) };
  return { packages: module.packages?.(input.facts, input.distro) ?? [], plan: (s) => serviceFragment(s, module, selected) };
}

/** jail.local with the module's jails switched off; a section the admin had before the tool is theirs: never switched off by us. */
function switchedOff(s: PlanSoFar, module: ServiceModule): string {
  let jail = s.jail;
  for (const section of module.jails) {
    if (s.existing.some((e) => e.name === section && e.files.includes(JAIL_LOCAL))) continue;
    if (getIniValue(jail, section, 'enabled') !== undefined) jail = setIniValues(jail, section, [['enabled', 'false']]);
  }
  return jail;
}

/** A planned module's fragment, with the host's jails it adopts and its entry in the report. */
function serviceFragment(s: PlanSoFar, module: ServiceModule, selected: boolean): PlanFragment {
  const { options, facts, distro, files, template } = s;
  const fragment = module.plan({ options, facts, distro, files, template, jail: s.jail, whitelist: s.ignoreip, protocol: s.ban.protocol, mail: s.mail, mailAction: s.mailAction, selected, existing: s.existing });
  const { kept, adoptions, notes } = adoptedBy(s, module, selected, fragment.jail ?? []);
  // Theirs stays where kept: ours is not added (one written by an earlier run is switched off).
  const jail = (fragment.jail ?? []).flatMap((e) => {
    if (!kept.has(e.section)) return [e];
    return getIniValue(s.jail, e.section, 'enabled') !== undefined ? [{ section: e.section, keys: [['enabled', 'false']] as Array<[string, string]> }] : [];
  });
  const jails = (fragment.jails ?? []).filter((j) => !kept.has(j));
  const service: PlannedService = {
    name: module.name,
    label: module.label,
    selected,
    jails,
    files: (fragment.files ?? []).map((f) => f.path),
    ...(fragment.details ? { details: fragment.details } : {}),
  };
  return { ...fragment, jail, jails, adoptions, notes: [...notes, ...(fragment.notes ?? [])], service };
}

/** The jails that already count this module's failures: adopted (never two enabled jails on one failure), or kept with --keep-existing-jails. */
function adoptedBy(s: PlanSoFar, module: ServiceModule, selected: boolean, edits: NonNullable<PlanFragment['jail']>): { kept: Set<string>; adoptions: Adoption[]; notes: string[] } {
  const out = { kept: new Set<string>(), adoptions: [] as Adoption[], notes: [] as string[] };
  if (!module.adopts || !selected) return out;
  const keep = s.options.keepExistingJails;
  for (const e of edits) {
    const logs = (e.keys.find(([k]) => k === 'logpath')?.[1] ?? '').split('\n').filter(Boolean);
    const theirs = s.existing.filter((j) => j.enabled && sameFailures(j, module.adopts!, logs));
    for (const t of theirs) {
      out.adoptions.push({ ours: e.section, theirs: t });
      out.notes.push(
        keep
          ? `[${t.name}] (${t.file}) already counts the failures of [${e.section}]: kept (--keep-existing-jails), [${e.section}] not enabled`
          : `[${t.name}] (${t.file}) counts the same failures as [${e.section}]: adopted, switched off in ${ADOPTED_JAILS} (its file untouched; --keep-existing-jails keeps it instead)`,
      );
    }
    if (theirs.length && keep) out.kept.add(e.section);
  }
  return out;
}
