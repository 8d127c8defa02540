import type { Distro } from './distro.ts';
import { LOOPBACK, tidyWhitelist, whitelistOfJail } from './whitelist.ts';
import type { HostFacts } from './facts.ts';
import type { InstallOptions } from './options.ts';
import type { EnsureFile, FileChange, Plan, PlannedService } from './plan.ts';
import { BAN_ACTION_FILES, BAN_ACTION_TEMPLATES, chooseBanaction } from './firewall.ts';
import { getIniValue, listIniSections, setIniValues } from './ini-edit.ts';
import { packageCommands } from './packages.ts';
import { repeatOffenderKeys } from './repeat-offenders.ts';
import { FAIL2BAN_CONF, FAIL2BAN_LOCAL, dbPurgeAgeLocal } from './db-purge-age.ts';
import { serviceCommandIfPossible } from './service-control.ts';
import { FILTER_DIR, GUARD_ACTION, JAIL_LOCAL, MAIL_ACTION } from './paths.ts';
import { SERVICE_MODULES } from './services/index.ts';
import type { AfterStep, FileSnapshot, MailSettings, ServiceModule } from './services/types.ts';
import type { Command } from './command.ts';
import { MEMBER_FILES, SERVER_FILES, memberFragment, pushActionLine, serverFragment, type CrowdsecCredentials, type Fragment, type ServerTls } from './crowdsec.ts';
import { DEFAULT_WEB_LISTEN, webServiceFragment, webServiceReads, webServiceKind, type ProgramFile } from './web-service.ts';
import { cronPackage, watchFragment, watchReads, type WatchFragment } from './watch.ts';
import { PlanError } from '../errors.ts';
import { ADOPTED_JAILS, existingJails, renderAdoptedJails, sameFailures, type Adoption, type ExistingJail } from './pbx-distro-jails.ts';
import { pbxDistroNote } from './pbx-distro.ts';
import { adminDefaults, keepEqualSpelling, laterDefaults } from './settings.ts';

export { FILTER_DIR, JAIL_LOCAL, MAIL_ACTION } from './paths.ts';
export { KAMAILIO_LOG, KAMAILIO_RSYSLOG_RULE } from './services/kamailio.ts';

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
}

/** What the watch's plan needs from the world, gathered by the command. */
export interface WatchInputsOfCommand {
  program: ProgramFile[];
  nodePath: string;
}

/** The watch is planned: asked for (the CLI's default), and its inputs given by the command. */
function watchWanted(options: InstallOptions, watch: WatchInputsOfCommand | undefined): watch is WatchInputsOfCommand {
  return Boolean(options.watch) && watch !== undefined;
}

/** What `install --web` needs from the world, gathered by the command. */
export interface WebInputs {
  program: ProgramFile[];
  nodePath: string;
  newToken: string;
}

/** Alert addresses and how postfix delivers them. */
function mailSettings(options: InstallOptions, facts: HostFacts): MailSettings {
  const dest = options.email!;
  const local = /@localhost$/i.test(dest);
  return { dest, sender: options.sender ?? `fail2ban@${facts.mailname}`, delivery: options.mailDelivery ?? (local ? 'local' : 'send-only') };
}

/** The `action` value: the ban, plus our rate-limited mail (with log lines where there is a logpath). */
function mailAction(interval: number, withLogpath: boolean): string {
  const args = ['dest="%(destemail)s"', 'sender="%(sender)s"', ...(withLogpath ? ['logpath="%(logpath)s"'] : []), `interval=${interval}`];
  return `%(action_)s\nvoip-f2b-mail[${args.join(', ')}]`;
}

