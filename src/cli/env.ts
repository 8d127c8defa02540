/**
 * The VOIP_F2B_* environment twins of the CLI's options: every option has one (the long name,
 * upper case, `_` for `-`), and the yes/no ones are read here rather than by commander.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.ts';

/** An option with its VOIP_F2B_* environment twin: the long name, upper case, `_` for `-`. */
export function opt(flags: string, description: string): Option {
  const long = /--([a-z][a-z-]*)/.exec(flags)![1]!;
  return new Option(flags, description).env(`VOIP_F2B_${long.replace(/-/g, '_').toUpperCase()}`);
}

const ENV_TRUE = /^(?:1|true|yes|on)$/i;
const ENV_FALSE = /^(?:0|false|no|off|)$/i;

/**
 * The value of a yes/no environment twin. Commander treats any value of a boolean option's
 * variable as "set" (so VOIP_F2B_DRY_RUN=0 would mean a dry run); here 1/true/yes/on mean on,
 * 0/false/no/off or empty mean off, and anything else is a usage error naming the variable.
 */
export function parseEnvBoolean(name: string, raw: string): boolean {
  const v = raw.trim();
  if (ENV_TRUE.test(v)) return true;
  if (ENV_FALSE.test(v)) return false;
  throw new UsageError(`invalid ${name}='${raw}': expected 1, true, yes or on (or 0, false, no, off, empty for off)`);
}

/** Yes/no options (no value, or --no-*), whose environment twins we read ourselves. */
function isFlagOption(o: Option): boolean {
  return !o.required && !o.optional;
}

/**
 * Applies the yes/no environment twins of `cmd`'s options that were not given on the command line.
 * `--no-protect-admin` has the twin VOIP_F2B_NO_PROTECT_ADMIN (1 = do not protect, like the
 * flag); its positive form VOIP_F2B_PROTECT_ADMIN (0 = do not protect) is accepted too.
 */
function applyBooleanEnv(cmd: Command, env: Record<string, string | undefined>): void {
  for (const o of cmd.options as Option[]) {
    if (!isFlagOption(o) || !o.envVar) continue;
    const key = o.attributeName();
    if (cmd.getOptionValueSource(key) === 'cli') continue;
    let value: boolean | undefined;
    if (env[o.envVar] !== undefined) value = parseEnvBoolean(o.envVar, env[o.envVar]!);
    if (o.negate) {
      const positive = `VOIP_F2B_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
      const negated = value === undefined ? undefined : !value;
      const direct = env[positive] !== undefined ? parseEnvBoolean(positive, env[positive]!) : undefined;
      if (negated !== undefined && direct !== undefined && negated !== direct) {
        throw new UsageError(`${o.envVar}='${env[o.envVar]}' and ${positive}='${env[positive]}' contradict each other`, `set only one of them`);
      }
      value = negated ?? direct;
    }
    if (value !== undefined) cmd.setOptionValueWithSource(key, value, 'env');
  }
}

/**
 * Parses `argv` with `program`, its options' environment twins taken from `env`. Commander reads
 * them from process.env: it gets ours for the duration, less the yes/no twins, which
 * applyBooleanEnv reads (commander would take "0" as yes).
 */
export function parseWithEnv(program: Command, argv: string[], env: Record<string, string | undefined>): void {
  const flagVars = new Set<string>();
  const collect = (cmd: Command): void => {
    for (const o of cmd.options as Option[]) if (isFlagOption(o) && o.envVar) flagVars.add(o.envVar);
    cmd.commands.forEach(collect);
  };
  collect(program);
  program.hook('preAction', (_program, actionCommand) => applyBooleanEnv(actionCommand, env));
  const saved = process.env;
  process.env = Object.fromEntries(Object.entries(env).filter(([k]) => !flagVars.has(k))) as NodeJS.ProcessEnv;
  try {
    program.parse(argv, { from: 'user' });
  } finally {
    process.env = saved;
  }
}
