/**
 * Every supported distro, from its real os-release file (test/fixtures/os-release), on a fresh
 * cloud VM (systemd and journald running, no firewall tool, no fail2ban): the exact commands the
 * tool would run, and the ban action it would choose. One row per distro.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { buildInstallPlan } from '../../src/core/install-plan.ts';
import { loadTemplates } from '../../src/adapters/templates.ts';
import type { HostFacts } from '../../src/adapters/facts.ts';
import { UnsupportedError } from '../../src/errors.ts';
import { installOptions } from '../helpers/options.ts';
import { hostFacts } from '../helpers/facts.ts';

const templates = await loadTemplates();
const osr = async (name: string) => parseOsRelease(await readFile(new URL(`../fixtures/os-release/${name}`, import.meta.url), 'utf8'));

/** A fresh cloud VM: systemd and journald running, no firewall tool, no fail2ban, stale apt lists. */
function freshVm(os: HostFacts['os']): HostFacts {
  return hostFacts(os, {
    live: true,
    init: 'systemd',
    journald: true,
    firewall: { iptables: false, iptablesVariant: null, nft: false, firewalld: false },
    fail2ban: { installed: false, version: null, running: false },
    aptListsFresh: false,
    authLogExists: false,
  });
}

const APT_UPDATE = 'apt-get -o DPkg::Lock::Timeout=120 -q update';
const APT_INSTALL = 'apt-get -o DPkg::Lock::Timeout=120 -q -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install';
const DEB = [APT_UPDATE, `${APT_INSTALL} fail2ban iptables ipset python3-pyinotify python3-systemd`];
const DEB_NFT = [APT_UPDATE, `${APT_INSTALL} fail2ban nftables python3-pyinotify python3-systemd`];
const EL_NFT = 'fail2ban-server nftables python3-systemd';
const el = (crb: string, n: number) => ['dnf -y install dnf-plugins-core', `dnf config-manager --set-enabled ${crb}`, 'dnf -y install epel-release', `dnf -y install ${EL_NFT}`];

const TABLE: Array<{ file: string; key: string; fail2ban: string; banaction: string; commands: string[] }> = [
  { file: 'debian-11', key: 'debian-11', fail2ban: '0.11.2', banaction: 'iptables-ipset-proto6', commands: DEB },
  { file: 'debian-12', key: 'debian-12', fail2ban: '1.0.2', banaction: 'iptables-ipset-proto6', commands: DEB },
  { file: 'debian-13', key: 'debian-13', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: DEB_NFT },
  { file: 'ubuntu-20.04', key: 'ubuntu-20.04', fail2ban: '0.11.1', banaction: 'iptables-ipset-proto6', commands: DEB },
  { file: 'ubuntu-22.04', key: 'ubuntu-22.04', fail2ban: '0.11.2', banaction: 'iptables-ipset-proto6', commands: DEB },
  { file: 'ubuntu-24.04', key: 'ubuntu-24.04', fail2ban: '1.0.2', banaction: 'iptables-ipset-proto6', commands: DEB },
  { file: 'centos-7', key: 'centos-7', fail2ban: '0.11.2', banaction: 'iptables-ipset-proto6', commands: ['yum -y install epel-release', 'yum -y install fail2ban-server iptables ipset systemd-python'] },
  { file: 'centos-stream-8', key: 'centos-8', fail2ban: '1.0.2', banaction: 'nftables-multiport', commands: el('powertools', 8) },
  { file: 'centos-stream-9', key: 'centos-9', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: el('crb', 9) },
  { file: 'rocky-8', key: 'rocky-8.8', fail2ban: '1.0.2', banaction: 'nftables-multiport', commands: el('powertools', 8) },
  { file: 'rocky-9', key: 'rocky-9.3', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: el('crb', 9) },
  { file: 'almalinux-8', key: 'almalinux-8.10', fail2ban: '1.0.2', banaction: 'nftables-multiport', commands: el('powertools', 8) },
  { file: 'almalinux-9', key: 'almalinux-9.6', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: el('crb', 9) },
  {
    file: 'rhel-8',
    key: 'rhel-8.7',
    fail2ban: '1.0.2',
    banaction: 'nftables-multiport',
    commands: ['subscription-manager repos --enable codeready-builder-for-rhel-8-x86_64-rpms', 'dnf -y install https://dl.fedoraproject.org/pub/epel/epel-release-latest-8.noarch.rpm', `dnf -y install ${EL_NFT}`],
  },
  {
    file: 'rhel-9',
    key: 'rhel-9.6',
    fail2ban: '1.1.0',
    banaction: 'nftables-multiport',
    commands: ['subscription-manager repos --enable codeready-builder-for-rhel-9-x86_64-rpms', 'dnf -y install https://dl.fedoraproject.org/pub/epel/epel-release-latest-9.noarch.rpm', `dnf -y install ${EL_NFT}`],
  },
  { file: 'ol-8', key: 'ol-8.9', fail2ban: '1.0.2', banaction: 'nftables-multiport', commands: ['dnf -y install oracle-epel-release-el8', `dnf -y install ${EL_NFT}`] },
  { file: 'ol-9', key: 'ol-9.5', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: ['dnf -y install oracle-epel-release-el9', `dnf -y install ${EL_NFT}`] },
  { file: 'amzn-2', key: 'amzn-2', fail2ban: '0.11.2', banaction: 'iptables-ipset-proto6', commands: ['amazon-linux-extras install -y epel', 'yum -y install fail2ban-server iptables ipset systemd-python'] },
  { file: 'amzn-2023', key: 'amzn-2023', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: [`dnf -y install ${EL_NFT}`] },
  { file: 'fedora-42', key: 'fedora-42', fail2ban: '1.1.0', banaction: 'nftables-multiport', commands: [`dnf -y install ${EL_NFT}`] },
];

