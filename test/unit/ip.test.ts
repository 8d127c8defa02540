/**
 * src/core/ip.ts decides IP syntax without loading node:net, so it must decide exactly as
 * `net.isIP`: fixed cases that matter to a whitelist, then ~60,000 generated strings (valid and
 * near-valid IPv4, IPv6 with every kind of compression, embedded IPv4, zone ids, junk), each
 * compared with Node's answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { isIP, isIPv4, isIPv6 } from '../../src/core/ip.ts';

const FIXED = [
  '203.0.113.7', '198.51.100.0', '0.0.0.0', '255.255.255.255', '256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.04', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/24',
  '::', '::1', '1::', '2001:db8::1', '2001:DB8::1', '2001:db8:0:0:0:0:0:1', '2001:db8::0:1:2:3:4:5', '2001:db8:1:2:3:4:5:6:7', ':::', '1:::2', '::ffff:203.0.113.7',
  '::ffff:203.0.113.256', '64:ff9b::198.51.100.1', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%eth 0', '12345::', 'g::1', '', 'localhost', '203.0.113.7\n', '::1\n', '1.2.3.4%eth0',
];

function rand(n: number): number {
  return Math.floor(Math.random() * n);
}
const pick = <T>(a: T[]): T => a[rand(a.length)]!;
const seg4 = (): string => (rand(10) ? String(rand(256)) : pick([String(rand(1000)), `0${rand(10)}`, '', '00', '256', '-1', 'a']));
const seg6 = (): string => (rand(10) ? rand(0x10000).toString(16) : pick(['0000', '00000', 'g', '', rand(0x100000).toString(16)]));
function v4(): string {
  return Array.from({ length: rand(8) ? 4 : pick([3, 5]) }, seg4).join('.');
}
/** An IPv6 address, valid more often than not: 8 groups, or fewer around one `::`, maybe with IPv4 inside. */
function v6(): string {
  const tail4 = rand(4) === 0;
  const full = tail4 ? 6 : 8;
  const n = rand(3) ? rand(full) : full + pick([0, 0, 1, -1]);
  const groups = Array.from({ length: Math.max(0, n) }, seg6);
  let s: string;
  if (n < full || rand(8) === 0) {
    const at = rand(groups.length + 1);
    s = `${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}`;
  } else s = groups.join(':');
  if (tail4) s = s.endsWith(':') ? `${s}${v4()}` : `${s}:${v4()}`;
  if (rand(6) === 0) s = `${s}%${pick(['eth0', 'lo', '1', '', 'a b', 'x.y:z-1'])}`;
  return s;
}

test('isIP, isIPv4 and isIPv6 answer as net.isIP on fixed and ~60,000 generated strings', () => {
  const cases = [...FIXED];
  for (let i = 0; i < 20000; i++) cases.push(v4(), v6(), rand(2) ? v6().toUpperCase() : `${v4()}${pick(['', ' ', '/32', ':80', '.'])}`);
  let valid = 0;
  for (const s of cases) {
    assert.equal(isIP(s), net.isIP(s), JSON.stringify(s));
    assert.equal(isIPv4(s), net.isIPv4(s), JSON.stringify(s));
    assert.equal(isIPv6(s), net.isIPv6(s), JSON.stringify(s));
    if (net.isIP(s)) valid++;
  }
  console.log(`# ${valid} of ${cases.length} strings are addresses`);
  // Both kinds are well represented, so the agreement means something.
  assert.ok(valid > cases.length / 5 && valid < (cases.length * 4) / 5, `${valid} of ${cases.length} valid`);
});