/** An action line the tool adds to a service's jail (and takes out when no longer wanted). */
const OUR_ACTION_LINE = /^\s*(?:voip-f2b-crowdsec\[|voip-f2b-guard\.py\[)/;

/**
 * A command as one word list in an action argument (the guard splits it with Python's shlex, no
 * shell): words of plain characters, single-quoted where they hold a space. Null for anything
 * else (a quote, `%` that fail2ban's interpolation would take, a bracket): then no console.
 */
export function officeCommandArg(c: Command): string | null {
  const words = [c.cmd, ...c.args];
  if (!c.cmd.startsWith('/') || words.some((w) => !/^[\w@+=:,./ -]+$/.test(w))) return null;
  return words.map((w) => (w.includes(' ') ? `'${w}'` : w)).join(' ');
}

/**
 * The guard's action line: its pause covers the jail's own ports (`%(port)s`); offices behind
 * one address from the service's console (`office`) and its logins (`office_logins`).
 */
export function guardActionLine(module: Pick<ServiceModule, 'guard' | 'registrations'>, facts: HostFacts, currentAction?: string): string {
  const args = ['port="%(port)s"', `window=${module.guard!.window}`, ...(module.guard!.pause === false ? ['pause=0'] : [])];
  const console = module.registrations?.(facts);
  // The console is known only while the service runs: a re-run while it is stopped keeps the one
  // the last run found (no rewrite of jail.local, no restart of fail2ban, offices kept).
  const kept = /^\s*voip-f2b-guard\.py\[.*\boffice="([\w@+=:,./' -]+)"/m.exec(currentAction ?? '')?.[1] ?? null;
  const office = console ? officeCommandArg(console) : module.registrations ? kept : null;
  if (office) args.push(`office="${office}"`);
  if (module.guard!.logins) args.push('office_logins=1');
  return `voip-f2b-guard.py[${args.join(', ')}]`;
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
 * Every file the planner may read, derived from the same module data the planner uses, so the
 * command reads them all up front and the planner can read nothing else.
 */
export function filesToRead(options: InstallOptions, facts: HostFacts, modules: ServiceModule[] = SERVICE_MODULES, web?: Pick<WebInputs, 'program'>, watch?: WatchInputsOfCommand): string[] {
  const paths = [JAIL_LOCAL, FAIL2BAN_CONF, FAIL2BAN_LOCAL, ...jailInventoryReads(facts), ...modules.flatMap((m) => m.filters.map((f) => `${FILTER_DIR}/${f}`)), MAIL_ACTION, GUARD_ACTION, ...BAN_ACTION_FILES];
  for (const { module } of plannedModules(options, facts, modules)) paths.push(...module.reads(facts));
  if (options.crowdsecLapi) paths.push(...MEMBER_FILES);
  if (options.crowdsecLapiServer) paths.push(...SERVER_FILES);
  if (options.web) paths.push(...webServiceReads(web?.program ?? []));
  if (watchWanted(options, watch)) paths.push(...watchReads(watch.program));
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

/**
 * Builds the whole install plan from facts and file texts. Pure: same inputs, same plan.
 * Steps: 1 packages and the ban action, 2 [DEFAULT], 3 each planned service's fragment (its
 * files, jail sections, logs, follow-ups), 4 the files, 5 mail. The planner never names a
 * service: everything service-specific comes from src/core/services/.
 */
export function buildInstallPlan(input: PlanInputs): Plan {
  const { options, facts, distro, templates } = input;
  const modules = input.modules ?? SERVICE_MODULES;
  const files = strictSnapshot(input.files, filesToRead(options, facts, modules, input.web, input.watch));
  const warnings: string[] = [];
  const manualSteps: string[] = [];
  const afterCommands: Plan['afterCommands'] = [];
  const ensureFiles: EnsureFile[] = [];
  const serviceChanges: FileChange[] = [];
  const planned = plannedModules(options, facts, modules);
  const template = (p: string): string => {
    const t = templates[p];
    if (t === undefined) throw new Error(`internal: template ${p} is missing`);
    return t;
  };
  const change = (path: string, text: string, why: string, adminOwned: boolean, mode = 0o644): FileChange => ({ path, before: files.read(path), after: text, mode, why, adminOwned });

  // 1. Packages and the ban action.
  const ban = chooseBanaction(distro, facts.firewall, options.banaction, input.installed);
  const wanted = [distro.pkgs.fail2ban, ...ban.packages];
  if (distro.pkgs.pyinotify) wanted.push(distro.pkgs.pyinotify); // instant log reading, fast bans
  for (const { module } of planned) wanted.push(...(module.packages?.(facts, distro) ?? []));
  if (options.email && !facts.postfix.installed) wanted.push(distro.pkgs.postfix);
  // CrowdSec (issue 13): the LAPI host's crowdsec, the members' bouncer (Debian and Ubuntu ship both).
  const read = (p: string): string | null => files.read(p);
  if (options.crowdsecLapiServer && !input.crowdsecTls) throw new Error('internal: --crowdsec-lapi-server without its TLS inputs');
  const server = options.crowdsecLapiServer
    ? serverFragment({ listen: options.crowdsecLapiServer, tls: input.crowdsecTls!, init: facts.init, installed: input.installed.has('crowdsec'), read, templates })
    : null;
  if ((options.crowdsecLapi || server) && distro.pm !== 'apt') {
    throw new PlanError(`CrowdSec: ${distro.key} has no crowdsec packages in its own repositories`, 'use --crowdsec-lapi / --crowdsec-lapi-server on Debian or Ubuntu');
  }
  if (server) wanted.push(...server.packages);
  if (options.crowdsecLapi) wanted.push('crowdsec-firewall-bouncer', 'nftables');
  // The watch (issue 23): a systemd timer, else a cron entry (cron installed when missing). It
  // runs the program's copy the web view's service also uses (copied once when both are on).
  let watch: WatchFragment | null = null;
  if (watchWanted(options, input.watch) && options.watch) {
    watch = watchFragment({
      interval: options.watch.interval,
      init: facts.init,
      family: distro.family,
      live: facts.live,
      nodePath: input.watch.nodePath,
      program: options.web ? [] : input.watch.program,
      mail: options.email ? mailSettings(options, facts) : null,
      cronInstalled: !facts.live || input.installed.has(cronPackage(distro.family)),
      templates,
      read: (p) => files.read(p),
    });
    wanted.push(...watch.packages);
  }
  const pkgCommands = facts.live
    ? packageCommands(distro, wanted, { installed: input.installed, aptListsFresh: facts.aptListsFresh, repoReady: input.repoReady })
    : [];
  const packages = facts.live ? [...new Set(wanted)].filter((p) => !input.installed.has(p)) : [];
  if (server && facts.live && pkgCommands.length) pkgCommands.unshift(...server.preInstall);

  /** Resolves a follow-up: a command as is; a start/restart through the init system, or by hand. */
  const after = (a: AfterStep): void => {
    if ('command' in a) {
      afterCommands.push(a);
      return;
    }
    // A package this run installs brings its init script (Debian: postfix → /etc/init.d/postfix).
    const initScripts = [...facts.initScripts, ...(facts.live ? wanted.filter((p) => !input.installed.has(p)) : [])];
    const command = serviceCommandIfPossible({ init: facts.init, initScripts }, a.service, a.action);
    if (command) afterCommands.push({ service: a.service, why: a.why, command, ...(a.verify ? { verify: a.verify } : {}) });
    else {
      warnings.push(`${a.service}: no init system or /etc/init.d/${a.service} script to ${a.action} it with; ${a.action} it by hand to ${a.why}`);
      manualSteps.push(`${a.action} ${a.service} to ${a.why}`);
    }
  };

  // 2. [DEFAULT]: ignoreip is the union of what the file has and what we add, so a run never
  // drops an address an admin whitelisted by hand (that could lock them out).
  const jailOnDisk = files.read(JAIL_LOCAL);
  let jail = jailOnDisk ?? template('etc/fail2ban/jail.local');
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
  // A value jail.local already has in another spelling (1d for 24h, ignoreip in another order)
  // stays as it is: equal settings leave the file UNCHANGED.
  const set = (text: string, section: string, keys: Array<[string, string]>): string => setIniValues(text, section, keepEqualSpelling(text, section, keys));
  // The admin's own [DEFAULT] values (jail.local before the tool's first run): kept, replaced by a
  // flag of this run (said in the plan), or refused (exit 2) — never rewritten silently.
  const originalPath = facts.pbx?.jailLocalOriginal ?? null;
  const own = adminDefaults(jailOnDisk !== null && originalPath ? files.read(originalPath) : null, jail, defaults, options, jailOnDisk !== null ? (input.adminEdited ?? []) : []);
  jail = set(jail, 'DEFAULT', own.keys);
  // A jail.d/*.local's [DEFAULT] (read after jail.local) wins over ours: said, not touched.
  const later = (facts.pbx?.fail2banFiles ?? []).filter((p) => p !== ADOPTED_JAILS).flatMap((path) => {
    const text = files.read(path);
    return text === null ? [] : [{ path, text }];
  });
  const overridden = laterDefaults(later, own.keys);
  own.notes.push(...overridden.notes);
  warnings.push(...overridden.warnings);
  if (repeat.recidive) jail = set(jail, 'recidive', repeat.recidive);

  // 3. Services, in registry order. A jail enabled before for a service no longer chosen is
  // switched off, not deleted.
  const jails: string[] = [...repeat.jails];
  const services: PlannedService[] = [];
  const onChange: AfterStep[] = [];
  const notes: string[] = [];
  const distroNote = facts.pbx ? pbxDistroNote(facts.pbx.distro) : null;
  if (distroNote) notes.push(distroNote);
  notes.push(...own.notes);
  const existing = jailInventory(facts, files, modules);
  const adoptions: Adoption[] = [];
  for (const module of modules) {
    const p = planned.find((x) => x.module === module);
    if (!p) {
      for (const section of module.jails) {
        // A section the admin had before the tool is theirs: never switched off by us.
        if (existing.some((e) => e.name === section && e.files.includes(JAIL_LOCAL))) continue;
        if (getIniValue(jail, section, 'enabled') !== undefined) jail = setIniValues(jail, section, [['enabled', 'false']]);
      }
      continue;
    }
    const fragment = module.plan({
      options,
      facts,
      distro,
      files,
      template,
      jail,
      whitelist: ignoreip,
      protocol: ban.protocol,
      mail,
      mailAction: (withLogpath) => mailAction(options.mailInterval, withLogpath),
      selected: p.selected,
      existing,
    });
    // Adopt the jails that already count this module's failures: never two enabled jails on one failure.
    const kept = new Set<string>();
    if (module.adopts && p.selected) {
      for (const e of fragment.jail ?? []) {
        const logs = (e.keys.find(([k]) => k === 'logpath')?.[1] ?? '').split('\n').filter(Boolean);
        const theirs = existing.filter((j) => j.enabled && sameFailures(j, module.adopts!, logs));
        for (const t of theirs) {
          adoptions.push({ ours: e.section, theirs: t });
          notes.push(
            options.keepExistingJails
              ? `[${t.name}] (${t.file}) already counts the failures of [${e.section}]: kept (--keep-existing-jails), [${e.section}] not enabled`
              : `[${t.name}] (${t.file}) counts the same failures as [${e.section}]: adopted, switched off in ${ADOPTED_JAILS} (its file untouched; --keep-existing-jails keeps it instead)`,
          );
        }
        if (theirs.length && options.keepExistingJails) kept.add(e.section);
      }
    }
    for (const e of fragment.jail ?? []) {
      if (kept.has(e.section)) {
        // Theirs stays; ours is not added (one written by an earlier run is switched off).
        if (getIniValue(jail, e.section, 'enabled') !== undefined) jail = set(jail, e.section, [['enabled', 'false']]);
        continue;
      }
      jail = set(jail, e.section, e.keys);
    }
    if (kept.size) fragment.jails = (fragment.jails ?? []).filter((j) => !kept.has(j));
    for (const f of fragment.files ?? []) serviceChanges.push(change(f.path, f.text, f.why, f.adminOwned, f.mode));
    ensureFiles.push(...(fragment.ensureFiles ?? []));
    jails.push(...(fragment.jails ?? []));
    warnings.push(...(fragment.warnings ?? []));
    manualSteps.push(...(fragment.manualSteps ?? []));
    notes.push(...(fragment.notes ?? []));
    for (const a of fragment.after ?? []) {
      if ('action' in a && a.onlyOnChange) onChange.push(a);
      else after(a);
    }
    services.push({
      name: module.name,
      label: module.label,
      selected: p.selected,
      jails: fragment.jails ?? [],
      files: (fragment.files ?? []).map((f) => f.path),
      ...(fragment.details ? { details: fragment.details } : {}),
    });
  }
  // Extra actions of a service's jails, after its ban (its own action, or the [DEFAULT] one):
  // the guard of modules that have one (voip-f2b-guard.py: pause, count once, accounts under
  // attack), and the CrowdSec push of modules that share bans with --crowdsec-lapi. Lines an
  // earlier run added and this one does not want are taken out again.
  for (const { module, selected } of planned) {
    if (!selected) continue;
    const extra = [
      ...(module.guard ? [guardActionLine(module, facts, getIniValue(jail, module.jails[0]!, 'action'))] : []),
      ...(options.crowdsecLapi && module.sharedBanReason ? [pushActionLine(module.sharedBanReason)] : []),
    ];
    for (const section of module.jails) {
      if (!jails.includes(section)) continue;
      const current = getIniValue(jail, section, 'action');
      const own = current?.split('\n').filter((l) => !OUR_ACTION_LINE.test(l)).join('\n');
      const base = own || (mail ? mailAction(options.mailInterval, getIniValue(jail, section, 'logpath') !== undefined) : '%(action_)s');
      const mine = module.guard?.jails && !module.guard.jails.includes(section) ? extra.filter((l) => !l.startsWith('voip-f2b-guard.py[')) : extra;
      if (mine.length) jail = setIniValues(jail, section, [['action', [base, ...mine].join('\n')]]);
      else if (current !== undefined && own !== current) jail = setIniValues(jail, section, [['action', base]]);
    }
  }
  // Alerts turned off (--email '', or the question left empty): our mail action leaves every jail
  // (the ban stays), so no run keeps mailing an address the settings no longer name.
  if (!mail) {
    for (const section of listIniSections(jail)) {
      const action = getIniValue(jail, section, 'action');
      if (action === undefined || !/^\s*voip-f2b-mail\[/m.test(action)) continue;
      const rest = action.split('\n').filter((l) => !/^\s*voip-f2b-mail\[/.test(l)).join('\n');
      jail = setIniValues(jail, section, [['action', rest.trim() ? rest : '%(action_)s']]);
    }
  }
  if (!planned.some((p) => p.selected)) {
    const labels = modules.filter((m) => m.implicit === undefined).map((m) => m.label);
    const named = labels.length > 1 ? `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}` : (labels[0] ?? 'service');
    warnings.push(`no ${named} found: no service jail enabled (name them with --services)`);
  }

  // 4. Files: jail.local, our filters and mail action (verbatim from templates), then the
  // services' files. Only what is used is written: the filters of the chosen services, the mail
  // action with --email; one written by an earlier run is kept up to date until uninstall.
  const used = (path: string, wanted: boolean): boolean => wanted || files.read(path) !== null;
  const chosen = new Set(planned.filter((p) => p.selected).map((p) => p.module));
  const tool: FileChange[] = [];
  for (const m of modules) {
    for (const f of m.filters) {
      const path = `${FILTER_DIR}/${f}`;
      if (used(path, chosen.has(m))) tool.push(change(path, template(`etc/fail2ban/filter.d/${f}`), `fail2ban filter ${f.replace(/\.conf$/, '')}`, false));
    }
  }
  const guarded = planned.some((p) => p.selected && p.module.guard);
  if (used(GUARD_ACTION, guarded)) tool.push(change(GUARD_ACTION, template('etc/fail2ban/action.d/voip-f2b-guard.py'), 'VoIP jail guard: pause a failing source, count a failure once, accounts under attack', false));
  if (used(MAIL_ACTION, mail !== null)) tool.push(change(MAIL_ACTION, template('etc/fail2ban/action.d/voip-f2b-mail.conf'), 'rate-limited mail alert action', false));
  // The ban action's own files (the chosen ones; one an earlier run chose is kept up to date).
  for (const [path, tpl] of Object.entries(BAN_ACTION_TEMPLATES)) {
    const chosenBan = ban.files.some((f) => f.path === path);
    if (used(path, chosenBan)) tool.push(change(path, template(tpl), chosenBan ? `ban action (${ban.why})` : 'ban action of an earlier run', false));
  }
  const changes: FileChange[] = [{ path: JAIL_LOCAL, before: jailOnDisk, after: jail, mode: 0o644, why: 'fail2ban settings and jails', adminOwned: true }];
  // The override that switches off the adopted jails (read after jail.local); kept up to date
  // (emptied when nothing is adopted any more) until uninstall removes it.
  const replaced = options.keepExistingJails ? [] : adoptions;
  if (used(ADOPTED_JAILS, replaced.length > 0)) {
    changes.push(change(ADOPTED_JAILS, renderAdoptedJails(replaced), replaced.length ? `switches off ${replaced.map((a) => `[${a.theirs.name}]`).join(', ')}, adopted by the tool's jails` : 'no jail adopted any more', false));
  }
  // fail2ban.local: at least 30 days of ban history (dbpurgeage), for repeat offenders and the
  // web view; a longer value of the admin's is kept. Written only when something must change.
  const localOnDisk = files.read(FAIL2BAN_LOCAL);
  const purge = dbPurgeAgeLocal(files.read(FAIL2BAN_CONF), localOnDisk, template('etc/fail2ban/fail2ban.local'));
  if (purge.warning) warnings.push(purge.warning);
  if (purge.after !== null) changes.push({ path: FAIL2BAN_LOCAL, before: localOnDisk, after: purge.after, mode: 0o644, why: 'fail2ban keeps 30 days of ban history (dbpurgeage)', adminOwned: true });
  changes.push(...tool, ...serviceChanges);
  // Follow-ups that only a run changing something needs (--restartkamailio): none on a re-run.
  if (changes.some((c) => c.before !== c.after)) for (const a of onChange) after(a);

  // 5. Mail: postfix installed without a dialog, running, and one test mail when settings change.
  if (mail && facts.live) {
    const postfixMissing = !input.installed.has(distro.pkgs.postfix) && !facts.postfix.installed;
    if (postfixMissing && distro.pm === 'apt') {
      const type = mail.delivery === 'local' ? 'Local only' : 'Internet Site';
      pkgCommands.unshift({
        cmd: 'debconf-set-selections',
        args: [],
        input: `postfix postfix/main_mailer_type select ${type}\npostfix postfix/mailname string ${facts.mailname}\n`,
      });
    }
    if (postfixMissing && mail.delivery === 'send-only') {
      // Send-only: deliver alerts to the world, accept nothing from the network.
      afterCommands.push({ service: 'postfix', why: 'listen on loopback only', command: { cmd: 'postconf', args: ['-e', 'inet_interfaces = loopback-only'] } });
    }
    if (!facts.postfix.running) after({ service: 'postfix', action: 'start', why: 'start the mail server' });
    if (jailOnDisk !== jail) {
      afterCommands.push({
        service: 'mail',
        why: `test mail to ${mail.dest}`,
        command: {
          cmd: '/usr/sbin/sendmail',
          args: ['-f', mail.sender, mail.dest],
          input: `Subject: [Fail2Ban] voip-f2b-install: test alert from ${facts.mailname}\nFrom: Fail2Ban <${mail.sender}>\nTo: ${mail.dest}\n\nThis is a test: fail2ban on ${facts.mailname} will mail ban alerts to this address\n(at most one mail per jail every ${options.mailInterval} s; bans in between are listed in the next mail).\n`,
        },
      });
    }
  }

  // 6. CrowdSec files and services (after fail2ban is up: the bouncer, the LAPI).
  const fleet: Fragment[] = [];
  if (server) fleet.push(server);
  if (options.crowdsecLapi) {
    if (!input.crowdsecCredentials) throw new Error('internal: --crowdsec-lapi without parsed credentials');
    fleet.push(memberFragment({ lapiUrl: options.crowdsecLapi, credentials: input.crowdsecCredentials, ...(input.crowdsecCa ? { ca: input.crowdsecCa } : {}), ignoreip, init: facts.init, templates, read }));
  }
  for (const f of fleet) {
    changes.push(...f.files);
    if (facts.live) afterCommands.push(...f.afterCommands);
    manualSteps.push(...f.manualSteps);
    warnings.push(...f.warnings);
  }

  let web: Plan['web'];
  // 7. The web view as a boot service (--web): its program's copy, token, unit or init script;
  // started once fail2ban runs (restarted only when one of its files changed).
  if (options.web) {
    if (!input.web) throw new Error('internal: --web without the program to copy');
    const listen = options.webListen ?? DEFAULT_WEB_LISTEN;
    const w = webServiceFragment({
      listen,
      init: facts.init,
      family: distro.family,
      live: facts.live,
      running: facts.webView?.running ?? false,
      nodePath: input.web.nodePath,
      program: input.web.program,
      newToken: input.web.newToken,
      templates,
      read,
    });
    const changedAny = w.files.some((f) => f.before !== f.after);
    changes.push(...w.files);
    for (const a of w.afterCommands) afterCommands.push(changedAny ? a : { ...a, standalone: true });
    manualSteps.push(...w.manualSteps);
    warnings.push(...w.warnings);
    web = { ...w.details, kind: webServiceKind(facts.init, distro.family) };
  }

  // 8. The watch's files and follow-ups (after fail2ban and the web view: it checks them).
  if (watch) {
    const changedAny = watch.files.some((f) => f.before !== f.after);
    changes.push(...watch.files);
    afterCommands.push(...watch.afterCommands);
    if (changedAny) for (const service of watch.start) after({ service, action: 'start', why: 'run the watch' });
    manualSteps.push(...watch.manualSteps);
    warnings.push(...watch.warnings);
  }

  return {
    distro: distro.key,
    packages,
    ...(watch ? { watch: watch.details } : {}),
    packageCommands: pkgCommands,
    files: changes,
    ensureFiles,
    jails,
    afterCommands,
    manualSteps,
    warnings,
    banaction: ban.banaction,
    banactionAllports: ban.banactionAllports,
    ignoreip,
    services,
    notes,
    ...(web ? { web } : {}),
  };
}
