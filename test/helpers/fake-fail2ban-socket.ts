/**
 * A stand-in for fail2ban's socket, for command tests over a temp root: it listens where
 * fail2ban's configuration under that root puts the socket, decodes each command with the real
 * decoder and answers `(code, value)` pickled by the small encoder below (strings, numbers,
 * lists, None). What a real fail2ban answers is proven in test/real/16-fail2ban-socket.test.ts.
 */
import { mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { decodePickle } from '../../src/core/pickle.ts';

const END = Buffer.from('<F2B_END_COMMAND>');
const CLOSE = '<F2B_CLOSE_COMMAND>';

export type FakeValue = null | boolean | number | string | FakeValue[];

/** Pickle protocol 2 of a plain value. */
export function pickle(v: FakeValue): Buffer {
  const parts: Buffer[] = [Buffer.from([0x80, 2])];
  const put = (x: FakeValue): void => {
    if (x === null) parts.push(Buffer.from([0x4e]));
    else if (x === true || x === false) parts.push(Buffer.from([x ? 0x88 : 0x89]));
    else if (typeof x === 'number') {
      const b = Buffer.alloc(5);
      b[0] = 0x4a;
      b.writeInt32LE(x, 1);
      parts.push(b);
    } else if (typeof x === 'string') {
      const s = Buffer.from(x, 'utf8');
      const h = Buffer.alloc(5);
      h[0] = 0x58;
      h.writeUInt32LE(s.length, 1);
      parts.push(h, s);
    } else {
      parts.push(Buffer.from([0x5d, 0x28]));
      x.forEach(put);
      parts.push(Buffer.from([0x65]));
    }
  };
  put(v);
  parts.push(Buffer.from('.'));
  return Buffer.concat(parts);
}

export interface FakeFail2ban {
  socket: string;
  /** Every command received, joined by spaces. */
  commands: string[];
  close(): Promise<void>;
}

/**
 * Listens on `<root><socketPath>` (default fail2ban's /var/run/fail2ban/fail2ban.sock); `answer`
 * maps a command (and the number of its connection, from 0) to `[code, value]` (code 0 = ok).
 */
export async function fakeFail2banSocket(root: string, answer: (cmd: string[], connection: number) => [number, FakeValue] | Promise<[number, FakeValue]>, socketPath = '/var/run/fail2ban/fail2ban.sock'): Promise<FakeFail2ban> {
  const socket = path.join(root, socketPath);
  mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  rmSync(socket, { force: true });
  const commands: string[] = [];
  let connections = 0;
  const server = net.createServer((s) => {
    const connection = connections++;
    let buf = Buffer.alloc(0);
    // Commands are answered in order, one at a time (an answer may be held by the test).
    let queue: Promise<void> = Promise.resolve();
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (let i = buf.indexOf(END); i >= 0; i = buf.indexOf(END)) {
        const raw = buf.subarray(0, i);
        buf = buf.subarray(i + END.length);
        if (raw.toString('latin1') === CLOSE) {
          queue = queue.then(() => void s.end());
          return;
        }
        const cmd = (decodePickle(raw) as string[]).map(String);
        commands.push(cmd.join(' '));
        queue = queue.then(async () => {
          const a = await answer(cmd, connection);
          if (!s.destroyed) s.write(Buffer.concat([pickle(a), END]));
        });
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return { socket, commands, close: () => new Promise((r) => server.close(() => r())) };
}
