/**
 * A service's flags are its module's (issue 22): declared in ServiceModule.flags, registered by
 * the CLI from the registry, checked, stored and kept by src/core/settings.ts without naming a
 * service. Settings stored by the version before (flags written in cli.ts and settings.ts) stay
 * readable, so a host it installed keeps its values. Pure: no file, no process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseArgs } from '../../src/cli.ts';
import type { InstallOptions } from '../../src/core/options.ts';
import { SERVICE_MODULES, serviceFlags } from '../../src/core/services/index.ts';
import { checkSettings, keptSettings, parseStoredSettings, settingsOf, withStoredSettings } from '../../src/core/settings.ts';
import { UsageError } from '../../src/errors.ts';
import { runCli } from '../helpers/cli.ts';

function cli(args: string[], env: Record<string, string> = {}): InstallOptions {
  const inv = parseArgs(['--yes', ...args], env);
  assert.ok(inv.command === 'install');
  return inv.options;
}

/** The manifest's `settings` as the version before this one wrote them (its key order, its values). */
const STORED_BEFORE = {
  whitelist: ['203.0.113.7'],
  services: ['asterisk', 'freeswitch', 'kamailio'],
  kamailioAuthLog: true,
  freeswitchMode: 'aggressive',
  email: 'ops@example.com',
  mailInterval: 60,
  bantime: '1d',
  bantimeIncrement: true,
  bantimeMax: '4w',
  findtime: '10m',
  maxretry: 3,
  protectAdmin: true,
  keepExistingJails: false,
  watch: { interval: 300 },
};

test('settings stored by the previous version read back unchanged; a plain re-run keeps the services\' flags and says so', () => {
  const { settings, problems } = parseStoredSettings(JSON.parse(JSON.stringify(STORED_BEFORE)));
  assert.deepEqual(problems, []);
  assert.deepEqual(settings, STORED_BEFORE);
  const parsed = cli([]);
  const run = withStoredSettings(parsed, settings, false);
  assert.equal(run.kamailioAuthLog, true);
  assert.equal(run.freeswitchMode, 'aggressive');
  assert.deepEqual(settingsOf(run), STORED_BEFORE, 'stored again as it was');
  const kept = keptSettings(run, parsed, settings, false);
  assert.ok(kept.includes('kamailio-auth-log on') && kept.includes('freeswitch-mode aggressive'), JSON.stringify(kept));
  // A flag given wins over the stored value.
  assert.equal(withStoredSettings(cli(['--freeswitch-mode', 'normal']), settings, false).freeswitchMode, 'normal');
  // A stored value its flag would refuse is dropped and named, as before.
  assert.deepEqual([...parseStoredSettings({ freeswitchMode: 'turbo', kamailioAuthLog: 'yes' }).problems].sort(), [
    'the stored setting --freeswitch-mode ("turbo") is not valid (not normal or aggressive): not used',
    'the stored setting --kamailio-auth-log ("yes") is not valid (not true or false): not used',
  ]);
  // What one run does is not a setting: never stored.
  assert.equal('restartKamailio' in settingsOf(cli(['--restartkamailio'])), false);
});

test('every declared flag is registered: parsed from its spelling, its aliases and its environment twin; help names the aliases', () => {
  assert.ok(serviceFlags().length >= 3);
  for (const { flag } of serviceFlags()) {
    const value = flag.kind === 'boolean' ? [] : [flag.choices?.at(-1) ?? 'x'];
    const expected = flag.kind === 'boolean' ? true : value[0];
    const name = flag.flag.split(' ')[0]!;
    for (const spelling of [name, ...(flag.aliases ?? [])]) {
      assert.equal((cli([spelling, ...value]) as unknown as Record<string, unknown>)[flag.key], expected, spelling);
      const twin = `VOIP_F2B_${spelling.slice(2).replace(/-/g, '_').toUpperCase()}`;
      assert.equal((cli([], { [twin]: flag.kind === 'boolean' ? '1' : value[0]! }) as unknown as Record<string, unknown>)[flag.key], expected, twin);
    }
    assert.equal(cli([name, ...value]).given?.includes(flag.key as never), Boolean(flag.setting), `${name}: a setting is "given"`);
  }
  // The dashed spelling of the restart flag; a yes/no twin set to 0 is off.
  assert.equal(cli(['--restart-kamailio']).restartKamailio, true);
  assert.equal(cli([], { VOIP_F2B_RESTART_KAMAILIO: '0' }).restartKamailio, false);
  assert.throws(() => cli(['--freeswitch-mode', 'turbo']), /argument 'turbo' is invalid\. Allowed choices are normal, aggressive/);
  // The built CLI's help: each flag once, its aliases named in its line (hidden as options).
  const help = runCli(['install', '--help']).stdout.replace(/\s+/g, ' ');
  for (const { flag } of serviceFlags()) {
    assert.ok(help.includes(flag.flag), flag.flag);
    for (const alias of flag.aliases ?? []) assert.match(help, new RegExp(`\\(also ${alias}\\)`));
  }
  assert.equal(help.split('--restart-kamailio').length, 2, 'the alias is no second option line');
});

test('a service flag given while its service is neither found nor chosen is exit 2 naming the flag and the module (generic check)', () => {
  const host = { services: ['sshd', 'asterisk'] };
  for (const { module, flag } of serviceFlags().filter((f) => f.flag.needsService)) {
    const name = flag.flag.split(' ')[0]!;
    const value = flag.kind === 'boolean' ? [] : [flag.choices?.at(-1) ?? 'x'];
    assert.throws(() => checkSettings(cli([name, ...value]), host), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.exitCode, 2);
      assert.equal(e.message, `${[name, ...value].join(' ')} ${flag.needsService}, and ${module.label} is neither found on this host nor chosen with --services`);
      assert.equal(e.hint, `drop ${name}, or add ${module.name} to --services`);
      return true;
    });
    checkSettings(cli([name, ...value]), { services: [...host.services, module.name] });
  }
  // A stored value, not given in this run, is no refusal (it waits for the service's return).
  checkSettings({ ...cli([]), kamailioAuthLog: true }, host);
});

test('the CLI, options, settings and the interactive setup name no service: the modules declare their flags and questions', async () => {
  // sshd is left out: uninstall's help describes the distro's own sshd jail it may leave.
  const names = SERVICE_MODULES.filter((m) => !m.implicit).flatMap((m) => [m.name, m.label]);
  for (const file of ['src/cli.ts', 'src/cli/env.ts', 'src/cli/install-options.ts', 'src/cli/interactive.ts', 'src/core/options.ts', 'src/core/settings.ts']) {
    const text = await readFile(new URL(`../../${file}`, import.meta.url), 'utf8');
    for (const n of names) assert.ok(!text.toLowerCase().includes(n.toLowerCase()), `${file} names ${n}`);
  }
});
