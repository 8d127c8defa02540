#!/usr/bin/env node
// Tiny shim: refuse an old Node with one clear line (exit 3), then load the bundled CLI.
// Written for old Nodes to parse: no top-level await (a SyntaxError on Node < 14.8, e.g. Debian
// 11's Node 12, before the version check could run).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 18 || (major === 18 && minor < 19)) {
  process.stderr.write(
    `voip-f2b-install: Node ${process.versions.node} is too old; Node 18.19 or later is required (exit 3)\n`,
  );
  process.exit(3);
}
import('../dist/cli.js');
