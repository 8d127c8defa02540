import { BEGIN_MARKER, durationSeconds, insertAuthFailureLog, kamailioSubnets, removeOurBlocks } from '../editors/kamailio-cfg.ts';
import type { AfterStep, JailEdit, JailExpectation, ServiceFile, ServiceFlag, ServiceModule } from './types.ts';
import { voipJailKeys } from './voip-jail.ts';
import { kamailioSourceCheck } from './kamailio-doctor.ts';
import { UsageError } from '../../errors.ts';
import { factsOf } from '../probe.ts';
import { KAMAILIO_ABSENT, probeKamailio, type KamailioFacts } from './kamailio-facts.ts';

export const KAMAILIO_LOG = '/var/log/kamailio.log';
export const KAMAILIO_RSYSLOG_RULE = '/etc/rsyslog.d/40-voip-f2b-kamailio.conf';
/** A pike block (stock kamailio.cfg WITH_ANTIFLOOD) is a flood: its own jail bans at the first line. */
export const KAMAILIO_PIKE_JAIL = 'voip-kamailio-pike';
/** Where Debian's init script and systemd unit keep kamailio's PID. */
export const KAMAILIO_PID_FILES = ['/run/kamailio/kamailio.pid', '/var/run/kamailio/kamailio.pid'];
/**
 * Kamailio's own control tool, as Debian's kamailio package ships it: `kamcmd ul.dump` asks the
 * running Kamailio (its ctl module, which the stock kamailio.cfg loads, on its default socket)
 * for the contacts registered in usrloc. Run by the guard as root, so only this fixed path (the
 * guard runs it only while it and its directories are root's alone).
 */
export const KAMAILIO_CONSOLE = '/usr/sbin/kamcmd';

/**
 * Whether Debian's kamailio init script will start kamailio: it sources /etc/default/kamailio
 * and runs only when that sets RUN_KAMAILIO=yes (the package ships it commented out, so
 * `service kamailio restart` prints "failed!" and still exits 0). The last assignment wins.
 */
