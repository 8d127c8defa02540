/**
 * The web-panel module: Apache and nginx detected from files, the stock filters that fit
 * enabled against the log files the server really writes, no jail for a server not installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { getIniValue, listIniSections } from '../../src/core/ini-edit.ts';
import { installOptions } from '../helpers/options.ts';
import { removeRoot, tempRoot, testContext } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const ROCKY9 = await readFile(new URL('../fixtures/os-release/rocky-9', import.meta.url), 'utf8');

async function run(files: Record<string, string>, o: Parameters<typeof installOptions>[0] = {}) {
  const root = await tempRoot(files);
  try {
    const r = await install(installOptions({ yes: true, whitelist: ['203.0.113.7'], ...o }), testContext(root));
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    return { r, jail, root };
  } finally {
    await removeRoot(root);
  }
}

test('nginx only: nginx-http-auth and nginx-botsearch on its error log; no Apache jail; detected without --services', async () => {
  const { r, jail } = await run({ '/etc/os-release': DEBIAN12, '/usr/sbin/nginx': '', '/var/log/nginx/access.log': '', '/var/log/nginx/error.log': '', '/var/log/nginx/error.log.1': '' });
  assert.deepEqual(r.jails, ['nginx-http-auth', 'nginx-botsearch']);
  for (const j of ['nginx-http-auth', 'nginx-botsearch']) {
    assert.equal(getIniValue(jail, j, 'enabled'), 'true');
    assert.equal(getIniValue(jail, j, 'logpath'), '/var/log/nginx/error.log');
    assert.equal(getIniValue(jail, j, 'port'), 'http,https');
  }
  assert.ok(!listIniSections(jail).some((s) => s.startsWith('apache-')), 'no jail for a server not installed');
  assert.match(getIniValue(jail, 'DEFAULT', 'ignoreip')!, /203\.0\.113\.7/, 'the whitelist applies to the web jails too');
  const part = r.protected.find((p) => p.name === 'web-panel')!;
  assert.deepEqual(part.details, { nginx: { jails: ['nginx-http-auth', 'nginx-botsearch'], accessLogs: ['/var/log/nginx/access.log'], errorLogs: ['/var/log/nginx/error.log'] } });
});

test('Apache (Debian): every access log it writes for apache-badbots, the error log for auth, botsearch, noscript', async () => {
  const { r, jail } = await run(
    { '/etc/os-release': DEBIAN12, '/etc/apache2/apache2.conf': '', '/var/log/apache2/access.log': '', '/var/log/apache2/other_vhosts_access.log': '', '/var/log/apache2/error.log': '', '/var/log/apache2/access.log.2.gz': '' },
    { services: ['web-panel'] },
  );
  assert.deepEqual(r.jails, ['apache-auth', 'apache-badbots', 'apache-botsearch', 'apache-noscript']);
  assert.equal(getIniValue(jail, 'apache-badbots', 'logpath'), '/var/log/apache2/access.log\n/var/log/apache2/other_vhosts_access.log');
  for (const j of ['apache-auth', 'apache-botsearch', 'apache-noscript']) assert.equal(getIniValue(jail, j, 'logpath'), '/var/log/apache2/error.log');
  assert.ok(!listIniSections(jail).some((s) => s.startsWith('nginx-')));
});

test('Apache on Rocky (httpd) with no log yet: its default logs are created so fail2ban can start', async () => {
  const root = await tempRoot({ '/etc/os-release': ROCKY9, '/usr/sbin/httpd': '' });
  try {
    const r = await install(installOptions({ yes: true, services: ['web-panel'] }), testContext(root));
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.equal(getIniValue(jail, 'apache-badbots', 'logpath'), '/var/log/httpd/access_log');
    assert.equal(getIniValue(jail, 'apache-auth', 'logpath'), '/var/log/httpd/error_log');
    assert.ok(r.jails.includes('apache-noscript'));
    assert.equal(await readFile(path.join(root, 'var/log/httpd/access_log'), 'utf8'), '');
    assert.equal(await readFile(path.join(root, 'var/log/httpd/error_log'), 'utf8'), '');
  } finally {
    await removeRoot(root);
  }
});

test('named but neither server installed: a warning and no web jail; a server removed later has its jails switched off', async () => {
  const none = await run({ '/etc/os-release': DEBIAN12 }, { services: ['web-panel'] });
  assert.ok(none.r.warnings.includes('web-panel: neither Apache nor nginx is installed; no web jail enabled'));
  assert.ok(!listIniSections(none.jail).some((s) => /^(apache|nginx)-/.test(s)));

  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/usr/sbin/nginx': '', '/var/log/nginx/error.log': '', '/etc/apache2/apache2.conf': '' });
  try {
    await install(installOptions({ yes: true }), testContext(root));
    const { rm } = await import('node:fs/promises');
    await rm(path.join(root, 'usr/sbin/nginx'));
    const again = await install(installOptions({ yes: true }), testContext(root));
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.equal(getIniValue(jail, 'nginx-botsearch', 'enabled'), 'false');
    assert.equal(getIniValue(jail, 'nginx-http-auth', 'enabled'), 'false');
    assert.equal(getIniValue(jail, 'apache-auth', 'enabled'), 'true');
    assert.deepEqual(again.jails, ['apache-auth', 'apache-badbots', 'apache-botsearch', 'apache-noscript']);
  } finally {
    await removeRoot(root);
  }
});
