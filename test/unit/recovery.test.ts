// needs: root
/**
 * Issue 10, the parts a --root crash sweep cannot show: a no-op re-run that finds a log file
 * missing or with the wrong owner repairs it (and does not say "Nothing to do"); uninstall on a
 * live host whose restored stock config cannot start (the Debian sshd trap) is a failure with
 * the reason and the fix, or leaves the minimal sshd override with consent (--yes); warnings
 * reach the text output; `uninstall --yes` and VOIP_F2B_YES are accepted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { install, formatInstallReport } from '../../src/commands/install.ts';
import { uninstall, formatUninstallReport } from '../../src/commands/uninstall.ts';
import { SSHD_OVERRIDE } from '../../src/core/services/sshd.ts';
import { parseArgs } from '../../src/cli.ts';
import { installOptions } from '../helpers/options.ts';
import { liveDebian12Root, liveDebian12Runner, recordingRunner, removeRoot, tempRoot, testContext } from '../helpers/context.ts';
import { runCli } from '../helpers/cli.ts';
import type { Command } from '../../src/adapters/runner.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const opts = installOptions({ whitelist: ['203.0.113.7'], yes: true, services: ['asterisk'] });

test('a re-run recreates a deleted log file and repairs a lost owner: not "Nothing to do"', { skip: process.getuid?.() !== 0 ? 'needs root (chown)' : false }, async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '' });
  try {
    await mkdir(path.join(root, 'var/log/asterisk'), { recursive: true });
    await chown(path.join(root, 'var/log/asterisk'), 2001, 2001);
    await install(opts, testContext(root));
    const log = path.join(root, 'var/log/asterisk/security');
    assert.equal((await stat(log)).uid, 2001, 'created with the directory owner');
    assert.equal(formatInstallReport(await install(opts, testContext(root))).includes('Nothing to do'), true);

    await rm(log);
    const r1 = await install(opts, testContext(root));
    assert.equal(r1.nothingToDo, false);
    assert.ok(r1.repaired.some((x) => x.includes('/var/log/asterisk/security is missing')), JSON.stringify(r1.repaired));
    assert.doesNotMatch(formatInstallReport(r1), /Nothing to do/);
    const st = await stat(log);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [2001, 2001, 0o640]);

    await chown(log, 0, 0);
    const r2 = await install(opts, testContext(root));
    assert.ok(r2.repaired.some((x) => x.includes('lost its owner or mode')), JSON.stringify(r2.repaired));
    assert.equal((await stat(log)).uid, 2001, 'owner repaired');
    assert.equal((await install(opts, testContext(root))).nothingToDo, true, 'and now it is true');
  } finally {
    await removeRoot(root);
  }
});

/** A live Debian 12 host (sysvinit, no journald) where fail2ban runs. */
function liveHost(): Promise<string> {
  return liveDebian12Root({
    '/etc/fail2ban/jail.conf': '[sshd]\nport = ssh\n',
    '/etc/fail2ban/jail.d/defaults-debian.conf': '[sshd]\nenabled = true\n',
    '/etc/asterisk/asterisk.conf': '',
  });
}

const SSHD_ERROR = "ERROR   Failed during configuration: Have not found any log file for sshd jail\nERROR   Errors in jail 'sshd'. Skipping...\n";

/** Answers of a Debian 12 host where fail2ban and our jail work (for the install before uninstall). */
function host() {
  return liveDebian12Runner(['voip-asterisk']);
}

test('uninstall: the restored stock config cannot start (sshd trap) and fail2ban ran before: failure with the reason and the fix', async () => {
  const root = await liveHost();
  try {
    await install(opts, testContext(root, { run: host(), live: true }));
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    const run = recordingRunner((c) => {
      if (c.cmd === 'fail2ban-client' && c.args[0] === '-t') return { exitCode: 255, stderr: SSHD_ERROR };
      if (c.cmd === 'service' && c.args.join(' ') === 'fail2ban restart') return { exitCode: 1, stderr: SSHD_ERROR };
      return undefined;
    });
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root, { run, live: true }));
    assert.equal(r.failures.length, 1, JSON.stringify(r));
    assert.match(r.failures[0]!, /fail2ban was running before uninstall and does not run on the restored configuration: .*sshd/);
    assert.ok(r.fixes[0]!.startsWith(`printf '[sshd]\\nenabled = false\\n' > ${SSHD_OVERRIDE} && service fail2ban restart`), r.fixes[0]);
    const text = formatUninstallReport(r);
    assert.match(text, /^Warning: the restored stock configuration enables the sshd jail, which cannot start here/m);
    assert.match(text, /^FAILED: /m);
    assert.doesNotMatch(text, /^Done\.$/m);
    assert.equal(await readFile(path.join(root, SSHD_OVERRIDE), 'utf8').catch(() => null), null, 'nothing left without consent');
    assert.equal(await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8').catch(() => null), null, 'the files are restored all the same');
  } finally {
    await removeRoot(root);
  }
});

