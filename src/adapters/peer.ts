import { promises as fsp } from 'node:fs';

/**
 * Who is at the other end of a loopback connection to the web view. On loopback every local
 * account and every SSH tunnel is 127.0.0.1, so the address says nothing: the kernel does. The
 * client's end of the connection is a line of /proc/net/tcp (or tcp6) whose local port is our
 * remote port and whose remote port is ours; it names the socket's owner (uid) and inode. The
 * process holding that inode (/proc/<pid>/fd/* → `socket:[inode]`, searched among the processes
 * of that uid only) gives the command; `sshd` there means an SSH port forward (a tunnel).
 */
export interface Peer {
  uid: number;
  user: string | null;
  pid: number | null;
  command: string | null;
  /** True when the connection was made by sshd: an SSH tunnel (`ssh -L`). */
  tunnel: boolean;
}

export interface ProcNetEntry {
  localPort: number;
  remotePort: number;
  state: number;
  uid: number;
  inode: number;
}

/** The lines of /proc/net/tcp or tcp6 (`sl local rem st … uid timeout inode …`), addresses left out. */
export function parseProcNetTcp(text: string): ProcNetEntry[] {
  const out: ProcNetEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const port = (a: string): number => parseInt(a.slice(a.lastIndexOf(':') + 1), 16);
    out.push({ localPort: port(f[1]!), remotePort: port(f[2]!), state: parseInt(f[3]!, 16), uid: Number(f[7]), inode: Number(f[9]) });
  }
  return out;
}

/** How many /proc/<pid>/fd entries a search reads at most (a busy host answers "uid N" only). */
const MAX_FDS = 20000;
/** TCP_ESTABLISHED in /proc/net/tcp. */
const ESTABLISHED = 1;

/**
 * The local client of the connection from `remotePort` to our `localPort`, or null when not
 * found. `findProcess: false` stops at the uid (one read of /proc/net/tcp): what the wrong-token
 * limit needs; the audit log asks for the process too.
 */
export async function loopbackPeer(remotePort: number, localPort: number, findProcess = true): Promise<Peer | null> {
  let entry: ProcNetEntry | undefined;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await fsp.readFile(f, 'utf8').catch(() => '');
    entry = parseProcNetTcp(text).find((e) => e.localPort === remotePort && e.remotePort === localPort && e.state === ESTABLISHED);
    if (entry) break;
  }
  if (!entry) return null;
  const proc = findProcess && entry.inode ? await socketOwner(entry.inode, entry.uid) : null;
  return { uid: entry.uid, user: findProcess ? await userName(entry.uid) : null, pid: proc?.pid ?? null, command: proc?.command ?? null, tunnel: /^sshd/.test(proc?.command ?? '') };
}

/** The process of `uid` that holds socket `inode`, with its command name. */
async function socketOwner(inode: number, uid: number): Promise<{ pid: number; command: string } | null> {
  const link = `socket:[${inode}]`;
  let budget = MAX_FDS;
  const pids = (await fsp.readdir('/proc').catch(() => [] as string[])).filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    const st = await fsp.stat(`/proc/${pid}`).catch(() => null);
    if (!st || st.uid !== uid) continue;
    const fds = await fsp.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      if (--budget < 0) return null;
      if ((await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === link) {
        const command = (await fsp.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        return { pid: Number(pid), command };
      }
    }
  }
  return null;
}

async function userName(uid: number): Promise<string | null> {
  const passwd = await fsp.readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length > 2 && Number(f[2]) === uid && f[2] !== '') return f[0]!;
  }
  return null;
}

/** One line for the audit log: `127.0.0.1 (SSH tunnel: sshd pid 812, uid 1000 alice)`. */
export function describePeer(address: string, peer: Peer | null): string {
  if (!peer) return address;
  const who = `uid ${peer.uid}${peer.user ? ` ${peer.user}` : ''}`;
  const proc = peer.pid !== null ? `${peer.command ?? '?'} pid ${peer.pid}` : null;
  if (peer.tunnel) return `${address} (SSH tunnel: ${proc}, ${who})`;
  return `${address} (local: ${who}${proc ? `, ${proc}` : ''})`;
}
