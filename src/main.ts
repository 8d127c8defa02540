import { statSync } from 'node:fs';
import path from 'node:path';
import { CommanderError } from 'commander';
import { parseArgs, type Invocation } from './cli.ts';
import type { Context } from './context.ts';
import { nodeFileSystem } from './adapters/fs.ts';
import { execaRunner } from './adapters/runner.ts';
import { inquirerPrompter, noPrompter } from './adapters/prompt.ts';
import { colorWanted, createLogger, type Logger } from './adapters/log.ts';
import { ExitCode, NAGIOS_UNKNOWN, ToolError, UninstallFailedError, UsageError } from './errors.ts';

/** interactive = flag ?? (stdin is a terminal and CI is not set); never with --yes or --json. */
export function isInteractive(inv: Invocation, env: Record<string, string | undefined>, stdinTTY: () => boolean): boolean {
  if (inv.command === 'uninstall') return !inv.yes && !inv.global.json && !inv.dryRun && stdinTTY() && !env.CI;
  if (inv.command !== 'install') return false;
  if (inv.options.yes || inv.options.json || inv.options.dryRun) return false;
  if (inv.interactiveFlag !== undefined) return inv.interactiveFlag;
  return stdinTTY() && !env.CI;
}

/**
 * Runs the one command and prints its report; returns the exit code (doctor: 1 when a jail is
 * broken). Each command's code is loaded here, when it runs (dynamic import: its own chunk in the
 * bundle), so --help and --version load none of it.
 */
async function runInvocation(inv: Invocation, ctx: Context): Promise<number> {
  const print = (json: unknown, text: string): void => ctx.log.out(inv.global.json ? JSON.stringify(json, null, 2) : text);
  switch (inv.command) {
    case 'install': {
      const [{ install, formatInstallReport, installExitCode }, { interview }] = await Promise.all([import('./commands/install.ts'), import('./cli/interactive.ts')]);
      const r = await install(inv.options, ctx, interview);
      print(r, formatInstallReport(r));
      // Installed, but not protecting: a script (Ansible, cloud-init) must see it.
      return installExitCode(r);
    }
    case 'status': {
      const { status, formatStatus } = await import('./commands/status.ts');
      const r = await status(inv.jail ? { jail: inv.jail } : {}, ctx);
      print(r, formatStatus(r));
      return ExitCode.ok;
    }
    case 'unban': {
      const { unban } = await import('./commands/unban.ts');
      const r = await unban({ ip: inv.ip, ...(inv.jail ? { jail: inv.jail } : {}) }, ctx);
      print(r, r.unbanned ? `${r.ip} unbanned\n` : `${r.ip} was not banned\n`);
      return ExitCode.ok;
    }
    case 'web': {
      const { web } = await import('./commands/web.ts');
      const r = await web(inv.options, ctx);
      ctx.log.info(`web view stopped (${r.stoppedBy})`);
      return ExitCode.ok;
    }
    case 'uninstall': {
      const { formatUninstallReport, uninstall } = await import('./commands/uninstall.ts');
      const r = await uninstall({ purgePackages: inv.purgePackages, dryRun: inv.dryRun, yes: inv.yes }, ctx);
      print(r, formatUninstallReport(r));
      if (r.failures.length) throw new UninstallFailedError(r.failures.join('; '), r.fixes[0]);
      return ExitCode.ok;
    }
    case 'watch': {
      const { watch, formatWatchReport } = await import('./commands/watch.ts');
      const r = await watch(inv.options, ctx);
      print(r, formatWatchReport(r));
      return ExitCode.ok;
    }
    case 'doctor': {
      const [{ doctor }, { doctorExitCode, formatDoctor, nagiosStatusLine }] = await Promise.all([import('./commands/doctor.ts'), import('./core/doctor/report.ts')]);
      const r = await doctor(inv.options, ctx);
      print(r, inv.options.nagios ? `${nagiosStatusLine(r)}\n${formatDoctor(r, { nagios: true })}` : formatDoctor(r));
      return doctorExitCode(r.verdict, inv.options.nagios);
    }
  }
}

function checkRoot(root: string): string {
  const abs = path.resolve(root);
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(abs);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) throw new UsageError(`invalid --root '${root}': not an existing directory`);
  return abs;
}

/** The one error boundary: maps typed errors to the documented exit codes. */
export async function main(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  const tty = Boolean(process.stderr.isTTY);
  const color = colorWanted(env, tty);
  const log: Logger = createLogger({ tty, color });
  // doctor --nagios: a doctor that could not check is UNKNOWN (3), whatever stopped it.
  const nagios = argv.includes('doctor') && (argv.includes('--nagios') || /^(1|true|yes|on)$/i.test(env.VOIP_F2B_NAGIOS ?? ''));
  // The plugin's status line goes to stdout (what Nagios reads); the message stays on stderr too.
  const unknown = (code: number, why: string): number => {
    if (!nagios || code === ExitCode.ok) return code;
    process.stdout.write(`VOIP-F2B UNKNOWN - ${why.split('\n')[0]}\n`);
    return NAGIOS_UNKNOWN;
  };
  try {
    const inv = parseArgs(argv, env);
    // Usage errors before anything else (a refused --listen must not even read the root).
    if (inv.command === 'web') (await import('./commands/web.ts')).checkListen(inv.options);
    const root = checkRoot(inv.global.root);
    const interactive = isInteractive(inv, env, () => Boolean(process.stdin.isTTY));
    const ctx: Context = {
      root,
      live: root === '/',
      fs: nodeFileSystem(root),
      run: execaRunner(env),
      prompt: interactive ? inquirerPrompter() : noPrompter(),
      log,
      env,
      dryRun: inv.command === 'install' ? inv.options.dryRun : inv.command === 'uninstall' ? inv.dryRun : false,
      interactive,
      uid: process.getuid?.() ?? 0,
      now: () => new Date(),
    };
    const code = await runInvocation(inv, ctx);
    log.close();
    return code;
  } catch (err) {
    log.close();
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      // Commander already printed its one-line message.
      const code = unknown(ExitCode.usage, `bad usage: ${err.message.replace(/^error: /, '')}`);
      process.stderr.write(`voip-f2b-install: see 'voip-f2b-install --help' (exit ${code})\n`);
      return code;
    }
    if (err instanceof ToolError) {
      const first = `voip-f2b-install: ${err.message}`;
      process.stderr.write(`${first}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
      return unknown(err.exitCode, err.message);
    }
    process.stderr.write(`voip-f2b-install: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    return unknown(ExitCode.failed, `unexpected error: ${(err as Error)?.message ?? String(err)}`);
  }
}
