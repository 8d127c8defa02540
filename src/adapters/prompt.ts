import { InterruptedError, UsageError } from '../errors.ts';

export interface Choice {
  value: string;
  name: string;
  checked?: boolean;
  description?: string;
}

/**
 * Every question names the flag that answers it unattended (rule 6: every question has a flag
 * and a default), so a run without a terminal can say which flag to pass instead.
 */
interface Question {
  message: string;
  /** The command-line flag that gives the same answer, e.g. `--whitelist`. */
  flag?: string;
}

/** Every question the tool can ask lives behind this interface (one module, one place). */
export interface Prompter {
  input(q: Question & { default?: string; validate?: (v: string) => string | true }): Promise<string>;
  confirm(q: Question & { default?: boolean }): Promise<boolean>;
  checkbox(q: Question & { choices: Choice[]; validate?: (v: string[]) => string | true }): Promise<string[]>;
}

/** @inquirer/prompts rejects with ExitPromptError on Ctrl-C (readline SIGINT) or a signal. */
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
        return input({ message: q.message, ...(q.default !== undefined ? { default: q.default, prefill: 'editable' as const } : {}), ...(q.validate ? { validate: q.validate } : {}) });
      }),
    confirm: (q) =>
      guard(async () => {
        const { confirm } = await import('@inquirer/prompts');
        return confirm({ message: q.message, default: q.default ?? false });
      }),
    checkbox: (q) =>
      guard(async () => {
        const { checkbox } = await import('@inquirer/prompts');
        const validate = q.validate;
        return checkbox({
          message: q.message,
          choices: q.choices,
          ...(validate ? { validate: (items: ReadonlyArray<{ value: string }>) => validate(items.map((i) => i.value)) } : {}),
        });
      }),
  };
}

/**
 * Used when the run is unattended: any question is a bug in the caller, so it fails loudly as a
 * usage error (exit 2) naming the flag to pass, rather than hanging on a closed stdin.
 */
export function noPrompter(): Prompter {
  const refuse = (q: Question, fallback: string): never => {
    const flag = q.flag ?? fallback;
    throw new UsageError(`cannot ask "${q.message}" without a terminal: pass ${flag}`, `give every answer as a flag (or its VOIP_F2B_* variable), e.g. ${flag}; see 'voip-f2b-install --help'`);
  };
  return {
    input: async (q) => refuse(q, 'the matching flag'),
    // The only yes/no question is "Apply this plan?", answered by --yes.
    confirm: async (q) => refuse(q, '--yes'),
    checkbox: async (q) => refuse(q, 'the matching flag'),
  };
}
