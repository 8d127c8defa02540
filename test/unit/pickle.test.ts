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

/** Dicts decode without a prototype: no key of an answer reaches Object.prototype. */
const dict = (o: Record<string, unknown>): Record<string, unknown> => Object.assign(Object.create(null) as Record<string, unknown>, o);

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
    [0, dict({ a: [1, 2], b: dict({ c: null }) })],
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

// ---- Bounds (issue 20, hole 9): a hostile answer ends as a PickleError, in bounded time and memory ----

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const refused = (buf: Uint8Array, re: RegExp): void => {
  assert.throws(() => decodePickle(buf), (e: unknown) => e instanceof PickleError && re.test(e.message), re.source);
};

test('memo references that expand exponentially are refused (40 doublings of a 1000-character string)', () => {
  // 50 bytes a level: walking the result (JSON.stringify, the web view) would take 2^40 steps.
  const [bomb] = py(`import pickle\nl = ['a' * 1000]\nfor i in range(40): l = [l, l]\nprint(pickle.dumps((0, l), 5).hex())`);
  const t0 = Date.now();
  refused(hex(bomb!), /expands to more than/);
  assert.ok(Date.now() - t0 < 1000, `refused in ${Date.now() - t0} ms`);
  // A shared reference of fair size is still read (Python shares a string or tuple that recurs).
  const [fair] = py(`import pickle\ns = 'x' * 100\nt = (s, 1)\nprint(pickle.dumps((0, [t, t, s, s]), 5).hex())`);
  assert.deepEqual(decodePickle(hex(fair!)), [0, [['x'.repeat(100), 1], ['x'.repeat(100), 1], 'x'.repeat(100), 'x'.repeat(100)]]);
});

test('cycles (a list or dict inside itself) are refused', () => {
  const cycles = py(`import pickle
l = []; l.append(l); print(pickle.dumps((0, l), 5).hex())
d = {}; d['me'] = d; print(pickle.dumps((0, d), 5).hex())
a = []; b = [a]; a.append(b); print(pickle.dumps((0, a), 2).hex())`);
  for (const h of cycles) refused(hex(h), /after referring to it again/);
});

test('dict keys that reach a prototype (__proto__, constructor, prototype) are refused; dicts have no prototype', () => {
  const bad = py(`import pickle
print(pickle.dumps((0, {'__proto__': {'polluted': 1}}), 5).hex())
print(pickle.dumps((0, {'constructor': {'prototype': 1}}), 5).hex())
print(pickle.dumps((0, [{'a': 1, 'prototype': 2}]), 2).hex())`);
  for (const h of bad) refused(hex(h), /dict key '(__proto__|constructor|prototype)' is refused/);
  const [ok] = py(`import pickle\nprint(pickle.dumps((0, {'toString': 1}), 5).hex())`);
  const d = (decodePickle(hex(ok!)) as [number, Record<string, unknown>])[1];
  assert.equal(Object.getPrototypeOf(d), null);
  assert.equal(d.toString, 1);
  assert.equal(d.hasOwnProperty, undefined);
});

test('large APPENDS, too many values, too deep: a value or the decoder\'s own error, never a RangeError', () => {
  // One APPENDS of 200,000 items (Python batches by 1000; a peer need not): read.
  const n = 200_000;
  const appends = Buffer.concat([hex('80055d28'), Buffer.alloc(n * 2, hex('4b07')), hex('652e')]);
  const list = decodePickle(appends) as number[];
  assert.equal(list.length, n);
  assert.equal(list[n - 1], 7);
  // More values than PICKLE_LIMITS.MAX_VALUES (3 million None: 3 MB of input).
  refused(Buffer.concat([hex('80055d28'), Buffer.alloc(3_000_000, 0x4e), hex('652e')]), /more than 2000000 values/);
  // Lists 1000 deep.
  refused(Buffer.concat([hex('8005'), Buffer.alloc(1000, 0x5d), Buffer.alloc(999, 0x61), hex('2e')]), /nests deeper than 100/);
  // A length past the input (BINUNICODE8 of 2^63), a memo key never set, a lone STOP.
  refused(hex('80058dffffffffffffff7f2e'), /truncated/);
  refused(hex('8005680a2e'), /unknown memo entry/);
  refused(hex('2e'), /underflow/);
});

