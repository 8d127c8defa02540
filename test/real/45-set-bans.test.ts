/**
 * The set-based ban actions with real fail2ban, all inside network namespaces this test makes
 * (the host's firewall, fail2ban and /etc are never touched; only the stock /etc/fail2ban is
 * read, to copy it):
 *
 *   vsets: server namespace, 198.51.100.129/27: a private fail2ban-server (own config copy,
 *          socket, pid file, database) and the ruleset it manages
 *   vsetc: client namespace, 198.51.100.130/27: a steady UDP "call" to the server
 *
 * 1. Each of our set actions (nftables sets, ipset + iptables) bans 1,000 IPv4 and 100 IPv6
 *    addresses handed over at once, unbans one, removes everything on stop, and restores every
 *    ban from fail2ban's database on restart.
 * 2. Cut running flows: a UDP stream on one 5-tuple stops within 1 s of the ban even where the
 *    admin's ruleset accepts established traffic early: our actions drop before it; and an
 *    action behind an "established accept" (as firewalld's) needs the conntrack flush our
 *    firewalld action adds: without it the flow goes on, with it the flow stops.
 * Timings are printed as diagnostics; bounds are generous (CI has 2 cores).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { stopPid } from '../helpers/system.ts';
// @ts-expect-error: plain ESM helper shared with the bench (no type declarations)
import { addresses, benchNetwork, now, privateFail2ban } from '../../scripts/bench/sets.mjs';

const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const CLIENT = '198.51.100.130';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Net {
  S: string;
  C: string;
  x: (cmd: string, args: string[], input?: string) => { status: number; stdout: string; stderr: string };
  xc: Net['x'];
  teardown: () => void;
}
let net: Net | null = null;
const dirs: string[] = [];
const children: ChildProcess[] = [];
let fail2bans: Array<{ stop: () => void }> = [];

after(async () => {
  for (const f of fail2bans) {
    try {
      f.stop();
    } catch {}
  }
  for (const c of children) if (c.pid) await stopPid(c.pid, 3000);
  net?.teardown();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup(): Net {
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  if (!existsSync('/etc/fail2ban/jail.conf')) throw new Error('needs fail2ban installed (its stock config is copied)');
  net?.teardown();
  net = benchNetwork(process.env.TEST_NS_PREFIX ?? 'vset') as Net;
  return net;
}

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'voip-f2b-sets-'));
  dirs.push(d);
  return d;
}

/**
 * Everything our actions could leave in the server namespace's firewall: nftables tables other
 * than iptables-nft's own (iptables-nft keeps an empty built-in INPUT chain once used: those are
 * compared through `iptables -S`), iptables and ip6tables rules, ipset sets.
 */
function firewallText(n: Net): string {
  const tables = n.x('nft', ['list', 'tables']).stdout.split('\n').filter((t) => t && !/^table ip6? filter$/.test(t));
  return [
    ...tables.map((t) => n.x('nft', ['list', ...t.split(' ')]).stdout),
    n.x('iptables', ['-w', '-S']).stdout,
    n.x('ip6tables', ['-w', '-S']).stdout,
    n.x('ipset', ['list', '-n']).stdout,
  ].join('\n');
}

for (const [action, count] of [
  ['voip-f2b-nftset.py', (n: Net, v6: boolean) => countNft(n, v6)],
  ['voip-f2b-ipset.py', (n: Net, v6: boolean) => Number(/Number of entries: (\d+)/.exec(n.x('ipset', ['list', '-t', v6 ? 'f2b-bench6' : 'f2b-bench4']).stdout)?.[1] ?? 0)],
] as const) {
  test(`${action}: 1,000 + 100 IPv6 bans at once, unban, stop leaves nothing, restart restores all`, async () => {
    const n = setup();
    const emptyFirewall = firewallText(n);
    const dir = tempDir();
    let f = privateFail2ban(n, action, dir);
    fail2bans.push(f);
    f.start();
    const v4: string[] = addresses(1000);
    const v6: string[] = addresses(100, true);
    const t0 = now();
    assert.equal(f.client(['set', 'bench', 'banip', ...v4, ...v6]).status, 0);
    const w4 = f.waitCount(1000, t0, 60_000, false);
    const w6 = f.waitCount(100, t0, 60_000, true);
    console.log(`# ${action}: 1,000 IPv4 in the firewall after ${w4.ms.toFixed(0)} ms, 100 IPv6 after ${w6.ms.toFixed(0)} ms (from the banip command)`);
    assert.equal(w4.count, 1000);
    assert.equal(w6.count, 100);
    assert.equal(count(n, false), 1000, 'exactly the banned addresses');

    assert.equal(f.client(['set', 'bench', 'unbanip', v4[500]!]).status, 0);
    for (let i = 0; i < 100 && count(n, false) !== 999; i++) await sleep(50);
    assert.equal(count(n, false), 999, 'one unban removes one element');
    assert.equal(count(n, true), 100);

    f.stop();
    assert.equal(firewallText(n), emptyFirewall, 'stop removes the table (or sets and rules) entirely');

    f = privateFail2ban(n, action, dir); // same database
    fail2bans.push(f);
    const t1 = now();
    f.start();
    const r4 = f.waitCount(999, t1, 60_000, false);
    const r6 = f.waitCount(100, t1, 60_000, true);
    console.log(`# ${action}: restart restored ${r4.count} IPv4 + ${r6.count} IPv6 bans in ${Math.max(r4.ms, r6.ms).toFixed(0)} ms (fail2ban start included)`);
    assert.equal(r4.count, 999);
    assert.equal(r6.count, 100);
    f.stop();
    assert.equal(firewallText(n), emptyFirewall);
  });
}

