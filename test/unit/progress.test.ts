import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { colorWanted, createLogger } from '../../src/adapters/log.ts';

const SGR = /\x1b\[[0-9;]*m/;
const strip = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');
/**
 * Mocks setInterval and Date (Node >= 20.4; @types/node 18 only knows the timer list form).
 */
const mockClock = (now = 0): void => (mock.timers.enable as unknown as (o: { apis: string[]; now: number }) => void)({ apis: ['setInterval', 'Date'], now });
/** Advances the mocked clock in small steps, so timers see the time they fire at. */
const advance = (ms: number, step = 100): void => {
  for (let t = 0; t < ms; t += step) mock.timers.tick(Math.min(step, ms - t));
};

function recorder(): { write: (s: 'stdout' | 'stderr', t: string) => void; err: () => string; out: () => string } {
  const chunks: Array<[string, string]> = [];
  return {
    write: (s, t) => void chunks.push([s, t]),
    err: () => chunks.filter(([s]) => s === 'stderr').map(([, t]) => t).join(''),
    out: () => chunks.filter(([s]) => s === 'stdout').map(([, t]) => t).join(''),
  };
}

test('colour only on a terminal, and never with NO_COLOR (non-empty) or TERM=dumb', () => {
  assert.equal(colorWanted({}, true), true);
  assert.equal(colorWanted({ NO_COLOR: '1' }, true), false);
  assert.equal(colorWanted({ NO_COLOR: '' }, true), true, 'no-color.org: an empty NO_COLOR is ignored');
  assert.equal(colorWanted({ TERM: 'dumb' }, true), false);
  assert.equal(colorWanted({}, false), false);
});

for (const color of [true, false]) {
  test(`terminal: a step is a live spinner with the elapsed time, then one plain line (colour ${color ? 'on' : 'off'})`, () => {
    mockClock();
    try {
      const r = recorder();
      const log = createLogger({ tty: true, color, write: r.write, columns: 80 });
      log.step('installing packages: apt-get install -y fail2ban');
      advance(2500);
      const live = strip(r.err());
      // Redrawn in place (carriage return + erase line), frames change, seconds go up.
      assert.ok(live.split('\r\x1b[K').length > 20, 'redrawn about every 100 ms');
      assert.match(live, /⠋ installing packages/);
      assert.match(live, /⠙ installing packages/);
      assert.match(live, /2\.5 s/);
      assert.doesNotMatch(live, /\n/, 'one live line, no scrolling');
      log.info('created /etc/fail2ban/jail.local');
      const all = r.err();
      const final = strip(all).slice(live.length);
      assert.match(final, /^\r\x1b\[K→ installing packages: apt-get install -y fail2ban \(2\.5 s\)\n· created \/etc\/fail2ban\/jail\.local\n$/);
      if (color) assert.match(all, SGR);
      else assert.doesNotMatch(all, SGR);
      // Finished: no more frames.
      advance(1000);
      assert.equal(r.err(), all);
    } finally {
      mock.timers.reset();
    }
  });
}

test('terminal: the live line is cut to the terminal width; close() ends it', () => {
  mockClock();
  try {
    const r = recorder();
    const log = createLogger({ tty: true, color: false, write: r.write, columns: 40 });
    log.step(`starting fail2ban: ${'x'.repeat(100)}`);
    const first = r.err();
    assert.ok(first.length < 60, first);
    assert.match(first, /…/);
    log.close();
    assert.match(r.err(), new RegExp(`→ starting fail2ban: x{100}\\n$`), 'the full text once done');
    log.close();
  } finally {
    mock.timers.reset();
  }
});

test('no terminal (cloud-init log): timestamped lines, "still running" heartbeats, the time taken; no escape codes', () => {
  mockClock(Date.parse('2026-11-22T12:00:00Z'));
  try {
    const r = recorder();
    const log = createLogger({ tty: false, color: false, write: r.write });
    log.step('installing packages: apt-get install -y fail2ban');
    advance(65000, 1000);
    log.warn('something');
    log.out('report');
    assert.equal(
      r.err(),
      [
        '2026-11-22T12:00:00.000Z → installing packages: apt-get install -y fail2ban',
        '2026-11-22T12:00:30.000Z · still running (30 s): installing packages: apt-get install -y fail2ban',
        '2026-11-22T12:01:00.000Z · still running (60 s): installing packages: apt-get install -y fail2ban',
        '2026-11-22T12:01:05.000Z · took 65 s: installing packages: apt-get install -y fail2ban',
        '2026-11-22T12:01:05.000Z ! warning: something',
        '',
      ].join('\n'),
    );
    assert.equal(r.out(), 'report\n');
    assert.doesNotMatch(r.err(), /\x1b/);
  } finally {
    mock.timers.reset();
  }
});