test('uninstall --purge-packages that purges packages other than fail2ban (cron the watch brought) still restarts fail2ban on the restored configuration', async () => {
  const root = await liveHost();
  try {
    await install(opts, testContext(root, { run: host(), live: true }));
    // The install brought cron (for the watch): its manifest lists it.
    const manifestPath = path.join(root, 'var/backups/voip-f2b-install/manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { packages: string[] };
    manifest.packages = ['cron'];
    await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    const run = recordingRunner((c) => {
      if (c.cmd === 'fail2ban-client' && c.args[0] === 'status') return { stdout: 'Status\n|- Number of jail:\t0\n`- Jail list:\t\n' };
      return undefined;
    });
    const r = await uninstall({ purgePackages: true, dryRun: false, yes: true }, testContext(root, { run, live: true }));
    assert.deepEqual(r.packagesRemoved, ['cron']);
    assert.ok(run.lines().some((l) => /^apt-get .*purge cron$/.test(l)), run.lines().join('\n'));
    assert.ok(run.lines().includes('service fail2ban restart'), `fail2ban no longer runs the tool's jails: ${run.lines().join('\n')}`);
    assert.deepEqual(r.failures, []);
  } finally {
    await removeRoot(root);
  }
});

test('uninstall --yes leaves the minimal sshd override so the stock config starts; exit 0', async () => {
  const root = await liveHost();
  try {
    await install(opts, testContext(root, { run: host(), live: true }));
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    const run = recordingRunner((c) => {
      if (c.cmd === 'fail2ban-client' && c.args[0] === '-t') return { exitCode: 255, stderr: SSHD_ERROR };
      if (c.cmd === 'fail2ban-client' && c.args[0] === 'status') return { stdout: 'Status\n|- Number of jail:\t0\n`- Jail list:\t\n' };
      return undefined;
    });
    const r = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run, live: true }));
    assert.deepEqual(r.failures, []);
    assert.deepEqual(r.kept, [SSHD_OVERRIDE]);
    assert.match(await readFile(path.join(root, SSHD_OVERRIDE), 'utf8'), /^\[sshd\]\nenabled = false\n$/m);
    assert.ok(run.lines().includes('service fail2ban restart'));
    assert.match(formatUninstallReport(r), /^KEEP    \/etc\/fail2ban\/jail\.d\/sshd-voip-f2b-uninstall\.local$/m);
  } finally {
    await removeRoot(root);
  }
});

test('uninstall accepts --yes and VOIP_F2B_YES; with nothing installed it says so in text mode, exit 0', async () => {
  const a = parseArgs(['uninstall', '--yes'], {});
  assert.ok(a.command === 'uninstall' && a.yes === true);
  const b = parseArgs(['uninstall'], { VOIP_F2B_YES: '1' });
  assert.ok(b.command === 'uninstall' && b.yes === true);
  const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
  try {
    const r = runCli(['uninstall', '--yes', '--root', root]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Warning: nothing to undo: no manifest of an earlier install was found$/m);
    assert.match(r.stdout, /^Nothing to undo\.$/m);
  } finally {
    await removeRoot(root);
  }
});

test('live host: a run killed after its files (before the restart) leaves the journal open; the re-run restarts fail2ban and closes it', async () => {
  const root = await liveHost();
  try {
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`); // fail2ban runs (old config)
    const base = host();
    // The process "dies" at the restart: the runner throws, nothing after it runs.
    const dying = recordingRunner((c) => {
      if (c.cmd === 'service' && c.args.join(' ') === 'fail2ban restart') throw new Error('killed');
      return undefined;
    });
    const crashing = (async (c: Command) => (c.cmd === 'service' ? dying(c) : base(c))) as typeof base;
    await assert.rejects(install(opts, testContext(root, { run: crashing, live: true })), /killed/);
    const journal = JSON.parse(await readFile(path.join(root, 'var/backups/voip-f2b-install/manifest.json'), 'utf8'));
    assert.ok(journal.pending, 'the journal is still open after the files were written');

    const again = host();
    const r = await install(opts, testContext(root, { run: again, live: true }));
    assert.equal(r.nothingToDo, false);
    assert.ok(r.files.every((f) => f.action === 'UNCHANGED'), 'the files were already written');
    assert.ok(again.lines().includes('fail2ban-client -t') && again.lines().includes('service fail2ban restart'), again.lines().join('\n'));
    assert.ok(r.recovered.some((x) => /was interrupted; finishing it/.test(x)), JSON.stringify(r.recovered));
    const closed = JSON.parse(await readFile(path.join(root, 'var/backups/voip-f2b-install/manifest.json'), 'utf8'));
    assert.equal(closed.pending, undefined, 'journal closed');
    assert.equal((await install(opts, testContext(root, { run: host(), live: true }))).nothingToDo, true, 'and now there is nothing to do');
  } finally {
    await removeRoot(root);
  }
});
