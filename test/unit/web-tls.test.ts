/**
 * `web --tls-cert --tls-key`: the files are read by the command through the adapters and checked
 * before anything is made (the key a secret file, root's and 0600, and the certificate's): a bad
 * one is exit 2 naming it, no token file made, nothing listening. Good ones serve the page over
 * HTTPS with HSTS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { makeSelfSignedCert } from '../../src/adapters/tls-files.ts';
import { web } from '../../src/commands/web.ts';
import { UsageError } from '../../src/errors.ts';
import { removeRoot, tempRoot, testContext } from '../helpers/context.ts';

const TOKEN_FILE = '/etc/voip-f2b-install/web-token';

async function withFiles(fn: (root: string, files: { cert: string; key: string; otherKey: string; looseKey: string }) => Promise<void>): Promise<void> {
  const root = await tempRoot({ '/etc/fail2ban/fail2ban.local': '[Definition]\nsocket = /run/none.sock\ndbfile = :memory:\n' });
  try {
    const a = makeSelfSignedCert('127.0.0.1');
    const b = makeSelfSignedCert('127.0.0.1');
    const f = { cert: path.join(root, 'web.crt'), key: path.join(root, 'web.key'), otherKey: path.join(root, 'other.key'), looseKey: path.join(root, 'loose.key') };
    await writeFile(f.cert, a.cert);
    await writeFile(f.key, a.key, { mode: 0o600 });
    await writeFile(f.otherKey, b.key, { mode: 0o600 });
    await writeFile(f.looseKey, a.key, { mode: 0o644 });
    await fn(root, f);
  } finally {
    await removeRoot(root);
  }
}

test('a key others may read, or not the certificate\'s, is exit 2 naming it; no token file is made', { timeout: 30000 }, async () => {
  await withFiles(async (root, f) => {
    const ctx = testContext(root);
    const o = { listen: '127.0.0.1:0', tokenFile: TOKEN_FILE, json: true, tlsCert: f.cert };
    await assert.rejects(web({ ...o, tlsKey: f.looseKey }, ctx), (e: unknown) => e instanceof UsageError && e.message.startsWith(`invalid --tls-key '${f.looseKey}'`));
    await assert.rejects(web({ ...o, tlsKey: f.otherKey }, ctx), (e: unknown) => e instanceof UsageError && e.message.startsWith(`invalid --tls-key '${f.otherKey}': not the key of ${f.cert}`));
    await assert.rejects(web({ ...o, tlsCert: f.key, tlsKey: f.key }, ctx), (e: unknown) => e instanceof UsageError && e.message.startsWith(`invalid --tls-cert '${f.key}': no PEM certificate`));
    assert.equal(existsSync(path.join(root, TOKEN_FILE)), false);
  });
});

test('a good certificate and key: the page over HTTPS, with HSTS', { timeout: 30000 }, async () => {
  await withFiles(async (root, f) => {
    const ctx = testContext(root);
    const stop = new AbortController();
    let listening!: (url: string) => void;
    const url = new Promise<string>((resolve) => (listening = resolve));
    const running = web({ listen: '127.0.0.1:0', tokenFile: TOKEN_FILE, json: true, tlsCert: f.cert, tlsKey: f.key, doctorSeconds: 3600 }, ctx, { signal: stop.signal, onListening: listening });
    try {
      const u = await Promise.race([url, running.then(() => assert.fail('web stopped before listening'))]);
      assert.match(u, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      const ca = await readFile(f.cert, 'utf8');
      const res = await new Promise<{ status: number; hsts: string | undefined }>((resolve, reject) => {
        https.get(u, { ca }, (r) => (r.resume(), resolve({ status: r.statusCode ?? 0, hsts: r.headers['strict-transport-security'] }))).on('error', reject);
      });
      assert.deepEqual(res, { status: 200, hsts: 'max-age=31536000' });
    } finally {
      stop.abort();
    }
    assert.equal((await running).stoppedBy, 'abort');
  });
});
