import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { builtinModules } from 'node:module';
import { REPO } from '../helpers/cli.ts';

/**
 * The packed tarball, as a user gets it: `npm pack` (prepack builds), installed offline into an
 * empty directory and run through npx, under Node 18 (+ its npm 10) and the current Node; and the
 * bin shim's refusal of older Nodes, under real old Node binaries.
 *
 * The Node binaries come from the npm registry (node-<platform>-<arch>, the package that the
 * `node` package installs, without its install script) and npm 10 (what Node 18 ships), installed
 * once into .cache/ (gitignored), so reruns are fast.
 */
const CACHE = path.join(REPO, '.cache', 'pack-test');
const ARCH_PKG = `node-${process.platform}-${process.arch}`;
const NODES = { node18: `${ARCH_PKG}@18`, node1818: `${ARCH_PKG}@18.18.2`, node12: `${ARCH_PKG}@12` } as const;
const nodeBin = (alias: keyof typeof NODES): string => path.join(CACHE, 'node_modules', alias, 'bin', 'node');
const NPX18 = path.join(CACHE, 'node_modules', 'npm10', 'bin', 'npx-cli.js');
const NPX_CURRENT = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npx-cli.js');
const PKG = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string; dependencies?: object; files: string[] };
const DEBIAN12 = readFileSync(new URL('../fixtures/os-release/debian-12', import.meta.url), 'utf8');

let tmp = '';
let tgz = '';
let packed: { files: Array<{ path: string }>; size: number; entryCount: number } | undefined;
const figures: Record<string, string> = {};

function run(cmd: string, args: string[], o: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): SpawnSyncReturns<string> & { ms: number } {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: o.cwd ?? tmp,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: o.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' },
    timeout: o.timeoutMs ?? 120000,
  });
  return Object.assign(r, { ms: Date.now() - started });
}

/** An environment whose `node` (for the bin's `#!/usr/bin/env node`) is `node`, with its own npm cache. */
function envWithNode(node: string, cache: string): Record<string, string> {
  const dir = path.join(tmp, `path-${path.basename(path.dirname(path.dirname(node)))}`);
  if (!existsSync(dir)) {
    mkdirSync(dir);
    symlinkSync(node, path.join(dir, 'node'));
  }
  return { PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: tmp, npm_config_cache: cache, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

function ensureNodes(): void {
  const ready = (): boolean => (Object.keys(NODES) as Array<keyof typeof NODES>).every((a) => existsSync(nodeBin(a))) && existsSync(NPX18);
  if (ready()) return;
  mkdirSync(CACHE, { recursive: true });
  const specs = [...Object.entries(NODES).map(([alias, spec]) => `${alias}@npm:${spec}`), 'npm10@npm:npm@10'];
  // The one step that reaches the registry: npm as set up on this machine (its environment).
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const r = run('npm', ['install', '--prefix', CACHE, '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', ...specs], { cwd: REPO, env, timeoutMs: 300000 });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(ready(), 'node binaries and npm 10 installed');
}

before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'voip-f2b-pack-'));
  let t = Date.now();
  ensureNodes();
  figures['node binaries ready'] = `${Date.now() - t} ms`;
  // Pack a copy of the package sources (never rewriting the repo's dist/ under other tests'
  // feet); it has no dist/, so this also proves prepack builds.
  const src = path.join(tmp, 'src');
  mkdirSync(src);
  for (const p of ['package.json', 'README.md', '.gitignore', 'tsconfig.json', 'bin', 'templates', 'scripts', 'src']) {
    if (existsSync(path.join(REPO, p))) cpSync(path.join(REPO, p), path.join(src, p), { recursive: true });
  }
  symlinkSync(path.join(REPO, 'node_modules'), path.join(src, 'node_modules'));
  t = Date.now();
  const r = run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: src, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, npm_config_cache: path.join(tmp, 'npm-cache') } });
  assert.equal(r.status, 0, r.stderr);
  figures['npm pack (with the build)'] = `${Date.now() - t} ms`;
  packed = (JSON.parse(r.stdout) as Array<typeof packed & { filename: string }>)[0]!;
  tgz = path.join(tmp, (packed as unknown as { filename: string }).filename);
  assert.ok(existsSync(tgz));
  figures['tarball'] = `${packed!.size} bytes packed, ${packed!.entryCount} files`;
});

