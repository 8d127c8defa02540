/**
 * Real attackers against a real Asterisk 22 (PJSIP), configured by the CLI as an admin runs it.
 *
 *   - The Asterisk build of ../shared/asterisk (installed to /opt/asterisk by
 *     scripts/install-test-deps.sh) runs with the real paths (/etc/asterisk, /var/log/asterisk,
 *     /var/run/asterisk) in a PBX host made by test/helpers/pbx-host.ts: its own network namespace
 *     and overlays of /etc and /var, so this machine's files never change.
 *   - The admin's logger.conf has no security channel and asterisk.conf starts with the stock
 *     `[directories](!)` template; Asterisk RUNS when the built CLI is run live there
 *     (`--yes --services asterisk --whitelist <friend>`, every other setting its default:
 *     maxretry 5, findtime 10m, bantime 1h): it must find the running Asterisk, reload its logger
 *     and start fail2ban with the guard.
 *   - One network namespace per peer: svcrack (10 runs), baresip (a phone with a typo), a
 *     whitelisted friend, a monitoring system sending OPTIONS, five addresses guessing one
 *     account, an address unbanned by hand.
 *
 * Addresses: 203.0.113.0/24 on links made here only. Every process started is stopped by its
 * PID; the namespaces and overlays are removed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { makePbxHost, type PbxHost } from '../helpers/pbx-host.ts';
import { assertRealHost, sh, sleep, waitFor } from '../helpers/system.ts';
import type { SipRunOptions, SipRunResult } from '../helpers/sip-client.ts';

const SERVER = '203.0.113.1';
const PEERS = {
  atk: '203.0.113.2', // svcrack, 10 runs (unbanned by the CLI between runs)
  pho: '203.0.113.3', // baresip with one typo
  fri: '203.0.113.4', // whitelisted
  mon: '203.0.113.5', // a monitoring system: OPTIONS every 2 s
  one: '203.0.113.6', // banned, unbanned by hand, then one more wrong password
  d1: '203.0.113.11', // five addresses, three guesses each, on one account
  d2: '203.0.113.12',
  d3: '203.0.113.13',
  d4: '203.0.113.14',
  d5: '203.0.113.15',
} as const;
type PeerName = keyof typeof PEERS;
const MAXRETRY = 5;
const WEAK = 'letmein2024';
const ACCOUNTS: Record<string, string> = { '1001': WEAK, '1002': 'phone-Pass-2026', '1003': WEAK, '1004': 'friend-Pass-2026', '1005': 'one-Pass-2026' };
const SHARED = path.join(REPO, '..', 'shared', 'asterisk');
const AST = '/opt/asterisk/sbin/asterisk';
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');
const SECURITY = '/var/log/asterisk/security';

let host: PbxHost | null = null;
let ready = false;
after(async () => {
  if (host) await host.close();
});

const astConsole = (cmd: string) => host!.exec(AST, ['-C', '/etc/asterisk/asterisk.conf', '-rx', cmd], { timeoutMs: 20000 });
const f2b = (...args: string[]) => host!.exec('fail2ban-client', args, { timeoutMs: 30000 });
/** The security log's lines of one kind from `addr`. */
const events = (kind: string, addr: string): string[] =>
  (host!.read(SECURITY) ?? '').split('\n').filter((l) => l.includes(`SecurityEvent="${kind}"`) && l.includes(`RemoteAddress="IPV4/UDP/${addr}/`));
const banned = (): string[] => /Banned IP list:\s*(.*)$/m.exec(f2b('status', 'voip-asterisk').stdout)?.[1]?.split(/\s+/).filter(Boolean) ?? [];
/** The firewall drops `addr` for the jail (the ban action's set). */
const inBanSet = (addr: string): boolean => (host!.exec('nft', ['list', 'set', 'inet', 'f2b-voip-asterisk', 'a4']).stdout ?? '').includes(addr);

async function sip(peer: PeerName, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult> {
  const r = await host!.peer(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server: SERVER, ...o })], 15000 + (o.failures + 1) * o.timeoutMs);
  assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
  return JSON.parse(r.out) as SipRunResult;
}

/** The admin's Asterisk: the shared example configuration moved to the real paths. */
function prepare(etc: string, _var: string): void {
  const dir = path.join(etc, 'asterisk');
  cpSync(path.join(SHARED, 'example-etc'), dir, { recursive: true });
  // asterisk.conf as shipped starts with a TEMPLATE `[directories](!)`: its values are not used.
  writeFileSync(
    path.join(dir, 'asterisk.conf'),
    [
      '[directories](!)',
      'astlogdir => /var/log/not-asterisk',
      '',
      '[directories]',
      'astetcdir => /etc/asterisk',
      'astmoddir => /opt/asterisk/lib/asterisk/modules',
      'astvarlibdir => /opt/asterisk/var/lib/asterisk',
      'astdatadir => /opt/asterisk/var/lib/asterisk',
      'astkeydir => /opt/asterisk/var/lib/asterisk',
      'astagidir => /opt/asterisk/var/lib/asterisk/agi-bin',
      'astdbdir => /var/lib/asterisk',
      'astspooldir => /var/spool/asterisk',
      'astcachedir => /var/cache/asterisk',
      'astrundir => /var/run/asterisk',
      'astlogdir => /var/log/asterisk',
      'astsbindir => /opt/asterisk/sbin',
      '',
      '[options]',
      'verbose = 0',
      'documentation_language = en_US',
      '',
    ].join('\n'),
  );
  // The admin's logger.conf: messages only, no security channel, no dateformat.
  writeFileSync(path.join(dir, 'logger.conf'), '; my logger settings\n[general]\n\n[logfiles]\nmessages => notice,warning,error\n');
  const endpoints = Object.entries(ACCOUNTS)
    .map(([id, pw]) => `[${id}]\ntype = endpoint\ncontext = internal\ndisallow = all\nallow = ulaw\nauth = ${id}-auth\naors = ${id}\ntransport = transport-udp\n\n[${id}-auth]\ntype = auth\nauth_type = userpass\nusername = ${id}\npassword = ${pw}\n\n[${id}]\ntype = aor\nmax_contacts = 5\nremove_existing = yes\n`)
    .join('\n');
  writeFileSync(path.join(dir, 'pjsip.conf'), `[global]\ntype = global\n\n[transport-udp]\ntype = transport\nprotocol = udp\nbind = ${SERVER}:5060\n\n${endpoints}`);
  for (const d of ['log/asterisk', 'lib/asterisk', 'spool/asterisk', 'cache/asterisk']) mkdirSync(path.join(_var, d), { recursive: true });
  // fail2ban as its package installs it: an admin's earlier jail.local on this machine is not the PBX's.
  mkdirSync(path.join(etc, 'fail2ban'), { recursive: true });
  if (existsSync('/etc/fail2ban/jail.local')) sh('mknod', [path.join(etc, 'fail2ban/jail.local'), 'c', '0', '0'], { check: true }); // overlay whiteout
}

