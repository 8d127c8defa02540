/**
 * Settings that persist between runs (issue 21). The options of the last successful install are
 * the baseline of the next: a flag changes a setting, an omitted flag keeps it, `--reset-settings`
 * goes back to the defaults. Pure: the command reads and writes the stored copy (the manifest's
 * `settings` field, see src/adapters/manifest.ts).
 */
import type { InstallOptions } from './options.ts';
import { fail2banSeconds } from './duration.ts';
import { getIniValue } from './ini-edit.ts';
import { durationSeconds, parseBanaction, parseCount, parseDuration, parseEmail, parseWhitelist } from './validate.ts';
import { parseLapiUrl, parseListen } from './crowdsec.ts';
import { parseWebListen } from './web-service.ts';
import { intervalText, parseWatchInterval } from './doctor/watch.ts';
import { serviceFlags, serviceNames, type ServiceOptions } from './services/index.ts';
import type { ServiceFlag } from './services/types.ts';
import { UsageError } from '../errors.ts';

/**
 * Every install option that shapes what is written, with the flag that sets it, less the
 * services' own (their modules' flags with `setting: true`). Not settings: what a run does once
 * (a service's restart flag, --dry-run, --yes, --diff, --json, --no-doctor).
 */
const CORE_SETTING_FLAGS = {
  whitelist: '--whitelist',
  services: '--services',
  email: '--email',
  sender: '--sender',
  mailDelivery: '--mail-delivery',
  mailInterval: '--mail-interval',
  bantime: '--bantime',
  bantimeIncrement: '--bantime-increment',
  bantimeMax: '--bantime-max',
  findtime: '--findtime',
  maxretry: '--maxretry',
  banaction: '--banaction',
  protectAdmin: '--protect-admin',
  crowdsecLapi: '--crowdsec-lapi',
  crowdsecCredentials: '--crowdsec-credentials',
  crowdsecCa: '--crowdsec-ca',
  crowdsecLapiServer: '--crowdsec-lapi-server',
  crowdsecTlsCert: '--crowdsec-tls-cert',
  crowdsecTlsKey: '--crowdsec-tls-key',
  web: '--web',
  webListen: '--web-listen',
  keepExistingJails: '--keep-existing-jails',
  watch: '--watch-interval',
} as const satisfies Partial<Record<keyof InstallOptions, string>>;

type CoreSettingKey = keyof typeof CORE_SETTING_FLAGS;
/**
 * A setting's option key. The services' part is typed as all of ServiceOptions (which also holds
 * flags that are not settings); which keys are settings is the flags' `setting`, at run time. A
 * module outside ServiceOptions (a test-only one) has its settings under their keys, untyped.
 */
export type SettingKey = CoreSettingKey | keyof ServiceOptions;

/** The service flags that are settings, by option key. */
function serviceSettingFlags(): Map<string, ServiceFlag> {
  return new Map(serviceFlags().filter(({ flag }) => flag.setting).map(({ flag }) => [flag.key, flag]));
}

/**
 * The settings' keys: the core's, with the services' (in registry order) after --services. Read
 * from the registry on each call, so a module registered later (a test-only one) counts too.
 */
export function settingKeys(): SettingKey[] {
  const core = Object.keys(CORE_SETTING_FLAGS) as SettingKey[];
  const at = core.indexOf('services') + 1;
  return [...core.slice(0, at), ...([...serviceSettingFlags().keys()] as SettingKey[]), ...core.slice(at)];
}

/** The flag (its long name, no value placeholder) that sets the setting `key`. */
export function settingFlag(key: SettingKey): string {
  if (key in CORE_SETTING_FLAGS) return CORE_SETTING_FLAGS[key as CoreSettingKey];
  const flag = serviceSettingFlags().get(key)?.flag;
  return flag ? flag.split(' ')[0]! : `--${key}`;
}

/** The settings as stored: the options' values for the keys above (unset ones left out). */
export type Settings = Partial<Pick<InstallOptions, SettingKey>>;

/** An option by key, also one of a module the options type does not know (a test-only one). */
function valueOf(options: InstallOptions | Settings, key: string): unknown {
  return (options as Record<string, unknown>)[key];
}

