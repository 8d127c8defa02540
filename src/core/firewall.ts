import type { Distro } from './distro.ts';
import type { FirewallFacts } from './facts.ts';

/** Where our own ban actions go, and the template each is written from. */
export const ACTION_DIR = '/etc/fail2ban/action.d';
/** The batching set action (one template, two names: the name picks the backend). */
export const SET_ACTION_TEMPLATE = 'etc/fail2ban/action.d/voip-f2b-nftset.py';
export const NFTSET_ACTION = `${ACTION_DIR}/voip-f2b-nftset.py`;
export const IPSET_ACTION = `${ACTION_DIR}/voip-f2b-ipset.py`;
/** firewalld's ipset action, all ports, plus a conntrack flush on ban. */
export const FIREWALLD_ACTION = `${ACTION_DIR}/voip-f2b-firewallcmd-ipset.conf`;
/** Every action file this module may ask for → its template (the planner reads them all up front). */
export const BAN_ACTION_TEMPLATES: Record<string, string> = {
  [NFTSET_ACTION]: SET_ACTION_TEMPLATE,
  [IPSET_ACTION]: SET_ACTION_TEMPLATE,
  [FIREWALLD_ACTION]: 'etc/fail2ban/action.d/voip-f2b-firewallcmd-ipset.conf',
};
export const BAN_ACTION_FILES = Object.keys(BAN_ACTION_TEMPLATES);

/** The ban actions the jails use, what they need installed, and the action files to write. */
export interface BanChoice {
  /** For jails on named ports (sshd): a stock set-based action. */
  banaction: string;
  /** For the VoIP jails: every port of a banned address. */
  banactionAllports: string;
  /**
   * The `protocol` value that makes the all-ports action cover TCP and UDP: iptables takes
   * `all`; the nftables actions need `tcp,udp` (`meta l4proto { all }` is not valid nft).
   */
  protocol: string;
  /** Packages providing the tools the actions call, when they are missing. */
  packages: string[];
  /** Action files to write: target path → template path (relative to templates/). */
  files: Array<{ path: string; template: string }>;
  why: string;
}

function family(name: string): 'nftables' | 'iptables' | 'firewalld' | 'other' {
  if (name.startsWith('nftables') || name.startsWith('voip-f2b-nftset')) return 'nftables';
  if (name.startsWith('iptables') || name.startsWith('voip-f2b-ipset')) return 'iptables';
  if (name.startsWith('firewallcmd') || name.startsWith('voip-f2b-firewallcmd')) return 'firewalld';
  return 'other';
}

/**
 * Where nftables is the release's own firewall: Debian 13+ (fail2ban 1.1's defaults-debian.conf
 * sets `banaction = nftables`), and the RHEL family 8+ (dnf: RHEL, Rocky, Alma, Oracle, CentOS
 * Stream, Fedora, Amazon Linux 2023). Debian 11/12, Ubuntu, CentOS 7, Amazon Linux 2: iptables.
 */
export function nftablesNative(distro: Distro): boolean {
  return (distro.id === 'debian' && distro.major >= 13) || (distro.family === 'rhel' && distro.pm === 'dnf');
}

const nftSets = (distro: Distro, fw: FirewallFacts, why: string): BanChoice => ({
  banaction: 'nftables-multiport',
  banactionAllports: 'voip-f2b-nftset.py',
  protocol: 'tcp,udp',
  packages: fw.nft ? [] : [distro.pkgs.nftables],
  files: [{ path: NFTSET_ACTION, template: SET_ACTION_TEMPLATE }],
  why,
});

const ipsets = (distro: Distro, fw: FirewallFacts, ipsetInstalled: boolean, why: string): BanChoice => ({
  banaction: 'iptables-ipset-proto6',
  banactionAllports: 'voip-f2b-ipset.py',
  protocol: 'all',
  packages: [...(fw.iptables ? [] : [distro.pkgs.iptables]), ...(ipsetInstalled ? [] : [distro.pkgs.ipset])],
  files: [{ path: IPSET_ACTION, template: SET_ACTION_TEMPLATE }],
  why,
});

/**
 * Picks set-based ban actions for the host's firewall (measured in `npm run bench`: banning 1,000
 * addresses at once with the stock per-address actions takes 10-30 s; one batched set update
 * takes well under a second, and a set lookup costs the same with 10 or 10,000 addresses).
 *
 * 1. `override` (--banaction) wins; its all-ports twin is derived from a `-multiport` name.
 * 2. firewalld running: its ipset action on all ports, plus a conntrack flush on ban (firewalld
 *    accepts established traffic before its own rules, so a banned UDP flow would go on).
 * 3. nftables-native release (Debian 13+, RHEL 8+ family, Fedora, AL2023): nftables sets;
 *    iptables is never installed for it (an installed iptables keeps working beside it).
 * 4. Otherwise whatever the host uses: iptables present (nf_tables or legacy variant) → ipset
 *    sets matched from iptables; only nft present → nftables sets; nothing → the release's
 *    own tool (iptables + ipset).
 *
 * `installed` lists the packages known to be installed (ipset, conntrack).
 */
export function chooseBanaction(distro: Distro, fw: FirewallFacts, override?: string, installed: Set<string> = new Set()): BanChoice {
  if (override) {
    const allports = override.endsWith('-multiport') ? override.replace(/-multiport$/, '-allports') : override;
    const fam = family(override);
    const files = override.startsWith('voip-f2b-nftset')
      ? [{ path: NFTSET_ACTION, template: SET_ACTION_TEMPLATE }]
      : override.startsWith('voip-f2b-ipset')
        ? [{ path: IPSET_ACTION, template: SET_ACTION_TEMPLATE }]
        : [];
    return {
      banaction: override,
      banactionAllports: allports,
      protocol: fam === 'nftables' ? 'tcp,udp' : 'all',
      packages: fam === 'nftables' && !fw.nft ? [distro.pkgs.nftables] : fam === 'iptables' && !fw.iptables ? [distro.pkgs.iptables] : [],
      files,
      why: 'chosen with --banaction',
    };
  }
  if (fw.firewalld) {
    return {
      banaction: 'firewallcmd-ipset',
      banactionAllports: 'voip-f2b-firewallcmd-ipset',
      protocol: 'all',
      packages: [distro.pkgs.ipset, distro.pkgs.conntrack].filter((p) => !installed.has(p)),
      files: [{ path: FIREWALLD_ACTION, template: BAN_ACTION_TEMPLATES[FIREWALLD_ACTION]! }],
      why: 'firewalld is running: its ipset action, and a conntrack flush so a banned UDP flow stops',
    };
  }
  if (nftablesNative(distro)) {
    return nftSets(distro, fw, fw.nft ? 'nftables is this release\'s firewall: nftables sets' : 'nftables is this release\'s firewall (installing it): nftables sets');
  }
  const ipsetInstalled = installed.has(distro.pkgs.ipset);
  if (fw.iptables) {
    return ipsets(distro, fw, ipsetInstalled, `iptables is in use${fw.iptablesVariant ? ` (${fw.iptablesVariant})` : ''}: ipset sets matched from iptables`);
  }
  if (fw.nft) return nftSets(distro, fw, 'nftables is in use: nftables sets');
  return ipsets(distro, fw, ipsetInstalled, 'no firewall tool found; installing iptables and ipset, this release\'s own');
}
