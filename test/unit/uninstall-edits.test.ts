// needs: root
/**
 * Issue 21, "uninstall keeps the admin's later edits": the manifest records what the tool last
 * wrote to each file; uninstall compares, restores the original as before when nothing changed,
 * and otherwise carries the admin's own jail.local sections (and keys added to sections of the
 * original) into the restored file and keeps the admin's version beside the file as
 * `<name>.voip-f2b-install.kept`, saying so in the text output, --json and --dry-run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { install } from '../../src/commands/install.ts';
import { uninstall, formatUninstallReport } from '../../src/commands/uninstall.ts';
import { sha256 } from '../../src/adapters/manifest.ts';
import { installOptions } from '../helpers/options.ts';
import { liveDebian12Root, liveDebian12Runner, removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';
import { REPO, runCli } from '../helpers/cli.ts';
import { MAIL_STATE_DIR } from '../../src/core/paths.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const opts = installOptions({ whitelist: ['203.0.113.7'], yes: true, services: ['asterisk'] });
const ORIGINAL = '# mine\n[DEFAULT]\nbantime = 600\n\n[recidive]\nenabled = true\n';
const LOGGER = '[general]\n\n[logfiles]\nmessages => notice,warning\n';
const MY_JAIL = '# my own jail\n[my-sip]\nenabled = true\nfilter = sshd\nlogpath = /var/log/my-sip.log\n';
const JAIL = 'etc/fail2ban/jail.local';
const KEPT = `${JAIL}.voip-f2b-install.kept`;
const MANIFEST = 'var/backups/voip-f2b-install/manifest.json';

async function installed(files: Record<string, string> = { '/etc/fail2ban/jail.local': ORIGINAL, '/etc/asterisk/logger.conf': LOGGER }): Promise<string> {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '', ...files });
  await install(opts, testContext(root));
  return root;
}
const read = (root: string, p: string): Promise<string | null> => readFile(path.join(root, p), 'utf8').catch(() => null);
const put = (root: string, p: string, text: string): Promise<void> => writeFile(path.join(root, p), text);
/** The lines uninstall prints about edits (the same in --dry-run). */
const editLines = (text: string): string[] => text.split('\n').filter((l) => /^(CARRY|KEEP|Edited:)/.test(l));

test('the manifest records the sha256 of what the tool last wrote to each file; nothing is left open', async () => {
  const root = await installed();
  try {
    const m = JSON.parse((await read(root, MANIFEST))!);
    for (const f of m.files) {
      assert.equal(f.writing, undefined, f.path);
      assert.equal(f.lastWritten?.sha256, sha256((await read(root, f.path))!), f.path);
    }
    const jail = m.files.find((f: { path: string }) => f.path === '/etc/fail2ban/jail.local');
    assert.deepEqual(Object.keys(jail.lastWritten.sections), ['DEFAULT', 'recidive', 'sshd', 'voip-asterisk']);
    // A re-run with another setting records the new text.
    await install({ ...opts, bantime: '2h' }, testContext(root));
    const m2 = JSON.parse((await read(root, MANIFEST))!);
    const jail2 = m2.files.find((f: { path: string }) => f.path === '/etc/fail2ban/jail.local');
    assert.equal(jail2.lastWritten.sha256, sha256((await read(root, JAIL))!));
    assert.notEqual(jail2.lastWritten.sha256, jail.lastWritten.sha256);
    // Unchanged files: uninstall restores and removes as before, without a word about edits.
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.deepEqual(r.edits, []);
    assert.equal(await read(root, JAIL), ORIGINAL);
    assert.equal(await read(root, KEPT), null);
  } finally {
    await removeRoot(root);
  }
});

