import { insertAuthFailureLog } from '../editors/kamailio-cfg.ts';
import type { AfterStep, JailEdit, ServiceFile, ServiceModule } from './types.ts';
import { voipJailKeys } from './voip-jail.ts';

export const KAMAILIO_LOG = '/var/log/kamailio.log';
export const KAMAILIO_RSYSLOG_RULE = '/etc/rsyslog.d/40-voip-f2b-kamailio.conf';

/**
 * Kamailio: the auth-failure log line in kamailio.cfg (with --kamailio-auth-log), and its syslog
 * lines in a file of their own where rsyslog runs, else the journal.
 */
export const kamailio: ServiceModule = {
  name: 'kamailio',
  label: 'Kamailio',
  detect: (facts) => facts.services.kamailio.present,
  filters: ['voip-kamailio.conf'],
  sharedBanReason: 'sip-auth-failure-or-flood',
  jails: ['voip-kamailio'],
  reads: (facts) => [facts.services.kamailio.configFile, KAMAILIO_RSYSLOG_RULE],
  plan(ctx) {
    const { options, facts } = ctx;
    const k = facts.services.kamailio;
    const files: ServiceFile[] = [];
    const warnings: string[] = [];
    const manualSteps: string[] = [];
    const after: AfterStep[] = [];
    const cfg = ctx.files.read(k.configFile);
    if (cfg !== null) {
      const r = insertAuthFailureLog(cfg);
      if (options.kamailioAuthLog) {
        if (r.status === 'no-auth-route') {
          warnings.push(`Kamailio: ${k.configFile} has no stock auth route; add the auth-failure log line by hand (see templates/etc/kamailio/voip-f2b-auth.cfg)`);
        }
        files.push({ path: k.configFile, text: r.text, why: 'Kamailio: log authentication failures for fail2ban', adminOwned: true });
        if (r.text !== cfg && !options.restartKamailio) manualSteps.push('Kamailio: restart kamailio for the auth-failure log line to take effect (or pass --restartkamailio)');
      } else if (r.status === 'inserted') {
        manualSteps.push('Kamailio: auth failures are not logged yet; re-run with --kamailio-auth-log to add the log line to kamailio.cfg');
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
    const jail: JailEdit[] = [{ section: 'voip-kamailio', keys: voipJailKeys(ctx.protocol, 'voip-kamailio', logpath) }];
    // A journal jail has no logpath for the mail action to grep: give it its own action line.
    if (ctx.mail && !logpath) jail.push({ section: 'voip-kamailio', keys: [['action', ctx.mailAction(false)]] });
    if (options.restartKamailio) after.push({ service: 'kamailio', action: 'restart', why: '--restartkamailio' });
    return {
      files,
      ensureFiles: logpath ? [{ path: KAMAILIO_LOG, why: 'Kamailio log read by the voip-kamailio jail' }] : [],
      jail,
      jails: ['voip-kamailio'],
      after,
      warnings,
      manualSteps,
      details: { configFile: k.configFile, log: logpath ? KAMAILIO_LOG : 'journal', authLog: options.kamailioAuthLog },
    };
  },
  async question(q) {
    // Offer to insert the auth-failure log line where kamailio.cfg has the stock auth route.
    if (q.options.kamailioAuthLog) return {};
    const file = q.facts.services.kamailio.configFile;
    const cfg = await q.readText(file);
    if (cfg === null || insertAuthFailureLog(cfg).status !== 'inserted') return {};
    const kamailioAuthLog = await q.prompt.confirm({
      message: `Kamailio logs no failed logins yet. Add the voip-f2b log line to route[AUTH] in ${file} (backed up first)?`,
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
