/**
 * Run the real `fail2ban-regex` over log lines and report, per line, whether
 * it matched and which address(es) fail2ban extracted.
 *
 * fail2ban-regex is called through `execFile` (no shell). Filters are looked
 * up by name in a private config directory made once per process: a copy of
 * the stock `/etc/fail2ban/filter.d` (so `common.conf` and the stock filters
 * such as `asterisk` and `freeswitch` resolve exactly as on the machine) with
 * this repository's `templates/etc/fail2ban/filter.d/*.conf` copied over it.
 * That is how fail2ban itself reads a filter (`filter = voip-asterisk[mode=…]`),
 * so options such as `[mode=aggressive]` or `[logtype=journal]` work as in a
 * jail.
 *
 * Per-line results come from `--out '<ip>\t<msg>'`: fail2ban prints one row per
 * failure with the extracted address and the original line, which is mapped
 * back to the input lines by text (identical lines always give identical
 * results).
 *
 * Tests never reach the network: `--usedns=no` makes `<HOST>` in stock
 * filters match addresses only (no DNS lookups of attacker-supplied names).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the fail2ban-regex executable used by the helpers. */
export const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';

/** Stock fail2ban filter directory copied into the private config dir. */
export const STOCK_FILTER_DIR = '/etc/fail2ban/filter.d';

/** This repository's filter templates (copied verbatim by the installer). */
export const TEMPLATE_FILTER_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../templates/etc/fail2ban/filter.d',
);

/** Result for one input line. */
export interface LineResult {
  /** The input line, exactly as given. */
  readonly line: string;
  /** True when at least one failregex matched (and no ignoreregex did). */
  readonly matched: boolean;
  /**
   * Addresses fail2ban extracted for this line, one per matching failregex
   * (fail2ban-regex checks all regexes), in output order. Empty if unmatched.
   */
  readonly addresses: readonly string[];
}

/** Options for {@link runFail2banRegex}. */
export interface RunOptions {
  /**
   * Filter to run, as a jail would name it: `voip-asterisk`,
   * `voip-freeswitch[mode=aggressive]`, `asterisk` (stock),
   * `voip-kamailio[logtype=journal]`.
   */
  readonly filter: string;
  /** Kill fail2ban-regex after this many milliseconds (default 30 000). */
  readonly timeoutMs?: number;
}

/** Raw outcome of one fail2ban-regex process. */
export interface RawRun {
  readonly stdout: string;
  readonly stderr: string;
  /** Wall-clock time of the fail2ban-regex call, python start-up included. */
  readonly elapsedMs: number;
}

let configDir: string | undefined;

/**
 * Return the private fail2ban config directory (created on first use and
 * removed when the process exits): `<dir>/filter.d` holds the stock filters
 * overlaid with this repository's templates.
 */
export function fail2banConfigDir(): string {
  if (configDir !== undefined) return configDir;
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-regex-'));
  const filterDir = join(dir, 'filter.d');
  cpSync(STOCK_FILTER_DIR, filterDir, { recursive: true, dereference: true });
  for (const name of readdirSync(TEMPLATE_FILTER_DIR)) {
    if (name.endsWith('.conf')) {
      cpSync(join(TEMPLATE_FILTER_DIR, name), join(filterDir, name));
    }
  }
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  configDir = dir;
  return dir;
}

/**
 * Run fail2ban-regex on a log file with the given extra arguments (before the
 * log path) and filter name, using the private config dir. Rejects if the
 * process fails, times out, or prints an ERROR.
 */
export function execFail2banRegex(
  logPath: string,
  filter: string,
  extraArgs: readonly string[] = [],
  timeoutMs = 30_000,
): Promise<RawRun> {
  const args = ['-c', fail2banConfigDir(), '--usedns=no', '-e', 'UTF-8', ...extraArgs, logPath, filter];
  const started = process.hrtime.bigint();
  return new Promise((resolvePromise, reject) => {
    execFile(
      FAIL2BAN_REGEX,
      args,
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } },
      (error, stdout, stderr) => {
        const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
        if (error) {
          reject(new Error(`fail2ban-regex ${filter} failed: ${error.message}\n${stderr}\n${stdout}`));
          return;
        }
        if (/^ERROR:/m.test(stdout) || /^ERROR/m.test(stderr)) {
          reject(new Error(`fail2ban-regex ${filter} reported an error:\n${stdout}\n${stderr}`));
          return;
        }
        resolvePromise({ stdout, stderr, elapsedMs });
      },
    );
  });
}

/**
 * Run `filter` over `lines` in ONE fail2ban-regex call and return a result per
 * input line (same order). Lines must not contain newlines; lines fail2ban-regex
 * skips (empty or starting with `#`) come back unmatched.
 */
export async function runFail2banRegex(lines: readonly string[], options: RunOptions): Promise<LineResult[]> {
  for (const line of lines) {
    if (/[\r\n]/.test(line)) throw new Error(`log line contains a newline: ${JSON.stringify(line)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-log-'));
  try {
    const logPath = join(dir, 'test.log');
    writeFileSync(logPath, lines.map((l) => `${l}\n`).join(''), 'utf8');
    const { stdout } = await execFail2banRegex(logPath, options.filter, ['-o', '<ip>\t<msg>'], options.timeoutMs);
    const byLine = new Map<string, string[]>();
    for (const row of stdout.split('\n')) {
      if (row === '') continue;
      const tab = row.indexOf('\t');
      if (tab < 0) throw new Error(`unexpected fail2ban-regex output row: ${JSON.stringify(row)}`);
      const address = row.slice(0, tab);
      const text = row.slice(tab + 1);
      const list = byLine.get(text) ?? [];
      list.push(address);
      byLine.set(text, list);
    }
    // A line without its own date is reported with the last date fail2ban saw
    // glued in front of it (fail2ban reuses a date seen less than 60 s ago):
    // map such rows back to the longest input line they end with.
    const known = new Set(lines);
    for (const [text, addresses] of [...byLine]) {
      if (known.has(text)) continue;
      const owner = lines.filter((l) => l !== '' && text.endsWith(l)).sort((a, b) => b.length - a.length)[0];
      if (owner === undefined) throw new Error(`fail2ban-regex reported a line not in the input: ${JSON.stringify(text)}`);
      byLine.delete(text);
      byLine.set(owner, [...(byLine.get(owner) ?? []), ...addresses]);
    }
    // Each distinct line appears once per failure in the output; identical
    // input lines share a result, so divide by the number of copies.
    const copies = new Map<string, number>();
    for (const l of lines) copies.set(l, (copies.get(l) ?? 0) + 1);
    return lines.map((line) => {
      const all = byLine.get(line) ?? [];
      const n = copies.get(line) ?? 1;
      const addresses = all.slice(0, all.length / n);
      return { line, matched: addresses.length > 0, addresses };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
