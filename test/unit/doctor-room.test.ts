/**
 * doctor's room (src/doctor/): which module a jail belongs to is the modules' word (their jails,
 * the filters they own, adopt or name for doctor), never a service name matched in the jail's
 * name; a busy server's open files are read once per doctor run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jailModule, jailOwner } from '../../src/core/doctor/failures.ts';
import { openFilesOnce } from '../../src/doctor/proc.ts';
import { SERVICE_MODULES } from '../../src/core/services/index.ts';

test('a jail belongs to the module that owns it, else to the one whose filter (own, adopted or named for doctor) it uses', () => {
  const of = (jail: string, filter: string) => jailModule(jail, filter)?.name ?? null;
  assert.equal(of('voip-asterisk', 'voip-asterisk[count=once]'), 'asterisk');
  assert.equal(of('voip-kamailio-pike', 'voip-kamailio[mode=pike]'), 'kamailio');
  assert.equal(of('asterisk-iptables', 'asterisk'), 'asterisk', "Debian's stock filter, adopted");
  assert.equal(of('freeswitch-ip', 'sip-auth-failure'), 'freeswitch', "FusionPBX's filter, adopted");
  assert.equal(of('sshd', 'sshd'), 'sshd', "the distro's jail, named for doctor by the sshd module");
  // No more matching of a name inside the jail's: a jail of another kind is nobody's.
  assert.equal(of('my-asterisk-web', 'apache-auth'), null);
  assert.equal(of('recidive', 'recidive'), null);
  // Only a jail the module lists is its own (its own checks run for it).
  assert.equal(jailOwner('voip-freeswitch')?.name, 'freeswitch');
  assert.equal(jailOwner('freeswitch'), undefined);
  // Every module's own jails map back to it.
  for (const m of SERVICE_MODULES) for (const j of m.jails) assert.equal(jailModule(j, j), m, j);
});

test("a process's open files are read once per doctor run, however many jails ask", () => {
  const open = openFilesOnce();
  const first = open(process.pid);
  assert.ok(Array.isArray(first) && first.length > 0);
  assert.equal(open(process.pid), first, 'the same list, not read again');
  assert.equal(openFilesOnce()(2 ** 22 + 7), null, 'no such process');
});
