/**
 * The jails a host already has (the distribution's, the admin's, the fail2ban package's jail.d
 * defaults) as fail2ban itself composes them, and which of them count the same failures as one
 * of the tool's jails. Pure: texts in, decisions out.
 *
 * fail2ban reads jail.conf, jail.d/*.conf, jail.local, jail.d/*.local, in that order (each .d in
 * name order); for one jail the last value of a key wins, else [DEFAULT]'s, and `%(name)s` is
 * replaced by the jail's or [DEFAULT]'s value (the paths-*.conf files jail.conf includes hold
 * the log paths: `%(asterisk_log)s`).
 */
import { getIniValue, listIniSections } from './ini-edit.ts';

export const JAIL_DIR = '/etc/fail2ban/jail.d';
/**
 * The tool's own override: read after jail.local, it switches off the jails the tool's jails
 * adopt; their own files stay untouched. Removed by uninstall like every file the tool created.
 */
export const ADOPTED_JAILS = `${JAIL_DIR}/voip-f2b-install-adopted.local`;

export interface ExistingJail {
  name: string;
  enabled: boolean;
  /** The filter's name, without its arguments (`freeswitch` of `freeswitch[mode=extra]`). */
  filter: string;
  /** The files it reads (globs as written; empty for a journal jail). */
  logpaths: string[];
  /** The last file that set its `enabled` (else the first that has the section). */
  file: string;
  /** Every file that has its section, in fail2ban's order. */
  files: string[];
}

/** One file of fail2ban's configuration. */
export interface ConfigText {
  path: string;
  text: string;
}

/** The jail files fail2ban reads, in its order, from the names found in jail.d. */
export function jailFileOrder(jailDNames: string[]): string[] {
  const sorted = [...jailDNames].sort();
  return [
    '/etc/fail2ban/jail.conf',
    ...sorted.filter((n) => n.endsWith('.conf')).map((n) => `${JAIL_DIR}/${n}`),
    '/etc/fail2ban/jail.local',
    ...sorted.filter((n) => n.endsWith('.local')).map((n) => `${JAIL_DIR}/${n}`),
  ];
}

const NOT_JAILS = new Set(['DEFAULT', 'INCLUDES', 'Definition', 'Init', 'KNOWN']);

/** The keys of one section in file order (a lossless reader keeps every key; the last wins). */
function sectionKeys(text: string, section: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const key of ['enabled', 'filter', 'logpath', 'backend', 'port', 'mode']) {
    const v = getIniValue(text, section, key);
    if (v !== undefined) out.set(key, v);
  }
  return out;
}

/** Every `key = value` of [DEFAULT] (for interpolation): the names used as `%(name)s`. */
function defaultsOf(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^\[DEFAULT\][^\n]*\n([\s\S]*?)(?=^\[|(?![\s\S]))/gm)) {
    for (const k of m[1]!.matchAll(/^([A-Za-z_][\w.-]*)\s*[=:]/gm)) {
      const v = getIniValue(text, 'DEFAULT', k[1]!);
      if (v !== undefined) out.set(k[1]!, v);
    }
  }
  return out;
}

/** The paths-*.conf chain a jail.conf includes (`before = paths-debian.conf`, which includes paths-common.conf), innermost first. */
function includedPaths(jailConf: string | null, files: Map<string, string>): string[] {
  const chain: string[] = [];
  let text = jailConf;
  for (let depth = 0; depth < 4 && text; depth++) {
    const before = getIniValue(text, 'INCLUDES', 'before');
    if (!before) break;
    const p = `/etc/fail2ban/${before.trim().split(/\s+/)[0]}`;
    if (chain.includes(p) || !files.has(p)) break;
    chain.unshift(p);
    text = files.get(p)!;
  }
  return chain;
}

function interpolate(value: string, own: Map<string, string>, defaults: Map<string, string>, name: string): string {
  let v = value;
  for (let i = 0; i < 10 && /%\((\w[\w.-]*)\)s/.test(v); i++) {
    v = v.replace(/%\((\w[\w.-]*)\)s/g, (_m, k: string) => (k === '__name__' ? name : (own.get(k) ?? defaults.get(k) ?? '')));
  }
  return v;
}

const TRUE = /^(?:true|yes|on|1)$/i;

/**
 * The jails fail2ban would compose from `files` (its jail files and the paths-*.conf files, by
 * target path; absent files are left out), leaving out `skipFiles` (the tool's own override)
 * and, in jail.local, the sections named in `skipJailLocal` (the tool's own jails there; a
 * section of that name in another file, a distribution's, still counts).
 */
