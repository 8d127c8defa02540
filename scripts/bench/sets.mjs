// Ban actions at scale: a private fail2ban-server (own config dir, socket, pid file, database)
// running INSIDE a network namespace of its own, so every ban lands in that namespace's
// firewall and the host's firewall is never touched. A second namespace joined by a veth pair
// sends UDP through the server namespace's ruleset for the packets/s figures.
//
//   <prefix>s: server namespace, eth0 198.51.100.129/27, fail2ban-server, the ruleset
//   <prefix>c: client namespace, eth0 198.51.100.130/27, the traffic generator
//
// The banned addresses themselves are never put on any link: they are numbers in a set or a
// rule (100.64.0.0/10 for IPv4, 2001:db8::/32 for IPv6), generated in order.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO } from './lib.mjs';

const ACTION_PY = join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-nftset.py');
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
export const now = () => Number(process.hrtime.bigint()) / 1e6;
const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** The ban actions compared; `count(ns)` is how many addresses are in the firewall now. */
export const ACTIONS = {
  'iptables-allports': {
    jailAction: 'iptables-allports[name=bench, protocol=all]',
    count: (x) => x('iptables', ['-w', '-S', 'f2b-bench']).stdout.split('\n').filter((l) => l.startsWith('-A f2b-bench -s')).length,
    fill: (x, ips) => x('iptables-restore', ['-w', '-n'], `*filter\n${ips.map((ip) => `-I f2b-bench 1 -s ${ip}/32 -j REJECT --reject-with icmp-port-unreachable`).join('\n')}\nCOMMIT\n`),
    unban: (x, ip) => x('iptables', ['-w', '-D', 'f2b-bench', '-s', `${ip}/32`, '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable']),
  },
  'nftables-allports': {
    jailAction: 'nftables-allports[name=bench, protocol="tcp,udp"]',
    count: (x) => countElements(x('nft', ['list', 'set', 'inet', 'f2b-table', 'addr-set-bench']).stdout),
    fill: (x, ips) => x('nft', ['-f', '-'], `add element inet f2b-table addr-set-bench { ${ips.join(', ')} }\n`),
    unban: (x, ip) => x('nft', ['delete', 'element', 'inet', 'f2b-table', 'addr-set-bench', `{ ${ip} }`]),
  },
  'iptables-ipset-proto6-allports': {
    jailAction: 'iptables-ipset-proto6-allports[name=bench]',
    count: (x) => Number(/Number of entries: (\d+)/.exec(x('ipset', ['list', '-t', 'f2b-bench']).stdout)?.[1] ?? 0),
    fill: (x, ips) => x('ipset', ['restore', '-exist'], `${ips.map((ip) => `add f2b-bench ${ip}`).join('\n')}\n`),
    unban: (x, ip) => x('ipset', ['-exist', 'del', 'f2b-bench', ip]),
  },
  'voip-f2b-nftset.py': {
    file: 'voip-f2b-nftset.py',
    jailAction: 'voip-f2b-nftset.py[port=all, protocol=all]',
    count: (x, v6) => countElements(x('nft', ['list', 'set', 'inet', 'f2b-bench', v6 ? 'a6' : 'a4']).stdout),
    fill: (x, ips) => x('nft', ['-f', '-'], `add element inet f2b-bench a4 { ${ips.join(', ')} }\n`),
    unban: (x, ip) => x('nft', ['delete', 'element', 'inet', 'f2b-bench', 'a4', `{ ${ip} }`]),
  },
  'voip-f2b-ipset.py': {
    file: 'voip-f2b-ipset.py',
    jailAction: 'voip-f2b-ipset.py[port=all, protocol=all]',
    count: (x, v6) => Number(/Number of entries: (\d+)/.exec(x('ipset', ['list', '-t', v6 ? 'f2b-bench6' : 'f2b-bench4']).stdout)?.[1] ?? 0),
    fill: (x, ips) => x('ipset', ['restore', '-exist'], `${ips.map((ip) => `add f2b-bench4 ${ip}`).join('\n')}\n`),
    unban: (x, ip) => x('ipset', ['-exist', 'del', 'f2b-bench4', ip]),
  },
};

function countElements(text) {
  const m = /elements = \{([^}]*)\}/s.exec(text);
  return m ? m[1].split(',').filter((s) => s.trim()).length : 0;
}

