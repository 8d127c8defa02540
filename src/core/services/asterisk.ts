import { editAsteriskLogger } from '../editors/asterisk-logger.ts';
import type { ServiceFragment, ServiceModule } from './types.ts';
import { voipJailKeys } from './voip-jail.ts';
import { asteriskSourceCheck } from '../doctor.ts';

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

/** Asterisk: logger.conf made to log what the filter needs (dateformat, security channel). */
export const asterisk: ServiceModule = {
  name: 'asterisk',
  label: 'Asterisk',
  detect: (facts) => facts.services.asterisk.present,
  filters: ['voip-asterisk.conf'],
  sharedBanReason: 'sip-auth-failure',
  guard: { window: 2 },
  jails: ['voip-asterisk'],
  reads: (facts) => [`${facts.services.asterisk.configDir}/logger.conf`],
  doctorReads: (facts) => [`${facts.services.asterisk.configDir}/logger.conf`],
  doctorSource: ({ facts, logFiles, files }) =>
    asteriskSourceCheck(logFiles, files.read(`${facts.services.asterisk.configDir}/logger.conf`), facts.services.asterisk.logDir),
  plan(ctx): ServiceFragment {
    const a = ctx.facts.services.asterisk;
    const path = `${a.configDir}/logger.conf`;
    const current = ctx.files.read(path);
    const edited = current === null ? ctx.template('etc/asterisk/logger.conf') : editAsteriskLogger(current).text;
    const logs = [`${a.logDir}/${asteriskChannelFile(edited, 'messages')}`, `${a.logDir}/${asteriskChannelFile(edited, 'security')}`];
    const f: Required<Pick<ServiceFragment, 'after' | 'manualSteps'>> = { after: [], manualSteps: [] };
    if (current !== edited) {
      if (a.running) {
        f.after.push({ service: 'asterisk', why: 'apply logger.conf', command: { cmd: 'asterisk', args: ['-rx', 'logger reload'] } });
      } else if (a.present) {
        f.manualSteps.push('Asterisk: logger.conf changed; it takes effect when Asterisk next starts (or run: asterisk -rx "logger reload")');
      }
    }
    return {
      files: [{ path, text: edited, why: 'Asterisk: dateformat %F %T, messages and security channels', adminOwned: true }],
      ensureFiles: logs.map((l) => ({ path: l, why: 'Asterisk log read by the voip-asterisk jail' })),
      // The jail reads both logs: count=once counts each failed request from one of them.
      jail: [{ section: 'voip-asterisk', keys: voipJailKeys(ctx.protocol, 'voip-asterisk[count=once]', logs) }],
      jails: ['voip-asterisk'],
      ...f,
      details: { loggerConf: path, logs },
    };
  },
};
