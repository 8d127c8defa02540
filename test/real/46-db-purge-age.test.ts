/**
 * fail2ban's dbpurgeage (issue 12's history, issue 8's repeat offenders), for real and without
 * host state: a copy of Debian 12's /etc/fail2ban as the package ships it, under a temp root,
 * with an admin's own fail2ban.local that points socket, pid file, database and log into the
 * temp directory. A private fail2ban-server runs on that directory. The built CLI installs into
 * the root (--root), then the two ways fail2ban re-reads its configuration (reload, and the
 * restart the install runs after a change) both make the running server report 30 days; the
 * admin's lines survive byte for byte; a re-run changes nothing; uninstall restores the file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { assertRealHost, pidFromFile, sh, stopPid } from '../helpers/system.ts';

const PACKAGE_FILES = ['fail2ban.conf', 'jail.conf', 'paths-common.conf', 'paths-debian.conf', 'filter.d', 'action.d'];

describe('dbpurgeage: 30 days of ban history, picked up by a real fail2ban', () => {
  let dir = '';
  let root = '';
  let conf = '';
  let adminLocal = '';
  const client = (args: string[]) => sh('fail2ban-client', ['-c', conf, ...args], { timeoutMs: 60000 });
  const purgeAge = (): number => {
    const r = client(['get', 'dbpurgeage']);
    assert.equal(r.status, 0, r.stderr);
    return Number(/(-?\d+)\s*seconds/.exec(r.stdout)?.[1] ?? NaN);
  };
  const pid = (): number | null => pidFromFile(join(dir, 'f2b.pid'));

  before(() => {
    assertRealHost();
    dir = mkdtempSync(join(tmpdir(), 'voip-f2b-hs-purge-'));
    root = join(dir, 'root');
    conf = join(root, 'etc/fail2ban');
    mkdirSync(conf, { recursive: true });
    cpSync('/etc/os-release', join(root, 'etc/os-release'));
    for (const f of PACKAGE_FILES) cpSync(join('/etc/fail2ban', f), join(conf, f), { recursive: true });
    assert.match(readFileSync(join(conf, 'fail2ban.conf'), 'utf8'), /^dbpurgeage = 1d$/m, "Debian 12's fail2ban.conf keeps 1 day");
    adminLocal = [
      '# The admin\'s own fail2ban.local: every line of it must survive.',
      '[Definition]',
      'loglevel = INFO   ; mine',
      `logtarget = ${dir}/fail2ban.log`,
      `socket = ${dir}/f2b.sock`,
      `pidfile = ${dir}/f2b.pid`,
      `dbfile = ${dir}/fail2ban.sqlite3`,
      '',
      '[Thread]',
      '',
    ].join('\n');
    writeFileSync(join(conf, 'fail2ban.local'), adminLocal);
  });
  after(async () => {
    const p = pid();
    if (p !== null) {
      client(['stop']);
      await stopPid(p);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('before the install, the running server keeps 1 day', () => {
    const r = client(['-x', 'start']);
    assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
    assert.ok(pid(), 'private fail2ban-server runs');
    assert.equal(purgeAge(), 86400);
  });

  it('the install raises it in fail2ban.local, keeping the admin\'s lines; fail2ban-client -t accepts it', () => {
    const r = runCli(['install', '--root', root, '--yes', '--whitelist', '203.0.113.7', '--no-doctor'], { env: { SSH_CONNECTION: undefined, CI: '1' } });
    assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
    assert.match(r.stdout, /CREATE\s+\/etc\/fail2ban\/jail\.local/);
    assert.match(r.stdout, /UPDATE\s+\/etc\/fail2ban\/fail2ban\.local\s+\(fail2ban keeps 30 days of ban history \(dbpurgeage\)\)/);
    const local = readFileSync(join(conf, 'fail2ban.local'), 'utf8');
    assert.equal(local, adminLocal.replace(`dbfile = ${dir}/fail2ban.sqlite3\n`, `dbfile = ${dir}/fail2ban.sqlite3\ndbpurgeage = 30d\n`));
    const t = client(['-t']);
    assert.equal(t.status, 0, `${t.stderr}${t.stdout}`);
  });

  it('the running server picks it up: 2592000 s after a reload, and after the restart the install runs', () => {
    const before = pid();
    assert.equal(client(['reload']).status, 0);
    assert.equal(purgeAge(), 2592000);
    assert.equal(pid(), before, 'a reload keeps the process');
    // What `service fail2ban restart` (or fail2ban-client -x restart without an init system) does.
    const r = client(['-x', 'restart']);
    assert.equal(r.status, 0, `${r.stderr}${r.stdout}`);
    assert.equal(purgeAge(), 2592000);
  });

  it('a re-run changes nothing; uninstall gives the admin\'s file back byte for byte', () => {
    const again = runCli(['install', '--root', root, '--yes', '--whitelist', '203.0.113.7', '--no-doctor'], { env: { SSH_CONNECTION: undefined, CI: '1' } });
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /UNCHANGED\s+\/etc\/fail2ban\/fail2ban\.local/);
    assert.match(again.stdout, /Nothing to do/);
    const u = runCli(['uninstall', '--root', root, '--yes'], { env: { CI: '1' } });
    assert.equal(u.status, 0, `${u.stderr}${u.stdout}`);
    assert.match(u.stdout, /RESTORE \/etc\/fail2ban\/fail2ban\.local/);
    assert.equal(readFileSync(join(conf, 'fail2ban.local'), 'utf8'), adminLocal);
    assert.equal(existsSync(join(conf, 'jail.local')), false);
  });
});
