/**
 * Issue 21, on this machine's real fail2ban: a FusionPBX-style host (FusionPBX's marker, its
 * installer's [freeswitch] jail enabled with its own `freeswitch` filter, its sofia profile
 * logging auth failures as a FusionPBX admin sets it in the web interface) gets the CLI, live.
 * The CLI adopts [freeswitch] (switched off in its override file; FusionPBX's jail.local and
 * profile untouched): an attacker is banned once, by voip-freeswitch, not twice.
 *
 * The PBX host is freeswitchHost() of test/helpers/pbx-servers.ts (namespaces `vds-*`, overlays
 * of /etc and /var: this machine's files never change) running the real FreeSWITCH 1.10 of
 * /opt/freeswitch with the vanilla configuration and the minimal edits of 53-freeswitch-scanner. Addresses:
 * 203.0.113.0/24 on links made here only. Every process started is stopped by its PID.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { edit, FS, FS_CLI, freeswitchHost, type PbxServer } from '../helpers/pbx-servers.ts';
import { assertRealHost, sleep, waitFor } from '../helpers/system.ts';

const SERVER = '203.0.113.1';
const PEERS = { atk: '203.0.113.2', atk2: '203.0.113.3' } as const;
const FUSION = fileURLToPath(new URL('../fixtures/pbx/fusionpbx5/', import.meta.url));
const ACCOUNTS: Record<string, string> = { '1001': 'site-Pass-2026', '1002': 'phone-Pass-2026' };

/** FusionPBX's [freeswitch] section, verbatim from its installer's jail.local (the fixture). */
const FUSION_JAIL = /\[freeswitch\]\n[\s\S]*?\n(?=\n\[)/.exec(readFileSync(path.join(FUSION, 'etc/fail2ban/jail.local'), 'utf8'))![0];

let host: PbxServer | null = null;
after(async () => {
  if (host) await host.close();
});

/** On FreeSWITCH's vanilla configuration (53's minimal edits): log-auth-failures on; FusionPBX's marker, filter and jail. */
function prepare(etc: string, v: string): void {
  const c = path.join(etc, 'freeswitch');
  // As the FusionPBX admin set it (Advanced > SIP Profiles): the profile logs failed passwords.
  edit(path.join(c, 'sip_profiles/internal.xml'), '<param name="log-auth-failures" value="false"/>', '<param name="log-auth-failures" value="true"/>');
  edit(path.join(c, 'sip_profiles/external.xml'), '  <settings>\n', '  <settings>\n    <param name="log-auth-failures" value="true"/>\n');
  writeFileSync(path.join(v, 'log/freeswitch/freeswitch.log'), '');
  // FusionPBX: its marker, its filter (replacing fail2ban's own freeswitch.conf), its [freeswitch] jail.
  mkdirSync(path.join(etc, 'fusionpbx'), { recursive: true });
  cpSync(path.join(FUSION, 'etc/fusionpbx/config.conf'), path.join(etc, 'fusionpbx/config.conf'));
  mkdirSync(path.join(etc, 'fail2ban/filter.d'), { recursive: true });
  cpSync(path.join(FUSION, 'etc/fail2ban/filter.d/freeswitch.conf'), path.join(etc, 'fail2ban/filter.d/freeswitch.conf'));
  // The whiteout pbx-host made for this machine's jail.local (if any) is replaced by FusionPBX's.
  rmSync(path.join(etc, 'fail2ban/jail.local'), { force: true });
  writeFileSync(path.join(etc, 'fail2ban/jail.local'), FUSION_JAIL);
}

test('FusionPBX-style [freeswitch] already enabled: the CLI adopts it; each attacker is banned once, by voip-freeswitch', async (t) => {
  assertRealHost();
  for (const bin of [FS, FS_CLI, '/usr/bin/fail2ban-server', '/usr/bin/fail2ban-regex', '/usr/sbin/nft', '/usr/bin/nsenter']) assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  host = await freeswitchHost({ prefix: 'vds', server: SERVER, peers: PEERS, accounts: ACCOUNTS, prepare });
  const h = host;
  const profileBefore = h.read('/etc/freeswitch/sip_profiles/internal.xml');
  const externalBefore = h.read('/etc/freeswitch/sip_profiles/external.xml');
  const jailBefore = h.read('/etc/fail2ban/jail.local');

  const t0 = Date.now();
  const r = h.cli(['--yes', '--services', 'freeswitch', '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(r.stdout) as { jails: string[]; notes?: string[]; manualSteps: string[] };
  t.diagnostic(`CLI ${Date.now() - t0} ms; notes: ${JSON.stringify(report.notes)}`);
  assert.match(report.notes?.[0] ?? '', /^FusionPBX found/);
  assert.ok(report.notes?.some((n) => /^\[freeswitch\] \(\/etc\/fail2ban\/jail\.local\) counts the same failures as \[voip-freeswitch\]: adopted/.test(n)), JSON.stringify(report.notes));
  assert.deepEqual(report.manualSteps, [], 'both profiles log auth failures already: nothing by hand');
  assert.equal(h.read('/etc/freeswitch/sip_profiles/internal.xml'), profileBefore, 'the profiles FusionPBX regenerates are not edited');
  assert.equal(h.read('/etc/freeswitch/sip_profiles/external.xml'), externalBefore);
  assert.ok(h.read('/etc/fail2ban/jail.local')!.startsWith(jailBefore!.trimEnd()), "FusionPBX's section kept byte for byte");
  const status = h.exec('fail2ban-client', ['status'], { timeoutMs: 30000 }).stdout;
  const running = /Jail list:\s*(.*)$/m.exec(status)?.[1]?.split(/[\s,]+/).filter(Boolean) ?? [];
  assert.ok(running.includes('voip-freeswitch') && !running.includes('freeswitch'), status);

  // Two attackers, six wrong passwords each (2.5 s apart: past the guard's pause).
  const bans = (addr: string): string[] => (h.read('/var/log/fail2ban.log') ?? '').split('\n').filter((l) => / Ban /.test(l) && l.endsWith(` Ban ${addr}`));
  for (const peer of ['atk', 'atk2'] as const) {
    for (let i = 0; i < 6 && !bans(PEERS[peer]).length; i++) {
      // One account each: the guard's defence of an account guessed from several addresses stays out of it.
      await h.sip(peer, { user: peer === 'atk' ? '1001' : '1002', password: `wrong-${i}`, failures: 1, timeoutMs: 2000 });
      await sleep(2500);
    }
    assert.ok(await waitFor(() => bans(PEERS[peer]).length > 0, 10000), `banned: ${(h.read('/var/log/fail2ban.log') ?? '').slice(-3000)}`);
  }
  await sleep(3000); // any second jail would have banned by now
  for (const peer of ['atk', 'atk2'] as const) {
    const b = bans(PEERS[peer]);
    assert.equal(b.length, 1, `one ban for ${peer}: ${b.join('\n')}`);
    assert.match(b[0]!, /\[voip-freeswitch\] Ban /);
  }
  // Only voip-freeswitch counted them: no jail of FusionPBX's found anything.
  const f2bLog = (h.read('/var/log/fail2ban.log') ?? '').split('\n');
  const found = (jail: string) => f2bLog.filter((l) => l.includes(`[${jail}] Found `));
  assert.deepEqual(found('freeswitch'), [], 'FusionPBX\'s [freeswitch] counted nothing');
  for (const a of Object.values(PEERS)) assert.ok(found('voip-freeswitch').some((l) => l.includes(`Found ${a} `)), found('voip-freeswitch').join('\n'));
  // And it would have: FusionPBX's filter matches the attack's lines (left enabled, each line counted twice).
  const regex = h.exec('fail2ban-regex', ['--usedns=no', '/var/log/freeswitch/freeswitch.log', '/etc/fail2ban/filter.d/freeswitch.conf'], { timeoutMs: 60000 });
  const matched = Number(/Failregex: (\d+) total/.exec(regex.stdout)?.[1] ?? '0');
  t.diagnostic(`voip-freeswitch found ${found('voip-freeswitch').length}, [freeswitch] 0 (FusionPBX's filter matches ${matched} lines of the attack); bans per attacker: ${Object.values(PEERS).map((a) => bans(a).length).join(', ')}`);
  assert.ok(matched >= 4, `the FusionPBX filter sees the attack: ${regex.stdout.slice(0, 2000)}`);
});
