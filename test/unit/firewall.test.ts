/**
 * The ban action per distro and per firewall found on the host: one row per case, from the real
 * os-release files. Set-based actions everywhere (see docs/BENCHMARKS.md, section 7).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseOsRelease } from '../../src/core/os-release.ts';
import { detectDistro } from '../../src/core/distro.ts';
import { chooseBanaction, nftablesNative } from '../../src/core/firewall.ts';
import type { FirewallFacts } from '../../src/core/facts.ts';

const distro = async (name: string) => detectDistro(parseOsRelease(await readFile(new URL(`../fixtures/os-release/${name}`, import.meta.url), 'utf8')));

const NONE: FirewallFacts = { iptables: false, iptablesVariant: null, nft: false, firewalld: false };
const IPT_NFT: FirewallFacts = { iptables: true, iptablesVariant: 'nf_tables', nft: false, firewalld: false };
const IPT_LEGACY: FirewallFacts = { iptables: true, iptablesVariant: 'legacy', nft: false, firewalld: false };
const NFT: FirewallFacts = { iptables: false, iptablesVariant: null, nft: true, firewalld: false };
const BOTH: FirewallFacts = { iptables: true, iptablesVariant: 'nf_tables', nft: true, firewalld: false };
const FIREWALLD: FirewallFacts = { iptables: true, iptablesVariant: 'nf_tables', nft: true, firewalld: true };

const NFTSET = ['nftables-multiport', 'voip-f2b-nftset.py'];
const IPSET = ['iptables-ipset-proto6', 'voip-f2b-ipset.py'];
const FWD = ['firewallcmd-ipset', 'voip-f2b-firewallcmd-ipset'];

const ROWS: Array<{ file: string; fw: FirewallFacts; installed?: string[]; expect: string[]; packages: string[] }> = [
  // Debian 11/12 and Ubuntu: whatever the host uses, with sets.
  { file: 'debian-11', fw: NONE, expect: IPSET, packages: ['iptables', 'ipset'] },
  { file: 'debian-11', fw: IPT_LEGACY, expect: IPSET, packages: ['ipset'] },
  { file: 'debian-12', fw: IPT_NFT, installed: ['ipset'], expect: IPSET, packages: [] },
  { file: 'debian-12', fw: NFT, expect: NFTSET, packages: [] },
  { file: 'debian-12', fw: BOTH, expect: IPSET, packages: ['ipset'] },
  { file: 'ubuntu-24.04', fw: IPT_NFT, expect: IPSET, packages: ['ipset'] },
  { file: 'ubuntu-22.04', fw: NFT, expect: NFTSET, packages: [] },
  // nftables-native releases: nftables sets; iptables is never installed for it.
  { file: 'debian-13', fw: NONE, expect: NFTSET, packages: ['nftables'] },
  { file: 'debian-13', fw: IPT_NFT, expect: NFTSET, packages: ['nftables'] },
  { file: 'debian-13', fw: BOTH, expect: NFTSET, packages: [] },
  { file: 'rocky-9', fw: NONE, expect: NFTSET, packages: ['nftables'] },
  { file: 'almalinux-8', fw: IPT_NFT, expect: NFTSET, packages: ['nftables'] },
  { file: 'fedora-42', fw: NFT, expect: NFTSET, packages: [] },
  { file: 'amzn-2023', fw: NONE, expect: NFTSET, packages: ['nftables'] },
  // The iptables releases of the RHEL family.
  { file: 'centos-7', fw: NONE, expect: IPSET, packages: ['iptables', 'ipset'] },
  { file: 'amzn-2', fw: IPT_LEGACY, installed: ['ipset'], expect: IPSET, packages: [] },
  // firewalld running: its ipset action plus a conntrack flush, on every distro.
  { file: 'rocky-9', fw: FIREWALLD, expect: FWD, packages: ['ipset', 'conntrack-tools'] },
  { file: 'debian-12', fw: FIREWALLD, installed: ['ipset', 'conntrack'], expect: FWD, packages: [] },
];

for (const row of ROWS) {
  const fwName = Object.entries({ NONE, IPT_NFT, IPT_LEGACY, NFT, BOTH, FIREWALLD }).find(([, v]) => v === row.fw)![0];
  test(`${row.file}, firewall ${fwName}: ${row.expect.join(' / ')}`, async () => {
    const c = chooseBanaction(await distro(row.file), row.fw, undefined, new Set(row.installed ?? []));
    assert.deepEqual([c.banaction, c.banactionAllports], row.expect);
    assert.deepEqual(c.packages, row.packages);
    assert.ok(c.why.length > 10);
    const file = c.files[0]!;
    assert.equal(file.path, `/etc/fail2ban/action.d/${row.expect[1]}${row.expect[1]!.endsWith('.py') ? '' : '.conf'}`);
  });
}

test('nftables is native on Debian 13+ and the dnf family only', async () => {
  const native = [];
  for (const f of ['debian-11', 'debian-12', 'debian-13', 'ubuntu-24.04', 'centos-7', 'amzn-2', 'rhel-8', 'ol-9', 'centos-stream-9', 'amzn-2023', 'fedora-42']) {
    if (nftablesNative(await distro(f))) native.push(f);
  }
  assert.deepEqual(native, ['debian-13', 'rhel-8', 'ol-9', 'centos-stream-9', 'amzn-2023', 'fedora-42']);
});

test('--banaction wins; our set actions come with their file', async () => {
  const d = await distro('debian-12');
  const stock = chooseBanaction(d, IPT_NFT, 'nftables-multiport');
  assert.deepEqual([stock.banaction, stock.banactionAllports, stock.protocol, stock.packages, stock.files], ['nftables-multiport', 'nftables-allports', 'tcp,udp', ['nftables'], []]);
  const ours = chooseBanaction(d, NFT, 'voip-f2b-nftset.py');
  assert.deepEqual([ours.banactionAllports, ours.files.map((f) => f.path)], ['voip-f2b-nftset.py', ['/etc/fail2ban/action.d/voip-f2b-nftset.py']]);
});