function countNft(n: Net, v6: boolean): number {
  const m = /elements = \{([^}]*)\}/s.exec(n.x('nft', ['list', 'set', 'inet', 'f2b-bench', v6 ? 'a6' : 'a4']).stdout);
  return m ? m[1]!.split(',').filter((s) => s.trim()).length : 0;
}

/**
 * A UDP "call": the client sends one datagram every 20 ms from 198.51.100.130:5070 to
 * 198.51.100.129:5060 (one 5-tuple); the server answers each (so conntrack sees the flow as
 * established, as with a real SIP dialog or RTP stream) and prints the wall-clock time of
 * each arrival.
 */
async function startCall(n: Net): Promise<{ arrivals: number[] }> {
  const arrivals: number[] = [];
  const recv = spawn('ip', ['netns', 'exec', n.S, PY, '-u', '-c', "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('198.51.100.129',5060))\nprint('ready',flush=True)\nwhile True:\n  d,a=s.recvfrom(100)\n  print(time.time(),flush=True)\n  s.sendto(b'reply',a)"], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(recv);
  let buf = '';
  recv.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) if (/^\d/.test(l)) arrivals.push(Number(l) * 1000);
  });
  for (let i = 0; i < 100 && !/ready/.test(buf) && arrivals.length === 0; i++) await sleep(50);
  const send = spawn('ip', ['netns', 'exec', n.C, PY, '-c', "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('198.51.100.130',5070))\nfor i in range(3000):\n  s.sendto(b'RTP-like payload',('198.51.100.129',5060))\n  time.sleep(0.02)"], { stdio: 'ignore' });
  children.push(send);
  for (let i = 0; i < 100 && arrivals.length < 10; i++) await sleep(50);
  assert.ok(arrivals.length >= 10, 'the call is flowing before the ban');
  return { arrivals };
}

/** Wall-clock ms of the "Ban <ip>" line in a fail2ban log (local time, as fail2ban writes it). */
function banLoggedAt(logFile: string, ip: string): number {
  const line = readFileSync(logFile, 'utf8').split('\n').find((l) => l.includes(`Ban ${ip}`) && !l.includes('Unban'));
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3})/.exec(line ?? '');
  assert.ok(m, `no "Ban ${ip}" line in the fail2ban log`);
  return new Date(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!).getTime();
}

/** Bans the caller mid-call; returns ms from the ban to the last datagram that still arrived, and how many did. */
async function banMidCall(n: Net, f: ReturnType<typeof privateFail2ban>, call: { arrivals: number[] }): Promise<{ lastAfterBan: number; after: number }> {
  assert.equal(f.client(['set', 'bench', 'banip', CLIENT]).status, 0);
  await sleep(2500);
  const banAt = banLoggedAt(f.log, CLIENT);
  const after = call.arrivals.filter((t) => t > banAt);
  return { lastAfterBan: after.length ? after.at(-1)! - banAt : 0, after: after.length };
}

