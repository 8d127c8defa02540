/**
 * A whole PBX host for real tests, inside this machine and touching none of its files:
 *
 *   - a server network namespace with a bridge holding the server's address, and one network
 *     namespace per peer (attacker, phone, friend, …) joined to that bridge by a veth pair;
 *   - in the server namespace, a mount namespace (a `holder` process keeps it) where /etc and
 *     /var (and /usr) are overlays of the host's (writes land in the test's own upper directories, so the
 *     host's files never change) and /run is a private tmpfs: the PBX runs with its real paths
 *     (/etc/asterisk, /var/log/asterisk, /run/asterisk, …), and the built CLI runs LIVE there, as
 *     an admin runs it (no --root): it finds the running PBX, writes /etc/fail2ban, starts
 *     fail2ban through its init script (its socket and pid file in the private /run) and bans in
 *     the server namespace's own firewall.
 *
 * Addresses are the caller's, from 198.51.100.0/24 or 203.0.113.0/24, on these links only; no
 * namespace has a route anywhere else. Everything started is stopped by its PID in {@link close}
 * (fail2ban by the PID in its private pid file), and the namespaces and directories are removed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BIN, REPO, ensureBuilt, type CliResult } from './cli.ts';
import { runInNamespace, sh, stopPid, waitFor } from './system.ts';
import { processAlive } from '../../src/adapters/facts.ts';

export interface PbxHost {
  tmp: string;
  /** Upper directories of the overlays: what the host's /etc and /var gained (read them from outside). */
  etcUpper: string;
  varUpper: string;
  /** A command in the server's network and mount namespaces, to its end. */
  exec(cmd: string, args: string[], o?: { timeoutMs?: number; input?: string }): { status: number | null; stdout: string; stderr: string };
  /** The built CLI, live in the server host; no terminal, no SSH session. */
  cli(args: string[], o?: { env?: Record<string, string> }): CliResult;
  /** A file's text as the server host sees it (null when absent). */
  read(file: string): string | null;
  /** Starts a long-running program in the server host; stopped by its PID in close(). */
  start(what: string, cmd: string, args: string[]): ChildProcess & { output(): string };
  /**
   * Runs a program in a peer's namespace to its end (bounded), with its output and time; its
   * `stop()` ends it early (SIGTERM to that process), and so does its output matching `until`.
   */
  peer(name: string, cmd: string, args: string[], timeoutMs: number, cwd?: string, until?: RegExp): Promise<{ code: number | null; out: string; ms: number }> & { stop(): void };
  close(): Promise<void>;
}

const ipCmd = (args: string[]): void => void sh('ip', args, { check: true, timeoutMs: 10000 });

/** Directories the PBX host sees empty, whatever this machine has there. */
const FRESH_DIRS = [
  '/etc/asterisk',
  '/etc/freeswitch',
  '/var/log/asterisk',
  '/var/log/freeswitch',
  '/var/lib/asterisk',
  '/var/lib/fail2ban',
  '/var/spool/asterisk',
  '/var/cache/asterisk',
  '/var/backups/voip-f2b-install',
  '/var/cache/voip-f2b-install',
];

/** Marks an overlay upper directory opaque: the lower directory's entries are not shown through it. */
function opaque(dir: string): void {
  sh('/usr/bin/python3', ['-c', 'import os, sys; os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")', dir], { check: true });
}

/**
 * Builds the host: `prefix` names the namespaces (`<prefix>-srv`, `<prefix>-<peer>`; at most 15
 * characters for interface names), `server` is `addr/len` on the bridge, `peers` maps a short name
 * to its `addr`. `prepare(etcUpper, varUpper)` may fill the upper directories before the overlays
 * are mounted (the PBX's configuration).
 */
