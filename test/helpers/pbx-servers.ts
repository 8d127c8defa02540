/**
 * The two PBXes of the real tests, each running in its own PBX host (./pbx-host.ts) with the
 * real paths, as an admin runs it, before the CLI is run there:
 *
 *   - {@link asteriskHost}: the Asterisk 22 build of ../shared/asterisk (installed to /opt/asterisk
 *     by scripts/install-test-deps.sh), its example configuration at /etc/asterisk, the admin's
 *     logger.conf (messages only: no security channel), PJSIP accounts on UDP at the server's
 *     address;
 *   - {@link freeswitchHost}: the FreeSWITCH 1.10 build of ../shared/freeswitch (/opt/freeswitch)
 *     with its vanilla configuration and the minimal edits of the shared make-conf.sh (fixed IP,
 *     no IPv6 profiles, the built modules, the event socket on loopback), log-auth-failures as
 *     SHIPPED (false), its directory cut down to the given accounts; run as a packaged unit runs it
 *     (-conf/-log/-run …: /etc/freeswitch, /var/log/freeswitch, /run/freeswitch).
 *
 * Each is booted when it returns (asserted), with what the tests of it ask of it: its console,
 * fail2ban-client, the jail's bans, ban set and pause set, fail2ban's log, and the SIP client
 * (./sip-client.ts) run from a peer. `close()` stops the PBX (FreeSWITCH through its console)
 * and then everything of the host.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO } from './cli.ts';
import { inNftSet, makePbxHost, type PbxHost } from './pbx-host.ts';
import { waitFor } from './system.ts';
import type { SipRunOptions, SipRunResult } from './sip-client.ts';

export const AST = '/opt/asterisk/sbin/asterisk';
export const FS = '/opt/freeswitch/bin/freeswitch';
export const FS_CLI = '/opt/freeswitch/bin/fs_cli';
export const ASTERISK_SHARED = path.join(REPO, '..', 'shared', 'asterisk');
const VANILLA = existsSync('/opt/freeswitch/etc/freeswitch.vanilla') ? '/opt/freeswitch/etc/freeswitch.vanilla' : '/opt/freeswitch/etc/freeswitch';
const SIP_CLIENT = path.join(REPO, 'test/helpers/sip-client.ts');

type Exec = ReturnType<PbxHost['exec']>;

export interface PbxServer extends PbxHost {
  /** The server's address (without its length). */
  server: string;
  /** The tool's jail for this PBX: voip-asterisk or voip-freeswitch. */
  jail: string;
  /** The PBX process (started with the host's start(): stopped by its PID in close()). */
  pbx: ChildProcess & { output(): string };
  /** A command on the running PBX's console: `asterisk -rx` or `fs_cli -x`. */
  console(cmd: string): Exec;
  /** fail2ban-client in the server host. */
  f2b(...args: string[]): Exec;
  /** The addresses fail2ban holds banned in the jail. */
  banned(): string[];
  /** The firewall drops `addr` for the jail: a member of the set-based ban action's set (ipset or nftables). */
  inBanSet(addr: string): boolean;
  /** The guard holds `addr` paused (its nftables set, or its ipset). */
  paused(addr: string): boolean;
  /**
   * Waits (bounded) until the guard's pause of `addr`'s last failure has come and gone, as a phone
   * retrying later: the pause is set once fail2ban has read the failure, and lasts 2 s from then.
   */
  pastPause(addr: string): Promise<void>;
  /** fail2ban's log in the server host ('' when absent). */
  f2bLog(): string;
  /** fail2ban's last 20 lines about `addr` or the guard (for assertion messages). */
  f2bLines(addr: string): string;
  /** The SIP client (./sip-client.ts) run from a peer against the server, to its end (exit code 0 asserted). */
  sip(peer: string, o: Omit<SipRunOptions, 'server'>): Promise<SipRunResult>;
}

export interface PbxServerOptions {
  /** Namespace prefix (see makePbxHost). */
  prefix: string;
  /** The server's address, on a /24 with the peers. */
  server: string;
  /** Peer name → address. */
  peers: Record<string, string>;
  /** SIP accounts (id → password). */
  accounts: Record<string, string>;
}

/** `text` with `from` replaced; fails when `from` is not there (the vanilla file changed). */
export function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  assert.ok(typeof from === 'string' ? text.includes(from) : from.test(text), `${file}: ${String(from)} not found`);
  writeFileSync(file, text.replace(from, to));
}

