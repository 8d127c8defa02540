import type { Distro } from './distro.ts';
import type { HostFacts } from '../adapters/facts.ts';
import type { InstallOptions, ServiceName } from './options.ts';
import type { EnsureFile, FileChange, Plan } from './plan.ts';
import { chooseBanaction } from './firewall.ts';
import { getIniValue, setIniValues } from './ini-edit.ts';
import { packageCommands } from './packages.ts';
import { editAsteriskLogger } from './editors/asterisk-logger.ts';
import { setLogAuthFailures } from './editors/freeswitch-profile.ts';
import { insertAuthFailureLog } from './editors/kamailio-cfg.ts';
import { serviceCommandIfPossible } from './services.ts';
import { PlanError } from '../errors.ts';

export const JAIL_LOCAL = '/etc/fail2ban/jail.local';
export const FILTER_DIR = '/etc/fail2ban/filter.d';
export const KAMAILIO_LOG = '/var/log/kamailio.log';
export const KAMAILIO_RSYSLOG_RULE = '/etc/rsyslog.d/40-voip-f2b-kamailio.conf';
export const FILTER_TEMPLATES = ['voip-asterisk.conf', 'voip-freeswitch.conf', 'voip-kamailio.conf'] as const;
export const MAIL_ACTION = '/etc/fail2ban/action.d/voip-f2b-mail.conf';

/** Loopback is always ignored: fail2ban must never ban the machine itself. */
const LOOPBACK = ['127.0.0.1/8', '::1'];

/** Inputs of the pure planner: options, facts, templates and the current text of files. */
export interface PlanInputs {
  options: InstallOptions;
  facts: HostFacts;
  distro: Distro;
  installed: Set<string>;
  repoReady: boolean;
  /** Template path (relative to templates/, e.g. `etc/fail2ban/jail.local`) → text. */
  templates: Record<string, string>;
  /** Target path → current text (null = absent), for every path in filesToRead(). */
  files: Record<string, string | null>;
}

/** Alert addresses and how postfix delivers them. */
function mailSettings(options: InstallOptions, facts: HostFacts): { dest: string; sender: string; delivery: 'local' | 'send-only' } {
  const dest = options.email!;
  const local = /@localhost$/i.test(dest);
  return { dest, sender: options.sender ?? `fail2ban@${facts.mailname}`, delivery: options.mailDelivery ?? (local ? 'local' : 'send-only') };
}

/** The `action` value: the ban, plus our rate-limited mail (with log lines where there is a logpath). */
function mailAction(interval: number, withLogpath: boolean): string {
  const args = ['dest="%(destemail)s"', 'sender="%(sender)s"', ...(withLogpath ? ['logpath="%(logpath)s"'] : []), `interval=${interval}`];
  return `%(action_)s\nvoip-f2b-mail[${args.join(', ')}]`;
}

/** The services to protect: the named ones, else the detected ones. */
export function selectedServices(options: InstallOptions, facts: HostFacts): ServiceName[] {
  if (options.services) return options.services;
  return (['asterisk', 'freeswitch', 'kamailio'] as const).filter((s) => facts.services[s].present);
}

/** Every file the planner may read, so the command can read them all up front. */
export function filesToRead(options: InstallOptions, facts: HostFacts): string[] {
  const s = selectedServices(options, facts);
  const paths = [JAIL_LOCAL, ...FILTER_TEMPLATES.map((f) => `${FILTER_DIR}/${f}`), MAIL_ACTION];
  if (s.includes('asterisk')) paths.push(`${facts.services.asterisk.configDir}/logger.conf`);
  if (s.includes('freeswitch')) paths.push(...facts.services.freeswitch.profiles);
  if (s.includes('kamailio')) paths.push(facts.services.kamailio.configFile, KAMAILIO_RSYSLOG_RULE);
  return paths;
}

function tidy(list: string[]): string[] {
  const out: string[] = [];
  for (const e of list) if (e && !out.includes(e)) out.push(e);
  return out;
}

/** File name of an Asterisk logger.conf channel (`messages` or `messages.log`, …) in [logfiles]. */
function asteriskChannelFile(loggerConf: string, base: 'messages' | 'security'): string {
  let inLogfiles = false;
  for (const line of loggerConf.split(/\r?\n/)) {
    const h = /^\s*\[([^\]]+)\]/.exec(line);
    if (h) inLogfiles = h[1]!.toLowerCase() === 'logfiles';
    const m = inLogfiles ? new RegExp(`^\\s*(${base}(?:\\.log)?)\\s*=>?`, 'i').exec(line) : null;
    if (m) return m[1]!;
  }
  return base;
}

