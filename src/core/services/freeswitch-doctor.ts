/** FreeSWITCH's part of doctor: the log it writes and whether it logs failed logins. */
import type { DoctorCheck } from '../doctor/report.ts';

/** FreeSWITCH's log file from switch.conf.xml's log-dir (default given) + freeswitch.log. */
export function freeswitchLogFile(switchConf: string | null, defaultDir: string): string {
  const dir = /<param\s+name="log-dir"\s+value="([^"$]+)"/.exec(switchConf ?? '')?.[1] ?? defaultDir;
  return `${dir.replace(/\/$/, '')}/freeswitch.log`;
}

export function freeswitchSourceCheck(logFiles: string[], expected: string, profiles: Record<string, string>): DoctorCheck {
  const name = 'FreeSWITCH writes this log';
  const problems: string[] = [];
  if (!logFiles.includes(expected)) problems.push(`FreeSWITCH writes ${expected}, the jail reads ${logFiles.join(', ')}`);
  const off = Object.entries(profiles)
    .filter(([, text]) => !/<param\s+name="log-auth-failures"\s+value="true"/.test(text))
    .map(([p]) => p);
  if (problems.length) return { name, verdict: 'broken', detail: problems.join('; '), fix: `point the jail at ${expected} (run voip-f2b-install again)` };
  if (off.length) return { name, verdict: 'warning', detail: `log-auth-failures is not true in ${off.join(', ')}: failures there are not logged`, fix: 'run voip-f2b-install again, then restart those sofia profiles' };
  return { name, verdict: 'ok', detail: `FreeSWITCH writes ${expected}; log-auth-failures is on in every profile` };
}
