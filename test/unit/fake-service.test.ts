// needs: registry
/**
 * The registry is the only place that knows the services (issue 22): a test-only module (Yate,
 * test/fixtures/services/yate.ts) pushed into SERVICE_MODULES flows through every command without
 * any other source file naming it:
 * - found by its own probe, run by the real gatherFacts (no shared facts shape knows it);
 * - its flag (--yate-listener) parsed, shown in --help, stored as a setting, refused when Yate is
 *   not chosen; its package installed on a live host where missing, never planned again;
 * - the plan, apply, the --json report, the interactive checklist and its question, a re-run,
 *   uninstall;
 * - doctor runs its own check and its failure hint (the real fail2ban-regex on the filter it
 *   installed); status, unban and the watch carry its jail and its check.
 * The web view's patterns: test/unit/fake-service-web.test.ts.
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
import { interview } from '../../src/cli/interactive.ts';
import { uninstall } from '../../src/commands/uninstall.ts';
import { doctor } from '../../src/commands/doctor.ts';
import type { Command } from '../../src/adapters/runner.ts';
import { gatherFacts } from '../../src/adapters/facts.ts';
import { factsOf } from '../../src/core/probe.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import type { InstallOptions } from '../../src/core/options.ts';
import { UsageError } from '../../src/errors.ts';
import { CommanderError } from 'commander';
import type { Prompter } from '../../src/core/prompter.ts';
import { installOptions } from '../helpers/options.ts';
import { liveDebian12Root, liveDebian12Runner, recordingRunner, removeRoot, snapshot, tempRoot, testContext } from '../helpers/context.ts';
import { status } from '../../src/commands/status.ts';
import { unban } from '../../src/commands/unban.ts';
import { FAIL2BAN_REGEX } from '../helpers/fail2ban-regex.ts';
import { fakeFail2banSocket, type FakeValue } from '../helpers/fake-fail2ban-socket.ts';
import { YATE_CONF, YATE_FILTER, YATE_FILTER_TEXT, YATE_LOG, YATE_PIDFILE, asked, yate } from '../fixtures/services/yate.ts';

SERVICE_MODULES.push(yate);
after(() => {
  SERVICE_MODULES.splice(SERVICE_MODULES.indexOf(yate), 1);
});

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');
const ADMIN_CONF = '; my yate\n[general]\n';
const yateHost = () => tempRoot({ '/etc/os-release': DEBIAN12, '/etc/init.d/yate': '', [YATE_CONF]: ADMIN_CONF });

test('detection: its own probe, run by the real gatherFacts, finds it by its own files', async () => {
  // Its configuration alone (no init script): present; not running under --root (no process asked).
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, [YATE_CONF]: ADMIN_CONF, [YATE_PIDFILE]: `${process.pid}\n` });
  const bare = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/init.d/yate': '' });
  try {
    const facts = await gatherFacts(testContext(root));
    assert.deepEqual(facts.services.yate, { present: true, running: false, conf: YATE_CONF });
    assert.deepEqual(factsOf(yate, facts), facts.services.yate);
    assert.equal(yate.detect(facts), true);
    // Its pid file names a live process: running on the live host (the probe asks it there only).
    const live = await gatherFacts(testContext(root, { live: true }));
    assert.equal(factsOf(yate, live).running, true);
    // An init script alone is not Yate (its probe looks at its own paths), and the planner does not choose it.
    const none = await gatherFacts(testContext(bare));
    assert.deepEqual(none.services.yate, { present: false, running: false, conf: YATE_CONF });
    assert.equal(yate.detect(none), false);
    const r = await install(installOptions({ yes: true, dryRun: true, whitelist: ['203.0.113.7'] }), testContext(bare));
    assert.ok(!r.jails.includes('voip-yate'), JSON.stringify(r.jails));
  } finally {
    await removeRoot(root);
    await removeRoot(bare);
  }
});

test('--services accepts the new name; the plan, apply and the --json report carry it', async () => {
  const inv = parseArgs(['--services', 'yate,sshd'], {});
  assert.ok(inv.command === 'install');
  assert.deepEqual(inv.options.services, ['yate', 'sshd']);

  const root = await yateHost();
  try {
    const run = recordingRunner();
    const ctx = testContext(root, { run });
    const r = await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), ctx); // detected: its probe found /etc/yate/yate.conf
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

/** `install` options exactly as the CLI parses `args` (with --yes). */
function cli(args: string[], env: Record<string, string> = {}): InstallOptions {
  const inv = parseArgs(['--yes', ...args], env);
  assert.ok(inv.command === 'install');
  return inv.options;
}
const listenerOf = (o: InstallOptions): unknown => (o as unknown as Record<string, unknown>).yateListener;

test('its flag: parsed from the command line and its environment twin, checked by its own parser, listed in --help', () => {
  const o = cli(['--yate-listener', 'office']);
  assert.equal(listenerOf(o), 'office');
  assert.ok(o.given?.includes('yateListener' as never), JSON.stringify(o.given));
  assert.equal(listenerOf(cli([], { VOIP_F2B_YATE_LISTENER: 'lan' })), 'lan');
  assert.equal(listenerOf(cli([])), undefined);
  assert.ok(!cli([]).given?.includes('yateListener' as never));
  assert.throws(() => cli(['--yate-listener', '1;reboot']), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.exitCode, 2);
    assert.equal(e.message, "invalid --yate-listener '1;reboot': expected a listener name (a letter, then letters, digits, _ or -; at most 32)");
    return true;
  });
  // --help: commander prints it on stdout and stops.
  const out: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => {
    out.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    assert.throws(() => parseArgs(['install', '--help'], {}), (e: unknown) => e instanceof CommanderError && e.code === 'commander.helpDisplayed');
  } finally {
    process.stdout.write = write;
  }
  const help = out.join('').replace(/\s+/g, ' ');
  assert.match(help, /--yate-listener <name> the Yate SIP listener whose port the jail watches .* \(env: VOIP_F2B_YATE_LISTENER\)/);
  assert.match(help, /--services <list> services to protect: sshd,asterisk,freeswitch,kamailio,web-panel,yate /);
});

