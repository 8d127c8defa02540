import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linesOf } from '../helpers/lines.ts';
import { readFileSync } from 'node:fs';
import { editAsteriskLogger } from '../../src/core/editors/asterisk-logger.ts';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/upstream/asterisk/${name}`, import.meta.url), 'utf8');

/** Lines with their EOL, so that CRLF and a missing final newline are compared too. */

/**
 * Checks that `after` is `before` with lines inserted only (every original line byte-identical,
 * in order) and returns the inserted lines as [index in after, line].
 */
function insertions(before: string, after: string): Array<[number, string]> {
  const a = linesOf(before);
  const b = linesOf(after);
  const added: Array<[number, string]> = [];
  let i = 0;
  b.forEach((line, j) => {
    if (i < a.length && line === a[i]) i++;
    else added.push([j, line]);
  });
  assert.equal(i, a.length, 'every original line must be kept, byte for byte and in order');
  return added;
}

/** Removes the given inserted lines (indexes into `after`). */
function withoutLines(after: string, indexes: number[]): string {
  return linesOf(after)
    .filter((_l, j) => !indexes.includes(j))
    .join('');
}

function assertIdempotent(text: string): void {
  const again = editAsteriskLogger(text);
  assert.equal(again.text, text);
  assert.deepEqual(again.changes, []);
}

// Upstream samples: [file, line after which dateformat goes, line after which security goes]
const samples: Array<[string, string, string]> = [
  ['logger.conf.sample.148f835', ';dateformat=%F %T.%3q   ; with milliseconds\n', ';security.log => security\n'],
  ['logger.conf.sample.3cfbb8b', ';dateformat=%F %T.%3q   ; with milliseconds\n', ';security => security\n'],
  ['logger.conf.sample.1a79c9c', ';dateformat=%F %T.%3q   ; with milliseconds\n', ';security => security\n'],
  ['logger.conf.sample.9ecdab9', ';dateformat=%F %T\n', 'messages => notice,warning,error\n'],
];

for (const [name, dateAnchor, securityAnchor] of samples) {
  test(`asterisk logger: upstream ${name} gets exactly dateformat and security, nothing else moves`, () => {
    const original = fixture(name);
    const r = editAsteriskLogger(original);
    assert.deepEqual(r.changes, ['[general] added dateformat = %F %T', '[logfiles] added security => security']);

    const added = insertions(original, r.text);
    assert.deepEqual(
      added.map(([, l]) => l),
      ['dateformat = %F %T\n', 'security => security\n'],
    );
    const out = linesOf(r.text);
    assert.equal(out[added[0]![0] - 1], dateAnchor);
    assert.equal(out[added[1]![0] - 1], securityAnchor);
    assert.equal(withoutLines(r.text, added.map(([j]) => j)), original);
    assertIdempotent(r.text);
  });
}

test('asterisk logger: the messages channel of the samples already has notice,warning,error', () => {
  for (const [name] of samples) {
    const r = editAsteriskLogger(fixture(name));
    assert.ok(!r.changes.some((c) => c.includes('messages')), name);
  }
});

test('asterisk logger: commented-out ;dateformat=%F %T gets an active line after it', () => {
  const text = '[general]\n;dateformat=%F %T\n;use_callids = no\n\n[logfiles]\nmessages => notice,warning,error\nsecurity => security\n';
  const r = editAsteriskLogger(text);
  assert.equal(
    r.text,
    '[general]\n;dateformat=%F %T\ndateformat = %F %T\n;use_callids = no\n\n[logfiles]\nmessages => notice,warning,error\nsecurity => security\n',
  );
  assert.deepEqual(r.changes, ['[general] added dateformat = %F %T']);
  assertIdempotent(r.text);
});

test('asterisk logger: an active dateformat is set in place, keeping key, separator spacing and comment', () => {
  const text = '[general]\ndateformat => %T   ; short\n[logfiles]\nmessages => notice,warning,error\nsecurity => security\n';
  const r = editAsteriskLogger(text);
  assert.equal(r.text, '[general]\ndateformat => %F %T   ; short\n[logfiles]\nmessages => notice,warning,error\nsecurity => security\n');
  assert.deepEqual(r.changes, ['[general] dateformat set to %F %T (was %T)']);
  assertIdempotent(r.text);
});

test('asterisk logger: a messages.log site keeps its file name, formatter, order and separators', () => {
  const text = '[general]\ndateformat=%F %T\n[logfiles]\nmessages.log => [plain]notice, warning,verbose(3) ; mine\nsecurity => security\n';
  const r = editAsteriskLogger(text);
  assert.equal(
    r.text,
    '[general]\ndateformat=%F %T\n[logfiles]\nmessages.log => [plain]notice, warning,verbose(3),error ; mine\nsecurity => security\n',
  );
  assert.deepEqual(r.changes, ['[logfiles] messages.log: added level error']);
  assertIdempotent(r.text);
});

test('asterisk logger: ", " separators are continued; [json] with no levels gets all three', () => {
  const a = editAsteriskLogger('[general]\ndateformat=%F %T\n[logfiles]\nmessages = warning, error\nsecurity = security\n');
  assert.equal(a.text, '[general]\ndateformat=%F %T\n[logfiles]\nmessages = warning, error, notice\nsecurity = security\n');
  const b = editAsteriskLogger('[general]\ndateformat=%F %T\n[logfiles]\nmessages.log => [json]\nsecurity => security\n');
  assert.equal(b.text, '[general]\ndateformat=%F %T\n[logfiles]\nmessages.log => [json]notice,warning,error\nsecurity => security\n');
});

test('asterisk logger: "*" already means every level', () => {
  const text = '[general]\ndateformat=%F %T\n[logfiles]\nmessages => verbose(3),*\nsecurity => *\n';
  assert.deepEqual(editAsteriskLogger(text), { text, changes: [] });
});

test('asterisk logger: an existing security channel with other levels gets "security" added', () => {
  const text = '[general]\ndateformat=%F %T\n[logfiles]\nmessages => notice,warning,error\nsecurity => notice\n';
  const r = editAsteriskLogger(text);
  assert.equal(r.text, '[general]\ndateformat=%F %T\n[logfiles]\nmessages => notice,warning,error\nsecurity => notice,security\n');
  assert.deepEqual(r.changes, ['[logfiles] security: added level security']);
  assertIdempotent(r.text);
});

test('asterisk logger: CRLF files keep CRLF, inserted lines included', () => {
  const lf = fixture('logger.conf.sample.3cfbb8b');
  const crlf = lf.replace(/\n/g, '\r\n');
  const r = editAsteriskLogger(crlf);
  assert.equal(r.text, editAsteriskLogger(lf).text.replace(/\n/g, '\r\n'));
  assert.doesNotMatch(r.text, /[^\r]\n/);
  assertIdempotent(r.text);
});

test('asterisk logger: a file without [general] gets one before its first section', () => {
  const text = '; my logging\n\n[logfiles]\nconsole => notice\n';
  const r = editAsteriskLogger(text);
  assert.equal(
    r.text,
    '; my logging\n\n[general]\ndateformat = %F %T\n\n[logfiles]\nconsole => notice\nmessages.log => notice,warning,error\nsecurity => security\n',
  );
  assert.deepEqual(r.changes, [
    'added section [general] with dateformat = %F %T',
    '[logfiles] added messages.log => notice,warning,error',
    '[logfiles] added security => security',
  ]);
  assertIdempotent(r.text);
});

test('asterisk logger: a file without [logfiles] gets it appended; an empty file gets both', () => {
  const r = editAsteriskLogger('[general]\ndateformat=%F %T\n');
  assert.equal(r.text, '[general]\ndateformat=%F %T\n\n[logfiles]\nmessages.log => notice,warning,error\nsecurity => security\n');
  assertIdempotent(r.text);
  const empty = editAsteriskLogger('');
  assert.equal(empty.text, '[general]\ndateformat = %F %T\n\n[logfiles]\nmessages.log => notice,warning,error\nsecurity => security\n');
  assertIdempotent(empty.text);
});

test('asterisk logger: a missing final newline stays missing when nothing is appended after it', () => {
  const text = '[general]\ndateformat=%T\n[logfiles]\nmessages => notice,warning,error\nsecurity => notice';
  const r = editAsteriskLogger(text);
  assert.equal(r.text, '[general]\ndateformat=%F %T\n[logfiles]\nmessages => notice,warning,error\nsecurity => notice,security');
  assertIdempotent(r.text);
  // appending after a last line without newline gives that line one
  const appended = editAsteriskLogger('[general]\ndateformat=%F %T\n[logfiles]\nconsole => notice');
  assert.equal(
    appended.text,
    '[general]\ndateformat=%F %T\n[logfiles]\nconsole => notice\nmessages.log => notice,warning,error\nsecurity => security\n',
  );
});

test('asterisk logger: ;-- --; block comments hide sections and keys; ;---- lines are plain comments', () => {
  const text = [
    ';----------------------------------',
    '[general]',
    ';-- dateformat=%T',
    '[logfiles]',
    'messages => notice,warning,error --;',
    ';----------------------------------',
    '[logfiles]',
    'console => notice',
    '',
  ].join('\n');
  const r = editAsteriskLogger(text);
  assert.deepEqual(r.changes, [
    '[general] added dateformat = %F %T',
    '[logfiles] added messages.log => notice,warning,error',
    '[logfiles] added security => security',
  ]);
  assert.deepEqual(
    insertions(text, r.text).map(([, l]) => l),
    ['dateformat = %F %T\n', 'messages.log => notice,warning,error\n', 'security => security\n'],
  );
  assert.match(r.text, /^\[general\]\ndateformat = %F %T\n;-- dateformat=%T\n/m);
  assert.match(r.text, /console => notice\nmessages\.log => notice,warning,error\nsecurity => security\n$/);
  assertIdempotent(r.text);
});

test('asterisk logger: section and key names compare case-insensitively; other sections untouched', () => {
  const text = '[General]\nDateFormat = %F %T\n[LogFiles]\nmessages => notice,warning,error\nsecurity => security\n[other]\nmessages => debug\n';
  assert.deepEqual(editAsteriskLogger(text), { text, changes: [] });
});

test('asterisk logger: the shipped template is already complete', () => {
  const tpl = readFileSync(new URL('../../templates/etc/asterisk/logger.conf', import.meta.url), 'utf8');
  assert.deepEqual(editAsteriskLogger(tpl), { text: tpl, changes: [] });
  assert.doesNotMatch(tpl, /\{\{/);
});