/** A small deterministic PRNG (mulberry32): the fuzz cases are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: random and mutated answers give a value or a PickleError, each within bounded time', () => {
  const seeds = py(`import pickle
from fail2ban.exceptions import UnknownJailException
vals = ${VALUES} + [(1, UnknownJailException('nojail')), (0, {'a': {1, 2}, 'b': frozenset([3])}), (0, [b'xy', 2**70, -1.5])]
for p in (2, 3, 4, 5):
  for v in vals: print(pickle.dumps(v, p).hex())`).map(hex).filter((b) => b.length < 4096);
  const rnd = prng(20);
  const int = (n: number): number => Math.floor(rnd() * n);
  // Opcodes the decoder knows, and a few it does not: mutations that reach deep paths.
  const ops = [0x28, 0x4e, 0x5d, 0x29, 0x7d, 0x8f, 0x6c, 0x74, 0x85, 0x86, 0x87, 0x61, 0x65, 0x73, 0x75, 0x64, 0x90, 0x91, 0x94, 0x71, 0x68, 0x6a, 0x72, 0x93, 0x52, 0x62, 0x8c, 0x58, 0x8d, 0x8a, 0x95, 0x2e, 0x69, 0x00, 0xff];
  const mutate = (b: Buffer): Buffer => {
    const out = Buffer.from(b);
    const kind = int(5);
    if (kind === 0) return out.subarray(0, int(out.length + 1)); // truncate
    if (kind === 1) { for (let k = 0; k < 1 + int(4); k++) out[int(out.length)] = int(256); return out; } // flip bytes
    if (kind === 2) { const at = int(out.length); return Buffer.concat([out.subarray(0, at), Buffer.from([ops[int(ops.length)]!]), out.subarray(at)]); } // insert an opcode
    if (kind === 3) { const at = int(out.length); const len = int(64); return Buffer.concat([out.subarray(0, at), out.subarray(at, at + len), out.subarray(at)]); } // duplicate a slice
    return Buffer.concat([hex('8005'), Buffer.from(Array.from({ length: int(200) }, () => (rnd() < 0.7 ? ops[int(ops.length)]! : int(256))))]); // random
  };
  let values = 0;
  let errors = 0;
  let slowest = 0;
  const t0 = Date.now();
  for (let n = 0; n < 20000; n++) {
    const input = mutate(seeds[int(seeds.length)]!);
    const t = performance.now();
    try {
      decodePickle(input);
      values++;
    } catch (e) {
      assert.ok(e instanceof PickleError, `input ${input.toString('hex')}: ${String(e)}`);
      errors++;
    }
    slowest = Math.max(slowest, performance.now() - t);
  }
  console.log(`# fuzz: 20000 inputs, ${values} values, ${errors} PickleErrors, ${Date.now() - t0} ms, slowest ${slowest.toFixed(1)} ms`);
  assert.ok(values > 100 && errors > 1000, 'both outcomes were reached');
  assert.ok(slowest < 500, `slowest input took ${slowest} ms`);
});

test("fail2ban's addresses (IPAddr, pickled as str('…')) decode to their text in every protocol; str() of anything else is refused", () => {
  for (let proto = 2; proto <= 5; proto++) {
    const [hex] = py(`import pickle\nfrom fail2ban.server.ipdns import IPAddr\nprint(pickle.dumps((0, [IPAddr('127.0.0.1/8'), IPAddr('::1'), IPAddr('203.0.113.7')]), ${proto}).hex())`);
    assert.deepEqual(decodePickle(Buffer.from(hex!, 'hex')), [0, ['127.0.0.0/8', '::1', '203.0.113.7']], `protocol ${proto}`);
  }
  const bad = py(`import pickle, pickletools
class S(str):
    def __init__(self, r): self.r = r
    def __reduce__(self): return self.r
for r in [(str, (1,)), (str, ('a', 'b')), (str, ([1],))]:
    print(pickle.dumps(S(r), 4).hex())`);
  for (const hex of bad) assert.throws(() => decodePickle(Buffer.from(hex, 'hex')), (e: unknown) => e instanceof PickleError && /str\(\) of something other than one string/.test((e as Error).message));
});
