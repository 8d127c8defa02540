/**
 * Where a target path lands under --root: exactly the string `path.join(root, path.normalize(p))`
 * gives, for normal and odd paths alike (`..` never climbs out of the root), and a relative path
 * is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { underRoot } from '../../src/adapters/fs.ts';

const PATHS = [
  '/',
  '/etc',
  '/etc/fail2ban/jail.local',
  '/etc/fail2ban/',
  '/etc//fail2ban',
  '//etc',
  '/etc/./fail2ban',
  '/etc/fail2ban/.',
  '/etc/fail2ban/..',
  '/etc/../../var/log',
  '/..',
  '/.',
  '/etc/.hidden',
  '/etc/..hidden/x',
  '/etc/a.',
  '/etc/a..',
  '/etc/fail2ban/jail.d/',
  '/var/log/asterisk/messages.1',
  '/etc/fail2ban/filter.d/voip-asterisk.conf',
];
const ROOTS = ['/', '/tmp/voip-f2b-root-x', '/tmp/voip-f2b-root-x/', '/tmp//voip-f2b-root-x', '/tmp/a/../root', '//'];

test('a target path maps under the root exactly as path.join(root, path.normalize(p)) does', () => {
  for (const root of ROOTS) {
    const real = underRoot(root);
    for (const p of PATHS) {
      const want = root === '/' ? path.normalize(p) : path.join(root, path.normalize(p));
      assert.equal(real(p), want, `root ${root}, path ${p}`);
    }
  }
});

test('a relative target path is an internal error, whatever the root', () => {
  for (const root of ['/', '/tmp/r']) {
    assert.throws(() => underRoot(root)('etc/fail2ban'), /internal: target path must be absolute: etc\/fail2ban/);
    assert.throws(() => underRoot(root)(''), /internal: target path must be absolute/);
  }
});
