import type { Command } from '../command.ts';
import type { Whitelist } from '../whitelist.ts';
import type { DoctorCheck } from '../doctor/report.ts';
import type { Distro } from '../distro.ts';
import type { HostFacts } from '../facts.ts';
import type { InstallOptions } from '../options.ts';
import type { EnsureFile } from '../plan.ts';
import type { Prompter } from '../prompter.ts';
import type { ServiceAction } from '../service-control.ts';
import type { ExistingJail } from '../pbx-distro-jails.ts';
import type { HostProbe } from '../probe.ts';
import type { PbxDistro } from '../pbx-distro.ts';

/**
 * The current text of the files the plan may read (null = absent). Reading a path that no
 * module declared in `reads` (and the planner did not declare for itself) throws: a path read
 * but never declared would look absent, be recorded as created, and be deleted by uninstall.
 */
export interface FileSnapshot {
  read(path: string): string | null;
}

/** Alert mail settings, when --email is given. */
export interface MailSettings {
  dest: string;
  sender: string;
  delivery: 'local' | 'send-only';
}

/** What a service module's plan sees. Pure data and pure helpers: no I/O. */
export interface ServicePlanContext {
  options: InstallOptions;
  facts: HostFacts;
  distro: Distro;
  files: FileSnapshot;
  /** A template's text by its path under templates/ (e.g. `etc/asterisk/logger.conf`). */
  template(path: string): string;
  /** jail.local as composed so far: the [DEFAULT] section and the fragments planned before this one. */
  jail: string;
  /** The whitelist of this run, parsed once (fail2ban's ignoreip; src/core/whitelist.ts). */
  whitelist: Whitelist;
  /** The `protocol` value that makes the all-ports ban action cover TCP and UDP. */
  protocol: string;
  mail: MailSettings | null;
  /** The `action` value with our rate-limited mail (a journal jail has no logpath to grep). */
  mailAction(withLogpath: boolean): string;
  /**
   * The jails the host already has, as fail2ban composes them, without the tool's own sections
   * (a section the admin had in jail.local before the tool's first run is theirs, whatever its
   * name). Absent in contexts built by older tests.
   */
  existing?: ExistingJail[];
  /**
   * True when the service was chosen (--services, the checklist, or detected). False for an
   * `implicit` module planned only to keep the distro's own jail working.
   */
  selected: boolean;
}

/** Keys set in one jail.local section, in order. */
export interface JailEdit {
  section: string;
  keys: Array<[string, string]>;
}

/** A file the service manages: the text it should have. */
export interface ServiceFile {
  path: string;
  text: string;
  why: string;
  mode?: number;
  /**
   * True for files the admin owns and we edit (logger.conf, sip profiles, kamailio.cfg): their
   * diff is shown in --dry-run. False for files the tool owns entirely.
   */
  adminOwned: boolean;
}

/** What runs once fail2ban is validated and running. */
export type AfterStep =
  /** A command of the service's own (e.g. `asterisk -rx "logger reload"`). */
  | { service: string; why: string; command: Command }
  /** A start/restart through the init system; a manual step (and a warning) where nothing can drive it. */
  | {
      service: string;
      why: string;
      action: 'start' | 'restart';
      /** Only on a run that changes a file (a re-run then shows and does nothing). */
      onlyOnChange?: boolean;
      /** Afterwards the service must run: a live PID in one of these files within `seconds`. */
      verify?: { pidFiles: string[]; seconds: number; /** Where to look when it does not run. */ hint?: string };
    };

/** One service's part of the install plan. Every field is optional; the planner composes them in order. */
export interface ServiceFragment {
  /** Files it writes, beside jail.local (listed after the tool's filters in the plan). */
  files?: ServiceFile[];
  /** Its jail.local sections, applied in order after [DEFAULT] and the fragments before it. */
  jail?: JailEdit[];
  /** Jails fail2ban must list once it runs. */
  jails?: string[];
  /** Log files that must exist for fail2ban to start (created empty; never removed if written to). */
  ensureFiles?: EnsureFile[];
  after?: AfterStep[];
  warnings?: string[];
  manualSteps?: string[];
  /** What it found the host already had and left as it is (the plan's NOTE lines). */
  notes?: string[];
  /** Its part of the --json report (`protected[].details`). */
  details?: Record<string, unknown>;
}

/** What an interactive question sees: the prompter, the facts, the options so far. */
export interface QuestionContext {
  prompt: Prompter;
  facts: HostFacts;
  options: InstallOptions;
  /** The services chosen in the checklist. */
  services: string[];
  readText(path: string): Promise<string | null>;
}

/**
 * A command-line flag of one service (issue 22: declared by its module, registered by the CLI
 * from SERVICE_MODULES, parsed, persisted and checked by src/core/settings.ts generically). Its
 * environment twin is VOIP_F2B_<LONG NAME>, as for every flag.
 */
