/**
 * The part of Python's pickle format that fail2ban's socket protocol uses, and nothing more.
 *
 * fail2ban's client sends each command as a pickled list of strings followed by
 * `<F2B_END_COMMAND>`; the server answers with a pickled `(code, value)` in its Python's highest
 * protocol (5 on Python 3.8+). Decoding a pickle in Python can run any code it names; this
 * decoder never runs anything: it knows strings, bytes, numbers, None/True/False, lists, tuples,
 * dicts and sets, plus the exception objects fail2ban answers errors with (a fixed list of
 * classes, decoded as plain data). Any other opcode or class is refused with a PickleError.
 */

export class PickleError extends Error {}

/** An exception object fail2ban answered with: its class and its arguments, as data. */
export class PickledException {
  constructor(
    readonly exception: string,
    readonly args: PickleValue[],
  ) {}
}

export type PickleValue = null | boolean | number | bigint | string | Uint8Array | PickleValue[] | { [k: string]: PickleValue } | Set<PickleValue> | PickledException;

/** Classes an answer may name: the exceptions fail2ban's transmitter returns (and nothing callable beyond them). */
const EXCEPTIONS = new Set([
  'builtins.Exception',
  'builtins.ValueError',
  'builtins.KeyError',
  'builtins.IndexError',
  'builtins.TypeError',
  'builtins.RuntimeError',
  'builtins.AttributeError',
  'builtins.NameError',
  'builtins.OSError',
  'builtins.FileNotFoundError',
  'builtins.NotImplementedError',
  'builtins.LookupError',
  'fail2ban.exceptions.UnknownJailException',
  'fail2ban.exceptions.DuplicateJailException',
  'fail2ban.server.jails.UnknownJailException',
  'fail2ban.server.jails.DuplicateJailException',
]);

/** The one non-exception class an answer may name: fail2ban's IPAddr pickles as `str('203.0.113.7')`, read as that string. */
const STR = 'builtins.str';

/**
 * Protocol-2 pickle of a list of strings: what fail2ban's client sends for one command. An
 * argument holding the end marker is refused: fail2ban's server cuts its input there, so the rest
 * would be read as a command of its own.
 */
export function encodeCommand(args: readonly string[]): Buffer {
  for (const a of args) if (a.includes('<F2B_END_COMMAND>') || a.includes('<F2B_CLOSE_COMMAND>')) throw new PickleError(`a fail2ban command argument may not hold its end marker: ${JSON.stringify(a)}`);
  const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x5d, 0x28])]; // PROTO 2, EMPTY_LIST, MARK
  for (const a of args) {
    const b = Buffer.from(a, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    parts.push(Buffer.from([0x58]), len, b); // BINUNICODE
  }
  parts.push(Buffer.from([0x65, 0x2e])); // APPENDS, STOP
  return Buffer.concat(parts);
}

const MARK = Symbol('mark');
type Item = PickleValue | Global | typeof MARK;

class Global {
  constructor(readonly global: string) {}
}
const isGlobal = (v: unknown): v is Global => v instanceof Global;

/**
 * The decoder's bounds. An answer is data fail2ban's server wrote, but its strings are attacker
 * text (log lines, user names) and the socket may belong to something else: nothing in an answer
 * may make the decoder, or the code that walks its result, take unbounded memory or time.
 * - MAX_VALUES: values created in one answer. fail2ban's largest answers are banned lists: 100,000
 *   addresses are 100,000 values; 2,000,000 leaves 20 times that (about 100 MB of heap at most).
 * - MAX_WEIGHT: the size of a value with every shared reference counted again (one per value plus
 *   the length of each string): what a walk over the result (JSON.stringify, the web view) costs.
 *   Python shares a reference only when the same object recurs; fail2ban's answers are trees, so
 *   their weight is about their size in bytes. 64 Mi is twice the socket's reply cap.
 * - MAX_DEPTH: containers inside containers; fail2ban's answers are 4 deep at most.
 */
export const PICKLE_LIMITS = { MAX_VALUES: 2_000_000, MAX_WEIGHT: 64 * 1024 * 1024, MAX_DEPTH: 100 } as const;

/** Dict keys that would reach an object's prototype chain in the code reading the answer. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

type Container = PickleValue[] | { [k: string]: PickleValue } | Set<PickleValue> | PickledException;

/**
 * Decodes one pickle (protocols 2-5, the subset above). Throws PickleError on anything else, on
 * anything past the limits above, and on every malformed input (no other error escapes).
 */
