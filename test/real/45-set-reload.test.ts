/**
 * Our Python actions survive `fail2ban-client reload` (what `systemctl reload fail2ban` and the
 * web view's whitelist change run), `reload <jail>` and a reload after a jail.local change, with
 * real fail2ban inside network namespaces this test makes (prefix TEST_NS_PREFIX, default `vrl`;
 * the host's firewall, fail2ban and /etc are never touched, the stock /etc/fail2ban is only read):
 *
 *   the jail `bench` runs our set action (nftables, or ipset + iptables) and the guard beside it;
 *   after each reload the banned address is still in the set, the rule still there, a NEW ban
 *   reaches the set, the guard's pause of before is still in force and a new failure is paused.
 *   A changed blocktype (set action) and changed ports (guard) swap the rules, keeping the bans
 *   and the pauses; an unchanged reload leaves the nftables tables as they were (same handles);
 *   a reload over a ban set another tool removed rebuilds it with every ban the jail holds.
 *
 * Before the fix, fail2ban (0.11 and 1.0: Actions.add/reload) re-created both actions on reload
 * and stopped the old ones as obsolete: the table, its bans and the guard's hook were gone.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/cli.ts';
import { inNftSet } from '../helpers/pbx-host.ts';
// @ts-expect-error: plain ESM helper shared with the bench (no type declarations)
import { ACTIONS, benchNetwork, privateFail2ban } from '../../scripts/bench/sets.mjs';

type X = (cmd: string, args: string[], input?: string) => { status: number; stdout: string; stderr: string };
interface Net {
  S: string;
  x: X;
  teardown: () => void;
}
interface F2b {
  conf: string;
  log: string;
  client: (args: string[]) => { status: number; stdout: string; stderr: string };
  start: () => void;
  stop: () => void;
}

const GUARD = readFileSync(path.join(REPO, 'templates/etc/fail2ban/action.d/voip-f2b-guard.py'), 'utf8');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let net: Net | null = null;
const dirs: string[] = [];
let running: F2b | null = null;

after(() => {
  try {
    running?.stop();
  } catch {}
  net?.teardown();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The view of one backend: its ban set, its rule, the guard's pause set, its rules. */
const BACKENDS = {
  nft: {
    file: 'voip-f2b-nftset.py',
    banned: (x: X, ip: string) => inNftSet(x('nft', ['list', 'set', 'inet', 'f2b-bench', 'a4']).stdout, ip),
    banRule: (x: X) => /ip saddr @a4 (drop|reject)/.exec(x('nft', ['list', 'chain', 'inet', 'f2b-bench', 'input']).stdout)?.[1] ?? null,
    paused: (x: X, ip: string) => inNftSet(x('nft', ['list', 'set', 'inet', 'f2bg-bench', 'p4']).stdout, ip),
    pauseRule: (x: X) => /ip saddr @p4 .*th dport (\{[^}]*\}|\S+) drop/.exec(x('nft', ['list', 'chain', 'inet', 'f2bg-bench', 'input']).stdout)?.[1] ?? null,
  },
  ipset: {
    file: 'voip-f2b-ipset.py',
    banned: (x: X, ip: string) => new RegExp(`^${ip.replace(/\./g, '\\.')}(\\s|$)`, 'm').test(x('ipset', ['list', 'f2b-bench4']).stdout),
    banRule: (x: X) => /-A INPUT -m set --match-set f2b-bench4 src -j (DROP|REJECT)/.exec(x('iptables', ['-w', '-S', 'INPUT']).stdout)?.[1]?.toLowerCase() ?? null,
    paused: (x: X, ip: string) => new RegExp(`^${ip.replace(/\./g, '\\.')} timeout`, 'm').test(x('ipset', ['list', 'f2bg-bench4']).stdout),
    pauseRule: (x: X) => {
      const ports = x('iptables', ['-w', '-S', 'INPUT']).stdout.split('\n').filter((l) => l.includes('f2bg-bench4')).map((l) => /--dports (\S+)/.exec(l)?.[1]);
      return ports.length === 2 && ports[0] === ports[1] ? ports[0]! : ports.length ? `${ports.length} rules: ${ports.join(' ')}` : null;
    },
  },
} as const;

function jailAction(file: string, backend: string, blocktype: string, ports: string): string {
  return `${file}[port=all, protocol=all, blocktype=${blocktype}]\n         voip-f2b-guard.py[port="${ports}", window=30, backend=${backend}]`;
}

