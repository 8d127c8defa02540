// needs: tmux
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { BIN, ensureBuilt, runCli } from '../helpers/cli.ts';
import { removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';
import { Terminal } from '../helpers/tty.ts';
import { interview } from '../../src/commands/interactive.ts';
import { gatherFacts } from '../../src/adapters/facts.ts';
import { noPrompter, type Prompter } from '../../src/adapters/prompt.ts';
import type { InstallOptions } from '../../src/core/options.ts';
import { DEFAULT_INSTALL } from '../helpers/options.ts';
import { ToolError } from '../../src/errors.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const ADMIN = '203.0.113.9';
const SSH = `${ADMIN} 50522 192.0.2.1 22`;
const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;

/** A temp tree where Asterisk is installed on Debian 12. */
const asteriskHost = (): Promise<string> =>
  tempRoot({ '/etc/os-release': DEBIAN12, '/etc/asterisk/asterisk.conf': '[directories]\nastlogdir => /var/log/asterisk\n' });

/** The environment of an admin's SSH session (no CI variable: a person at a terminal). */
const sshEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/root',
  LANG: 'C.UTF-8',
  SSH_CONNECTION: SSH,
  ...extra,
});

const terminals: Terminal[] = [];
after(() => terminals.forEach((t) => t.kill()));
const term = (args: string[], dir: string, env = sshEnv()): Terminal => {
  ensureBuilt();
  const t = Terminal.start([process.execPath, BIN, ...args], { env, dir });
  terminals.push(t);
  return t;
};

const BASE: InstallOptions = DEFAULT_INSTALL;

/** A prompter that records each question and answers from a script (undefined = the default). */
function scripted(answers: Record<string, string | string[] | undefined>): Prompter & { asked: Array<{ flag?: string; default?: unknown; checked?: string[] }> } {
  const asked: Array<{ flag?: string; default?: unknown; checked?: string[] }> = [];
  return {
    asked,
    input: async (q) => {
      asked.push({ ...(q.flag ? { flag: q.flag } : {}), default: q.default });
      const a = answers[q.flag!];
      const v = typeof a === 'string' ? a : (q.default ?? '');
      assert.equal(q.validate?.(v) ?? true, true, `answer for ${q.flag} must validate`);
      return v;
    },
    confirm: async (q) => q.default ?? false,
    checkbox: async (q) => {
      const checked = q.choices.filter((c) => c.checked).map((c) => c.value);
      asked.push({ ...(q.flag ? { flag: q.flag } : {}), checked });
      const a = answers[q.flag!];
      return Array.isArray(a) ? a : checked;
    },
  };
}

test('interview: every question names its flag and is pre-filled from the facts and flags', async () => {
  const root = await asteriskHost();
  try {
    const ctx = testContext(root, { env: { SSH_CONNECTION: SSH } });
    const facts = await gatherFacts(ctx);
    const p = scripted({});
    ctx.prompt = p;
    const out = await interview(ctx, { ...BASE, whitelist: ['198.51.100.4'], bantime: '2h', maxretry: 7, email: 'root@localhost' }, facts);
    assert.deepEqual(p.asked, [
      { flag: '--services', checked: ['asterisk'] },
      { flag: '--whitelist', default: `${ADMIN}, 198.51.100.4` },
      { flag: '--bantime', default: '2h' },
      { flag: '--maxretry', default: '7' },
      { flag: '--email', default: 'root@localhost' },
    ]);
    // Accepting every default changes nothing but making the detected services explicit.
    // (The kept SSH address is protectAdmin, as without questions, not a --whitelist entry.)
    assert.deepEqual(out, { ...BASE, services: ['asterisk'], whitelist: ['198.51.100.4'], bantime: '2h', maxretry: 7, email: 'root@localhost' });
    assert.ok(ctx.log.lines.some((l) => l.includes(`from ${ADMIN}`) && l.includes('never ban you')), 'the offered address is explained');
  } finally {
    await removeRoot(root);
  }
});

test('interview: removing the offered SSH address turns admin protection off; empty email = no mail', async () => {
  const root = await asteriskHost();
  try {
    const ctx = testContext(root, { env: { SSH_CONNECTION: SSH } });
    const facts = await gatherFacts(ctx);
    ctx.prompt = scripted({ '--whitelist': '198.51.100.0/24', '--email': '', '--services': ['asterisk', 'kamailio'] });
    const out = await interview(ctx, { ...BASE, email: 'root@localhost' }, facts);
    assert.equal(out.protectAdmin, false);
    assert.deepEqual(out.whitelist, ['198.51.100.0/24']);
    assert.equal(out.email, undefined);
    assert.deepEqual(out.services, ['asterisk', 'kamailio']);
  } finally {
    await removeRoot(root);
  }
});

test('unattended: a question is exit 2 naming the flag to pass, never a hang', async () => {
  const p = noPrompter();
  await assert.rejects(p.input({ message: 'Ban time', flag: '--bantime' }), (e: ToolError) => e.exitCode === 2 && /pass --bantime/.test(e.message));
  await assert.rejects(p.confirm({ message: 'Apply this plan?' }), (e: ToolError) => e.exitCode === 2 && /pass --yes/.test(e.message));
});

