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
import { askFail2ban, MAX_ANSWER_BYTES } from '../../src/adapters/fail2ban-socket.ts';

const END = '<F2B_END_COMMAND>';

function pythonPickle(expr: string): Buffer {
  const r = spawnSync('python3', ['-c', `import pickle, sys; sys.stdout.write(pickle.dumps(${expr}, 5).hex())`], { encoding: 'utf8', maxBuffer: 1 << 28 });
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

test('an answer past the size cap is refused at once, holding no more than the cap (issue 20)', async () => {
  // 40 MB that never end: a peer that would have this process hold it all, then decode it.
  const chunk = Buffer.alloc(1 << 20, 0x41);
  let sent = 0;
  await withServer(
    (s) => {
      const pump = (): void => {
        while (sent < 40 && !s.destroyed) {
          sent++;
          if (!s.write(chunk)) return void s.once('drain', pump);
        }
      };
      s.on('error', () => {});
      pump();
    },
    async (p) => {
      const t0 = Date.now();
      const rss0 = process.memoryUsage().rss;
      await assert.rejects(askFail2ban(p, [['status']], 20000), /answer on .* is larger than 33554432 bytes; refused/);
      const grew = (process.memoryUsage().rss - rss0) / 1048576;
      console.log(`# 40 MB answer refused after ${Date.now() - t0} ms; RSS grew ${grew.toFixed(0)} MB`);
      assert.ok(Date.now() - t0 < 10000, 'refused well before the timeout');
      assert.ok(grew < 200, `RSS grew ${grew} MB`);
    },
  );
  assert.equal(MAX_ANSWER_BYTES, 32 * 1024 * 1024);
});

test('a banned list of 100,000 IPv6 addresses (with their ban times) fits under the cap and is read', async () => {
  const answer = pythonPickle(`(0, [('2001:db8:%x:%x:%x:%x:%x:%x' % (i, i, i, i, i, i), '2025-01-01 00:00:00 + 604800 = 2025-01-08 00:00:%05d' % i) for i in range(100000)])`);
  console.log(`# 100,000 IPv6 bans with times: ${(answer.length / 1048576).toFixed(1)} MB pickled`);
  assert.ok(answer.length < MAX_ANSWER_BYTES / 2);
  await withServer(
    (s) => s.write(Buffer.concat([answer, Buffer.from(END)])),
    async (p) => {
      const [a] = await askFail2ban(p, [['get', 'voip-asterisk', 'banip', '--with-time']], 20000);
      const list = a!.value as string[][];
      assert.equal(list.length, 100000);
      assert.equal(list[99999]![0], '2001:db8:1869f:1869f:1869f:1869f:1869f:1869f');
    },
  );
});
