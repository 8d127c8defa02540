import { editAsteriskLogger } from '../editors/asterisk-logger.ts';
import type { JailExpectation, ServiceFragment, ServiceModule } from './types.ts';
import { voipJailKeys } from './voip-jail.ts';
import { asteriskSourceCheck, asteriskTwinned, type DoctorCheck } from '../doctor.ts';
import type { Command } from '../command.ts';

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

/** A command on the running Asterisk's console through its own program (`-C`: its asterisk.conf, so its astrundir). */
function asteriskConsole(binary: string, configDir: string, command: string): Command {
  return { cmd: binary, args: ['-C', `${configDir}/asterisk.conf`, '-rx', command], timeoutMs: 15000 };
}

/**
 * doctor on a live host: the channels of the RUNNING logger (`logger show channels`) must write
 * every log the jail reads; logger.conf saying so is not enough (a change not yet reloaded).
 */
export function asteriskLiveCheck(out: string, logFiles: string[]): DoctorCheck {
  const name = 'the running Asterisk writes these logs';
  const channels = new Map<string, string>();
  for (const m of out.matchAll(/^(\/\S+)\s+File\s+\S+\s+Enabled\s+-\s+(.*)$/gm)) channels.set(m[1]!, m[2]!.trim());
  const missing = logFiles.filter((f) => !channels.has(f));
  if (!missing.length) return { name, verdict: 'ok', detail: logFiles.map((f) => `${f} (${channels.get(f)})`).join(', ') };
  return {
    name,
    verdict: 'broken',
    detail: `Asterisk runs but its logger writes no ${missing.join(', ')}: failures there are never seen (its file channels: ${[...channels.keys()].join(', ') || 'none'})`,
    fix: 'asterisk -rx "logger reload" (after voip-f2b-install has set logger.conf)',
  };
}

/** Asterisk's own words for a failed login or a refused request (doctor: what its jails should match). */
const ASTERISK_FAILURES =
  /Wrong password|No matching peer found|Username\/auth name mismatch|failed to authenticate|tried to authenticate with nonexistent user|failed MD5 authentication|failed to pass IP ACL|No matching endpoint found|Failed to authenticate|SecurityEvent="(?:InvalidPassword|ChallengeResponseFailed|InvalidAccountID|FailedACL)"|rejected because extension not found/;

/**
 * What an Asterisk jail is meant to match. With count=once (both logs, as the tool sets it up) a
 * failed request is counted once, so the filter skips on purpose the messages-log twin of a
 * security event, and PJSIP's InvalidAccountID (written for every request naming no endpoint,
 * an OPTIONS ping or a first REGISTER: no password was tried).
 */
export function asteriskExpects(filter: string): JailExpectation {
  if (!/count\s*=\s*once/.test(filter)) return { failures: ASTERISK_FAILURES };
  return {
    failures: ASTERISK_FAILURES,
    skips: [
      { why: 'messages-log twin of a security event, counted once from the security log', line: asteriskTwinned },
      { why: 'PJSIP InvalidAccountID, no password tried', line: (l) => l.includes('SecurityEvent="InvalidAccountID"') && l.includes('Service="PJSIP"') },
    ],
  };
}

/** Asterisk: logger.conf made to log what the filter needs (dateformat, security channel). */
export const asterisk: ServiceModule = {
  name: 'asterisk',
  label: 'Asterisk',
  detect: (facts) => facts.services.asterisk.present,
  filters: ['voip-asterisk.conf'],
  sharedBanReason: 'sip-auth-failure',
  guard: { window: 2, logins: true },
  // The source address of a contact where rewrite_contact is on (FreePBX's default); without it
  // the URI the phone claims. Logins (SuccessfulAuth's RemoteAddress) cover phones behind NAT.
  registrations: ({ services: { asterisk: a } }) => (a.running && a.binary ? asteriskConsole(a.binary, a.configDir, 'pjsip show contacts') : null),
  jails: ['voip-asterisk'],
  reads: (facts) => [`${facts.services.asterisk.configDir}/logger.conf`],
  doctorReads: (facts) => [`${facts.services.asterisk.configDir}/logger.conf`],
  doctorLive: ({ services: { asterisk: a } }) =>
    a.running && a.binary ? { command: asteriskConsole(a.binary, a.configDir, 'logger show channels'), check: asteriskLiveCheck } : null,
  doctorSource: ({ facts, logFiles, files }) =>
    asteriskSourceCheck(logFiles, files.read(`${facts.services.asterisk.configDir}/logger.conf`), facts.services.asterisk.logDir),
  doctorExpects: (_jail, filter) => asteriskExpects(filter),
  // Its file channels stay open in the process (logger.c): a channel not yet reloaded is not.
  doctorWriter: ({ services: { asterisk: a } }) =>
    a.running ? { pidFiles: [`${a.runDir ?? '/var/run/asterisk'}/asterisk.pid`], writes: (f) => f.startsWith(`${a.logDir.replace(/\/$/, '')}/`) } : null,
  plan(ctx): ServiceFragment {
    const a = ctx.facts.services.asterisk;
    const path = `${a.configDir}/logger.conf`;
    const current = ctx.files.read(path);
    const edited = current === null ? ctx.template('etc/asterisk/logger.conf') : editAsteriskLogger(current).text;
    const logs = [`${a.logDir}/${asteriskChannelFile(edited, 'messages')}`, `${a.logDir}/${asteriskChannelFile(edited, 'security')}`];
    const f: Required<Pick<ServiceFragment, 'after' | 'manualSteps'>> = { after: [], manualSteps: [] };
    if (current !== edited) {
      // The running Asterisk (found by its astrundir's pid file and control socket) reloads its
      // logger through its own program: protected from the moment the tool says done.
      if (a.running && a.binary) {
        f.after.push({ service: 'asterisk', why: 'apply logger.conf', command: asteriskConsole(a.binary, a.configDir, 'logger reload') });
      } else if (a.running) {
        f.manualSteps.push(`Asterisk runs, but its program is not root's alone (or not found): not run as root; reload its logger yourself (asterisk -rx "logger reload"), until then failures reach no log the jail reads`);
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
