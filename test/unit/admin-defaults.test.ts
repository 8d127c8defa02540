/**
 * The admin's own [DEFAULT] values (issue 21, "touch only what we manage"): on a host whose
 * jail.local existed before the tool's first run, an omitted flag keeps the admin's value, a flag
 * given with another value is a deliberate change named in the plan, and a default of ours that
 * would replace theirs without a flag is refused (exit 2, nothing changed) unless
 * --override-admin-settings; bantime.overalljails keeps theirs. Options parsed by the CLI's own
 * parser (given vs omitted); install over temp roots, the FusionPBX 5 tree checked with the real
 * `fail2ban-client -d` (read-only: it parses the tree's configuration and prints it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../src/cli.ts';
import { install } from '../../src/commands/install.ts';
import { interview } from '../../src/cli/interactive.ts';
import type { Prompter } from '../../src/adapters/prompt.ts';
import type { InstallOptions } from '../../src/core/options.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { UsageError } from '../../src/errors.ts';
import { removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';
import { runCli } from '../helpers/cli.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const FIXTURES = fileURLToPath(new URL('../fixtures/pbx/', import.meta.url));
const STOCK = '/etc/fail2ban';

function cli(...args: string[]): InstallOptions {
  const inv = parseArgs(['--yes', ...args], {});
  if (inv.command !== 'install') throw new Error('not install');
  return inv.options;
}

/** The admin's jail.local, with comments, written before the tool ever ran. */
const ADMIN_DEFAULT = `# Our own settings (ops team) - please keep
[DEFAULT]
# ten minutes is enough on this box
bantime  = 600
findtime = 300
maxretry = 4
ignoreip = 127.0.0.1/8 198.51.100.9
`;
const ADMIN_JAIL = `${ADMIN_DEFAULT}
[sshd]
# our port
port    = 2222
enabled = true
`;

