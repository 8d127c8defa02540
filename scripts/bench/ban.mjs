// Time to ban: a private fail2ban-server (own config dir, socket, pid file, in-memory database,
// dedicated iptables chain) watching a temp Asterisk log with filter voip-asterisk. We append
// real Asterisk failure lines for BAN_IP and poll `iptables -S` every 10 ms until the ban
// rule appears: the log-to-firewall time. Nothing is sent on any network.
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATE_FILTER_DIR } from './lib.mjs';

// Banned for real in iptables: a documentation address outside this machine's own network.
export const BAN_IP = '203.0.113.66';
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const p2 = (n) => String(n).padStart(2, '0');

function failureLine() {
  const d = new Date();
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `[${stamp}] NOTICE[2417] chan_sip.c: Registration from '"100" <sip:100@192.0.2.10>' failed for '${BAN_IP}:5060' - Wrong password\n`;
}

const iptablesS = () => spawnSync('iptables', ['-w', '-S'], { encoding: 'utf8' }).stdout ?? '';
const alive = (pid) => existsSync(`/proc/${pid}`);

/** Remove whatever is left of chain `chain` (jump from INPUT, rules, chain). */
function dropChain(chain) {
  const rules = iptablesS().split('\n');
  for (const r of rules) {
    if (r.startsWith('-A INPUT ') && r.includes(`-j ${chain}`)) spawnSync('iptables', ['-w', '-D', ...r.slice(3).split(' ')]);
  }
  if (iptablesS().includes(`-N ${chain}`)) {
    spawnSync('iptables', ['-w', '-F', chain]);
    spawnSync('iptables', ['-w', '-X', chain]);
  }
}

/**
 * Measure `runs` bans with `backend`. Returns { backend, used, times: [ms], chainGone }.
 * `used` is the backend fail2ban reports it chose (auto resolves to one).
 */
export function timeToBan(backend, runs = 5) {
  const dir = mkdtempSync(join(tmpdir(), `voip-f2b-bench-ban-${backend}-`));
  const conf = join(dir, 'etc');
  const chainName = `vbench-${backend}`; // iptables chain f2b-vbench-<backend>
  const chain = `f2b-${chainName}`;
  const log = join(dir, 'messages.log');
  const sock = join(dir, 'f2b.sock');
  const pidfile = join(dir, 'f2b.pid');
  const f2bLog = join(dir, 'fail2ban.log');
  let pid;
  const result = { backend, used: '?', times: [], chainRemovedByFail2ban: false };
  try {
    cpSync('/etc/fail2ban', conf, { recursive: true, dereference: true });
    // only our jail: drop the host's jail.d (Debian enables sshd there) and any jail.local
    for (const f of readdirSync(join(conf, 'jail.d'))) rmSync(join(conf, 'jail.d', f), { force: true, recursive: true });
    rmSync(join(conf, 'jail.local'), { force: true });
    for (const f of readdirSync(TEMPLATE_FILTER_DIR)) if (f.endsWith('.conf')) cpSync(join(TEMPLATE_FILTER_DIR, f), join(conf, 'filter.d', f));
    writeFileSync(join(conf, 'fail2ban.local'), `[Definition]\nloglevel = INFO\nlogtarget = ${f2bLog}\nsocket = ${sock}\npidfile = ${pidfile}\ndbfile = :memory:\n`);
    writeFileSync(
      join(conf, 'jail.local'),
      [
        '[DEFAULT]',
        'ignoreip = 127.0.0.1/8 ::1',
        '',
        '[voip-bench]',
        'enabled = true',
        'filter = voip-asterisk',
        `backend = ${backend}`,
        `logpath = ${log}`,
        'maxretry = 3',
        'findtime = 10m',
        'bantime = 1h',
        `action = iptables-allports[name=${chainName}, protocol=all]`,
        '',
      ].join('\n'),
    );
    writeFileSync(log, '');
    const start = spawnSync('fail2ban-client', ['-c', conf, '-s', sock, '-p', pidfile, '-x', 'start'], { encoding: 'utf8', timeout: 60_000 });
    if (existsSync(pidfile)) pid = Number(readFileSync(pidfile, 'utf8').trim());
    if (start.status !== 0) throw new Error(`fail2ban-client start failed: ${start.stderr}${start.stdout}`);
    for (let i = 0; i < 100; i++) {
      const st = spawnSync('fail2ban-client', ['-c', conf, '-s', sock, 'status', 'voip-bench'], { encoding: 'utf8' });
      if (st.status === 0) break;
      sleep(100);
    }
    if (!pid && existsSync(pidfile)) pid = Number(readFileSync(pidfile, 'utf8').trim());
    const times = [];
    for (let r = 0; r < runs; r++) {
      appendFileSync(log, failureLine());
      appendFileSync(log, failureLine());
      // let every backend (polling: 1 s) take in the first two failures; the extra 0-1.6 s
      // spreads the third write over fail2ban's 2 s action-thread cycle (see docs/BENCHMARKS.md)
      sleep(1100 + (r % 5) * 400);
      appendFileSync(log, failureLine());
      const t0 = process.hrtime.bigint();
      let ms = NaN;
      while (Number(process.hrtime.bigint() - t0) / 1e6 < 10_000) {
        if (iptablesS().split('\n').some((l) => l.startsWith(`-A ${chain} `) && l.includes(`${BAN_IP}/32`))) {
          ms = Number(process.hrtime.bigint() - t0) / 1e6;
          break;
        }
        sleep(10);
      }
      times.push(ms);
      spawnSync('fail2ban-client', ['-c', conf, '-s', sock, 'set', 'voip-bench', 'unbanip', BAN_IP], { encoding: 'utf8' });
      for (let i = 0; i < 200 && iptablesS().includes(`${BAN_IP}/32`); i++) sleep(10);
    }
    const used = /Jail 'voip-bench' uses (\w+)/.exec(existsSync(f2bLog) ? readFileSync(f2bLog, 'utf8') : '')?.[1] ?? '?';
    Object.assign(result, { used, times });
    return result;
  } finally {
    if (pid && alive(pid)) {
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 300 && alive(pid); i++) sleep(50);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    let chainGone = !iptablesS().includes(chain);
    result.chainRemovedByFail2ban = chainGone;
    if (!chainGone) {
      dropChain(chain);
      chainGone = !iptablesS().includes(chain);
      if (!chainGone) console.error(`warning: iptables chain ${chain} could not be removed`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