export function decodePickle(buf: Uint8Array): PickleValue {
  try {
    return new Decoder(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)).run();
  } catch (e) {
    if (e instanceof PickleError) throw e;
    // A bound missed above still ends as the decoder's own error, never a RangeError of the VM.
    throw new PickleError(`malformed pickle (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * One decoding. Cycles and changes after sharing are ruled out together: a container fetched
 * from the memo (the only way to refer to one twice) is frozen, and nothing may be added to a
 * frozen container. An unfrozen container thus has one reference only, on the stack until it is
 * put into its parent, so it can never end up inside itself; and each container's weight and
 * depth, counted when it is built, stay true.
 */
class Decoder {
  private i = 0;
  private readonly stack: Item[] = [];
  private readonly memo = new Map<number, Item>();
  private readonly size = new WeakMap<object, { weight: number; depth: number }>();
  private readonly frozen = new WeakSet<object>();
  private values = 0;

  constructor(private readonly b: Buffer) {}

  private need(n: number): void {
    if (this.i + n > this.b.length) throw new PickleError('truncated pickle');
  }
  private u8(): number {
    this.need(1);
    return this.b[this.i++]!;
  }
  private u16(): number {
    this.need(2);
    this.i += 2;
    return this.b.readUInt16LE(this.i - 2);
  }
  private u32(): number {
    this.need(4);
    this.i += 4;
    return this.b.readUInt32LE(this.i - 4);
  }
  private u64(): number {
    this.need(8);
    const v = this.b.readBigUInt64LE(this.i);
    this.i += 8;
    if (v > BigInt(this.b.length)) throw new PickleError('truncated pickle');
    return Number(v);
  }
  private bytes(n: number): Buffer {
    this.need(n);
    this.i += n;
    return this.b.subarray(this.i - n, this.i);
  }
  private line(): string {
    const end = this.b.indexOf(0x0a, this.i);
    if (end < 0) throw new PickleError('truncated pickle');
    const s = this.b.subarray(this.i, end).toString('latin1');
    this.i = end + 1;
    return s;
  }

  /** Pushes a value (or a mark, or a second reference), counted against MAX_VALUES. */
  private push(v: Item): void {
    if (++this.values > PICKLE_LIMITS.MAX_VALUES) throw new PickleError(`pickle holds more than ${PICKLE_LIMITS.MAX_VALUES} values`);
    this.stack.push(v);
  }
  private pop(): Item {
    if (!this.stack.length) throw new PickleError('pickle stack underflow');
    return this.stack.pop()!;
  }
  private popValue(): PickleValue {
    const v = this.pop();
    if (v === MARK || isGlobal(v)) throw new PickleError('pickle: unexpected mark or class');
    return v;
  }
  private popMark(): PickleValue[] {
    const k = this.stack.lastIndexOf(MARK);
    if (k < 0) throw new PickleError('pickle: no mark');
    const items = this.stack.splice(k + 1);
    this.stack.pop();
    for (const v of items) if (v === MARK || isGlobal(v)) throw new PickleError('pickle: unexpected mark or class');
    return items as PickleValue[];
  }
  private top(): Item {
    if (!this.stack.length) throw new PickleError('pickle stack underflow');
    return this.stack[this.stack.length - 1]!;
  }

  /** A value's weight (see PICKLE_LIMITS) and depth. */
  private sizeOf(v: PickleValue): { weight: number; depth: number } {
    if (typeof v === 'string') return { weight: 1 + v.length, depth: 0 };
    if (v instanceof Uint8Array) return { weight: 1 + v.length, depth: 0 };
    if (v !== null && typeof v === 'object') return this.size.get(v) ?? { weight: 1, depth: 1 };
    return { weight: 1, depth: 0 };
  }

  /** Records `children` as added to container `c` (new or on the stack), within the limits. */
  private grow<T extends Container>(c: T, children: PickleValue[]): T {
    if (this.frozen.has(c)) throw new PickleError('pickle changes a container after referring to it again (a cycle or a shared change)');
    let { weight, depth } = this.size.get(c) ?? { weight: 1, depth: 1 };
    for (const child of children) {
      const s = this.sizeOf(child);
      weight += s.weight;
      depth = Math.max(depth, s.depth + 1);
    }
    if (weight > PICKLE_LIMITS.MAX_WEIGHT) throw new PickleError(`pickle expands to more than ${PICKLE_LIMITS.MAX_WEIGHT} items and characters`);
    if (depth > PICKLE_LIMITS.MAX_DEPTH) throw new PickleError(`pickle nests deeper than ${PICKLE_LIMITS.MAX_DEPTH}`);
    this.size.set(c, { weight, depth });
    return c;
  }

  private container(kind: string): Container {
    const c = this.top();
    if (kind === 'list' && Array.isArray(c)) return c;
    if (kind === 'set' && c instanceof Set) return c;
    if (kind === 'dict' && isDict(c)) return c;
    throw new PickleError(`pickle: adds to a non-${kind}`);
  }
  private append(vs: PickleValue[]): void {
    const l = this.grow(this.container('list'), vs) as PickleValue[];
    for (const v of vs) l.push(v);
  }
  private setItems(d: { [k: string]: PickleValue }, kv: PickleValue[]): void {
    if (kv.length % 2) throw new PickleError('pickle: odd SETITEMS');
    this.grow(d, kv);
    for (let k = 0; k < kv.length; k += 2) d[dictKey(kv[k]!)] = kv[k + 1]!;
  }
  private newDict(): { [k: string]: PickleValue } {
    return this.grow(Object.create(null) as { [k: string]: PickleValue }, []);
  }
  private globalOf(mod: string, name: string): Global {
    // Python 3 writes str as __builtin__.unicode in protocols 0-2 (names Python 2 can read).
    const g = mod === '__builtin__' && name === 'unicode' ? STR : `${mod}.${name}`;
    if (!EXCEPTIONS.has(g) && g !== STR) throw new PickleError(`pickle names ${g}, which is not an answer fail2ban gives`);
    return new Global(g);
  }
  private memoGet(k: number): void {
    if (!this.memo.has(k)) throw new PickleError('pickle: unknown memo entry');
    const v = this.memo.get(k)!;
    if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) this.frozen.add(v);
    this.push(v);
  }
  private memoPut(k: number): void {
    const v = this.top();
    if (v === MARK) throw new PickleError('pickle: memoizes a mark');
    this.memo.set(k, v);
  }
  private long1(): number | bigint {
    const n = this.u8();
    const d = this.bytes(n);
    let v = 0n;
    for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(d[k]!);
    if (n && d[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  run(): PickleValue {
    for (;;) {
      const op = this.u8();
      if (op === 0x2e) {
        // STOP
        const v = this.popValue();
        if (this.stack.length) throw new PickleError('pickle: items left on the stack');
        return v;
      }
      this.step(op);
    }
  }

  private step(op: number): void {
    const b = this.b;
    switch (op) {
      case 0x80: if (this.u8() > 5) throw new PickleError('pickle protocol above 5'); break; // PROTO
      case 0x95: this.u64(); break; // FRAME
      case 0x28: this.push(MARK); break; // MARK
      case 0x4e: this.push(null); break; // NONE
      case 0x88: this.push(true); break; // NEWTRUE
      case 0x89: this.push(false); break; // NEWFALSE
      case 0x4b: this.push(this.u8()); break; // BININT1
      case 0x4d: this.push(this.u16()); break; // BININT2
      case 0x4a: this.need(4); this.push(b.readInt32LE(this.i)); this.i += 4; break; // BININT
      case 0x8a: this.push(this.long1()); break; // LONG1: little-endian two's complement
      case 0x47: this.need(8); this.push(b.readDoubleBE(this.i)); this.i += 8; break; // BINFLOAT
      case 0x8c: this.push(this.bytes(this.u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x58: this.push(this.bytes(this.u32()).toString('utf8')); break; // BINUNICODE
      case 0x8d: this.push(this.bytes(this.u64()).toString('utf8')); break; // BINUNICODE8
      case 0x43: this.push(new Uint8Array(this.bytes(this.u8()))); break; // SHORT_BINBYTES
      case 0x42: this.push(new Uint8Array(this.bytes(this.u32()))); break; // BINBYTES
      case 0x8e: this.push(new Uint8Array(this.bytes(this.u64()))); break; // BINBYTES8
      case 0x5d: case 0x29: this.push(this.grow([], [])); break; // EMPTY_LIST, EMPTY_TUPLE (tuples are arrays)
      case 0x7d: this.push(this.newDict()); break; // EMPTY_DICT
      case 0x8f: this.push(this.grow(new Set(), [])); break; // EMPTY_SET
      case 0x6c: case 0x74: { const vs = this.popMark(); this.push(this.grow(vs, vs)); break; } // LIST, TUPLE
      case 0x85: { const vs = [this.popValue()]; this.push(this.grow(vs, vs)); break; } // TUPLE1
      case 0x86: { const y = this.popValue(); const vs = [this.popValue(), y]; this.push(this.grow(vs, vs)); break; } // TUPLE2
      case 0x87: { const z = this.popValue(); const y = this.popValue(); const vs = [this.popValue(), y, z]; this.push(this.grow(vs, vs)); break; } // TUPLE3
      case 0x61: this.append([this.popValue()]); break; // APPEND
      case 0x65: this.append(this.popMark()); break; // APPENDS
      case 0x73: { const v = this.popValue(); const k = this.popValue(); this.setItems(this.container('dict') as { [k: string]: PickleValue }, [k, v]); break; } // SETITEM
      case 0x75: { const kv = this.popMark(); this.setItems(this.container('dict') as { [k: string]: PickleValue }, kv); break; } // SETITEMS
      case 0x64: { const kv = this.popMark(); const d = this.newDict(); this.setItems(d, kv); this.push(d); break; } // DICT
      case 0x90: { const vs = this.popMark(); const s = this.grow(this.container('set') as Set<PickleValue>, vs); for (const v of vs) s.add(v); break; } // ADDITEMS
      case 0x91: { const vs = this.popMark(); this.push(this.grow(new Set(vs), vs)); break; } // FROZENSET
      case 0x94: this.memoPut(this.memo.size); break; // MEMOIZE
      case 0x71: this.memoPut(this.u8()); break; // BINPUT
      case 0x72: this.memoPut(this.u32()); break; // LONG_BINPUT
      case 0x68: this.memoGet(this.u8()); break; // BINGET
      case 0x6a: this.memoGet(this.u32()); break; // LONG_BINGET
      case 0x93: { // STACK_GLOBAL
        const name = this.popValue();
        const mod = this.popValue();
        if (typeof mod !== 'string' || typeof name !== 'string') throw new PickleError('pickle: bad STACK_GLOBAL');
        this.push(this.globalOf(mod, name));
        break;
      }
      case 0x63: { const mod = this.line(); this.push(this.globalOf(mod, this.line())); break; } // GLOBAL (protocols 0-3)
      case 0x52: { // REDUCE: only an allowed exception class with its arguments, or str() of a string
        const args = this.popValue();
        const cls = this.pop();
        if (isGlobal(cls) && cls.global === STR) {
          // fail2ban's addresses (IPAddr: ignoreip lists, addignoreip answers) pickle as str('…').
          if (!Array.isArray(args) || args.length !== 1 || typeof args[0] !== 'string') throw new PickleError('pickle: str() of something other than one string');
          this.push(args[0]);
          break;
        }
        if (!isGlobal(cls) || !Array.isArray(args)) throw new PickleError('pickle: REDUCE of something other than an allowed exception');
        this.push(this.grow(new PickledException(cls.global.split('.').pop()!, args), args));
        break;
      }
      case 0x62: { // BUILD: the state of an exception object (its __dict__): kept out
        this.popValue();
        if (!(this.top() instanceof PickledException)) throw new PickleError('pickle: BUILD on something other than an exception');
        break;
      }
      default:
        throw new PickleError(`pickle opcode 0x${op.toString(16).padStart(2, '0')} is not accepted`);
    }
  }
}

function isDict(v: Item): v is { [k: string]: PickleValue } {
  return v !== MARK && typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Set) && !(v instanceof PickledException) && !isGlobal(v);
}

/** A dict key as a property name: plain scalars only, never one that reaches a prototype. */
function dictKey(k: PickleValue): string {
  let s: string;
  if (typeof k === 'string') s = k;
  else if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) s = String(k);
  else throw new PickleError('pickle: unsupported dict key');
  if (FORBIDDEN_KEYS.has(s)) throw new PickleError(`pickle: dict key '${s}' is refused (it would reach an object's prototype)`);
  return s;
}
