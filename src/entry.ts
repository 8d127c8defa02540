import { main } from './main.ts';

// Bundle entry: run the CLI and leave the exit code for Node to use (no process.exit, so
// pending output is flushed).
process.exitCode = await main(process.argv.slice(2), process.env);
