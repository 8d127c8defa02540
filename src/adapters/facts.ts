import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import type { Context } from '../context.ts';
import type { Command, RunResult } from '../core/command.ts';
import { adminAddressFromEnv, type FirewallFacts, type HostFacts, type InitSystem, type ServiceFacts } from '../core/facts.ts';
import { parseOsRelease } from '../core/os-release.ts';
import { parseDpkgStatus, upstreamVersion } from '../core/packages.ts';
import { WEB_CGROUP_PROCS, WEB_PIDFILE } from '../core/web-service.ts';
import { pbxDistroOf, pbxMarkerPaths, type PbxDistro } from '../core/pbx-distro.ts';
import { JAIL_DIR, type ConfigText } from '../core/pbx-distro-jails.ts';
import type { PbxFacts } from '../core/facts.ts';
import { factsOf, type HostProbe } from '../core/probe.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import { backupPath, readManifest } from './manifest.ts';

export type { Fail2banFacts, FirewallFacts, HostFacts, InitSystem, ServiceFacts } from '../core/facts.ts';
export { adminAddressFromEnv } from '../core/facts.ts';

const APT_LISTS_MAX_AGE_MS = 24 * 3600 * 1000;
export const DPKG_STATUS = '/var/lib/dpkg/status';

const dpkgCache = new WeakMap<Context, Promise<string | null>>();
/**
 * Which of `names` are installed → their versions, from dpkg's status file (read once per run);
 * null without dpkg. The file (~750 KB on a small server) is kept as latin1 text (a byte copy,
 * no decoding), searched for the names' `Package:` lines, and only those stanzas are parsed
 * (parseDpkgStatus): decoding and parsing the whole file took a no-op re-run longer than reading it.
 */
export async function dpkgInstalled(ctx: Context, names: readonly string[]): Promise<Map<string, string> | null> {
  let p = dpkgCache.get(ctx);
  if (!p) {
    p = ctx.fs.readBytes(DPKG_STATUS).then((b) => (b === null ? null : b.toString('latin1')));
    dpkgCache.set(ctx, p);
  }
  const text = await p;
  if (text === null) return null;
  return parseDpkgStatus(dpkgStanzasOf(text, names));
}

/**
 * The stanzas of dpkg's status file (as latin1 text) that start with `Package: <one of names>`
 * (dpkg writes that field first), in the file's order. One expression over every `Package:`
 * line: searching the bytes once per name (and again for a second stanza of it) cost a no-op
 * re-run ~2.5 ms.
 */
export function dpkgStanzasOf(text: string, names: readonly string[]): string {
  const want = new Set(names);
  if (want.size === 0) return '';
  const parts: string[] = [];
  const line = /^Package: ([^\n]*)\n/gm;
  for (let m = line.exec(text); m; m = line.exec(text)) {
    if (!want.has(m[1]!)) continue;
    const end = text.indexOf('\n\n', m.index);
    parts.push(text.slice(m.index, end < 0 ? text.length : end));
    if (end < 0) break;
    line.lastIndex = end;
  }
  return parts.join('\n\n');
}

/**
 * The iptables variant from the chain of links behind the iptables binary (Debian:
 * /usr/sbin/iptables → /etc/alternatives/iptables → /usr/sbin/iptables-nft or -legacy), read
 * under the root: a file fact, not an `iptables -V` process. null when the names do not say.
 */
async function iptablesVariantFromLinks(ctx: Context, bin: string): Promise<FirewallFacts['iptablesVariant']> {
  let p = bin;
  for (let hop = 0; hop < 8; hop++) {
    if (/nft/.test(path.posix.basename(p))) return 'nf_tables';
    if (/legacy/.test(path.posix.basename(p))) return 'legacy';
    const target = readLinkOrNull(path.join(ctx.root, p));
    if (target === null) return null;
    p = path.posix.resolve(path.posix.dirname(p), target);
  }
  return null;
}