async function until(what: string, check: () => boolean, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

for (const backend of ['nft', 'ipset'] as const) {
  test(`${backend}: bans and pauses survive reload, reload <jail>, a bantime change, a blocktype and a port change, a removed set, a bad value`, async () => {
    if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
    const b = BACKENDS[backend];
    net?.teardown();
    net = benchNetwork(process.env.TEST_NS_PREFIX ?? 'vrl') as Net;
    const n = net;
    const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-reload-'));
    dirs.push(dir);
    const action = (blocktype: string, ports: string) => ({
      file: b.file,
      jailAction: jailAction(b.file, backend, blocktype, ports),
      extraFiles: { 'action.d/voip-f2b-guard.py': GUARD },
    });
    const f: F2b = privateFail2ban(n, action('drop', '5060'), dir);
    running = f;
    f.start();
    const jailLocal = path.join(f.conf, 'jail.local');
    const tablesHandles = () => (backend === 'nft' ? n.x('nft', ['-a', 'list', 'tables']).stdout + n.x('nft', ['-a', 'list', 'table', 'inet', 'f2b-bench']).stdout.split('\n')[0] + n.x('nft', ['-a', 'list', 'table', 'inet', 'f2bg-bench']).stdout.split('\n')[0] : '');

    let k = 10;
    const bans: string[] = [];
    const pauses: string[] = [];
    /** Ban one more address and pause one more (a failure through `attempt`): both reach the firewall. */
    const banAndPause = async (when: string) => {
      const ip = `198.51.100.${k++}`;
      assert.equal(f.client(['set', 'bench', 'banip', ip]).status, 0);
      await until(`${ip} in the ban set (${when})`, () => b.banned(n.x, ip));
      bans.push(ip);
      const p = `203.0.113.${k++}`;
      assert.equal(f.client(['set', 'bench', 'attempt', p]).status, 0);
      await until(`${p} paused by the guard (${when})`, () => b.paused(n.x, p));
      pauses.push(p);
    };
    const allKept = (when: string, blocktype: string, ports: string) => {
      for (const ip of bans) assert.ok(b.banned(n.x, ip), `${ip} still banned in the set after ${when}`);
      assert.equal(b.banRule(n.x), blocktype, `the set's rule after ${when}`);
      for (const p of pauses) assert.ok(b.paused(n.x, p), `${p} still paused after ${when}`);
      assert.equal(b.pauseRule(n.x), ports, `the guard's rule after ${when}`);
    };

    await banAndPause('start');
    allKept('start', 'drop', '5060');
    const handles = tablesHandles();

    const t0 = Date.now();
    const r1 = f.client(['reload']);
    assert.equal(r1.status, 0, r1.stderr);
    console.log(`# ${backend}: fail2ban-client reload took ${Date.now() - t0} ms`);
    await sleep(500);
    allKept('reload', 'drop', '5060');
    assert.equal(tablesHandles(), handles, 'an unchanged reload leaves the tables as they were');
    await banAndPause('after reload');

    assert.equal(f.client(['reload', 'bench']).status, 0);
    await sleep(500);
    allKept('reload bench', 'drop', '5060');
    assert.equal(tablesHandles(), handles, 'an unchanged reload <jail> leaves the tables as they were');
    await banAndPause('after reload bench');

    writeFileSync(jailLocal, readFileSync(jailLocal, 'utf8').replace(/^bantime = 1d$/m, 'bantime = 2d'));
    assert.equal(f.client(['reload']).status, 0);
    assert.equal(f.client(['get', 'bench', 'bantime']).stdout.trim(), '172800', 'the new bantime applies');
    await sleep(500);
    allKept('a bantime change', 'drop', '5060');
    await banAndPause('after a bantime change');

    // Changed options: the set action's blocktype, the guard's ports: rules swapped, sets kept.
    writeFileSync(jailLocal, readFileSync(jailLocal, 'utf8').replace(/^action = [\s\S]*?\n(?=\S|$)/m, `action = ${jailAction(b.file, backend, 'reject', '5060,5061')}\n`));
    assert.equal(f.client(['reload']).status, 0);
    await sleep(500);
    allKept('a blocktype and port change', 'reject', backend === 'nft' ? '{ 5060, 5061 }' : '5060,5061');
    await banAndPause('after a blocktype and port change');

    // Another tool removed the ban set and its rule: a plain reload rebuilds it with every ban.
    if (backend === 'nft') n.x('nft', ['delete', 'table', 'inet', 'f2b-bench']);
    else {
      n.x('iptables', ['-w', '-D', 'INPUT', '-m', 'set', '--match-set', 'f2b-bench4', 'src', '-j', 'REJECT']);
      n.x('ipset', ['destroy', 'f2b-bench4']);
    }
    assert.equal(b.banRule(n.x), null, 'the rule is gone');
    assert.equal(f.client(['reload']).status, 0);
    await until('the bans back in the rebuilt set', () => bans.every((ip) => b.banned(n.x, ip)));
    allKept('a reload over a removed set', 'reject', backend === 'nft' ? '{ 5060, 5061 }' : '5060,5061');
    await banAndPause('after the set was rebuilt');

    const errors = readFileSync(f.log, 'utf8').split('\n').filter((l) => /ERROR/.test(l));
    assert.deepEqual(errors, [], 'no errors in fail2ban log');

    // A bad value in a reload: one error line naming it; the action keeps its options and bans.
    writeFileSync(jailLocal, readFileSync(jailLocal, 'utf8').replace('blocktype=reject', 'blocktype=bogus'));
    assert.equal(f.client(['reload']).status, 0);
    await sleep(500);
    allKept('a reload with a bad blocktype', 'reject', backend === 'nft' ? '{ 5060, 5061 }' : '5060,5061');
    assert.match(readFileSync(f.log, 'utf8'), /ERROR.*bench: reload: blocktype must be drop or reject, not 'bogus'; the current options stay/);
    await banAndPause('after a reload with a bad blocktype');
    f.stop();
    running = null;
    const left = n.x('nft', ['list', 'tables']).stdout + n.x('ipset', ['list', '-n']).stdout + n.x('iptables', ['-w', '-S', 'INPUT']).stdout.replace(/^-P INPUT ACCEPT\n?/m, '');
    assert.equal(left.replace(/^table ip6? filter\n?/gm, '').trim(), '', 'stop removes everything');
  });
}
