import { Command, Option } from 'commander';
import { DEFAULTS, type InstallOptions } from './core/options.ts';
import { serviceNames } from './core/services/index.ts';
import { durationSeconds, parseBanaction, parseCount, parseDuration, parseEmail, parseWhitelist } from './core/validate.ts';
import { UsageError } from './errors.ts';
import { SETTING_KEYS } from './core/settings.ts';
import { parseLapiUrl, parseListen } from './core/crowdsec.ts';
import type { DoctorOptions } from './core/doctor.ts';
import { DEFAULT_LISTEN, DEFAULT_TOKEN_FILE, type WebOptions } from './web/options.ts';
import { DEFAULT_WEB_LISTEN, parseWebListen } from './core/web-service.ts';
import { DEFAULT_WATCH_INTERVAL, WATCH_LINES, parseWatchInterval } from './core/watch.ts';
import type { WatchOptions } from './commands/watch.ts';

declare const __VERSION__: string;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

/** What the entry point runs: one command with its typed options. */
export type Invocation =
  | { command: 'install'; options: InstallOptions; global: GlobalOptions; interactiveFlag?: boolean }
  | { command: 'status'; jail?: string; global: GlobalOptions }
  | { command: 'unban'; ip: string; jail?: string; global: GlobalOptions }
  | { command: 'uninstall'; purgePackages: boolean; dryRun: boolean; yes: boolean; global: GlobalOptions }
  | { command: 'doctor'; options: DoctorOptions; global: GlobalOptions }
  | { command: 'web'; options: WebOptions; global: GlobalOptions }
  | { command: 'watch'; options: WatchOptions; global: GlobalOptions };

export interface GlobalOptions {
  root: string;
  json: boolean;
}

export const EXIT_CODES_HELP = `
Exit codes:
  0    done, or nothing to do
  1    a step failed, every file restored (the command and fail2ban's error are shown); doctor: a jail is broken
  2    bad usage or input (the bad value is named); nothing was changed
  3    unsupported environment (unknown distribution; not root without --dry-run or --root)
  4    install done, but its doctor check found a jail broken (the report says which and the fix)
  130  interrupted at a prompt (Ctrl-C); nothing was changed

Every option has an environment twin: --whitelist is VOIP_F2B_WHITELIST, --dry-run is
VOIP_F2B_DRY_RUN=1, and so on (upper case, dashes as underscores, VOIP_F2B_ prefix).
A yes/no variable is on for 1, true, yes or on and off for 0, false, no, off or empty
(VOIP_F2B_INTERACTIVE=0 never asks). A flag on the command line wins.`;

/** An option with its VOIP_F2B_* environment twin: the long name, upper case, `_` for `-`. */
function opt(flags: string, description: string): Option {
  const long = /--([a-z][a-z-]*)/.exec(flags)![1]!;
  return new Option(flags, description).env(`VOIP_F2B_${long.replace(/-/g, '_').toUpperCase()}`);
}

const ENV_TRUE = /^(?:1|true|yes|on)$/i;
const ENV_FALSE = /^(?:0|false|no|off|)$/i;

/**
 * The value of a yes/no environment twin. Commander treats any value of a boolean option's
 * variable as "set" (so VOIP_F2B_DRY_RUN=0 would mean a dry run); here 1/true/yes/on mean on,
 * 0/false/no/off or empty mean off, and anything else is a usage error naming the variable.
 */
export function parseEnvBoolean(name: string, raw: string): boolean {
  const v = raw.trim();
  if (ENV_TRUE.test(v)) return true;
  if (ENV_FALSE.test(v)) return false;
  throw new UsageError(`invalid ${name}='${raw}': expected 1, true, yes or on (or 0, false, no, off, empty for off)`);
}

/** Yes/no options (no value, or --no-*), whose environment twins we read ourselves. */
function isFlagOption(o: Option): boolean {
  return !o.required && !o.optional;
}

