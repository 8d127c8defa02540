import { UnsupportedError } from '../errors.ts';
import type { OsRelease } from './os-release.ts';

export type Family = 'debian' | 'rhel';
export type PackageManager = 'apt' | 'yum' | 'dnf';

/** How EPEL (or the distro's equivalent) is made available before installing fail2ban. */
export type RepoSetup =
  | { kind: 'none' }
  | { kind: 'package'; pkg: string; crb?: 'crb' | 'powertools' | { rhsm: string } }
  | { kind: 'amazon-extras'; topic: string };

/** Everything distro-specific the plan needs, derived from os-release text alone. */
export interface Distro {
  /** e.g. `debian-12`, `ubuntu-24.04`, `rocky-9`, `amzn-2023`. */
  key: string;
  id: string;
  versionId: string;
  major: number;
  family: Family;
  pm: PackageManager;
  repo: RepoSetup;
  /** The fail2ban version the distro (or EPEL) ships; the installed one wins when present. */
  shippedFail2ban: string;
  /** Package names on this distro. */
  pkgs: {
    fail2ban: string;
    iptables: string;
    nftables: string;
    /** ipset (the set-based iptables actions) and conntrack (cutting a banned flow). */
    ipset: string;
    conntrack: string;
    pyinotify: string | null;
    pysystemd: string | null;
    postfix: string;
  };
  /** Where sshd logs when a syslog daemon runs. */
  authLog: string;
}

const debianFail2ban: Record<number, string> = { 10: '0.10.2', 11: '0.11.2', 12: '1.0.2', 13: '1.1.0' };
const ubuntuFail2ban: Record<string, string> = { '20.04': '0.11.1', '22.04': '0.11.2', '24.04': '1.0.2' };

function debianLike(os: OsRelease, major: number, shipped: string): Distro {
  return {
    key: `${os.id}-${os.versionId || 'rolling'}`,
    id: os.id,
    versionId: os.versionId,
    major,
    family: 'debian',
    pm: 'apt',
    repo: { kind: 'none' },
    shippedFail2ban: shipped,
    pkgs: {
      fail2ban: 'fail2ban',
      iptables: 'iptables',
      nftables: 'nftables',
      ipset: 'ipset',
      conntrack: 'conntrack',
      pyinotify: 'python3-pyinotify',
      pysystemd: 'python3-systemd',
      postfix: 'postfix',
    },
    authLog: '/var/log/auth.log',
  };
}

function rhelLike(os: OsRelease, major: number, pm: PackageManager, repo: RepoSetup, shipped: string): Distro {
  const el7 = pm === 'yum';
  return {
    key: `${os.id}-${os.versionId}`,
    id: os.id,
    versionId: os.versionId,
    major,
    family: 'rhel',
    pm,
    repo,
    shippedFail2ban: shipped,
    pkgs: {
      // fail2ban-server alone: the `fail2ban` meta package also pulls fail2ban-firewalld, whose
      // jail.d/00-firewalld.conf forces a firewalld banaction even where firewalld is not running.
      fail2ban: 'fail2ban-server',
      iptables: el7 ? 'iptables' : 'iptables-nft',
      nftables: 'nftables',
      ipset: 'ipset',
      conntrack: 'conntrack-tools',
      pyinotify: null,
      pysystemd: el7 ? 'systemd-python' : 'python3-systemd',
      postfix: 'postfix',
    },
    authLog: '/var/log/secure',
  };
}

/**
 * Maps os-release to a supported distro, or throws UnsupportedError (exit 3) naming the ID.
 * Pure: decided from the text of os-release only.
 */
export function detectDistro(os: OsRelease): Distro {
  const major = Number.parseInt(os.versionId.split('.')[0] ?? '', 10);
  const unsupported = (why: string): never => {
    throw new UnsupportedError(
      `unsupported distribution: ID=${os.id || '(none)'}${os.versionId ? ` VERSION_ID=${os.versionId}` : ''} (${why})`,
      'supported: Debian 11-13, Ubuntu 20.04-24.04, CentOS 7, CentOS Stream/Rocky/AlmaLinux/RHEL/Oracle Linux 8-9, Amazon Linux 2 and 2023, Fedora',
    );
  };
  switch (os.id) {
    case 'debian': {
      // testing/sid ship no VERSION_ID: treat them as the newest release.
      const m = Number.isFinite(major) ? major : 13;
      if (m < 11) return unsupported('Debian 11 or later is required');
      return debianLike(os, m, debianFail2ban[m] ?? '1.1.0');
    }
    case 'ubuntu': {
      if (!Number.isFinite(major) || major < 20) return unsupported('Ubuntu 20.04 or later is required');
      return debianLike(os, major, ubuntuFail2ban[os.versionId] ?? '1.1.0');
    }
    case 'centos': {
      if (major === 7) return rhelLike(os, 7, 'yum', { kind: 'package', pkg: 'epel-release' }, '0.11.2');
      if (major === 8) return rhelLike(os, 8, 'dnf', { kind: 'package', pkg: 'epel-release', crb: 'powertools' }, '1.0.2');
      if (major === 9) return rhelLike(os, 9, 'dnf', { kind: 'package', pkg: 'epel-release', crb: 'crb' }, '1.1.0');
      return unsupported('CentOS 7, CentOS Stream 8 or 9 is required');
    }
    case 'rocky':
    case 'almalinux': {
      if (major === 8) return rhelLike(os, 8, 'dnf', { kind: 'package', pkg: 'epel-release', crb: 'powertools' }, '1.0.2');
      if (major === 9) return rhelLike(os, 9, 'dnf', { kind: 'package', pkg: 'epel-release', crb: 'crb' }, '1.1.0');
      return unsupported('version 8 or 9 is required');
    }
    case 'rhel': {
      if (major !== 8 && major !== 9) return unsupported('RHEL 8 or 9 is required');
      const pkg = `https://dl.fedoraproject.org/pub/epel/epel-release-latest-${major}.noarch.rpm`;
      return rhelLike(
        os,
        major,
        'dnf',
        { kind: 'package', pkg, crb: { rhsm: `codeready-builder-for-rhel-${major}-x86_64-rpms` } },
        major === 8 ? '1.0.2' : '1.1.0',
      );
    }
    case 'ol': {
      if (major !== 8 && major !== 9) return unsupported('Oracle Linux 8 or 9 is required');
      return rhelLike(os, major, 'dnf', { kind: 'package', pkg: `oracle-epel-release-el${major}` }, major === 8 ? '1.0.2' : '1.1.0');
    }
    case 'amzn': {
      if (os.versionId === '2') return rhelLike(os, 2, 'yum', { kind: 'amazon-extras', topic: 'epel' }, '0.11.2');
      if (major === 2023) return rhelLike(os, 2023, 'dnf', { kind: 'none' }, '1.1.0');
      return unsupported('Amazon Linux 2 or 2023 is required');
    }
    case 'fedora': {
      if (!Number.isFinite(major) || major < 38) return unsupported('Fedora 38 or later is required');
      return rhelLike(os, major, 'dnf', { kind: 'none' }, '1.1.0');
    }
    default:
      return unsupported('not a distribution this tool knows how to provision');
  }
}