test('the built CLI in a terminal: the setup asks, re-asks on bad input, applies; flags give the same result', { skip: !HAS_TMUX && 'tmux is not installed' }, async () => {
  const root = await asteriskHost();
  const same = await asteriskHost();
  try {
    const t = term(['--root', root], root);
    let s = await t.waitFor('Which services should fail2ban protect?');
    assert.match(s, /◉ Asterisk \(detected\)/);
    assert.match(s, /◯ FreeSWITCH \(not found on this host\)/);
    t.keys('Enter');

    // Wait for the pre-filled, editable value (first drawn as a "(default)", then pre-filled).
    s = await t.waitFor(new RegExp(`Addresses never to ban .*: ${ADMIN.replace(/\./g, '\\.')}\\s*$`, 'm'));
    assert.match(s, new RegExp(`You are connected over SSH from ${ADMIN.replace(/\./g, '\\.')}`));
    t.type(', bad;x');
    t.keys('Enter');
    await t.waitFor("invalid --whitelist entry 'bad;x'");
    for (let i = 0; i < ', bad;x'.length; i++) t.keys('BSpace');
    t.type(', 198.51.100.0/24');
    t.keys('Enter');

    await t.waitFor(/Ban time .*: 1h\s*$/m);
    t.keys('C-u');
    t.type('soon');
    t.keys('Enter');
    await t.waitFor("invalid --bantime 'soon'");
    t.keys('C-u');
    t.type('2h');
    t.keys('Enter');

    await t.waitFor(/Failures within 10m .*: 5\s*$/m);
    t.keys('C-u');
    t.type('3');
    t.keys('Enter');

    await t.waitFor('Mail ban alerts');
    t.keys('Enter');

    // The web view as a boot service: default no.
    await t.waitFor('the web view of jails and bans as a boot service');
    t.keys('Enter');

    await t.waitFor('Apply this plan?');
    assert.match(t.history(), /CREATE\s+\/etc\/fail2ban\/jail\.local/, 'the plan is shown before the question');
    assert.deepEqual(Object.keys(await snapshot(root)).filter((p) => p.startsWith('etc/fail2ban')), [], 'nothing written before the answer');
    t.keys('Enter');
    assert.equal(await t.exitCode(), 0, t.screen());
    assert.match(t.screen(), /Done: \d+ file\(s\) written/);

    const jail = await readFile(`${root}/etc/fail2ban/jail.local`, 'utf8');
    assert.match(jail, new RegExp(`^ignoreip = 127\\.0\\.0\\.1/8 ::1 198\\.51\\.100\\.0/24 ${ADMIN.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(jail, /^bantime = 2h$/m);
    assert.match(jail, /^maxretry = 3$/m);
    assert.doesNotMatch(jail, /^destemail/m);
    assert.match(jail, /^\[voip-asterisk\]\nenabled = true$/m);

    // The same answers unattended, as flags: byte-identical jail.local.
    const r = runCli(['--root', same, '--yes', '--services', 'asterisk', '--whitelist', '198.51.100.0/24', '--bantime', '2h', '--maxretry', '3'], {
      env: { SSH_CONNECTION: SSH },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await readFile(`${same}/etc/fail2ban/jail.local`, 'utf8'), jail);
  } finally {
    await removeRoot(root);
    await removeRoot(same);
  }
});

for (const where of ['the first question', 'the final "Apply this plan?"'] as const) {
  test(`the built CLI in a terminal: Ctrl-C at ${where} is exit 130 and changes nothing`, { skip: !HAS_TMUX && 'tmux is not installed' }, async () => {
    const root = await asteriskHost();
    // The exit code file goes beside the tree, not in it.
    const dir = await tempRoot();
    try {
      const before = await snapshot(root);
      const t = term(['--root', root], dir);
      await t.waitFor('Which services should fail2ban protect?');
      if (where !== 'the first question') {
        t.keys('Enter');
        for (const q of ['Addresses never to ban', 'Ban time', 'Failures within', 'Mail ban alerts', 'the web view of jails and bans']) {
          await t.waitFor(q);
          t.keys('Enter');
        }
        await t.waitFor('Apply this plan?');
      }
      t.keys('C-c');
      assert.equal(await t.exitCode(), 130, t.screen());
      assert.match(t.screen(), /voip-f2b-install: interrupted; nothing was changed/);
      assert.deepEqual(await snapshot(root), before);
    } finally {
      await removeRoot(root);
      await removeRoot(dir);
    }
  });
}

test('the built CLI in a terminal: --yes never asks; colour only without NO_COLOR, in our lines and in the prompts', { skip: !HAS_TMUX && 'tmux is not installed' }, async () => {
  const SGR = /\x1b\[[0-9;]*m/;
  const dir = await tempRoot();
  try {
    for (const noColor of [false, true]) {
      const env = sshEnv(noColor ? { NO_COLOR: '1' } : {});
      // Unattended on a terminal: no question, our own log lines (created …) on the screen.
      const root = await asteriskHost();
      const t = term(['--root', root, '--yes'], dir, env);
      assert.equal(await t.exitCode(), 0, t.screen());
      const screen = t.screen(true);
      assert.doesNotMatch(t.screen(), /\?|Apply this plan/);
      assert.match(t.screen(), /· created \/etc\/fail2ban\/jail\.local/);
      // The first question, as drawn by @inquirer/prompts.
      const q = term(['--root', root, '--services', 'asterisk'], dir, env);
      await q.waitFor('Which services');
      const prompt = q.screen(true);
      q.keys('C-c');
      assert.equal(await q.exitCode(), 130);
      if (noColor) {
        assert.doesNotMatch(screen, SGR, 'NO_COLOR: no colour codes in our output');
        assert.doesNotMatch(prompt, SGR, 'NO_COLOR: no colour codes in the prompts');
      } else {
        assert.match(screen, SGR, 'colour on a terminal');
        assert.match(prompt, SGR, 'colour in the prompts');
      }
      await removeRoot(root);
    }
  } finally {
    await removeRoot(dir);
  }
});

test('--interactive=0 via VOIP_F2B_INTERACTIVE=0 on a terminal never asks', { skip: !HAS_TMUX && 'tmux is not installed' }, async () => {
  const root = await asteriskHost();
  const dir = await tempRoot();
  try {
    const t = term(['--root', root, '--dry-run'], dir, sshEnv({ VOIP_F2B_INTERACTIVE: '0' }));
    assert.equal(await t.exitCode(), 0, t.screen());
    assert.doesNotMatch(t.screen(), /Which services/);
  } finally {
    await removeRoot(root);
    await removeRoot(dir);
  }
});

test("interview: with Kamailio's stock kamailio.cfg it offers the auth-failure log line (--kamailio-auth-log)", async () => {
  const cfg = await readFile(new URL('../fixtures/upstream/kamailio/kamailio.cfg', import.meta.url), 'utf8');
  const root = await tempRoot({ '/etc/os-release': await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'), '/etc/kamailio/kamailio.cfg': cfg });
  try {
    const ctx = testContext(root);
    const facts = await gatherFacts(ctx);
    const confirms: Array<{ flag?: string; default?: boolean }> = [];
    // Yes to every question but the web view's (default no, asked last).
    ctx.prompt = { ...scripted({}), confirm: async (q) => (confirms.push({ flag: q.flag, default: q.default }), q.flag !== '--web') };
    const out = await interview(ctx, BASE, facts);
    assert.deepEqual(confirms, [{ flag: '--kamailio-auth-log', default: true }, { flag: '--web', default: false }]);
    assert.equal(out.web, undefined);
    assert.equal(out.kamailioAuthLog, true);
    // Applied: the line is in kamailio.cfg, and a second interview does not ask again.
    const { install } = await import('../../src/commands/install.ts');
    await install({ ...out, yes: true }, ctx);
    assert.match(await readFile(`${root}/etc/kamailio/kamailio.cfg`, 'utf8'), /voip-f2b: auth failure src=\$si port=\$sp/);
    confirms.length = 0;
    await interview(ctx, BASE, await gatherFacts(ctx));
    assert.deepEqual(confirms, [{ flag: '--web', default: false }], 'the auth-log question is not asked again');
  } finally {
    await removeRoot(root);
  }
});

test('interview: the web view as a boot service (--web) is asked last, default no; not asked when --web is given', async () => {
  const root = await asteriskHost();
  try {
    const ctx = testContext(root);
    const facts = await gatherFacts(ctx);
    const confirms: Array<{ flag?: string; default?: boolean }> = [];
    ctx.prompt = { ...scripted({}), confirm: async (q) => (confirms.push({ flag: q.flag, default: q.default }), q.flag === '--web') };
    assert.equal((await interview(ctx, BASE, facts)).web, true);
    assert.deepEqual(confirms, [{ flag: '--web', default: false }]);
    confirms.length = 0;
    assert.equal((await interview(ctx, { ...BASE, web: true }, facts)).web, true);
    assert.deepEqual(confirms, []);
  } finally {
    await removeRoot(root);
  }
});

test('answering no to "Apply this plan?" changes nothing and is not an error', async () => {
  const root = await asteriskHost();
  try {
    const before = await snapshot(root);
    const ctx = testContext(root, { interactive: true });
    ctx.prompt = { ...scripted({}), confirm: async () => false };
    const { install, formatInstallReport } = await import('../../src/commands/install.ts');
    const r = await install({ ...BASE, yes: false }, ctx);
    assert.equal(r.declined, true);
    assert.match(formatInstallReport(r), /^Plan not applied: nothing was changed\.$/m);
    assert.deepEqual(await snapshot(root), before);
  } finally {
    await removeRoot(root);
  }
});
