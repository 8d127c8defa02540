#!/usr/bin/env node
// The command's shim. CommonJS on purpose (bin/package.json says so): Node starts a CommonJS
// file without its ESM loader, so `--help` and `--version` cost no more than `node -e 0`. They
// are answered from dist/help.json (commander's own text, rendered by the build); everything else
// loads the bundle, dist/cli.cjs, CommonJS too (no ES module loader at all).
// Written for old Nodes to parse (no `??`, no top-level await): an old Node must reach the
// version check and exit 3 with one clear line, not a SyntaxError.
'use strict';
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 18 || (major === 18 && minor < 19)) {
  process.stderr.write(
    `voip-f2b-install: Node ${process.versions.node} is too old; Node 18.19 or later is required (exit 3)\n`,
  );
  process.exit(3);
}
const args = process.argv.slice(2);
const arg = args.length === 1 ? args[0] : '';
let text = null;
if (arg === '--help' || arg === '-h' || arg === '--version' || arg === '-V') {
  try {
    text = require('../dist/help.json');
  } catch (e) {
    text = null; // no rendered text (a dev tree): commander answers
  }
}
// The rendered help is 80 columns wide; a narrower terminal gets commander's own wrapping.
// (process.stdout is only touched here: making it loads Node's stream modules, which the bundle
// does without.)
const wide = function () {
  return !process.stdout.isTTY || (process.stdout.columns || 80) >= 80;
};
if (text && (arg === '--version' || arg === '-V')) process.stdout.write(`${text.version}\n`);
else if (text && wide()) process.stdout.write(text.help);
else require('../dist/cli.cjs');
