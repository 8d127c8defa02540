/** Asterisk's part of doctor: the files its logger.conf really writes, and the twin lines count=once skips. */
import type { DoctorCheck } from '../doctor/report.ts';

/**
 * The files Asterisk writes, from logger.conf's [logfiles] channels (a file channel is any name
 * other than console/syslog.*) under astlogdir. Each with its levels.
 */
export function asteriskLogChannels(loggerConf: string, astlogdir: string): { file: string; levels: string[] }[] {
  const out: { file: string; levels: string[] }[] = [];
  let section = '';
  for (const raw of loggerConf.split(/\r?\n/)) {
    const line = raw.replace(/;.*$/, '').trim();
    const h = /^\[([^\]]+)\]/.exec(line);
    if (h) {
      section = h[1]!.toLowerCase();
      continue;
    }
    if (section !== 'logfiles') continue;
    const m = /^([^=\s]+)\s*=>?\s*(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!;
    if (name === 'console' || name.startsWith('syslog.')) continue;
    const levels = m[2]!.replace(/^\[[^\]]*\]/, '').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    out.push({ file: name.startsWith('/') ? name : `${astlogdir.replace(/\/$/, '')}/${name}`, levels });
  }
  return out;
}

/** The check that a jail reads the files Asterisk's logger.conf really writes. */
export function asteriskSourceCheck(logFiles: string[], loggerConf: string | null, astlogdir: string): DoctorCheck {
  const name = 'Asterisk writes these logs';
  if (loggerConf === null) {
    return { name, verdict: 'warning', detail: 'no logger.conf found: cannot tell which files Asterisk writes', fix: 'run voip-f2b-install again (it creates logger.conf)' };
  }
  const channels = asteriskLogChannels(loggerConf, astlogdir);
  const written = new Set(channels.map((c) => c.file));
  const notWritten = logFiles.filter((f) => !written.has(f));
  const notice = channels.filter((c) => logFiles.includes(c.file) && c.levels.some((l) => l === 'notice' || l === '*'));
  const problems: string[] = [];
  if (notWritten.length) problems.push(`logger.conf has no channel for ${notWritten.join(', ')} (its file channels: ${[...written].join(', ') || 'none'})`);
  if (!notice.length) problems.push('no file the jail reads gets the notice level, where Asterisk logs failed registrations');
  if (!problems.length) return { name, verdict: 'ok', detail: `logger.conf channels: ${channels.filter((c) => logFiles.includes(c.file)).map((c) => `${c.file} (${c.levels.join(',')})`).join(', ')}` };
  return { name, verdict: 'broken', detail: problems.join('; '), fix: 'run voip-f2b-install again (it sets the messages and security channels), then: asterisk -rx "logger reload"' };
}

/**
 * Asterisk lines that have a twin in the security log: with `voip-asterisk[count=once]` (a jail
 * reading both logs) the filter counts the security event and deliberately skips these. Each is
 * a head, then (anywhere after it) a fixed tail: the regex `head.*tail` found with indexOf, as a
 * `.*` between two markers backtracks over the line once per head an attacker repeats.
 */
const ASTERISK_TWINNED: Array<[RegExp, string]> = [
  [/Registration from '/, "' failed for"],
  [/to extension '/, "' rejected because extension not found"],
  [/Request (?:'[^'\s]{1,64}' )?from '/, "' failed for"],
];

/** An Asterisk messages-log line that has a twin in the security log (count=once counts the twin). */
export function asteriskTwinned(line: string): boolean {
  return ASTERISK_TWINNED.some(([head, tail]) => {
    const m = head.exec(line);
    return m !== null && line.indexOf(tail, m.index + m[0].length) >= 0;
  });
}
