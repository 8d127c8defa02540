/**
 * The peers of the real scanner tests, as they behave against any PBX in a PBX host
 * (test/helpers/pbx-host.ts): a phone (baresip, also in the Kamailio lab), a monitoring system
 * sending OPTIONS, and guessing spread over several addresses (svcrack, a few passwords each).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { PbxHost } from './pbx-host.ts';
import { sleep } from './system.ts';

/**
 * The cast of the scanner tests (52 against Asterisk, 53 against FreeSWITCH): the server's
 * address, each peer's (203.0.113.0/24, on the test's own links only), the PBX's accounts and
 * the weak password of the two the attackers guess at.
 */
export const SCANNER_CAST = (() => {
  const weak = 'letmein2024';
  return {
    server: '203.0.113.1',
    peers: {
      atk: '203.0.113.2', // svcrack, 10 runs (unbanned by the CLI between runs)
      pho: '203.0.113.3', // baresip with one typo
      fri: '203.0.113.4', // whitelisted
      mon: '203.0.113.5', // a monitoring system: OPTIONS every 2 s
      one: '203.0.113.6', // banned, unbanned by hand, then one more wrong password
      d1: '203.0.113.11', // five addresses, three guesses each, on one account
      d2: '203.0.113.12',
      d3: '203.0.113.13',
      d4: '203.0.113.14',
      d5: '203.0.113.15',
      r1: '203.0.113.21', // npm run bench only: svcrack against the jail without its guard, one address a run
      r2: '203.0.113.22',
      r3: '203.0.113.23',
    },
    accounts: { '1001': weak, '1002': 'phone-Pass-2026', '1003': weak, '1004': 'friend-Pass-2026', '1005': 'one-Pass-2026' } as Record<string, string>,
    weak,
  } as const;
})();

/**
 * baresip's line for the final answer to its REGISTER (`reg: sip:…: 401 Unauthorized (…)`, `…
 * {0/UDP/v4} 200 OK (…)`). A phone whose burst the guard paused gets no answer to its resends
 * until the pause ends, so a fixed run time (it was 3 s) could end before any answer came.
 */
const REGISTERED_OR_REFUSED = / [2-6]\d\d [^\n]*\n/;

/**
 * baresip registering `user` at `server` from the peer `peer` (listening on `addr`): `register(pw)`
 * runs it with that password until the server's final answer (at least 3 s, at most 20 s) and
 * returns its output; `stay(pw, seconds)` leaves it running (registered) for `seconds`, its
 * `stop()` ends it (it unregisters when it quits).
 */
export function baresipPhone(
  host: Pick<PbxHost, 'tmp' | 'peer'>,
  peer: string,
  addr: string,
  server: string,
  user: string,
): { register(password: string): Promise<string>; stay(password: string, seconds: number): ReturnType<PbxHost['peer']> } {
  const dir = path.join(host.tmp, `baresip-${peer}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config'), `module_path\t/usr/lib/baresip/modules\nsip_listen\t${addr}:5060\nsip_trans_def\tudp\nmodule\tg711.so\nmodule_app\taccount.so\n`);
  writeFileSync(path.join(dir, 'contacts'), '');
  return {
    async register(password) {
      writeFileSync(path.join(dir, 'accounts'), `<sip:${user}@${server}>;auth_pass=${password};regint=600\n`);
      const t0 = Date.now();
      const { out } = await host.peer(peer, '/usr/bin/baresip', ['-f', dir, '-t', '20'], 30000, undefined, REGISTERED_OR_REFUSED);
      // At least 3 s a run, as before: the next run right after a typo's burst (15-16 REGISTERs)
      // would be a flood to Kamailio's stock pike (16 requests per 2 s), not a phone restarted.
      await sleep(3000 - (Date.now() - t0));
      return out;
    },
    stay(password, seconds) {
      writeFileSync(path.join(dir, 'accounts'), `<sip:${user}@${server}>;auth_pass=${password};regint=600\n`);
      return host.peer(peer, '/usr/bin/baresip', ['-f', dir, '-t', String(seconds)], (seconds + 60) * 1000);
    },
  };
}

/** A monitoring system at `addr` sending `count` OPTIONS, one every 2 s; how many were answered. */
export async function optionsPings(host: PbxHost, peer: string, addr: string, server: string, count: number): Promise<number> {
  const ping = `const d=require('node:dgram');const s=d.createSocket('udp4');let n=0,got=0;s.on('message',()=>got++);const m=(i)=>Buffer.from('OPTIONS sip:${server} SIP/2.0\\r\\nVia: SIP/2.0/UDP ${addr}:5070;branch=z9hG4bKmon'+i+';rport\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:nagios@${addr}>;tag=m'+i+'\\r\\nTo: <sip:${server}>\\r\\nCall-ID: mon'+i+'\\r\\nCSeq: 1 OPTIONS\\r\\nContent-Length: 0\\r\\n\\r\\n');s.bind(5070,()=>{const t=setInterval(()=>{if(n>=${count}){clearInterval(t);setTimeout(()=>{console.log(got);s.close();},1500);return;}s.send(m(n++),5060,'${server}');},2000);});`;
  const r = await host.peer(peer, process.execPath, ['-e', ping], count * 2000 + 20000);
  if (r.code !== 0) throw new Error(`OPTIONS pinger: ${r.out}`);
  return Number(r.out.trim());
}

/**
 * svcrack from each of `peers` in turn, 3 passwords each from `list` (the right one last in it):
 * the peers whose svcrack found the password.
 */
export async function spreadGuesses(host: PbxHost, peers: string[], server: string, account: string, list: string[], password: string): Promise<string[]> {
  const found: string[] = [];
  for (const [i, p] of peers.entries()) {
    const words = path.join(host.tmp, `spread-${p}.txt`);
    writeFileSync(words, `${list.slice(i * 3, i * 3 + 3).join('\n')}\n`);
    const r = await host.peer(p, '/usr/bin/svcrack', ['-u', account, '-d', words, '--maximumtime', '3', server], 30000);
    if (r.out.includes(password)) found.push(p);
  }
  return found;
}
