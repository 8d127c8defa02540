import { Command } from 'commander';
import { DEFAULTS, type InstallOptions } from './core/options.ts';
import { serviceNames } from './core/services/index.ts';
import { parseCount, parseEmail } from './core/validate.ts';
import { UsageError } from './errors.ts';
import type { DoctorOptions } from './core/doctor/report.ts';
import { DEFAULT_LISTEN, DEFAULT_TOKEN_FILE, type WebOptions } from './web/options.ts';
import { DEFAULT_WEB_LISTEN } from './core/web-service.ts';
import { DEFAULT_WATCH_INTERVAL, WATCH_LINES, parseWatchInterval } from './core/doctor/watch.ts';
import type { WatchOptions } from './commands/watch.ts';
import { opt, parseWithEnv } from './cli/env.ts';
import { addServiceFlags, installOptionsOf, type Parsed } from './cli/install-options.ts';

export { parseEnvBoolean } from './cli/env.ts';

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
  5    another run of the tool is changing this host (its pid is named); nothing was changed
  130  interrupted at a prompt (Ctrl-C); nothing was changed

Every option has an environment twin: --whitelist is VOIP_F2B_WHITELIST, --dry-run is
VOIP_F2B_DRY_RUN=1, and so on (upper case, dashes as underscores, VOIP_F2B_ prefix).
A yes/no variable is on for 1, true, yes or on and off for 0, false, no, off or empty
(VOIP_F2B_INTERACTIVE=0 never asks). A flag on the command line wins.`;

/** Sets the one Invocation a command's action made. */
type Done = (inv: Invocation) => void;

/** The --root and --json every command takes. */
function globals(cmd: Command): Command {
  return cmd
    .addOption(opt('--root <dir>', 'treat <dir> as / : read facts and write files there; install no packages, touch no services').default('/'))
    .addOption(opt('--json', 'print one JSON document on stdout (logs go to stderr)'));
}

/** `install` (the default command): the core flags, then every service module's own. */
function defineInstall(program: Command, done: Done): void {
  const cmd = program
    .command('install', { isDefault: true })
    .description('install fail2ban and configure it for the VoIP services on this host (the default command)')
    .addOption(opt('--whitelist <list>', 'addresses never to ban: IPv4/IPv6, CIDR or DNS names, comma-separated'))
    .addOption(opt('--services <list>', `services to protect: ${serviceNames().join(',')} (default: the detected ones)`));
  addServiceFlags(cmd);
  globals(
    cmd
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
  ).action((o: Parsed, c: Command) => {
    const options = installOptionsOf(o, c);
    done({ command: 'install', options, global: { root: o.root as string, json: options.json }, ...(typeof o.interactive === 'boolean' ? { interactiveFlag: o.interactive } : {}) });
  });
}

/** `status`, `unban` and `uninstall`. */
function defineJailCommands(program: Command, done: Done): void {
  globals(program.command('status').description('show jails, counters and banned addresses').argument('[jail]', 'one jail')).action(
    (jail: string | undefined, o: { root: string; json?: boolean }) => {
      done({ command: 'status', ...(jail ? { jail } : {}), global: { root: o.root, json: Boolean(o.json) } });
    },
  );
  globals(
    program
      .command('unban')
      .description('lift a ban')
      .argument('<ip>', 'the banned address')
      .addOption(opt('--jail <name>', 'only in this jail (default: every jail)')),
  ).action((ip: string, o: { root: string; json?: boolean; jail?: string }) => {
    done({ command: 'unban', ip, ...(o.jail ? { jail: o.jail } : {}), global: { root: o.root, json: Boolean(o.json) } });
  });
  globals(
    program
      .command('uninstall')
      .description('restore every file changed by install to its state before the first run')
      .addOption(opt('--purge-packages', 'also remove the packages the tool installed'))
      .addOption(opt('--dry-run', 'show what would be restored and change nothing'))
      .addOption(opt('-y, --yes', 'never prompt; when the restored stock config cannot start (a stock jail with no log to read), leave the minimal override that lets it start')),
  ).action((o: { root: string; json?: boolean; purgePackages?: boolean; dryRun?: boolean; yes?: boolean }) => {
    done({ command: 'uninstall', purgePackages: Boolean(o.purgePackages), dryRun: Boolean(o.dryRun), yes: Boolean(o.yes), global: { root: o.root, json: Boolean(o.json) } });
  });
}

/** `doctor` and `web`. */
function defineDoctorAndWeb(program: Command, done: Done): void {
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
    done({ command: 'doctor', options, global: { root: o.root, json: Boolean(o.json) } });
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
    done({
      command: 'web',
      options: { listen: o.listen, tokenFile: o.tokenFile, json: Boolean(o.json), ...(o.tlsCert ? { tlsCert: o.tlsCert } : {}), ...(o.tlsKey ? { tlsKey: o.tlsKey } : {}) },
      global: { root: o.root, json: Boolean(o.json) },
    });
  });
}

/** `watch` (issue 23): what the timer or cron runs; by hand, a round every --interval. */
function defineWatch(program: Command, done: Done): void {
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
    done({ command: 'watch', options, global: { root: o.root, json: Boolean(o.json) } });
  });
}

/**
 * Parses argv (and VOIP_F2B_* variables) into one Invocation. Only definitions and conversion
 * live here; the commands do the work.
 */
export function parseArgs(argv: string[], env: Record<string, string | undefined>): Invocation {
  let result: Invocation | undefined;
  const done: Done = (inv) => {
    result = inv;
  };
  const program = new Command('voip-f2b-install')
    .description('Protect a VoIP server with stock fail2ban, safely and repeatably.')
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s.split('\n')[0] + '\n') });
  program.addHelpText('after', EXIT_CODES_HELP);
  defineInstall(program, done);
  defineJailCommands(program, done);
  defineDoctorAndWeb(program, done);
  defineWatch(program, done);
  parseWithEnv(program, argv, env);
  if (!result) throw new UsageError('no command given', "see 'voip-f2b-install --help'");
  return result;
}
