// Bundle entry: run the CLI and leave the exit code for Node to use (no process.exit, so
// pending output is flushed).
//
// Start fast: the bin shim (bin/voip-f2b-install.js, CommonJS) answers `--help` and `--version`
// alone from dist/help.json without loading this bundle. Everything else loads the bundle,
// dist/cli.cjs (CommonJS: no ES module loader); each command's code runs only when it is the
// command, and execa, @inquirer/prompts and diff are files of their own, required when used.
import { main } from './main.ts';

void main(process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
