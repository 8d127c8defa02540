// needs: tmux
/**
 * Settings persist (issue 21): the options of the last completed install are the baseline of the
 * next (a flag changes one, an omitted one keeps it, --reset-settings goes back to the defaults);
 * flags that would do nothing on this host are exit 2; equal values in another spelling leave
 * jail.local UNCHANGED; kamailio.cfg's blocks follow every run. Options are parsed by the CLI's
 * own parser, so "given" and "omitted" are told apart as for a person at the prompt; each run is
 * the install command over a temp root with the recording runner.
 */
import { after, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from '../../src/cli.ts';
import { install } from '../../src/commands/install.ts';
import { interview } from '../../src/commands/interactive.ts';
import type { InstallOptions } from '../../src/core/options.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { keepEqualSpelling, sameSetting, settingsFromJail } from '../../src/core/settings.ts';
import { ToolError, UsageError } from '../../src/errors.ts';
import type { Prompter } from '../../src/adapters/prompt.ts';
import { removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { Terminal } from '../helpers/tty.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const STOCK_CFG = await readFile(new URL('../fixtures/upstream/kamailio/kamailio.cfg', import.meta.url), 'utf8');
const MANIFEST = 'var/backups/voip-f2b-install/manifest.json';

/** `install` options exactly as the CLI parses `args` (with --yes). */
function cli(...args: string[]): InstallOptions {
  const inv = parseArgs(['--yes', ...args], {});
  if (inv.command !== 'install') throw new Error('not install');
  return inv.options;
}

const asteriskHost = (): Promise<string> => tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\n' });
const jailOf = (root: string): Promise<string> => readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
const value = async (root: string, key: string): Promise<string | undefined> => getIniValue(await jailOf(root), 'DEFAULT', key);

test('the CLI tells a given flag from an omitted one (command line and environment twin)', () => {
  assert.deepEqual(cli().given, []);
  assert.deepEqual(cli('--bantime', '1h', '--email', 'ops@example.com').given, ['email', 'bantime']);
  const inv = parseArgs(['--yes'], { VOIP_F2B_MAXRETRY: '3', VOIP_F2B_NO_BANTIME_INCREMENT: '1' });
  assert.ok(inv.command === 'install');
  assert.deepEqual(inv.options.given, ['bantimeIncrement', 'maxretry']);
  assert.equal(cli('--reset-settings').resetSettings, true);
  // --dry-run, --yes, --restartkamailio, --no-doctor are what one run does, not settings
  assert.deepEqual(cli('--dry-run', '--no-doctor', '--diff').given, []);
});

test('a plain re-run keeps every setting of the last run, says so, and changes nothing', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--whitelist', '203.0.113.7', '--bantime', '1d', '--bantime-max', '4w', '--maxretry', '3', '--email', 'ops@example.com', '--mail-interval', '60'), testContext(root));
    assert.equal(await value(root, 'bantime'), '1d');
    const before = await snapshot(root);

    const ctx = testContext(root);
    const again = await install(cli(), ctx);
    assert.equal(again.nothingToDo, true);
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    assert.deepEqual(await snapshot(root), before, 'byte for byte, the manifest included');
    assert.deepEqual(again.kept, ['whitelist 203.0.113.7', 'email ops@example.com', 'mail-interval 60', 'bantime 1d', 'bantime-max 4w', 'maxretry 3']);
    assert.match(ctx.log.stdout.join(''), /^Kept from the last run: whitelist 203\.0\.113\.7, email ops@example\.com, mail-interval 60, bantime 1d, bantime-max 4w, maxretry 3$/m);

    // Only --whitelist: the rest stays (bantime is not put back to 1h, nor maxtime to 1w).
    const w = await install(cli('--whitelist', '198.51.100.4'), testContext(root));
    assert.equal(await value(root, 'bantime'), '1d');
    assert.equal(await value(root, 'bantime.maxtime'), '4w');
    assert.equal(await value(root, 'maxretry'), '3');
    assert.equal(await value(root, 'destemail'), 'ops@example.com');
    assert.ok(!w.kept.some((k) => k.startsWith('whitelist')), 'a given setting is not "kept"');

    // A flag given with its default value sets that value.
    await install(cli('--bantime', '1h'), testContext(root));
    assert.equal(await value(root, 'bantime'), '1h');
    assert.equal(await value(root, 'maxretry'), '3');

    // --reset-settings: the defaults and the flags given, nothing of the last run.
    const r = await install(cli('--reset-settings', '--findtime', '20m'), testContext(root));
    assert.deepEqual(r.kept, []);
    assert.equal(r.settingsReset, true);
    assert.equal(await value(root, 'maxretry'), '5');
    assert.equal(await value(root, 'bantime.maxtime'), '1w');
    assert.equal(await value(root, 'findtime'), '20m');
    // and that is the next run's baseline
    const next = await install(cli(), testContext(root));
    assert.equal(next.nothingToDo, true);
    assert.deepEqual(next.kept, ['findtime 20m']);
  } finally {
    await removeRoot(root);
  }
});

