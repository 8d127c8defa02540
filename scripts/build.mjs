#!/usr/bin/env node
// Bundles the CLI and all of its dependencies into CommonJS files under dist/, so that the packed
// tarball installs nothing and the directory can be copied to an offline server:
//   dist/cli.cjs        the program (our code and commander); each command's code runs only
//                       when that command runs (esbuild's lazy module initialisers);
//   dist/lib/*.cjs      execa, @inquirer/prompts and diff, each required only when used.
// CommonJS on purpose: Node loads it without its ES module loader (resolution by URL, module
// jobs, linking), which cost a no-op re-run ~15 ms of its ~50 ms above bare `node`. The sources
// stay ES modules; `import.meta.url` is the bundle's own file URL.
// --help and --version are answered by the CommonJS bin shim from dist/help.json, which this
// script renders with commander itself after the build.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
const repo = new URL('..', import.meta.url).pathname;
const dist = new URL('../dist/', import.meta.url);

/** Dependencies loaded on demand: package → its file under dist/lib/. */
const LIBS = { execa: 'execa', '@inquirer/prompts': 'prompts', diff: 'diff' };

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18.19',
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: repo,
  // The sources are ES modules, which are strict; so is the bundle.
  banner: { js: "'use strict';" },
};

// A stale file from an earlier build must not ship: dist/ starts empty.
await rm(dist, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: ['src/entry.ts'],
  outfile: new URL('cli.cjs', dist).pathname,
  // import.meta.url: the bundle's own file URL (the sources find templates/ and the web view's
  // files from it).
  define: { __VERSION__: JSON.stringify(pkg.version), 'import.meta.url': '__bundle_url' },
  banner: { js: "'use strict';\nconst __bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [
    {
      name: 'libs-on-demand',
      setup(b) {
        // `import('execa')` becomes a require() of dist/lib/execa.cjs when the import runs (an
        // import() left in the bundle would start the ES module loader for it).
        b.onResolve({ filter: new RegExp(`^(${Object.keys(LIBS).map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`) }, (a) => ({ path: a.path, namespace: 'lib' }));
        b.onLoad({ filter: /.*/, namespace: 'lib' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(`./lib/${LIBS[a.path]}.cjs`)});`, loader: 'js' }));
        b.onResolve({ filter: /^\.\/lib\//, namespace: 'lib' }, (a) => ({ path: a.path, external: true }));
      },
    },
  ],
});
for (const [name, file] of Object.entries(LIBS)) {
  await build({
    ...common,
    stdin: { contents: `export * from ${JSON.stringify(name)};`, resolveDir: repo, loader: 'js' },
    outfile: new URL(`lib/${file}.cjs`, dist).pathname,
  });
}

// The text the bin shim answers `--help` and `--version` with, rendered once by commander itself
// from the bundle just built (so it is exactly `voip-f2b-install help`).
const r = spawnSync(process.execPath, [new URL('cli.cjs', dist).pathname, '--help'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
if (r.status !== 0 || !r.stdout.includes('Usage:')) throw new Error(`rendering --help failed (exit ${r.status}): ${r.stderr}`);
await writeFile(new URL('help.json', dist), `${JSON.stringify({ version: pkg.version, help: r.stdout })}\n`);
