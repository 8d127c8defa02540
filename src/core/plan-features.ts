/**
 * The features the install plan folds after the services, in order (issue 22): each produces a
 * PlanFragment (src/core/plan-fragment.ts). Their order is the order of their lines in the plan:
 * the tool's files under /etc/fail2ban right after jail.local (the adopted jails' override,
 * fail2ban.local, the filters and the guard, the mail action, the ban action), then the
 * follow-ups a changed file needs, postfix, CrowdSec, the web view's service, the watch. Pure.
 */
import type { Command } from './command.ts';
import type { HostFacts } from './facts.ts';
import { BAN_ACTION_FILES, BAN_ACTION_TEMPLATES } from './firewall.ts';
import { getIniValue, setIniValues } from './ini-edit.ts';
import type { InstallOptions } from './options.ts';
import { FILTER_DIR, GUARD_ACTION } from './paths.ts';
import { ADOPTED_JAILS, renderAdoptedJails } from './pbx-distro-jails.ts';
import type { PlanCommand, PlanFeature, PlanFragment, PlanSoFar } from './plan-fragment.ts';
import type { ServiceModule } from './services/types.ts';
import { pushActionLine, crowdsecFeature } from './crowdsec.ts';
import { dbPurgeAgeFeature } from './db-purge-age.ts';
import { alertMailFeature, mailSettings, postfixFeature } from './alert-mail.ts';
import { DEFAULT_WEB_LISTEN, webServiceFragment, webServiceKind, webServiceReads } from './web-service.ts';
import { cronPackage, watchFragment, watchReads } from './doctor/watch.ts';
import type { WatchInputsOfCommand } from './install-plan.ts';

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

/** A file of the tool's is written when used, and one written by an earlier run is kept up to date until uninstall. */
function used(s: PlanSoFar, path: string, wanted: boolean): boolean {
  return wanted || s.files.read(path) !== null;
}

/** No service chosen or found: said, and fail2ban still runs the implicit jails. */
const noServiceFeature: PlanFeature = {
  name: 'no service found',
  piece: () => ({
    plan: (s) => {
      if (s.planned.some((p) => p.selected)) return {};
      const labels = s.modules.filter((m) => m.implicit === undefined).map((m) => m.label);
      const named = labels.length > 1 ? `${labels.slice(0, -1).join(', ')} or ${labels.at(-1)}` : (labels[0] ?? 'service');
      return { warnings: [`no ${named} found: no service jail enabled (name them with --services)`] };
    },
  }),
};

/**
 * The override that switches off the jails the services' jails adopted (read after jail.local);
 * kept up to date (emptied when nothing is adopted any more) until uninstall removes it.
 */
const adoptedJailsFeature: PlanFeature = {
  name: 'adopted jails',
  reads: () => [ADOPTED_JAILS],
  piece: () => ({
    plan: (s) => {
      const replaced = s.options.keepExistingJails ? [] : [...s.adoptions];
      if (!used(s, ADOPTED_JAILS, replaced.length > 0)) return {};
      const why = replaced.length ? `switches off ${replaced.map((a) => `[${a.theirs.name}]`).join(', ')}, adopted by the tool's jails` : 'no jail adopted any more';
      return { fail2banFiles: [s.change(ADOPTED_JAILS, renderAdoptedJails(replaced), why, false)] };
    },
  }),
};

/**
 * Extra actions of a service's jails, after its ban (its own action, or the [DEFAULT] one): the
 * guard of modules that have one (voip-f2b-guard.py: pause, count once, accounts under attack),
 * and the CrowdSec push of modules that share bans with --crowdsec-lapi. Lines an earlier run
 * added and this one does not want are taken out again.
 */
function withExtraActions(s: PlanSoFar): string {
  let jail = s.jail;
  for (const { module, selected } of s.planned) {
    if (!selected) continue;
    const extra = [
      ...(module.guard ? [guardActionLine(module, s.facts, getIniValue(jail, module.guard.jails?.[0] ?? module.jails[0]!, 'action'))] : []),
      ...(s.options.crowdsecLapi && module.sharedBanReason ? [pushActionLine(module.sharedBanReason)] : []),
    ];
    for (const section of module.jails) {
      if (!s.jails.includes(section)) continue;
      const current = getIniValue(jail, section, 'action');
      const own = current?.split('\n').filter((l) => !OUR_ACTION_LINE.test(l)).join('\n');
      const base = own || (s.mail ? s.mailAction(getIniValue(jail, section, 'logpath') !== undefined) : '%(action_)s');
      // A guard meant for some of its jails only (Kamailio's auth jail, not its pike jail).
      const mine = module.guard?.jails && !module.guard.jails.includes(section) ? extra.filter((l) => !l.startsWith('voip-f2b-guard.py[')) : extra;
      if (mine.length) jail = setIniValues(jail, section, [['action', [base, ...mine].join('\n')]]);
      else if (current !== undefined && own !== current) jail = setIniValues(jail, section, [['action', base]]);
    }
  }
  return jail;
}