function serverOf(host: PbxHost, server: string, jail: string, pbx: PbxServer['pbx'], console: (cmd: string) => Exec): PbxServer {
  const f2b = (...args: string[]): Exec => host.exec('fail2ban-client', args, { timeoutMs: 30000 });
  const f2bLog = (): string => host.read('/var/log/fail2ban.log') ?? '';
  const paused = (addr: string): boolean =>
    inNftSet(host.exec('nft', ['list', 'set', 'inet', `f2bg-${jail}`, 'p4']).stdout, addr) || host.exec('ipset', ['test', `f2bg-${jail}4`, addr]).status === 0;
  return {
    ...host,
    server,
    jail,
    pbx,
    console,
    f2b,
    banned: () => /Banned IP list:\s*(.*)$/m.exec(f2b('status', jail).stdout)?.[1]?.split(/\s+/).filter(Boolean) ?? [],
    inBanSet: (addr) => host.exec('ipset', ['test', `f2b-${jail}4`, addr]).status === 0 || inNftSet(host.exec('nft', ['list', 'set', 'inet', `f2b-${jail}`, 'a4']).stdout, addr),
    paused,
    async pastPause(addr) {
      await waitFor(() => paused(addr), 3000);
      assert.ok(await waitFor(() => !paused(addr), 10000), `${addr}: the guard's pause ended`);
    },
    f2bLog,
    f2bLines: (addr) => f2bLog().split('\n').filter((l) => l.includes(addr) || l.includes('guard')).slice(-20).join('\n'),
    async sip(peer, o) {
      const r = await host.peer(peer, process.execPath, ['--import', 'tsx', SIP_CLIENT, JSON.stringify({ server, ...o })], 15000 + (o.failures + 1) * o.timeoutMs);
      assert.equal(r.code, 0, `sip client in ${peer}: ${r.out}`);
      return JSON.parse(r.out) as SipRunResult;
    },
  };
}

/**
 * A running Asterisk 22 (PJSIP): `accounts` as endpoints on `transport-udp` at the server's
 * address. `templateDirectories`: asterisk.conf starts with a TEMPLATE `[directories](!)`
 * (astlogdir /var/log/not-asterisk) whose values Asterisk does not use, as the shipped file does.
 */
export async function asteriskHost(o: PbxServerOptions & { templateDirectories?: boolean }): Promise<PbxServer> {
  assert.ok(existsSync(AST), `${AST} is missing: run scripts/install-test-deps.sh`);
  assert.ok(existsSync(path.join(ASTERISK_SHARED, 'example-etc/pjsip.conf')), `${ASTERISK_SHARED} is missing (the shared folder beside the repository)`);
  const prepare = (etc: string, v: string): void => {
    const dir = path.join(etc, 'asterisk');
    cpSync(path.join(ASTERISK_SHARED, 'example-etc'), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'asterisk.conf'),
      [
        ...(o.templateDirectories ? ['[directories](!)', 'astlogdir => /var/log/not-asterisk', ''] : []),
        '[directories]',
        'astetcdir => /etc/asterisk',
        'astmoddir => /opt/asterisk/lib/asterisk/modules',
        'astvarlibdir => /opt/asterisk/var/lib/asterisk',
        'astdatadir => /opt/asterisk/var/lib/asterisk',
        'astkeydir => /opt/asterisk/var/lib/asterisk',
        'astagidir => /opt/asterisk/var/lib/asterisk/agi-bin',
        'astdbdir => /var/lib/asterisk',
        'astspooldir => /var/spool/asterisk',
        'astcachedir => /var/cache/asterisk',
        'astrundir => /var/run/asterisk',
        'astlogdir => /var/log/asterisk',
        'astsbindir => /opt/asterisk/sbin',
        '',
        '[options]',
        'verbose = 0',
        'documentation_language = en_US',
        '',
      ].join('\n'),
    );
    // The admin's logger.conf: messages only, no security channel, no dateformat.
    writeFileSync(path.join(dir, 'logger.conf'), '; my logger settings\n[general]\n\n[logfiles]\nmessages => notice,warning,error\n');
    const endpoints = Object.entries(o.accounts)
      .map(([id, pw]) => `[${id}]\ntype = endpoint\ncontext = internal\ndisallow = all\nallow = ulaw\nauth = ${id}-auth\naors = ${id}\ntransport = transport-udp\n\n[${id}-auth]\ntype = auth\nauth_type = userpass\nusername = ${id}\npassword = ${pw}\n\n[${id}]\ntype = aor\nmax_contacts = 5\nremove_existing = yes\n`)
      .join('\n');
    writeFileSync(path.join(dir, 'pjsip.conf'), `[global]\ntype = global\n\n[transport-udp]\ntype = transport\nprotocol = udp\nbind = ${o.server}:5060\n\n${endpoints}`);
    for (const d of ['log/asterisk', 'lib/asterisk', 'spool/asterisk', 'cache/asterisk']) mkdirSync(path.join(v, d), { recursive: true });
  };
  const host = await makePbxHost(o.prefix, `${o.server}/24`, o.peers, prepare);
  try {
    host.exec('mkdir', ['-p', '/var/run/asterisk']);
    const console = (cmd: string): Exec => host.exec(AST, ['-C', '/etc/asterisk/asterisk.conf', '-rx', cmd], { timeoutMs: 20000 });
    const ast = host.start('asterisk', AST, ['-C', '/etc/asterisk/asterisk.conf', '-f']);
    assert.ok(await waitFor(() => console('core waitfullybooted').stdout.includes('fully booted') || ast.exitCode !== null, 20000, 250), `Asterisk boots: ${ast.output()}`);
    assert.equal(ast.exitCode, null, ast.output());
    return serverOf(host, o.server, 'voip-asterisk', ast, console);
  } catch (err) {
    await host.close().catch(() => undefined);
    throw err;
  }
}

