/**
 * Start fast: --help and --version load no bundle code at all. The bin shim is CommonJS
 * (bin/package.json), so Node starts it without its ESM loader, and it answers both from
 * dist/help.json, the text commander rendered at build time. Everything else loads dist/cli.cjs,
 * CommonJS too (no ES module loader); execa, @inquirer/prompts and diff are files of their own
 * (dist/lib/) required only when used. Proof: a copy of the package holding only bin/,
 * package.json and dist/help.json answers --help and --version; the shim is CommonJS; the bundle
 * holds no execa, inquirer or diff and never starts Node's ES module loader; `help` through
 * commander and a no-op re-run load dist/cli.cjs alone, and the re-run starts no process; a
 * --dry-run that shows a diff loads dist/lib/diff.cjs and nothing else; the full build's --help
 * is commander's own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO, ensureBuilt } from '../helpers/cli.ts';

/** child_process functions that start a process; the preload hook records every call of them. */
const STARTS = ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork'];

/**
 * Runs the built CLI with a preload hook and returns the files of this package it loaded
 * (relative to the repo), whether Node's ES module loader was started, and the programs it
 * started through child_process.
 */
function loadedBy(args: string[]): { status: number | null; out: string; files: string[]; esmLoader: boolean; started: string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'voip-f2b-loaded-'));
  try {
    const hook = path.join(dir, 'hook.cjs');
    const list = path.join(dir, 'loaded.json');
    writeFileSync(
      hook,
      `const started = [];
const cp = require('child_process');
for (const k of ${JSON.stringify(STARTS)}) { const f = cp[k]; cp[k] = function (...a) { started.push(String(a[0])); return f.apply(this, a); }; }
process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(list)}, JSON.stringify({ files: Object.keys(require.cache), modules: process.moduleLoadList, started })));\n`,
    );
    const r = spawnSync(process.execPath, ['-r', hook, path.join(REPO, 'bin/voip-f2b-install.js'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const got = JSON.parse(readFileSync(list, 'utf8')) as { files: string[]; modules: string[]; started: string[] };
    const files = got.files.filter((f) => f.startsWith(REPO) && f !== hook).map((f) => path.relative(REPO, f)).sort();
    const builtins = got.modules.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
    return { status: r.status, out: r.stdout + r.stderr, files, esmLoader: builtins.includes('internal/modules/esm/loader'), started: got.started };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('--help and --version run from the CommonJS shim and dist/help.json alone; the bundle is CommonJS and loads execa, inquirer and diff only when used', () => {
  ensureBuilt();
  const bundle = readFileSync(path.join(REPO, 'dist/cli.cjs'), 'utf8');
  for (const marker of ['// node_modules/execa/', '// node_modules/@inquirer/', '// node_modules/diff/']) assert.ok(!bundle.includes(marker), `${marker} is in the bundle`);
  // No import() left for Node's ES module loader: the libraries are require()d.
  assert.doesNotMatch(bundle, /\bimport\(/);
  console.log(`# start-up loads dist/cli.cjs, ${(Buffer.byteLength(bundle) / 1024).toFixed(0)} KiB`);

  const help = loadedBy(['help']);
  assert.equal(help.status, 0, help.out);
  assert.deepEqual(help.files, ['bin/voip-f2b-install.js', 'dist/cli.cjs']);
  assert.equal(help.esmLoader, false, 'help started the ES module loader');

  const root = mkdtempSync(path.join(tmpdir(), 'voip-f2b-startup-root-'));
  try {
    mkdirSync(path.join(root, 'etc/asterisk'), { recursive: true });
    cpSync(path.join(REPO, 'test/fixtures/os-release/debian-12'), path.join(root, 'etc/os-release'));
    writeFileSync(path.join(root, 'etc/asterisk/asterisk.conf'), '[directories]\nastetcdir => /etc/asterisk\nastlogdir => /var/log/asterisk\n');
    const args = ['--root', root, '--services', 'asterisk', '--whitelist', '203.0.113.7', '--yes'];
    const first = loadedBy(args);
    assert.equal(first.status, 0, first.out);
    const noop = loadedBy(args);
    assert.equal(noop.status, 0, noop.out);
    assert.match(noop.out, /Nothing to do/);
    assert.deepEqual(noop.files, ['bin/voip-f2b-install.js', 'dist/cli.cjs']);
    assert.equal(noop.esmLoader, false, 'a no-op re-run started the ES module loader');
    // A re-run that changes nothing starts no process (test/real/10-install proves the same on
    // the live host with strace).
    assert.deepEqual(noop.started, [], 'a no-op re-run over --root started a process');
    const dry = loadedBy(['--root', root, '--services', 'asterisk', '--whitelist', '203.0.113.8', '--dry-run']);
    assert.equal(dry.status, 0, dry.out);
    assert.match(dry.out, /^\+ignoreip = .*203\.0\.113\.8$/m);
    assert.deepEqual(dry.files, ['bin/voip-f2b-install.js', 'dist/cli.cjs', 'dist/lib/diff.cjs']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }

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
