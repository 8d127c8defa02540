/**
 * Settings persist, live (issue 21): the built CLI installs with `--bantime 1d` inside a PBX host
 * (overlays of /etc and /var, a private /run: this machine's files never change), then a plain
 * re-run keeps that ban time: jail.local byte for byte, "kept from the last run" in the output,
 * nothing to do, fail2ban not restarted, and the running fail2ban bans for a day.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePbxHost, type PbxHost } from '../helpers/pbx-host.ts';
import { assertRealHost } from '../helpers/system.ts';

let host: PbxHost | null = null;
after(async () => {
  if (host) await host.close();
});

/** An installed (not running) Asterisk: its configuration directory and logs. */
function prepare(etc: string, varUpper: string): void {
  mkdirSync(path.join(etc, 'asterisk'), { recursive: true });
  writeFileSync(path.join(etc, 'asterisk/asterisk.conf'), '[directories]\nastetcdir => /etc/asterisk\nastlogdir => /var/log/asterisk\n');
  writeFileSync(path.join(etc, 'asterisk/logger.conf'), '[general]\n\n[logfiles]\nmessages => notice,warning,error\n');
  mkdirSync(path.join(varUpper, 'log/asterisk'), { recursive: true });
}

const pidOf = (): string | null => host!.read('/run/fail2ban/fail2ban.pid')?.trim() ?? null;

test('--bantime 1d, then a plain re-run: jail.local byte-identical, "kept from the last run", fail2ban bans for a day', async () => {
  assertRealHost();
  host = await makePbxHost('vst', '203.0.113.1/24', {}, prepare);
  const t0 = Date.now();
  const first = host.cli(['--services', 'asterisk', '--whitelist', '203.0.113.7', '--bantime', '1d', '--yes', '--no-doctor']);
  assert.equal(first.status, 0, first.stderr + first.stdout);
  const firstMs = Date.now() - t0;
  const jail = host.read('/etc/fail2ban/jail.local')!;
  assert.match(jail, /^bantime = 1d$/m);
  const pid = pidOf();
  assert.ok(pid, 'fail2ban runs');

  const t1 = Date.now();
  const again = host.cli(['--json']);
  const againMs = Date.now() - t1;
  assert.equal(again.status, 0, again.stderr);
  const report = JSON.parse(again.stdout) as { nothingToDo: boolean; kept: string[]; files: Array<{ action: string }> };
  assert.equal(report.nothingToDo, true, again.stdout);
  assert.deepEqual(report.kept, ['whitelist 203.0.113.7', 'services asterisk', 'bantime 1d']);
  assert.ok(report.files.every((f) => f.action === 'UNCHANGED'));
  assert.equal(host.read('/etc/fail2ban/jail.local'), jail, 'jail.local byte for byte');

  const text = host.cli([]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^Kept from the last run: whitelist 203\.0\.113\.7, services asterisk, bantime 1d$/m);
  assert.match(text.stdout, /Nothing to do/);
  assert.equal(host.read('/etc/fail2ban/jail.local'), jail);
  assert.equal(pidOf(), pid, 'fail2ban was not restarted');
  // The running server's own view: a day, and the whitelist kept.
  assert.equal(host.exec('fail2ban-client', ['get', 'voip-asterisk', 'bantime']).stdout.trim(), '86400');
  assert.match(host.exec('fail2ban-client', ['get', 'voip-asterisk', 'ignoreip']).stdout, /203\.0\.113\.7/);
  console.log(`# first run ${firstMs} ms, plain re-run ${againMs} ms`);
});
