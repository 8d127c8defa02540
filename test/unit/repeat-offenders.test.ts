/**
 * Repeat offenders: the --bantime-increment / --no-bantime-increment / --bantime-max flags and
 * their environment twins, and what the planner writes for them: bantime.increment keys in
 * [DEFAULT] on fail2ban 0.11+, a recidive jail on fail2ban 0.10 (Debian 10, Ubuntu 18.04).
 * That fail2ban really bans a repeat offender longer: test/real/41-repeat-offenders.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildInstallPlan, JAIL_LOCAL } from '../../src/core/install-plan.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import type { HostFacts } from '../../src/core/facts.ts';
import { getIniValue } from '../../src/core/ini-edit.ts';
import { fail2banAtLeast, repeatOffenderKeys } from '../../src/core/repeat-offenders.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { parseArgs } from '../../src/cli.ts';
import { UsageError } from '../../src/errors.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';

const templates = await loadTemplates();
const os = parseOsRelease(await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'));
const distro = detectDistro(os);

function facts(version: string | null): HostFacts {
  const base = hostFacts(os);
  return {
    ...base,
    fail2ban: { installed: version !== null, version, running: false },
    services: { ...base.services, asterisk: { ...base.services.asterisk, present: true } },
  };
}

function jailOf(version: string | null, o: Parameters<typeof installOptions>[0] = {}, existing: string | null = null) {
  const p = buildInstallPlan({ options: installOptions({ yes: true, ...o }), facts: facts(version), distro, installed: new Set(), repoReady: true, templates, files: { [JAIL_LOCAL]: existing } });
  return { text: p.files.find((f) => f.path === JAIL_LOCAL)!.after, jails: p.jails };
}

const install = (argv: string[], env: Record<string, string> = {}) => {
  const inv = parseArgs(argv, env);
  assert.ok(inv.command === 'install');
  return inv.options;
};

test('flags: increment on by default, bantime-max 1w; --no-bantime-increment and the env twins turn it off', () => {
  assert.equal(install([]).bantimeIncrement, true);
  assert.equal(install([]).bantimeMax, '1w');
  assert.equal(install(['--no-bantime-increment']).bantimeIncrement, false);
  assert.equal(install(['--bantime-increment']).bantimeIncrement, true);
  assert.equal(install([], { VOIP_F2B_NO_BANTIME_INCREMENT: '1' }).bantimeIncrement, false);
  assert.equal(install([], { VOIP_F2B_BANTIME_INCREMENT: '0' }).bantimeIncrement, false);
  assert.equal(install(['--bantime-increment'], { VOIP_F2B_NO_BANTIME_INCREMENT: '1' }).bantimeIncrement, true, 'a flag on the command line wins');
  assert.equal(install(['--bantime-max', '2d']).bantimeMax, '2d');
  assert.equal(install([], { VOIP_F2B_BANTIME_MAX: '3d' }).bantimeMax, '3d');
  assert.equal(install(['--bantime', '-1', '--bantime-max', '1h']).bantimeMax, '1h', 'a permanent ban needs no maximum');
});

test('flags: a bad --bantime-max is one line naming the value and what is accepted (exit 2)', () => {
  for (const [argv, re] of [
    [['--bantime-max', 'soon'], /^invalid --bantime-max 'soon': expected a positive number of seconds or a duration like 600, 10m, 1h, 1d, 1w$/],
    [['--bantime-max', '-1'], /^invalid --bantime-max '-1': expected/],
    [['--bantime', '1d', '--bantime-max', '12h'], /^invalid --bantime-max '12h': shorter than --bantime '1d'; expected a duration of at least the ban time, e.g\. 1w$/],
  ] as const) {
    assert.throws(() => parseArgs([...argv], {}), (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n'));
  }
  assert.throws(() => parseArgs([], { VOIP_F2B_BANTIME_INCREMENT: 'maybe' }), /invalid VOIP_F2B_BANTIME_INCREMENT='maybe'/);
});

test('fail2ban 0.11+: bantime.increment, maxtime and overalljails in [DEFAULT]; a re-run changes nothing', () => {
  const { text, jails } = jailOf('1.0.2', { bantimeMax: '2d' });
  assert.equal(getIniValue(text, 'DEFAULT', 'bantime.increment'), 'true');
  assert.equal(getIniValue(text, 'DEFAULT', 'bantime.maxtime'), '2d');
  assert.equal(getIniValue(text, 'DEFAULT', 'bantime.overalljails'), 'true');
  assert.equal(getIniValue(text, 'recidive', 'enabled'), undefined);
  assert.ok(!jails.includes('recidive'));
  assert.equal(jailOf('1.0.2', { bantimeMax: '2d' }, text).text, text, 'idempotent');
  // the version fail2ban is about to be installed at (Debian 12 ships 1.0.2) when none is installed yet
  assert.equal(getIniValue(jailOf(null).text, 'DEFAULT', 'bantime.increment'), 'true');
  assert.equal(getIniValue(jailOf('0.11.2').text, 'DEFAULT', 'bantime.increment'), 'true');
});

test('--no-bantime-increment writes bantime.increment = false, so a re-run undoes an earlier run', () => {
  const on = jailOf('1.0.2').text;
  const off = jailOf('1.0.2', { bantimeIncrement: false }, on).text;
  assert.equal(getIniValue(off, 'DEFAULT', 'bantime.increment'), 'false');
});

test('fail2ban 0.10: a recidive jail (3 bans in a day: banned for --bantime-max on all ports), listed as a jail', () => {
  const { text, jails } = jailOf('0.10.2', { bantimeMax: '2w' });
  assert.equal(getIniValue(text, 'DEFAULT', 'bantime.increment'), undefined, 'no key 0.10 does not know');
  assert.equal(getIniValue(text, 'recidive', 'enabled'), 'true');
  assert.equal(getIniValue(text, 'recidive', 'bantime'), '2w');
  assert.equal(getIniValue(text, 'recidive', 'logpath'), '/var/log/fail2ban.log');
  assert.equal(getIniValue(text, 'recidive', 'banaction'), '%(banaction_allports)s');
  assert.ok(jails.includes('recidive'));
  const off = jailOf('0.10.2', { bantimeIncrement: false }, text);
  assert.equal(getIniValue(off.text, 'recidive', 'enabled'), 'false');
  assert.ok(!off.jails.includes('recidive'));
  assert.equal(getIniValue(jailOf('0.10.2', { bantimeIncrement: false }).text, 'recidive', 'enabled'), undefined, 'a recidive jail never written is not created');
});

test('versions compare by number', () => {
  assert.ok(fail2banAtLeast('0.11.2', '0.11'));
  assert.ok(fail2banAtLeast('1.0.2', '0.11'));
  assert.ok(!fail2banAtLeast('0.10.6', '0.11'));
  assert.ok(!fail2banAtLeast('0.9', '0.11'));
  assert.deepEqual(repeatOffenderKeys({ bantimeIncrement: true, bantimeMax: '1w' }, '0.10.2', undefined).jails, ['recidive']);
});