export interface ServiceFlag {
  /** The spelling with its value placeholder, as commander takes it: `--freeswitch-mode <mode>`. */
  flag: string;
  /** Other long spellings of the same flag (`--restart-kamailio`), named in the help line. */
  aliases?: string[];
  description: string;
  /** `boolean`: no value (off unless given); `value`: any text `parse` accepts; `choices`: one of `choices`. */
  kind: 'boolean' | 'value' | 'choices';
  choices?: readonly string[];
  /** The install option it sets (a key of the module's own options type, see the registry). */
  key: string;
  /** The value when the flag is not given (a boolean flag: false). */
  default?: string;
  /** A `value` flag's check: the value to keep, or a UsageError naming the flag and what it accepts. */
  parse?(raw: string): string;
  /** A setting: stored after a completed run, kept by the next one when not given (issue 21). */
  setting?: boolean;
  /**
   * Given while the module is neither detected nor chosen, the flag would do nothing: exit 2 with
   * "<flag> [<value>] <this>, and <label> is neither found on this host nor chosen with --services".
   * E.g. `edits kamailio.cfg`. A boolean flag is refused only when on.
   */
  needsService?: string;
}

/** Something uninstall does for a service after the files are restored. */
export interface UninstallStep {
  service: string;
  action: ServiceAction;
  /** Warning shown when the action cannot be done (no init script) or fails. */
  otherwise: string;
}

/** A file uninstall may leave so that fail2ban starts on the restored configuration. */
export interface UninstallRescue {
  /** Why fail2ban cannot start without it (fail2ban's error lines are appended). */
  why: string;
  path: string;
  /** The settings it holds (`[sshd]\nenabled = false\n`), shown and given as the manual fix. */
  settings: string;
  /** The whole file: the settings with a comment saying who left it and why. */
  text: string;
}

/**
 * What one jail is meant to count, for doctor's filter check: the lines of the service that
 * look like failures (in the server's own words, not by our filter) which this jail's filter
 * should match, and the failure-like lines it skips on purpose (another jail counts them, a
 * twin line is counted instead, no password was tried). Doctor warns only when the filter
 * misses lines it is meant to match.
 */
export interface JailExpectation {
  /** A line this jail's filter is meant to match. */
  failures: RegExp;
  /** Failure-like lines skipped on purpose, each with why (shown in doctor's detail). */
  skips?: Array<{ why: string; line: RegExp | ((line: string) => boolean) }>;
}

/**
 * A protected service: everything about it in one object, registered once in
 * src/core/services/index.ts. The planner composes modules; it never names one.
 */