test("--email '' turns the alerts off: our mail action leaves jail.local, and stays off on the next run", async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--email', 'ops@example.com', '--bantime', '1d'), testContext(root));
    assert.match((await value(root, 'action'))!, /voip-f2b-mail\[/);
    const off = await install(cli('--email', ''), testContext(root));
    assert.equal(await value(root, 'action'), '%(action_)s');
    assert.doesNotMatch(await jailOf(root), /voip-f2b-mail\[/);
    assert.deepEqual(off.kept, ['bantime 1d']);
    const next = await install(cli(), testContext(root));
    assert.equal(next.nothingToDo, true);
    assert.deepEqual(next.kept, ['bantime 1d']);
  } finally {
    await removeRoot(root);
  }
});

test('settings are stored only by a run that completed: not by a dry run, not by a refused one', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--bantime', '1d'), testContext(root));
    await install(cli('--bantime', '2d', '--dry-run'), testContext(root));
    await assert.rejects(install(cli('--bantime', '3d', '--sender', 'f2b@example.com'), testContext(root)), UsageError);
    const m = JSON.parse(await readFile(path.join(root, MANIFEST), 'utf8')) as { settings: { bantime: string } };
    assert.equal(m.settings.bantime, '1d');
    assert.equal(await value(root, 'bantime'), '1d');
  } finally {
    await removeRoot(root);
  }
});

test('an install by an older version (no stored settings): jail.local\'s managed keys are the baseline, a re-run changes nothing', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--bantime', '1d', '--findtime', '30m', '--no-bantime-increment', '--email', 'ops@example.com', '--sender', 'f2b@example.com'), testContext(root));
    // What an older version left: the same files, a manifest without settings.
    const m = JSON.parse(await readFile(path.join(root, MANIFEST), 'utf8')) as Record<string, unknown>;
    delete m.settings;
    await writeFile(path.join(root, MANIFEST), `${JSON.stringify(m, null, 2)}\n`);
    const jail = await jailOf(root);
    assert.deepEqual(settingsFromJail(jail), { bantime: '1d', findtime: '30m', maxretry: 5, bantimeIncrement: false, email: 'ops@example.com', sender: 'f2b@example.com', mailInterval: 600 });

    const again = await install(cli(), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
    assert.equal(await jailOf(root), jail);
    assert.ok(again.kept.includes('bantime 1d') && again.kept.includes('email ops@example.com'), again.kept.join(', '));
    // and from now on they are stored
    const stored = JSON.parse(await readFile(path.join(root, MANIFEST), 'utf8')) as { settings: Record<string, unknown> };
    assert.equal(stored.settings.bantime, '1d');
  } finally {
    await removeRoot(root);
  }
});

