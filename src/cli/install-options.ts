/**
 * `install`'s options from what commander parsed: each value checked by its flag's parser, the
 * settings named in this run told from the omitted ones, and the services' own flags, declared
 * by their modules (ServiceModule.flags), registered and read here from the registry.
 */
import { Option, type Command } from 'commander';
import type { InstallOptions } from '../core/options.ts';
import { serviceFlags, serviceNames, type ServiceOptions } from '../core/services/index.ts';
import type { ServiceFlag } from '../core/services/types.ts';
import { durationSeconds, parseBanaction, parseCount, parseDuration, parseEmail, parseWhitelist } from '../core/validate.ts';
import { settingKeys } from '../core/settings.ts';
import { parseLapiUrl, parseListen } from '../core/crowdsec.ts';
import { parseWebListen } from '../core/web-service.ts';
import { parseWatchInterval } from '../core/doctor/watch.ts';
import { UsageError } from '../errors.ts';
import { opt } from './env.ts';

/** What commander parsed for one command, by attribute name. */
export type Parsed = Record<string, string | boolean | undefined>;

/** --services: names of registered service modules (src/core/services/index.ts). */
function parseServices(raw: string): string[] {
  const known = serviceNames();
  const out: string[] = [];
  for (const s of raw.split(/[,\s]+/).filter(Boolean)) {
    const name = s.toLowerCase();
    if (!known.includes(name)) {
      throw new UsageError(`invalid --services entry '${s}': expected a comma-separated list of ${known.join(', ')}`);
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** --bantime-max: a duration no shorter than --bantime (a permanent --bantime needs no maximum). */
function parseBantimeMax(raw: string, bantimeRaw: string): string {
  const max = parseDuration('--bantime-max', raw, false);
  const bantime = parseDuration('--bantime', bantimeRaw, true);
  if (bantime !== '-1' && durationSeconds(max) < durationSeconds(bantime)) {
    throw new UsageError(`invalid --bantime-max '${raw}': shorter than --bantime '${bantimeRaw}'; expected a duration of at least the ban time, e.g. 1w`);
  }
  return max;
}

/** The commander attribute names of a service flag's spellings (the flag, then its aliases). */
function spellings(flag: ServiceFlag): string[] {
  const placeholder = flag.flag.includes(' ') ? flag.flag.slice(flag.flag.indexOf(' ')) : '';
  return [flag.flag, ...(flag.aliases ?? []).map((a) => a + placeholder)].map((f) => new Option(f).attributeName());
}

/** Registers every service module's flags on `cmd` (an alias: hidden, named in the flag's help line). */
export function addServiceFlags(cmd: Command): Command {
  for (const { flag } of serviceFlags()) {
    const also = flag.aliases?.length ? ` (also ${flag.aliases.join(', ')})` : '';
    const o = opt(flag.flag, flag.description + also);
    if (flag.choices) o.choices(flag.choices);
    if (flag.default !== undefined) o.default(flag.default);
    cmd.addOption(o);
    const placeholder = flag.flag.includes(' ') ? flag.flag.slice(flag.flag.indexOf(' ')) : '';
    for (const alias of flag.aliases ?? []) {
      const a = opt(alias + placeholder, flag.description).hideHelp();
      if (flag.choices) a.choices(flag.choices);
      cmd.addOption(a);
    }
  }
  return cmd;
}

/**
 * The services' flags' values by option key (the command line before the environment, a flag
 * before its aliases, else the default), and the keys named in this run.
 */
function serviceFlagValues(o: Parsed, cmd: Command): { values: Record<string, unknown>; named: Set<string> } {
  const values: Record<string, unknown> = {};
  const named = new Set<string>();
  for (const { flag } of serviceFlags()) {
    const names = spellings(flag);
    const from = (source: string): string | undefined => names.find((n) => cmd.getOptionValueSource(n) === source && o[n] !== undefined);
    const set = from('cli') ?? from('env');
    if (set !== undefined) named.add(flag.key);
    const raw = set !== undefined ? o[set] : o[names[0]!];
    if (flag.kind === 'boolean') values[flag.key] = raw === true;
    else if (typeof raw === 'string') values[flag.key] = flag.kind === 'value' && flag.parse ? flag.parse(raw) : raw;
  }
  return { values, named };
}

/**
 * `install`'s options from commander's values: each checked by its flag's parser; `given` lists
 * the settings named on the command line or in the environment (the others keep the last run's).
 */
export function installOptionsOf(o: Parsed, cmd: Command): InstallOptions {
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const named = (k: string): boolean => ['cli', 'env'].includes(cmd.getOptionValueSource(k) ?? '');
  const service = serviceFlagValues(o, cmd);
  // The watch is one setting with two flags (--no-watch, --watch-interval).
  const given = settingKeys().filter((k) => named(k) || service.named.has(k) || (k === 'watch' && named('watchInterval')));
  const options: InstallOptions = {
    whitelist: parseWhitelist(str('whitelist')),
    ...(str('services') !== undefined ? { services: parseServices(str('services')!) } : {}),
    // Typed by the registry's ServiceOptions; each module's flag declarations give its keys.
    ...(service.values as unknown as ServiceOptions),
    ...(str('email') ? { email: parseEmail('--email', str('email')!) } : {}),
    ...(str('sender') ? { sender: parseEmail('--sender', str('sender')!) } : {}),
    ...(str('mailDelivery') ? { mailDelivery: str('mailDelivery') as 'local' | 'send-only' } : {}),
    mailInterval: parseCount('--mail-interval', str('mailInterval')!, 0, 86400),
    bantime: parseDuration('--bantime', str('bantime')!, true),
    bantimeIncrement: o.bantimeIncrement !== false,
    // Both named: checked here; else after the last run's settings apply (install).
    bantimeMax: named('bantimeMax') && named('bantime') ? parseBantimeMax(str('bantimeMax')!, str('bantime')!) : parseDuration('--bantime-max', str('bantimeMax')!, false),
    findtime: parseDuration('--findtime', str('findtime')!, false),
    maxretry: parseCount('--maxretry', str('maxretry')!, 1, 1000),
    ...(str('banaction') ? { banaction: parseBanaction(str('banaction')!) } : {}),
    protectAdmin: o.protectAdmin !== false,
    ...crowdsecOptions(str),
    ...(o.doctor === false ? { doctor: false } : {}),
    watch: o.watch === false ? false : { interval: parseWatchInterval(str('watchInterval')!) },
    keepExistingJails: Boolean(o.keepExistingJails),
    ...(o.web === true ? { web: true } : {}),
    ...(str('webListen') !== undefined ? { webListen: parseWebListen(str('webListen')!) } : {}),
    given,
    ...(o.resetSettings ? { resetSettings: true } : {}),
    ...(o.overrideAdminSettings ? { overrideAdminSettings: true } : {}),
    dryRun: Boolean(o.dryRun),
    diff: Boolean(o.diff),
    yes: Boolean(o.yes),
    json: Boolean(o.json),
  };
  if (options.webListen !== undefined && !options.web) throw new UsageError('--web-listen is the address of the web view installed by --web', 'add --web, or drop --web-listen');
  return options;
}

/** The --crowdsec-* options given. */
function crowdsecOptions(str: (k: string) => string | undefined): Partial<InstallOptions> {
  return {
    ...(str('crowdsecLapi') ? { crowdsecLapi: parseLapiUrl(str('crowdsecLapi')!) } : {}),
    ...(str('crowdsecCredentials') ? { crowdsecCredentials: str('crowdsecCredentials')! } : {}),
    ...(str('crowdsecCa') ? { crowdsecCa: str('crowdsecCa')! } : {}),
    ...(str('crowdsecLapiServer') ? { crowdsecLapiServer: parseListen(str('crowdsecLapiServer')!) } : {}),
    ...(str('crowdsecTlsCert') ? { crowdsecTlsCert: str('crowdsecTlsCert')! } : {}),
    ...(str('crowdsecTlsKey') ? { crowdsecTlsKey: str('crowdsecTlsKey')! } : {}),
  };
}
