import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { runCli } from '../helpers/cli.ts';
import { removeRoot, snapshot, tempRoot } from '../helpers/context.ts';

const DEBIAN12 = await readFile(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');

test('--help lists the flags and the exit codes', () => {
  const r = runCli(['install', '--help']);
  assert.equal(r.status, 0);
  for (const flag of ['--whitelist', '--restartkamailio', '--services', '--email', '--bantime', '--findtime', '--maxretry', '--banaction', '--dry-run', '--root', '--yes', '--json', '--no-protect-admin']) {
    assert.ok(r.stdout.includes(flag), flag);
  }
  const top = runCli(['--help']);
  assert.match(top.stdout, /Exit codes:\n\s+0 .*\n\s+1 .*\n\s+2 .*\n\s+3 .*\n\s+4 .*doctor.*\n\s+5 .*another run.*\n\s+130 /);
  for (const c of ['install', 'status', 'unban', 'uninstall']) assert.match(top.stdout, new RegExp(`\\b${c}\\b`));
});

for (const bad of ['1.2.3.4/33', '999.1.1.1', '1.2.3.4;reboot', '$(id)']) {
  test(`--whitelist ${bad}: exit 2, one line naming it, nothing changed`, async () => {
    const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
    try {
      const before = await snapshot(root);
      const r = runCli(['--whitelist', `203.0.113.7,${bad}`, '--root', root, '--yes']);
      assert.equal(r.status, 2);
      assert.equal(r.stderr.trim().split('\n')[0], `voip-f2b-install: invalid --whitelist entry '${bad}': ${bad === '999.1.1.1' ? 'not a valid IPv4 address' : bad.includes('/') ? 'prefix length must be 0-32' : 'not an address, range or host name'}; expected an IPv4 or IPv6 address, a CIDR range of either (e.g. 203.0.113.0/24, 2001:db8::/32), or a DNS name`);
      assert.equal(r.stdout, '');
      assert.deepEqual(await snapshot(root), before);
    } finally {
      await removeRoot(root);
    }
  });
}

// Issue 20, hole 8: entries that would switch bans off or break fail2ban's configuration.
for (const [bad, why] of [
  ['0.0.0.0/0', 'it covers every address: nothing would ever be banned'],
  ['::/0', 'it covers every address: nothing would ever be banned'],
  ['0.0.0.0/1', 'a /1 covers too much of the Internet to never ban (the widest accepted: /8 for IPv4, /16 for IPv6 outside fc00::/7 and fe80::/10)'],
  ['fe80::1%eth0', 'an IPv6 zone ID (%interface) cannot be whitelisted: give the address without it'],
]) {
  test(`--whitelist ${bad}: exit 2 naming it, nothing written`, async () => {
    const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
    try {
      const before = await snapshot(root);
      const r = runCli(['--whitelist', `203.0.113.7 ${bad}`, '--root', root, '--yes']);
      assert.equal(r.status, 2);
      assert.equal(r.stderr.trim().split('\n')[0], `voip-f2b-install: invalid --whitelist entry '${bad}': ${why}; expected an IPv4 or IPv6 address, a CIDR range of either (e.g. 203.0.113.0/24, 2001:db8::/32), or a DNS name`);
      assert.equal(r.stdout, '');
      assert.deepEqual(await snapshot(root), before);
    } finally {
      await removeRoot(root);
    }
  });
}

test('an admin on a link-local address (SSH_CONNECTION with a zone ID) is whitelisted without the zone', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
  try {
    const r = runCli(['--root', root, '--json', '--dry-run', '--whitelist', '203.0.113.7'], { env: { SSH_CONNECTION: 'fe80::1%eth0 50022 fe80::2%eth0 22' } });
    assert.equal(r.status, 0, r.stderr);
    const ignoreip = (JSON.parse(r.stdout) as { ignoreip: string[] }).ignoreip;
    assert.ok(ignoreip.includes('fe80::1'), ignoreip.join(' '));
    assert.ok(!ignoreip.some((e) => e.includes('%')), ignoreip.join(' '));
  } finally {
    await removeRoot(root);
  }
});

test('usage errors from the option parser are exit 2 too', () => {
  assert.equal(runCli(['--no-such-flag']).status, 2);
  assert.equal(runCli(['--maxretry', 'lots', '--root', '/tmp', '--dry-run']).status, 2);
  const r = runCli(['--root', '/nonexistent/dir', '--dry-run']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /invalid --root '\/nonexistent\/dir'/);
});

test('an unsupported distro is exit 3 naming its ID', async () => {
  const root = await tempRoot({ '/etc/os-release': 'NAME="Arch Linux"\nID=arch\n' });
  try {
    const r = runCli(['--root', root, '--yes']);
    assert.equal(r.status, 3);
    assert.match(r.stderr, /unsupported distribution: ID=arch/);
  } finally {
    await removeRoot(root);
  }
});

test('--json prints exactly one JSON document on stdout; logs go to stderr', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12, '/etc/kamailio/kamailio.cfg': '#!KAMAILIO\n' });
  try {
    const r = runCli(['--root', root, '--json', '--whitelist', '203.0.113.7']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.command, 'install');
    assert.equal(doc.distro, 'debian-12');
    assert.deepEqual(doc.jails, ['voip-kamailio', 'voip-kamailio-pike']);
    assert.ok(doc.ignoreip.includes('203.0.113.7'));
    assert.ok(r.stderr.length > 0);
  } finally {
    await removeRoot(root);
  }
});

test('environment twins set options (VOIP_F2B_WHITELIST, VOIP_F2B_DRY_RUN)', async () => {
  const root = await tempRoot({ '/etc/os-release': DEBIAN12 });
  try {
    const before = await snapshot(root);
    const r = runCli(['--root', root, '--json'], { env: { VOIP_F2B_WHITELIST: '198.51.100.4', VOIP_F2B_DRY_RUN: '1' } });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.dryRun, true);
    assert.ok(doc.ignoreip.includes('198.51.100.4'));
    assert.deepEqual(await snapshot(root), before);
    const bad = runCli(['--root', root], { env: { VOIP_F2B_WHITELIST: '$(id)' } });
    assert.equal(bad.status, 2);
  } finally {
    await removeRoot(root);
  }
});