after(() => {
  if (process.env.VOIP_F2B_PACK_FIGURES) writeFileSync(process.env.VOIP_F2B_PACK_FIGURES, `${JSON.stringify(figures, null, 2)}\n`);
  if (tmp.startsWith(tmpdir())) rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds the bundle, the shim, the templates, README and package.json; no sources or tests', () => {
  const files = packed!.files.map((f) => f.path).sort();
  for (const f of ['package.json', 'README.md', 'bin/voip-f2b-install.js', 'bin/package.json', 'dist/cli.cjs', 'dist/help.json', 'templates/etc/fail2ban/jail.local']) assert.ok(files.includes(f), f);
  const filters = files.filter((f) => /^templates\/etc\/fail2ban\/filter\.d\/[^/]+\.conf$/.test(f));
  assert.deepEqual(filters, ['voip-asterisk', 'voip-freeswitch', 'voip-kamailio'].map((n) => `templates/etc/fail2ban/filter.d/${n}.conf`));
  // Every template of the repo is in it.
  const walk = (d: string): string[] => readdirSync(path.join(REPO, d), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${d}/${e.name}`) : [`${d}/${e.name}`]));
  for (const t of walk('templates')) assert.ok(files.includes(t), t);
  for (const f of files) assert.match(f, /^(package\.json|README\.md|bin\/[^/]+\.js|bin\/package\.json|dist\/cli\.cjs|dist\/help\.json|dist\/lib\/[\w-]+\.cjs|templates\/.+)$/, `unexpected file in the tarball: ${f}`);
  // The dependencies loaded on demand are files of their own, exactly these.
  assert.deepEqual(files.filter((f) => f.startsWith('dist/lib/')), ['dist/lib/diff.cjs', 'dist/lib/execa.cjs', 'dist/lib/prompts.cjs']);
  // What the tar itself holds is that list.
  const tar = run('tar', ['-tzf', tgz]);
  assert.deepEqual(tar.stdout.trim().split('\n').map((l) => l.replace(/^package\//, '')).sort(), files);
});

test('the package has no dependencies: everything is bundled into dist/ (cli.cjs and the libraries it requires on demand)', () => {
  assert.equal(PKG.dependencies, undefined);
  const inTarball = JSON.parse(run('tar', ['-xzOf', tgz, 'package/package.json']).stdout) as Record<string, unknown>;
  for (const k of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies']) assert.equal(inTarball[k], undefined, k);
  const dist = packed!.files.map((f) => f.path).filter((f) => f.startsWith('dist/'));
  assert.ok(dist.includes('dist/cli.cjs'));
  const bundle = dist.map((f) => run('tar', ['-xzOf', tgz, `package/${f}`]).stdout).join('\n');
  // Only Node built-ins are imported by the bundle (static imports, require() and import()
  // calls), besides its own files (relative paths that are in the tarball).
  const imports = [
    ...[...bundle.matchAll(/^\s*import\s[^;]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1]!),
    ...[...bundle.matchAll(/\b(?:require|import)\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!),
  ];
  assert.ok(imports.length > 5);
  for (const i of new Set(imports)) {
    if (i.startsWith('./') || i.startsWith('../')) {
      const base = path.posix.basename(i);
      assert.ok(dist.some((f) => path.posix.basename(f) === base), `the bundle imports ${i}, which is not in the tarball`);
      continue;
    }
    assert.ok(builtinModules.includes(i.replace(/^node:/, '')), `the bundle imports ${i}, which is not a Node built-in`);
  }
});

for (const which of ['Node 18', 'current Node'] as const) {
  test(`installed offline into an empty directory, it runs under ${which}: --help, --version, --dry-run --root; templates from the package`, () => {
    const node = which === 'Node 18' ? nodeBin('node18') : process.execPath;
    if (which === 'Node 18') {
      const v = run(node, ['--version']).stdout.trim();
      const [maj, min] = v.slice(1).split('.').map(Number);
      assert.ok(maj === 18 && min! >= 19, `Node 18 >= 18.19: got ${v}`);
    }
    const app = path.join(tmp, `app-${which.replace(/\W/g, '')}`);
    mkdirSync(app);
    // --offline with an empty cache: any dependency to fetch would fail the install.
    const env = envWithNode(node, path.join(app, '.npm-cache'));
    const inst = run(which === 'Node 18' ? node : process.execPath, [which === 'Node 18' ? path.join(CACHE, 'node_modules', 'npm10', 'bin', 'npm-cli.js') : path.join(path.dirname(NPX_CURRENT), 'npm-cli.js'), 'install', '--offline', tgz], { cwd: app, env });
    assert.equal(inst.status, 0, inst.stderr);
    assert.deepEqual(readdirSync(path.join(app, 'node_modules')).sort(), ['.bin', '.package-lock.json', 'voip-f2b-install'], 'nothing else installed');
    const bin = path.join(app, 'node_modules', '.bin', 'voip-f2b-install');

    // Through the .bin link and `#!/usr/bin/env node`, i.e. the PATH's node.
    const help = run(bin, ['--help'], { env });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: voip-f2b-install/);
    assert.match(help.stdout, /Exit codes:/);
    figures[`--help under ${which}`] = `${help.ms} ms`;
    assert.equal(run(bin, ['--version'], { env }).stdout.trim(), PKG.version);

    // The installed templates are the ones read: mark the installed jail.local template.
    appendFileSync(path.join(app, 'node_modules', 'voip-f2b-install', 'templates', 'etc', 'fail2ban', 'jail.local'), '# installed-template-marker\n');
    const root = path.join(app, 'host');
    mkdirSync(path.join(root, 'etc', 'asterisk'), { recursive: true });
    writeFileSync(path.join(root, 'etc', 'os-release'), DEBIAN12);
    writeFileSync(path.join(root, 'etc', 'asterisk', 'asterisk.conf'), '[directories]\n');
    const dry = run(bin, ['--dry-run', '--root', root, '--whitelist', '203.0.113.7'], { env });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /CREATE\s+\/etc\/fail2ban\/jail\.local/);
    assert.match(dry.stdout, /CREATE\s+\/etc\/fail2ban\/filter\.d\/voip-asterisk\.conf/);
    assert.match(dry.stdout, /^\+# installed-template-marker$/m, 'templates come from the installed package');
    assert.match(dry.stdout, /Dry run: nothing was changed/);
    assert.deepEqual(readdirSync(path.join(root, 'etc')).sort(), ['asterisk', 'os-release']);
  });
}