export function existingJails(files: ConfigText[], o: { skipFiles?: string[]; skipJailLocal?: string[] } = {}): ExistingJail[] {
  const byPath = new Map(files.map((f) => [f.path, f.text]));
  const jailConf = byPath.get('/etc/fail2ban/jail.conf') ?? null;
  const defaults = new Map<string, string>();
  for (const p of includedPaths(jailConf, byPath)) for (const [k, v] of defaultsOf(byPath.get(p)!)) defaults.set(k, v);
  const jailNames = new Set(files.map((f) => f.path).filter((p) => p === '/etc/fail2ban/jail.conf' || p === '/etc/fail2ban/jail.local' || p.startsWith(`${JAIL_DIR}/`)));
  const order = jailFileOrder(files.filter((f) => f.path.startsWith(`${JAIL_DIR}/`)).map((f) => f.path.slice(JAIL_DIR.length + 1))).filter(
    (p) => jailNames.has(p) && !(o.skipFiles ?? []).includes(p),
  );
  const jails = new Map<string, { keys: Map<string, string>; file: string; files: string[] }>();
  for (const p of order) {
    const text = byPath.get(p)!;
    for (const [k, v] of defaultsOf(text)) defaults.set(k, v);
    for (const section of listIniSections(text)) {
      if (NOT_JAILS.has(section) || (p === '/etc/fail2ban/jail.local' && (o.skipJailLocal ?? []).includes(section))) continue;
      const j = jails.get(section) ?? { keys: new Map<string, string>(), file: p, files: [] };
      const keys = sectionKeys(text, section);
      for (const [k, v] of keys) j.keys.set(k, v);
      if (keys.has('enabled') || !jails.has(section)) j.file = p;
      if (!j.files.includes(p)) j.files.push(p);
      jails.set(section, j);
    }
  }
  return [...jails].map(([name, j]) => {
    const get = (k: string): string | undefined => {
      const v = j.keys.get(k) ?? defaults.get(k);
      return v === undefined ? undefined : interpolate(v, j.keys, defaults, name);
    };
    const filter = (get('filter') ?? name).trim();
    return {
      name,
      enabled: TRUE.test(get('enabled') ?? 'false'),
      filter: filter.replace(/\[[\s\S]*$/, '').trim(),
      logpaths: (get('logpath') ?? '')
        .split('\n')
        .map((l) => l.trim().replace(/\s+(?:head|tail)$/, ''))
        .filter(Boolean),
      file: j.file,
      files: j.files,
    };
  });
}

/** The directory of a log path (a glob's directory as written). */
function dirOf(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

/**
 * True when `theirs` counts the failures one of our jails counts: its filter is one that
 * matches the same lines (`filters`), and it reads the same service's logs (a path of ours, or
 * one in the same directory: Asterisk's `messages` and FreePBX's `fail2ban` channel carry the
 * same failures).
 */
export function sameFailures(theirs: ExistingJail, filters: readonly string[], ourLogs: readonly string[]): boolean {
  if (!filters.includes(theirs.filter)) return false;
  if (!ourLogs.length || !theirs.logpaths.length) return ourLogs.length === 0 && theirs.logpaths.length === 0;
  const dirs = new Set(ourLogs.map(dirOf));
  return theirs.logpaths.some((l) => ourLogs.includes(l) || dirs.has(dirOf(l)));
}

/** An enabled jail of someone else's that one of ours replaces (or, kept, stands in for). */
export interface Adoption {
  ours: string;
  theirs: ExistingJail;
}

/** The override file's text: each adopted jail switched off, with why. */
export function renderAdoptedJails(adopted: Adoption[]): string {
  const out = [
    '# Written by voip-f2b-install: jails that count the same failures as its own jails, switched',
    '# off here (read after jail.local); their own files are left as they are. Removed by',
    '# `voip-f2b-install uninstall`. To keep them instead: voip-f2b-install --keep-existing-jails',
  ];
  for (const a of adopted) {
    out.push('', `[${a.theirs.name}]`, `# replaced by [${a.ours}] (same failures on ${a.theirs.logpaths.join(', ') || 'the journal'}; set in ${a.theirs.file})`, 'enabled = false');
  }
  return `${out.join('\n')}\n`;
}

/**
 * Groups of enabled jails that count the same failures, for doctor: filters of one kind (the
 * same filter, or one of `equivalent`'s groups) on the same service's logs (a shared path or
 * directory, as {@link sameFailures}).
 */
export function duplicateJails(jails: ExistingJail[], equivalent: ReadonlyArray<readonly string[]> = []): ExistingJail[][] {
  const kind = (f: string): string => equivalent.find((g) => g.includes(f))?.[0] ?? f;
  const groups: ExistingJail[][] = [];
  const enabled = jails.filter((j) => j.enabled);
  const seen = new Set<string>();
  const shareLogs = (a: ExistingJail, b: ExistingJail): boolean =>
    (a.logpaths.length === 0 && b.logpaths.length === 0) || a.logpaths.some((l) => b.logpaths.some((m) => m === l || dirOf(m) === dirOf(l)));
  for (const a of enabled) {
    if (seen.has(a.name)) continue;
    const group = [a, ...enabled.filter((b) => b !== a && !seen.has(b.name) && kind(b.filter) === kind(a.filter) && shareLogs(a, b))];
    if (group.length > 1) {
      for (const j of group) seen.add(j.name);
      groups.push(group);
    }
  }
  return groups;
}

/** doctor's line for one group of duplicate jails. */
export function duplicateJailsWarning(group: ExistingJail[]): string {
  const logs = [...new Set(group.flatMap((j) => j.logpaths))];
  return `duplicate jails: ${group.map((j) => `[${j.name}] (${j.file})`).join(' and ')} count the same failures on ${logs.join(', ') || 'the journal'}: each failure is counted ${group.length} times (${group.length} bans, ${group.length} mails); keep one (voip-f2b-install adopts such jails when it runs again; --keep-existing-jails keeps theirs)`;
}
