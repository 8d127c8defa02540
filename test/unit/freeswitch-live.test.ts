/**
 * FreeSWITCH as it runs (pure parts): its command line and event socket, the plan's steps on a
 * running FreeSWITCH (reloadxml + sofia profile <name> rescan through its own fs_cli, never with
 * the event socket password), and doctor's verdict on the probe of the running profiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { buildInstallPlan } from '../../src/core/install-plan.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { formatCommand } from '../../src/core/command.ts';
import type { HostFacts } from '../../src/core/facts.ts';
import { freeswitchCommandLine, freeswitchEventSocket, sofiaProfileName } from '../../src/core/services/freeswitch-conf.ts';
import { freeswitchProbeCheck } from '../../src/core/services/freeswitch-probe.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';

const os = parseOsRelease(await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8'));
const templates = await loadTemplates();
const PROFILE = '/etc/freeswitch/sip_profiles/internal.xml';
const SHIPPED = '<profile name="internal">\n  <settings>\n    <param name="log-auth-failures" value="false"/>\n  </settings>\n</profile>\n';

function plan(fs: Partial<HostFacts['services']['freeswitch']>, text = SHIPPED) {
  const base = hostFacts(os);
  const facts: HostFacts = { ...base, services: { ...base.services, freeswitch: { ...base.services.freeswitch, present: true, profiles: [PROFILE], ...fs } } };
  return buildInstallPlan({ options: installOptions({ yes: true, services: ['freeswitch'] }), facts, distro: detectDistro(os), installed: new Set(), repoReady: true, templates, files: { [PROFILE]: text } });
}
const console = { fsCli: '/usr/bin/fs_cli', host: '127.0.0.1', port: 8021, defaultPassword: true };

test('the command line says where a running FreeSWITCH keeps its configuration and log', () => {
  assert.deepEqual(freeswitchCommandLine(['/usr/bin/freeswitch', '-u', 'freeswitch', '-ncwait', '-nonat']), {});
  assert.deepEqual(freeswitchCommandLine(['/opt/fs/bin/freeswitch', '-nc', '-conf', '/etc/freeswitch/', '-log', '/var/log/freeswitch']), { configDir: '/etc/freeswitch', logDir: '/var/log/freeswitch' });
  assert.deepEqual(freeswitchCommandLine(['freeswitch', '-base', '/usr/local/freeswitch']), { configDir: '/usr/local/freeswitch/conf', logDir: '/usr/local/freeswitch/log' });
  assert.deepEqual(freeswitchCommandLine(['freeswitch', '-conf', 'relative']), {}, 'a relative path is not taken');
});

test('the event socket: its address and port; of the password only whether it is fs_cli\'s default', () => {
  const xml = (ip: string, pw: string) => `<configuration name="event_socket.conf"><settings>\n<!-- <param name="listen-ip" value="10.0.0.1"/> -->\n<param name="listen-ip" value="${ip}"/>\n<param name="listen-port" value="8022"/>\n<param name="password" value="${pw}"/>\n</settings></configuration>`;
  assert.deepEqual(freeswitchEventSocket(xml('::', 'ClueCon')), { host: '::1', port: 8022, defaultPassword: true });
  assert.deepEqual(freeswitchEventSocket(xml('127.0.0.1', 's3cret')), { host: '127.0.0.1', port: 8022, defaultPassword: false });
  assert.deepEqual(freeswitchEventSocket(null), { host: '127.0.0.1', port: 8021, defaultPassword: true });
  assert.equal(sofiaProfileName('<!-- <profile name="x"> --><profile name="office">', '/etc/freeswitch/sip_profiles/internal.xml'), 'office');
});

test('a running FreeSWITCH: its fs_cli reloads the XML and rescans the changed profile (no restart, no password on the command line)', () => {
  const p = plan({ running: true, console });
  assert.deepEqual(p.afterCommands.map((a) => formatCommand(a.command)), [
    '/usr/bin/fs_cli -H 127.0.0.1 -P 8021 -x reloadxml',
    "/usr/bin/fs_cli -H 127.0.0.1 -P 8021 -x 'sofia profile internal rescan'",
  ]);
  assert.deepEqual(p.manualSteps, []);
  const secret = plan({ running: true, console: { ...console, defaultPassword: false } });
  assert.ok(secret.afterCommands.every((a) => !a.command.args.includes('-p')));
  assert.ok(secret.warnings.some((w) => /never puts it on a command line/.test(w)));
  // Already logging: nothing to reload.
  assert.deepEqual(plan({ running: true, console }, SHIPPED.replace('false', 'true')).afterCommands.filter((a) => a.service === 'freeswitch'), []);
});

test('FreeSWITCH not running: nothing to reload; running without a trusted fs_cli: the exact manual step', () => {
  assert.deepEqual(plan({ running: false, console: null }).afterCommands.filter((a) => a.service === 'freeswitch'), []);
  const p = plan({ running: true, console: { ...console, fsCli: null } });
  assert.deepEqual(p.afterCommands.filter((a) => a.service === 'freeswitch'), []);
  assert.ok(p.manualSteps.some((s) => s.includes('fs_cli -x reloadxml; fs_cli -x "sofia profile internal rescan"')), p.manualSteps.join('\n'));
});

test("doctor's probe: broken when a running profile that asks for a password logs no failure, or the log is not the jail's", () => {
  const LOG = '/var/log/freeswitch/freeswitch.log';
  const out = (lines: string[], logFile = LOG) =>
    JSON.stringify({ error: null, logFile, profiles: [{ name: 'internal', target: '203.0.113.1:5060', challenged: true, answer: 'SIP/2.0 403 Forbidden', lines }, { name: 'external', target: '203.0.113.1:5080', challenged: false, answer: 'SIP/2.0 403 Forbidden', lines: [] }] });
  const line = "2026-12-07 03:07:01.475375 76.60% [WARNING] sofia_reg.c:1787 SIP auth failure (REGISTER) on sofia profile 'internal' for [voip-f2b-doctor@203.0.113.1] from ip 127.0.0.1";
  assert.equal(freeswitchProbeCheck(out([line]), [LOG]).verdict, 'ok');
  const silent = freeswitchProbeCheck(out([]), [LOG]);
  assert.equal(silent.verdict, 'broken');
  assert.match(silent.detail, /sofia profile internal \(203\.0\.113\.1:5060/);
  assert.match(silent.fix ?? '', /sofia profile internal rescan/);
  assert.equal(freeswitchProbeCheck(out([line], '/opt/freeswitch/var/log/freeswitch/freeswitch.log'), [LOG]).verdict, 'broken');
  assert.equal(freeswitchProbeCheck(JSON.stringify({ error: 'fs_cli: Error Connecting', logFile: LOG, profiles: [] }), [LOG]).verdict, 'warning');
  assert.equal(freeswitchProbeCheck('garbage', [LOG]).verdict, 'warning');
});
