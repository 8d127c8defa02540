import type { Distro } from './distro.ts';
import type { FirewallFacts } from './facts.ts';

/** The ban actions the jails use, and the firewall package to install for them, if any. */
export interface BanChoice {
  banaction: string;
  banactionAllports: string;
  /**
   * The `protocol` value that makes the all-ports action cover TCP and UDP: iptables takes
   * `all`; the nftables actions need `tcp,udp` (`meta l4proto { all }` is not valid nft).
   */
  protocol: string;
  /** Package providing the firewall tool, when it is missing. */
  package: string | null;
  why: string;
}

function family(name: string): 'nftables' | 'iptables' | 'firewalld' | 'other' {
  if (name.startsWith('nftables')) return 'nftables';
  if (name.startsWith('iptables')) return 'iptables';
  if (name.startsWith('firewallcmd')) return 'firewalld';
  return 'other';
}

/**
 * Picks the banaction matching the host's firewall: firewalld when it runs; else iptables when
 * present (the nf_tables and legacy variants both work with fail2ban's iptables actions); else
 * nftables when present; else the distro's own default is installed. `override` (--banaction)
 * wins; its all-ports twin is derived from a `-multiport` name.
 */
export function chooseBanaction(distro: Distro, fw: FirewallFacts, override?: string): BanChoice {
  if (override) {
    const allports = override.endsWith('-multiport') ? override.replace(/-multiport$/, '-allports') : override;
    const fam = family(override);
    return {
      banaction: override,
      banactionAllports: allports,
      protocol: fam === 'nftables' ? 'tcp,udp' : 'all',
      package: fam === 'nftables' && !fw.nft ? distro.pkgs.nftables : fam === 'iptables' && !fw.iptables ? distro.pkgs.iptables : null,
      why: 'chosen with --banaction',
    };
  }
  if (fw.firewalld) {
    return { banaction: 'firewallcmd-rich-rules', banactionAllports: 'firewallcmd-allports', protocol: 'all', package: null, why: 'firewalld is running' };
  }
  if (fw.iptables) {
    return { banaction: 'iptables-multiport', banactionAllports: 'iptables-allports', protocol: 'all', package: null, why: `iptables is installed${fw.iptablesVariant ? ` (${fw.iptablesVariant})` : ''}` };
  }
  if (fw.nft) {
    return { banaction: 'nftables-multiport', banactionAllports: 'nftables-allports', protocol: 'tcp,udp', package: null, why: 'nftables is installed' };
  }
  const preferNft = distro.family === 'rhel' && distro.pm === 'dnf';
  return preferNft
    ? { banaction: 'nftables-multiport', banactionAllports: 'nftables-allports', protocol: 'tcp,udp', package: distro.pkgs.nftables, why: 'no firewall tool found; nftables is this distro\'s default' }
    : { banaction: 'iptables-multiport', banactionAllports: 'iptables-allports', protocol: 'all', package: distro.pkgs.iptables, why: 'no firewall tool found; installing iptables' };
}
