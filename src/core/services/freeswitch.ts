import { setLogAuthFailures } from '../editors/freeswitch-profile.ts';
import { PlanError } from '../../errors.ts';
import { sipProfilesGenerated } from '../pbx-distro.ts';
import type { ServiceFile, ServiceFlag, ServiceModule } from './types.ts';
import { voipJailKeys } from './voip-jail.ts';
import { freeswitchLogFile, freeswitchSourceCheck } from './freeswitch-doctor.ts';
import { sofiaProfileName } from './freeswitch-conf.ts';
import { FREESWITCH_PROBE_JS, freeswitchProbeCheck } from './freeswitch-probe.ts';
import type { Command } from '../command.ts';
import { factsOf } from '../probe.ts';
import { FREESWITCH_ABSENT, probeFreeswitch, type FreeswitchFacts } from './freeswitch-facts.ts';

type FsConsole = NonNullable<FreeswitchFacts['console']>;

/**
 * A command on the running FreeSWITCH's console: its own fs_cli, on the event socket of
 * event_socket.conf.xml. Never with `-p`: fs_cli's own password (its default, or its configuration
 * file) is used, so the event socket's password is on no command line, in no plan and no report.
 */
function fsCli(c: FsConsole & { fsCli: string }, command: string): Command {
  return { cmd: c.fsCli, args: ['-H', c.host, '-P', String(c.port), '-x', command], timeoutMs: 15000 };
}

/**
 * What makes the RUNNING profiles log auth failures once their XML says so (measured on
 * FreeSWITCH 1.10.12): `reloadxml`, then `sofia profile <name> rescan` re-reads the profile's
 * settings, log-auth-failures included, without a restart (no call is dropped, no registration
 * lost). Where fs_cli cannot be run as root, the exact manual step and why.
 */
function applyToRunning(f: FreeswitchFacts, names: string[]): { after: Array<{ service: string; why: string; command: Command }>; manualSteps: string[]; warnings: string[] } {
  const manual = `fs_cli -x reloadxml; ${names.map((n) => `fs_cli -x "sofia profile ${n} rescan"`).join('; ')}`;
  if (!names.length) return { after: [], manualSteps: [], warnings: [] };
  if (!f.running) return { after: [], manualSteps: [], warnings: [] }; // read when FreeSWITCH starts
  const c = f.console;
  if (!c?.fsCli) {
    return { after: [], warnings: [], manualSteps: [`FreeSWITCH runs, but its fs_cli (beside its program) is not root's alone, or not found: not run as root; run yourself: ${manual} (no call is dropped); until then its profiles log no failed password`] };
  }
  const con = { ...c, fsCli: c.fsCli };
  return {
    after: [
      { service: 'freeswitch', why: 'reload its XML', command: fsCli(con, 'reloadxml') },
      ...names.map((n) => ({ service: 'freeswitch', why: `sofia profile ${n}: log auth failures (rescan, no call dropped)`, command: fsCli(con, `sofia profile ${n} rescan`) })),
    ],
    manualSteps: [],
    warnings: c.defaultPassword
      ? []
      : [`FreeSWITCH: the event socket's password is not fs_cli's default; fs_cli must find it in its own configuration (~/.fs_cli_conf), as the tool never puts it on a command line. If the rescan below fails, run: fs_cli -p <password> -x reloadxml, then the rescans`],
  };
}

/** The profile with log-auth-failures set, or the text itself when it cannot be parsed (only compared, never written). */
function setLogAuthFailuresSafe(text: string): string {
  try {
    return setLogAuthFailures(text).text;
  } catch {
    return text;
  }
}

/** FreeSWITCH's install options, set by its flags below (InstallOptions has them through the registry's ServiceOptions). */
export interface FreeswitchOptions {
  /** `aggressive`: the jail also counts auth challenges. */
  freeswitchMode: 'normal' | 'aggressive';
}

/** Its flags (registered by the CLI from the registry). */
export const FREESWITCH_FLAGS = [
  { flag: '--freeswitch-mode <mode>', description: 'normal, or aggressive (also counts auth challenges)', kind: 'choices', choices: ['normal', 'aggressive'], default: 'normal', key: 'freeswitchMode', setting: true, needsService: 'shapes the FreeSWITCH jail' },
] as const satisfies ReadonlyArray<ServiceFlag & { key: keyof FreeswitchOptions }>;