/** The settings of `options` (what a completed run stores). */
export function settingsOf(options: InstallOptions): Settings {
  const out: Record<string, unknown> = {};
  for (const k of settingKeys()) if (valueOf(options, k) !== undefined) out[k] = valueOf(options, k);
  return out as Settings;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** How a setting reads in "kept from the last run: …". */
function show(key: SettingKey, v: unknown): string {
  if (key === 'watch') return v === false ? 'no-watch' : `watch-interval ${intervalText((v as { interval: number }).interval)}`;
  const name = settingFlag(key).slice(2);
  if (typeof v === 'boolean') return `${name} ${v ? 'on' : 'off'}`;
  if (Array.isArray(v)) return `${name} ${v.length ? v.join(',') : '(none)'}`;
  return `${name} ${String(v)}`;
}

/**
 * The options of this run: each setting not given takes its stored value (from the last run,
 * unless `reset`), each given one its flag's value. `options.given` undefined (a caller of the
 * API that passes whole options, the tests' helpers) means every setting is as passed.
 */
export function withStoredSettings(options: InstallOptions, stored: Settings | null, reset: boolean): InstallOptions {
  if (!options.given || !stored || reset) return options;
  const out: Record<string, unknown> = { ...options };
  for (const k of settingKeys()) {
    if (options.given.includes(k)) continue;
    // An omitted flag parses to its default (or unset); the stored value replaces it.
    if (valueOf(stored, k) !== undefined) out[k] = valueOf(stored, k);
  }
  return out as unknown as InstallOptions;
}

/**
 * "kept from the last run" entries: settings not given in this run that hold their stored value,
 * where that differs from what the run would use without it (a kept default is not news).
 */
export function keptSettings(final: InstallOptions, asParsed: InstallOptions, stored: Settings | null, reset: boolean): string[] {
  if (!asParsed.given || !stored || reset) return [];
  const out: string[] = [];
  for (const k of settingKeys()) {
    const kept = valueOf(stored, k);
    if (asParsed.given.includes(k) || kept === undefined) continue;
    if (same(valueOf(final, k), kept) && !same(kept, valueOf(asParsed, k))) out.push(show(k, kept));
  }
  return out;
}

const str = (v: unknown): string => {
  if (typeof v !== 'string') throw new Error('not a string');
  return v;
};
const bool = (v: unknown): boolean => {
  if (typeof v !== 'boolean') throw new Error('not true or false');
  return v;
};
const list = (v: unknown): string[] => {
  if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) throw new Error('not a list of strings');
  return v as string[];
};

/** The check of each core setting's stored value: its flag's own parser. */
const CORE_PARSERS: Record<CoreSettingKey, (v: unknown) => unknown> = {
  whitelist: (v) => parseWhitelist(list(v).join(',')),
  services: (v) => list(v).map((n) => {
    if (!serviceNames().includes(n)) throw new Error(`unknown service '${n}'`);
    return n;
  }),
  email: (v) => parseEmail('--email', str(v)),
  sender: (v) => parseEmail('--sender', str(v)),
  mailDelivery: (v) => {
    if (v !== 'local' && v !== 'send-only') throw new Error('not local or send-only');
    return v;
  },
  mailInterval: (v) => parseCount('--mail-interval', String(v), 0, 86400),
  bantime: (v) => parseDuration('--bantime', str(v), true),
  bantimeIncrement: bool,
  bantimeMax: (v) => parseDuration('--bantime-max', str(v), false),
  findtime: (v) => parseDuration('--findtime', str(v), false),
  maxretry: (v) => parseCount('--maxretry', String(v), 1, 1000),
  banaction: (v) => parseBanaction(str(v)),
  protectAdmin: bool,
  crowdsecLapi: (v) => parseLapiUrl(str(v)),
  crowdsecCredentials: str,
  crowdsecCa: str,
  crowdsecLapiServer: (v) => parseListen(str(v)),
  crowdsecTlsCert: str,
  crowdsecTlsKey: str,
  web: bool,
  webListen: (v) => parseWebListen(str(v)),
  keepExistingJails: bool,
  // --no-watch (false) or the watch's interval in seconds.
  watch: (v) => {
    if (v === false) return false;
    const interval = (v as { interval?: unknown } | null)?.interval;
    if (typeof interval !== 'number') throw new Error('not false or an interval');
    return { interval: parseWatchInterval(String(interval)) };
  },
};

