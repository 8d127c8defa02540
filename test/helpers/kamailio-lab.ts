/**
 * A real Kamailio for the real tests (50-kamailio-scanner, 50-kamailio-office): Debian 12's
 * package with its stock kamailio.cfg (WITH_AUTH, WITH_ANTIFLOOD, a db_text subscriber table) in
 * a --root tree, and in a server network namespace of its own (a bridge, one veth per peer) with
 * a mount namespace of its own (a private /dev with /dev/log, the tree's /var/log and /run): a
 * private rsyslogd, kamailio and fail2ban-server, the tree's configuration. Every process started
 * is stopped by its PID and the namespaces are deleted by close(). Addresses are the caller's
 * (documentation ranges only, on these links only).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from './cli.ts';
import { runInNamespace, sh, sleep, stopPid, waitFor } from './system.ts';
import { processAlive } from '../../src/adapters/facts.ts';

export const STOCK_KAMAILIO_CFG = path.join(REPO, 'test/fixtures/upstream/kamailio/kamailio.cfg');
/** The tool's state directory on the host: the lab's servers never write it (the guard's office state goes there). */
const HOST_STATE = '/var/lib/voip-f2b-install';

/** A started process's output so far. */
export const outputOf = (c: ChildProcess): string => (c as unknown as { output: string }).output;

export interface KamailioLab<P extends string> {
  /** The test's directory (fail2ban's log, socket and database, pid files) and the --root tree in it. */
  readonly tmp: string;
  readonly root: string;
  /** The holder of the server's mount namespace is alive (the setup got that far). */
  readonly up: boolean;
  ns(peer: P): string;
  /** A command inside the server's network and mount namespaces. */
  inServer(cmd: string, args: string[]): [string, string[]];
  serverSh(cmd: string, args: string[]): ReturnType<typeof sh>;
  /** fail2ban-client on the lab's server: the tree's configuration (never the host's) and socket. */
  f2b(...args: string[]): ReturnType<typeof sh>;
  kamLog(): string;
  /** The jail's banned list; fail2ban-client is retried (bounded) while the server is busy banning. */
  banned(jail: string): string[];
  /** Starts a long-running process; it is stopped by its PID in close(). */
  start(what: string, cmd: string, args: string[], o?: { cwd?: string }): ChildProcess;
  /** Runs a program in a peer's namespace to its end (bounded), or until its output matches `until`. */
  runIn(peer: P, cmd: string, args: string[], timeoutMs: number, cwd?: string, until?: RegExp): ReturnType<typeof runInNamespace>;
  /** 1. The --root tree, as an admin's server: stock files, the admin's local settings, `users` (name → password). */
  makeRoot(users: Record<string, string>): void;
  /** 2. The network and the server's mount namespace. */
  network(): Promise<void>;
  /** 3. rsyslogd (the tool's rule), kamailio, then (after `ready`) fail2ban-server with both Kamailio jails. */
  startServers(ready?: (kam: ChildProcess) => Promise<void>): Promise<{ kam: ChildProcess; f2bd: ChildProcess }>;
  close(): Promise<void>;
}