/**
 * A running FreeSWITCH 1.10 (mod_sofia), vanilla with make-conf.sh's minimal edits,
 * log-auth-failures as shipped; `accounts` are the directory's users (the others removed).
 * `prepare(etc, var)` may change the configuration further before it starts (it runs after the
 * edits; `etc/freeswitch` is the configuration).
 */
export async function freeswitchHost(o: PbxServerOptions & { prepare?: (etc: string, v: string) => void }): Promise<PbxServer> {
  for (const bin of [FS, FS_CLI]) assert.ok(existsSync(bin), `${bin} is missing: run scripts/install-test-deps.sh`);
  const prepare = (etc: string, v: string): void => {
    const c = path.join(etc, 'freeswitch');
    cpSync(VANILLA, c, { recursive: true });
    edit(path.join(c, 'vars.xml'), '<X-PRE-PROCESS cmd="set" data="default_password=1234"/>', `<X-PRE-PROCESS cmd="set" data="default_password=unused-not-1234"/>\n  <X-PRE-PROCESS cmd="set" data="local_ip_v4=${o.server}"/>`);
    edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_rtp_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_rtp_ip=${o.server}"`);
    edit(path.join(c, 'vars.xml'), 'cmd="stun-set" data="external_sip_ip=stun:stun.freeswitch.org"', `cmd="set" data="external_sip_ip=${o.server}"`);
    for (const f of ['internal-ipv6.xml', 'external-ipv6.xml', 'external-ipv6']) rmSync(path.join(c, 'sip_profiles', f), { recursive: true, force: true });
    assert.match(readFileSync(path.join(c, 'sip_profiles/internal.xml'), 'utf8'), /<param name="log-auth-failures" value="false"\/>/, 'log-auth-failures as shipped');
    const users = path.join(c, 'directory/default');
    for (const f of readdirSync(users)) if (!Object.keys(o.accounts).some((id) => f === `${id}.xml`)) rmSync(path.join(users, f), { recursive: true, force: true });
    for (const [id, pw] of Object.entries(o.accounts)) edit(path.join(users, `${id}.xml`), '<param name="password" value="$${default_password}"/>', `<param name="password" value="${pw}"/>`);
    const dir = path.join(c, 'directory/default.xml');
    writeFileSync(dir, readFileSync(dir, 'utf8').replace(/^.*<user id="([^"]+)" type="pointer"\/>.*\n/gm, (line, id: string) => (id in o.accounts ? line : '')));
    writeFileSync(
      path.join(c, 'autoload_configs/modules.conf.xml'),
      `<configuration name="modules.conf" description="Modules">\n  <modules>\n${['console', 'logfile', 'event_socket', 'sofia', 'loopback', 'commands', 'dptools', 'dialplan_xml'].map((m) => `    <load module="mod_${m}"/>\n`).join('')}  </modules>\n</configuration>\n`,
    );
    edit(path.join(c, 'autoload_configs/event_socket.conf.xml'), '<param name="listen-ip" value="::"/>', '<param name="listen-ip" value="127.0.0.1"/>');
    for (const d of ['log/freeswitch', 'lib/freeswitch/db', 'lib/freeswitch/storage', 'lib/freeswitch/recordings', 'cache/freeswitch']) mkdirSync(path.join(v, d), { recursive: true });
    o.prepare?.(etc, v);
  };
  const host = await makePbxHost(o.prefix, `${o.server}/24`, o.peers, prepare);
  const console = (cmd: string): Exec => host.exec(FS_CLI, ['-H', '127.0.0.1', '-P', '8021', '-x', cmd], { timeoutMs: 20000 });
  // FreeSWITCH first, through its console (it stops in ~5 s); the host's close() then stops what is left by PID.
  const close = async (): Promise<void> => {
    console('shutdown');
    await host.close();
  };
  try {
    host.exec('mkdir', ['-p', '/run/freeswitch']);
    // As a packaged unit runs it (-nf -nc: in the foreground, no console), with the real paths.
    const fs = host.start('freeswitch', FS, [
      '-nf', '-nc', '-nonat', '-lp',
      '-conf', '/etc/freeswitch', '-log', '/var/log/freeswitch', '-run', '/run/freeswitch', '-db', '/var/lib/freeswitch/db',
      '-storage', '/var/lib/freeswitch/storage', '-recordings', '/var/lib/freeswitch/recordings', '-cache', '/var/cache/freeswitch', '-temp', '/tmp',
    ]);
    assert.ok(await waitFor(() => /internal\s+profile\s+\S+\s+RUNNING/.test(console('sofia status').stdout) || fs.exitCode !== null, 30000, 250), `FreeSWITCH starts: ${fs.output()}`);
    assert.equal(fs.exitCode, null, fs.output());
    return { ...serverOf(host, o.server, 'voip-freeswitch', fs, console), close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