test('stored settings pass their flag\'s own check: a bad one is named in a warning and not used', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--bantime', '1d', '--maxretry', '3'), testContext(root));
    const m = JSON.parse(await readFile(path.join(root, MANIFEST), 'utf8')) as { settings: Record<string, unknown> };
    m.settings.bantime = '1h\naction = evil';
    m.settings.whitelist = ['0.0.0.0/0'];
    await writeFile(path.join(root, MANIFEST), JSON.stringify(m));
    const ctx = testContext(root);
    const r = await install(cli(), ctx);
    assert.equal(await value(root, 'bantime'), '1h');
    assert.equal(await value(root, 'maxretry'), '3');
    assert.doesNotMatch(await jailOf(root), /evil|0\.0\.0\.0\/0/);
    const warned = ctx.log.lines.join('\n');
    assert.match(warned, /the stored setting --bantime \("1h\\naction = evil"\) is not valid \(invalid --bantime/);
    assert.match(warned, /the stored setting --whitelist \(\["0\.0\.0\.0\/0"\]\) is not valid/);
    assert.deepEqual(r.kept, ['maxretry 3']);
  } finally {
    await removeRoot(root);
  }
});

test("an interrupted first run (a journal, no settings) is no baseline: the admin's own jail.local values are not taken for ours (and stay theirs)", async () => {
  const root = await tempRoot({
    '/etc/os-release': DEBIAN12,
    '/etc/asterisk/asterisk.conf': '[directories]\n',
    '/etc/fail2ban/jail.local': '[DEFAULT]\nbantime = 600\nmaxretry = 9\n',
    [`/${MANIFEST}`]: `${JSON.stringify({ version: 1, files: [], dirs: [], logs: [], packages: [], pending: { startedAt: '2026-11-22T11:00:00Z', pid: 1, temps: [] } })}\n`,
  });
  try {
    const r = await install(cli(), testContext(root));
    assert.deepEqual(r.kept, []);
    // Not "kept from the last run", but the admin's own: kept as they are, and said (issue 21).
    assert.equal(await value(root, 'bantime'), '600');
    assert.equal(await value(root, 'maxretry'), '9');
    assert.ok(r.notes?.includes('[DEFAULT] values of yours kept as they are: bantime 600, maxretry 9'), JSON.stringify(r.notes));
  } finally {
    await removeRoot(root);
  }
});

test('equal values in another spelling are UNCHANGED: 24h after 1d, 600 after 10m, the whitelist in another order', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--whitelist', '203.0.113.7,198.51.100.0/24', '--bantime', '1d', '--findtime', '10m', '--bantime-max', '1w'), testContext(root));
    const jail = await jailOf(root);
    const r = await install(cli('--whitelist', '198.51.100.0/24 , 203.0.113.7', '--bantime', '24h', '--findtime', '600', '--bantime-max', '7d', '--maxretry', '5'), testContext(root));
    assert.equal(r.files.find((f) => f.path === '/etc/fail2ban/jail.local')?.action, 'UNCHANGED');
    assert.equal(await jailOf(root), jail);
    // a different value is still a change
    await install(cli('--bantime', '25h'), testContext(root));
    assert.equal(await value(root, 'bantime'), '25h');
  } finally {
    await removeRoot(root);
  }
});