/** The check of a service flag's value, stored or given: by its kind, as the CLI parses it. */
export function parseFlagValue(flag: ServiceFlag, v: unknown): unknown {
  if (flag.kind === 'boolean') return bool(v);
  const text = str(v);
  if (flag.kind === 'choices') {
    if (!flag.choices?.includes(text)) throw new Error(`not ${flag.choices?.join(' or ')}`);
    return text;
  }
  return flag.parse ? flag.parse(text) : text;
}

/** A stored setting's check: the core's parser, or its service flag's. */
function settingParser(key: SettingKey): (v: unknown) => unknown {
  if (key in CORE_PARSERS) return CORE_PARSERS[key as CoreSettingKey];
  const flag = serviceSettingFlags().get(key)!;
  return (v) => parseFlagValue(flag, v);
}

/**
 * The stored settings, each checked by its flag's own parser (the manifest is root's, but what
 * goes into jail.local is checked whatever its source): a value that does not pass is dropped
 * (the default applies) and named in `problems`. A key that is no setting (any more) is ignored.
 */
export function parseStoredSettings(raw: unknown): { settings: Settings; problems: string[] } {
  const settings: Record<string, unknown> = {};
  const problems: string[] = [];
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { settings, problems: raw === undefined ? [] : ['the stored settings are not an object'] };
  const given = raw as Record<string, unknown>;
  for (const k of settingKeys()) {
    if (given[k] === undefined) continue;
    try {
      settings[k] = settingParser(k)(given[k]);
    } catch (err) {
      problems.push(`the stored setting ${settingFlag(k)} (${JSON.stringify(given[k]).slice(0, 80)}) is not valid (${(err as Error).message.split('\n')[0]}): not used`);
    }
  }
  return { settings: settings as Settings, problems };
}

/**
 * The settings an install by an older version (no stored settings) left in jail.local's managed
 * keys, so a plain re-run keeps them: ban and find times, maxretry, repeat offenders, the alert
 * addresses and their interval. A value the tool would not accept as a flag is left out (the
 * default applies, and the plan shows the change).
 */
export function settingsFromJail(jail: string | null, mailname?: string): Settings {
  if (jail === null) return {};
  const out: Settings = {};
  const get = (k: string): string | undefined => getIniValue(jail, 'DEFAULT', k)?.trim();
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch {
      return undefined;
    }
  };
  const bantime = get('bantime');
  if (bantime !== undefined) {
    const v = attempt(() => parseDuration('--bantime', bantime, true));
    if (v !== undefined) out.bantime = v;
  }
  const findtime = get('findtime');
  if (findtime !== undefined) {
    const v = attempt(() => parseDuration('--findtime', findtime, false));
    if (v !== undefined) out.findtime = v;
  }
  const maxretry = get('maxretry');
  if (maxretry !== undefined) {
    const v = attempt(() => parseCount('--maxretry', maxretry, 1, 1000));
    if (v !== undefined) out.maxretry = v;
  }
  const increment = get('bantime.increment');
  if (increment !== undefined && /^(?:true|false)$/i.test(increment)) out.bantimeIncrement = /^true$/i.test(increment);
  const maxtime = get('bantime.maxtime');
  if (maxtime !== undefined) {
    const v = attempt(() => parseDuration('--bantime-max', maxtime, false));
    if (v !== undefined) out.bantimeMax = v;
  }
  const action = get('action') ?? '';
  const dest = get('destemail');
  // Alerts are ours when [DEFAULT]'s action is our rate-limited mail action.
  if (dest !== undefined && /\bvoip-f2b-mail\[/.test(action)) {
    const email = attempt(() => parseEmail('--email', dest));
    if (email !== undefined) out.email = email;
    const sender = get('sender');
    const s = sender !== undefined ? attempt(() => parseEmail('--sender', sender)) : undefined;
    if (s !== undefined && s !== `fail2ban@${mailname}`) out.sender = s;
    const interval = /\binterval=(\d{1,6})\b/.exec(action);
    if (interval && Number(interval[1]) <= 86400) out.mailInterval = Number(interval[1]);
  }
  return out;
}

/** One setting's normalized value, for keys whose spellings can differ (`1d` = `24h` = `86400`). */
const DURATION_KEYS = new Set(['bantime', 'findtime', 'bantime.maxtime', 'dbpurgeage']);
const COUNT_KEYS = new Set(['maxretry']);

