/** doctor's checks that need no I/O: each takes what was gathered and gives a verdict with a fix. */
import { BlockList, isIP } from 'node:net';
import { BAN_TEST_ADDRESSES } from '../test-bans.ts';
import type { RegexSummary } from './parse.ts';
import type { DoctorCheck, FailureLines, JailDoctor } from './report.ts';

export { BAN_TEST_ADDRESSES };

// ---------------------------------------------------------------------------------------------
// Whitelist

/**
 * True when `ip` is covered by an ignoreip entry (address or CIDR, IPv4 or IPv6; `127.0.0.1/8`
 * style too). DNS names cannot be decided without a lookup and never count.
 */
export function isWhitelisted(ip: string, entries: string[]): boolean {
  const family = isIP(ip);
  if (!family) return false;
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/');
    const f = isIP(addr ?? '');
    if (!f) continue;
    const type = f === 4 ? 'ipv4' : 'ipv6';
    try {
      if (bits === undefined) list.addAddress(addr!, type);
      else list.addSubnet(addr!, Number(bits), type);
    } catch {
      // a malformed entry fail2ban would reject anyway
    }
  }
  return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** The first ban-test address not whitelisted in the jail, or null when all of them are. */
export function pickTestAddress(ignoreip: string[]): string | null {
  return BAN_TEST_ADDRESSES.find((a) => !isWhitelisted(a, ignoreip)) ?? null;
}

/** True when `text` (iptables-save, nft list ruleset, ipset list, …) holds `ip` as a whole address. */
export function firewallHas(text: string, ip: string): boolean {
  const esc = ip.replace(/[.:]/g, (c) => `\\${c}`);
  return new RegExp(`(^|[^0-9A-Fa-f.:])${esc}(/32|/128)?($|[^0-9A-Fa-f.:/]|/32|/128)`, 'm').test(text);
}

// ---------------------------------------------------------------------------------------------
// Log files

/** How old a log may be before doctor warns that nothing writes it. */
export const STALE_LOG_SECONDS = 24 * 3600;

export function ago(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

/**
 * The check of one log file's presence and freshness. `stat` null = the file does not exist.
 * `toolCreates`: a re-run of voip-f2b-install creates this file (one it made for a jail), so the
 * fix may say so; never for a log only the service or syslog writes (auth.log).
 */
export function logFileCheck(file: string, stat: { size: number; mtimeMs: number; isFile: boolean } | null, nowMs: number, service: string, toolCreates = false): DoctorCheck {
  const name = `log ${file}`;
  if (!stat) {
    return {
      name,
      verdict: 'broken',
      detail: `${file} does not exist: the jail reads nothing from it, so no failure there is ever counted`,
      fix: `make ${service} write it again${toolCreates ? ' (or run voip-f2b-install again, which creates it)' : ''}, then: fail2ban-client reload`,
    };
  }
  if (!stat.isFile) return { name, verdict: 'broken', detail: `${file} is not a regular file`, fix: `point the jail's logpath at the file ${service} writes` };
  const age = (nowMs - stat.mtimeMs) / 1000;
  if (stat.size === 0) {
    if (age < 3600) return { name, verdict: 'ok', detail: `exists, empty so far (last changed ${ago(age)} ago): nothing logged yet` };
    return {
      name,
      verdict: 'warning',
      detail: `${file} is empty and has not changed for ${ago(age)}: ${service} does not seem to write it`,
      fix: `check that ${service} runs and logs to ${file}`,
    };
  }
  if (age > STALE_LOG_SECONDS) {
    return {
      name,
      verdict: 'warning',
      detail: `${file} was last written ${ago(age)} ago: ${service} may log elsewhere now, or not run`,
      fix: `check that ${service} runs and still logs to ${file} (log rotation, a changed log setting)`,
    };
  }
  return { name, verdict: 'ok', detail: `exists, ${stat.size} bytes, last written ${ago(age)} ago` };
}

/**
 * The check that the running service (pid `pid`) has each log it writes itself open: `open` is
 * what its /proc/<pid>/fd links name (a rotated-away file reads "<path> (deleted)", which is not
 * the file). A log channel added to the configuration but not reloaded is not open, and nothing
 * the service logs reaches it.
 */
export function openLogCheck(service: string, pid: number, logFiles: string[], open: string[], reload: string): DoctorCheck {
  const name = `${service} has its logs open`;
  const held = new Set(open);
  const missing = logFiles.filter((f) => !held.has(f));
  if (!missing.length) return { name, verdict: 'ok', detail: `${service} (pid ${pid}) writes ${logFiles.join(', ')}` };
  const deleted = missing.filter((f) => held.has(`${f} (deleted)`));
  return {
    name,
    verdict: 'broken',
    detail: `${service} runs (pid ${pid}) but does not have ${missing.join(', ')} open: it does not write ${missing.length > 1 ? 'them' : 'it'}, so no failure there reaches the jail${deleted.length ? ` (it still writes the rotated-away ${deleted.join(', ')})` : ''}`,
    fix: reload,
  };
}

/** "35 skipped on purpose (…: 30; …: 5)", or '' when none. */
function skippedText(skipped: FailureLines['skipped'] | undefined): string {
  const n = (skipped ?? []).reduce((a, s) => a + s.count, 0);
  if (!n) return '';
  return `; ${n} other failure-like line(s) this jail skips on purpose (${skipped!.map((s) => `${s.why}: ${s.count}`).join('; ')})`;
}

/**
 * The check of the filter over the last lines of the jail's logs. `failureLike`: the lines it is
 * meant to match; `skipped`: failure-like lines it skips on purpose (named in the detail, never a
 * warning). `timeStampFix`: how the service is made to log a time stamp fail2ban reads (its
 * module's `doctorFixes`).
 */
export function filterCheck(summary: RegexSummary | null, error: string | null, failureLike: number, filter: string, skipped?: FailureLines['skipped'], timeStampFix?: string): DoctorCheck {
  const name = `filter ${filter}`;
  if (error !== null || !summary) {
    return { name, verdict: 'broken', detail: `fail2ban-regex could not run the filter: ${error ?? 'no summary'}`, fix: `fix /etc/fail2ban/filter.d/${filter.replace(/\[.*$/, '')}.conf (or run voip-f2b-install again)` };
  }
  const counted = summary.lines - summary.ignored;
  if (summary.lines === 0) return { name, verdict: 'ok', detail: 'the log has no lines yet' };
  if (summary.dateHits === 0 && counted > 0) {
    return {
      name,
      verdict: 'broken',
      detail: `fail2ban finds no time stamp it can read in the last ${summary.lines} lines: no failure would ever be counted`,
      fix: `make the service log a standard time stamp (${timeStampFix ? `${timeStampFix}; ` : ''}run voip-f2b-install again)`,
    };
  }
  if (summary.matched === 0 && failureLike > 0) {
    return {
      name,
      verdict: 'broken',
      detail: `${failureLike} of the last ${summary.lines} lines look like authentication failures, but the filter matched none of them${skippedText(skipped)}`,
      fix: `restore the filter (run voip-f2b-install again), then: fail2ban-client reload; check with: fail2ban-regex <log> ${filter}`,
    };
  }
  if (summary.matched < failureLike) {
    return {
      name,
      verdict: 'warning',
      detail: `matched ${summary.matched} of ${failureLike} lines that look like authentication failures (last ${summary.lines} lines)${skippedText(skipped)}`,
      fix: `see which lines it misses: fail2ban-regex --print-all-missed <log> ${filter}`,
    };
  }
  return { name, verdict: 'ok', detail: `matched ${summary.matched} of the last ${summary.lines} lines${skippedText(skipped)}` };
}

/** The addresses with at least `maxretry` failures, most first, whitelisted ones marked. */
export function wouldBan(counts: Map<string, number>, maxretry: number, ignoreip: string[]): NonNullable<JailDoctor['wouldBan']> {
  return [...counts]
    .filter(([, n]) => n >= maxretry)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([ip, failures]) => ({ ip, failures, whitelisted: isWhitelisted(ip, ignoreip) }));
}

