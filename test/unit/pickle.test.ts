/**
 * The strict pickle decoder for fail2ban's socket answers, checked against Python's own pickle
 * module (the one fail2ban uses): what Python writes in every protocol we decode to the same data;
 * what we write Python reads as the command; anything that would run code is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { decodePickle, encodeCommand, PickledException, PickleError } from '../../src/core/pickle.ts';

/** Runs Python; `code` prints one hex pickle per line. */
function py(code: string, input?: string): string[] {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8', input, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONPATH: '/usr/lib/python3/dist-packages' } });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

const VALUES = `[
  (0, [('Number of jail', 2), ('Jail list', 'voip-asterisk, voip-freeswitch')]),
  (0, 'pong'),
  (0, ['203.0.113.5', '198.51.100.7']),
  (0, {'a': [1, 2], 'b': {'c': None}}),
  [None, True, False, 1.5, -7, 0, 255, 65535, 70000, -2**31, 2**40, -2**40, 'é' * 300, 'x' * 70000, (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4)],
]`;

test('answers Python pickles in protocols 2-5 decode to the same data (tuples as arrays)', () => {
  const expected = [
    [0, [['Number of jail', 2], ['Jail list', 'voip-asterisk, voip-freeswitch']]],
    [0, 'pong'],
    [0, ['203.0.113.5', '198.51.100.7']],
    [0, { a: [1, 2], b: { c: null } }],
    [null, true, false, 1.5, -7, 0, 255, 65535, 70000, -(2 ** 31), 2 ** 40, -(2 ** 40), 'é'.repeat(300), 'x'.repeat(70000), [], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]],
  ];
  // fail2ban answers in its Python's highest protocol (5); its client sends 2 or higher.
  for (let proto = 2; proto <= 5; proto++) {
    const hex = py(`import pickle\nfor v in ${VALUES}: print(pickle.dumps(v, ${proto}).hex())`);
    assert.equal(hex.length, expected.length);
    hex.forEach((h, k) => assert.deepEqual(decodePickle(Buffer.from(h, 'hex')), expected[k], `protocol ${proto}, value ${k}`));
  }
  // Protocol 0's text opcodes are not part of it: refused, not guessed.
  const [text] = py(`import pickle\nprint(pickle.dumps((0, 'pong'), 0).hex())`);
  assert.throws(() => decodePickle(Buffer.from(text!, 'hex')), PickleError);
});

test("fail2ban's error answers decode to the exception's class and arguments, as data", () => {
  const [unknown, value] = py(`import pickle
from fail2ban.exceptions import UnknownJailException
print(pickle.dumps((1, UnknownJailException('nojail')), 5).hex())
print(pickle.dumps((1, ValueError('bad', 3)), 5).hex())`);
  const u = decodePickle(Buffer.from(unknown!, 'hex')) as [number, PickledException];
  assert.equal(u[0], 1);
  assert.ok(u[1] instanceof PickledException);
  assert.deepEqual({ ...u[1] }, { exception: 'UnknownJailException', args: ['nojail'] });
  const v = decodePickle(Buffer.from(value!, 'hex')) as [number, PickledException];
  assert.deepEqual({ ...v[1] }, { exception: 'ValueError', args: ['bad', 3] });
});

test('a pickle that would run code (os.system, eval, any other class) is refused, never run', () => {
  const evil = py(`import pickle, os, builtins
class X:
  def __init__(self, f, a): self.f, self.a = f, a
  def __reduce__(self): return (self.f, self.a)
for proto in (0, 2, 5):
  print(pickle.dumps(X(os.system, ('touch /tmp/pwned',)), proto).hex())
  print(pickle.dumps(X(builtins.eval, ('1+1',)), proto).hex())
  print(pickle.dumps(X(print, ('hi',)), proto).hex())
import collections
print(pickle.dumps(collections.OrderedDict(a=1), 5).hex())`);
  for (const h of evil) assert.throws(() => decodePickle(Buffer.from(h, 'hex')), PickleError, h);
  // Truncated, or left over on the stack, or an unknown opcode: refused too.
  const ok = py(`import pickle\nprint(pickle.dumps((0, ['a', 'b']), 5).hex())`)[0]!;
  const buf = Buffer.from(ok, 'hex');
  assert.throws(() => decodePickle(buf.subarray(0, buf.length - 3)), /truncated/);
  assert.throws(() => decodePickle(Buffer.from([0x80, 0x05, 0x4e, 0x4e, 0x2e])), /left on the stack/);
  assert.throws(() => decodePickle(Buffer.from([0x80, 0x05, 0x69, 0x2e])), /opcode 0x69 is not accepted/);
});

test("our command pickle is read by Python's pickle as the list of strings fail2ban's client sends", () => {
  const args = ['set', 'voip-asterisk', 'banip', '203.0.113.9', 'é ü'];
  const [out] = py(`import pickle, sys, json\nprint(json.dumps(pickle.loads(bytes.fromhex(sys.stdin.read().strip()))))`, encodeCommand(args).toString('hex'));
  assert.deepEqual(JSON.parse(out!), args);
});

test("an argument holding fail2ban's end or close marker is refused (the server would read the rest as another command)", () => {
  assert.throws(() => encodeCommand(['set', 'j', 'banip', '203.0.113.9<F2B_END_COMMAND>']), /end marker/);
  assert.throws(() => encodeCommand(['x<F2B_CLOSE_COMMAND>']), /end marker/);
});
