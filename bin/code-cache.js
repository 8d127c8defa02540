// Loads the bundle (dist/cli.cjs) with a V8 code cache: the bytecode of every function the last
// run compiled, so a run does not parse and compile ~400 KB of JavaScript again. That compiling
// was a no-op re-run's largest cost (~15 ms of ~150). Node 22 has this built in
// (module.enableCompileCache); Node 18 and 20, which Debian 12 and Ubuntu 24.04 run, do not.
//
// Where: /var/cache/voip-f2b-install/ (FHS: data the program can make again), for root only.
// The cache is code that runs as root, so it is used only from a directory and file owned by
// this user that nobody else can write (no group/other write bit, no symlink); anything else is
// ignored, never trusted. VOIP_F2B_CODE_CACHE=off turns it off; =<dir> puts it elsewhere (tests).
//
// Which: V8 checks its own version, flags and the source's length, not its content, so the file
// name carries the build's id (a SHA-256 prefix of the bundle, written by the build in its first
// line) and the bundle's size and mtime: another build or a hand-edited bundle never meets a
// cache that is not its own. V8 may still reject one (another Node); then it compiles as usual.
// One file per command, and per live run or run over --root: a cache holds only the functions
// its run compiled, so a cache made by `status` would leave an `install` to compile most of its
// code again.
//
// A re-run that changes nothing (the bundle says so: RE_RUN below) is the run that is made
// again and again, so its cache is the one kept: `<command>.re-run.bin` is read first, and a
// re-run that loaded the first run's cache (`<command>.bin`) writes it and removes that one.
// A fresh install's cache lacks what only a re-run compiles (the checks of a run with nothing to
// write), which each re-run then compiled again (~2 ms); V8 writes what a run loaded and what it
// compiled, so the re-run's cache holds both.
//
// When: written once at exit, when there was none, V8 rejected it, or it is a re-run's first
// (above), through a temp file and a rename (a killed run leaves a stray temp file, removed by
// the next write, never a torn cache); other builds' files are removed then. `uninstall` never
// writes it (it removes the directory).
// A cache that cannot be read or written only costs the time it would have saved.
// Written for old Nodes to parse, as the shim is.
'use strict';
const fs = require('fs');
const path = require('path');

const DEFAULT_DIR = '/var/cache/voip-f2b-install';
const COMMANDS = ['install', 'status', 'unban', 'uninstall', 'doctor', 'web', 'help'];
/** Set to true on the global object by the bundle when the run changed nothing (src/adapters/code-cache-hint.ts). */
const RE_RUN = Symbol.for('voip-f2b-install.re-run');
/** The cache's files and their temp files (src/adapters/manifest.ts removes the same on uninstall). */
const CACHE_FILE = /^cli-.*\.bin(\.\d+\.tmp)?$/;

/** The command a run is (the first argument that names one; install is the default). */
function commandOf(args) {
  for (let i = 0; i < args.length; i++) {
    if (COMMANDS.indexOf(args[i]) !== -1) return args[i];
  }
  return 'install';
}

/**
 * Whether the run is over another root (--root <dir>): its cache file is then its own. A run over
 * a tree never asks the host's fail2ban, so its cache lacks what a live run compiles: a live
 * re-run using a re-run cache made over --root (as a test suite leaves it) was ~2 ms slower than
 * with its own.
 */
function overRoot(args) {
  let root = '/';
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') break;
    if (args[i] === '--root' && i + 1 < args.length) root = args[i + 1];
    else if (args[i].indexOf('--root=') === 0) root = args[i].slice('--root='.length);
  }
  return path.resolve(root) !== '/';
}

function cacheDir(env) {
  const v = env.VOIP_F2B_CODE_CACHE;
  if (v === 'off' || v === '0') return null;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  return v ? path.resolve(v) : DEFAULT_DIR;
}

