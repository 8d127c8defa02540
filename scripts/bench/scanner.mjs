// Section 10 of `npm run bench`: a real password scanner (svcrack, the right password 30th in its
// list) against a real Asterisk 22 and FreeSWITCH 1.10 configured by the CLI, 10 runs each, and
// the reference measured in the same run: the same jail without its guard (stock fail2ban's way).
// The measuring is the real scanner tests' own (test/real/52-*, 53-*): they write their figures to
// VOIP_F2B_BENCH_OUT when it is set, and measure the reference only then.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './lib.mjs';

const TESTS = { asterisk: 'test/real/52-asterisk-scanner.test.ts', freeswitch: 'test/real/53-freeswitch-scanner.test.ts' };

/** Runs the scanner test of `server` with the bench's figures file; its figures (throws on a failed test). */
export function scannerFigures(server, tmp) {
  const out = join(tmp, `scanner-${server}.json`);
  rmSync(out, { force: true });
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-name-pattern=setup|svcrack|reference', TESTS[server]], {
    cwd: REPO,
    encoding: 'utf8',
    env: { ...process.env, VOIP_F2B_BENCH_OUT: out },
    timeout: 20 * 60 * 1000,
  });
  if (r.status !== 0 || !existsSync(out)) throw new Error(`${TESTS[server]} failed (${r.status}): ${(r.stdout + r.stderr).split('\n').filter((l) => /not ok|error/.test(l)).slice(0, 5).join('; ')}`);
  const all = JSON.parse(readFileSync(out, 'utf8'));
  return { ours: all[server], plain: all[`${server}-plain`] };
}
