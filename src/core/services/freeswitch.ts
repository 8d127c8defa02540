import { setLogAuthFailures } from '../editors/freeswitch-profile.ts';
import { PlanError } from '../../errors.ts';
import type { ServiceFile, ServiceModule } from './types.ts';
import { voipJailKeys } from './voip-jail.ts';
import { freeswitchLogFile, freeswitchSourceCheck } from '../doctor.ts';

/** FreeSWITCH: every sofia profile made to log auth failures; the jail reads freeswitch.log. */
export const freeswitch: ServiceModule = {
  name: 'freeswitch',
  label: 'FreeSWITCH',
  detect: (facts) => facts.services.freeswitch.present,
  filters: ['voip-freeswitch.conf'],
  sharedBanReason: 'sip-auth-failure',
  guard: { window: 2 },
  jails: ['voip-freeswitch'],
  reads: (facts) => facts.services.freeswitch.profiles,
  doctorReads: (facts) => [`${facts.services.freeswitch.configDir}/autoload_configs/switch.conf.xml`, ...facts.services.freeswitch.profiles],
  doctorSource({ facts, logFiles, files }) {
    const f = facts.services.freeswitch;
    const expected = freeswitchLogFile(files.read(`${f.configDir}/autoload_configs/switch.conf.xml`), f.logFile.replace(/\/[^/]*$/, ''));
    const profiles: Record<string, string> = {};
    for (const p of f.profiles) {
      const t = files.read(p);
      if (t !== null) profiles[p] = t;
    }
    return freeswitchSourceCheck(logFiles, expected, profiles);
  },
  plan(ctx) {
    const f = ctx.facts.services.freeswitch;
    const files: ServiceFile[] = [];
    const warnings: string[] = [];
    const manualSteps: string[] = [];
    const changedProfiles: string[] = [];
    for (const p of f.profiles) {
      const current = ctx.files.read(p);
      if (current === null) continue;
      let edited: string;
      try {
        edited = setLogAuthFailures(current).text;
      } catch (err) {
        // A profile we cannot parse is never rewritten: stop before any file is touched.
        throw new PlanError(`cannot edit ${p}: ${(err as Error).message}`, 'fix the XML, or leave FreeSWITCH out with --services');
      }
      files.push({ path: p, text: edited, why: 'FreeSWITCH: log-auth-failures = true', adminOwned: true });
      if (edited !== current) changedProfiles.push(/([^/]+)\.xml$/.exec(p)?.[1] ?? p);
    }
    if (f.profiles.length === 0) warnings.push(`FreeSWITCH: no sofia profiles under ${f.configDir}/sip_profiles; enable log-auth-failures by hand`);
    // log-auth-failures is on (set above), so count=once: an unknown user's request counts once.
    const filter = ctx.options.freeswitchMode === 'aggressive' ? 'voip-freeswitch[mode=aggressive, count=once]' : 'voip-freeswitch[count=once]';
    const after = changedProfiles.length && f.running ? [{ service: 'freeswitch', why: 'reload XML', command: { cmd: 'fs_cli', args: ['-x', 'reloadxml'] } }] : [];
    for (const prof of changedProfiles) {
      manualSteps.push(`FreeSWITCH: restart the sofia profile to log auth failures (drops its calls): fs_cli -x "sofia profile ${prof} restart"`);
    }
    return {
      files,
      ensureFiles: [{ path: f.logFile, why: 'FreeSWITCH log read by the voip-freeswitch jail' }],
      jail: [{ section: 'voip-freeswitch', keys: voipJailKeys(ctx.protocol, filter, [f.logFile]) }],
      jails: ['voip-freeswitch'],
      after,
      warnings,
      manualSteps,
      details: { profiles: f.profiles, log: f.logFile, mode: ctx.options.freeswitchMode },
    };
  },
};