/**
 * Whether jail.local's `value` already says what `wanted` says, in another spelling: durations
 * by their seconds, counts by number, ignoreip as a set of entries (order, commas and spacing
 * aside). Then the line is left as it is, and the file is UNCHANGED.
 */
export function sameSetting(key: string, value: string, wanted: string): boolean {
  const k = key.toLowerCase();
  if (value.trim() === wanted.trim()) return true;
  if (DURATION_KEYS.has(k)) {
    const a = fail2banSeconds(value);
    return a !== null && a === fail2banSeconds(wanted);
  }
  if (COUNT_KEYS.has(k)) return /^\s*\d+\s*$/.test(value) && Number(value) === Number(wanted);
  if (k === 'ignoreip') {
    const set = (v: string): string[] => [...new Set(v.split(/[\s,]+/).filter(Boolean).map((e) => e.toLowerCase()))].sort();
    return same(set(value), set(wanted));
  }
  return false;
}

/** `keys` with each value jail.local already has in another spelling replaced by that spelling. */
export function keepEqualSpelling(text: string, section: string, keys: Array<[string, string]>): Array<[string, string]> {
  return keys.map(([k, v]) => {
    const cur = getIniValue(text, section, k);
    return cur !== undefined && sameSetting(k, cur, v) ? [k, cur] : [k, v];
  });
}

/** What this host protects, for the checks below. */
export interface SettingsHost {
  /** Service modules this run plans (selected or detected). */
  services: string[];
  /** The settings of the last run this run started from (null: none, or --reset-settings). */
  stored?: Settings | null;
}

/**
 * A service's flag given while its module is neither detected nor chosen would do nothing: exit 2
 * naming the flag (its value), what it does and the module (its `needsService`). A boolean flag
 * only when on. The flags of this run only: the stored ones are kept for when the service is back.
 */
function checkServiceFlags(o: InstallOptions, host: SettingsHost): void {
  for (const { module, flag } of serviceFlags()) {
    if (!flag.needsService || host.services.includes(module.name) || !o.given?.includes(flag.key as SettingKey)) continue;
    const value = valueOf(o, flag.key);
    if (flag.kind === 'boolean' && value !== true) continue;
    const name = flag.flag.split(' ')[0]!;
    const shown = flag.kind === 'boolean' ? name : `${name} ${String(value)}`;
    throw new UsageError(`${shown} ${flag.needsService}, and ${module.label} is neither found on this host nor chosen with --services`, `drop ${name}, or add ${module.name} to --services`);
  }
}

/**
 * Flags that would do nothing on this host (exit 2, one line with the reason, before anything
 * changes), checked on the options after the stored settings are applied, for the flags given in
 * this run.
 */
export function checkSettings(o: InstallOptions, host: SettingsHost): void {
  // Whole options from the API (no `given`) are taken as they are.
  const named = (k: SettingKey): boolean => (o.given ? o.given.includes(k) : false);
  if (!o.email) {
    const mailFlags = (['sender', 'mailDelivery', 'mailInterval'] as const).filter((k) => named(k));
    if (mailFlags.length) {
      const f = settingFlag(mailFlags[0]!);
      throw new UsageError(`${f} only shapes ban alert mails, and no --email is set (none given, none kept from the last run)`, `add --email <addr>, or drop ${f}`);
    }
  }
  checkServiceFlags(o, host);
  if (named('bantimeMax') && !o.bantimeIncrement) {
    throw new UsageError('--bantime-max caps the growing bans of repeat offenders, which --no-bantime-increment turns off', 'drop --bantime-max, or drop --no-bantime-increment');
  }
  if (named('webListen') && !o.web) {
    throw new UsageError('--web-listen is the address of the web view installed by --web', 'add --web, or drop --web-listen');
  }
  // Kept and given values together: the longest ban is no shorter than a ban.
  if ((named('bantime') || named('bantimeMax')) && o.bantime !== '-1' && durationSeconds(o.bantimeMax) < durationSeconds(o.bantime)) {
    const from = (k: SettingKey): string => (named(k) ? '' : host.stored?.[k] !== undefined ? ' (kept from the last run)' : ' (the default)');
    throw new UsageError(`invalid --bantime-max '${o.bantimeMax}'${from('bantimeMax')}: shorter than --bantime '${o.bantime}'${from('bantime')}; expected a duration of at least the ban time, e.g. 1w`);
  }
}

