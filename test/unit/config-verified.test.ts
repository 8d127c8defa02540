/**
 * The "configuration already passed fail2ban-client -t" record (src/adapters/config-verified.ts)
 * is a fingerprint of the files' status, not their bytes. It must change on every edit an admin
 * or a tool can make, including those that keep the size and put the modification time back
 * (touch -d, tar, cp -p), a file replaced by a copy, a new or removed file, a mode change, and
 * another fail2ban version; and stay the same when nothing was touched or only Python's
 * __pycache__ changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fail2banConfigFingerprint } from '../../src/adapters/config-verified.ts';
import { removeRoot, tempRoot, testContext } from '../helpers/context.ts';

test('the fingerprint changes on every kind of edit, and only then', async () => {
  const root = await tempRoot({
    'etc/fail2ban/jail.local': '[DEFAULT]\nbantime = 1h\n',
    'etc/fail2ban/jail.d/a.local': '[sshd]\nenabled = false\n',
    'etc/fail2ban/action.d/voip-f2b-ipset.py': 'x = 1\n',
  });
  try {
    const ctx = testContext(root);
    const fp = (version = '1.0.2'): Promise<string> => fail2banConfigFingerprint(ctx, version);
    const p = (rel: string): string => path.join(root, 'etc/fail2ban', rel);
    let last = await fp();
    assert.equal(await fp(), last, 'nothing touched: same fingerprint');
    const changed = async (what: string): Promise<void> => {
      // Timestamps are taken from a coarse clock: let it tick, as any human or tool edit would.
      const now = await fp();
      assert.notEqual(now, last, `${what} was not seen`);
      last = now;
    };
    const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

    await tick();
    const jail = p('jail.local');
    const st = statSync(jail);
    writeFileSync(jail, '[DEFAULT]\nbantime = 9h\n'); // same size
    utimesSync(jail, st.atime, st.mtime); // modification time put back
    await changed('a same-size edit with its mtime put back (ctime)');

    await tick();
    copyFileSync(jail, `${jail}.new`);
    utimesSync(`${jail}.new`, st.atime, st.mtime);
    renameSync(`${jail}.new`, jail);
    await changed('a replacement by a copy with the same bytes and mtime (inode)');

    await tick();
    chmodSync(p('jail.d/a.local'), 0o600);
    await changed('a mode change');

    await tick();
    writeFileSync(p('jail.d/b.local'), '');
    await changed('a new empty file');

    await tick();
    rmSync(p('jail.d/b.local'));
    await changed('a removed file');

    assert.notEqual(await fp('1.1.0'), last, 'another fail2ban version was not seen');

    mkdirSync(p('action.d/__pycache__'));
    writeFileSync(p('action.d/__pycache__/voip-f2b-ipset.cpython-311.pyc'), 'bytecode');
    assert.equal(await fp(), last, "Python's byte-code cache counted as configuration");
    // No file's bytes are in it (it is a list of paths and numbers).
    assert.doesNotMatch(last, /bantime/);
    assert.match(last, /^fail2ban-config-status 1 1\.0\.2\n"\/etc\/fail2ban\/action\.d\/voip-f2b-ipset\.py" \d+ 6 /);
    assert.equal(readFileSync(jail, 'utf8'), '[DEFAULT]\nbantime = 9h\n');
  } finally {
    await removeRoot(root);
  }
});