/**
 * Applies the yes/no environment twins of `cmd`'s options that were not given on the command line.
 * `--no-protect-admin` has the twin VOIP_F2B_NO_PROTECT_ADMIN (1 = do not protect, like the
 * flag); its positive form VOIP_F2B_PROTECT_ADMIN (0 = do not protect) is accepted too.
 */
function applyBooleanEnv(cmd: Command, env: Record<string, string | undefined>): void {
  for (const o of cmd.options as Option[]) {
    if (!isFlagOption(o) || !o.envVar) continue;
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) === 'cli') continue;
    let value: boolean | undefined;
    if (env[o.envVar] !== undefined) value = parseEnvBoolean(o.envVar, env[o.envVar]!);
    if (o.negate) {
      const positive = `VOIP_F2B_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
      const negated = value === undefined ? undefined : !value;
      const direct = env[positive] !== undefined ? parseEnvBoolean(positive, env[positive]!) : undefined;
      if (negated !== undefined && direct !== undefined && negated !== direct) {
        throw new UsageError(`${o.envVar}='${env[o.envVar]}' and ${positive}='${env[positive]}' contradict each other`, `set only one of them`);
      }
      value = negated ?? direct;
    }
    if (value !== undefined) cmd.setOptionValueWithSource(key, value, 'env');
  }
}

/** --services: names of registered service modules (src/core/services/index.ts). */
/** --bantime-max: a duration no shorter than --bantime (a permanent --bantime needs no maximum). */
function parseBantimeMax(raw: string, bantimeRaw: string): string {
  const max = parseDuration('--bantime-max', raw, false);
  const bantime = parseDuration('--bantime', bantimeRaw, true);
  if (bantime !== '-1' && durationSeconds(max) < durationSeconds(bantime)) {
    throw new UsageError(`invalid --bantime-max '${raw}': shorter than --bantime '${bantimeRaw}'; expected a duration of at least the ban time, e.g. 1w`);
  }
  return max;
}

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

/**
 * Parses argv (and VOIP_F2B_* variables) into one Invocation. Only definitions and conversion
 * live here; the commands do the work.
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined>): Invocation {
  let result: Invocation | undefined;
  const program = new Command('voip-f2b-install')
    .description('Protect an Asterisk, FreeSWITCH or Kamailio server with stock fail2ban, safely and repeatably.')
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s.split('\n')[0] + '\n') });
  program.addHelpText('after', EXIT_CODES_HELP);

  const globals = (cmd: Command): Command =>
    cmd
      .addOption(opt('--root <dir>', 'treat <dir> as / : read facts and write files there; install no packages, touch no services').default('/'))
      .addOption(opt('--json', 'print one JSON document on stdout (logs go to stderr)'));

  const installCmd = globals(
    program
      .command('install', { isDefault: true })
      .description('install fail2ban and configure it for the VoIP services on this host (the default command)')
      .addOption(opt('--whitelist <list>', 'addresses never to ban: IPv4/IPv6, CIDR or DNS names, comma-separated'))
      .addOption(opt('--services <list>', `services to protect: ${serviceNames().join(',')} (default: the detected ones)`))
      .addOption(opt('--restartkamailio', 'restart kamailio once fail2ban is validated and running'))
      .addOption(opt('--kamailio-auth-log', "insert the auth-failure log line into kamailio.cfg's stock auth route"))
      .addOption(opt('--freeswitch-mode <mode>', 'normal, or aggressive (also counts auth challenges)').choices(['normal', 'aggressive']).default('normal'))
      .addOption(opt('--email <addr>', 'mail ban alerts to this address (installs postfix)'))
      .addOption(opt('--sender <addr>', 'sender address of alert mails (default: fail2ban@<mailname>)'))
      .addOption(opt('--mail-delivery <mode>', 'send-only: postfix mails out, listening on loopback only; local: mail stays on this machine (default: local for @localhost, else send-only)').choices(['send-only', 'local']))
      .addOption(opt('--mail-interval <seconds>', 'at most one alert mail per jail in this many seconds; bans in between are listed in the next mail (0: a mail per ban)').default(String(DEFAULTS.mailInterval)))
      .addOption(opt('--bantime <time>', 'how long a ban lasts (600, 10m, 1h, 1d; -1 = forever)').default(DEFAULTS.bantime))
      .addOption(opt('--bantime-increment', 'repeat offenders: each new ban of an address lasts twice the last one, up to --bantime-max, counted across jails (the default)'))
      .addOption(opt('--no-bantime-increment', 'every ban lasts --bantime, however often the address comes back'))
      .addOption(opt('--bantime-max <time>', 'the longest ban a repeat offender gets (10m, 1h, 1d, 1w)').default(DEFAULTS.bantimeMax))
      .addOption(opt('--findtime <time>', 'window in which failures are counted').default(DEFAULTS.findtime))
      .addOption(opt('--maxretry <n>', 'failures within findtime that cause a ban').default(String(DEFAULTS.maxretry)))
      .addOption(opt('--banaction <name>', 'fail2ban ban action (default: matches the firewall found)'))
      .addOption(opt('--dry-run', "print the plan (files, packages, commands; diffs of the admin's own files) and change nothing"))
      .addOption(opt('--diff', 'show the full unified diff of every file that changes (also the files the tool owns)'))
      .addOption(opt('-y, --yes', 'never prompt; apply the plan'))
      .addOption(opt('--interactive', 'ask the setup questions even when not detected as a terminal'))
      .addOption(opt('--no-protect-admin', "do not whitelist the address of the SSH session running this"))
      .addOption(opt('--crowdsec-lapi <url>', "share bans through this CrowdSec Local API, https:// (push this host's bans, enforce the fleet's); needs --crowdsec-credentials"))
      .addOption(opt('--crowdsec-credentials <file>', "this host's CrowdSec credentials (login:, password:, api_key: lines; readable by root only)"))
      .addOption(opt('--crowdsec-ca <file>', "the CA (PEM) to trust for the LAPI's certificate when it is a private one (the certificate --crowdsec-lapi-server made)"))
      .addOption(opt('--crowdsec-lapi-server <addr:port>', "run the fleet's CrowdSec Local API on this host, listening on <addr:port> over TLS"))
      .addOption(opt('--crowdsec-tls-cert <file>', 'the LAPI\'s own certificate (PEM; default: a self-signed one made at set-up); with --crowdsec-tls-key'))
      .addOption(opt('--crowdsec-tls-key <file>', 'the private key of --crowdsec-tls-cert (PEM, readable by root only)'))
      .addOption(opt('--web', 'also install the web view of jails and bans as a boot service on loopback (systemd unit, else an init script)'))
      .addOption(opt('--web-listen <addr:port>', `where that service listens: a loopback address only (default ${DEFAULT_WEB_LISTEN})`))
      .addOption(opt('--keep-existing-jails', "keep a jail already enabled that counts the same failures as one of ours (a PBX distribution's, an admin's) and do not enable ours; by default ours replaces it (switched off in jail.d/voip-f2b-install-adopted.local, its own file untouched)"))
      .addOption(opt('--no-doctor', 'do not run the compact doctor check after an install that changed something'))
      .addOption(opt('--no-watch', 'do not install the watch (a systemd timer, else a cron entry, that tells you when protection stops working)'))
      .addOption(opt('--watch-interval <time>', 'how often the watch runs: 1m to 30m, or 1h to 24h, dividing an hour or a day').default(DEFAULT_WATCH_INTERVAL))
      .addOption(opt('--override-admin-settings', "let this run replace [DEFAULT] values you had in jail.local before the tool's first run (banaction...) with the tool's own; without it such a change needs its own flag"))
      .addOption(opt('--reset-settings', 'start from the defaults, not from the settings of the last run (flags given still apply)')),
  ).action((o: Record<string, string | boolean | undefined>, cmd: Command) => {
    const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
    // Named on the command line or in the environment: the other settings keep the last run's value.
    const named = (k: string): boolean => ['cli', 'env'].includes(cmd.getOptionValueSource(k) ?? '');
    // The watch is one setting with two flags (--no-watch, --watch-interval).
    const given = SETTING_KEYS.filter((k) => named(k) || (k === 'watch' && named('watchInterval')));
    const options: InstallOptions = {
      whitelist: parseWhitelist(str('whitelist')),
      ...(str('services') !== undefined ? { services: parseServices(str('services')!) } : {}),
      restartKamailio: Boolean(o.restartkamailio),
      kamailioAuthLog: Boolean(o.kamailioAuthLog),
      freeswitchMode: str('freeswitchMode') === 'aggressive' ? 'aggressive' : 'normal',
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
      ...(str('crowdsecLapi') ? { crowdsecLapi: parseLapiUrl(str('crowdsecLapi')!) } : {}),
      ...(str('crowdsecCredentials') ? { crowdsecCredentials: str('crowdsecCredentials')! } : {}),
      ...(str('crowdsecCa') ? { crowdsecCa: str('crowdsecCa')! } : {}),
      ...(str('crowdsecLapiServer') ? { crowdsecLapiServer: parseListen(str('crowdsecLapiServer')!) } : {}),
      ...(str('crowdsecTlsCert') ? { crowdsecTlsCert: str('crowdsecTlsCert')! } : {}),
      ...(str('crowdsecTlsKey') ? { crowdsecTlsKey: str('crowdsecTlsKey')! } : {}),
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
    result = { command: 'install', options, global: { root: str('root')!, json: options.json }, ...(typeof o.interactive === 'boolean' ? { interactiveFlag: o.interactive } : {}) };
  });
  void installCmd;

  globals(program.command('status').description('show jails, counters and banned addresses').argument('[jail]', 'one jail')).action(
    (jail: string | undefined, o: { root: string; json?: boolean }) => {
      result = { command: 'status', ...(jail ? { jail } : {}), global: { root: o.root, json: Boolean(o.json) } };
    },
  );
  globals(
    program
      .command('unban')
      .description('lift a ban')
      .argument('<ip>', 'the banned address')
      .addOption(opt('--jail <name>', 'only in this jail (default: every jail)')),
  ).action((ip: string, o: { root: string; json?: boolean; jail?: string }) => {
    result = { command: 'unban', ip, ...(o.jail ? { jail: o.jail } : {}), global: { root: o.root, json: Boolean(o.json) } };
  });
  globals(
    program
      .command('uninstall')
      .description('restore every file changed by install to its state before the first run')
      .addOption(opt('--purge-packages', 'also remove the packages the tool installed'))
      .addOption(opt('--dry-run', 'show what would be restored and change nothing'))
      .addOption(opt('-y, --yes', 'never prompt; when the restored stock config cannot start (Debian: sshd jail, no auth log), leave the minimal sshd override that lets it start')),
  ).action((o: { root: string; json?: boolean; purgePackages?: boolean; dryRun?: boolean; yes?: boolean }) => {
    result = { command: 'uninstall', purgePackages: Boolean(o.purgePackages), dryRun: Boolean(o.dryRun), yes: Boolean(o.yes), global: { root: o.root, json: Boolean(o.json) } };
  });

  globals(
    program
      .command('doctor')
      .description('check that each active jail reads the live log, matches its failures, and bans in the firewall (exit 1 when a jail is broken; --nagios: 0/1/2/3)')
      .argument('[jail]', 'one jail (default: every active jail)')
      .addOption(opt('--no-ban-test', 'skip the ban round trip (ban and unban a 203.0.113.0/24 test address, seen in the firewall)'))
      .addOption(opt('--lines <n>', 'how many of the last lines of each log the filter is run over').default(String(DEFAULTS.doctorLines)))
      .addOption(opt('--socket <path>', "fail2ban server socket (default: fail2ban's own; with --root, <root>/run/fail2ban/fail2ban.sock)"))
      .addOption(opt('--nagios', 'exit as a Nagios/Icinga plugin: 0 ok, 1 warning, 2 broken, 3 could not check; a status line first')),
  ).action((jail: string | undefined, o: { root: string; json?: boolean; banTest?: boolean; lines: string; socket?: string; nagios?: boolean }) => {
    const options: DoctorOptions = {
      ...(jail ? { jail } : {}),
      banTest: o.banTest !== false,
      lines: parseCount('--lines', o.lines, 1, 100000),
      json: Boolean(o.json),
      ...(o.socket ? { socket: o.socket } : {}),
      ...(o.nagios ? { nagios: true } : {}),
    };
    result = { command: 'doctor', options, global: { root: o.root, json: Boolean(o.json) } };
  });

  globals(
    program
      .command('web')
      .description('serve a web view of jails and bans (loopback only unless TLS is given; a token is needed)')
      .addOption(opt('--listen <host:port>', 'address to listen on (off loopback only with --tls-cert and --tls-key)').default(DEFAULT_LISTEN))
      .addOption(opt('--token-file <path>', 'file holding the access token (created 0600 on first start)').default(DEFAULT_TOKEN_FILE))
      .addOption(opt('--tls-cert <file>', 'TLS certificate (PEM), to serve HTTPS'))
      .addOption(opt('--tls-key <file>', 'TLS private key (PEM)')),
  ).action((o: { root: string; json?: boolean; listen: string; tokenFile: string; tlsCert?: string; tlsKey?: string }) => {
    result = {
      command: 'web',
      options: { listen: o.listen, tokenFile: o.tokenFile, json: Boolean(o.json), ...(o.tlsCert ? { tlsCert: o.tlsCert } : {}), ...(o.tlsKey ? { tlsKey: o.tlsKey } : {}) },
      global: { root: o.root, json: Boolean(o.json) },
    };
  });

  // The watch (issue 23): what the timer or cron runs; by hand, a round every --interval.
  globals(
    program
      .command('watch')
      .description('check, touching nothing, that fail2ban still protects this host; tell a change (syslog, --email, the web view)')
      .addOption(opt('--once', 'one round of checks, then exit (what the timer and cron run)'))
      .addOption(opt('--interval <time>', 'without --once: time between rounds (1m to 30m, 1h to 24h)').default(DEFAULT_WATCH_INTERVAL))
      .addOption(opt('--email <addr>', 'also mail each change to this address (install --email sets it)'))
      .addOption(opt('--sender <addr>', 'sender address of those mails (default: fail2ban@<mailname>)'))
      .addOption(opt('--lines <n>', 'how many of the last lines of each log the filter check reads').default(String(WATCH_LINES))),
  ).action((o: { root: string; json?: boolean; once?: boolean; interval: string; email?: string; sender?: string; lines: string }) => {
    if (o.sender && !o.email) throw new UsageError('--sender is the sender of the watch\'s mails, sent with --email', 'add --email, or drop --sender');
    const email = o.email ? parseEmail('--email', o.email) : undefined;
    const options: WatchOptions = {
      once: Boolean(o.once),
      interval: parseWatchInterval(o.interval),
      ...(email ? { mail: { dest: email, sender: o.sender ? parseEmail('--sender', o.sender) : '' } } : {}),
      lines: parseCount('--lines', o.lines, 1, 100000),
      json: Boolean(o.json),
    };
    result = { command: 'watch', options, global: { root: o.root, json: Boolean(o.json) } };
  });

  // Commander reads option environment twins from process.env; give it ours, less the yes/no
  // twins, which applyBooleanEnv reads (commander would take "0" as yes).
  const flagVars = new Set<string>();
  const collect = (cmd: Command): void => {
    for (const o of cmd.options as Option[]) if (isFlagOption(o) && o.envVar) flagVars.add(o.envVar);
    cmd.commands.forEach(collect);
  };
  collect(program);
  program.hook('preAction', (_program, actionCommand) => applyBooleanEnv(actionCommand, env));
  const saved = process.env;
  process.env = Object.fromEntries(Object.entries(env).filter(([k]) => !flagVars.has(k))) as NodeJS.ProcessEnv;
  try {
    program.parse(argv, { from: 'user' });
  } finally {
    process.env = saved;
  }
  if (!result) throw new UsageError('no command given', "see 'voip-f2b-install --help'");
  return result;
}