/** The setting (flag) that changes each [DEFAULT] key the tool writes (ignoreip: a union, see adminDefaults). */
const DEFAULT_KEY_SETTING: Record<string, SettingKey> = {
  ignoreip: 'whitelist',
  bantime: 'bantime',
  findtime: 'findtime',
  maxretry: 'maxretry',
  banaction: 'banaction',
  banaction_allports: 'banaction',
  destemail: 'email',
  sender: 'sender',
  action: 'email',
  'bantime.increment': 'bantimeIncrement',
  'bantime.maxtime': 'bantimeMax',
  'bantime.overalljails': 'bantimeIncrement',
};

/**
 * Keys of ours that bans do not need: an admin's value is kept (and said in the plan) rather than
 * refused. `bantime.overalljails` only makes bans in other jails count for the growing ban.
 */
const KEEP_THEIRS = new Set(['bantime.overalljails']);

/** The flag and value that keep the admin's `value` of `key`, when the flag accepts it. */
function keepYours(key: string, value: string): string | null {
  const v = value.trim();
  try {
    if (key === 'banaction') return `--banaction ${parseBanaction(v)}`;
    if (key === 'bantime') return `--bantime ${parseDuration('--bantime', v, true)}`;
    if (key === 'findtime') return `--findtime ${parseDuration('--findtime', v, false)}`;
    if (key === 'bantime.maxtime') return `--bantime-max ${parseDuration('--bantime-max', v, false)}`;
    if (key === 'maxretry') return `--maxretry ${parseCount('--maxretry', v, 1, 1000)}`;
    if (key === 'bantime.increment' && /^(?:true|false)$/i.test(v)) return /^true$/i.test(v) ? '--bantime-increment' : '--no-bantime-increment';
  } catch {
    return null;
  }
  return null;
}

/** What the [DEFAULT] composition does with the admin's own values. */
export interface AdminDefaults {
  /** The keys to write: ours, less the admin's kept ones (KEEP_THEIRS). */
  keys: Array<[string, string]>;
  /** Plan notes: the admin's values kept, and each replaced by a flag of this run ("yours 600 → 1h (--bantime)"). */
  notes: string[];
}

/**
 * The admin's own [DEFAULT] values (issue 21, "touch only what we manage"): a key jail.local had
 * before the tool's first run (`original`) that still holds that value (`current`), or one the
 * admin changed since the tool last wrote jail.local (`edited`, lower case), is the admin's. Where ours (`keys`) differs: a flag of this run that sets it (or
 * --override-admin-settings) is a deliberate change, named in the plan; a key bans do not need
 * keeps theirs; any other is refused (exit 2, nothing changed) naming the key, both values and
 * the flags that decide. Options without `given` (the API's whole options) are all deliberate.
 */
