/**
 * Log lines are attacker text: a failed REGISTER puts its display name and user name into them,
 * and the web view and the doctor parse them. Every pattern that runs on log text must take time
 * linear in the line (issue 20, hole 3: " for [" repeated in a 4 KB line took over a second in
 * one VoIP-context pattern, five such lines froze the web view for 12 s). This runs each pattern,
 * and the functions that use them, on crafted lines made of the patterns' own markers repeated,
 * with a time bound far above what a linear pattern needs and far below what a backtracking one
 * takes. The real server with real bans is in test/real/45-web-view.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { MAX_CONTEXT_LINE, contextPatterns, voipContext } from '../../src/core/web-view.ts';
import { countFailureLines } from '../../src/core/doctor/failures.ts';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';

/** The markers the patterns look for, and the characters their quantifiers range over. */
const SEEDS = [
  "from '", "from 'sip:", 'sip:', '<sip:', 'sips:a', 'AccountID="', 'AccountID="sip:', "to extension '", ' for [', ' for [a@', '@',
  "Can't find user [", 'user=', 'user=a rc', ' rc=', 'User-Agent:', 'User-Agent: a ', 'UserAgent="', 'ua=', "Registration from '",
  "' failed for", "Request 'REGISTER' from '", "Request '", "' rejected because extension not found", 'Wrong password', 'SIP auth failure',
];
const FILLERS = ['', ' ', '\t', 'a', '@', "'", '"', '[', ']', '<', 'x y'];

/** Crafted lines of about `size` characters: a marker repeated, or one marker and a long filler. */
function* crafted(size: number): Generator<string> {
  for (const seed of SEEDS) {
    for (const fill of FILLERS) {
      const unit = seed + fill;
      yield unit.repeat(Math.ceil(size / unit.length));
      if (fill) yield seed + fill.repeat(size);
      yield `NOTICE[1] chan_sip.c: Registration from '"${unit.repeat(Math.ceil(size / unit.length))}" <sip:h>' failed for '203.0.113.9:5060' - Wrong password`;
    }
  }
}

/** A linear pattern needs well under a millisecond for these lines; a backtracking one, seconds. */
const BOUND_MS = 100;

function slowest(fn: (line: string) => unknown, size: number): { ms: number; line: string } {
  let worst = { ms: 0, line: '' };
  for (const line of crafted(size)) {
    const t0 = performance.now();
    fn(line);
    const ms = performance.now() - t0;
    if (ms > worst.ms) worst = { ms, line };
    // Stop at the first bad one: a cubic pattern on a long line would run for minutes.
    if (ms > BOUND_MS) break;
  }
  return worst;
}

const show = (line: string): string => `${JSON.stringify(line.slice(0, 40))}… (${line.length} chars)`;

test('every VoIP-context pattern runs in linear time on crafted lines, even uncut (4 KB, 16 KB)', () => {
  const { users, userAgents, kinds } = contextPatterns();
  const patterns = [...users, ...userAgents, ...kinds.map(([re]) => re)];
  for (const size of [4096, 16384]) {
    for (const re of patterns) {
      const w = slowest((l) => re.exec(l), size);
      assert.ok(w.ms < BOUND_MS, `${re} took ${w.ms.toFixed(0)} ms on ${show(w.line)}`);
    }
  }
});

test('the VoIP context of a ban and the doctor hints stay fast on crafted lines up to 64 KB', () => {
  for (const size of [4096, 65536]) {
    const ctx = slowest((l) => voipContext([l]), size);
    assert.ok(ctx.ms < BOUND_MS, `voipContext took ${ctx.ms.toFixed(0)} ms on ${show(ctx.line)}`);
    // What each service module says its jails should match and skip (issue 23).
    for (const m of SERVICE_MODULES) {
      for (const filter of ['voip-asterisk[count=once]', 'voip-asterisk', 'voip-kamailio[mode=pike]', 'voip-kamailio[mode=auth]', 'voip-kamailio']) {
        const exp = m.doctorExpects?.(m.jails[0] ?? m.name, filter);
        if (!exp) continue;
        const d = slowest((l) => countFailureLines(exp, [l]), size);
        assert.ok(d.ms < BOUND_MS, `doctor expectations (${m.name}, ${filter}) took ${d.ms.toFixed(0)} ms on ${show(d.line)}`);
      }
    }
  }
});

test('the five 4 KB lines of the issue, in one ban, give their context in milliseconds', () => {
  const display = ' for ['.repeat(680);
  const line = `[2026-11-29 17:32:59] NOTICE[4242] chan_sip.c: Registration from '"${display}" <sip:203.0.113.1>' failed for '203.0.113.70:5060' - Wrong password`;
  assert.ok(line.length > 4000);
  const t0 = performance.now();
  const c = voipContext(Array(5).fill(line));
  const ms = performance.now() - t0;
  assert.ok(ms < BOUND_MS, `${ms.toFixed(0)} ms`);
  assert.deepEqual(c.kinds, ['wrong password']);
});

test('a long line is cut before matching (its start and its end are kept): the middle is not read', () => {
  const pad = 'x'.repeat(MAX_CONTEXT_LINE);
  assert.deepEqual(voipContext([`${pad} user=bob rc=-2 ${pad}`]), { users: [], userAgents: [], kinds: ['other'] });
  assert.deepEqual(voipContext([`user=bob ${pad} rc=-2`]), { users: [], userAgents: [], kinds: ['wrong password'] });
  assert.deepEqual(voipContext([`user=bob rc=-2 ${pad}`]).users, ['bob']);
  // The real shapes still give their fields (the full set is in web-view.test.ts).
  const c = voipContext([`x SIP auth failure (REGISTER) on sofia profile 'internal' for [1002@a@example.org] from ip 203.0.113.70`, 'x User-Agent:   friendly-scanner  ']);
  assert.deepEqual(c.users, ['1002']);
  assert.deepEqual(c.userAgents, ['friendly-scanner']);
});
