import { InterruptedError, UsageError } from '../errors.ts';

export interface Choice {
  value: string;
  name: string;
  checked?: boolean;
  description?: string;
}

/** Every question the tool can ask lives behind this interface (one module, one place). */
export interface Prompter {
  input(q: { message: string; default?: string; validate?: (v: string) => string | true }): Promise<string>;
  confirm(q: { message: string; default?: boolean }): Promise<boolean>;
  checkbox(q: { message: string; choices: Choice[] }): Promise<string[]>;
}

function isExitPrompt(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'ExitPromptError' || name === 'AbortPromptError';
}

/** Prompts on the terminal with @inquirer/prompts; Ctrl-C becomes exit 130 with nothing changed. */
export function inquirerPrompter(): Prompter {
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (isExitPrompt(err)) throw new InterruptedError();
      throw err;
    }
  };
  return {
    input: (q) =>
      guard(async () => {
        const { input } = await import('@inquirer/prompts');
        return input({ message: q.message, ...(q.default !== undefined ? { default: q.default } : {}), ...(q.validate ? { validate: q.validate } : {}) });
      }),
    confirm: (q) =>
      guard(async () => {
        const { confirm } = await import('@inquirer/prompts');
        return confirm({ message: q.message, default: q.default ?? false });
      }),
    checkbox: (q) =>
      guard(async () => {
        const { checkbox } = await import('@inquirer/prompts');
        return checkbox({ message: q.message, choices: q.choices });
      }),
  };
}

/**
 * Used when the run is unattended: any question is a bug in the caller, so it fails loudly as a
 * usage error rather than hanging on a closed stdin.
 */
export function noPrompter(): Prompter {
  const refuse = (message: string): never => {
    throw new UsageError(`cannot ask "${message}" without a terminal`, 'pass the matching flag or --yes');
  };
  return {
    input: async (q) => refuse(q.message),
    confirm: async (q) => refuse(q.message),
    checkbox: async (q) => refuse(q.message),
  };
}
