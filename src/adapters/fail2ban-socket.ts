import net from 'node:net';
import { decodePickle, encodeCommand, PickledException, PickleError, type PickleValue } from '../core/pickle.ts';

/**
 * fail2ban's Unix socket spoken from Node, as fail2ban's own client does (fail2ban/client/
 * csocket.py): each command a pickled list of strings ending in `<F2B_END_COMMAND>`, each answer a
 * pickled `(code, value)` ending the same way, `<F2B_CLOSE_COMMAND>` to close. No Python start-up
 * (fail2ban-client costs 0.2-0.3 s of it per call), and the answer is decoded by a strict decoder
 * that runs nothing (src/core/pickle.ts).
 */
const END = Buffer.from('<F2B_END_COMMAND>');
/**
 * The largest answer read (bytes). fail2ban's largest answers are banned lists: 100,000 IPv6
 * addresses pickle to about 4.3 MB, with their ban times (--with-time) to 9.6 MB. 32 MiB leaves room thrice over
 * and bounds what a peer (fail2ban answering with attacker text, or whatever holds the socket)
 * can make this process hold: the chunks, then the decoded value (src/core/pickle.ts limits).
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const CLOSE = Buffer.from('<F2B_CLOSE_COMMAND>');

export interface Fail2banAnswer {
  ok: boolean;
  value: PickleValue;
}

/** Sends each command in turn over one connection; rejects on a connect error, a bad answer or the timeout. */
export function askFail2ban(socketPath: string, commands: string[][], timeoutMs = 10000): Promise<Fail2banAnswer[]> {
  return new Promise((resolve, reject) => {
    const answers: Fail2banAnswer[] = [];
    // The answer so far, as the chunks read (joined once an end marker arrives, not per chunk).
    let chunks: Buffer[] = [];
    let length = 0;
    let done = false;
    const sock = net.createConnection(socketPath);
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        sock.destroy();
        reject(err);
        return;
      }
      sock.end(Buffer.concat([CLOSE, END]));
      // The close command is written (36 bytes go out at once); waiting for fail2ban to close
      // its end too would only keep a finished run from exiting (~1 ms).
      sock.unref();
      resolve(answers);
    };
    const timer = setTimeout(() => finish(new Error(`fail2ban did not answer on ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    const next = (): void => {
      if (answers.length === commands.length) return finish(null);
      let cmd: Buffer;
      try {
        cmd = encodeCommand(commands[answers.length]!);
      } catch (e) {
        return finish(e as Error);
      }
      sock.write(Buffer.concat([cmd, END]));
    };
    sock.on('connect', next);
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error(`fail2ban closed its socket ${socketPath} before answering`)));
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      if (length > MAX_ANSWER_BYTES) return finish(new Error(`fail2ban's answer on ${socketPath} is larger than ${MAX_ANSWER_BYTES} bytes; refused`));
      if (!endsWithEnd(chunks, length)) return;
      const buf = Buffer.concat(chunks, length);
      try {
        const v = decodePickle(buf.subarray(0, buf.length - END.length));
        chunks = [];
        length = 0;
        if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number') answers.push({ ok: v[0] === 0 && !(v[1] instanceof PickledException), value: v[1]! });
        else answers.push({ ok: false, value: v });
      } catch (e) {
        // An answer may hold the end marker inside a string (log lines are attacker text): a
        // pickle cut there is truncated, and the rest is still to come.
        chunks = [buf];
        if (e instanceof PickleError && e.message === 'truncated pickle') return;
        return finish(e as Error);
      }
      next();
    });
  });
}

/** True when the bytes read so far end with the end marker (which may span chunks). */
function endsWithEnd(chunks: Buffer[], length: number): boolean {
  if (length < END.length) return false;
  const last = chunks[chunks.length - 1]!;
  const tail = last.length >= END.length ? last.subarray(last.length - END.length) : Buffer.concat(chunks.slice(-END.length)).subarray(-END.length);
  return tail.equals(END);
}

/** The jail names of a `status` answer (`[["Number of jail", n], ["Jail list", "a, b"]]`). */
export function jailsOfStatus(value: PickleValue): string[] | null {
  if (!Array.isArray(value)) return null;
  for (const kv of value) {
    if (Array.isArray(kv) && kv[0] === 'Jail list' && typeof kv[1] === 'string') return kv[1].split(',').map((s) => s.trim()).filter(Boolean);
  }
  return null;
}
