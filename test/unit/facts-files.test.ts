/**
 * Facts that are files are read as files: the installed packages and fail2ban's version from
 * dpkg's status file, the iptables variant from the links behind the iptables binary. A no-op
 * re-run on a (simulated) live host starts no process at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dpkgStanzasOf, gatherFacts } from '../../src/adapters/facts.ts';
import { install } from '../../src/commands/install.ts';
import { parseDpkgStatus, upstreamVersion } from '../../src/core/packages.ts';
import { installOptions } from '../helpers/options.ts';
import { recordingRunner, removeRoot, tempRoot, testContext } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');

const stanza = (pkg: string, status: string, version: string): string =>
  `Package: ${pkg}\nStatus: ${status}\nPriority: optional\nVersion: ${version}\nDescription: x\n continuation line\n`;
const STATUS = [
  stanza('fail2ban', 'install ok installed', '1.0.2-2'),
  stanza('iptables', 'install ok installed', '1.8.9-2'),
  stanza('ipset', 'install ok installed', '7.17-1'),
  stanza('python3-pyinotify', 'install ok installed', '0.9.6-2'),
  stanza('python3-systemd', 'install ok installed', '235-1+b2'),
  stanza('postfix', 'deinstall ok config-files', '3.7.11-0+deb12u1'),
  stanza('nftables', 'install ok installed', '1.0.6-2+deb12u2'),
].join('\n');

test('dpkg status: installed packages only, with their upstream version', () => {
  const m = parseDpkgStatus(STATUS);
  assert.deepEqual([...m.keys()].sort(), ['fail2ban', 'ipset', 'iptables', 'nftables', 'python3-pyinotify', 'python3-systemd']);
  assert.equal(upstreamVersion(m.get('fail2ban')!), '1.0.2');
  assert.equal(upstreamVersion('1:2.3.4-5+deb12u1'), '2.3.4');
  assert.equal(upstreamVersion('235-1+b2'), '235');
});

test('dpkg status: asking for some packages (in the text, as the facts do) finds exactly what the whole parse finds for them (the fixture and this host)', async () => {
  // A second stanza of a package (another architecture) is found too, as the whole parse sees it.
  const twice = `${STATUS}\n${stanza('iptables', 'install ok installed', '1.8.9-3')}`;
  for (const text of [STATUS, twice, await readFile('/var/lib/dpkg/status', 'utf8').catch(() => '')]) {
    const all = parseDpkgStatus(text);
    // Every package in the file (installed or not), names that are prefixes of others, absent ones.
    const names = [...new Set([...text.matchAll(/^Package:\s*(\S+)/gm)].map((m) => m[1]!)), 'python3', 'fail2ba', 'no-such-package', 'c++'];
    for (const chunk of [names, names.slice(0, 10), ['fail2ban'], ['postfix', 'nftables'], []]) {
      const want = new Map([...all].filter(([k]) => chunk.includes(k)));
      // As the facts read it: the stanzas of those packages found in the latin1 text, then parsed.
      assert.deepEqual(parseDpkgStatus(dpkgStanzasOf(Buffer.from(text, 'utf8').toString('latin1'), chunk)), want);
    }
    if (text !== STATUS && text !== twice) console.log(`# this host's dpkg status: ${names.length} packages, ${all.size} installed`);
  }
});

/** A live Debian 12 host over a temp root: dpkg status, iptables behind the alternatives links. */
async function host(variant: 'nft' | 'legacy'): Promise<string> {
  const root = await tempRoot({
    '/etc/os-release': DEBIAN12,
    // cron too, as on a stock Debian server (the watch, on by default, would install it otherwise).
    '/var/lib/dpkg/status': `${STATUS}\n${stanza('cron', 'install ok installed', '3.0pl1-162')}`,
    '/usr/bin/fail2ban-client': '',
    [`/usr/sbin/xtables-${variant}-multi`]: '',
    '/usr/sbin/service': '',
    '/etc/init.d/fail2ban': '',
    '/etc/asterisk/asterisk.conf': '',
    '/var/log/auth.log': '',
  });
  await mkdir(path.join(root, 'etc/alternatives'), { recursive: true });
  await symlink(`xtables-${variant}-multi`, path.join(root, `usr/sbin/iptables-${variant}`));
  // Relative links (Debian's are absolute): an absolute one would be followed on this machine,
  // not under the root, by the existence check.
  await symlink(`../../usr/sbin/iptables-${variant}`, path.join(root, 'etc/alternatives/iptables'));
  await symlink('../../etc/alternatives/iptables', path.join(root, 'usr/sbin/iptables'));
  return root;
}

