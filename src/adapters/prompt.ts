import { InterruptedError, UsageError } from '../errors.ts';
import type { Prompter, Question } from '../core/prompter.ts';

export type { Choice, Prompter, Question } from '../core/prompter.ts';

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