test('its flag is a setting: stored after the run, kept by a plain re-run, refused (exit 2, nothing changed) when Yate is not chosen', async () => {
  const root = await yateHost();
  try {
    const first = await install(cli(['--whitelist', '203.0.113.7', '--yate-listener', 'office']), testContext(root));
    assert.equal(first.protected.find((p) => p.name === 'yate')?.details?.listener, 'office');
    const manifest = JSON.parse(await readFile(path.join(root, 'var/backups/voip-f2b-install/manifest.json'), 'utf8')) as { settings: Record<string, unknown> };
    assert.equal(manifest.settings.yateListener, 'office');

    const ctx = testContext(root);
    const again = await install(cli([]), ctx);
    assert.equal(again.protected.find((p) => p.name === 'yate')?.details?.listener, 'office', 'the re-run keeps it');
    assert.ok(again.kept.includes('yate-listener office'), JSON.stringify(again.kept));
    assert.ok(again.files.every((f) => f.action === 'UNCHANGED'));

    const before = await snapshot(root);
    await assert.rejects(install(cli(['--services', 'sshd', '--yate-listener', 'lan']), testContext(root)), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.exitCode, 2);
      assert.equal(e.message, '--yate-listener lan names the listener of the Yate jail, and Yate is neither found on this host nor chosen with --services');
      assert.equal(e.hint, 'drop --yate-listener, or add yate to --services');
      return true;
    });
    assert.deepEqual(await snapshot(root), before, 'nothing changed');
    // Not chosen and not given: the stored value waits for the service's return; no refusal.
    await install(cli(['--services', 'sshd']), testContext(root));
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

test('its package: a live install installs it with fail2ban where missing, and never plans it again once there', async () => {
  const root = await liveDebian12Root({ [YATE_CONF]: ADMIN_CONF });
  try {
    const installs = (run: ReturnType<typeof liveDebian12Runner>) => run.calls.filter((c) => c.cmd === 'apt-get' && c.args.includes('install')).map((c) => c.args.filter((a) => !a.startsWith('-')));
    const missing = liveDebian12Runner(['voip-yate']);
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'], doctor: false }), testContext(root, { run: missing, live: true }));
    assert.ok(installs(missing).some((a) => a.includes('yate')), JSON.stringify(missing.lines()));
    const there = liveDebian12Runner(['voip-yate'], (c) => (c.cmd === 'dpkg-query' ? { stdout: 'fail2ban installed\niptables installed\nipset installed\npython3-pyinotify installed\ncron installed\nyate installed\n' } : undefined));
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'], doctor: false }), testContext(root, { run: there, live: true }));
    assert.deepEqual(installs(there), [], 'installed: not planned again');
  } finally {
    await removeRoot(root);
  }
});

test('status, unban and the watch carry its jail and its own doctor check like any other', async () => {
  const { watch } = await import('../../src/commands/watch.ts');
  const root = await yateHost();
  const jailStatus: FakeValue = [
    ['Filter', [['Currently failed', 1], ['Total failed', 6], ['File list', [YATE_LOG]]]],
    ['Actions', [['Currently banned', 1], ['Total banned', 1], ['Banned IP list', ['198.51.100.9']]]],
  ];
  const f2b = await fakeFail2banSocket(root, (c) => {
    const k = c.join(' ');
    if (k === 'status') return [0, [['Number of jail', 1], ['Jail list', 'voip-yate']]];
    if (k === 'status voip-yate') return [0, jailStatus];
    if (k === 'set voip-yate unbanip 198.51.100.9') return [0, 1];
    if (k === 'get voip-yate logpath') return [0, [YATE_LOG]];
    if (k === 'get voip-yate ignoreip') return [0, ['127.0.0.1/8']];
    if (k === 'get voip-yate maxretry') return [0, 5];
    if (k === 'get voip-yate actions') return [0, []];
    if (k === 'version') return [0, '1.0.2'];
    return [0, 'pong'];
  });
  try {
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root));
    const s = await status({}, testContext(root));
    assert.deepEqual(s.jails.map((j) => [j.jail, j.bannedIps]), [['voip-yate', ['198.51.100.9']]]);
    const u = await unban({ ip: '198.51.100.9', jail: 'voip-yate' }, testContext(root));
    assert.equal(u.unbanned, true);
    assert.ok(f2b.commands.includes('set voip-yate unbanip 198.51.100.9'), JSON.stringify(f2b.commands));
    // Yate now logs elsewhere: the watch tells its own check, by its name, once.
    await writeFile(path.join(root, YATE_CONF), '; my yate\n[general]\nlogfile=/var/log/yate/other.log\n');
    const w = await watch({ once: true, interval: 300, lines: 100, json: true }, testContext(root, { run: recordingRunner() }));
    assert.ok(w.raised.some((p) => p.key === 'jail:voip-yate:Yate writes this log' && p.severity === 'broken'), JSON.stringify(w.raised));
  } finally {
    await f2b.close();
    await removeRoot(root);
  }
});