export interface ServiceModule<F = unknown> {
  /** Its name in --services (lower case, no spaces). */
  name: string;
  /** Its name for people (the interactive checklist, messages). */
  label: string;
  /** Chosen by default (no --services) when this returns true: the service is on this host. */
  detect(facts: HostFacts): boolean;
  /**
   * How it is found on this host: its own probes of its own paths, run once while the host's
   * facts are gathered (src/adapters/facts.ts); kept in `facts.services[name]`, read back with
   * factsOf (src/core/probe.ts). Its facts type is declared in its own files.
   */
  probe?(p: HostProbe): Promise<F>;
  /** Its facts on a host without it, where it was not probed (facts built by tests). Needed with `probe`. */
  absent?: F;
  /** The PBX distribution its own files tell (a header the distribution writes), when no marker file does. */
  distroHint?(facts: F): PbxDistro | null;
  /**
   * Set for a module planned on every run, chosen or not (sshd: the distro enables its jail, and
   * fail2ban must still start). Says so in the checklist.
   */
  implicit?: string;
  /** The tool-owned filters it uses (file names under templates/etc/fail2ban/filter.d). */
  filters: string[];
  /**
   * What its jails' bans are, as one plain word in a shared ban's reason (CrowdSec,
   * --crowdsec-lapi: "voip-f2b/<jail>: <this> (<machine>)"). Modules without it share no bans.
   */
  sharedBanReason?: string;
  /**
   * Its jails get the guard action (voip-f2b-guard.py): a source is paused on the jail's ports for
   * `window` seconds after each counted failure, a failure repeating the source, account and
   * Call-ID of one counted within that window counts once, accounts failing from several
   * addresses are defended. For servers that check every guess themselves (Asterisk, FreeSWITCH).
   * `logins`: its jail's logs carry successful logins (Asterisk's SuccessfulAuth events): an
   * address with one in the last day is an office (a higher threshold, see {@link registrations}).
   * `jails`: the jails that get it (default: all its jails; Kamailio's pike jail gets none).
   * `pause: false`: the server stops a failing source itself (Kamailio's throttle): no pause, and
   * so no count-once; every failure counts (accounts under attack and offices as above).
   */
  guard?: { window: number; logins?: boolean; jails?: string[]; pause?: false };
  /**
   * Offices behind one address: the console command (run by the guard every 30 s, never per log
   * line) whose answer lists the addresses with a device registered right now; such an address is
   * banned at 10 x maxretry instead of maxretry. Null when it cannot be run as root (the service
   * does not run, or its program is not root's alone): offices then come from logins only.
   */
  registrations?(facts: HostFacts): Command | null;
  /** The jail sections it enables; switched off (never deleted) once the service is no longer chosen. */
  jails: string[];
  /**
   * Filters (by name) whose jails count the same failures as its jails when they read the same
   * service's logs (FusionPBX's `freeswitch`, the stock `asterisk`): such a jail, enabled by the
   * distribution or the admin, is adopted (switched off by the tool's override, or kept with
   * --keep-existing-jails and this module's jail not enabled), never left counting beside ours.
   */
  adopts?: readonly string[];
  /** Every file its plan reads (target paths); reading any other path throws. */
  reads(facts: HostFacts): string[];
  /** Packages it needs on this host, beside fail2ban (installed in the same transaction). */
  packages?(facts: HostFacts, distro: Distro): string[];
  /** Its fragment of the plan. Pure. */
  plan(ctx: ServicePlanContext): ServiceFragment;
  /** Its command-line flags (install), registered by the CLI from this list. */
  flags?: readonly ServiceFlag[];
  /** Its own interactive question (after the common ones), answering with the flag it names. */
  question?(q: QuestionContext): Promise<Partial<InstallOptions>>;
  /** What uninstall does for it once the files are restored (`paths`: every file the manifest lists). */
  uninstall?(u: { facts: HostFacts; paths: string[] }): UninstallStep[];
  /**
   * uninstall: when fail2ban rejects the restored configuration because of this service's stock
   * jail (`output`: what `fail2ban-client -t` printed), the file that lets fail2ban start, left
   * only with the admin's consent (--yes or the prompt). Null when the output is not about it.
   */
  uninstallRescue?(u: { facts: HostFacts; output: string }): UninstallRescue | null;
  /**
   * doctor on a live host, while the service runs: a command of its own that shows what the
   * RUNNING service logs, and the check of its output (`logFiles`: the files the jail reads).
   */
  doctorLive?(facts: HostFacts): { command: Command; check(stdout: string, logFiles: string[]): DoctorCheck; /** it sends the service a request (a probe) */ sends?: boolean } | null;
  /** doctor: the files {@link doctorSource} reads (target paths). */
  doctorReads?(facts: HostFacts): string[];
  /**
   * doctor: are the files its jail reads (`logFiles`, as fail2ban reports them) the ones this
   * service really writes, and does it log the failures there? Pure.
   */
  doctorSource?(d: { facts: HostFacts; logFiles: string[]; files: FileSnapshot }): DoctorCheck;
  /**
   * doctor: what the jail `jail` with filter `filter` (as jail.local names it, with its
   * arguments: `voip-asterisk[count=once]`) is meant to match and what it skips on purpose. Also
   * asked for jails of the service this module does not own (a stock `asterisk` jail). Pure.
   */
  doctorExpects?(jail: string, filter: string): JailExpectation | null;
  /**
   * doctor, while the service runs: the pid files of its process (target paths). Each log file
   * the jail reads that it WRITES ITSELF (not through syslog) must be open in that process: a
   * log channel not yet reloaded, or a log rotated without telling it, is not.
   */
  doctorWriter?(facts: HostFacts): { pidFiles: string[]; /** the files it writes itself (default: all the jail reads) */ writes?(file: string): boolean; /** how to make it reopen them */ reopen?: string } | null;
  /**
   * doctor: filters (by name, without arguments) of jails it neither owns nor adopts that are
   * still its service's (the distro's `sshd`): doctor checks them with {@link doctorExpects}.
   */
  doctorFilters?: readonly string[];
  /**
   * doctor: the service's part of a fix. `timeStamp`: how it is made to log a time stamp fail2ban
   * reads; `logFile`: the file it logs to, for a jail on the journal where no journald runs.
   */
  doctorFixes?: { timeStamp?: string; logFile?: string };
  /** install, before anything changes: a flag of its own that cannot work on this host is a usage error (thrown). */
  checkOptions?(c: { options: InstallOptions; facts: HostFacts; readText(path: string): Promise<string | null> }): Promise<void>;
  /** The web view: what its log lines tell about an attempt (src/core/web-view.ts composes them). */
  webContext?: WebContextPatterns;
}

/**
 * Patterns that pull the SIP user, the User-Agent and the kind of failure out of a service's log
 * lines, for the web view. Log lines are attacker text: every pattern must run in time linear in
 * the line (bounded quantifiers, no two adjacent ones over the same characters; see
 * src/core/web-view.ts and test/unit/linear-regex.test.ts, which runs each registered pattern).
 */
export interface WebContextPatterns {
  /** Group 1 is the user; the first pattern of any module that matches a line wins. */
  users?: RegExp[];
  /** Group 1 (or 2) is the User-Agent. */
  userAgents?: RegExp[];
  /**
   * Lines that say what kind of failure it was, by kind ('wrong password', 'unknown user', …;
   * the web view's list, src/core/web-view.ts KIND_ORDER, says which kind wins when several match;
   * a kind not in it comes after them).
   */
  kinds?: Array<[RegExp, string]>;
}

