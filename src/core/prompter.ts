/** One choice of a checklist question. */
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
export interface Question {
  message: string;
  /** The command-line flag that gives the same answer, e.g. `--whitelist`. */
  flag?: string;
}

/** Every question the tool can ask lives behind this interface (implemented in src/adapters/prompt.ts). */
export interface Prompter {
  input(q: Question & { default?: string; validate?: (v: string) => string | true }): Promise<string>;
  confirm(q: Question & { default?: boolean }): Promise<boolean>;
  checkbox(q: Question & { choices: Choice[]; validate?: (v: string[]) => string | true }): Promise<string[]>;
}