for (const row of TABLE) {
  test(`${row.file}: commands on a fresh host`, async () => {
    const os = await osr(row.file);
    const distro = detectDistro(os);
    assert.equal(distro.key, row.key);
    assert.equal(distro.shippedFail2ban, row.fail2ban);
    const plan = buildInstallPlan({
      options: installOptions({ yes: true }),
      facts: freshVm(os),
      distro,
      installed: new Set(),
      repoReady: false,
      templates,
      files: {},
    });
    assert.deepEqual(plan.packageCommands.map((c) => [c.cmd, ...c.args].join(' ')), row.commands);
    assert.equal(plan.banaction, row.banaction);
    // The VoIP jails: the batching set action of the same family (nftables sets or ipset).
    assert.equal(plan.banactionAllports, row.banaction.startsWith('nftables') ? 'voip-f2b-nftset.py' : 'voip-f2b-ipset.py');
    const actionFile = `/etc/fail2ban/action.d/${plan.banactionAllports}`;
    assert.ok(plan.files.some((f) => f.path === actionFile && f.after === templates['etc/fail2ban/action.d/voip-f2b-nftset.py']), `${actionFile} is written`);
    if (row.banaction.startsWith('nftables')) assert.ok(!plan.packages.includes('iptables') && !plan.packages.includes('iptables-nft'), 'no iptables on an nftables release');
    assert.ok(plan.packageCommands.filter((c) => c.args.includes('install') && !/epel|dnf-plugins/.test(c.args.join(' '))).length === 1, 'one install transaction for the tools');
    if (distro.pm === 'apt') {
      for (const c of plan.packageCommands) assert.equal(c.env?.DEBIAN_FRONTEND, 'noninteractive', 'never a debconf prompt');
    }
  });
}

test('lists less than a day old skip apt-get update; installed packages are not installed again', async () => {
  const os = await osr('debian-12');
  const base = { options: installOptions({ yes: true }), distro: detectDistro(os), repoReady: true, templates, files: {} };
  const fresh = { ...freshVm(os), aptListsFresh: true };
  const p1 = buildInstallPlan({ ...base, facts: fresh, installed: new Set(['fail2ban']) });
  assert.deepEqual(p1.packageCommands.map((c) => c.args.at(-1)), ['python3-systemd']);
  assert.deepEqual(p1.packages, ['iptables', 'ipset', 'python3-pyinotify', 'python3-systemd']);
  const p2 = buildInstallPlan({ ...base, facts: fresh, installed: new Set(['fail2ban', 'iptables', 'ipset', 'python3-pyinotify', 'python3-systemd']) });
  assert.deepEqual(p2.packageCommands, []);
});

for (const file of ['debian-10', 'alpine', 'arch', 'opensuse-leap', 'linuxmint']) {
  test(`${file}: unsupported, exit 3 naming the os-release ID`, async () => {
    const os = await osr(file);
    assert.throws(() => detectDistro(os), (e: unknown) => e instanceof UnsupportedError && e.exitCode === 3 && e.message.includes(`ID=${os.id}`));
  });
}
