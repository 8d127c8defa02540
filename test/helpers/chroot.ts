/**
 * Minimal Debian chroots for the release matrix, each used through a network namespace of its
 * own (so fail2ban's bans land in that namespace's firewall, never the host's).
 *
 * Cache (outside the clone, kept between runs on the same machine; CI clones fresh):
 *   /var/cache/voip-f2b-install-test/<suite>.tar   a `debootstrap --variant=minbase` tree whose
 *   apt source is a local file repository inside it (/srv/voip-f2b-repo) holding every package
 *   the tool may install there (fail2ban, its firewall tools and their dependencies, downloaded
 *   once from the mirror in the host's own apt sources). The tool's `apt-get update` and
 *   `apt-get install` then run for real inside the namespace with no network at all.
 * A run extracts a fresh tree from the tarball into a temp dir and deletes it afterwards.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './cli.ts';

export const CACHE = process.env.VOIP_F2B_TEST_CACHE ?? '/var/cache/voip-f2b-install-test';
const REPO_IN_CHROOT = '/srv/voip-f2b-repo';
/** What the tool may install in a minimal chroot (with their dependencies). */
const PACKAGES = ['fail2ban', 'python3-pyinotify', 'python3-systemd', 'iptables', 'ipset', 'nftables', 'conntrack'];