/** The admin's SSH address in a jail's whitelist. */
export function adminCheck(admin: string | null, ignoreip: string[]): DoctorCheck | null {
  if (!admin) return null;
  if (isWhitelisted(admin, ignoreip)) return { name: 'admin whitelisted', verdict: 'ok', detail: `${admin} (this SSH session) is in ignoreip` };
  return {
    name: 'admin whitelisted',
    verdict: 'warning',
    detail: `${admin} (this SSH session) is not in ignoreip: a few wrong passwords from your machine would ban you`,
    fix: `voip-f2b-install --whitelist ${admin}`,
  };
}

/**
 * The check of a jail that reads no log file: what its backend reads. `backend` undefined = not
 * known (fail2ban-client -d failed); `journald` = a journald runs here (its socket); `logFile`:
 * the file the service logs to (its module's `doctorFixes`).
 */
export function logSourceCheck(jail: string, backend: string | undefined, journald: boolean, service: string, dumpError: string | null, logFile?: string): DoctorCheck {
  const name = 'log source';
  if (backend === undefined) {
    return { name, verdict: 'warning', detail: `fail2ban lists no log file for this jail, and its backend could not be read (fail2ban-client -d: ${dumpError ?? 'no answer'})`, fix: `check the jail's configuration: fail2ban-client -d | grep "'${jail}'"` };
  }
  if (backend.startsWith('systemd')) {
    if (journald) return { name, verdict: 'ok', detail: 'the jail reads the systemd journal (no log file to check)' };
    return {
      name,
      verdict: 'broken',
      detail: `the jail reads the systemd journal (backend ${backend}), but no journald runs on this host: it never sees a line`,
      fix: `read the file ${service} logs to instead: set backend = auto and its logpath in [${jail}] of jail.local${logFile ? ` (${logFile})` : ''}, then: fail2ban-client reload ${jail}`,
    };
  }
  return {
    name,
    verdict: 'broken',
    detail: `fail2ban reads no log file for this jail (backend ${backend}): its log file was removed or never there, so nothing is banned`,
    fix: `make ${service} write its log again (see the jail's logpath), then: fail2ban-client reload ${jail}`,
  };
}
