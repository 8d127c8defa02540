/**
 * Issue 21, on this machine's real fail2ban: a FusionPBX-style host (FusionPBX's marker, its
 * installer's [freeswitch] jail enabled with its own `freeswitch` filter, its sofia profile
 * logging auth failures as a FusionPBX admin sets it in the web interface) gets the CLI, live.
 * The CLI adopts [freeswitch] (switched off in its override file; FusionPBX's jail.local and
 * profile untouched): an attacker is banned once, by voip-freeswitch, not twice.
 *
 * The PBX host is test/helpers/pbx-host.ts (namespaces `vds-*`, overlays of /etc and /var: this
 * machine's files never change) running the real FreeSWITCH 1.10 of /opt/freeswitch with the
 * vanilla configuration and the minimal edits of 53-freeswitch-scanner. Addresses:
 * 203.0.113.0/24 on links made here only. Every process started is stopped by its PID.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO } from '../helpers/cli.ts';
import { makePbxHost, type PbxHost } from '../helpers/pbx-host.ts';
import { assertRealHost, sleep, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const SERVER = '203.0.113.1';
const PEERS = { atk: '203.0.113.2', atk2: '203.0.113.3' } as const;
const FS = '/opt/freeswitch/bin/freeswitch';
const FS_CLI = '/opt/freeswitch/bin/fs_cli';
const VANILLA = existsSync('/opt/freeswitch/etc/freeswitch.vanilla') ? '/opt/freeswitch/etc/freeswitch.vanilla' : '/opt/freeswitch/etc/freeswitch';
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const FUSION = fileURLToPath(new URL('../fixtures/pbx/fusionpbx5/', import.meta.url));
const ACCOUNTS: Record<string, string> = { '1001': 'site-Pass-2026', '1002': 'phone-Pass-2026' };

/** FusionPBX's [freeswitch] section, verbatim from its installer's jail.local (the fixture). */
const FUSION_JAIL = /\[freeswitch\]\n[\s\S]*?\n(?=\n\[)/.exec(readFileSync(path.join(FUSION, 'etc/fail2ban/jail.local'), 'utf8'))![0];

let host: PbxHost | null = null;
after(async () => {
  if (host) {
    host.exec(FS_CLI, ['-H', '127.0.0.1', '-P', '8021', '-x', 'shutdown'], { timeoutMs: 20000 });
    await host.close();
  }
});

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.includes(from), `${file}: ${from} not found`);
  writeFileSync(file, text.replace(from, to));
}

/** FreeSWITCH's vanilla configuration (53's minimal edits), log-auth-failures on; FusionPBX's marker, filter and jail. */
function prepare(etc: string, v: string): void {
  const c = path.join(etc, 'freeswitch');
  cpSync(VANILLA, c, { recursive: true });
  edit(path.join(c, 'vars.xml'), '<X-PRE-PROCESS cmd="set" data="default_password=1234"/>', `<X-PRE-PROCESS cmd="set" data="default_password=unused-not-1234"/>\n  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${SERVER}"/>`);
  edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_rtp_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_rtp_ip=${SERVER}"`);
  edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_sip_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_sip_ip=${SERVER}"`);
  for (const f of ['internal-ipv6.xml', 'external-ipv6.xml', 'external-ipv6']) rmSync(path.join(c, 'sip_profiles', f), { recursive: true, force: true });
  // As the FusionPBX admin set it (Advanced > SIP Profiles): the profile logs failed passwords.
  edit(path.join(c, 'sip_profiles/internal.xml'), '<param name="log-auth-failures" value="false"/>', '<param name="log-auth-failures" value="true"/>');
  edit(path.join(c, 'sip_profiles/external.xml'), '  <settings>\n', '  <settings>\n    <param name="log-auth-failures" value="true"/>\n');
  const users = path.join(c, 'directory/default');
  for (const f of readdirSync(users)) if (!Object.keys(ACCOUNTS).some((id) => f === `${id}.xml`)) rmSync(path.join(users, f), { recursive: true, force: true });
  for (const [id, pw] of Object.entries(ACCOUNTS)) edit(path.join(users, `${id}.xml`), '<param name="password" value="$${default_password}"/>', `<param name="password" value="${pw}"/>`);
  const dir = path.join(c, 'directory/default.xml');
  writeFileSync(dir, readFileSync(dir, 'utf8').replace(/^.*<user id="([^"]+)" type="pointer"\/>.*\n/gm, (line, id: string) => (id in ACCOUNTS ? line : '')));
  writeFileSync(
    path.join(c, 'autoload_configs/modules.conf.xml'),
    `<configuration name="modules.conf" description="Modules">\n  <modules>\n${['console', 'logfile', 'event_socket', 'sofia', 'loopback', 'commands', 'dptools', 'dialplan_xml'].map((m) => `    <load module="mod_${m}"/>\n`).join('')}  </modules>\n</configuration>\n`,
  );
  edit(path.join(c, 'autoload_configs/event_socket.conf.xml'), '<param name="listen-ip" value="::"/>', '<param name="listen-ip" value="127.0.0.1"/>');
  for (const d of ['log/freeswitch', 'lib/freeswitch/db', 'lib/freeswitch/storage', 'lib/freeswitch/recordings', 'cache/freeswitch']) mkdirSync(path.join(v, d), { recursive: true });
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
  host = await makePbxHost('vds', `${SERVER}/24`, PEERS, prepare);
  const h = host;
  h.exec('mkdir', ['-p', '/run/freeswitch']);
  const fs = h.start('freeswitch', FS, [
    '-nf', '-nc', '-nonat', '-lp',
    '-conf', '/etc/freeswitch', '-log', '/var/log/freeswitch', '-run', '/run/freeswitch', '-db', '/var/lib/freeswitch/db',
    '-storage', '/var/lib/freeswitch/storage', '-recordings', '/var/lib/freeswitch/recordings', '-cache', '/var/cache/freeswitch', '-temp', '/tmp',
  ]);
  const fsCli = (cmd: string) => h.exec(FS_CLI, ['-H', '127.0.0.1', '-P', '8021', '-x', cmd], { timeoutMs: 20000 });
  assert.ok(await waitFor(() => /internal\s+profile\s+\S+\s+RUNNING/.test(fsCli('sofia status').stdout) || fs.exitCode !== null, 30000, 250), `FreeSWITCH starts: ${fs.output()}`);
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
  const sip = async (peer: keyof typeof PEERS, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> => {
    const p = await h.peer(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, ...o })], 15000 + (o.failures + 1) * o.timeoutMs);
    assert.equal(p.code, 0, `sip client in ${peer}: ${p.out}`);
    return JSON.parse(p.out) as SipRunResult;
  };
  const bans = (addr: string): string[] => (h.read('/var/log/fail2ban.log') ?? '').split('\n').filter((l) => / Ban /.test(l) && l.endsWith(` Ban ${addr}`));
  for (const peer of ['atk', 'atk2'] as const) {
    for (let i = 0; i < 6 && !bans(PEERS[peer]).length; i++) {
      // One account each: the guard's defence of an account guessed from several addresses stays out of it.
      await sip(peer, { user: peer === 'atk' ? '1001' : '1002', password: `wrong-${i}`, failures: 1, timeoutMs: 2000 });
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