/** A link's target, or null when the path is not a link (or is absent). */
function readLinkOrNull(p: string): string | null {
  try {
    return readlinkSync(p);
  } catch {
    return null;
  }
}

async function firstExisting(ctx: Context, paths: string[]): Promise<string | null> {
  for (const p of paths) if (await ctx.fs.exists(p)) return p;
  return null;
}

/**
 * True when `pid` is a live process. A zombie (exited, not yet reaped: common in containers
 * whose PID 1 is no init) is not: /proc/<pid>/stat says state Z.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** fail2ban's version: from dpkg's status file, else its Python package, else (live, `ask`) `fail2ban-client --version`. */
export async function fail2banVersion(ctx: Context, ask = true): Promise<string | null> {
  const fromDpkg = (await dpkgInstalled(ctx, ['fail2ban']))?.get('fail2ban');
  if (fromDpkg) return upstreamVersion(fromDpkg);
  const pyDirs = ['/usr/lib/python3/dist-packages', ...(await ctx.fs.list('/usr/lib')).filter((d) => /^python3\.\d+$/.test(d)).map((d) => `/usr/lib/${d}/site-packages`)];
  for (const d of pyDirs) {
    const v = /version\s*=\s*["']([\d.]+)/.exec((await ctx.fs.readText(`${d}/fail2ban/version.py`)) ?? '')?.[1];
    if (v) return v;
  }
  if (!ctx.live || !ask) return null;
  return /v?(\d+\.\d+(?:\.\d+)?)/.exec((await ctx.run({ cmd: 'fail2ban-client', args: ['--version'], timeoutMs: 15000 })).stdout)?.[1] ?? null;
}

async function pidAlive(ctx: Context, pidFiles: string[]): Promise<boolean> {
  return (await livePid(ctx, pidFiles)) !== null;
}

/** The live process named in the first of `pidFiles` that names one (live host only). */
async function livePid(ctx: Context, pidFiles: string[]): Promise<number | null> {
  if (!ctx.live) return null;
  for (const f of pidFiles) {
    const pid = Number.parseInt((await ctx.fs.readText(f))?.trim() ?? '', 10);
    if (pid > 0 && processAlive(pid)) return pid;
  }
  return null;
}

/**
 * The program a running service was started from (/proc/<pid>/exe), to reach its console with
 * the same build: only when its name is `name` and it is root's and writable by root alone (we
 * run it as root). null otherwise; callers then say why they did not run it.
 */
export function trustedProgram(pid: number, name: string): string | null {
  try {
    const exe = readlinkSync(`/proc/${pid}/exe`);
    return path.posix.basename(exe) === name ? rootsAlone(exe) : null;
  } catch {
    return null;
  }
}

/** `file` when it and every directory above it are root's and writable by root alone; else null. */
export function rootsAlone(file: string): string | null {
  if (!path.posix.isAbsolute(file)) return null;
  try {
    for (let p = file; p !== '/'; p = path.posix.dirname(p)) {
      const st = lstatSync(p);
      if (st.uid !== 0 || (st.mode & 0o022) !== 0 || (p === file && !st.isFile())) return null;
    }
    return file;
  } catch {
    return null;
  }
}

/** A live process's command line (its arguments; [] when unreadable). */
function processArgs(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** The host as a service module's probe may ask it (src/core/probe.ts): the context's fs, live processes. */
export function hostProbe(ctx: Context): HostProbe {
  return {
    live: ctx.live,
    read: (p) => ctx.fs.readText(p),
    exists: (p) => ctx.fs.exists(p),
    firstExisting: (paths) => firstExisting(ctx, [...paths]),
    list: (dir) => ctx.fs.list(dir),
    livePid: (pidFiles) => livePid(ctx, [...pidFiles]),
    commandLine: async (pid) => processArgs(pid),
    program: async (pid, name) => trustedProgram(pid, name),
    rootsAlone: async (file) => rootsAlone(file),
  };
}

/** Each registered service module's facts, by its name: its own probe of its own paths. */
async function serviceFacts(ctx: Context): Promise<ServiceFacts> {
  const p = hostProbe(ctx);
  const services: ServiceFacts = {};
  for (const m of SERVICE_MODULES) if (m.probe) services[m.name] = await m.probe(p);
  return services;
}

/**
 * The PBX distribution (its marker files, else what a service's own files tell: `hint`),
 * fail2ban's jail files, and where jail.local's text from before the tool's first run is (the
 * manifest says whether it existed and keeps its backup).
 */
export async function pbxFacts(ctx: Context, hint: PbxDistro | null): Promise<PbxFacts> {
  const present = new Set<string>();
  for (const p of pbxMarkerPaths()) if (await ctx.fs.exists(p)) present.add(p);
  const f2b = '/etc/fail2ban';
  const fail2banFiles = await fail2banJailFilePaths(ctx);
  // A manifest that cannot be read (install reports it itself) leaves jail.local as the original.
  const manifest = await readManifest(ctx.fs).then((m) => m.manifest, () => null);
  const entry = manifest?.files.find((x) => x.path === `${f2b}/jail.local`);
  const jailLocalOriginal = !entry ? `${f2b}/jail.local` : entry.existed ? (entry.backup ?? backupPath(`${f2b}/jail.local`)) : null;
  return { distro: pbxDistroOf(present, hint), fail2banFiles, jailLocalOriginal };
}

/** The first distribution a registered module's facts tell (its distroHint), or null. */
function distroHint(facts: Pick<HostFacts, 'services'>): PbxDistro | null {
  for (const m of SERVICE_MODULES) {
    if (!m.distroHint || !(m.name in facts.services)) continue;
    const d = m.distroHint(factsOf(m, facts));
    if (d) return d;
  }
  return null;
}

/** fail2ban's jail files (jail.conf, jail.local, jail.d/*.conf|.local) and its paths-*.conf, sorted. */
export async function fail2banJailFilePaths(ctx: Context): Promise<string[]> {
  const f2b = '/etc/fail2ban';
  return [
    ...(await ctx.fs.list(f2b).catch(() => [] as string[])).filter((n) => /^(?:jail\.(?:conf|local)|paths-[\w-]+\.conf)$/.test(n)).map((n) => `${f2b}/${n}`),
    ...(await ctx.fs.list(JAIL_DIR).catch(() => [] as string[])).filter((n) => /\.(?:conf|local)$/.test(n)).map((n) => `${JAIL_DIR}/${n}`),
  ].sort();
}

/**
 * Those files' text, to compose the jails as fail2ban does (existingJails). A file the safe reader
 * refuses (a link a service account planted) is left out: what reads it for real says why.
 */
export async function fail2banJailFiles(ctx: Context): Promise<ConfigText[]> {
  const out: ConfigText[] = [];
  for (const path of await fail2banJailFilePaths(ctx)) {
    const text = await ctx.fs.readText(path).catch(() => null);
    if (text !== null) out.push({ path, text });
  }
  return out;
}

/**
 * Reads the facts the plan needs. On the live host it asks a few commands (bounded); under
 * --root it only reads files below the root and assumes no service runs.
 */
export async function gatherFacts(ctx: Context): Promise<HostFacts> {
  const live = ctx.live;
  const run = async (c: Command): Promise<RunResult> =>
    live ? ctx.run({ timeoutMs: 15000, ...c }) : { exitCode: 127, stdout: '', stderr: '', notFound: true };

  const osText = (await ctx.fs.readText('/etc/os-release')) ?? (await ctx.fs.readText('/usr/lib/os-release')) ?? '';
  const os = parseOsRelease(osText);

  // 1. Init system: systemd only counts when it is running (PID 1), not when merely installed.
  let init: InitSystem = 'none';
  if (await ctx.fs.exists('/run/systemd/system')) init = 'systemd';
  else if (await ctx.fs.exists('/run/openrc')) init = 'openrc';
  else if (live && (await ctx.fs.exists('/etc/init.d/fail2ban') || (await ctx.fs.exists('/usr/sbin/service')))) init = 'sysv';
  // Under --root (an image being built) nothing runs yet: an image with systemd will run journald.
  const journald = live
    ? await ctx.fs.exists('/run/systemd/journal/socket')
    : (await firstExisting(ctx, ['/lib/systemd/systemd-journald', '/usr/lib/systemd/systemd-journald'])) !== null;
  const rsyslog = live
    ? (await pidAlive(ctx, ['/run/rsyslogd.pid', '/var/run/rsyslogd.pid'])) && (await ctx.fs.exists('/etc/rsyslog.d'))
    : false;

  // 2. Firewall tools.
  const binExists = async (name: string): Promise<boolean> =>
    (await firstExisting(ctx, [`/usr/sbin/${name}`, `/sbin/${name}`, `/usr/bin/${name}`])) !== null;
  const iptablesBin = await firstExisting(ctx, ['/usr/sbin/iptables', '/sbin/iptables', '/usr/bin/iptables']);
  const iptables = iptablesBin !== null;
  const iptablesVariant = iptablesBin ? await iptablesVariantFromLinks(ctx, iptablesBin) : null;
  const nft = await binExists('nft');
  const firewalld = live && (await binExists('firewall-cmd')) && (await run({ cmd: 'firewall-cmd', args: ['--state'] })).stdout.trim() === 'running';

  // 3. fail2ban itself: version from dpkg's status file, else its Python package; running from
  // its pid file (no processes: a no-op re-run must stay fast).
  const f2bInstalled = await binExists('fail2ban-client');
  const version = f2bInstalled ? await fail2banVersion(ctx) : null;
  const running = f2bInstalled && (await pidAlive(ctx, ['/run/fail2ban/fail2ban.pid', '/var/run/fail2ban/fail2ban.pid']));

  // 4. apt lists: fresh when an index was fetched within a day (skips `apt-get update`).
  let aptListsFresh = false;
  for (const name of await ctx.fs.list('/var/lib/apt/lists')) {
    if (!/_(Packages|InRelease|Release)(\.\w+)?$/.test(name)) continue;
    const st = await ctx.fs.stat(`/var/lib/apt/lists/${name}`);
    if (st && ctx.now().getTime() - st.mtimeMs < APT_LISTS_MAX_AGE_MS && /Packages/.test(name)) aptListsFresh = true;
  }

  // 5. The services: each module probes its own paths.
  const services = await serviceFacts(ctx);

  return {
    live,
    os,
    init,
    journald,
    rsyslog,
    firewall: { iptables, iptablesVariant, nft, firewalld },
    fail2ban: { installed: f2bInstalled, version, running },
    aptListsFresh,
    adminAddress: adminAddressFromEnv(ctx.env),
    authLogExists: (await firstExisting(ctx, ['/var/log/auth.log', '/var/log/secure'])) !== null,
    services,
    postfix: {
      installed: await binExists('postfix'),
      running: await pidAlive(ctx, ['/var/spool/postfix/pid/master.pid']),
    },
    initScripts: await ctx.fs.list('/etc/init.d'),
    webView: {
      running:
        init === 'systemd'
          ? live && ((await ctx.fs.readText(WEB_CGROUP_PROCS)) ?? '').trim() !== ''
          : await pidAlive(ctx, [WEB_PIDFILE]),
    },
    pbx: await pbxFacts(ctx, distroHint({ services })),
    mailname: ((await ctx.fs.readText('/etc/mailname')) ?? (await ctx.fs.readText('/etc/hostname')) ?? 'localhost').trim().split(/\s+/)[0] || 'localhost',
  };
}
