import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { getIniValue, listIniSections, setIniValue } from '../../src/core/ini-edit.ts';

test('replaces a value in place and keeps every other byte', () => {
  const text = '# head\n[DEFAULT]\n; note\nbantime  =  10m ; odd spacing kept\nmaxretry:3\n\n[sshd]\nenabled = true\n';
  const out = setIniValue(text, 'DEFAULT', 'maxretry', '5');
  assert.equal(out, text.replace('maxretry:3', 'maxretry:5'));
});

test('multi-line values are replaced whole and written as continuation lines', () => {
  const text = '[DEFAULT]\nignoreip = 127.0.0.1/8\n           ::1\n# after\nx = 1\n';
  const out = setIniValue(text, 'DEFAULT', 'ignoreip', '127.0.0.1/8 ::1 203.0.113.7');
  assert.equal(out, '[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 203.0.113.7\n# after\nx = 1\n');
  const two = setIniValue('[j]\n', 'j', 'logpath', '/a\n/b');
  assert.equal(two, '[j]\nlogpath = /a\n          /b\n');
  assert.equal(getIniValue(two, 'j', 'logpath'), '/a\n/b');
});

test("inline '; comments' are not part of the value and stay on a replaced line", () => {
  const text = '[sshd]\nenabled = false ; no ssh logs here\nport = 22;not-a-comment\n';
  assert.equal(getIniValue(text, 'sshd', 'enabled'), 'false');
  assert.equal(getIniValue(text, 'sshd', 'port'), '22;not-a-comment');
  assert.equal(setIniValue(text, 'sshd', 'enabled', 'false'), text);
  assert.equal(setIniValue(text, 'sshd', 'enabled', 'true'), '[sshd]\nenabled = true ; no ssh logs here\nport = 22;not-a-comment\n');
});

test('equal values (whitespace aside) leave the text untouched', () => {
  const text = '[DEFAULT]\nignoreip = 127.0.0.1/8   ::1\n';
  assert.equal(setIniValue(text, 'DEFAULT', 'ignoreip', '127.0.0.1/8 ::1'), text);
});

test('missing keys go after the last key of the section, before trailing comments', () => {
  const text = '[DEFAULT]\na = 1\n\n# about sshd\n[sshd]\nenabled = true\n';
  assert.equal(setIniValue(text, 'DEFAULT', 'b', '2'), '[DEFAULT]\na = 1\nb = 2\n\n# about sshd\n[sshd]\nenabled = true\n');
});

test('missing sections are appended after one blank line; files without final newline', () => {
  assert.equal(setIniValue('[a]\nx = 1', 'b', 'y', '2'), '[a]\nx = 1\n\n[b]\ny = 2\n');
  assert.equal(setIniValue('', 'b', 'y', '2'), '[b]\ny = 2\n');
});

test('CRLF files stay CRLF', () => {
  const out = setIniValue('[DEFAULT]\r\na = 1\r\n', 'DEFAULT', 'b', '2');
  assert.equal(out, '[DEFAULT]\r\na = 1\r\nb = 2\r\n');
});

test('keys compare case-insensitively, like ConfigParser; sections are listed', () => {
  const text = '[DEFAULT]\nIgnoreIP = 1.2.3.4\n[sshd]\n[DEFAULT]\nbantime = 1\n';
  assert.equal(getIniValue(text, 'DEFAULT', 'ignoreip'), '1.2.3.4');
  assert.deepEqual(listIniSections(text), ['DEFAULT', 'sshd']);
});

test("fail2ban's own jail.conf survives an edit of one key byte for byte elsewhere", async () => {
  const jailConf = await readFile('/etc/fail2ban/jail.conf', 'utf8').catch(() => null);
  if (jailConf === null) return assert.fail('fail2ban is not installed: .ci/run installs it');
  const out = setIniValue(jailConf, 'DEFAULT', 'bantime', '1h');
  const a = jailConf.split('\n');
  const b = out.split('\n');
  assert.equal(a.length, b.length);
  const diff = a.map((l, i) => (l === b[i] ? null : [l, b[i]])).filter(Boolean);
  assert.deepEqual(diff, [['bantime  = 10m', 'bantime  = 1h']]);
});
