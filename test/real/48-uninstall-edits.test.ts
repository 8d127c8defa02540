/**
 * Issue 21, for real: uninstall keeps the admin's later edits. In a PBX host (test/helpers/
 * pbx-host.ts: its own network namespace, overlays of /etc and /var, a private /run; this
 * machine's files never change) the built CLI installs live over the admin's own jail.local,
 * fail2ban runs; then the admin adds a jail of their own to jail.local and changes the maxretry
 * the tool set. `uninstall --dry-run` and `uninstall` say what they do with it; the restored
 * jail.local is the admin's original with the admin's jail carried over, the admin's whole version
 * is kept as jail.local.voip-f2b-install.kept, the real `fail2ban-client -t` accepts the restored
 * configuration and the restarted fail2ban runs the admin's jail.
 *
 * Namespace prefix `vun`; address 203.0.113.1 on a bridge made here only, no peers.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makePbxHost, type PbxHost } from '../helpers/pbx-host.ts';
import { assertRealHost } from '../helpers/system.ts';

const ORIGINAL = '# the admin\'s own settings\n[DEFAULT]\nbantime = 600\n\n[sshd]\nenabled = false\n';
const ADMIN_JAIL = '# my own jail, added after voip-f2b-install\n[vun-admin]\nenabled = true\nfilter = sshd\nbackend = auto\nlogpath = /var/log/vun-admin.log\n';
const JAIL = '/etc/fail2ban/jail.local';

let host: PbxHost | null = null;
after(async () => {
  if (host) await host.close();
});

/** The lines uninstall prints about the admin's edits. */
const editLines = (text: string): string[] => text.split('\n').filter((l) => /^(CARRY|KEEP|Edited:)/.test(l));

test('install, the admin adds a jail and changes maxretry, uninstall: the jail carried, the version kept, fail2ban accepts and runs it', { timeout: 300000 }, async () => {
  assertRealHost();
  const t0 = Date.now();
  host = await makePbxHost('vun', '203.0.113.1/24', {}, (etc, varUpper) => {
    mkdirSync(path.join(etc, 'asterisk'), { recursive: true });
    writeFileSync(path.join(etc, 'asterisk/asterisk.conf'), '[directories]\nastlogdir => /var/log/asterisk\n');
    mkdirSync(path.join(etc, 'fail2ban'), { recursive: true });
    rmSync(path.join(etc, 'fail2ban/jail.local'), { force: true }); // a whiteout of this machine's, if any
    writeFileSync(path.join(etc, 'fail2ban/jail.local'), ORIGINAL);
    mkdirSync(path.join(varUpper, 'log'), { recursive: true });
    writeFileSync(path.join(varUpper, 'log/vun-admin.log'), '');
  });
  const h = host;
  const i = h.cli(['--yes', '--services', 'asterisk', '--whitelist', '203.0.113.4']);
  assert.equal(i.status, 0, `${i.stdout}\n${i.stderr}`);
  const ours = h.read(JAIL)!;
  assert.match(ours, /^maxretry = 5$/m);
  assert.match(h.exec('fail2ban-client', ['status']).stdout, /voip-asterisk/);

  // The admin's edits.
  const admin = `${ours.replace(/^maxretry = 5$/m, 'maxretry = 3')}\n${ADMIN_JAIL}`;
  assert.equal(h.exec('tee', [JAIL], { input: admin }).status, 0);

  const dry = h.cli(['uninstall', '--dry-run']);
  assert.equal(dry.status, 0, dry.stderr);
  assert.equal(h.read(JAIL), admin, '--dry-run changes nothing');
  const lines = editLines(dry.stdout);
  assert.deepEqual(lines.slice(0, 2), ['CARRY   [vun-admin] into /etc/fail2ban/jail.local', 'KEEP    /etc/fail2ban/jail.local.voip-f2b-install.kept (your version of /etc/fail2ban/jail.local)']);
  assert.match(lines[2]!, /^Edited: \/etc\/fail2ban\/jail\.local: \[vun-admin\] .* carried into the restored file; not carried: \[DEFAULT\] maxretry changed .*; your whole version is kept as \/etc\/fail2ban\/jail\.local\.voip-f2b-install\.kept$/);
  assert.equal(lines.length, 3, dry.stdout);

  const u = h.cli(['uninstall']);
  assert.equal(u.status, 0, `${u.stdout}\n${u.stderr}`);
  assert.deepEqual(editLines(u.stdout), lines, 'uninstall says what --dry-run said');
  assert.match(u.stdout, /^Done\.$/m);
  assert.equal(h.read(JAIL), `${ORIGINAL}\n${ADMIN_JAIL}`, 'the original with the admin jail carried');
  assert.equal(h.read(`${JAIL}.voip-f2b-install.kept`), admin, 'the admin version kept whole');
  assert.equal(h.read('/etc/fail2ban/filter.d/voip-asterisk.conf'), null, 'the tool is gone');
  assert.equal(h.read('/var/backups/voip-f2b-install/manifest.json'), null);
  const t = h.exec('fail2ban-client', ['-t']);
  assert.equal(t.status, 0, `fail2ban-client -t: ${t.stdout}${t.stderr}`);
  const s = h.exec('fail2ban-client', ['status']);
  assert.match(s.stdout, /Jail list:\s*vun-admin\s*$/m, s.stdout);
  console.log(`# uninstall-edits: install + edit + uninstall round trip in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
