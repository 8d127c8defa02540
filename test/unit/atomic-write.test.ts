import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { removeRoot, tempRoot } from '../helpers/context.ts';

/**
 * The process is killed (SIGKILL) at random moments while it rewrites one file over and over
 * with writeFileAtomic: the file must always be one whole version, never a partial one.
 */
test('no partial file if the process dies between write and rename', async () => {
  const root = await tempRoot();
  try {
    const target = path.join(root, 'jail.local');
    const A = `${'a'.repeat(1 << 20)}\n`; // 1 MiB: writes take long enough to be cut mid-way
    const B = `${'b'.repeat(1 << 19)}\n`;
    const child = `
      import { writeFileAtomic } from ${JSON.stringify(new URL('../../src/adapters/fs.ts', import.meta.url).href)};
      const A = 'a'.repeat(1 << 20) + '\\n', B = 'b'.repeat(1 << 19) + '\\n';
      await writeFileAtomic(${JSON.stringify(target)}, A);
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) await writeFileAtomic(${JSON.stringify(target)}, i % 2 ? A : B);
    `;
    for (let round = 0; round < 15; round++) {
      const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', child], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('child did not start')), 20000);
        p.stdout.once('data', () => {
          clearTimeout(t);
          resolve();
        });
      });
      await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 60)));
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
      const text = await readFile(target, 'utf8');
      assert.ok(text === A || text === B, `round ${round}: file is one whole version (length ${text.length})`);
    }
    // Leftovers are only our hidden temp files, never something fail2ban would read as config.
    for (const name of await readdir(root)) assert.ok(name === 'jail.local' || name === '.jail.local.voip-f2b.tmp', name);
  } finally {
    await removeRoot(root);
  }
});
