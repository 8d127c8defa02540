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

/** Decodes one pickle (protocols 0-5, the subset above). Throws PickleError on anything else. */
export function decodePickle(buf: Uint8Array): PickleValue {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let i = 0;
  const stack: Item[] = [];
  const memo = new Map<number, Item>();
  const need = (n: number): void => {
    if (i + n > b.length) throw new PickleError('truncated pickle');
  };
  const u8 = (): number => (need(1), b[i++]!);
  const u16 = (): number => (need(2), (i += 2), b.readUInt16LE(i - 2));
  const u32 = (): number => (need(4), (i += 4), b.readUInt32LE(i - 4));
  const u64 = (): number => {
    need(8);
    const v = b.readBigUInt64LE(i);
    i += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new PickleError('pickle length too large');
    return Number(v);
  };
  const bytes = (n: number): Buffer => (need(n), (i += n), b.subarray(i - n, i));
  const str = (n: number): string => bytes(n).toString('utf8');
  const pop = (): Item => {
    if (!stack.length) throw new PickleError('pickle stack underflow');
    return stack.pop()!;
  };
  const popValue = (): PickleValue => {
    const v = pop();
    if (v === MARK || isGlobal(v)) throw new PickleError('pickle: unexpected mark or class');
    return v;
  };
  const popMark = (): PickleValue[] => {
    const k = stack.lastIndexOf(MARK);
    if (k < 0) throw new PickleError('pickle: no mark');
    const items = stack.splice(k + 1);
    stack.pop();
    for (const v of items) if (v === MARK || isGlobal(v)) throw new PickleError('pickle: unexpected mark or class');
    return items as PickleValue[];
  };
  const top = (): Item => {
    if (!stack.length) throw new PickleError('pickle stack underflow');
    return stack[stack.length - 1]!;
  };
  const key = (k: PickleValue): string => {
    if (typeof k === 'string') return k;
    if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) return String(k);
    throw new PickleError('pickle: unsupported dict key');
  };
  const setItems = (d: Item, kv: PickleValue[]): void => {
    if (d === MARK || typeof d !== 'object' || d === null || Array.isArray(d) || d instanceof Uint8Array || d instanceof Set || d instanceof PickledException || isGlobal(d)) throw new PickleError('pickle: SETITEMS on a non-dict');
    if (kv.length % 2) throw new PickleError('pickle: odd SETITEMS');
    for (let k = 0; k < kv.length; k += 2) (d as Record<string, PickleValue>)[key(kv[k]!)] = kv[k + 1]!;
  };
  const globalOf = (mod: string, name: string): Global => {
    const g = `${mod}.${name}`;
    if (!EXCEPTIONS.has(g)) throw new PickleError(`pickle names ${g}, which is not an answer fail2ban gives`);
    return new Global(g);
  };
  const lines = (): string => {
    const end = b.indexOf(0x0a, i);
    if (end < 0) throw new PickleError('truncated pickle');
    const s = b.subarray(i, end).toString('latin1');
    i = end + 1;
    return s;
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) throw new PickleError('pickle protocol above 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: {
        // STOP
        const v = popValue();
        if (stack.length) throw new PickleError('pickle: items left on the stack');
        return v;
      }
      case 0x28: stack.push(MARK); break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: need(4); stack.push(b.readInt32LE(i)); i += 4; break; // BININT
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        const d = bytes(n);
        let v = 0n;
        for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(d[k]!);
        if (n && d[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(b.readDoubleBE(i)); i += 8; break; // BINFLOAT
      case 0x8c: stack.push(str(u8())); break; // SHORT_BINUNICODE
      case 0x58: stack.push(str(u32())); break; // BINUNICODE
      case 0x8d: stack.push(str(u64())); break; // BINUNICODE8
      case 0x43: stack.push(new Uint8Array(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x42: stack.push(new Uint8Array(bytes(u32()))); break; // BINBYTES
      case 0x8e: stack.push(new Uint8Array(bytes(u64()))); break; // BINBYTES8
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays)
      case 0x7d: stack.push({}); break; // EMPTY_DICT
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([popValue()]); break; // TUPLE1
      case 0x86: { const y = popValue(); stack.push([popValue(), y]); break; } // TUPLE2
      case 0x87: { const z = popValue(); const y = popValue(); stack.push([popValue(), y, z]); break; } // TUPLE3
      case 0x61: { const v = popValue(); const l = top(); if (!Array.isArray(l)) throw new PickleError('pickle: APPEND on a non-list'); l.push(v); break; } // APPEND
      case 0x65: { const vs = popMark(); const l = top(); if (!Array.isArray(l)) throw new PickleError('pickle: APPENDS on a non-list'); l.push(...vs); break; } // APPENDS
      case 0x73: { const v = popValue(); const k = popValue(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x64: { const kv = popMark(); const d = {}; setItems(d, kv); stack.push(d); break; } // DICT
      case 0x90: { const vs = popMark(); const s = top(); if (!(s instanceof Set)) throw new PickleError('pickle: ADDITEMS on a non-set'); for (const v of vs) s.add(v); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) throw new PickleError('pickle: unknown memo entry');
        stack.push(memo.get(k)!);
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = popValue();
        const mod = popValue();
        if (typeof mod !== 'string' || typeof name !== 'string') throw new PickleError('pickle: bad STACK_GLOBAL');
        stack.push(globalOf(mod, name));
        break;
      }
      case 0x63: { // GLOBAL (protocols 0-3)
        const mod = lines();
        stack.push(globalOf(mod, lines()));
        break;
      }
      case 0x52: { // REDUCE: only an allowed exception class with its arguments
        const args = popValue();
        const cls = pop();
        if (!isGlobal(cls) || !Array.isArray(args)) throw new PickleError('pickle: REDUCE of something other than an allowed exception');
        stack.push(new PickledException(cls.global.split('.').pop()!, args));
        break;
      }
      case 0x62: { // BUILD: the state of an exception object (its __dict__): kept out
        popValue();
        const o = top();
        if (!(o instanceof PickledException)) throw new PickleError('pickle: BUILD on something other than an exception');
        break;
      }
      default:
        throw new PickleError(`pickle opcode 0x${op.toString(16).padStart(2, '0')} is not accepted`);
    }
  }
}
