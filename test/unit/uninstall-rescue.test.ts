/**
 * Issue 22, "a service is its module": what uninstall does for one service comes from the
 * module's `uninstall` and `uninstallRescue` fields. The sshd module's rescue (the Debian sshd
 * trap: the restored stock jail has no log) is pure and tested here; the whole flow, consent and
 * fix, is in recovery.test.ts. Plan application and uninstall name no registered service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { HostFacts } from '../../src/core/facts.ts';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';
import { sshd, SSHD_OVERRIDE } from '../../src/core/services/sshd.ts';

const TRAP = "ERROR   Failed during configuration: Have not found any log file for sshd jail\nERROR   Async configuration of server failed";
const facts = (journald: boolean): HostFacts => ({ journald }) as unknown as HostFacts;

test('sshd: fail2ban errors naming its jail get the override file; journald decides its one setting', () => {
  const off = sshd.uninstallRescue!({ facts: facts(false), output: TRAP });
  assert.equal(off?.path, SSHD_OVERRIDE);
  assert.equal(off?.settings, '[sshd]\nenabled = false\n');
  assert.match(off!.text, /^# Left by voip-f2b-install uninstall, with the admin's consent.*\n(#.*\n)*\[sshd\]\nenabled = false\n$/);
  assert.match(off!.why, /sshd jail, which cannot start here/);
  assert.equal(sshd.uninstallRescue!({ facts: facts(true), output: "ERROR Errors in jail 'sshd'. Skipping..." })?.settings, '[sshd]\nbackend = systemd\n');
  assert.equal(sshd.uninstallRescue!({ facts: facts(false), output: "ERROR No file(s) found for glob /var/log/asterisk/messages.log\nERROR Failed during configuration: Have not found any log file for voip-asterisk jail" }), null);
});

test('apply, uninstall and the admin-edit reader name no registered service (a service is its module)', () => {
  const names = SERVICE_MODULES.map((m) => m.name);
  assert.ok(names.includes('sshd') && names.includes('kamailio'), names.join(','));
  const found: string[] = [];
  for (const file of ['src/adapters/apply.ts', 'src/commands/uninstall.ts', 'src/core/admin-edits.ts']) {
    const lines = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8').split('\n');
    lines.forEach((line, i) => {
      for (const n of names) if (new RegExp(`\\b${n}\\b`, 'i').test(line)) found.push(`${file}:${i + 1}: ${n}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
