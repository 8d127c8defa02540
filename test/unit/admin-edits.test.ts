/** The pure part of issue 21's "uninstall keeps the admin's later edits": jail.local, key by key. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { iniOnUninstall, iniRecord, nextIniRecord } from '../../src/core/admin-edits.ts';

const sha = (t: string): string => createHash('sha256').update(t).digest('hex');
const ORIGINAL = '[DEFAULT]\nbantime = 600\n\n[recidive]\nenabled = true\n';
const OURS = '[DEFAULT]\nbantime = 1h\nmaxretry = 5\n\n[recidive]\nenabled = true\n\n[voip-asterisk]\nenabled = true\nfilter = voip-asterisk\n';

test('unchanged: nothing carried, nothing kept', () => {
  const o = iniOnUninstall(OURS, ORIGINAL, iniRecord(OURS), [sha(OURS)]);
  assert.deepEqual([o.text, o.carriedSections, o.carriedKeys, o.notCarried, o.keep], [ORIGINAL, [], [], [], false]);
});

test('a section added between two of ours (with its comment, CRLF kept) is carried; the rest is the tool\'s text: no keep', () => {
  const cur = OURS.replace('\n[recidive]', '\n# mine\r\n[mine]\r\nenabled = true\r\n\n[recidive]');
  const o = iniOnUninstall(cur, ORIGINAL, iniRecord(OURS), [sha(OURS)]);
  assert.deepEqual(o.carriedSections, ['mine']);
  assert.equal(o.keep, false);
  assert.equal(o.text, `${ORIGINAL}\n# mine\r\n[mine]\r\nenabled = true\r\n`);
});

test('a comment changed only: kept, said as outside any key', () => {
  const cur = OURS.replace('[recidive]', '# note\n[recidive]');
  const o = iniOnUninstall(cur, ORIGINAL, iniRecord(OURS), [sha(OURS)]);
  assert.deepEqual([o.otherChanges, o.keep, o.text], [true, true, ORIGINAL]);
});

test('keys: a tool key changed, a key added to our jail, a tool key removed → not carried; a key added to the original\'s section → carried', () => {
  const cur = '[DEFAULT]\nbantime = 1h\nmaxretry = 3\n\n[recidive]\nenabled = true\nbantime = 1w\n\n[voip-asterisk]\nenabled = true\nfindtime = 1h\n';
  const o = iniOnUninstall(cur, ORIGINAL, iniRecord(OURS), [sha(OURS)]);
  assert.deepEqual(o.carriedKeys, ['[recidive] bantime']);
  assert.deepEqual(o.notCarried.sort(), ['[DEFAULT] maxretry changed', '[voip-asterisk] filter removed', '[voip-asterisk] findtime added']);
  assert.equal(o.text, '[DEFAULT]\nbantime = 600\n\n[recidive]\nenabled = true\nbantime = 1w\n');
  assert.equal(o.keep, true);
});

test('section names are the admin\'s text: __proto__ and constructor are sections like any other', () => {
  const cur = `${OURS}\n[__proto__]\nenabled = true\n\n[constructor]\nenabled = false\n`;
  const o = iniOnUninstall(cur, ORIGINAL, iniRecord(OURS), [sha(OURS)]);
  assert.deepEqual(o.carriedSections, ['__proto__', 'constructor']);
  assert.equal(o.keep, false);
  const rec = iniRecord(cur);
  assert.ok(Object.hasOwn(rec, '__proto__') && Object.hasOwn(rec, 'constructor'));
  assert.deepEqual(JSON.parse(JSON.stringify(rec)).__proto__, { enabled: sha('true') });
});

test('a re-run keeps the admin\'s edits the admin\'s: sections and keys changed since the last write stay out of the record', () => {
  const prev = iniRecord(OURS);
  // Since the tool wrote OURS: the admin added [mine], changed [recidive] enabled; the tool now
  // rewrites bantime (2h), keeping the rest as the admin left it.
  const before = `${OURS.replace('[recidive]\nenabled = true', '[recidive]\nenabled = false')}\n[mine]\nenabled = true\n`;
  const after = before.replace('bantime = 1h', 'bantime = 2h');
  const rec = nextIniRecord(after, before, prev);
  assert.equal(Object.hasOwn(rec, 'mine'), false, 'the admin\'s section');
  assert.equal(rec.recidive!.enabled, sha('true'), 'the value the tool had, not the admin\'s');
  assert.equal(rec.DEFAULT!.bantime, sha('2h'), 'the tool\'s new value');
  const o = iniOnUninstall(after, ORIGINAL, rec, [sha(after)]);
  assert.deepEqual([o.carriedSections, o.carriedKeys, o.notCarried], [['mine'], ['[recidive] enabled'], []]);
  assert.equal(o.text, '[DEFAULT]\nbantime = 600\n\n[recidive]\nenabled = false\n\n[mine]\nenabled = true\n');
});
