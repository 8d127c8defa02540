import type { Command } from './command.ts';

/** One file the run manages: its text now (null = absent) and the text it should have. */
export interface FileChange {
  path: string;
  before: string | null;
  after: string;
  mode: number;
  /** Why we touch it, shown in the plan. */
  why: string;
  /**
   * The admin's file, edited in place (jail.local, a service's own configuration):
   * its diff is shown in --dry-run. Files the tool owns entirely (its filters) are not.
   */
  adminOwned?: boolean;
  /** Holds a secret (a password, a key): its text is never shown in a diff. */
  secret?: boolean;
  /**
   * Part of a set of files shown as ONE plan line under this name (a directory, e.g. the web
   * view's program): one action for all, no diffs. Each file is still written and journaled.
   */
  group?: string;
}

/** One service module's part of the plan, for the report and --json. */
export interface PlannedService {
  name: string;
  label: string;
  /** Chosen (--services, checklist, detected); false for an implicit module planned anyway. */
  selected: boolean;
  jails: string[];
  files: string[];
  details?: Record<string, unknown>;
}

/** A file that must exist (empty) for fail2ban to start; never removed by uninstall. */
export interface EnsureFile {
  path: string;
  why: string;
}

export type FileAction = 'CREATE' | 'UPDATE' | 'UNCHANGED';

export function fileAction(f: FileChange): FileAction {
  if (f.before === null) return 'CREATE';
  return f.before === f.after ? 'UNCHANGED' : 'UPDATE';
}

/** Everything one install run will do, decided before anything is touched. */
export interface Plan {
  distro: string;
  packages: string[];
  packageCommands: Command[];
  files: FileChange[];
  ensureFiles: EnsureFile[];
  /** Jails fail2ban must list once it runs. */
  jails: string[];
  /** Commands run after fail2ban is validated and running (reloads, a service's restart). */
  afterCommands: Array<{
    command: Command;
    why: string;
    service: string;
    /** After the command: the service must run (a live PID in one of these files) within `seconds`. */
    verify?: { pidFiles: string[]; seconds: number; /** Where to look when it does not run (default: the service's configuration and its log). */ hint?: string };
    /** Work by itself: a run with no file to change still runs it (a service found not running). */
    standalone?: boolean;
  }>;
  /** What the admin must do by hand for a change to take effect. */
  manualSteps: string[];
  warnings: string[];
  banaction: string;
  /** The VoIP jails' action (all ports of a banned address). */
  banactionAllports?: string;
  ignoreip: string[];
  /** Each planned service module, in registry order. */
  services: PlannedService[];
  /** What the host already had and what that changes: the PBX distribution found, the jails adopted. */
  notes?: string[];
  /** install --web: how the web view's service runs and how to reach it (the --json `web` part). */
  web?: Record<string, unknown>;
  /** The watch (issue 23): its interval, what runs it (timer or cron file), its command, state file. */
  watch?: Record<string, unknown>;
}

/** One plan line: a file, or a group of files (FileChange.group) with one action for all. */
export interface PlanLine {
  path: string;
  action: FileAction;
  why: string;
  /** Files in the group (absent for a single file). */
  count?: number;
  /** Files of the group that change. */
  changed?: number;
}

/** The plan's files as lines: each group (in the place of its first file) as one line. */
export function planLines(files: FileChange[]): PlanLine[] {
  const out: PlanLine[] = [];
  const groups = new Map<string, PlanLine>();
  for (const f of files) {
    const action = fileAction(f);
    if (!f.group) {
      out.push({ path: f.path, action, why: f.why });
      continue;
    }
    let g = groups.get(f.group);
    if (!g) {
      g = { path: f.group, action, why: f.why, count: 0, changed: 0 };
      groups.set(f.group, g);
      out.push(g);
    }
    g.count! += 1;
    if (action !== 'UNCHANGED') g.changed! += 1;
    if (g.action !== action) g.action = 'UPDATE';
  }
  for (const g of groups.values()) if (g.changed === 0) g.action = 'UNCHANGED';
  return out;
}

/** Files whose text changes. */
export function changedFiles(plan: Plan): FileChange[] {
  return plan.files.filter((f) => fileAction(f) !== 'UNCHANGED');
}

/** A unified diff of one file change ('' when unchanged). `diff` is loaded only when a diff is shown. */
export async function unifiedDiff(f: FileChange): Promise<string> {
  if (fileAction(f) === 'UNCHANGED') return '';
  if (f.secret) return `--- ${f.before === null ? '/dev/null' : `a${f.path}`}\n+++ b${f.path}\n(contents not shown: the file holds a secret)`;
  const { createTwoFilesPatch } = await import('diff');
  return createTwoFilesPatch(
    f.before === null ? '/dev/null' : `a${f.path}`,
    `b${f.path}`,
    f.before ?? '',
    f.after,
    '',
    '',
    { context: 3 },
  )
    .split('\n')
    .slice(1) // drop the "====" separator line
    .join('\n');
}
