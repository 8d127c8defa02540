/**
 * Start fast: --help and --version load no bundle code at all. The bin shim is CommonJS
 * (bin/package.json), so Node starts it without its ESM loader, and it answers both from
 * dist/help.json, the text commander rendered at build time. Everything else loads dist/cli.js,
 * which is split too: main.ts with commander, each command, execa, @inquirer/prompts and diff
 * are chunks loaded by import() when used. Proof: a copy of the package holding only bin/,
 * package.json and dist/help.json answers --help and --version; the shim is CommonJS; none of
 * dist/cli.js's statically loaded files holds commander, a command, execa, inquirer or diff; the
 * full build's --help is commander's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, ensureBuilt } from '../helpers/cli.ts';

/** dist files reachable from dist/cli.js through static `import … from "./…"` only. */
function staticClosure(): string[] {
  const seen = new Set<string>();
  const visit = (rel: string): void => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const text = readFileSync(path.join(REPO, 'dist', rel), 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s*["'](\.{1,2}\/[^"']+)["']/gm)) visit(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1]!)));
    for (const m of text.matchAll(/^import\s*["'](\.{1,2}\/[^"']+)["']/gm)) visit(path.posix.normalize(path.posix.join(path.posix.dirname(rel), m[1]!)));
  };
  visit('cli.js');
  return [...seen];
}

test('--help and --version run from the CommonJS shim and dist/help.json alone; the bundle loads no command, execa, inquirer or diff at start', () => {
  ensureBuilt();
  const files = staticClosure();
  const text = files.map((f) => readFileSync(path.join(REPO, 'dist', f), 'utf8')).join('\n');
  for (const marker of ['// src/commands/', '// node_modules/commander/', '// node_modules/execa/', '// node_modules/@inquirer/', '// node_modules/diff/', '// src/adapters/apply.ts', '// src/core/install-plan.ts']) {
    assert.ok(!text.includes(marker), `${marker} is loaded at start-up`);
  }
  console.log(`# start-up loads ${files.length} file(s), ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB`);

  const tmp = mkdtempSync(path.join(tmpdir(), 'voip-f2b-startup-'));
  try {
    cpSync(path.join(REPO, 'bin'), path.join(tmp, 'bin'), { recursive: true });
    cpSync(path.join(REPO, 'package.json'), path.join(tmp, 'package.json'));
    mkdirSync(path.join(tmp, 'dist'));
    cpSync(path.join(REPO, 'dist/help.json'), path.join(tmp, 'dist/help.json'));
    // CommonJS: Node's module type for the shim, and nothing ESM in it (no import statement).
    assert.equal(JSON.parse(readFileSync(path.join(REPO, 'bin/package.json'), 'utf8')).type, 'commonjs');
    assert.doesNotMatch(readFileSync(path.join(REPO, 'bin/voip-f2b-install.js'), 'utf8'), /^\s*(import|export)\s/m);
    const bin = path.join(tmp, 'bin/voip-f2b-install.js');
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Exit codes:/);
    const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')).version);

    // The full build: the pre-rendered --help is exactly commander's (`help` goes through it),
    // and everything else still goes through commander.
    const full = path.join(REPO, 'bin/voip-f2b-install.js');
    const viaCommander = spawnSync(process.execPath, [full, 'help'], { encoding: 'utf8' });
    assert.equal(viaCommander.status, 0, viaCommander.stderr);
    assert.equal(help.stdout, viaCommander.stdout);
    const installHelp = spawnSync(process.execPath, [full, 'install', '--help'], { encoding: 'utf8' });
    assert.equal(installHelp.status, 0, installHelp.stderr);
    assert.match(installHelp.stdout, /--services <list>.*sshd,asterisk,freeswitch,kamailio/s);
    assert.equal(spawnSync(process.execPath, [full, '--no-such-flag'], { encoding: 'utf8' }).status, 2);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