test('setup: a running Asterisk 22 configured live by the CLI; protected when it returns', async (t) => {
  assertRealHost();
  for (const bin of [AST, '/usr/bin/svcrack', '/usr/bin/baresip', '/usr/bin/fail2ban-server', '/usr/sbin/nft', '/usr/bin/nsenter']) {
    assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  }
  assert.ok(existsSync(path.join(SHARED, 'example-etc/pjsip.conf')), `${SHARED} is missing (the shared folder beside the repository)`);
  host = await makePbxHost('h9a', `${SERVER}/24`, PEERS, prepare);
  host.exec('mkdir', ['-p', '/var/run/asterisk']);
  const ast = host.start('asterisk', AST, ['-C', '/etc/asterisk/asterisk.conf', '-f']);
  assert.ok(await waitFor(() => astConsole('core waitfullybooted').stdout.includes('fully booted') || ast.exitCode !== null, 20000, 250), `Asterisk boots: ${ast.output()}`);
  assert.equal(ast.exitCode, null, ast.output());
  assert.equal(host.read(SECURITY), null, 'before the tool: Asterisk writes no security log');

  const t0 = Date.now();
  const r = host.cli(['--yes', '--services', 'asterisk', '--whitelist', PEERS.fri, '--json']);
  assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.jails.filter((j: string) => j.startsWith('voip-')), ['voip-asterisk']);
  assert.deepEqual(report.manualSteps ?? [], [], 'nothing left to do by hand');
  const jail = host.read('/etc/fail2ban/jail.local') ?? '';
  assert.match(jail, /^\s*voip-f2b-guard\.py\[port="%\(port\)s", window=2\]$/m, 'the jail has the guard');
  // The running logger writes the security log the jail reads: reloaded by the CLI itself.
  assert.match(astConsole('logger show channels').stdout, /^\/var\/log\/asterisk\/security\s+File\s+\S+\s+Enabled\s+- SECURITY/m);
  // The first wrong password right after the CLI returned is a counted failure.
  const one = await sip('one', { user: '1005', password: 'wrong', failures: 1, timeoutMs: 2000 });
  assert.deepEqual(one.attempts.map((a) => a.status), [401, 401]);
  assert.ok(await waitFor(() => /Currently failed:\s*1/.test(f2b('status', 'voip-asterisk').stdout), 5000), `counted: ${f2b('status', 'voip-asterisk').stdout}`);
  ready = true;
  t.diagnostic(`installed live and protected ${Date.now() - t0} ms after the CLI started (logger reloaded by the CLI)`);
});

test('doctor: ok while Asterisk writes the jail\'s logs; broken once the running logger stops writing the security log', async () => {
  assert.ok(ready, 'setup succeeded');
  const ok = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
  const okReport = JSON.parse(ok.stdout);
  const live = (rep: { jails: Array<{ checks: Array<{ name: string; verdict: string; detail: string }> }> }) =>
    rep.jails[0]!.checks.find((c) => c.name === 'the running Asterisk writes these logs');
  assert.equal(live(okReport)?.verdict, 'ok', ok.stdout);
  // The admin takes the security channel out and reloads: logger.conf and the running logger
  // agree, but nothing reaches the log the jail reads.
  const conf = host!.read('/etc/asterisk/logger.conf')!;
  host!.exec('sh', ['-c', 'cat > /etc/asterisk/logger.conf'], { input: conf.replace(/^security\s*=>.*$/m, '') });
  assert.equal(astConsole('logger reload').status, 0);
  const broken = host!.cli(['doctor', 'voip-asterisk', '--no-ban-test', '--json']);
  assert.notEqual(broken.status, 0, 'a broken verdict exits non-zero');
  const check = live(JSON.parse(broken.stdout));
  assert.equal(check?.verdict, 'broken', broken.stdout);
  assert.match(check!.detail, /writes no \/var\/log\/asterisk\/security/);
  // The admin re-runs the tool: logger.conf and the running logger are put right again.
  const again = host!.cli(['--yes', '--services', 'asterisk', '--whitelist', PEERS.fri]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(astConsole('logger show channels').stdout, /^\/var\/log\/asterisk\/security\s+File/m);
});
