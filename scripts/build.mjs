#!/usr/bin/env node
// Bundles the CLI and all of its dependencies into ESM files under dist/ (dist/cli.js, the
// entry, and dist/chunks/*.js, loaded on demand), so that the packed tarball installs nothing
// and the directory can be copied to an offline server. Code splitting keeps start-up small:
// main.ts (with commander), each command, execa, @inquirer/prompts and diff are chunks loaded
// by dynamic import() only when used. --help and --version are answered by the CommonJS bin
// shim from dist/help.json, which this script renders with commander itself after the build.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

const dist = new URL('../dist/', import.meta.url);
// A stale chunk from an earlier build must not ship: dist/ starts empty.
await rm(dist, { recursive: true, force: true });
await build({
  entryPoints: { cli: new URL('../src/entry.ts', import.meta.url).pathname },
  outdir: dist.pathname,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18.19',
  minify: false,
  legalComments: 'none',
  define: { __VERSION__: JSON.stringify(pkg.version) },
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});

// The text the bin shim answers `--help` and `--version` with, rendered once by commander itself
// from the bundle just built (so it is exactly `voip-f2b-install help`).
const r = spawnSync(process.execPath, [new URL('cli.js', dist).pathname, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
if (r.status !== 0 || !r.stdout.includes('Usage:')) throw new Error(`rendering --help failed (exit ${r.status}): ${r.stderr}`);
await writeFile(new URL('help.json', dist), `${JSON.stringify({ version: pkg.version, help: r.stdout })}\n`);