/** FreeSWITCH: every sofia profile made to log auth failures; the jail reads freeswitch.log. */
export const freeswitch: ServiceModule<FreeswitchFacts> = {
  name: 'freeswitch',
  label: 'FreeSWITCH',
  detect: (facts) => factsOf(freeswitch, facts).present,
  probe: probeFreeswitch,
  absent: FREESWITCH_ABSENT,
  filters: ['voip-freeswitch.conf'],
  flags: FREESWITCH_FLAGS,
  sharedBanReason: 'sip-auth-failure',
  guard: { window: 2 },
  // network_ip of each registration: the address its REGISTER came from.
  registrations: (facts, f = factsOf(freeswitch, facts)) => (f.running && f.console?.fsCli ? fsCli({ ...f.console, fsCli: f.console.fsCli }, 'show registrations as json') : null),
  jails: ['voip-freeswitch'],
  webContext: {
    users: [
      / for \[([^[\]@]{0,256})(?:@[^[\]]{0,256})?\] from ip /i, // SIP auth failure ... for [USER@domain]
      /Can't find user \[([^\]@]{0,256})/i,
    ],
    kinds: [
      [/Can't find user/i, 'unknown user'],
      [/auth failure/i, 'auth failure'],
      [/auth challenge/i, 'auth challenge'],
    ],
  },
  // fail2ban's stock filter, and FusionPBX's `freeswitch` and `sip-auth-failure` (SIP auth failure lines).
  adopts: ['freeswitch', 'sip-auth-failure'],
  reads: (facts) => factsOf(freeswitch, facts).profiles,
  doctorReads: (facts, f = factsOf(freeswitch, facts)) => [`${f.configDir}/autoload_configs/switch.conf.xml`, ...f.profiles],
  // doctor, while FreeSWITCH runs: a wrong password to each running profile must reach the log the jail reads.
  doctorLive: (facts) => {
    const f = factsOf(freeswitch, facts);
    const c = f.console;
    if (!f.running || !c?.fsCli) return null;
    // node runs the fixed probe script (data, not a shell string): the same runtime as this tool.
    const command: Command = { cmd: process.execPath, args: ['-e', FREESWITCH_PROBE_JS, c.fsCli, c.host, String(c.port), f.logFile], timeoutMs: 30000 };
    return { command, check: (out, logFiles) => freeswitchProbeCheck(out, logFiles), sends: true };
  },
  // A failed digest in FreeSWITCH's words (normal and aggressive mode both match it).
  doctorExpects: () => ({ failures: /SIP auth failure/ }),
  doctorSource({ facts, logFiles, files }) {
    const f = factsOf(freeswitch, facts);
    const expected = freeswitchLogFile(files.read(`${f.configDir}/autoload_configs/switch.conf.xml`), f.logFile.replace(/\/[^/]*$/, ''));
    const profiles: Record<string, string> = {};
    for (const p of f.profiles) {
      const t = files.read(p);
      if (t !== null) profiles[p] = t;
    }
    return freeswitchSourceCheck(logFiles, expected, profiles);
  },
  plan(ctx) {
    const f = factsOf(freeswitch, ctx.facts);
    const files: ServiceFile[] = [];
    const warnings: string[] = [];
    const manualSteps: string[] = [];
    const changedProfiles: string[] = [];
    // FusionPBX rewrites sip_profiles/<name>.xml from its database each time a profile is saved:
    // an edit there would be lost without a word, so the setting is the admin's to make there.
    const generated = ctx.facts.pbx && sipProfilesGenerated(ctx.facts.pbx.distro.id) ? ctx.facts.pbx.distro.label : null;
    for (const p of f.profiles) {
      const current = ctx.files.read(p);
      if (current === null) continue;
      if (generated) {
        if (/<profile\b/.test(current) && setLogAuthFailuresSafe(current) !== current) {
          const name = sofiaProfileName(current, p);
          warnings.push(`FreeSWITCH: sofia profile ${name} does not log auth failures, and ${generated} rewrites ${p} from its database, so it is not edited`);
          manualSteps.push(`${generated}: Advanced > SIP Profiles > ${name}: set log-auth-failures to true, Save, then restart the profile (until then its failed passwords reach no log)`);
        }
        continue;
      }
      let edited: string;
      try {
        edited = setLogAuthFailures(current).text;
      } catch (err) {
        // A profile we cannot parse is never rewritten: stop before any file is touched.
        throw new PlanError(`cannot edit ${p}: ${(err as Error).message}`, 'fix the XML, or leave FreeSWITCH out with --services');
      }
      files.push({ path: p, text: edited, why: 'FreeSWITCH: log-auth-failures = true', adminOwned: true });
      if (edited !== current) changedProfiles.push(sofiaProfileName(current, p));
    }
    if (f.profiles.length === 0) warnings.push(`FreeSWITCH: no sofia profiles under ${f.configDir}/sip_profiles; enable log-auth-failures by hand`);
    // log-auth-failures is on (set above), so count=once: an unknown user's request counts once.
    const filter = ctx.options.freeswitchMode === 'aggressive' ? 'voip-freeswitch[mode=aggressive, count=once]' : 'voip-freeswitch[count=once]';
    const live = applyToRunning(f, changedProfiles);
    warnings.push(...live.warnings);
    manualSteps.push(...live.manualSteps);
    return {
      files,
      ensureFiles: [{ path: f.logFile, why: 'FreeSWITCH log read by the voip-freeswitch jail' }],
      jail: [{ section: 'voip-freeswitch', keys: voipJailKeys(ctx.protocol, filter, [f.logFile]) }],
      jails: ['voip-freeswitch'],
      after: live.after,
      warnings,
      manualSteps,
      details: { profiles: f.profiles, log: f.logFile, mode: ctx.options.freeswitchMode },
    };
  },
};
