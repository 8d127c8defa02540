/** Parsers of what fail2ban-regex prints, for doctor (pure); fail2ban-client's lists are the adapter's. */
import { isIP } from 'node:net';


// ---------------------------------------------------------------------------------------------
// fail2ban-regex

export interface RegexSummary {
  lines: number;
  matched: number;
  missed: number;
  ignored: number;
  /** Lines whose time stamp fail2ban recognised (sum of "Date template hits"). */
  dateHits: number;
  regexes: { regex: string; count: number }[];
}

/** Parses the summary fail2ban-regex prints (run with --print-no-missed). */
export function parseRegexSummary(stdout: string): RegexSummary | null {
  const total = /^Lines:\s*(\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed/m.exec(stdout);
  if (!total) return null;
  const section = (title: string): string[] => {
    const all = stdout.split('\n');
    const start = all.findIndex((l) => l.startsWith(title));
    if (start < 0) return [];
    const out: string[] = [];
    for (const l of all.slice(start + 1)) {
      if (!l.startsWith('|')) break;
      out.push(l);
    }
    return out;
  };
  const regexes: RegexSummary['regexes'] = [];
  for (const l of section('Failregex:')) {
    const m = /^\|\s+\d+\) \[(\d+)\] (.*)$/.exec(l);
    if (m) regexes.push({ regex: m[2]!, count: Number(m[1]) });
  }
  let dateHits = 0;
  for (const l of section('Date template hits:')) {
    const m = /^\|\s+\[(\d+)\] /.exec(l);
    if (m) dateHits += Number(m[1]);
  }
  return { lines: Number(total[1]), ignored: Number(total[2]), matched: Number(total[3]), missed: Number(total[4]), dateHits, regexes };
}

/** Counts per address of `fail2ban-regex -o '<ip>'` output (one address per failure). */
export function countAddresses(stdout: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const raw of stdout.split('\n')) {
    const ip = raw.trim();
    if (!ip || isIP(ip) === 0) continue;
    counts.set(ip, (counts.get(ip) ?? 0) + 1);
  }
  return counts;
}