test('sameSetting: durations by seconds, counts by number, ignoreip as a set; nothing else is loosened', () => {
  const table: Array<[string, string, string, boolean]> = [
    ['bantime', '1d', '24h', true],
    ['bantime', '3600', '1h', true],
    ['bantime.maxtime', '1w', '7d', true],
    ['findtime', '10m', '600', true],
    ['findtime', '10m', '601', false],
    ['bantime', '-1', '-1', true],
    ['bantime', '1d', '-1', false],
    ['maxretry', '05', '5', true],
    ['maxretry', '5', '6', false],
    ['ignoreip', '127.0.0.1/8 ::1 203.0.113.7', '::1,127.0.0.1/8,  203.0.113.7', true],
    ['ignoreip', '127.0.0.1/8 2001:DB8::1', '127.0.0.1/8 2001:db8::1', true],
    ['ignoreip', '127.0.0.1/8', '127.0.0.1/8 203.0.113.7', false],
    ['destemail', 'Ops@example.com', 'ops@example.com', false],
    ['banaction', 'iptables-multiport', 'iptables-multiport ', true],
  ];
  for (const [k, a, b, want] of table) assert.equal(sameSetting(k, a, b), want, `${k}: ${a} vs ${b}`);
  const text = '[DEFAULT]\nbantime = 1d\nmaxretry = 5\n';
  assert.deepEqual(keepEqualSpelling(text, 'DEFAULT', [['bantime', '24h'], ['maxretry', '4'], ['findtime', '10m']]), [['bantime', '1d'], ['maxretry', '4'], ['findtime', '10m']]);
});