for (const which of ['Node 18 and its npm 10', 'current Node and npm'] as const) {
  test(`npx --yes <tarball> under ${which}: runs offline, installs only the package`, () => {
    const node = which.startsWith('Node 18') ? nodeBin('node18') : process.execPath;
    const npx = which.startsWith('Node 18') ? NPX18 : NPX_CURRENT;
    const cache = path.join(tmp, `npx-cache-${which.replace(/\W/g, '')}`);
    const env = envWithNode(node, cache);
    // As the README says: `npx --yes ./voip-f2b-install-<v>.tgz` (the ./ makes it a package).
    const r = run(node, [npx, '--yes', '--offline', `./${path.basename(tgz)}`, '--help'], { cwd: tmp, env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: voip-f2b-install/);
    figures[`npx --help under ${which}`] = `${r.ms} ms`;
    const npxDirs = readdirSync(path.join(cache, '_npx'));
    assert.equal(npxDirs.length, 1);
    assert.deepEqual(
      readdirSync(path.join(cache, '_npx', npxDirs[0]!, 'node_modules')).filter((n) => !n.startsWith('.')),
      ['voip-f2b-install'],
      'npx installed nothing but the package',
    );

    // install --web from npx's cache: the web view's service gets its own copy of the package,
    // which still runs once the cache is cleaned (npm cache clean, a new npx version).
    const root = path.join(tmp, `web-host-${which.replace(/\W/g, '')}`);
    mkdirSync(path.join(root, 'etc', 'asterisk'), { recursive: true });
    writeFileSync(path.join(root, 'etc', 'os-release'), DEBIAN12);
    writeFileSync(path.join(root, 'etc', 'asterisk', 'asterisk.conf'), '[directories]\n');
    const web = run(node, [npx, '--yes', '--offline', `./${path.basename(tgz)}`, '--web', '--yes', '--root', root, '--whitelist', '203.0.113.7'], { cwd: tmp, env });
    assert.equal(web.status, 0, web.stderr);
    const copy = path.join(root, 'usr', 'local', 'lib', 'voip-f2b-install');
    const walk = (d: string): string[] => readdirSync(path.join(copy, d), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(`${d}${e.name}/`) : [`${d}${e.name}`]));
    const expected = packed!.files.map((f) => f.path).filter((f) => f !== 'README.md').sort();
    assert.deepEqual(walk('').sort(), expected, 'the copy is the package (README aside)');
    assert.match(web.stdout, new RegExp(`CREATE +/usr/local/lib/voip-f2b-install/ +\\(the web view's program \\(${expected.length} files\\)\\)`));
    assert.match(web.stdout, /start the web view \(and again after every boot\): \/\S+\/node \/usr\/local\/lib\/voip-f2b-install\/bin\/voip-f2b-install\.js web --listen 127\.0\.0\.1:8473/);
    rmSync(cache, { recursive: true, force: true });
    const v = run(node, [path.join(copy, 'bin', 'voip-f2b-install.js'), '--version'], { env });
    assert.equal(v.stdout.trim(), PKG.version, v.stderr);
    const dry = run(node, [path.join(copy, 'bin', 'voip-f2b-install.js'), '--dry-run', '--web', '--root', root, '--whitelist', '203.0.113.7'], { env });
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /UNCHANGED +\/usr\/local\/lib\/voip-f2b-install\//, 'run from the copy, the copy is itself: unchanged');
    figures[`install --web copy under ${which}`] = `${expected.length} files`;
  });
}

for (const old of ['node12', 'node1818'] as const) {
  test(`the bin shim refuses a real older Node (${old === 'node12' ? "12.22, Debian 11's" : '18.18.2, just below 18.19'}) with one line and exit 3`, () => {
    const node = nodeBin(old);
    const version = run(node, ['--version']).stdout.trim().slice(1);
    const r = run(node, [path.join(REPO, 'bin', 'voip-f2b-install.js'), '--help']);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `voip-f2b-install: Node ${version} is too old; Node 18.19 or later is required (exit 3)\n`);
    // The same through npx with that Node first on the PATH (npx itself run by Node 18's npm).
    const viaNpx = run(nodeBin('node18'), [NPX18, '--yes', '--offline', `./${path.basename(tgz)}`, '--help'], { cwd: tmp, env: envWithNode(node, path.join(tmp, `npx-cache-${old}`)) });
    assert.equal(viaNpx.status, 3, viaNpx.stderr);
    assert.match(viaNpx.stderr, new RegExp(`^voip-f2b-install: Node ${version.replace(/\./g, '\\.')} is too old; Node 18\\.19 or later is required \\(exit 3\\)$`, 'm'));
  });
}