/** Owned by this user, not a symlink, nobody else may write it. */
function safe(st, dir) {
  return (dir ? st.isDirectory() : st.isFile()) && st.uid === process.getuid() && (st.mode & 0o022) === 0;
}

function lstatOrNull(p) {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    return null;
  }
}

/** Writes `file` (and removes `stale`, this build's cache of the other kind, when it was there). */
function write(dir, file, id, script, stale) {
  let tmp = null;
  try {
    const data = script.createCachedData();
    let st = lstatOrNull(dir);
    if (!st) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = lstatOrNull(dir);
    }
    if (!st || !safe(st, true)) return;
    tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    // The other kind goes before the rename: killed in between, the next run finds no cache and
    // writes one, rather than keeping a file nothing reads.
    if (stale) fs.rmSync(stale, { force: true });
    fs.renameSync(tmp, file);
    tmp = null;
    for (const name of fs.readdirSync(dir)) {
      // Other builds' files go; a copy of this build elsewhere (the web view's program: same bytes, another mtime) keeps its own.
      if (CACHE_FILE.test(name) && (name.indexOf(`cli-${id}-`) !== 0 || /\.tmp$/.test(name))) fs.unlinkSync(path.join(dir, name));
    }
  } catch (e) {
    if (tmp) {
      try {
        fs.unlinkSync(tmp);
      } catch (e2) {
        // nothing to clean
      }
    }
  }
}

/** Runs the bundle as `require(bundle)` would, with the code cache when there may be one. */
function run(bundle, args) {
  const dir = cacheDir(process.env);
  let source;
  let st;
  if (dir !== null) {
    try {
      source = fs.readFileSync(bundle, 'latin1'); // ASCII: the build checks it
      st = fs.statSync(bundle);
    } catch (e) {
      source = undefined;
    }
  }
  const id = source === undefined ? null : /^\/\/ voip-f2b-install build ([0-9a-f]{16})\n/.exec(source);
  if (dir === null || !id) {
    require(bundle);
    return;
  }
  const build = `cli-${id[1]}-${st.size}-${Math.floor(st.mtimeMs)}-`;
  const command = commandOf(args);
  const base = path.join(dir, `${build}${process.version}-${process.arch}-${command}${overRoot(args) ? '-root' : ''}`);
  const reRunFile = `${base}.re-run.bin`;
  const firstFile = `${base}.bin`;
  let file = null;
  let data;
  const dst = lstatOrNull(dir);
  if (dst && safe(dst, true)) {
    for (const f of [reRunFile, firstFile]) {
      const fst = lstatOrNull(f);
      if (!fst || !safe(fst, false)) continue;
      try {
        data = fs.readFileSync(f);
        file = f;
        break;
      } catch (e) {
        data = undefined;
      }
    }
  }
  const vm = require('vm');
  const Module = module.constructor;
  const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData: data });
  const m = new Module(bundle, module);
  m.filename = bundle;
  m.paths = Module._nodeModulePaths(path.dirname(bundle));
  require.cache[bundle] = m;
  const req = function (request) {
    return m.require(request);
  };
  req.resolve = function (request) {
    return Module._resolveFilename(request, m);
  };
  req.cache = require.cache;
  req.main = require.main;
  const rejected = data === undefined || script.cachedDataRejected;
  if (command !== 'uninstall' && (rejected || file !== reRunFile)) {
    process.once('exit', function () {
      // A re-run writes its own kind and drops the first run's; any other run writes the first
      // run's kind when it had none that V8 took (a rejected re-run cache goes too, or it would
      // be read, and rejected, by every run).
      if (global[RE_RUN] === true) write(dir, reRunFile, id[1], script, firstFile);
      else if (rejected) write(dir, firstFile, id[1], script, file === reRunFile ? reRunFile : null);
    });
  }
  script.runInThisContext().call(m.exports, m.exports, req, m, bundle, path.dirname(bundle));
  m.loaded = true;
}

module.exports = { run, DEFAULT_DIR, COMMANDS, RE_RUN, CACHE_FILE };