test('jail.local: a jail the admin added is carried into the restored file; a changed maxretry is kept in .kept with a line naming it; --dry-run lists the same', async () => {
  const root = await installed();
  try {
    const ours = (await read(root, JAIL))!;
    const admin = `${ours.replace(/^maxretry = 5$/m, 'maxretry = 3').replace('[voip-asterisk]\n', '[voip-asterisk]\nfindtime = 1h\n')}\n${MY_JAIL}`;
    assert.notEqual(admin, `${ours}\n${MY_JAIL}`);
    await put(root, JAIL, admin);

    const before = await snapshot(root);
    const dry = await uninstall({ purgePackages: false, dryRun: true }, testContext(root));
    assert.deepEqual(await snapshot(root), before, '--dry-run changes nothing');
    assert.equal(dry.edits.length, 1);
    const e = dry.edits[0]!;
    assert.equal(e.path, '/etc/fail2ban/jail.local');
    assert.deepEqual(e.carried, ['[my-sip]']);
    assert.deepEqual(e.notCarried.sort(), ['[DEFAULT] maxretry changed', '[voip-asterisk] findtime added']);
    assert.equal(e.keptAs, '/etc/fail2ban/jail.local.voip-f2b-install.kept');
    const dryText = formatUninstallReport(dry);
    assert.match(dryText, /^CARRY {3}\[my-sip\] into \/etc\/fail2ban\/jail\.local$/m);
    assert.match(dryText, /^KEEP {4}\/etc\/fail2ban\/jail\.local\.voip-f2b-install\.kept \(your version of \/etc\/fail2ban\/jail\.local\)$/m);
    assert.match(dryText, /^Edited: \/etc\/fail2ban\/jail\.local: .*not carried: \[DEFAULT\] maxretry changed/m);
    assert.match(dryText, /^Dry run: nothing was changed\.$/m);

    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.deepEqual(editLines(formatUninstallReport(r)), editLines(dryText), 'the run says what --dry-run said');
    assert.equal(await read(root, JAIL), `${ORIGINAL}\n${MY_JAIL}`, 'the original, with the admin jail (and its comment) carried');
    assert.equal(await read(root, KEPT), admin, 'the whole admin version kept beside');
    assert.equal(await read(root, MANIFEST), null, 'the tool is gone all the same');
  } finally {
    await removeRoot(root);
  }
});

test('jail.local: only a section added (no jail.local before install) → the restored jail.local holds just it; no .kept', async () => {
  const root = await installed({});
  try {
    const ours = (await read(root, JAIL))!;
    await put(root, JAIL, `${ours}\n${MY_JAIL}`);
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(r.edits.length, 1);
    assert.equal(r.edits[0]!.keptAs, undefined);
    assert.deepEqual(r.edits[0]!.carried, ['[my-sip]']);
    assert.equal(await read(root, JAIL), MY_JAIL);
    assert.equal((await stat(path.join(root, JAIL))).mode & 0o777, 0o644);
    assert.equal(await read(root, KEPT), null);
    const text = formatUninstallReport(r);
    assert.match(text, /^Edited: \/etc\/fail2ban\/jail\.local: \[my-sip\] added or changed after voip-f2b-install wrote it is left in \/etc\/fail2ban\/jail\.local, which holds only it now \(there was none before\)$/m);
    assert.doesNotMatch(text, /^REMOVE {2}\/etc\/fail2ban\/jail\.local$/m);
  } finally {
    await removeRoot(root);
  }
});

test('jail.local: a key added to, or changed in, a section of the original (one the tool left alone) is carried into it', async () => {
  const root = await installed();
  try {
    const ours = (await read(root, JAIL))!;
    await put(root, JAIL, ours.replace('[recidive]\nenabled = true\n', '[recidive]\nenabled = false\nbantime = 1w\n'));
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.deepEqual(r.edits[0]!.carried.sort(), ['[recidive] bantime', '[recidive] enabled']);
    assert.deepEqual(r.edits[0]!.notCarried, []);
    assert.equal(await read(root, JAIL), '# mine\n[DEFAULT]\nbantime = 600\n\n[recidive]\nenabled = false\nbantime = 1w\n');
    assert.ok(await read(root, KEPT), 'and the exact admin text is kept beside');
  } finally {
    await removeRoot(root);
  }
});

