import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWhitelist, parseWhitelistEntry, parseDuration, parseCount, parseBanaction, parseEmail } from '../../src/core/validate.ts';
import { UsageError } from '../../src/errors.ts';

test('whitelist accepts IPv4, IPv6, CIDR of either and DNS names', () => {
  assert.deepEqual(parseWhitelist('203.0.113.7,2001:DB8::1, 198.51.100.0/24 2001:db8::/32,pbx.example.com'), [
    '203.0.113.7',
    '2001:db8::1',
    '198.51.100.0/24',
    '2001:db8::/32',
    'pbx.example.com',
  ]);
  assert.deepEqual(parseWhitelist('203.0.113.7,203.0.113.7'), ['203.0.113.7'], 'deduplicated');
  assert.deepEqual(parseWhitelist(undefined), []);
});

for (const bad of ['1.2.3.4/33', '999.1.1.1', '1.2.3.4;reboot', '$(id)', '`id`', '2001:db8::/129', '1.2.3', '-rf', 'host_name.example', '10.0.0.1/', '/24', 'a|b', "x'y"]) {
  test(`whitelist rejects ${JSON.stringify(bad)} naming the entry and what is accepted`, () => {
    assert.throws(
      () => parseWhitelist(bad),
      (e: unknown) =>
        e instanceof UsageError &&
        e.exitCode === 2 &&
        e.message.startsWith(`invalid --whitelist entry '${bad}'`) &&
        e.message.includes('expected an IPv4 or IPv6 address, a CIDR range of either') &&
        !e.message.includes('\n'),
    );
  });
}

test('the error names the exact bad entry among good ones', () => {
  assert.throws(() => parseWhitelist('203.0.113.7,1.2.3.4;reboot'), /invalid --whitelist entry '1\.2\.3\.4;reboot'/);
  assert.equal(parseWhitelistEntry(' 203.0.113.9 '), '203.0.113.9');
});

test('durations, counts, banaction and mail addresses', () => {
  assert.equal(parseDuration('--bantime', '1h', true), '1h');
  assert.equal(parseDuration('--bantime', '-1', true), '-1');
  assert.equal(parseDuration('--findtime', '600', false), '600');
  assert.equal(parseDuration('--findtime', '1h30m', false), '1h30m');
  assert.throws(() => parseDuration('--findtime', '-1', false), /invalid --findtime '-1'/);
  assert.throws(() => parseDuration('--bantime', '0', true), /invalid --bantime '0'/);
  assert.throws(() => parseDuration('--bantime', '1h;id', true), /invalid --bantime/);
  assert.equal(parseCount('--maxretry', '5', 1, 1000), 5);
  assert.throws(() => parseCount('--maxretry', '0', 1, 1000), /from 1 to 1000/);
  assert.throws(() => parseCount('--maxretry', '3x', 1, 1000), /invalid --maxretry '3x'/);
  assert.equal(parseBanaction('nftables-multiport'), 'nftables-multiport');
  assert.throws(() => parseBanaction('../../x'), /invalid --banaction/);
  assert.throws(() => parseBanaction('a b'), /invalid --banaction/);
  assert.equal(parseEmail('--email', 'root@localhost'), 'root@localhost');
  assert.throws(() => parseEmail('--email', 'a@b;id'), /invalid --email 'a@b;id'/);
});

// Issue 20, hole 8: entries that switch protection off, or that fail2ban cannot parse.
for (const [bad, why] of [
  ['0.0.0.0/0', /covers every address: nothing would ever be banned/],
  ['::/0', /covers every address/],
  ['203.0.113.7/0', /covers every address/],
  ['0.0.0.0/1', /a \/1 covers too much of the Internet .*\/8 for IPv4, \/16 for IPv6/],
  ['128.0.0.0/7', /a \/7 covers too much/],
  ['2000::/3', /a \/3 covers too much/],
  ['2001::/15', /a \/15 covers too much/],
  ['fc00::/6', /a \/6 covers too much/],
  ['fe80::1%eth0', /an IPv6 zone ID \(%interface\) cannot be whitelisted: give the address without it/],
  ['fe80::%eth0/64', /zone ID/],
  ['fe80::1%25eth0', /zone ID/],
] as const) {
  test(`whitelist refuses ${bad}: ${why.source.slice(0, 30)}`, () => {
    assert.throws(
      () => parseWhitelist(`203.0.113.7,${bad}`),
      (e: unknown) => e instanceof UsageError && e.exitCode === 2 && e.message.startsWith(`invalid --whitelist entry '${bad}': `) && why.test(e.message) && !e.message.includes('\n'),
    );
  });
}

test('whitelist keeps wide ranges that are still one network: a /8, a /16, the private IPv6 ranges', () => {
  assert.deepEqual(parseWhitelist('10.0.0.0/8 172.16.0.0/12 2001:db8::/16 fc00::/7 fd00::/8 fe80::/10 0.0.0.0 ::'), [
    '10.0.0.0/8',
    '172.16.0.0/12',
    '2001:db8::/16',
    'fc00::/7',
    'fd00::/8',
    'fe80::/10',
    '0.0.0.0',
    '::',
  ]);
});
