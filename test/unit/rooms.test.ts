/**
 * The rooms of src/ and the direction of imports (docs/ARCHITECTURE.md), checked on the source:
 * pure logic (src/core, with the services, the editors and doctor's pure half) imports only
 * itself and the typed errors; the adapters never reach up into a feature or a command; the
 * features (doctor's run, the web view, the CLI's helpers) never import a command; commands/
 * holds commands only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const SRC = new URL('../../src/', import.meta.url).pathname;

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Every relative import of a file (static, re-export and dynamic), as paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm)].map((m) => m[2]!);
  return specs.map((s) => path.relative(SRC, path.resolve(path.dirname(file), s)));
}

const rel = (f: string): string => path.relative(SRC, f);

/** Which room a path under src/ is in. */
function room(p: string): string {
  if (p.startsWith('core/')) return 'core';
  if (p.startsWith('cli/')) return 'cli/';
  // A file at the top (main.ts, cli.ts, context.ts, errors.ts, entry.ts) is its own room.
  return p.includes('/') ? p.split('/')[0]! : p.replace(/\.ts$/, '');
}

/** What each room may import (besides itself). */
const MAY: Record<string, string[]> = {
  core: ['errors'],
  adapters: ['core', 'errors', 'context'],
  doctor: ['core', 'adapters', 'errors', 'context'],
  web: ['core', 'adapters', 'errors', 'context'],
  'cli/': ['core', 'adapters', 'errors', 'context'],
  commands: ['core', 'adapters', 'doctor', 'web', 'errors', 'context'],
};

/**
 * Deliberate exceptions, each with its reason. The web view's whitelist change is an install
 * run through the CLI's own parser (one parser for every way an entry arrives).
 */
const EXCEPTIONS = new Set(['commands/web.ts -> cli.ts']);

test('imports go one way: core is pure, adapters never reach up, no feature imports a command', () => {
  const wrong: string[] = [];
  for (const file of sources()) {
    const from = room(rel(file));
    const allowed = MAY[from];
    if (!allowed) continue; // the entry (main.ts, cli.ts, entry.ts) may import everything
    for (const to of importsOf(file)) {
      const r = room(to);
      if (r === from || allowed.includes(r) || EXCEPTIONS.has(`${rel(file)} -> ${to}`)) continue;
      wrong.push(`${rel(file)} -> ${to}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('commands/ holds commands only: each file exports its command function', () => {
  const dir = path.join(SRC, 'commands');
  const notCommands = readdirSync(dir).filter((name) => {
    const verb = name.replace(/\.ts$/, '');
    return !new RegExp(`^export (?:async )?function ${verb}\\(`, 'm').test(readFileSync(path.join(dir, name), 'utf8'));
  });
  assert.deepEqual(notCommands, []);
});
