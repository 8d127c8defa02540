/** Kamailio's part of doctor: the rsyslog rule that copies its lines to the file the jail reads. */
import type { DoctorCheck } from '../doctor/report.ts';

/** The file an rsyslog rule sends Kamailio's lines to (`… then /var/log/kamailio.log`). */
export function rsyslogTarget(rule: string | null): string | null {
  return /\bthen\s+-?(\/\S+)/.exec(rule ?? '')?.[1] ?? null;
}

export function kamailioSourceCheck(logFiles: string[], rulePath: string, rule: string | null, cfg: string | null, authLogMarker: string): DoctorCheck {
  const name = 'Kamailio writes this log';
  const target = rsyslogTarget(rule);
  if (!logFiles.length) return { name, verdict: 'ok', detail: 'the jail reads the journal, where Kamailio logs through syslog' };
  if (rule === null) return { name, verdict: 'broken', detail: `no rsyslog rule ${rulePath}: nothing copies Kamailio's syslog lines to ${logFiles.join(', ')}`, fix: 'run voip-f2b-install again (it writes the rule), then restart rsyslog' };
  if (!target || !logFiles.includes(target)) return { name, verdict: 'broken', detail: `${rulePath} writes ${target ?? 'no file'}, the jail reads ${logFiles.join(', ')}`, fix: 'run voip-f2b-install again, then restart rsyslog' };
  if (cfg !== null && !cfg.includes(authLogMarker)) {
    return { name, verdict: 'warning', detail: `rsyslog writes ${target}, but kamailio.cfg does not log authentication failures: only pike blocks are seen`, fix: 'run voip-f2b-install --kamailio-auth-log and restart kamailio' };
  }
  return { name, verdict: 'ok', detail: `rsyslog (${rulePath}) writes Kamailio's lines to ${target}` };
}
