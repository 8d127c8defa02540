/**
 * Quiet by default: the built CLI prints the plan as one line per file, the steps and the
 * report; full diffs only with --diff, and in --dry-run for the files the admin owns. Only what
 * is used is written (no filter for a service not chosen, no mail action without --email); a
 * file written by an earlier run stays until uninstall.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { removeRoot, snapshot, tempRoot } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const LOGGER = await readFile(new URL('../fixtures/upstream/asterisk/logger.conf.sample.148f835', import.meta.url), 'utf8');
const ADMIN_JAIL = '# my own settings\n[DEFAULT]\nbantime = 600\n';

/** A Debian 12 tree with Asterisk (its shipped logger.conf) and the admin's own jail.local. */
const pbx = (): Promise<string> =>
  tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\n', '/etc/asterisk/logger.conf': LOGGER, '/etc/fail2ban/jail.local': ADMIN_JAIL });

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');
/** File names of the `+++ b/...` headers of the diffs printed. */
const diffed = (s: string): string[] => [...s.matchAll(/^\+\+\+ b(\S+)/gm)].map((m) => m[1]!);

test('a fresh --yes --root run prints under 30 lines: one per file, the steps, the report; no diff', async () => {
  const root = await pbx();
  try {
    const r = runCli(['--yes', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    const all = [...lines(r.stdout), ...lines(r.stderr)];
    console.log(`# ${all.length} lines printed`);
    assert.ok(all.length < 30, `${all.length} lines:\n${all.join('\n')}`);
    assert.deepEqual(diffed(r.stdout), []);
    assert.match(r.stdout, /^ {2}UPDATE {4}\/etc\/fail2ban\/jail\.local {2}\(fail2ban settings and jails\)$/m);
    assert.match(r.stdout, /^ {2}CREATE {4}\/etc\/fail2ban\/filter\.d\/voip-asterisk\.conf {2}\(fail2ban filter voip-asterisk\)$/m);
    assert.match(r.stdout, /^ {2}UPDATE {4}\/etc\/asterisk\/logger\.conf {2}\(Asterisk: /m);
    assert.match(r.stdout, /^  \(diffs with --diff\)$/m);
    assert.match(r.stdout, /^ {2}CREATE {4}\/etc\/fail2ban\/action\.d\/voip-f2b-ipset\.py {2}\(ban action /m);
    assert.match(r.stdout, /^ {2}CREATE {4}\/etc\/fail2ban\/fail2ban\.local {2}\(fail2ban keeps 30 days of ban history \(dbpurgeage\)\)$/m);
    // The watch (on by default): the program's copy (one line) and its cron entry.
    assert.match(r.stdout, /^ {2}CREATE {4}\/usr\/local\/lib\/voip-f2b-install\/ {2}\(the tool's program, run by the watch \(\d+ files\)\)$/m);
    assert.match(r.stdout, /^ {2}CREATE {4}\/etc\/cron\.d\/voip-f2b-install-watch {2}\(the watch: a cron entry, every 5m\)$/m);
    assert.match(r.stdout, /^Done: 8 file\(s\) written\.$/m);
  } finally {
    await removeRoot(root);
  }
});

test('only what is used is written: no mail action without --email, no filter for a service not chosen', async () => {
  const root = await pbx();
  try {
    assert.equal(runCli(['--yes', '--root', root]).status, 0);
    const fail2ban = Object.keys(await snapshot(root)).filter((p) => p.startsWith('etc/fail2ban/') && !p.endsWith('/'));
    // The ban action's own file comes with the ban action jail.local names.
    // The guard of the Asterisk jail (voip-f2b-guard.py) comes with the Asterisk jail.
    // fail2ban.local: 30 days of ban history (dbpurgeage).
    assert.deepEqual(fail2ban.sort(), ['etc/fail2ban/action.d/voip-f2b-guard.py', 'etc/fail2ban/action.d/voip-f2b-ipset.py', 'etc/fail2ban/fail2ban.local', 'etc/fail2ban/filter.d/voip-asterisk.conf', 'etc/fail2ban/jail.local']);

    // Chosen later: Kamailio's filter and the mail action appear.
    assert.equal(runCli(['--yes', '--root', root, '--services', 'asterisk,kamailio', '--email', 'root@localhost']).status, 0);
    assert.ok(existsSync(path.join(root, 'etc/fail2ban/filter.d/voip-kamailio.conf')));
    assert.ok(existsSync(path.join(root, 'etc/fail2ban/action.d/voip-f2b-mail.conf')));

    // Not chosen any more: the files written earlier stay (until uninstall), still managed.
    const r = runCli(['--yes', '--root', root, '--services', 'asterisk']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /UNCHANGED \/etc\/fail2ban\/filter\.d\/voip-kamailio\.conf/);
    assert.match(r.stdout, /UNCHANGED \/etc\/fail2ban\/action\.d\/voip-f2b-mail\.conf/);
    assert.match(await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8'), /^\[voip-kamailio\]\nenabled = false$/m);
  } finally {
    await removeRoot(root);
  }
});

test('--diff shows the diff of every changed file, the tool\'s own filters included', async () => {
  const root = await pbx();
  try {
    // The admin's bantime changes only because a flag asks (issue 21), and the plan says so.
    const r = runCli(['--yes', '--diff', '--bantime', '1h', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(diffed(r.stdout), ['/etc/fail2ban/jail.local', '/etc/fail2ban/fail2ban.local', '/etc/fail2ban/filter.d/voip-asterisk.conf', '/etc/fail2ban/action.d/voip-f2b-guard.py', '/etc/fail2ban/action.d/voip-f2b-ipset.py', '/etc/asterisk/logger.conf', '/etc/cron.d/voip-f2b-install-watch']);
    assert.match(r.stdout, /^ {2}NOTE {6}\[DEFAULT\] bantime: yours 600 → 1h \(--bantime\)$/m);
    assert.match(r.stdout, /^\+bantime = 1h$/m);
    assert.match(r.stdout, /^-bantime = 600$/m);
    assert.doesNotMatch(r.stdout, /\(diffs with /);
  } finally {
    await removeRoot(root);
  }
});

test('--dry-run shows the diffs of the admin\'s files (jail.local, logger.conf), not of the tool\'s filters; nothing changes', async () => {
  const root = await pbx();
  try {
    const before = await snapshot(root);
    const r = runCli(['--dry-run', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(diffed(r.stdout), ['/etc/fail2ban/jail.local', '/etc/fail2ban/fail2ban.local', '/etc/asterisk/logger.conf']);
    assert.match(r.stdout, /CREATE {4}\/etc\/fail2ban\/filter\.d\/voip-asterisk\.conf/);
    assert.match(r.stdout, /^  \(diffs with --diff\)$/m);
    assert.deepEqual(await snapshot(root), before);
    const all = runCli(['--dry-run', '--diff', '--root', root]);
    assert.deepEqual(diffed(all.stdout), ['/etc/fail2ban/jail.local', '/etc/fail2ban/fail2ban.local', '/etc/fail2ban/filter.d/voip-asterisk.conf', '/etc/fail2ban/action.d/voip-f2b-guard.py', '/etc/fail2ban/action.d/voip-f2b-ipset.py', '/etc/asterisk/logger.conf', '/etc/cron.d/voip-f2b-install-watch']);
  } finally {
    await removeRoot(root);
  }
});

test('a re-run prints the plan as UNCHANGED lines and "Nothing to do"', async () => {
  const root = await pbx();
  try {
    assert.equal(runCli(['--yes', '--root', root]).status, 0);
    const r = runCli(['--yes', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(diffed(r.stdout), []);
    assert.ok(lines(r.stdout).filter((l) => /^ {2}UNCHANGED /.test(l)).length === 8);
    assert.match(r.stdout, /^Nothing to do: the configuration is already in place\.$/m);
  } finally {
    await removeRoot(root);
  }
});