export function kamailioRunEnabled(defaults: string | null): boolean {
  let v = 'no';
  for (const line of (defaults ?? '').split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?RUN_KAMAILIO=(["']?)([^"'\s#;]*)\1\s*(?:#.*)?$/.exec(line);
    if (m) v = m[2]!;
  }
  return v === 'yes';
}

/** Kamailio's pike block (stock kamailio.cfg, VoipNow) and the auth lines of our kamailio.cfg blocks. */
const KAMAILIO_PIKE_LINE = /pike blocking|Pike block from/;
const KAMAILIO_AUTH_LINE = /voip-f2b: auth (?:failure|throttled) /;

/**
 * What a Kamailio jail is meant to match, by its filter's mode: the pike jail (mode=pike) counts
 * pike blocks and leaves the auth failures to the auth jail (mode=auth), and the other way round.
 */
export function kamailioExpects(filter: string): JailExpectation {
  const mode = /mode\s*=\s*(\w+)/.exec(filter)?.[1] ?? 'all';
  if (mode === 'pike') return { failures: KAMAILIO_PIKE_LINE, skips: [{ why: 'auth failures, counted by the auth jail', line: KAMAILIO_AUTH_LINE }] };
  if (mode === 'auth') return { failures: KAMAILIO_AUTH_LINE, skips: [{ why: 'pike blocks, counted by the pike jail', line: KAMAILIO_PIKE_LINE }] };
  return { failures: new RegExp(`${KAMAILIO_PIKE_LINE.source}|${KAMAILIO_AUTH_LINE.source}`) };
}

/** Kamailio's install options, set by its flags below (InstallOptions has them through the registry's ServiceOptions). */
export interface KamailioOptions {
  /** Restart kamailio once fail2ban is validated and running (what one run does: not a setting). */
  restartKamailio: boolean;
  /** Insert the auth-failure xlog into kamailio.cfg's stock auth route. */
  kamailioAuthLog: boolean;
}

/** Its flags (registered by the CLI from the registry). */
export const KAMAILIO_FLAGS = [
  { flag: '--restartkamailio', aliases: ['--restart-kamailio'], description: 'restart kamailio once fail2ban is validated and running', kind: 'boolean', key: 'restartKamailio' },
  { flag: '--kamailio-auth-log', description: "insert the auth-failure log line into kamailio.cfg's stock auth route", kind: 'boolean', key: 'kamailioAuthLog', setting: true, needsService: 'edits kamailio.cfg' },
] as const satisfies ReadonlyArray<ServiceFlag & { key: keyof KamailioOptions }>;

/**
 * Kamailio: with --kamailio-auth-log, kamailio.cfg logs every failed digest attempt and stops a
 * source past maxretry (src/core/editors/kamailio-cfg.ts), with the jail's own maxretry,
 * findtime and ignoreip; its syslog lines in a file of their own where rsyslog runs, else the
 * journal; an auth jail and a pike jail (maxretry 1) on them. The auth jail has the guard, with
 * offices (an address that logged in, or has a contact in usrloc: 10 x maxretry, in kamailio.cfg
 * as in fail2ban).
 */
export const kamailio: ServiceModule<KamailioFacts> = {
  name: 'kamailio',
  label: 'Kamailio',
  detect: (facts) => factsOf(kamailio, facts).present,
  probe: probeKamailio,
  absent: KAMAILIO_ABSENT,
  filters: ['voip-kamailio.conf'],
  sharedBanReason: 'sip-auth-failure-or-flood',
  flags: KAMAILIO_FLAGS,
  // The auth jail's guard, with offices: registered contacts from usrloc (`kamcmd ul.dump`) and
  // logins (our kamailio.cfg blocks log a source's first successful login of the day). The pike
  // jail has none: a flood is a flood. No pause: Kamailio stops a source itself (our blocks'
  // throttle and count-once), and an office is not held 2 s for each failure of one phone.
  guard: { window: 2, logins: true, jails: ['voip-kamailio'], pause: false },
  registrations: (facts, k = factsOf(kamailio, facts)) => (k.running ? { cmd: KAMAILIO_CONSOLE, args: ['ul.dump'], timeoutMs: 15000 } : null),
  jails: ['voip-kamailio', KAMAILIO_PIKE_JAIL],
  webContext: {
    users: [/\buser=(\S{0,256}) rc=/i], // the voip-f2b auth line
    userAgents: [/\bua=(\S{1,512})/i],
    kinds: [
      [/rc=-2\b/i, 'wrong password'],
      [/rc=-3\b/i, 'unknown user'],
      [/pike/i, 'flood (pike)'],
    ],
  },
  reads: (facts) => [factsOf(kamailio, facts).configFile, KAMAILIO_RSYSLOG_RULE],
  doctorReads: (facts) => [factsOf(kamailio, facts).configFile, KAMAILIO_RSYSLOG_RULE],
  doctorSource: ({ facts, logFiles, files }) =>
    kamailioSourceCheck(logFiles, KAMAILIO_RSYSLOG_RULE, files.read(KAMAILIO_RSYSLOG_RULE), files.read(factsOf(kamailio, facts).configFile), BEGIN_MARKER),
  doctorExpects: (_jail, filter) => kamailioExpects(filter),
  // --restartkamailio (install's hook, checked before anything changes).
  checkOptions: async ({ options, facts, readText }) => {
    if (!options.restartKamailio) return;
    if (!factsOf(kamailio, facts).present) {
      throw new UsageError('--restartkamailio was given but Kamailio is not installed (no /etc/kamailio/kamailio.cfg or /usr/sbin/kamailio)', 'drop --restartkamailio');
    }
    // Debian's init script (no systemd) starts kamailio only with RUN_KAMAILIO=yes, and says
    // "failed!" with exit 0 otherwise: refuse before anything changes rather than "restart" nothing.
    if (facts.live && facts.init !== 'systemd' && facts.init !== 'openrc' && /\bRUN_KAMAILIO\b/.test((await readText('/etc/init.d/kamailio')) ?? '') && !kamailioRunEnabled(await readText('/etc/default/kamailio'))) {
      throw new UsageError(
        '--restartkamailio: /etc/default/kamailio does not set RUN_KAMAILIO=yes, so Debian\'s init script would not start kamailio (it prints "failed!" and exits 0)',
        'once kamailio.cfg is ready, set RUN_KAMAILIO=yes in /etc/default/kamailio and re-run, or drop --restartkamailio',
      );
    }
  },
  plan(ctx) {
    const { options, facts } = ctx;
    const k = factsOf(kamailio, facts);
    const files: ServiceFile[] = [];
    const warnings: string[] = [];
    const manualSteps: string[] = [];
    const after: AfterStep[] = [];
    const cfg = ctx.files.read(k.configFile);
    if (cfg !== null) {
      // Kamailio counts and throttles with fail2ban's own numbers: maxretry, findtime, ignoreip.
      const ignoreip = [...ctx.whitelist];
      const r = insertAuthFailureLog(cfg, { maxretry: options.maxretry, findtimeSeconds: durationSeconds(options.findtime) ?? 600, ignoreip });
      // Our blocks already there are kept in step with the settings on every run, with or
      // without --kamailio-auth-log: they are a copy of maxretry, findtime and ignoreip.
      const ours = removeOurBlocks(cfg) !== cfg;
      if (options.kamailioAuthLog || ours) {
        // Kamailio's is_in_subnet() takes addresses and ranges: a host name cannot be in its list.
        for (const name of ignoreip.filter((e) => kamailioSubnets([e]).length === 0)) {
          warnings.push(`Kamailio: the whitelist entry '${name}' is a host name and Kamailio's list (VOIPF2B_IGNOREIP in ${k.configFile}) takes only addresses and CIDR ranges, so Kamailio may still stop it past maxretry (fail2ban never bans it); whitelist its address to cover both`);
        }
        if (r.noLoginBlock) {
          warnings.push(`Kamailio: an auth_check() block in ${k.configFile}'s route[AUTH] is followed by \`else\`, so no login block was written after it: a source that logs in there is not made an office by Kamailio's throttle (registered phones still are by fail2ban's guard); see templates/etc/kamailio/voip-f2b-auth.cfg to add it by hand`);
        }
        if (r.status === 'no-auth-route') {
          warnings.push(`Kamailio: ${k.configFile} has no stock auth route; add the failed-login blocks by hand (see templates/etc/kamailio/voip-f2b-auth.cfg)`);
        } else if (r.status === 'unsupported') {
          warnings.push(`Kamailio: ${k.configFile} loads htable or ipops under preprocessor conditions the tool cannot mirror; add the failed-login blocks by hand (see templates/etc/kamailio/voip-f2b-auth.cfg)`);
        }
        files.push({ path: k.configFile, text: r.text, why: 'Kamailio: log every failed digest attempt, stop a source past maxretry', adminOwned: true });
        if (r.text !== cfg && !options.restartKamailio) manualSteps.push('Kamailio: restart kamailio for the failed-login logging and throttle to take effect (or pass --restartkamailio)');
      } else if (r.status === 'inserted') {
        manualSteps.push('Kamailio: failed logins are not all logged yet; re-run with --kamailio-auth-log to add the log and throttle blocks to kamailio.cfg');
      }
    }
    // Kamailio logs to syslog: give it a file of its own where rsyslog runs, else read the
    // journal where journald runs, else point at the file and say what is missing.
    let logpath: string[] | null = [KAMAILIO_LOG];
    if (facts.rsyslog) {
      const rule = ctx.template('etc/rsyslog.d/40-voip-f2b-kamailio.conf');
      files.push({ path: KAMAILIO_RSYSLOG_RULE, text: rule, why: `Kamailio: its syslog lines also go to ${KAMAILIO_LOG}`, adminOwned: false });
      if (ctx.files.read(KAMAILIO_RSYSLOG_RULE) !== rule) after.push({ service: 'rsyslog', action: 'restart', why: 'load the Kamailio log rule' });
    } else if (facts.journald) {
      logpath = null;
    } else if (facts.live) {
      warnings.push(`Kamailio: no syslog daemon runs, so nothing writes ${KAMAILIO_LOG}; install and start rsyslog, then re-run`);
    }
    const jail: JailEdit[] = [
      { section: 'voip-kamailio', keys: voipJailKeys(ctx.protocol, 'voip-kamailio[mode=auth]', logpath) },
      { section: KAMAILIO_PIKE_JAIL, keys: [...voipJailKeys(ctx.protocol, 'voip-kamailio[mode=pike]', logpath), ['maxretry', '1']] },
    ];
    // A journal jail has no logpath for the mail action to grep: give it its own action line.
    if (ctx.mail && !logpath) for (const section of ['voip-kamailio', KAMAILIO_PIKE_JAIL]) jail.push({ section, keys: [['action', ctx.mailAction(false)]] });
    // Only a run that changes something restarts it, and kamailio must run afterwards.
    if (options.restartKamailio) {
      after.push({ service: 'kamailio', action: 'restart', why: '--restartkamailio', onlyOnChange: true, verify: { pidFiles: KAMAILIO_PID_FILES, seconds: 10, hint: 'check the configuration with: kamailio -c, and its log in syslog' } });
    }
    return {
      files,
      ensureFiles: logpath ? [{ path: KAMAILIO_LOG, why: 'Kamailio log read by the voip-kamailio jail' }] : [],
      jail,
      jails: ['voip-kamailio', KAMAILIO_PIKE_JAIL],
      after,
      warnings,
      manualSteps,
      details: { configFile: k.configFile, log: logpath ? KAMAILIO_LOG : 'journal', authLog: options.kamailioAuthLog || (cfg !== null && removeOurBlocks(cfg) !== cfg) },
    };
  },
  async question(q) {
    // Offer to insert the auth-failure log line where kamailio.cfg has the stock auth route.
    if (q.options.kamailioAuthLog) return {};
    const file = factsOf(kamailio, q.facts).configFile;
    const cfg = await q.readText(file);
    if (cfg === null || insertAuthFailureLog(cfg).status !== 'inserted') return {};
    const kamailioAuthLog = await q.prompt.confirm({
      message: `Kamailio logs no failed logins yet. Add the voip-f2b log and throttle blocks to route[AUTH] in ${file} (backed up first)?`,
      flag: '--kamailio-auth-log',
      default: true,
    });
    return { kamailioAuthLog };
  },
  uninstall({ facts, paths }) {
    // rsyslog drops our Kamailio rule only when it restarts.
    if (!facts.live || !facts.rsyslog || !paths.includes(KAMAILIO_RSYSLOG_RULE)) return [];
    return [{ service: 'rsyslog', action: 'restart', otherwise: `restart rsyslog by hand: it still writes ${KAMAILIO_RSYSLOG_RULE.replace(/.*\//, '')}'s file until then` }];
  },
};