function run(cmd: string, args: string[], o: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: o.input, timeout: o.timeoutMs ?? 1_200_000, maxBuffer: 64 * 1024 * 1024, env: o.env ?? process.env });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
function must(cmd: string, args: string[], o: Parameters<typeof run>[2] = {}) {
  const r = run(cmd, args, o);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).slice(-2000)}`);
  return r;
}

/** The Debian mirror of the host's own apt sources (deb822 or one-line format). */
export function hostMirror(): string {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  for (const f of files.filter((x) => /\.(list|sources)$/.test(x) && existsSync(x))) {
    const text = readFileSync(f, 'utf8');
    const deb822 = /^URIs:\s*(\S+)/m.exec(text.split(/\n\s*\n/).find((s) => /^Suites:.*\b(bookworm|bullseye|trixie|stable)\b(?!-security)/m.test(s) && !/debian-security/.test(s)) ?? '');
    if (deb822) return deb822[1]!.replace(/\/$/, '');
    const line = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(bookworm|bullseye|trixie|stable)\s/m.exec(text);
    if (line) return line[1]!.replace(/\/$/, '');
  }
  throw new Error('no Debian mirror found in the host apt sources');
}

/** A Packages index for the .debs in `dir` (what dpkg-scanpackages writes, without needing dpkg-dev). */
function writePackagesIndex(dir: string): void {
  const stanzas: string[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.deb')).sort()) {
    const p = path.join(dir, f);
    const control = must('dpkg-deb', ['-f', p]).stdout.trimEnd();
    const data = readFileSync(p);
    stanzas.push(`${control}\nFilename: ./${f}\nSize: ${data.length}\nSHA256: ${createHash('sha256').update(data).digest('hex')}\n`);
  }
  writeFileSync(path.join(dir, 'Packages'), `${stanzas.join('\n')}`);
}

/** Builds (once) the cached tarball for `suite`; returns its path and whether it was built now. */
export function cachedChroot(suite: string, log: (s: string) => void): { tar: string; builtMs: number | null } {
  const tar = path.join(CACHE, `${suite}.tar`);
  if (existsSync(tar)) return { tar, builtMs: null };
  const t0 = Date.now();
  mkdirSync(CACHE, { recursive: true });
  const dir = mkdtempSync(path.join(CACHE, `build-${suite}-`));
  try {
    const mirror = hostMirror();
    log(`debootstrap ${suite} (minbase) from the host's mirror`);
    must('debootstrap', ['--variant=minbase', suite, dir, mirror], { timeoutMs: 1_500_000 });
    // Download (not install) what the tool may install, into a local file repository.
    writeFileSync(path.join(dir, 'etc/apt/sources.list'), `deb ${mirror} ${suite} main\n`);
    must('chroot', [dir, 'apt-get', '-q', 'update']);
    must('chroot', [dir, 'apt-get', '-q', '-y', '--no-install-recommends', '--download-only', 'install', ...PACKAGES], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    const repo = path.join(dir, REPO_IN_CHROOT.slice(1));
    mkdirSync(repo, { recursive: true });
    const archives = path.join(dir, 'var/cache/apt/archives');
    for (const f of readdirSync(archives).filter((n) => n.endsWith('.deb'))) renameSync(path.join(archives, f), path.join(repo, f));
    writePackagesIndex(repo);
    writeFileSync(path.join(dir, 'etc/apt/sources.list'), `deb [trusted=yes] file:${REPO_IN_CHROOT} ./\n`);
    must('chroot', [dir, 'apt-get', 'clean']);
    rmSync(path.join(dir, 'var/lib/apt/lists'), { recursive: true, force: true });
    mkdirSync(path.join(dir, 'var/lib/apt/lists/partial'), { recursive: true });
    const tmpTar = `${tar}.part`;
    must('tar', ['-C', dir, '--numeric-owner', '-cf', tmpTar, '.']);
    renameSync(tmpTar, tar);
    return { tar, builtMs: Date.now() - t0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Chroot {
  suite: string;
  dir: string;
  ns: string;
  /** Runs a command inside the chroot, inside its namespace. */
  x: (cmd: string, args: string[], o?: { input?: string; timeoutMs?: number }) => { status: number | null; stdout: string; stderr: string };
  /** Runs the built CLI inside the chroot. */
  cli: (args: string[]) => { status: number | null; stdout: string; stderr: string };
  /** Runs a command on the host side inside the chroot's namespace (firewall queries). */
  inNs: (cmd: string, args: string[]) => { status: number | null; stdout: string; stderr: string };
  destroy: () => Promise<string[]>;
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root', SSH_CONNECTION: '203.0.113.9 50000 203.0.113.1 22' };

/** A fresh tree of `suite` from the cache, with this checkout's built CLI and the running Node in it. */
export function openChroot(suite: string, tar: string, nsName: string, workRoot: string): Chroot {
  const dir = mkdtempSync(path.join(workRoot, `voip-f2b-${suite}-`));
  must('tar', ['-C', dir, '--numeric-owner', '-xf', tar]);
  // The built CLI (as packed: bin/, dist/, templates/, package.json) and this Node binary.
  const opt = path.join(dir, 'opt/voip-f2b-install');
  for (const p of ['bin', 'dist', 'templates', 'package.json']) cpSync(path.join(REPO, p), path.join(opt, p), { recursive: true });
  cpSync(process.execPath, path.join(dir, 'usr/local/bin/node'));
  writeFileSync(path.join(dir, 'etc/resolv.conf'), '');
  must('mount', ['-t', 'proc', 'proc', path.join(dir, 'proc')]);
  run('ip', ['netns', 'del', nsName]);
  must('ip', ['netns', 'add', nsName]);
  must('ip', ['-n', nsName, 'link', 'set', 'lo', 'up']);
  const x: Chroot['x'] = (cmd, args, o = {}) => run('ip', ['netns', 'exec', nsName, 'chroot', dir, '/usr/bin/env', '-i', ...Object.entries(ENV).map(([k, v]) => `${k}=${v}`), cmd, ...args], { timeoutMs: o.timeoutMs ?? 600_000, input: o.input });
  return {
    suite,
    dir,
    ns: nsName,
    x,
    cli: (args) => x('/usr/local/bin/node', ['/opt/voip-f2b-install/bin/voip-f2b-install.js', ...args]),
    inNs: (cmd, args) => run('ip', ['netns', 'exec', nsName, cmd, ...args]),
    destroy: async () => {
      const problems: string[] = [];
      // Every process whose root is this tree (fail2ban-server, …): stopped by PID.
      for (let round = 0; round < 2; round++) {
        for (const pid of processesIn(dir)) {
          try {
            process.kill(pid, round === 0 ? 'SIGTERM' : 'SIGKILL');
          } catch {}
        }
        for (let i = 0; i < 50 && processesIn(dir).length; i++) await new Promise((r) => setTimeout(r, 100));
      }
      if (processesIn(dir).length) problems.push(`processes left in ${dir}: ${processesIn(dir).join(' ')}`);
      const u = run('umount', [path.join(dir, 'proc')]);
      if (u.status !== 0) run('umount', ['-l', path.join(dir, 'proc')]);
      const d = run('ip', ['netns', 'del', nsName]);
      if (d.status !== 0) problems.push(`ip netns del ${nsName}: ${d.stderr.trim()}`);
      if (!isMounted(path.join(dir, 'proc'))) rmSync(dir, { recursive: true, force: true });
      else problems.push(`${dir}/proc still mounted: tree left in place`);
      return problems;
    },
  };
}

function isMounted(p: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === p);
}

/** PIDs of the processes whose root directory is `dir`. */
export function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/root`) === dir) out.push(Number(e));
    } catch {}
  }
  return out;
}

/** The host's firewall as text (iptables, ip6tables, nft, ipset), to compare before and after. */
export function hostFirewall(): string {
  const q = (cmd: string, args: string[]) => (existsSync(`/usr/sbin/${cmd}`) ? `${cmd}:\n${run(cmd, args).stdout}` : `${cmd}: absent`);
  return [q('iptables-save', []), q('ip6tables-save', []), q('nft', ['list', 'ruleset']), q('ipset', ['list'])].join('\n').replace(/^#.*(Generated|Completed) .*$/gm, '');
}

export const fileSize = (p: string): number => (existsSync(p) ? statSync(p).size : 0);
