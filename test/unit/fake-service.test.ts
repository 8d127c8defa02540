/**
 * The registry is the only place that knows the services: a test-only module (Yate,
 * test/fixtures/services/yate.ts) pushed into SERVICE_MODULES flows through option parsing,
 * the plan, apply, the --json report, the interactive checklist and its question, a re-run,
 * uninstall, and doctor (its own check and its failure hint, with the real fail2ban-regex on the
 * filter it installed), without any other source file naming it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';
import { parseArgs } from '../../src/cli.ts';
import { install } from '../../src/commands/install.ts';
import { interview } from '../../src/commands/interactive.ts';
import { uninstall } from '../../src/commands/uninstall.ts';
import { doctor } from '../../src/commands/doctor.ts';
import { failureLikeLines } from '../../src/doctor/failures.ts';
import type { Command } from '../../src/adapters/runner.ts';
import { gatherFacts } from '../../src/adapters/facts.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import type { Prompter } from '../../src/core/prompter.ts';
import { installOptions } from '../helpers/options.ts';
import { recordingRunner, removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';
import { FAIL2BAN_REGEX } from '../helpers/fail2ban-regex.ts';
import { fakeFail2banSocket, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';
import { YATE_CONF, YATE_FILTER, YATE_FILTER_TEXT, YATE_LOG, asked, yate } from '../fixtures/services/yate.ts';

SERVICE_MODULES.push(yate);
after(() => {
  SERVICE_MODULES.splice(SERVICE_MODULES.indexOf(yate), 1);
});

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const ADMIN_CONF = '; my yate\n[general]\n';
const yateHost = () => tempRoot({ '/etc/os-release': DEBIAN12, '/etc/init.d/yate': '', [YATE_CONF]: ADMIN_CONF });

test('--services accepts the new name; the plan, apply and the --json report carry it', async () => {
  const inv = parseArgs(['--services', 'yate,sshd'], {});
  assert.ok(inv.command === 'install');
  assert.deepEqual(inv.options.services, ['yate', 'sshd']);

  const root = await yateHost();
  try {
    const run = recordingRunner();
    const ctx = testContext(root, { run });
    const r = await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), ctx); // detected: /etc/init.d/yate
    assert.deepEqual(r.jails, ['voip-yate']);
    assert.deepEqual(
      r.files.filter((f) => f.path.includes('yate')).map((f) => `${f.action} ${f.path}`),
      [`UPDATE ${YATE_CONF}`, `CREATE ${YATE_FILTER}`],
    );
    // Written: the admin's file edited in place, the tool's filter, the jail, the log.
    assert.equal(await readFile(path.join(root, YATE_CONF), 'utf8'), `${ADMIN_CONF}logfile=${YATE_LOG}\n`);
    assert.equal(await readFile(path.join(root, YATE_FILTER), 'utf8'), YATE_FILTER_TEXT);
    const jail = await readFile(path.join(root, 'etc/fail2ban/jail.local'), 'utf8');
    assert.equal(getIniValue(jail, 'voip-yate', 'logpath'), YATE_LOG);
    assert.equal(await readFile(path.join(root, YATE_LOG), 'utf8'), '');
    // --json: the document main prints is this report.
    const doc = JSON.parse(JSON.stringify(r));
    assert.deepEqual(doc.protected.find((p: { name: string }) => p.name === 'yate'), {
      name: 'yate',
      label: 'Yate',
      selected: true,
      jails: ['voip-yate'],
      files: [YATE_CONF, YATE_FILTER],
      details: { log: YATE_LOG, conf: YATE_CONF },
    });
    // Its follow-up went through the planner's init-system logic (no init system: the script).
    assert.ok(ctx.log.stdout.join('').includes('/etc/init.d/yate restart'), 'the plan shows its restart');
    // The admin's file shows its diff in a dry run; the tool's filter does not.
    const dry = testContext(root);
    const again = await install(installOptions({ yes: true, whitelist: ['203.0.113.7'], dryRun: true }), dry);
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'), 'a re-run changes nothing');
  } finally {
    await removeRoot(root);
  }
});

test('interactive: the checklist lists it (detected) and its own question is asked', async () => {
  const root = await yateHost();
  try {
    const ctx = testContext(root);
    const facts = await gatherFacts(ctx);
    let choices: Array<{ value: string; name: string; checked?: boolean }> = [];
    const p: Prompter = {
      input: async (q) => q.default ?? '',
      confirm: async (q) => q.default ?? false,
      checkbox: async (q) => {
        choices = q.choices;
        return q.choices.filter((c) => c.checked).map((c) => c.value);
      },
    };
    ctx.prompt = p;
    asked.length = 0;
    const out = await interview(ctx, installOptions(), facts);
    assert.deepEqual(choices.find((c) => c.value === 'yate'), { value: 'yate', name: 'Yate (detected)', checked: true });
    assert.deepEqual(asked, ['yate']);
    assert.deepEqual(out.services, ['yate']);
  } finally {
    await removeRoot(root);
  }
});

test('uninstall restores its files and runs its uninstall step', async () => {
  const root = await yateHost();
  try {
    const before = await snapshot(root);
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root));
    const run = recordingRunner();
    const r = await uninstall({ purgePackages: false, dryRun: false, yes: true }, testContext(root, { run }));
    assert.ok(r.restored.includes(YATE_CONF) && r.removed.includes(YATE_FILTER), JSON.stringify(r));
    assert.deepEqual(run.lines(), ['/etc/init.d/yate restart']);
    assert.deepEqual(r.services, ['yate (restart)']);
    assert.deepEqual(await snapshot(root), before, 'the tree is as it was');
  } finally {
    await removeRoot(root);
  }
});

/** The real fail2ban-regex, on the filter the install wrote under the root; nothing else runs. */
function realRegex() {
  return recordingRunner((c: Command) => {
    if (c.cmd !== 'fail2ban-regex') return { exitCode: 127, stderr: `${c.cmd}: not found`, notFound: true };
    const r = spawnSync(FAIL2BAN_REGEX, c.args, { encoding: 'utf8', env: { ...process.env, ...c.env } });
    return { exitCode: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  });
}

/** fail2ban's socket under the root: running the voip-yate jail on Yate's log. */
function yateFail2ban(root: string) {
  const answer = (c: string[]): FakeValue => {
    const k = c.join(' ');
    if (k === 'status') return [['Number of jail', 1], ['Jail list', 'voip-yate']];
    if (k === 'version') return '1.0.2';
    if (k === 'get voip-yate logpath') return [YATE_LOG];
    if (k === 'get voip-yate ignoreip') return ['127.0.0.1/8'];
    if (k === 'get voip-yate maxretry') return 5;
    if (k === 'get voip-yate actions') return ['nftables-allports'];
    return 'pong';
  };
  return fakeFail2banSocket(root, (c) => [0, answer(c)]);
}

test("doctor: Yate's own check (yate.conf logs to the file the jail reads) and its failure hint, for its jail", async () => {
  const root = await yateHost();
  const cleanup: Array<() => Promise<void>> = [];
  try {
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root));
    const failures = Array.from({ length: 6 }, () => '2026-11-22 11:59:00 sip: auth failure from 198.51.100.9');
    const lines = ['2026-11-22 11:58:00 engine: Yate started', ...failures, '2026-11-22 11:59:10 sip: call from 198.51.100.20 answered'];
    await writeFile(path.join(root, YATE_LOG), lines.map((l) => `${l}\n`).join(''));
    const t = new Date('2026-11-22T11:59:30Z');
    utimesSync(path.join(root, YATE_LOG), t, t);
    assert.equal(failureLikeLines('yate', lines), 6, "the module's failure hint");
    const opts = { banTest: false, lines: 2000, json: true };

    const f2b = await yateFail2ban(root);
    cleanup.push(() => f2b.close());
    // Healthy: Yate logs where the jail reads, the installed filter matches its failures.
    const ok = await doctor(opts, testContext(root, { run: realRegex() }));
    assert.equal(ok.fail2banRunning, true);
    const j = ok.jails.find((x) => x.jail === 'voip-yate')!;
    assert.equal(j.verdict, 'ok', JSON.stringify(j.checks));
    assert.deepEqual(j.checks.find((c) => c.name === 'Yate writes this log'), { name: 'Yate writes this log', verdict: 'ok', detail: `yate.conf logs to ${YATE_LOG}` });
    assert.deepEqual(j.failureLines, { expected: 6, skipped: [] });
    assert.deepEqual(j.wouldBan, [{ ip: '198.51.100.9', failures: 6, whitelisted: false }]);

    // Yate logs elsewhere, and the filter no longer matches its failures: both named, broken.
    await writeFile(path.join(root, YATE_CONF), '; my yate\n[general]\nlogfile=/var/log/yate/other.log\n');
    await writeFile(path.join(root, YATE_FILTER), '[Definition]\nfailregex = ^.* wrong words from <ADDR>\n');
    const bad = await doctor(opts, testContext(root, { run: realRegex() }));
    const b = bad.jails.find((x) => x.jail === 'voip-yate')!;
    assert.equal(b.verdict, 'broken');
    const source = b.checks.find((c) => c.name === 'Yate writes this log')!;
    assert.equal(source.verdict, 'broken');
    assert.match(source.detail, /yate\.conf logs to \/var\/log\/yate\/other\.log, the jail reads \/var\/log\/yate\/yate\.log/);
    const filter = b.checks.find((c) => c.name === 'filter voip-yate')!;
    assert.equal(filter.verdict, 'broken');
    assert.match(filter.detail, /^6 of the last 8 lines look like authentication failures, but the filter matched none of them/);
  } finally {
    for (const c of cleanup) await c();
    await removeRoot(root);
  }
});
