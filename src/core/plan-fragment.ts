/**
 * The one fragment type of the install plan (issue 22). A service module's fragment
 * (ServiceFragment) is a PlanFragment; the features beside the services (alert mail, dbpurgeage,
 * CrowdSec, the web view's service, the watch, and the tool's own fail2ban files) produce the same
 * type. `buildInstallPlan` computes [DEFAULT], then folds the pieces' fragments in order (the
 * services in registry order, then the features), then finishes (jail.local, packages, commands).
 */
import type { Command } from './command.ts';
import type { Distro } from './distro.ts';
import type { HostFacts } from './facts.ts';
import type { BanChoice } from './firewall.ts';
import type { InstallOptions } from './options.ts';
import type { FileChange, Plan, PlannedService } from './plan.ts';
import type { Adoption, ExistingJail } from './pbx-distro-jails.ts';
import type { AfterStep, FileSnapshot, MailSettings, ServiceFragment, ServiceModule } from './services/types.ts';
import type { PlanInputs, WatchInputsOfCommand, WebInputs } from './install-plan.ts';

/** A follow-up command exactly as the plan runs it (with `standalone` or `verify` when set). */
export type PlanCommand = Plan['afterCommands'][number];

/**
 * One piece's part of the plan. Every field is optional; the fold applies them in this order:
 * `jailLocal`, then `jail` edits; files into their place in the plan's file list; then jails,
 * warnings, manual steps, notes, and last the follow-ups (`after`, resolved through the init system).
 */
export interface PlanFragment extends ServiceFragment {
  /** jail.local's whole text as this piece leaves it (edits that set no key: lines taken out of an action), before its `jail` edits. */
  jailLocal?: string;
  /** Files under /etc/fail2ban the tool writes beside jail.local (listed right after it, before the services' files). */
  fail2banFiles?: FileChange[];
  /** Files of a feature (listed after the services' files). */
  changes?: FileChange[];
  /** Jails of the host adopted by a service's jail (switched off by the tool's override). */
  adoptions?: Adoption[];
  /** The service's entry in the report (`protected[]`). */
  service?: PlannedService;
  /** Follow-ups: AfterStep, or a command exactly as the plan runs it. */
  after?: Array<AfterStep | PlanCommand>;
  /** install --web: the --json `web` part. */
  web?: Record<string, unknown>;
  /** The watch: the --json `watch` part. */
  watch?: Record<string, unknown>;
}

/** The plan as folded so far, and the run's inputs: what a piece sees when it plans. Read only. */
export interface PlanSoFar {
  input: PlanInputs;
  options: InstallOptions;
  facts: HostFacts;
  distro: Distro;
  files: FileSnapshot;
  template(path: string): string;
  /** A file change of the target `path` (its text now read from the snapshot). */
  change(path: string, text: string, why: string, adminOwned: boolean, mode?: number): FileChange;
  modules: ServiceModule[];
  /** The modules this run plans, in registry order. */
  planned: Array<{ module: ServiceModule; selected: boolean }>;
  ban: BanChoice;
  mail: MailSettings | null;
  /** The `action` value with our rate-limited mail. */
  mailAction(withLogpath: boolean): string;
  ignoreip: string[];
  /** The host's jails before this run, without the tool's own. */
  existing: ExistingJail[];
  jailOnDisk: string | null;
  /** jail.local as composed so far. */
  jail: string;
  jails: readonly string[];
  adoptions: readonly Adoption[];
  /** Follow-ups only a run that changes a file needs, collected so far (not yet resolved). */
  onChange: readonly AfterStep[];
  /** A file planned so far (jail.local included) changes. */
  changedSoFar(): boolean;
}

/** One run's piece: what it needs installed (known before the fold), and its fragment. */
export interface PlanPiece {
  /** Packages it needs on this host (only the ones not installed are planned). */
  packages?: string[];
  /** Commands before the package manager's, when this run installs packages (debconf answers, a file a package reads on install). */
  preInstall?: Command[];
  plan(s: PlanSoFar): PlanFragment;
}

/** What a feature's `reads` sees. */
export interface ReadsInput {
  options: InstallOptions;
  facts: HostFacts;
  modules: ServiceModule[];
  web?: Pick<WebInputs, 'program'>;
  watch?: WatchInputsOfCommand;
}

/** A feature beside the services: the files its plan may read, and its piece when this run wants it. */
export interface PlanFeature {
  name: string;
  /** Every package it may ask for on this distro (install asks the package manager about these). */
  candidates?(distro: Distro): string[];
  /** Every file its plan may read (target paths). */
  reads?(r: ReadsInput): string[];
  /** Its piece for this run, or null when not wanted. May throw a usage or plan error (before anything changes). */
  piece(input: PlanInputs, files: FileSnapshot): PlanPiece | null;
}
