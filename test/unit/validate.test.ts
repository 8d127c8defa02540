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
