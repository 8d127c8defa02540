/**
 * Debian 11, 12 and 13 for real: the built CLI runs inside minimal debootstrap chroots of
 * bullseye (fail2ban 0.11.2), bookworm (1.0.2) and trixie (1.1.0), each inside a network
 * namespace of its own, plus bookworm with nftables as its only firewall tool. In each:
 *
 *   1. fresh install: fail2ban installed from the release's packages and started, the
 *      voip-asterisk jail active, the release's native ban action chosen (and only its tools
 *      installed: no iptables where nftables is the firewall);
 *   2. a re-run is a no-op (nothing to do, fail2ban not restarted);
 *   3. a ban round trip inside the namespace: three Asterisk failures with current dates
 *      (fail2ban 0.11.2 ignores dates outside roughly the current decade) → the address is in
 *      the namespace's firewall set → unban → it is gone;
 *   4. uninstall --purge-packages → `dpkg --verify` clean.
 * The host's firewall is compared before and after: byte-identical.
 *
 * Chroots are cached as tarballs outside the clone (see helpers/chroot.ts); the packages come
 * from a file repository inside each tree, so the test itself needs no network. The mirror
 * for building the cache is taken from the host's apt sources. Timings are printed.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { cachedChroot, hostFirewall, openChroot, processesIn, type Chroot } from '../helpers/chroot.ts';
import { ensureBuilt } from '../helpers/cli.ts';

const open: Chroot[] = [];
after(async () => {
  for (const c of open.splice(0)) await c.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p2 = (n: number) => String(n).padStart(2, '0');
const BANNED = '203.0.113.50';
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** An Asterisk chan_sip failure line dated now, in the format our logger.conf sets (%F %T). */
function failureLine(): string {
  const d = new Date();
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `[${stamp}] NOTICE[2417] chan_sip.c: Registration from '"100" <sip:100@203.0.113.1>' failed for '${BANNED}:5060' - Wrong password\n`;
}

/** The security-log event the same wrong password writes (the jail counts it once, from this log). */
function securityLine(i: number): string {
  const d = new Date();
  const stamp = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `[${stamp}] SECURITY[2417] res_security_log.c: SecurityEvent="InvalidPassword",EventTV="${d.toISOString()}",Severity="Error",Service="SIP",EventVersion="2",AccountID="100",SessionID="0x7f00000${i}",LocalAddress="IPV4/UDP/203.0.113.1/5060",RemoteAddress="IPV4/UDP/${BANNED}/5060",Challenge="5e1d2c3b",ReceivedChallenge="5e1d2c3b",ReceivedHash="7a6a3a2e95a05260aee612896e1b4a39"\n`;
}

const CASES = [
  { suite: 'bullseye', label: 'Debian 11', fail2ban: '0.11', allports: 'voip-f2b-ipset.py', banaction: 'iptables-ipset-proto6', nftOnly: false },
  { suite: 'bookworm', label: 'Debian 12', fail2ban: '1.0', allports: 'voip-f2b-ipset.py', banaction: 'iptables-ipset-proto6', nftOnly: false },
  { suite: 'trixie', label: 'Debian 13', fail2ban: '1.1', allports: 'voip-f2b-nftset.py', banaction: 'nftables-multiport', nftOnly: false },
  { suite: 'bookworm', label: 'Debian 12, nftables the only firewall tool', fail2ban: '1.0', allports: 'voip-f2b-nftset.py', banaction: 'nftables-multiport', nftOnly: true },
];