/** `prefix`: the namespaces' names (`<prefix>-srv`, `<prefix>-<peer>`); `server`: its address (/27). */
export function kamailioLab<P extends string>(prefix: string, server: string, peers: Record<P, string>): KamailioLab<P> {
  let tmp = '';
  let root = '';
  let holder: ChildProcess | null = null;
  const started: Array<{ what: string; child: ChildProcess }> = [];
  let namespaces: string[] = [];
  let hostState: boolean | null = null;
  const srv = `${prefix}-srv`;
  const ns = (p: P): string => `${prefix}-${p}`;
  const ip = (args: string[]): void => void sh('ip', args, { check: true, timeoutMs: 10000 });
  const inServer = (cmd: string, args: string[]): [string, string[]] => ['nsenter', ['-t', String(holder!.pid), '-m', '-n', cmd, ...args]];
  const f2b = (...args: string[]) => sh('fail2ban-client', ['-c', path.join(root, 'etc/fail2ban'), '-s', path.join(tmp, 'f2b.sock'), ...args], { timeoutMs: 30000 });

  const lab: KamailioLab<P> = {
    get tmp() {
      return tmp;
    },
    get root() {
      return root;
    },
    get up() {
      return Boolean(tmp && holder?.pid && processAlive(holder.pid));
    },
    ns,
    inServer,
    serverSh(cmd, args) {
      const [c, a] = inServer(cmd, args);
      return sh(c, a, { timeoutMs: 30000 });
    },
    f2b,
    kamLog: () => (existsSync(path.join(root, 'var/log/kamailio.log')) ? readFileSync(path.join(root, 'var/log/kamailio.log'), 'utf8') : ''),
    banned(jail) {
      for (let i = 0; i < 5; i++) {
        const r = f2b('status', jail);
        const m = /Banned IP list:\s*(.*)$/m.exec(r.stdout);
        if (r.status === 0 && m) return m[1]!.split(/\s+/).filter(Boolean);
        sh('sleep', ['1']);
      }
      const r = f2b('status', jail);
      throw new Error(`fail2ban-client status ${jail} failed (${r.status}): ${r.stderr}${r.stdout}`);
    },
    start(what, cmd, args, o = {}) {
      const child = spawn(cmd, args, { cwd: o.cwd ?? tmp, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      Object.defineProperty(child, 'output', { get: () => out });
      started.push({ what, child });
      return child;
    },
    runIn: (peer, cmd, args, timeoutMs, cwd = tmp, until) => runInNamespace(ns(peer), cmd, args, timeoutMs, cwd, until),
    makeRoot(users) {
      const taken = sh('ip', ['netns', 'list']).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n?.startsWith(`${prefix}-`));
      assert.deepEqual(taken, [], `no ${prefix}-* namespace is left from an earlier run`);
      tmp = mkdtempSync(path.join(tmpdir(), `voip-f2b-${prefix}-`));
      root = path.join(tmp, 'root');
      hostState = existsSync(HOST_STATE);
      for (const d of ['etc/kamailio', 'etc/rsyslog.d', 'var/log', 'var/lib', 'var/spool/rsyslog', 'run/kamailio', 'db']) mkdirSync(path.join(root, d), { recursive: true });
      copyFileSync('/etc/os-release', path.join(root, 'etc/os-release'));
      copyFileSync(STOCK_KAMAILIO_CFG, path.join(root, 'etc/kamailio/kamailio.cfg'));
      writeFileSync(
        path.join(root, 'etc/kamailio/kamailio-local.cfg'),
        `#!define WITH_AUTH\n#!define WITH_ANTIFLOOD\n#!define DBURL "text://${path.join(root, 'db')}"\nloadmodule "db_text.so"\n`,
      );
      copyFileSync('/usr/share/kamailio/dbtext/kamailio/version', path.join(root, 'db/version'));
      writeFileSync(
        path.join(root, 'db/subscriber'),
        'id(int,auto) username(string) domain(string) password(string) ha1(string) ha1b(string) \n' +
          Object.entries(users).map(([u, p], i) => `${i + 1}:${u}:${server}:${p}:-:-:\n`).join(''),
      );
      // fail2ban's own files, as the package installs them; nothing of ours, no jail.local.
      cpSync('/etc/fail2ban', path.join(root, 'etc/fail2ban'), { recursive: true });
      for (const f of ['jail.local', 'filter.d/voip-asterisk.conf', 'filter.d/voip-freeswitch.conf', 'filter.d/voip-kamailio.conf', 'action.d/voip-f2b-mail.conf', 'action.d/voip-f2b-guard.py']) {
        rmSync(path.join(root, 'etc/fail2ban', f), { force: true });
      }
      writeFileSync(
        path.join(root, 'etc/fail2ban/fail2ban.local'),
        `[Definition]\nlogtarget = ${tmp}/fail2ban.log\nsocket = ${tmp}/f2b.sock\npidfile = ${tmp}/f2b.pid\ndbfile = ${tmp}/f2b.sqlite3\n`,
      );
    },
    async network() {
      namespaces = [srv, ...(Object.keys(peers) as P[]).map(ns)];
      ip(['netns', 'add', srv]);
      ip(['-n', srv, 'link', 'add', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
      ip(['-n', srv, 'addr', 'add', `${server}/27`, 'dev', 'br0']);
      ip(['-n', srv, 'link', 'set', 'br0', 'up']);
      ip(['-n', srv, 'link', 'set', 'lo', 'up']);
      for (const [p, addr] of Object.entries(peers) as Array<[P, string]>) {
        ip(['netns', 'add', ns(p)]);
        ip(['-n', ns(p), 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `v-${p}`, 'netns', srv]);
        ip(['-n', srv, 'link', 'set', `v-${p}`, 'master', 'br0', 'up']);
        ip(['-n', ns(p), 'addr', 'add', `${addr}/27`, 'dev', 'eth0']);
        ip(['-n', ns(p), 'link', 'set', 'eth0', 'up']);
        ip(['-n', ns(p), 'link', 'set', 'lo', 'up']);
      }
      // The server side's mount namespace: its own /dev (with /dev/log), the tree's /var/log, /run
      // and /var/lib (the guard keeps its office state in /var/lib/voip-f2b-install).
      const script = [
        'set -e',
        'mkdir -p "$1/olddev"',
        'mount --bind /dev "$1/olddev"',
        `mount -t tmpfs -o mode=755 ${prefix}dev /dev`,
        'for n in null zero full random urandom tty; do touch /dev/$n; mount --bind "$1/olddev/$n" /dev/$n; done',
        `mkdir /dev/shm /dev/pts && mount -t tmpfs -o mode=1777 ${prefix}shm /dev/shm`,
        'ln -s /proc/self/fd /dev/fd',
        'umount "$1/olddev"',
        'mount --bind "$2/var/log" /var/log',
        'mount --bind "$2/run" /run',
        'mount --bind "$2/var/lib" /var/lib',
        'echo ready',
        'exec sleep 3600',
      ].join('\n');
      holder = spawn('ip', ['netns', 'exec', srv, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'holder', tmp, root], { stdio: ['ignore', 'pipe', 'pipe'] });
      let hout = '';
      holder.stdout!.on('data', (d: Buffer) => (hout += d.toString()));
      holder.stderr!.on('data', (d: Buffer) => (hout += d.toString()));
      assert.ok(await waitFor(() => hout.includes('ready') || holder!.exitCode !== null, 10000), 'the mount namespace is ready');
      assert.ok(hout.includes('ready'), `mount namespace: ${hout}`);
    },
    async startServers(ready) {
      writeFileSync(
        path.join(tmp, 'rsyslog.conf'),
        `module(load="imuxsock" SysSock.Name="/dev/log" SysSock.RateLimit.Interval="0")\nglobal(workDirectory="${root}/var/spool/rsyslog")\n$IncludeConfig ${root}/etc/rsyslog.d/*.conf\n`,
      );
      lab.start('rsyslogd', ...inServer('/usr/sbin/rsyslogd', ['-n', '-f', path.join(tmp, 'rsyslog.conf'), '-i', path.join(tmp, 'rsyslogd.pid')]));
      assert.ok(await waitFor(() => lab.serverSh('test', ['-S', '/dev/log']).status === 0, 10000), 'rsyslogd listens on the private /dev/log');
      const kam = lab.start('kamailio', ...inServer('/usr/sbin/kamailio', ['-DD', '-f', path.join(root, 'etc/kamailio/kamailio.cfg'), '-P', path.join(tmp, 'kamailio.pid'), '-m', '64', '-M', '8']), {
        cwd: path.join(root, 'etc/kamailio'),
      });
      await ready?.(kam);
      const f2bd = lab.start('fail2ban-server', ...inServer('/usr/bin/fail2ban-server', ['-f', '-x', '-c', path.join(root, 'etc/fail2ban')]));
      let running = false;
      for (let i = 0; i < 60 && !running; i++) {
        assert.equal(f2bd.exitCode, null, `fail2ban-server exited: ${outputOf(f2bd)}`);
        running = /voip-kamailio, voip-kamailio-pike/.test(f2b('status').stdout);
        if (!running) await sleep(500);
      }
      assert.ok(running, `fail2ban runs both jails: ${f2b('status').stdout}${outputOf(f2bd)}`);
      return { kam, f2bd };
    },
    async close() {
      const problems: string[] = [];
      for (const { what, child } of started.reverse()) {
        try {
          if (child.pid) await stopPid(child.pid);
        } catch (err) {
          problems.push(`stop ${what}: ${(err as Error).message}`);
        }
      }
      if (holder?.pid && processAlive(holder.pid)) await stopPid(holder.pid);
      for (const n of namespaces) {
        if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === n)) {
          const r = sh('ip', ['netns', 'del', n]);
          if (r.status !== 0) problems.push(`ip netns del ${n}: ${r.stderr}`);
        }
      }
      if (tmp) rmSync(tmp, { recursive: true, force: true });
      if (hostState === false && existsSync(HOST_STATE)) {
        rmSync(HOST_STATE, { recursive: true, force: true });
        problems.push(`the lab wrote the host's ${HOST_STATE} (removed): its servers must keep to the tree`);
      }
      if (problems.length) throw new Error(`cleanup: ${problems.join('\n')}`);
    },
  };
  return lab;
}
