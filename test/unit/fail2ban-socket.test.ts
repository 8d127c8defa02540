/**
 * The socket client's framing, against a stand-in server on a Unix socket that answers with
 * pickles Python wrote: an answer split across reads right after an end marker inside a string
 * (log lines are attacker text) is read whole; a server that never answers is a timeout error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { askFail2ban } from '../../src/adapters/fail2ban-socket.ts';

const END = '<F2B_END_COMMAND>';

function pythonPickle(expr: string): Buffer {
  const r = spawnSync('python3', ['-c', `import pickle, sys; sys.stdout.write(pickle.dumps(${expr}, 5).hex())`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Buffer.from(r.stdout, 'hex');
}

async function withServer(onCommand: (sock: net.Socket, n: number) => void, body: (p: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-sock-'));
  const p = path.join(dir, 's.sock');
  let n = 0;
  const server = net.createServer((s) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      while (buf.includes(END)) {
        const cmd = buf.slice(0, buf.indexOf(END));
        buf = buf.slice(buf.indexOf(END) + END.length);
        if (cmd !== '<F2B_CLOSE_COMMAND>') onCommand(s, n++);
      }
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(p, r));
  try {
    await body(p);
  } finally {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an answer split right after an end marker inside a string is read whole, then the next', async () => {
  const first = pythonPickle(`(0, ['user x${END}', 'y'])`);
  const cut = first.indexOf(Buffer.from(END)) + END.length;
  const second = pythonPickle(`(0, 'pong')`);
  await withServer(
    (s, n) => {
      if (n === 0) {
        s.write(first.subarray(0, cut));
        setTimeout(() => s.write(Buffer.concat([first.subarray(cut), Buffer.from(END)])), 100);
      } else s.write(Buffer.concat([second, Buffer.from(END)]));
    },
    async (p) => {
      const answers = await askFail2ban(p, [['get', 'x'], ['ping']]);
      assert.deepEqual(answers, [
        { ok: true, value: [`user x${END}`, 'y'] },
        { ok: true, value: 'pong' },
      ]);
    },
  );
});

test('a server that never answers: an error naming the socket and the timeout', async () => {
  await withServer(
    () => {},
    async (p) => {
      await assert.rejects(askFail2ban(p, [['ping']], 300), new RegExp(`fail2ban did not answer on ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} within 300 ms`));
    },
  );
});
