/**
 * Issue 22, "tests that need root, strace, tmux or the registry say so in their place": every
 * unit test file whose code needs more than node and a temp directory starts with a header line
 * `// needs: <word>, …` naming exactly what it needs (see CONTRIBUTING "What a test needs"). This
 * file finds the needs from the code itself and fails on a file that forgot one, or names one it
 * no longer has. The unit layer keeps running as a whole (`npm run test:unit`); the header says
 * which of its tests skip where (no root, no tmux) or change shared state (the registry).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

const DIR = new URL('./', import.meta.url);
const SELF = 'test-needs.test.ts';

/** Each need and how its use shows in a test's code (this file is not scanned: it names them all). */
const NEEDS: Record<string, RegExp> = {
  // It checks that it runs as root (owners, chown, setpriv, the web command), and skips otherwise.
  root: /getuid\?\.\(\)\s*[!=]==\s*0/,
  // It drives the built CLI in a real terminal (test/helpers/tty.ts runs tmux).
  tmux: /['"]tmux['"]|\bTerminal\.start\(/,
  // It runs a program under strace (fault injection, syscall traces).
  strace: /\(\s*['"]strace['"]/,
  // It makes network or mount namespaces (ip netns, unshare, nsenter, the netns/PBX host helpers).
  netns: /['"](unshare|nsenter|netns)['"]|\bip netns\b|helpers\/(netns|pbx-host|chroot)\.ts/,
  // It adds to or removes from the service registry that every other test in the process sees.
  registry: /SERVICE_MODULES\.(push|splice|unshift|pop|shift|length\s*=)/,
};

/** The needs a file declares in its first lines (`// needs: root, tmux`), or null without a header. */
export function declaredNeeds(text: string): string[] | null {
  const m = /^\/\/ needs: (.+)$/m.exec(text.split('\n').slice(0, 3).join('\n'));
  return m ? m[1]!.split(',').map((s) => s.trim()).filter(Boolean).sort() : null;
}

/** The needs its code shows. */
export function detectedNeeds(text: string): string[] {
  return Object.entries(NEEDS)
    .filter(([, re]) => re.test(text))
    .map(([need]) => need)
    .sort();
}

test('the detection sees each need in the shapes the tests use, and nothing in a plain test', () => {
  assert.deepEqual(detectedNeeds(`const isRoot = process.getuid?.() === 0;\nspawnSync('str' + 'ace')`), ['root']);
  assert.deepEqual(detectedNeeds(`const HAS = spawnSync('tmux', ['-V']);`), ['tmux']);
  assert.deepEqual(detectedNeeds(`const t = Terminal.start([BIN]);`), ['tmux']);
  assert.deepEqual(detectedNeeds(`await run('strace', ['-f']);`), ['strace']);
  assert.deepEqual(detectedNeeds(`sh('ip', ['netns', 'add', 'd2-x']);`), ['netns']);
  assert.deepEqual(detectedNeeds(`SERVICE_MODULES.push(yate);`), ['registry']);
  assert.deepEqual(detectedNeeds(`import { buildContext } from '../helpers/context.ts';\n// the live host with strace\nprocess.getuid!()`), []);
  assert.deepEqual(declaredNeeds('// needs: tmux, root\n/**\n'), ['root', 'tmux']);
  assert.equal(declaredNeeds('/**\n * needs: root\n */'), null);
});

test('every unit test file says in its first line what it needs beyond node and a temp directory, and only that', () => {
  const problems: string[] = [];
  const files = readdirSync(DIR).filter((f) => f.endsWith('.test.ts') && f !== SELF);
  assert.ok(files.length > 10, `found only ${files.length} test files`);
  for (const f of files) {
    const text = readFileSync(new URL(f, DIR), 'utf8');
    const want = detectedNeeds(text);
    const said = declaredNeeds(text);
    for (const n of said ?? []) if (!(n in NEEDS)) problems.push(`${f}: "// needs:" names ${n}; known: ${Object.keys(NEEDS).join(', ')}`);
    if (!want.length && said === null) continue;
    if (JSON.stringify(want) !== JSON.stringify(said ?? [])) {
      problems.push(`${f}: its first line must be "// needs: ${want.join(', ') || '(remove the line)'}"${said ? ` (it says: ${said.join(', ')})` : ''}`);
    }
  }
  assert.deepEqual(problems, []);
});