test('jail.local: a section the admin added before a re-run stays the admin\'s (carried at uninstall, no .kept)', async () => {
  const root = await installed();
  try {
    await put(root, JAIL, `${(await read(root, JAIL))!}\n${MY_JAIL}`);
    await install({ ...opts, bantime: '2h' }, testContext(root)); // rewrites jail.local, the admin's jail inside
    assert.match((await read(root, JAIL))!, /^bantime = 2h$/m);
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.deepEqual(r.edits.map((e) => [e.carried, e.notCarried, e.keptAs]), [[['[my-sip]'], [], undefined]]);
    assert.equal(await read(root, JAIL), `${ORIGINAL}\n${MY_JAIL}`);
  } finally {
    await removeRoot(root);
  }
});

test('other files: an edited file the tool changed (logger.conf) or created (its filter) → original back / ours removed, the admin version kept as .kept, with a line', async () => {
  const root = await installed();
  try {
    const logger = `${(await read(root, 'etc/asterisk/logger.conf'))!}; my note\n`;
    await put(root, 'etc/asterisk/logger.conf', logger);
    const filter = `${(await read(root, 'etc/fail2ban/filter.d/voip-asterisk.conf'))!}# tuned\n`;
    await put(root, 'etc/fail2ban/filter.d/voip-asterisk.conf', filter);
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    const text = formatUninstallReport(r);
    assert.equal(await read(root, 'etc/asterisk/logger.conf'), LOGGER);
    assert.equal(await read(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept'), logger);
    assert.equal(await read(root, 'etc/fail2ban/filter.d/voip-asterisk.conf'), null);
    assert.equal(await read(root, 'etc/fail2ban/filter.d/voip-asterisk.conf.voip-f2b-install.kept'), filter);
    assert.match(text, /^Edited: \/etc\/asterisk\/logger\.conf changed after voip-f2b-install last wrote it; its original is restored, your version is kept as \/etc\/asterisk\/logger\.conf\.voip-f2b-install\.kept$/m);
    assert.match(text, /^Edited: \/etc\/fail2ban\/filter\.d\/voip-asterisk\.conf changed after voip-f2b-install last wrote it; it is removed, your version is kept as /m);
    assert.match(text, /^KEEP {4}\/etc\/asterisk\/logger\.conf\.voip-f2b-install\.kept \(your version of \/etc\/asterisk\/logger\.conf\)$/m);
    assert.equal(r.edits.length, 2);
  } finally {
    await removeRoot(root);
  }
});

test('a .kept of an earlier uninstall that differs is not overwritten (.kept.2); an equal one is reused', async () => {
  const root = await installed();
  try {
    await put(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept', 'older\n');
    await put(root, 'etc/asterisk/logger.conf', 'mine now\n');
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(r.edits[0]!.keptAs, '/etc/asterisk/logger.conf.voip-f2b-install.kept.2');
    assert.equal(await read(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept'), 'older\n');
    assert.equal(await read(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept.2'), 'mine now\n');
  } finally {
    await removeRoot(root);
  }
});

test('a manifest of an older version (no record): a file modified after it says "cannot tell", keeps the version beside; one not modified since is the tool\'s', async () => {
  const root = await installed();
  try {
    const m = JSON.parse((await read(root, MANIFEST))!);
    for (const f of m.files) delete f.lastWritten;
    await put(root, MANIFEST, JSON.stringify(m));
    const old = new Date('2026-01-01T00:00:00Z');
    for (const f of m.files) await utimes(path.join(root, f.path), old, old);
    await put(root, 'etc/asterisk/logger.conf', 'edited after\n'); // mtime now, after the manifest's
    const later = new Date(Date.now() + 60000);
    await utimes(path.join(root, 'etc/asterisk/logger.conf'), later, later);
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(r.edits.length, 1, JSON.stringify(r.edits));
    assert.match(r.edits[0]!.message, /^cannot tell whether you edited \/etc\/asterisk\/logger\.conf .*; its original is restored, your version is kept as \/etc\/asterisk\/logger\.conf\.voip-f2b-install\.kept$/);
    assert.equal(await read(root, 'etc/asterisk/logger.conf'), LOGGER);
    assert.equal(await read(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept'), 'edited after\n');
    assert.equal(await read(root, JAIL), ORIGINAL);
  } finally {
    await removeRoot(root);
  }
});

test('a file the admin removed after install: its original is restored, and said', async () => {
  const root = await installed();
  try {
    await writeFile(path.join(root, 'etc/asterisk/logger.conf'), '');
    await (await import('node:fs/promises')).rm(path.join(root, 'etc/asterisk/logger.conf'));
    const r = await uninstall({ purgePackages: false, dryRun: true }, testContext(root));
    assert.match(formatUninstallReport(r), /^Edited: \/etc\/asterisk\/logger\.conf was removed after voip-f2b-install wrote it; its original is restored$/m);
  } finally {
    await removeRoot(root);
  }
});

test('live host: carried sections fail2ban rejects are not carried after all (original back, version kept, warning)', async () => {
  const root = await liveDebian12Root({ '/etc/fail2ban/jail.local': ORIGINAL, '/etc/asterisk/asterisk.conf': '' });
  try {
    await install(opts, testContext(root, { run: liveDebian12Runner(['voip-asterisk']), live: true }));
    const admin = `${(await read(root, JAIL))!}\n[my-voip]\nenabled = true\nfilter = voip-asterisk\nlogpath = /var/log/asterisk/security\n`;
    await put(root, JAIL, admin);
    // fail2ban-client -t fails while jail.local holds [my-voip] (its filter went with the tool).
    const run = liveDebian12Runner([], (c) => {
      if (c.cmd === 'fail2ban-client' && c.args[0] === '-t' && readFileSync(path.join(root, JAIL), 'utf8').includes('[my-voip]')) {
        return { exitCode: 255, stderr: "ERROR   Unable to read the filter 'voip-asterisk'\nERROR   Errors in jail 'my-voip'. Skipping...\n" };
      }
      return undefined;
    });
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root, { run, live: true }));
    assert.equal(await read(root, JAIL), ORIGINAL);
    assert.equal(await read(root, KEPT), admin);
    assert.deepEqual(r.edits[0]!.carried, []);
    assert.equal(r.edits[0]!.keptAs, '/etc/fail2ban/jail.local.voip-f2b-install.kept');
    assert.match(formatUninstallReport(r), /^Warning: fail2ban rejected the restored configuration with what you added carried into \/etc\/fail2ban\/jail\.local \(ERROR Unable to read the filter 'voip-asterisk'.*\); not carried after all: its original is restored, your version is in \/etc\/fail2ban\/jail\.local\.voip-f2b-install\.kept$/m);
    assert.equal(run.lines().filter((l) => l === 'fail2ban-client -t').length, 2);
  } finally {
    await removeRoot(root);
  }
});

test('--json lists the edits; the CLI prints the same lines for uninstall and its --dry-run', async () => {
  const root = await installed();
  try {
    await put(root, JAIL, `${(await read(root, JAIL))!}\n${MY_JAIL}`);
    const j = runCli(['uninstall', '--dry-run', '--json', '--root', root]);
    assert.equal(j.status, 0, j.stderr);
    const edits = JSON.parse(j.stdout).edits;
    assert.deepEqual(edits, [{ path: '/etc/fail2ban/jail.local', carried: ['[my-sip]'], notCarried: [], message: edits[0].message }]);
    const d = runCli(['uninstall', '--dry-run', '--root', root]);
    const u = runCli(['uninstall', '--root', root]);
    assert.equal(u.status, 0, u.stderr);
    assert.deepEqual(editLines(u.stdout), editLines(d.stdout));
    assert.equal(editLines(u.stdout).length, 2);
  } finally {
    await removeRoot(root);
  }
});

test('a link a service account put in place of a managed file is not read nor kept: replaced by the original as before, and said', { skip: process.getuid?.() !== 0 ? 'needs root (chown)' : false }, async () => {
  const root = await installed();
  try {
    const { chown, rm, symlink } = await import('node:fs/promises');
    await chown(path.join(root, 'etc/asterisk'), 2001, 2001);
    await put(root, 'secret', 'not for asterisk\n');
    await rm(path.join(root, 'etc/asterisk/logger.conf'));
    await symlink(path.join(root, 'secret'), path.join(root, 'etc/asterisk/logger.conf'));
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.match(r.edits[0]!.message, /^\/etc\/asterisk\/logger\.conf is no longer a file the tool can read safely \(refusing .*\); not kept; its original is restored$/);
    assert.equal(await read(root, 'etc/asterisk/logger.conf'), LOGGER);
    assert.equal(await read(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept'), null);
    assert.equal(await read(root, 'secret'), 'not for asterisk\n');
  } finally {
    await removeRoot(root);
  }
});

test('the admin\'s file edited in place, changed by the admin and then rewritten by a later run that kept the change: kept beside at uninstall, and said', async () => {
  const root = await installed();
  try {
    const ours = (await read(root, 'etc/asterisk/logger.conf'))!;
    const security = ours.split('\n').find((l) => /security/.test(l) && /=>/.test(l))!;
    assert.ok(security, ours);
    // The admin adds a channel of their own and drops ours; the re-run puts ours back, keeping theirs.
    await put(root, 'etc/asterisk/logger.conf', `${ours.replace(`${security}\n`, '')}debug.log => debug\n`);
    await install(opts, testContext(root));
    const rewritten = (await read(root, 'etc/asterisk/logger.conf'))!;
    assert.ok(rewritten.includes(security) && rewritten.includes('debug.log => debug'), rewritten);
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(await read(root, 'etc/asterisk/logger.conf'), LOGGER);
    assert.equal(await read(root, 'etc/asterisk/logger.conf.voip-f2b-install.kept'), rewritten);
    assert.match(formatUninstallReport(r), /^Edited: \/etc\/asterisk\/logger\.conf held changes made after voip-f2b-install wrote it, which a later run kept; its original is restored, the version with them is kept as \/etc\/asterisk\/logger\.conf\.voip-f2b-install\.kept$/m);
    assert.deepEqual(r.edits.map((e) => e.path), ['/etc/asterisk/logger.conf']);
  } finally {
    await removeRoot(root);
  }
});

test('an uninstall killed after the files and run again: the same result, no second .kept', async () => {
  const root = await installed();
  try {
    const ours = (await read(root, JAIL))!;
    const admin = `${ours.replace(/^maxretry = 5$/m, 'maxretry = 3')}\n${MY_JAIL}`;
    await put(root, JAIL, admin);
    await put(root, 'etc/asterisk/logger.conf', 'mine now\n');
    // The state a kill after step 1 leaves: files done, the manifest and backups still there.
    const { cp, rm } = await import('node:fs/promises');
    const saved = `${root}.state`;
    await cp(path.join(root, 'var'), saved, { recursive: true });
    await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    const once = await snapshot(root);
    await cp(saved, path.join(root, 'var'), { recursive: true });
    await rm(saved, { recursive: true });
    const r = await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.deepEqual(await snapshot(root), once);
    assert.equal(await read(root, JAIL), `${ORIGINAL}\n${MY_JAIL}`);
    assert.equal(await read(root, `${KEPT}.2`), null);
    assert.deepEqual(r.edits.map((e) => e.carried), [['[my-sip]']], 'the carried jail is still said');
  } finally {
    await removeRoot(root);
  }
});

test("uninstall removes the mail action's state (pending bans, time of its last mail), never a foreign file beside it", async () => {
  const { mkdir, rm } = await import('node:fs/promises');
  // The path is the action's own statedir.
  const action = await readFile(path.join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-mail.conf'), 'utf8');
  assert.match(action, new RegExp(`^statedir = ${MAIL_STATE_DIR.replace(/\./g, '\\.')}$`, 'm'));
  const root = await installed();
  try {
    const dir = path.join(root, MAIL_STATE_DIR.slice(1));
    for (const jail of ['voip-asterisk', 'sshd', 'admins']) await mkdir(path.join(dir, jail), { recursive: true });
    for (const jail of ['voip-asterisk', 'sshd']) {
      await put(root, `${MAIL_STATE_DIR.slice(1)}/${jail}/pending`, '2026-12-07 10:00:00  203.0.113.9  5\n');
      await put(root, `${MAIL_STATE_DIR.slice(1)}/${jail}/last`, '1796640000\n');
    }
    await put(root, `${MAIL_STATE_DIR.slice(1)}/admins/notes.txt`, 'mine');
    await put(root, `${MAIL_STATE_DIR.slice(1)}/admins/last`, '1796640000\n');
    await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    for (const jail of ['voip-asterisk', 'sshd']) assert.equal(await stat(path.join(dir, jail)).catch(() => null), null, `${jail}: gone`);
    assert.equal(await read(root, `${MAIL_STATE_DIR.slice(1)}/admins/notes.txt`), 'mine', 'a foreign file stays');
    assert.equal(await read(root, `${MAIL_STATE_DIR.slice(1)}/admins/last`), null);
    // Without the foreign file, nothing is left at all.
    await rm(path.join(dir, 'admins/notes.txt'));
    const again = await installed();
    try {
      const dir2 = path.join(again, MAIL_STATE_DIR.slice(1));
      await mkdir(path.join(dir2, 'voip-asterisk'), { recursive: true });
      await put(again, `${MAIL_STATE_DIR.slice(1)}/voip-asterisk/pending`, '');
      await uninstall({ purgePackages: false, dryRun: false }, testContext(again));
      assert.equal(await stat(dir2).catch(() => null), null, 'the empty statedir is gone');
    } finally {
      await removeRoot(again);
    }
  } finally {
    await removeRoot(root);
  }
});

test("uninstall removes the guard's office state (and a temp file it left), never a foreign file beside it", async () => {
  const root = await installed();
  try {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.join(root, 'var/lib/voip-f2b-install'), { recursive: true });
    await put(root, 'var/lib/voip-f2b-install/office-voip-asterisk.json', '{"version":1}\n');
    await put(root, 'var/lib/voip-f2b-install/office-voip-asterisk.json.tmp', '{');
    await uninstall({ purgePackages: false, dryRun: false }, testContext(root));
    assert.equal(await read(root, 'var/lib/voip-f2b-install/office-voip-asterisk.json'), null);
    assert.equal(await read(root, 'var/lib/voip-f2b-install/office-voip-asterisk.json.tmp'), null);
    assert.equal(await stat(path.join(root, 'var/lib/voip-f2b-install')).catch(() => null), null, 'the empty directory is gone');
    // A file that is not the guard's stays, and so does its directory.
    const root2 = await installed();
    try {
      await mkdir(path.join(root2, 'var/lib/voip-f2b-install'), { recursive: true });
      await put(root2, 'var/lib/voip-f2b-install/office-voip-asterisk.json', '{}');
      await put(root2, 'var/lib/voip-f2b-install/notes.txt', 'mine');
      await uninstall({ purgePackages: false, dryRun: false }, testContext(root2));
      assert.equal(await read(root2, 'var/lib/voip-f2b-install/notes.txt'), 'mine');
      assert.equal(await read(root2, 'var/lib/voip-f2b-install/office-voip-asterisk.json'), null);
    } finally {
      await removeRoot(root2);
    }
  } finally {
    await removeRoot(root);
  }
});
