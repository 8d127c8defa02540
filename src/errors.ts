/**
 * Typed errors. Commands throw these; the one error boundary in main.ts maps them to the
 * documented exit codes and prints them. Nothing else calls process.exit.
 */

/** Documented exit codes (README "Exit codes", `--help`). */
export const ExitCode = {
  ok: 0,
  /** A step failed and every file was rolled back. */
  failed: 1,
  /** Bad usage or input; nothing was changed. */
  usage: 2,
  /** Unsupported environment (distro, not root); nothing was changed. */
  unsupported: 3,
  /** install: done (every file written, fail2ban running), but its doctor check found a jail broken. */
  doctorBroken: 4,
  /** Another run of the tool is changing this host (install, uninstall, the web view's change); nothing was changed. */
  busy: 5,
  /** Interrupted at a prompt (Ctrl-C); nothing was changed. */
  interrupted: 130,
} as const;

/** doctor --nagios: the plugin's UNKNOWN, for a doctor that could not check (bad argument, not root, an error). */
export const NAGIOS_UNKNOWN = 3;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: every error we raise on purpose carries its exit code. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flag or value: one line naming the value and what would be accepted. Exit 2. */
export class UsageError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/** The host is not one we support, or we lack the rights to act on it. Exit 3. */
export class UnsupportedError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.unsupported, hint);
  }
}

/** Ctrl-C at a prompt. Exit 130. */
export class InterruptedError extends ToolError {
  constructor() {
    super('interrupted; nothing was changed', ExitCode.interrupted);
  }
}

/** A command we ran failed. Carries the command line, exit code and stderr tail. */
export class CommandFailedError extends ToolError {
  constructor(
    readonly command: string,
    readonly commandExitCode: number,
    readonly stderrTail: string,
    what?: string,
  ) {
    super(
      `${what ?? 'command failed'}: \`${command}\` exited ${commandExitCode}` +
        (stderrTail ? `\n${stderrTail}` : ''),
      ExitCode.failed,
    );
  }
}

/** A conflict found while planning (a file we cannot edit safely); nothing was touched. Exit 1. */
export class PlanError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.failed, hint);
  }
}

/** A step after files were written failed; the files were restored. Exit 1. */
export class RolledBackError extends ToolError {
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message + (details.length ? `\n${details.join('\n')}` : ''), ExitCode.failed);
  }
}

/** uninstall restored the files but the host is not as it was (fail2ban no longer runs). Exit 1. */
export class UninstallFailedError extends ToolError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.failed, hint);
  }
}

/**
 * A file the tool was about to read, write, chmod or chown is not what it must be: a symbolic
 * link or a FIFO planted in a directory another account can write, a hard link, a file with an
 * unexpected owner. Refused before acting on it (src/adapters/fs.ts). Exit 1.
 */
export class UnsafePathError extends ToolError {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`refusing ${path}: ${why}`, ExitCode.failed, 'remove or fix that file (it is not one the tool made), then run again; nothing else was changed');
  }
}
