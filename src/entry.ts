// Bundle entry: run the CLI and leave the exit code for Node to use (no process.exit, so
// pending output is flushed).
//
// Start fast: the bin shim (bin/voip-f2b-install.js, CommonJS) answers `--help` and `--version`
// alone from dist/help.json without loading this bundle. Everything else loads main.ts and, from
// there, only the command it runs (each command, execa, @inquirer/prompts and diff are chunks).
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2), process.env);