/** n IPv4 (100.64.0.0/10) or IPv6 (2001:db8::/32) addresses, in order, starting at `from`. */
export function addresses(n, v6 = false, from = 1) {
  const out = [];
  for (let i = from; i < from + n; i++) {
    out.push(v6 ? `2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::1` : `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
  }
  return out;
}

/** The two namespaces and their veth pair; returns { x(cmd,args,input) in server ns, xc in client ns, teardown }. */
export function benchNetwork(prefix = process.env.BENCH_NS_PREFIX ?? 'vbs') {
  const S = `${prefix}s`;
  const C = `${prefix}c`;
  const ip = (args) => {
    const r = spawnSync('ip', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  };
  const teardown = () => {
    for (const ns of [S, C]) spawnSync('ip', ['netns', 'del', ns]);
  };
  teardown();
  ip(['netns', 'add', S]);
  ip(['netns', 'add', C]);
  ip(['-n', S, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', C]);
  ip(['-n', S, 'addr', 'add', '198.51.100.129/27', 'dev', 'eth0']);
  ip(['-n', C, 'addr', 'add', '198.51.100.130/27', 'dev', 'eth0']);
  for (const ns of [S, C]) {
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  }
  const inNs = (ns) => (cmd, args, input) => {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024, timeout: 600_000 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  return { S, C, x: inNs(S), xc: inNs(C), teardown };
}

/** UDP packets/s from the client namespace through the server's ruleset (to a closed port). */
export function packetsPerSecond(net, seconds = 1.5) {
  const snmp = () => {
    const lines = net.x('cat', ['/proc/net/snmp']).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
    const keys = lines[0].split(/\s+/);
    const vals = lines[1].split(/\s+/).map(Number);
    return vals[keys.indexOf('NoPorts')] + vals[keys.indexOf('InDatagrams')];
  };
  const before = snmp();
  const code = `import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setblocking(False)\nd=b'x'*64\nend=time.monotonic()+${seconds}\nn=0\nwhile time.monotonic()<end:\n  for _ in range(200):\n    try: s.sendto(d,('198.51.100.129',9))\n    except OSError: pass\n  n+=200\nprint(n)`;
  const t0 = now();
  const sent = Number(net.xc(PY, ['-c', code]).stdout.trim());
  const ms = now() - t0;
  const got = snmp() - before;
  return { pps: got / (ms / 1000), sent, got };
}

/**
 * A private fail2ban in the server namespace, with one jail `bench` using `action`: a name from
 * ACTIONS, or { jailAction, file?, extraFiles?: { 'action.d/x.conf': text } }.
 */
export function privateFail2ban(net, action, dir) {
  const a = typeof action === 'string' ? ACTIONS[action] : action;
  const actionName = typeof action === 'string' ? action : a.jailAction;
  const conf = join(dir, 'etc');
  rmSync(conf, { recursive: true, force: true });
  cpSync('/etc/fail2ban', conf, { recursive: true, dereference: true });
  for (const f of readdirSync(join(conf, 'jail.d'))) rmSync(join(conf, 'jail.d', f), { force: true, recursive: true });
  rmSync(join(conf, 'jail.local'), { force: true });
  if (a.file) cpSync(ACTION_PY, join(conf, 'action.d', a.file));
  for (const [rel, text] of Object.entries(a.extraFiles ?? {})) writeFileSync(join(conf, rel), text);
  const sock = join(dir, 'f2b.sock');
  const pidfile = join(dir, 'f2b.pid');
  writeFileSync(join(conf, 'fail2ban.local'), `[Definition]\nloglevel = NOTICE\nlogtarget = ${join(dir, 'fail2ban.log')}\nsocket = ${sock}\npidfile = ${pidfile}\ndbfile = ${join(dir, 'f2b.sqlite3')}\n`);
  writeFileSync(join(dir, 'empty.log'), '');
  writeFileSync(
    join(conf, 'jail.local'),
    ['[DEFAULT]', 'ignoreip = 127.0.0.1/8 ::1', '', '[bench]', 'enabled = true', 'filter = sshd', 'backend = polling', `logpath = ${join(dir, 'empty.log')}`, 'bantime = 1d', `action = ${a.jailAction}`, ''].join('\n'),
  );
  const client = (args, timeout = 600_000) => {
    const r = spawnSync('ip', ['netns', 'exec', net.S, 'fail2ban-client', '-c', conf, '-s', sock, ...args], { encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  const pid = () => (existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : 0);
  const alive = (p) => p > 0 && existsSync(`/proc/${p}`) && !/\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'));
  const start = () => {
    const r = client(['-x', 'start'], 120_000);
    if (r.status !== 0) throw new Error(`fail2ban start (${actionName}) failed: ${r.stderr}${r.stdout}`);
    for (let i = 0; i < 200 && client(['status', 'bench'], 10_000).status !== 0; i++) sleep(100);
  };
  const stop = (maxMs = 600_000) => {
    const p = pid();
    client(['stop'], maxMs);
    for (let i = 0; i < 100 && alive(p); i++) sleep(100);
    if (alive(p)) process.kill(p, 'SIGKILL');
  };
  /** Waits until the firewall holds `n` addresses (v6: the IPv6 set), at most maxMs; returns ms or NaN, and the count reached. */
  const waitCount = (n, t0, maxMs, v6 = false) => {
    let c = 0;
    while (now() - t0 < maxMs) {
      c = a.count(net.x, v6);
      if (c >= n) return { ms: now() - t0, count: c };
      sleep(c > 0 ? 50 : 20);
    }
    return { ms: NaN, count: c };
  };
  return { a, conf, client, start, stop, waitCount, pid, log: join(dir, 'fail2ban.log') };
}

/**
 * The figures for one action: 1,000 at once (IPv4, and IPv6 where `v6`), unban of one among
 * 10 and among 10,000, packets/s with 10 / 1,000 / 10,000 banned, restart with `restoreN`
 * bans in the database. `maxMs` caps any one wait (stock actions are slow at scale).
 */
export function measureAction(actionName, { restoreN = 10_000, maxMs = 60_000, v6 = false, pps = true } = {}) {
  const net = benchNetwork();
  const dir = mkdtempSync(join(tmpdir(), 'voip-f2b-bench-sets-'));
  const res = { action: actionName };
  let f;
  try {
    f = privateFail2ban(net, actionName, dir);
    f.start();
    // 1. 1,000 addresses banned at once
    const k = addresses(1000);
    let t0 = now();
    const r = f.client(['set', 'bench', 'banip', ...k], maxMs * 2);
    if (r.status !== 0) throw new Error(`banip failed: ${r.stderr}`);
    res.ban1000 = f.waitCount(1000, t0, maxMs);
    if (v6) {
      const k6 = addresses(1000, true);
      t0 = now();
      f.client(['set', 'bench', 'banip', ...k6], maxMs * 2);
      res.ban1000v6 = f.waitCount(1000, t0, maxMs, true);
      f.client(['set', 'bench', 'unbanip', ...k6], maxMs * 2);
    }
    // 2. per-packet cost and unban cost with 10 / 1,000 / 10,000 banned (the rules/set filled
    // directly, as the action would have filled them)
    f.client(['unban', '--all'], maxMs * 2);
    const base = f.a.count(net.x);
    res.pps = {};
    res.unban = {};
    let have = 0;
    for (const n of [10, 1000, 10_000]) {
      const add = addresses(n - have, false, 100_000 + have);
      for (let i = 0; i < add.length; i += 2000) f.a.fill(net.x, add.slice(i, i + 2000));
      have = n;
      if (pps) res.pps[n] = [packetsPerSecond(net), packetsPerSecond(net), packetsPerSecond(net)].map((p) => p.pps).sort((a, b) => a - b)[1];
      if (n !== 1000) {
        const victim = add[Math.floor(add.length / 2)];
        const times = [];
        for (let i = 0; i < 5; i++) {
          const t = now();
          f.a.unban(net.x, victim);
          times.push(now() - t);
          f.a.fill(net.x, [victim]);
        }
        res.unban[n] = times.sort((a, b) => a - b)[2];
      }
    }
    res.counted = f.a.count(net.x) - base;
    f.stop();
    // 3. restart with restoreN bans in the database
    f = privateFail2ban(net, actionName, dir);
    f.start();
    const many = addresses(restoreN, false, 300_000);
    for (let i = 0; i < many.length; i += 2000) f.client(['set', 'bench', 'banip', ...many.slice(i, i + 2000)], maxMs * 5);
    const full = f.waitCount(restoreN, now(), maxMs);
    res.fill = full;
    f.stop(maxMs * 5);
    if (Number.isFinite(full.ms)) {
      t0 = now();
      f.start();
      res.restart = f.waitCount(restoreN, t0, maxMs);
      res.restart.startMs = NaN;
    } else {
      res.restart = { ms: NaN, count: 0, skipped: true };
    }
    return res;
  } finally {
    try {
      f?.stop(maxMs * 5);
    } catch {}
    net.teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}