test('flags that would do nothing here are exit 2, one line with the reason, nothing changed', async () => {
  const root = await asteriskHost();
  try {
    const cases: Array<[string[], RegExp]> = [
      [['--sender', 'f2b@example.com'], /^--sender only shapes ban alert mails, and no --email is set \(none given, none kept from the last run\)$/],
      [['--mail-delivery', 'local'], /^--mail-delivery only shapes ban alert mails/],
      [['--mail-interval', '60'], /^--mail-interval only shapes ban alert mails/],
      [['--kamailio-auth-log'], /^--kamailio-auth-log edits kamailio\.cfg, and Kamailio is neither found on this host nor chosen with --services$/],
      [['--freeswitch-mode', 'aggressive'], /^--freeswitch-mode aggressive shapes the FreeSWITCH jail, and FreeSWITCH is neither found/],
      [['--no-bantime-increment', '--bantime-max', '2w'], /^--bantime-max caps the growing bans of repeat offenders, which --no-bantime-increment turns off$/],
      [['--bantime', '2w'], /^invalid --bantime-max '1w' \(the default\): shorter than --bantime '2w'; expected a duration of at least the ban time/],
    ];
    for (const [args, re] of cases) {
      const before = await snapshot(root);
      await assert.rejects(install(cli(...args), testContext(root)), (e: ToolError) => {
        assert.ok(e instanceof UsageError, `${args.join(' ')}: ${String(e)}`);
        assert.equal(e.exitCode, 2);
        assert.match(e.message, re);
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
      assert.deepEqual(await snapshot(root), before, `${args.join(' ')} changed nothing`);
    }
    // With what the flag needs, kept from the last run, it is accepted.
    await install(cli('--email', 'ops@example.com', '--bantime-max', '4w'), testContext(root));
    await install(cli('--sender', 'f2b@example.com', '--mail-interval', '60'), testContext(root));
    assert.equal(await value(root, 'sender'), 'f2b@example.com');
    await install(cli('--bantime', '2w'), testContext(root));
    assert.equal(await value(root, 'bantime'), '2w');
    // A kept value that no longer fits the one given is named as kept.
    await assert.rejects(install(cli('--bantime', '5w'), testContext(root)), /^UsageError: invalid --bantime-max '4w' \(kept from the last run\): shorter than --bantime '5w'/);
    // --kamailio-auth-log with Kamailio chosen by name is fine even where it is not found
    await install(cli('--services', 'asterisk,kamailio', '--kamailio-auth-log'), testContext(root));
  } finally {
    await removeRoot(root);
  }
});

test('Kamailio: a re-run without --kamailio-auth-log updates the blocks with the new maxretry and whitelist; host names are named in a warning', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': STOCK_CFG });
  const cfgOf = (): Promise<string> => readFile(path.join(root, 'etc/kamailio/kamailio.cfg'), 'utf8');
  try {
    await install(cli('--services', 'kamailio', '--kamailio-auth-log', '--whitelist', '198.51.100.38', '--maxretry', '4'), testContext(root));
    assert.match(await cfgOf(), /^#!define VOIPF2B_MAXRETRY 4$/m);

    const r = await install(cli('--maxretry', '3', '--findtime', '15m', '--whitelist', '198.51.100.38,203.0.113.50,pbx.example.org'), testContext(root));
    const cfg = await cfgOf();
    assert.match(cfg, /^#!define VOIPF2B_MAXRETRY 3$/m);
    assert.match(cfg, /voipf2b=>size=10;autoexpire=900;/);
    assert.match(cfg, /^#!define VOIPF2B_IGNOREIP "127\.0\.0\.1\/8,::1\/128,198\.51\.100\.38\/32,203\.0\.113\.50\/32"$/m);
    assert.equal(cfg.split('log every failed digest attempt for fail2ban (begin)').length, 2, 'one block, not two');
    assert.equal(r.files.find((f) => f.path === '/etc/kamailio/kamailio.cfg')?.action, 'UPDATE');
    assert.equal(await value(root, 'maxretry'), '3');
    assert.ok(!r.manualSteps.some((s) => /not all logged/.test(s)), `the blocks are there: ${r.manualSteps.join(' | ')}`);
    assert.ok(r.manualSteps.some((s) => /restart kamailio/.test(s)), 'the new numbers need a restart');
    const named = r.warnings.filter((w) => /host name/.test(w));
    assert.equal(named.length, 1, r.warnings.join('\n'));
    assert.match(named[0]!, /'pbx\.example\.org' is a host name/);

    // Even with the settings reset (--kamailio-auth-log no longer stored), our blocks are a copy
    // of the jail's numbers and follow them; the report says they are there.
    const reset = await install(cli('--reset-settings', '--services', 'kamailio', '--maxretry', '7'), testContext(root));
    assert.match(await cfgOf(), /^#!define VOIPF2B_MAXRETRY 7$/m);
    assert.ok(!reset.manualSteps.some((s) => /not all logged/.test(s)), reset.manualSteps.join(' | '));
    assert.equal((reset.protected.find((s) => s.name === 'kamailio')?.details as { authLog: boolean }).authLog, true);
    // and the same run again changes nothing
    const again = await install(cli('--services', 'kamailio', '--maxretry', '7'), testContext(root));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(again.files));
  } finally {
    await removeRoot(root);
  }
});

/** A prompter that records each question's default and accepts it (Enter through the setup). */
function enterThrough(answers: Record<string, string> = {}): Prompter & { asked: Record<string, unknown> } {
  const asked: Record<string, unknown> = {};
  return {
    asked,
    input: async (q) => {
      asked[q.flag!] = q.default;
      return answers[q.flag!] ?? q.default ?? '';
    },
    confirm: async (q) => {
      if (q.flag) asked[q.flag] = q.default;
      return q.default ?? false;
    },
    checkbox: async (q) => {
      const checked = q.choices.filter((c) => c.checked).map((c) => c.value);
      asked[q.flag!] = checked;
      return checked;
    },
  };
}

test('interactive re-run: every question is pre-filled with what is installed; Enter through it changes nothing', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--whitelist', '198.51.100.4', '--bantime', '1d', '--maxretry', '3', '--email', 'ops@example.com'), testContext(root));
    const before = await snapshot(root);
    const p = enterThrough();
    const ctx = testContext(root, { prompt: p, interactive: true });
    const options = { ...cli(), yes: false };
    const r = await install(options, ctx, interview);
    assert.deepEqual(p.asked['--services'], ['asterisk']);
    assert.equal(p.asked['--whitelist'], '198.51.100.4');
    assert.equal(p.asked['--bantime'], '1d');
    assert.equal(p.asked['--maxretry'], '3');
    assert.equal(p.asked['--email'], 'ops@example.com');
    assert.ok(r.files.every((f) => f.action === 'UNCHANGED'), JSON.stringify(r.files));
    // Only the stored settings change: the services the person confirmed are now named.
    const now = await snapshot(root);
    assert.deepEqual({ ...now, [MANIFEST]: '' }, { ...before, [MANIFEST]: '' });
    assert.match(now[MANIFEST]!, /"services": \[\s*"asterisk"\s*\]/);
    assert.ok(r.kept.includes('bantime 1d'), r.kept.join(', '));
  } finally {
    await removeRoot(root);
  }
});

test('interactive: emptying the kept alert address drops its sender and delivery too; the next run has no mail', async () => {
  const root = await asteriskHost();
  try {
    await install(cli('--email', 'ops@example.com', '--sender', 'f2b@example.com', '--mail-delivery', 'local'), testContext(root));
    const ctx = testContext(root, { prompt: enterThrough({ '--email': '' }), interactive: true });
    await install({ ...cli(), yes: false }, ctx, interview);
    // the plan was applied (confirm defaults to yes): alerts off, and no mail setting is stored
    assert.doesNotMatch(await jailOf(root), /voip-f2b-mail\[/);
    const m = JSON.parse(await readFile(path.join(root, MANIFEST), 'utf8')) as { settings: Record<string, unknown> };
    assert.deepEqual([m.settings.email, m.settings.sender, m.settings.mailDelivery], [undefined, undefined, undefined]);
    const next = await install(cli(), testContext(root));
    assert.equal(next.nothingToDo, true);
  } finally {
    await removeRoot(root);
  }
});

const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;
const ADMIN = '203.0.113.9';
const terminals: Terminal[] = [];
after(() => terminals.forEach((t) => t.kill()));

test('the built CLI in a terminal: a re-run asks with what is installed pre-filled; Enter through it changes nothing', { skip: !HAS_TMUX && 'tmux is not installed' }, async () => {
  const root = await asteriskHost();
  const dir = await tempRoot();
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', SSH_CONNECTION: `${ADMIN} 50522 192.0.2.1 22` };
  try {
    const first = runCli(['--root', root, '--yes', '--whitelist', '198.51.100.4', '--bantime', '1d', '--maxretry', '3', '--email', 'ops@example.com'], { env });
    assert.equal(first.status, 0, first.stderr);
    const before = await snapshot(root);

    const t = Terminal.start([process.execPath, BIN, '--root', root], { env, dir });
    terminals.push(t);
    const s = await t.waitFor('Which services should fail2ban protect?');
    assert.match(s, /◉ Asterisk \(detected\)/);
    t.keys('Enter');
    for (const field of [`Addresses never to ban .*: ${ADMIN.replace(/\./g, '\\.')}, 198\\.51\\.100\\.4`, 'Ban time .*: 1d', 'Failures within 10m .*: 3', 'Mail ban alerts to .*: ops@example\\.com']) {
      // the pre-filled, editable value (drawn first as a "(default)", then in the field)
      await t.waitFor(new RegExp(`${field}\\s*$`, 'm'));
      t.keys('Enter');
    }
    await t.waitFor('the web view of jails and bans as a boot service');
    t.keys('Enter');
    assert.equal(await t.exitCode(), 0, t.screen());
    const history = t.history();
    assert.match(history, /Kept from the last run: whitelist 198\.51\.100\.4, email ops@example\.com, bantime 1d, maxretry 3/);
    assert.match(history, /UNCHANGED\s+\/etc\/fail2ban\/jail\.local/);
    assert.match(history, /Nothing to do: the configuration is already in place\./);
    assert.doesNotMatch(history, /Apply this plan\?/, 'nothing to apply, nothing asked');
    const now = await snapshot(root);
    for (const p of Object.keys(before)) if (p.startsWith('etc/')) assert.equal(now[p], before[p], `${p} byte for byte`);
  } finally {
    await removeRoot(root);
    await removeRoot(dir);
  }
});