for (const [variant, expected] of [['nft', 'nf_tables'], ['legacy', 'legacy']] as const) {
  test(`iptables ${expected} and fail2ban's version come from files; no process is started`, async () => {
    const root = await host(variant);
    try {
      const run = recordingRunner();
      const facts = await gatherFacts(testContext(root, { run, live: true }));
      assert.equal(facts.firewall.iptables, true);
      assert.equal(facts.firewall.iptablesVariant, expected);
      assert.deepEqual(facts.fail2ban, { installed: true, version: '1.0.2', running: false });
      assert.deepEqual(run.lines(), []);
    } finally {
      await removeRoot(root);
    }
  });
}

test('a live no-op re-run asks no process for facts (installed packages from dpkg status, fail2ban running from its pid file)', async () => {
  const root = await host('nft');
  try {
    const status = 'Status\n|- Number of jail:\t1\n`- Jail list:\tvoip-asterisk\n';
    const first = recordingRunner((c) => (c.cmd === 'fail2ban-client' && c.args[0] === 'status' ? { stdout: status } : undefined));
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root, { run: first, live: true }));
    // The doctor that ends an install reads the firewall on purpose (iptables-save, its ban test):
    // the facts are everything before it.
    const doctorAt = first.lines().indexOf('fail2ban-client ping');
    const factLines = doctorAt < 0 ? first.lines() : first.lines().slice(0, doctorAt);
    assert.ok(!factLines.some((l) => /^(apt-get|dpkg-query|iptables)/.test(l)), first.lines().join('\n'));
    // fail2ban now "runs" (its pid file names a live process).
    await mkdir(path.join(root, 'run/fail2ban'), { recursive: true });
    await writeFile(path.join(root, 'run/fail2ban/fail2ban.pid'), `${process.pid}\n`);
    const again = recordingRunner((c) => (c.cmd === 'fail2ban-client' && c.args[0] === 'status' ? { stdout: status } : undefined));
    const r = await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root, { run: again, live: true }));
    assert.equal(r.nothingToDo, true);
    // Only the check that the running fail2ban has what the plan promises (issue 10's no-op
    // verification) starts a process, and only because this temp root has no fail2ban socket to
    // ask (test/real/10-install: none at all on a real host). No fact is asked of one, and the
    // configuration test is not run again: /etc/fail2ban is byte for byte what passed it.
    assert.deepEqual(again.lines(), ['fail2ban-client status']);
    // A hand edit anywhere in /etc/fail2ban (here a comment in a file the tool does not manage)
    // makes the re-run test the configuration again, once.
    await mkdir(path.join(root, 'etc/fail2ban/jail.d'), { recursive: true });
    await writeFile(path.join(root, 'etc/fail2ban/jail.d/zz-note.local'), '# my note\n');
    const edited = recordingRunner((c) => (c.cmd === 'fail2ban-client' && c.args[0] === 'status' ? { stdout: status } : undefined));
    assert.equal((await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root, { run: edited, live: true }))).nothingToDo, true);
    assert.deepEqual(edited.lines(), ['fail2ban-client -t', 'fail2ban-client status']);
    const after = recordingRunner((c) => (c.cmd === 'fail2ban-client' && c.args[0] === 'status' ? { stdout: status } : undefined));
    await install(installOptions({ yes: true, whitelist: ['203.0.113.7'] }), testContext(root, { run: after, live: true }));
    assert.deepEqual(after.lines(), ['fail2ban-client status']);
  } finally {
    await removeRoot(root);
  }
});