/** The tool's filters (verbatim from templates: those of the chosen services) and the guard action, with the guard's lines in the jails. */
const serviceFiltersFeature: PlanFeature = {
  name: 'filters and guard',
  reads: (r) => [...r.modules.flatMap((m) => m.filters.map((f) => `${FILTER_DIR}/${f}`)), GUARD_ACTION],
  piece: () => ({
    plan: (s) => {
      const chosen = new Set(s.planned.filter((p) => p.selected).map((p) => p.module));
      const files = s.modules.flatMap((m) =>
        m.filters.flatMap((f) => {
          const path = `${FILTER_DIR}/${f}`;
          return used(s, path, chosen.has(m)) ? [s.change(path, s.template(`etc/fail2ban/filter.d/${f}`), `fail2ban filter ${f.replace(/\.conf$/, '')}`, false)] : [];
        }),
      );
      const guarded = s.planned.some((p) => p.selected && p.module.guard);
      if (used(s, GUARD_ACTION, guarded)) files.push(s.change(GUARD_ACTION, s.template('etc/fail2ban/action.d/voip-f2b-guard.py'), 'VoIP jail guard: pause a failing source, count a failure once, accounts under attack', false));
      return { jailLocal: withExtraActions(s), fail2banFiles: files };
    },
  }),
};

/** The ban action's own files (the chosen ones; one an earlier run chose is kept up to date). */
const banActionFeature: PlanFeature = {
  name: 'ban action',
  reads: () => BAN_ACTION_FILES,
  piece: () => ({
    plan: (s) => ({
      fail2banFiles: Object.entries(BAN_ACTION_TEMPLATES).flatMap(([path, tpl]) => {
        const chosenBan = s.ban.files.some((f) => f.path === path);
        return used(s, path, chosenBan) ? [s.change(path, s.template(tpl), chosenBan ? `ban action (${s.ban.why})` : 'ban action of an earlier run', false)] : [];
      }),
    }),
  }),
};

/** Follow-ups that only a run changing something needs (a module's restart asked for by its flag): none on a re-run. */
const onChangeFeature: PlanFeature = {
  name: 'follow-ups on change',
  piece: () => ({ plan: (s) => ({ after: s.changedSoFar() ? s.onChange.map((a) => ({ ...a, onlyOnChange: false })) : [] }) }),
};

/**
 * The web view as a boot service (--web): its program's copy, token, unit or init script;
 * started once fail2ban runs (restarted only when one of its files changed).
 */
const webServiceFeature: PlanFeature = {
  name: 'web view service',
  reads: (r) => (r.options.web ? webServiceReads(r.web?.program ?? []) : []),
  piece: (input) => {
    if (!input.options.web) return null;
    return {
      plan: (s): PlanFragment => {
        if (!input.web) throw new Error('internal: --web without the program to copy');
        const { facts, distro } = s;
        const w = webServiceFragment({
          listen: s.options.webListen ?? DEFAULT_WEB_LISTEN,
          init: facts.init,
          family: distro.family,
          live: facts.live,
          running: facts.webView?.running ?? false,
          nodePath: input.web.nodePath,
          program: input.web.program,
          newToken: input.web.newToken,
          templates: input.templates,
          read: (p) => s.files.read(p),
        });
        const changedAny = w.files.some((f) => f.before !== f.after);
        const after = w.afterCommands.map((a): PlanCommand => (changedAny ? a : { ...a, standalone: true }));
        return { changes: w.files, after, manualSteps: w.manualSteps, warnings: w.warnings, web: { ...w.details, kind: webServiceKind(facts.init, distro.family) } };
      },
    };
  },
};

/** The watch is planned: asked for (the CLI's default), and its inputs given by the command. */
function watchWanted(options: InstallOptions, watch: WatchInputsOfCommand | undefined): watch is WatchInputsOfCommand {
  return Boolean(options.watch) && watch !== undefined;
}

/**
 * The watch (issue 23): a systemd timer, else a cron entry (cron installed when missing). It runs
 * the program's copy the web view's service also uses (copied once when both are on); its files
 * and follow-ups come after fail2ban and the web view (it checks them).
 */
const watchFeature: PlanFeature = {
  name: 'watch',
  candidates: (distro) => [cronPackage(distro.family)],
  reads: (r) => (watchWanted(r.options, r.watch) ? watchReads(r.watch.program) : []),
  piece: (input, files) => {
    const { options, facts, distro } = input;
    if (!watchWanted(options, input.watch) || !options.watch) return null;
    const watch = watchFragment({
      interval: options.watch.interval,
      init: facts.init,
      family: distro.family,
      live: facts.live,
      nodePath: input.watch.nodePath,
      program: options.web ? [] : input.watch.program,
      mail: options.email ? mailSettings(options, facts) : null,
      cronInstalled: !facts.live || input.installed.has(cronPackage(distro.family)),
      templates: input.templates,
      read: (p) => files.read(p),
    });
    const changedAny = watch.files.some((f) => f.before !== f.after);
    const start = changedAny ? watch.start.map((service) => ({ service, action: 'start' as const, why: 'run the watch' })) : [];
    return {
      packages: watch.packages,
      plan: () => ({ changes: watch.files, after: [...watch.afterCommands, ...start], manualSteps: watch.manualSteps, warnings: watch.warnings, watch: watch.details }),
    };
  },
};

/** The features, in the order they are folded after the services. */
export const PLAN_FEATURES: PlanFeature[] = [
  noServiceFeature,
  adoptedJailsFeature,
  dbPurgeAgeFeature,
  serviceFiltersFeature,
  alertMailFeature,
  banActionFeature,
  onChangeFeature,
  postfixFeature,
  crowdsecFeature,
  webServiceFeature,
  watchFeature,
];
