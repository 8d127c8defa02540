#!/usr/bin/env node
// Bundles the CLI and all of its dependencies into ESM files under dist/ (dist/cli.js, the
// entry, and dist/chunks/*.js, loaded on demand), so that the packed tarball installs nothing
// and the directory can be copied to an offline server. Code splitting keeps start-up small:
// main.ts (with commander), each command, execa, @inquirer/prompts and diff are chunks loaded
// by dynamic import() only when used; --help and --version are answered from text rendered by
// commander in a first build pass (see src/entry.ts).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));

const dist = new URL('../dist/', import.meta.url);
const options = (outdir, help) => ({
  entryPoints: { cli: new URL('../src/entry.ts', import.meta.url).pathname },
  outdir: outdir.pathname,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node18.19',
  minify: false,
  legalComments: 'none',
  define: { __VERSION__: JSON.stringify(pkg.version), ...(help === undefined ? {} : { __HELP__: JSON.stringify(help) }) },
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});

// Pass 1, in a temp directory: a bundle whose --help is commander's own, to render it once.
const tmp = await mkdtemp(path.join(tmpdir(), 'voip-f2b-build-'));
try {
  await build(options(pathToFileURL(`${tmp}/`), undefined));
  const r = spawnSync(process.execPath, [path.join(tmp, 'cli.js'), '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0 || !r.stdout.includes('Usage:')) throw new Error(`rendering --help failed (exit ${r.status}): ${r.stderr}`);

  // Pass 2: the real bundle, with that text, so that --help and --version load no command code
  // and not even commander. A stale chunk from an earlier build must not ship: dist/ starts empty.
  await rm(dist, { recursive: true, force: true });
  await build(options(dist, r.stdout));
} finally {
  await rm(tmp, { recursive: true, force: true });
}