const FIREWALLD_TEMPLATE = readFileSync(path.join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-firewallcmd-ipset.conf'), 'utf8');
/** The conntrack line our firewalld action adds to firewalld's ipset ban (the shipped text). */
const CONNTRACK_LINE = /^\s+(conntrack -D -s <ip>.*)$/m.exec(FIREWALLD_TEMPLATE)![1]!;

/** An ipset ban behind the admin's "established accept", like firewalld's (with or without the flush). */
function behindEstablished(withFlush: boolean) {
  return {
    jailAction: 'behind[name=bench, protocol=all]',
    extraFiles: {
      'action.d/behind.conf': [
        '[INCLUDES]',
        'before = iptables-ipset-proto6-allports.conf',
        '[Definition]',
        'actionstart_on_demand = false',
        withFlush ? `actionban = %(known/actionban)s\n            ${CONNTRACK_LINE}` : '',
        '[Init]',
        'chain = F2B-BEHIND',
        '',
      ].join('\n'),
    },
  };
}

function adminRuleset(n: Net, kind: 'nft' | 'iptables'): void {
  if (kind === 'nft') {
    // An admin's nftables ruleset that accepts established traffic first thing.
    const r = n.x('nft', ['-f', '-'], 'table inet admin {\n chain input {\n  type filter hook input priority -300; policy accept;\n  ct state established,related accept\n }\n}\n');
    assert.equal(r.status, 0, r.stderr);
  } else {
    for (const args of [['-N', 'F2B-BEHIND'], ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'], ['-A', 'INPUT', '-j', 'F2B-BEHIND']]) {
      const r = n.x('iptables', ['-w', ...args]);
      assert.equal(r.status, 0, r.stderr);
    }
  }
}

for (const action of ['voip-f2b-nftset.py', 'voip-f2b-ipset.py'] as const) {
  test(`${action}: a running UDP call stops within 1 s of the ban, despite an early "established accept"`, async () => {
    const n = setup();
    adminRuleset(n, action === 'voip-f2b-nftset.py' ? 'nft' : 'iptables');
    const f = privateFail2ban(n, action, tempDir());
    fail2bans.push(f);
    f.start();
    const call = await startCall(n);
    const r = await banMidCall(n, f, call);
    console.log(`# ${action}: last datagram ${r.lastAfterBan.toFixed(0)} ms after the ban (${r.after} arrived after it)`);
    assert.ok(r.lastAfterBan <= 1000, `the call went on ${r.lastAfterBan} ms after the ban`);
    f.stop();
    for (const c of children.splice(0)) if (c.pid) await stopPid(c.pid, 3000);
  });
}

test('behind an "established accept" (as with firewalld) the call goes on unless the ban flushes conntrack; with our flush it stops within 1 s', async () => {
  assert.match(CONNTRACK_LINE, /^conntrack -D -s <ip>/);
  for (const withFlush of [false, true]) {
    const n = setup();
    adminRuleset(n, 'iptables');
    const f = privateFail2ban(n, behindEstablished(withFlush), tempDir());
    fail2bans.push(f);
    f.start();
    const call = await startCall(n);
    const r = await banMidCall(n, f, call);
    console.log(`# behind established accept, ${withFlush ? 'with' : 'without'} conntrack flush: last datagram ${r.lastAfterBan.toFixed(0)} ms after the ban (${r.after} after it)`);
    if (withFlush) assert.ok(r.lastAfterBan <= 1000, `the call went on ${r.lastAfterBan} ms after the ban`);
    else assert.ok(r.lastAfterBan >= 2000, 'control: without the flush the established flow is not cut (the problem is real here)');
    f.stop();
    for (const c of children.splice(0)) if (c.pid) await stopPid(c.pid, 3000);
  }
});

test('our firewalld action is firewalld\'s ipset action on all ports plus the conntrack flush (as fail2ban reads it)', () => {
  const dir = tempDir();
  const conf = path.join(dir, 'etc');
  const r0 = spawnSyncText('cp', ['-rL', '/etc/fail2ban', conf]);
  assert.equal(r0.status, 0, r0.stderr);
  spawnSyncText('sh', ['-c', `rm -rf ${conf}/jail.d/* ${conf}/jail.local`]);
  spawnSyncText('cp', [path.join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-firewallcmd-ipset.conf'), `${conf}/action.d/`]);
  spawnSyncText('sh', ['-c', `printf '[voip-test]\\nenabled = true\\nfilter = sshd\\nlogpath = /dev/null\\nbackend = polling\\nport = 5060,5061\\nprotocol = all\\nbanaction = voip-f2b-firewallcmd-ipset\\n' > ${conf}/jail.local`]);
  const r = spawnSyncText('fail2ban-client', ['-c', conf, '-d']);
  assert.equal(r.status, 0, r.stderr);
  const ban = r.stdout.split('\n').find((l) => l.includes("'actionban'"));
  const start = r.stdout.split('\n').find((l) => l.includes("'actionstart'"))!;
  assert.ok(ban, r.stdout.slice(0, 2000));
  assert.match(ban, /ipset -exist add <ipmset> <ip> timeout 0\\nconntrack -D -s <ip>/);
  assert.match(start, /filter INPUT_direct 0 -p all -m set --match-set/, 'all ports, all protocols');

});

function spawnSyncText(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