for (const k of CASES) {
  test(`${k.label} (${k.suite}): fresh install, no-op re-run, ban round trip in its namespace, uninstall to dpkg --verify clean`, async () => {
    if (process.getuid?.() !== 0) throw new Error('needs root (chroot, network namespaces)');
    ensureBuilt();
    const t: Record<string, number> = {};
    let t0 = Date.now();
    const { tar, builtMs } = cachedChroot(k.suite, (m) => console.log(`# ${m}`));
    t.cache = Date.now() - t0;
    const firewallBefore = hostFirewall();

    t0 = Date.now();
    const c = openChroot(k.suite, tar, `vmx-${k.suite}${k.nftOnly ? '-n' : ''}`, '/var/tmp');
    open.push(c);
    t.extract = Date.now() - t0;
    const dpkgInstalled = (p: string) => /install ok installed/.test(c.x('dpkg-query', ['-W', '-f=${Status}', p]).stdout);
    try {
      if (k.nftOnly) {
        for (const args of [['-q', 'update'], ['-q', '-y', '--no-install-recommends', 'install', 'nftables']]) {
          const r = c.x('apt-get', args);
          assert.equal(r.status, 0, r.stderr);
        }
        assert.ok(!dpkgInstalled('iptables'));
      }

      // 1. Fresh install.
      t0 = Date.now();
      // --no-watch: the cached chroots' file repository predates the watch and has no cron (a minbase
      // tree has none); the watch's cron entry is proven on this host by 55-watch and planned per family in unit tests.
      const r1 = c.cli(['--services', 'asterisk', '--maxretry', '3', '--whitelist', '203.0.113.7', '--no-watch', '--yes', '--json']);
      t.install = Date.now() - t0;
      assert.equal(r1.status, 0, `${r1.stderr}\n${r1.stdout}`);
      const report = JSON.parse(r1.stdout);
      assert.ok(report.packagesInstalled.includes('fail2ban'), JSON.stringify(report.packagesInstalled));
      assert.deepEqual(report.jailsActive.filter((j: string) => j.startsWith('voip-')), ['voip-asterisk']);
      const jail = readFileSync(path.join(c.dir, 'etc/fail2ban/jail.local'), 'utf8');
      assert.match(jail, new RegExp(`^banaction = ${k.banaction}$`, 'm'));
      assert.match(jail, new RegExp(`^banaction_allports = ${k.allports.replace('.', '\\.')}$`, 'm'));
      const version = c.x('fail2ban-client', ['--version']).stdout + c.x('fail2ban-client', ['--version']).stderr;
      assert.match(version, new RegExp(`v${k.fail2ban.replace('.', '\\.')}\\.`), version);
      if (k.allports === 'voip-f2b-nftset.py') assert.ok(!dpkgInstalled('iptables'), 'no iptables installed where nftables is the firewall');
      else assert.ok(dpkgInstalled('iptables') && dpkgInstalled('ipset'));
      const pidFile = path.join(c.dir, 'run/fail2ban/fail2ban.pid');
      assert.ok(existsSync(pidFile), 'fail2ban started');
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      assert.ok(processesIn(c.dir).includes(pid), 'fail2ban-server runs in the chroot');
      assert.equal(c.x('fail2ban-client', ['status', 'voip-asterisk']).status, 0);

      // 2. No-op re-run.
      t0 = Date.now();
      const r2 = c.cli(['--services', 'asterisk', '--maxretry', '3', '--whitelist', '203.0.113.7', '--no-watch', '--yes', '--json']);
      t.rerun = Date.now() - t0;
      assert.equal(r2.status, 0, r2.stderr);
      assert.equal(JSON.parse(r2.stdout).nothingToDo, true, r2.stdout);
      assert.equal(Number(readFileSync(pidFile, 'utf8').trim()), pid, 'fail2ban was not restarted');

      // 3. A ban round trip from real (current-dated) log lines, inside the namespace.
      // Each wrong password writes a line to the messages log and an event to the security log.
      const [, logpath, securityLog] = /^logpath = (\S+)\n\s+(\S+)/m.exec(jail.slice(jail.indexOf('[voip-asterisk]')))!;
      const inFirewall = (): boolean => {
        const text = k.allports === 'voip-f2b-nftset.py'
          ? c.x('nft', ['list', 'set', 'inet', 'f2b-voip-asterisk', 'a4']).stdout
          : c.x('ipset', ['list', 'f2b-voip-asterisk4']).stdout;
        return text.includes(BANNED);
      };
      t0 = Date.now();
      for (let i = 0; i < 3; i++) {
        appendFileSync(path.join(c.dir, logpath!), failureLine());
        appendFileSync(path.join(c.dir, securityLog!), securityLine(i));
      }
      let banned = false;
      for (let i = 0; i < 300 && !(banned = inFirewall()); i++) await sleep(100);
      t.ban = Date.now() - t0;
      assert.ok(banned, `${BANNED} banned in the namespace's firewall within 30 s`);
      assert.equal(c.x('fail2ban-client', ['set', 'voip-asterisk', 'unbanip', BANNED]).status, 0);
      let gone = false;
      for (let i = 0; i < 100 && !(gone = !inFirewall()); i++) await sleep(100);
      assert.ok(gone, 'unbanned');

      // 4. Uninstall, packages too: dpkg --verify clean.
      t0 = Date.now();
      const r3 = c.cli(['uninstall', '--purge-packages', '--json']);
      t.uninstall = Date.now() - t0;
      assert.equal(r3.status, 0, r3.stderr);
      const verify = c.x('dpkg', ['--verify']);
      assert.equal(verify.stdout + verify.stderr, '', 'dpkg --verify clean');
      assert.equal(verify.status, 0);
      assert.ok(!dpkgInstalled('fail2ban'));
    } finally {
      open.splice(open.indexOf(c), 1);
      const problems = await c.destroy();
      assert.deepEqual(problems, []);
    }
    assert.equal(hostFirewall(), firewallBefore, "the host's firewall is byte-identical");
    console.log(
      `# ${k.label}: chroot ${builtMs !== null ? `built and cached in ${secs(builtMs)}` : `from cache`}, extract ${secs(t.extract!)}, install ${secs(t.install!)}, re-run ${secs(t.rerun!)}, log-to-ban ${secs(t.ban!)}, uninstall ${secs(t.uninstall!)}`,
    );
  });
}
