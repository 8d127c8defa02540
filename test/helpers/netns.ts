/**
 * Test network: a bridge in the host namespace holding the server's address, and one network
 * namespace per peer, each joined to the bridge by a veth pair. Only documentation addresses
 * (198.51.100.0/24) are used, only on these test links; no namespace has a route anywhere else,
 * so nothing leaves the machine.
 *
 *   host:  f2b-br0   198.51.100.1/24
 *   peers: f2b-<name> namespace, its end "eth0" at the peer's address; host end f2b-<name>-h
 *
 * TEST-NET-1 (192.0.2.0/24) is deliberately not used: a machine may use it for its own
 * uplink (CI sandboxes do), and taking the gateway's address would cut the machine off.
 * {@link assertRangeFree} refuses to start when the test range is already in use.
 */
import { sh } from './system.ts';

export const TEST_NET = '198.51.100.0/24';
export const SERVER_ADDR = '198.51.100.1';
export const BRIDGE = 'f2b-br0';

export interface Peer {
  /** Short name: the namespace is `f2b-<name>`. */
  name: string;
  addr: string;
}

export const nsName = (p: Peer): string => `f2b-${p.name}`;
const hostEnd = (p: Peer): string => `f2b-${p.name}-h`;

function ip(args: string[]): void {
  sh('ip', args, { check: true, timeoutMs: 10000 });
}

/** Refuses to build the network when the test range is already routed or addressed here. */
export function assertRangeFree(): void {
  const routes = sh('ip', ['-4', 'route', 'show', 'match', '198.51.100.1']).stdout.split('\n').filter((l) => l && !l.startsWith('default'));
  const addrs = sh('ip', ['-4', '-o', 'addr', 'show']).stdout.split('\n').filter((l) => / 198\.51\.100\./.test(l));
  if (routes.length || addrs.length) {
    throw new Error(`the test range ${TEST_NET} is already in use on this machine (${[...routes, ...addrs].join('; ')}); refusing to touch it`);
  }
}

/** Builds the bridge and one namespace per peer; call {@link teardownNetwork} in `after`. */
export function setupNetwork(peers: Peer[]): void {
  assertRangeFree();
  ip(['link', 'add', BRIDGE, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
  ip(['addr', 'add', `${SERVER_ADDR}/24`, 'dev', BRIDGE]);
  ip(['link', 'set', BRIDGE, 'up']);
  for (const p of peers) {
    const ns = nsName(p);
    ip(['netns', 'add', ns]);
    ip(['link', 'add', hostEnd(p), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    ip(['link', 'set', hostEnd(p), 'master', BRIDGE, 'up']);
    ip(['-n', ns, 'addr', 'add', `${p.addr}/24`, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
}

/** Removes what {@link setupNetwork} made (whatever part of it exists); never throws. */
export function teardownNetwork(peers: Peer[]): string[] {
  const problems: string[] = [];
  for (const p of peers) {
    // Deleting the namespace deletes its veth end, and with it the host end.
    if (sh('ip', ['netns', 'list']).stdout.split('\n').some((l) => l.split(' ')[0] === nsName(p))) {
      const r = sh('ip', ['netns', 'del', nsName(p)]);
      if (r.status !== 0) problems.push(`ip netns del ${nsName(p)}: ${r.stderr.trim()}`);
    }
    if (sh('ip', ['link', 'show', hostEnd(p)]).status === 0) sh('ip', ['link', 'del', hostEnd(p)]);
  }
  if (sh('ip', ['link', 'show', BRIDGE]).status === 0) {
    const r = sh('ip', ['link', 'del', BRIDGE]);
    if (r.status !== 0) problems.push(`ip link del ${BRIDGE}: ${r.stderr.trim()}`);
  }
  return problems;
}

/** The argument list that runs `cmd args…` inside the peer's namespace. */
export function inNamespace(p: Peer, cmd: string, args: string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', nsName(p), cmd, ...args]];
}