export async function makePbxHost(prefix: string, server: string, peers: Record<string, string>, prepare: (etcUpper: string, varUpper: string) => void): Promise<PbxHost> {
  ensureBuilt();
  const srv = `${prefix}-srv`;
  const taken = sh('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n?.startsWith(`${prefix}-`));
  if (taken.length) throw new Error(`namespaces left from an earlier run: ${taken.join(', ')}`);
  const tmp = mkdtempSync(path.join(tmpdir(), `voip-f2b-${prefix}-`));
  const etcUpper = path.join(tmp, 'etc.upper');
  const varUpper = path.join(tmp, 'var.upper');
  for (const d of [etcUpper, varUpper, path.join(tmp, 'etc.work'), path.join(tmp, 'var.work'), path.join(tmp, 'usr.upper'), path.join(tmp, 'usr.work')]) mkdirSync(d, { recursive: true });
  const namespaces: string[] = [];
  const started: Array<{ what: string; child: ChildProcess }> = [];
  let holder: ChildProcess | null = null;

  const close = async (): Promise<void> => {
    const problems: string[] = [];
    // Daemons the CLI started through their init scripts (fail2ban; cron, for the watch's entry):
    // by the PID in their private pid files.
    if (holder?.pid && processAlive(holder.pid)) {
      for (const [what, file] of [['fail2ban', '/run/fail2ban/fail2ban.pid'], ['cron', '/run/crond.pid']] as const) {
        const pid = Number.parseInt(exec('cat', [file]).stdout.trim(), 10);
        if (pid > 0 && processAlive(pid)) await stopPid(pid).catch((e: Error) => problems.push(`${what} ${pid}: ${e.message}`));
      }
    }
    for (const { what, child } of started.reverse()) {
      if (child.pid) await stopPid(child.pid).catch((e: Error) => problems.push(`stop ${what}: ${e.message}`));
    }
    if (holder?.pid && processAlive(holder.pid)) await stopPid(holder.pid);
    for (const n of namespaces.reverse()) {
      if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === n)) {
        const r = sh('ip', ['netns', 'del', n]);
        if (r.status !== 0) problems.push(`ip netns del ${n}: ${r.stderr}`);
      }
    }
    rmSync(tmp, { recursive: true, force: true });
    if (problems.length) throw new Error(`cleanup: ${problems.join('\n')}`);
  };

  const exec: PbxHost['exec'] = (cmd, args, o = {}) => {
    const r = spawnSync('nsenter', ['-t', String(holder!.pid), '-m', '-n', cmd, ...args], { encoding: 'utf8', cwd: '/', timeout: o.timeoutMs ?? 60000, input: o.input });
    return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };

  try {
    // 1. The network.
    ipCmd(['netns', 'add', srv]);
    namespaces.push(srv);
    ipCmd(['-n', srv, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    ipCmd(['-n', srv, 'addr', 'add', server, 'dev', 'br0']);
    ipCmd(['-n', srv, 'link', 'set', 'br0', 'up']);
    ipCmd(['-n', srv, 'link', 'set', 'lo', 'up']);
    const len = server.split('/')[1]!;
    for (const [name, addr] of Object.entries(peers)) {
      const ns = `${prefix}-${name}`;
      ipCmd(['netns', 'add', ns]);
      namespaces.push(ns);
      ipCmd(['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `v-${name}`, 'netns', srv]);
      ipCmd(['-n', srv, 'link', 'set', `v-${name}`, 'master', 'br0', 'up']);
      ipCmd(['-n', ns, 'addr', 'add', `${addr}/${len}`, 'dev', 'eth0']);
      ipCmd(['-n', ns, 'link', 'set', 'eth0', 'up']);
      ipCmd(['-n', ns, 'link', 'set', 'lo', 'up']);
    }

    // 2. The host's files: overlays of /etc, /var and /usr, a private /run (and /var/run with it).
    // What an earlier run on this machine left (a PBX's logs and configuration, fail2ban's
    // database, settings and log, the tool's journal) is hidden: the PBX host starts as a fresh one.
    for (const dir of FRESH_DIRS) {
      const upper = path.join(dir.startsWith('/etc/') ? etcUpper : varUpper, dir.replace(/^\/(etc|var)\//, ''));
      mkdirSync(upper, { recursive: true });
      opaque(upper);
    }
    for (const file of ['/etc/fail2ban/jail.local', '/etc/fail2ban/fail2ban.local', '/var/log/fail2ban.log']) {
      const upper = file.startsWith('/etc/') ? path.join(etcUpper, file.slice('/etc/'.length)) : path.join(varUpper, file.slice('/var/'.length));
      if (existsSync(file)) sh('mknod', [upper, 'c', '0', '0'], { check: true }); // a whiteout
    }
    prepare(etcUpper, varUpper);
    const script = [
      'set -e',
      `mount -t overlay voipf2b-etc -o "lowerdir=/etc,upperdir=$1/etc.upper,workdir=$1/etc.work" /etc`,
      `mount -t overlay voipf2b-var -o "lowerdir=/var,upperdir=$1/var.upper,workdir=$1/var.work" /var`,
      // /usr too: the watch's program copy (/usr/local/lib/voip-f2b-install) and a package the
      // tool installs here (cron, for the watch, where this machine has none; its dpkg records are
      // in /var) stay in the PBX host.
      `mount -t overlay voipf2b-usr -o "lowerdir=/usr,upperdir=$1/usr.upper,workdir=$1/usr.work" /usr`,
      'mount -t tmpfs -o mode=755 voipf2b-run /run',
      'mkdir -p /run/lock',
      'echo ready',
      'exec sleep 7200',
    ].join('\n');
    holder = spawn('ip', ['netns', 'exec', srv, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'holder', tmp], { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
    let hout = '';
    holder.stdout!.on('data', (d: Buffer) => (hout += d.toString()));
    holder.stderr!.on('data', (d: Buffer) => (hout += d.toString()));
    if (!(await waitFor(() => hout.includes('ready') || holder!.exitCode !== null, 10000)) || !hout.includes('ready')) {
      throw new Error(`the server host's mounts: ${hout}`);
    }
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }

  return {
    tmp,
    etcUpper,
    varUpper,
    exec,
    cli(args, o = {}) {
      const env = ['env', '-i', `PATH=${process.env.PATH}`, `HOME=/root`, ...Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v}`)];
      const r = spawnSync('nsenter', ['-t', String(holder!.pid), '-m', '-n', ...env, process.execPath, BIN, ...args], { encoding: 'utf8', cwd: '/', timeout: 600000, stdio: ['ignore', 'pipe', 'pipe'] });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    read(file) {
      const r = exec('cat', [file]);
      return r.status === 0 ? r.stdout : null;
    },
    start(what, cmd, args) {
      const child = spawn('nsenter', ['-t', String(holder!.pid), '-m', '-n', cmd, ...args], { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      started.push({ what, child });
      return Object.assign(child, { output: () => out });
    },
    peer: (name, cmd, args, timeoutMs, cwd = REPO, until) => runInNamespace(`${prefix}-${name}`, cmd, args, timeoutMs, cwd, until),
    close,
  };
}

/** A file under an overlay's upper directory, as the host wrote it there (null when absent). */
export function upperText(upper: string, file: string): string | null {
  const p = path.join(upper, file);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

/** `addr` is an element of the set `nft list set` printed (exactly: 203.0.113.2 is not 203.0.113.21). */
export function inNftSet(listing: string, addr: string): boolean {
  return new RegExp(`(?:^|[\\s{,])${addr.replace(/\./g, '\\.')}(?:[\\s},]|$)`, 'm').test(listing);
}