/**
 * Builds the whole install plan from facts and file texts. Pure: same inputs, same plan.
 * Steps: 1 packages, 2 ban action, 3 [DEFAULT], 4 sshd (the Debian 12 trap), 5 services and
 * their jails, 6 the files, 7 what runs after fail2ban is up.
 */
export function buildInstallPlan(input: PlanInputs): Plan {
  const { options, facts, distro, templates, files } = input;
  const warnings: string[] = [];
  const manualSteps: string[] = [];
  const afterCommands: Plan['afterCommands'] = [];
  const ensureFiles: EnsureFile[] = [];
  const changes: FileChange[] = [];
  const services = selectedServices(options, facts);
  const tpl = (p: string): string => {
    const t = templates[p];
    if (t === undefined) throw new Error(`internal: template ${p} is missing`);
    return t;
  };
  const addFile = (path: string, text: string, why: string, mode = 0o644): void => {
    changes.push({ path, before: files[path] ?? null, after: text, mode, why });
  };
  /** Queue a service start/restart for after fail2ban is up, or say how to do it by hand. */
  const after = (service: string, action: 'start' | 'restart', why: string): void => {
    // A package this run installs brings its init script (Debian: postfix → /etc/init.d/postfix).
    const initScripts = [...facts.initScripts, ...(facts.live ? wanted.filter((p) => !input.installed.has(p)) : [])];
    const command = serviceCommandIfPossible({ init: facts.init, initScripts }, service, action);
    if (command) afterCommands.push({ service, why, command });
    else {
      warnings.push(`${service}: no init system or /etc/init.d/${service} script to ${action} it with; ${action} it by hand to ${why}`);
      manualSteps.push(`${action} ${service} to ${why}`);
    }
  };

  // 1-2. Packages and the ban action.
  const ban = chooseBanaction(distro, facts.firewall, options.banaction);
  const wanted = [distro.pkgs.fail2ban];
  if (ban.package) wanted.push(ban.package);
  if (distro.pkgs.pyinotify) wanted.push(distro.pkgs.pyinotify); // instant log reading, fast bans
  const sshOnJournal = facts.journald && !facts.authLogExists;
  if (sshOnJournal && distro.pkgs.pysystemd) wanted.push(distro.pkgs.pysystemd);
  if (options.email && !facts.postfix.installed) wanted.push(distro.pkgs.postfix);
  const pkgCommands = facts.live
    ? packageCommands(distro, wanted, { installed: input.installed, aptListsFresh: facts.aptListsFresh, repoReady: input.repoReady })
    : [];
  const packages = facts.live ? wanted.filter((p) => !input.installed.has(p)) : [];

  // 3. [DEFAULT]: ignoreip is the union of what the file has and what we add, so a run never
  // drops an address an admin whitelisted by hand (that could lock them out).
  let jail = files[JAIL_LOCAL] ?? tpl('etc/fail2ban/jail.local');
  const existingIgnore = (getIniValue(jail, 'DEFAULT', 'ignoreip') ?? '').split(/[\s,]+/);
  const admin = options.protectAdmin && facts.adminAddress ? [facts.adminAddress] : [];
  if (options.protectAdmin && !facts.adminAddress && facts.live) {
    warnings.push('no SSH_CONNECTION in the environment: your own address is not known, so it is not whitelisted (use --whitelist)');
  }
  const ignoreip = tidy([...LOOPBACK, ...existingIgnore, ...options.whitelist, ...admin]);
  const defaults: Array<[string, string]> = [
    ['ignoreip', ignoreip.join(' ')],
    ['bantime', options.bantime],
    ['findtime', options.findtime],
    ['maxretry', String(options.maxretry)],
    ['banaction', ban.banaction],
    ['banaction_allports', ban.banactionAllports],
  ];
  const mail = options.email ? mailSettings(options, facts) : null;
  if (mail) defaults.push(['destemail', mail.dest], ['sender', mail.sender], ['action', mailAction(options.mailInterval, true)]);
  jail = setIniValues(jail, 'DEFAULT', defaults);

  // 4. sshd: Debian's package enables it, and it refuses to start with no auth log.
  const userSshdBackend = getIniValue(files[JAIL_LOCAL] ?? '', 'sshd', 'backend');
  const userSshdLog = getIniValue(files[JAIL_LOCAL] ?? '', 'sshd', 'logpath');
  const jails: string[] = [];
  if (!userSshdBackend && !userSshdLog) {
    if (facts.authLogExists) {
      // The stock setting reads the auth log: nothing to change.
    } else if (facts.journald) {
      jail = setIniValues(jail, 'sshd', [['backend', 'systemd']]);
      jails.push('sshd');
    } else if (distro.family === 'debian' && getIniValue(jail, 'sshd', 'enabled') !== 'false') {
      jail = setIniValues(jail, 'sshd', [['enabled', 'false']]);
      warnings.push(
        facts.rsyslog
          ? `sshd jail disabled: no ${distro.authLog} yet (rsyslog writes it at the first SSH login); re-run once it exists to protect SSH`
          : `sshd jail disabled: no ${distro.authLog} and no journald to read SSH logins from (install rsyslog and re-run to protect SSH)`,
      );
    }
  }

  // 5. Services: make each log what fail2ban needs, and give it a jail.
  const jailKeys = (filter: string, logpath: string[] | null, port = '5060,5061'): Array<[string, string]> => [
    ['enabled', 'true'],
    ['filter', filter],
    ['port', port],
    ['protocol', ban.protocol],
    ['banaction', '%(banaction_allports)s'],
    ...(logpath ? ([['logpath', logpath.join('\n')], ['backend', 'auto']] as Array<[string, string]>) : ([['backend', 'systemd']] as Array<[string, string]>)),
  ];
  for (const name of ['asterisk', 'freeswitch', 'kamailio'] as const) {
    const section = `voip-${name}`;
    if (!services.includes(name)) {
      // A jail we enabled before for a service no longer selected is switched off, not deleted.
      if (getIniValue(jail, section, 'enabled') !== undefined) jail = setIniValues(jail, section, [['enabled', 'false']]);
      continue;
    }
    jails.push(section);
    if (name === 'asterisk') {
      const a = facts.services.asterisk;
      const path = `${a.configDir}/logger.conf`;
      const current = files[path] ?? null;
      const edited = current === null ? tpl('etc/asterisk/logger.conf') : editAsteriskLogger(current).text;
      addFile(path, edited, 'Asterisk: dateformat %F %T, messages and security channels');
      const logs = [`${a.logDir}/${asteriskChannelFile(edited, 'messages')}`, `${a.logDir}/${asteriskChannelFile(edited, 'security')}`];
      for (const l of logs) ensureFiles.push({ path: l, why: 'Asterisk log read by the voip-asterisk jail' });
      jail = setIniValues(jail, section, jailKeys('voip-asterisk', logs));
      if (current !== edited) {
        if (a.running) {
          afterCommands.push({ service: 'asterisk', why: 'apply logger.conf', command: { cmd: 'asterisk', args: ['-rx', 'logger reload'] } });
        } else if (a.present) {
          manualSteps.push('Asterisk: logger.conf changed; it takes effect when Asterisk next starts (or run: asterisk -rx "logger reload")');
        }
      }
    } else if (name === 'freeswitch') {
      const f = facts.services.freeswitch;
      const changedProfiles: string[] = [];
      for (const p of f.profiles) {
        const current = files[p];
        if (current === null || current === undefined) continue;
        let edited: string;
        try {
          edited = setLogAuthFailures(current).text;
        } catch (err) {
          // A profile we cannot parse is never rewritten: stop before any file is touched.
          throw new PlanError(`cannot edit ${p}: ${(err as Error).message}`, 'fix the XML, or leave FreeSWITCH out with --services');
        }
        addFile(p, edited, 'FreeSWITCH: log-auth-failures = true');
        if (edited !== current) changedProfiles.push(/([^/]+)\.xml$/.exec(p)?.[1] ?? p);
      }
      if (f.profiles.length === 0) warnings.push(`FreeSWITCH: no sofia profiles under ${f.configDir}/sip_profiles; enable log-auth-failures by hand`);
      ensureFiles.push({ path: f.logFile, why: 'FreeSWITCH log read by the voip-freeswitch jail' });
      const filter = options.freeswitchMode === 'aggressive' ? 'voip-freeswitch[mode=aggressive]' : 'voip-freeswitch';
      jail = setIniValues(jail, section, jailKeys(filter, [f.logFile]));
      if (changedProfiles.length) {
        if (f.running) afterCommands.push({ service: 'freeswitch', why: 'reload XML', command: { cmd: 'fs_cli', args: ['-x', 'reloadxml'] } });
        for (const prof of changedProfiles) {
          manualSteps.push(`FreeSWITCH: restart the sofia profile to log auth failures (drops its calls): fs_cli -x "sofia profile ${prof} restart"`);
        }
      }
    } else {
      const k = facts.services.kamailio;
      const cfg = files[k.configFile] ?? null;
      if (cfg !== null) {
        const r = insertAuthFailureLog(cfg);
        if (options.kamailioAuthLog) {
          if (r.status === 'no-auth-route') {
            warnings.push(`Kamailio: ${k.configFile} has no stock auth route; add the auth-failure log line by hand (see templates/etc/kamailio/voip-f2b-auth.cfg)`);
          }
          addFile(k.configFile, r.text, 'Kamailio: log authentication failures for fail2ban');
          if (r.text !== cfg && !options.restartKamailio) manualSteps.push('Kamailio: restart kamailio for the auth-failure log line to take effect (or pass --restartkamailio)');
        } else if (r.status === 'inserted') {
          manualSteps.push('Kamailio: auth failures are not logged yet; re-run with --kamailio-auth-log to add the log line to kamailio.cfg');
        }
      }
      // Kamailio logs to syslog: give it a file of its own where rsyslog runs, else read the
      // journal where journald runs, else point at the file and say what is missing.
      let logpath: string[] | null = [KAMAILIO_LOG];
      if (facts.rsyslog) {
        const rule = tpl('etc/rsyslog.d/40-voip-f2b-kamailio.conf');
        addFile(KAMAILIO_RSYSLOG_RULE, rule, `Kamailio: its syslog lines also go to ${KAMAILIO_LOG}`);
        if (files[KAMAILIO_RSYSLOG_RULE] !== rule) after('rsyslog', 'restart', 'load the Kamailio log rule');
      } else if (facts.journald) {
        logpath = null;
      } else if (facts.live) {
        warnings.push(`Kamailio: no syslog daemon runs, so nothing writes ${KAMAILIO_LOG}; install and start rsyslog, then re-run`);
      }
      if (logpath) ensureFiles.push({ path: KAMAILIO_LOG, why: 'Kamailio log read by the voip-kamailio jail' });
      jail = setIniValues(jail, section, jailKeys('voip-kamailio', logpath));
      // A journal jail has no logpath for the mail action to grep: give it its own action line.
      if (mail && !logpath) jail = setIniValues(jail, section, [['action', mailAction(options.mailInterval, false)]]);
      if (options.restartKamailio) after('kamailio', 'restart', '--restartkamailio');
    }
  }
  if (services.length === 0) warnings.push('no Asterisk, FreeSWITCH or Kamailio found: no VoIP jail enabled (name them with --services)');

  // 6. Files: jail.local, then our filters and mail action (copied verbatim from templates).
  changes.unshift({ path: JAIL_LOCAL, before: files[JAIL_LOCAL] ?? null, after: jail, mode: 0o644, why: 'fail2ban settings and jails' });

  // 7. Mail: postfix installed without a dialog, running, and one test mail when settings change.
  if (mail && facts.live) {
    const postfixMissing = !input.installed.has(distro.pkgs.postfix) && !facts.postfix.installed;
    if (postfixMissing && distro.pm === 'apt') {
      const type = mail.delivery === 'local' ? 'Local only' : 'Internet Site';
      pkgCommands.unshift({
        cmd: 'debconf-set-selections',
        args: [],
        input: `postfix postfix/main_mailer_type select ${type}\npostfix postfix/mailname string ${facts.mailname}\n`,
      });
    }
    if (postfixMissing && mail.delivery === 'send-only') {
      // Send-only: deliver alerts to the world, accept nothing from the network.
      afterCommands.push({ service: 'postfix', why: 'listen on loopback only', command: { cmd: 'postconf', args: ['-e', 'inet_interfaces = loopback-only'] } });
    }
    if (!facts.postfix.running) after('postfix', 'start', 'start the mail server');
    if ((files[JAIL_LOCAL] ?? null) !== jail) {
      afterCommands.push({
        service: 'mail',
        why: `test mail to ${mail.dest}`,
        command: {
          cmd: '/usr/sbin/sendmail',
          args: ['-f', mail.sender, mail.dest],
          input: `Subject: [Fail2Ban] voip-f2b-install: test alert from ${facts.mailname}\nFrom: Fail2Ban <${mail.sender}>\nTo: ${mail.dest}\n\nThis is a test: fail2ban on ${facts.mailname} will mail ban alerts to this address\n(at most one mail per jail every ${options.mailInterval} s; bans in between are listed in the next mail).\n`,
        },
      });
    }
  }
  changes.splice(
    1,
    0,
    ...FILTER_TEMPLATES.map((f) => {
      const p = `${FILTER_DIR}/${f}`;
      return { path: p, before: files[p] ?? null, after: tpl(`etc/fail2ban/filter.d/${f}`), mode: 0o644, why: `fail2ban filter ${f.replace(/\.conf$/, '')}` };
    }),
    { path: MAIL_ACTION, before: files[MAIL_ACTION] ?? null, after: tpl('etc/fail2ban/action.d/voip-f2b-mail.conf'), mode: 0o644, why: 'rate-limited mail alert action' },
  );

  return {
    distro: distro.key,
    packages,
    packageCommands: pkgCommands,
    files: changes,
    ensureFiles,
    jails,
    afterCommands,
    manualSteps,
    warnings,
    banaction: ban.banaction,
    ignoreip,
  };
}

