// Bundle entry: run the CLI and leave the exit code for Node to use (no process.exit, so
// pending output is flushed).
//
// Start fast: `--help` and `--version` alone are answered from text the build rendered with
// commander itself (scripts/build.mjs, second pass), so they load neither commander nor any
// command code. Everything else loads main.ts and, from there, only the command it runs.
declare const __VERSION__: string | undefined;
declare const __HELP__: string | undefined;

const args = process.argv.slice(2);
const HELP = typeof __HELP__ === 'string' ? __HELP__ : undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : undefined;
// The rendered help is 80 columns wide; a narrower terminal gets commander's own wrapping.
const wideEnough = !process.stdout.isTTY || (process.stdout.columns ?? 80) >= 80;

if (HELP !== undefined && wideEnough && args.length === 1 && (args[0] === '--help' || args[0] === '-h')) {
  process.stdout.write(HELP);
} else if (VERSION !== undefined && HELP !== undefined && args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  const { main } = await import('./main.ts');
  process.exitCode = await main(args, process.env);
}