const host = (jail: string): Promise<string> => tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\n', '/etc/fail2ban/jail.local': jail });
const jailOf = (root: string): string => readFileSync(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');

/** Every line of `original` is in `text`, in order, each block of consecutive lines together. */
function linesKept(original: string, text: string): void {
  for (const block of original.split(/\n(?=\[)/)) {
    const lines = block.trimEnd().split('\n');
    // The admin's lines stay as they are; ours may only be added after them.
    let at = 0;
    for (const l of lines) {
      if (l.startsWith('ignoreip')) continue; // a union: theirs extended, said in the plan (checked apart)
      const i = text.indexOf(`${l}\n`, at);
      assert.ok(i >= 0, `line kept byte for byte: ${JSON.stringify(l)}\n---\n${text}`);
      at = i + l.length;
    }
  }
}

test("first install over the admin's jail.local: omitted flags keep their [DEFAULT] values (comments and lines byte for byte), said in the plan; a re-run changes nothing", async () => {
  const root = await host(ADMIN_JAIL);
  try {
    const ctx = testContext(root);
    const r = await install(cli('--whitelist', '203.0.113.7'), ctx);
    const jail = jailOf(root);
    linesKept(ADMIN_JAIL, jail);
    assert.equal(getIniValue(jail, 'DEFAULT', 'bantime'), '600');
    assert.equal(getIniValue(jail, 'DEFAULT', 'findtime'), '300');
    assert.equal(getIniValue(jail, 'DEFAULT', 'maxretry'), '4');
    assert.match(getIniValue(jail, 'DEFAULT', 'ignoreip') ?? '', /198\.51\.100\.9.*203\.0\.113\.7/);
    assert.ok(r.notes?.includes('[DEFAULT] ignoreip: yours kept, ::1 203.0.113.7 added (loopback and the whitelist; nothing of yours is removed)'), JSON.stringify(r.notes));
    assert.ok(r.notes?.includes('[DEFAULT] values of yours kept as they are: bantime 600, findtime 300, maxretry 4'), JSON.stringify(r.notes));
    assert.match(ctx.log.stdout.join(''), /NOTE {6}\[DEFAULT\] values of yours kept as they are: bantime 600, findtime 300, maxretry 4/);
    const before = await snapshot(root);
    const again = await install(cli(), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test('a flag given with another value is a deliberate change: the plan says "yours 600 → 1h (--bantime)"; the rest stays theirs', async () => {
  const root = await host(ADMIN_JAIL);
  try {
    const ctx = testContext(root);
    const r = await install(cli('--whitelist', '203.0.113.7', '--bantime', '1h', '--maxretry', '4'), ctx);
    assert.ok(r.notes?.includes('[DEFAULT] bantime: yours 600 → 1h (--bantime)'), JSON.stringify(r.notes));
    assert.ok(r.notes?.includes('[DEFAULT] values of yours kept as they are: findtime 300, maxretry 4'), JSON.stringify(r.notes));
    const jail = jailOf(root);
    assert.equal(getIniValue(jail, 'DEFAULT', 'bantime'), '1h');
    assert.equal(getIniValue(jail, 'DEFAULT', 'findtime'), '300');
    linesKept(ADMIN_JAIL.replace('bantime  = 600\n', ''), jail);
    // The next plain run keeps 1h (the setting of the last run) and has nothing to say about it.
    const again = await install(cli(), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    assert.ok(!again.notes?.some((n) => /bantime/.test(n)), JSON.stringify(again.notes));
  } finally {
    await removeRoot(root);
  }
});

test("a default of ours over the admin's value without a flag is refused (exit 2, nothing changed); their flag or --override-admin-settings decides; bantime.overalljails keeps theirs", async () => {
  const jailText = ADMIN_JAIL.replace('maxretry = 4\n', 'maxretry = 4\nbanaction = shorewall\nbantime.overalljails = false\n# no mails please\nbantime.increment = true\n');
  const root = await host(jailText);
  try {
    const before = await snapshot(root);
    await assert.rejects(install(cli('--whitelist', '203.0.113.7'), testContext(root)), (e: unknown) => {
      assert.ok(e instanceof UsageError && e.exitCode === 2, String(e));
      assert.match(e.message, /^jail\.local: \[DEFAULT\] banaction is yours \(shorewall\) and ours would be [\w-]+; the tool does not rewrite your own values without being asked$/);
      assert.equal(e.hint, 'keep yours with --banaction shorewall, or take ours with --override-admin-settings');
      return true;
    });
    assert.deepEqual(await snapshot(root), before, 'nothing changed');

    // Their value, named: kept; overalljails kept as theirs and said.
    const keep = await install(cli('--whitelist', '203.0.113.7', '--banaction', 'shorewall'), testContext(root));
    let jail = jailOf(root);
    linesKept(jailText, jail);
    assert.equal(getIniValue(jail, 'DEFAULT', 'banaction'), 'shorewall');
    assert.equal(getIniValue(jail, 'DEFAULT', 'bantime.overalljails'), 'false');
    assert.ok(keep.notes?.some((n) => /^\[DEFAULT\] bantime\.overalljails: yours false kept \(ours, true, is not needed for the bans; --override-admin-settings takes it\)$/.test(n)), JSON.stringify(keep.notes));
  } finally {
    await removeRoot(root);
  }
  const root2 = await host(jailText);
  try {
    const r = await install(cli('--whitelist', '203.0.113.7', '--override-admin-settings'), testContext(root2));
    const jail = jailOf(root2);
    assert.notEqual(getIniValue(jail, 'DEFAULT', 'banaction'), 'shorewall');
    assert.equal(getIniValue(jail, 'DEFAULT', 'bantime.overalljails'), 'true');
    assert.ok(r.notes?.some((n) => /^\[DEFAULT\] banaction: yours shorewall → [\w-]+ \(--override-admin-settings\)$/.test(n)), JSON.stringify(r.notes));
    assert.ok(r.notes?.includes('[DEFAULT] bantime.overalljails: yours false → true (--override-admin-settings)'), JSON.stringify(r.notes));
    assert.equal(getIniValue(jail, 'DEFAULT', 'bantime'), '600', 'the baseline still keeps what no flag changes');
  } finally {
    await removeRoot(root2);
  }
});

test("the admin's [DEFAULT] edits after an install are theirs too: a plain re-run keeps them (UNCHANGED), a flag's change is named, a default of ours over one is refused", async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\n' });
  try {
    await install(cli('--whitelist', '203.0.113.7', '--maxretry', '5'), testContext(root));
    const jailPath = path.join(root, 'etc/fail2ban/jail.local');
    const ours = readFileSync(jailPath, 'utf8');
    const edited = ours.replace(/^maxretry = 5$/m, 'maxretry = 7').replace(/^bantime = 1h$/m, '# two hours, we decided\nbantime = 2h');
    assert.notEqual(edited, ours);
    writeFileSync(jailPath, edited);

    const r = await install(cli(), testContext(root));
    assert.equal(r.files.find((f) => f.path === '/etc/fail2ban/jail.local')?.action, 'UNCHANGED', JSON.stringify(r.files));
    assert.equal(readFileSync(jailPath, 'utf8'), edited);
    assert.ok(r.notes?.includes('[DEFAULT] values of yours kept as they are: bantime 2h, maxretry 7'), JSON.stringify(r.notes));
    // Still theirs on the next run (the record keeps what the tool wrote).
    const again = await install(cli(), testContext(root));
    assert.equal(readFileSync(jailPath, 'utf8'), edited);
    assert.ok(again.notes?.includes('[DEFAULT] values of yours kept as they are: bantime 2h, maxretry 7'), JSON.stringify(again.notes));

    // A flag changes one, said; the other stays theirs.
    const m = await install(cli('--maxretry', '3'), testContext(root));
    assert.ok(m.notes?.includes('[DEFAULT] maxretry: yours 7 → 3 (--maxretry)'), JSON.stringify(m.notes));
    assert.equal(getIniValue(readFileSync(jailPath, 'utf8'), 'DEFAULT', 'bantime'), '2h');
    assert.equal(getIniValue(readFileSync(jailPath, 'utf8'), 'DEFAULT', 'maxretry'), '3');

    // Their banaction, changed after the install: no run replaces it without a flag.
    writeFileSync(jailPath, readFileSync(jailPath, 'utf8').replace(/^banaction = .*$/m, 'banaction = shorewall'));
    const before = await snapshot(root);
    await assert.rejects(install(cli(), testContext(root)), (e: unknown) => e instanceof UsageError && /^jail\.local: \[DEFAULT\] banaction is yours \(shorewall\)/.test(e.message));
    assert.deepEqual(await snapshot(root), before, 'nothing changed');
  } finally {
    await removeRoot(root);
  }
});

test('the command line: exit 2, one line naming the key, both values and the flags; --dry-run too; nothing changed', async () => {
  const root = await host(ADMIN_JAIL.replace('maxretry = 4\n', 'maxretry = 4\nbanaction = shorewall\n'));
  try {
    const before = await snapshot(root);
    for (const extra of [['--yes'], ['--dry-run']]) {
      const r = runCli([...extra, '--whitelist', '203.0.113.7', '--root', root]);
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.split('\n').filter((l) => /^voip-f2b-install:|^hint:/.test(l));
      assert.match(lines[0] ?? '', /^voip-f2b-install: jail\.local: \[DEFAULT\] banaction is yours \(shorewall\) and ours would be [\w-]+; the tool does not rewrite your own values without being asked$/);
      assert.equal(lines[1], 'hint: keep yours with --banaction shorewall, or take ours with --override-admin-settings');
    }
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});

test("interactive first run: the questions are pre-filled with the admin's values; a changed answer is a deliberate change, named in the plan before \"Apply this plan?\"", async () => {
  const root = await host(ADMIN_JAIL);
  try {
    const asked: Record<string, unknown> = {};
    const p: Prompter = {
      input: async (q) => {
        asked[q.flag!] = q.default;
        return q.flag === '--bantime' ? '1h' : (q.default ?? '');
      },
      confirm: async (q) => {
        if (q.flag) asked[q.flag] = q.default;
        return q.default ?? false;
      },
      checkbox: async (q) => q.choices.filter((c) => c.checked).map((c) => c.value),
    };
    const ctx = testContext(root, { prompt: p, interactive: true });
    const r = await install({ ...cli('--whitelist', '203.0.113.7'), yes: false }, ctx, interview);
    assert.equal(asked['--bantime'], '600');
    assert.equal(asked['--maxretry'], '4');
    assert.ok(r.notes?.includes('[DEFAULT] bantime: yours 600 → 1h (--bantime)'), JSON.stringify(r.notes));
    const out = ctx.log.stdout.join('');
    assert.match(out, /^ {2}NOTE {6}\[DEFAULT\] bantime: yours 600 → 1h \(--bantime\)$/m);
    assert.equal(asked['--yes'], true, '"Apply this plan?" was asked');
    assert.equal(getIniValue(jailOf(root), 'DEFAULT', 'bantime'), '1h');
    assert.equal(getIniValue(jailOf(root), 'DEFAULT', 'maxretry'), '4');
  } finally {
    await removeRoot(root);
  }
});

test('the CLI parses --override-admin-settings as a one-run switch (not a stored setting)', () => {
  assert.equal(cli('--override-admin-settings').overrideAdminSettings, true);
  assert.deepEqual(cli('--override-admin-settings').given, []);
  assert.equal(cli().overrideAdminSettings, undefined);
});

/** A FusionPBX 5 tree on this machine's stock fail2ban configuration (as in pbx-distros.test.ts). */
async function fusionTree(): Promise<string> {
  const root = await tempRoot();
  cpSync(STOCK, path.join(root, 'etc/fail2ban'), { recursive: true, filter: (s) => !/\/(?:jail\.d|fail2ban\.d)\/.|\.local$|__pycache__/.test(s.slice(STOCK.length)) });
  cpSync(path.join(FIXTURES, 'fusionpbx5'), root, { recursive: true });
  for (const l of ['/var/log/auth.log', '/var/log/syslog', '/var/log/nginx/access.log', '/var/log/nginx/error.log']) {
    mkdirSync(path.join(root, path.dirname(l)), { recursive: true });
    writeFileSync(path.join(root, l), '');
  }
  return root;
}

/** `fail2ban-client -d` over the tree: `jail`'s value of `key` as fail2ban would set it. */
function effective(root: string, jail: string, key: string): string | undefined {
  const d = spawnSync('fail2ban-client', ['-c', path.join(root, 'etc/fail2ban'), '-d'], { encoding: 'utf8', timeout: 60000 });
  assert.equal(d.status, 0, d.stderr);
  return new RegExp(`^\\['set', '${jail}', '${key}', '?([^'\\]]+)'?\\]$`, 'm').exec(d.stdout)?.[1];
}

test("a jail.d/*.local's [DEFAULT] (read after jail.local) wins: the plan says which value applies, a whitelist it drops is a warning; the file is untouched", async () => {
  const root = await fusionTree();
  try {
    const ops = '# ops overrides\n[DEFAULT]\nfindtime = 900\nignoreip = 127.0.0.1/8\n';
    writeFileSync(path.join(root, 'etc/fail2ban/jail.d/ops.local'), ops);
    const ctx = testContext(root);
    const r = await install(cli('--whitelist', '203.0.113.7', '--findtime', '10m'), ctx);
    assert.ok(r.notes?.includes('/etc/fail2ban/jail.d/ops.local sets [DEFAULT] findtime = 900, read after jail.local: that value applies, not 10m (the file is left as it is; change it there)'), JSON.stringify(r.notes));
    assert.ok(r.warnings.includes('/etc/fail2ban/jail.d/ops.local sets [DEFAULT] ignoreip, read after jail.local: ::1 203.0.113.7 of our whitelist are not ignored (the file is left as it is; add them there)'), JSON.stringify(r.warnings));
    assert.equal(readFileSync(path.join(root, 'etc/fail2ban/jail.d/ops.local'), 'utf8'), ops);
    assert.equal(effective(root, 'voip-freeswitch', 'findtime'), '900', 'fail2ban applies the later file, as the plan says');
  } finally {
    await removeRoot(root);
  }
});

test("FusionPBX 5 with the admin's [DEFAULT] and comments: every section of theirs byte for byte; fail2ban-client -d: the effective [DEFAULT] values are the admin's", async () => {
  const root = await fusionTree();
  try {
    const jailPath = path.join(root, 'etc/fail2ban/jail.local');
    const original = `${ADMIN_DEFAULT}\n${readFileSync(jailPath, 'utf8')}`;
    writeFileSync(jailPath, original);
    const r = await install(cli('--whitelist', '203.0.113.7'), testContext(root));
    assert.ok(r.notes?.includes('[DEFAULT] values of yours kept as they are: bantime 600, findtime 300, maxretry 4'), JSON.stringify(r.notes));
    const jail = jailOf(root);
    // Each section of theirs ([DEFAULT] with its comments, the distribution's jails) byte for byte.
    linesKept(original, jail);
    for (const block of original.split(/\n(?=\[)/).slice(2)) assert.ok(jail.includes(block.trimEnd()), `section kept byte for byte:\n${block}`);
    const d = spawnSync('fail2ban-client', ['-c', path.join(root, 'etc/fail2ban'), '-d'], { encoding: 'utf8', timeout: 60000 });
    assert.equal(d.status, 0, d.stderr);
    // Our FreeSWITCH jail has no bantime/findtime/maxretry of its own: [DEFAULT]'s, the admin's.
    const ours = (key: string): string | undefined => new RegExp(`^\\['set', 'voip-freeswitch', '${key}', '?([^'\\]]+)'?\\]$`, 'm').exec(d.stdout)?.[1];
    assert.ok(d.stdout.includes("['add', 'voip-freeswitch'"), d.stdout.slice(0, 2000));
    assert.equal(ours('bantime'), '600');
    assert.equal(ours('findtime'), '300');
    assert.equal(ours('maxretry'), '4');
    assert.match(/^\['set', 'voip-freeswitch', 'addignoreip', (.*)\]$/m.exec(d.stdout)?.[1] ?? '', /'198\.51\.100\.9'.*'203\.0\.113\.7'/, "the admin's whitelist entry and ours");
    console.log(`# fail2ban-client -d: voip-freeswitch bantime ${ours('bantime')}, findtime ${ours('findtime')}, maxretry ${ours('maxretry')}`);
  } finally {
    await removeRoot(root);
  }
});