export function adminDefaults(original: string | null, current: string, keys: Array<[string, string]>, o: InstallOptions, edited: readonly string[] = []): AdminDefaults {
  if (original === null && !edited.length) return { keys, notes: [] };
  const out: Array<[string, string]> = [];
  const kept: string[] = [];
  const notes: string[] = [];
  const refused: Array<{ key: string; theirs: string; ours: string; keep: string | null }> = [];
  for (const [key, ours] of keys) {
    const now = getIniValue(current, 'DEFAULT', key);
    // The admin's: as jail.local had it before the tool's first run, or changed since the tool last wrote it.
    const theirs = edited.includes(key.toLowerCase()) ? now : original === null ? undefined : getIniValue(original, 'DEFAULT', key);
    const setting = DEFAULT_KEY_SETTING[key];
    // Not the admin's: a key they did not have, or one an earlier run changed.
    if (theirs === undefined || now === undefined || setting === undefined || !sameSetting(key, now, theirs)) {
      out.push([key, ours]);
      continue;
    }
    const shown = (v: string): string => (v.includes('\n') ? v.trim().split('\n').map((l) => l.trim()).join(' / ') : v.trim());
    if (sameSetting(key, now, ours)) {
      kept.push(`${key} ${shown(now)}`);
      out.push([key, ours]);
      continue;
    }
    if (key === 'ignoreip') {
      // A union: theirs stays, the whitelist and loopback are added (never rewritten, never shrunk).
      const mine = new Set(now.split(/[\s,]+/).filter(Boolean));
      const added = ours.split(/[\s,]+/).filter((e) => e && !mine.has(e));
      notes.push(`[DEFAULT] ignoreip: yours kept, ${added.join(' ')} added (loopback and the whitelist; nothing of yours is removed)`);
      out.push([key, ours]);
      continue;
    }
    const flag = o.given === undefined ? null : o.given.includes(setting) ? settingFlag(setting) : o.overrideAdminSettings ? '--override-admin-settings' : null;
    if (o.given === undefined || flag) {
      notes.push(`[DEFAULT] ${key}: yours ${shown(now)} → ${shown(ours)}${flag ? ` (${flag})` : ''}`);
      out.push([key, ours]);
    } else if (KEEP_THEIRS.has(key)) {
      notes.push(`[DEFAULT] ${key}: yours ${shown(now)} kept (ours, ${shown(ours)}, is not needed for the bans; --override-admin-settings takes it)`);
    } else {
      refused.push({ key, theirs: shown(now), ours: shown(ours), keep: keepYours(key, now) });
    }
  }
  if (refused.length) {
    const what = refused.map((r) => `[DEFAULT] ${r.key} is yours (${r.theirs}) and ours would be ${r.ours}`).join('; ');
    const keeps = refused.map((r) => r.keep).filter((k): k is string => k !== null);
    throw new UsageError(
      `jail.local: ${what}; the tool does not rewrite your own values without being asked`,
      `${keeps.length ? `keep yours with ${[...new Set(keeps)].join(' ')}, or ` : ''}take ours with --override-admin-settings`,
    );
  }
  if (kept.length) notes.unshift(`[DEFAULT] values of yours kept as they are: ${kept.join(', ')}`);
  return { keys: out, notes };
}

/**
 * [DEFAULT] keys of ours that a jail.d/*.local file sets too: fail2ban reads those after
 * jail.local, so their value applies, not ours. The file is the admin's (or a distribution's)
 * and is left as it is; the plan says which value applies. `texts`: the jail.d files, the tool's
 * own left out.
 */
export function laterDefaults(texts: Array<{ path: string; text: string }>, keys: Array<[string, string]>): { notes: string[]; warnings: string[] } {
  const notes: string[] = [];
  const warnings: string[] = [];
  const first = (v: string): string => v.trim().split('\n')[0]!;
  for (const { path, text } of texts) {
    if (!/\/jail\.d\/[^/]+\.local$/.test(path)) continue;
    for (const [key, ours] of keys) {
      const theirs = getIniValue(text, 'DEFAULT', key);
      if (theirs === undefined || sameSetting(key, theirs, ours)) continue;
      if (key === 'ignoreip') {
        // Their list replaces ours: an address of the whitelist missing there can be banned.
        const listed = new Set(theirs.split(/[\s,]+/).filter(Boolean));
        const missing = ours.split(/[\s,]+/).filter((e) => e && !listed.has(e));
        if (missing.length) warnings.push(`${path} sets [DEFAULT] ignoreip, read after jail.local: ${missing.join(' ')} of our whitelist are not ignored (the file is left as it is; add them there)`);
        continue;
      }
      notes.push(`${path} sets [DEFAULT] ${key} = ${first(theirs)}, read after jail.local: that value applies, not ${first(ours)} (the file is left as it is; change it there)`);
    }
  }
  return { notes, warnings };
}

/** The settings each [DEFAULT] key of jail.local gives settingsFromJail. */
const JAIL_KEY_SETTING: Record<string, SettingKey> = { bantime: 'bantime', findtime: 'findtime', maxretry: 'maxretry', 'bantime.increment': 'bantimeIncrement', 'bantime.maxtime': 'bantimeMax' };

/**
 * The settings of the [DEFAULT] keys the admin changed in jail.local since the tool last wrote
 * it (`edited`, lower case): the baseline for those, so an omitted flag keeps the admin's edit.
 */
export function settingsFromEdits(jail: string | null, edited: readonly string[]): Settings {
  const all = settingsFromJail(jail);
  const out: Record<string, unknown> = {};
  for (const key of edited) {
    const k = JAIL_KEY_SETTING[key];
    if (k && all[k] !== undefined) out[k] = all[k];
  }
  return out as Settings;
}
