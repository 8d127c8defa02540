import type { Command } from './command.ts';
import type { Distro } from './distro.ts';

/** Seconds apt waits for the dpkg lock before failing with a clear error (never a hang). */
export const DPKG_LOCK_TIMEOUT_S = 120;

const APT_ENV = {
  DEBIAN_FRONTEND: 'noninteractive',
  // Never stop at a conffile question or a needrestart/apt-listchanges pager.
  NEEDRESTART_MODE: 'a',
  APT_LISTCHANGES_FRONTEND: 'none',
};

/** apt waits this long for the dpkg lock instead of failing at once (or hanging). */
const APT_LOCK = ['-o', `DPkg::Lock::Timeout=${DPKG_LOCK_TIMEOUT_S}`];

export interface PackageFacts {
  /** Packages already installed (by name). */
  installed: Set<string>;
  /** apt: package lists updated recently enough to install from. */
  aptListsFresh: boolean;
  /** rhel: the EPEL (or equivalent) repository is already set up. */
  repoReady: boolean;
}

/**
 * The exact commands that install `wanted` packages on `distro`: repository set-up where EPEL is
 * needed, at most one index update, and one install transaction. Returns [] when all are
 * installed. Pure; the per-distro table in test/unit/packages.test.ts pins every row.
 */
export function packageCommands(distro: Distro, wanted: string[], facts: PackageFacts): Command[] {
  const missing = [...new Set(wanted)].filter((p) => !facts.installed.has(p));
  if (missing.length === 0) return [];
  const cmds: Command[] = [];

  if (distro.pm === 'apt') {
    const lock = APT_LOCK;
    if (!facts.aptListsFresh) cmds.push({ cmd: 'apt-get', args: [...lock, '-q', 'update'], env: APT_ENV });
    cmds.push({
      cmd: 'apt-get',
      args: [
        ...lock,
        '-q',
        '-y',
        '--no-install-recommends',
        // Keep the admin's existing conffiles; never ask.
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
        'install',
        ...missing,
      ],
      env: APT_ENV,
    });
    return cmds;
  }

  const pm = distro.pm; // yum or dnf
  if (!facts.repoReady) {
    const repo = distro.repo;
    if (repo.kind === 'amazon-extras') {
      cmds.push({ cmd: 'amazon-linux-extras', args: ['install', '-y', repo.topic] });
    } else if (repo.kind === 'package') {
      if (repo.crb === 'crb' || repo.crb === 'powertools') {
        cmds.push({ cmd: pm, args: ['-y', 'install', 'dnf-plugins-core'] });
        cmds.push({ cmd: pm, args: ['config-manager', '--set-enabled', repo.crb] });
      } else if (repo.crb && typeof repo.crb === 'object') {
        cmds.push({ cmd: 'subscription-manager', args: ['repos', '--enable', repo.crb.rhsm] });
      }
      cmds.push({ cmd: pm, args: ['-y', 'install', repo.pkg] });
    }
  }
  cmds.push({ cmd: pm, args: ['-y', 'install', ...missing] });
  return cmds;
}

/**
 * The command that removes `names` (uninstall --purge-packages): the same lock timeout and
 * environment as the install, so it never stops at a question or a busy lock.
 */
export function purgeCommand(distro: Distro, names: string[]): Command {
  if (distro.pm === 'apt') return { cmd: 'apt-get', args: [...APT_LOCK, '-q', '-y', 'purge', ...names], env: APT_ENV };
  return { cmd: distro.pm, args: ['-y', 'remove', ...names] };
}

/**
 * Installed packages and their versions from the text of dpkg's status file
 * (/var/lib/dpkg/status): a fact read as a file, no dpkg-query process. Only stanzas whose
 * Status is `install ok installed` count. (The facts hand it only the stanzas of the packages
 * they ask about, found in the file's text: src/adapters/facts.ts, dpkgStanzasOf.)
 */
export function parseDpkgStatus(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const pkg = /^Package:\s*(\S+)/m.exec(stanza)?.[1];
    if (!pkg || !/^Status:\s*install ok installed\s*$/m.test(stanza)) continue;
    out.set(pkg, /^Version:\s*(\S+)/m.exec(stanza)?.[1] ?? '');
  }
  return out;
}

/** The upstream part of a Debian version (`1:1.0.2-2+deb12u1` → `1.0.2`). */
export function upstreamVersion(debVersion: string): string {
  return debVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

/** The query that tells which of `names` are installed (output parsed by parseInstalled). */
export function installedQuery(distro: Distro, names: string[]): Command {
  if (distro.pm === 'apt') {
    return { cmd: 'dpkg-query', args: ['-W', '-f=${Package} ${db:Status-Status}\\n', ...names] };
  }
  return { cmd: 'rpm', args: ['-q', '--qf', '%{NAME} installed\\n', ...names] };
}

/** Parses installedQuery output into the set of installed names. */
export function parseInstalled(stdout: string): Set<string> {
  const set = new Set<string>();
  for (const line of stdout.split('\n')) {
    const [name, status] = line.trim().split(/\s+/);
    if (name && status === 'installed') set.add(name);
  }
  return set;
}
