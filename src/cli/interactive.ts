import type { Context } from '../context.ts';
import type { HostFacts } from '../core/facts.ts';
import type { InstallOptions } from '../core/options.ts';
import { selectedServices } from '../core/install-plan.ts';
import { SERVICE_MODULES } from '../core/services/index.ts';
import { parseCount, parseDuration, parseEmail, parseWhitelist } from '../core/validate.ts';
import { ToolError } from '../errors.ts';
import type { Prompter } from '../core/prompter.ts';

/** Turns a validator that throws UsageError into an inquirer `validate` (message, or true). */
function check(parse: (v: string) => unknown): (v: string) => string | true {
  return (v) => {
    try {
      parse(v);
      return true;
    } catch (err) {
      if (err instanceof ToolError) return err.message;
      throw err;
    }
  };
}

/** 1. Services: what the flags said, else what was found on disk. */
async function askServices(p: Prompter, options: InstallOptions, facts: HostFacts): Promise<string[]> {
  const current = selectedServices(options, facts);
  return p.checkbox({
    message: 'Which services should fail2ban protect? (space toggles, enter confirms)',
    flag: '--services',
    choices: SERVICE_MODULES.map((m) => ({
      value: m.name,
      name: `${m.label}${m.implicit ? ` (${m.implicit})` : m.detect(facts) ? ' (detected)' : ' (not found on this host)'}`,
      checked: current.includes(m.name),
    })),
  });
}

/** 2. Whitelist: the admin's own address first, so they cannot ban themselves. */
async function askWhitelist(ctx: Context, options: InstallOptions, facts: HostFacts): Promise<Pick<InstallOptions, 'whitelist' | 'protectAdmin'>> {
  const admin = options.protectAdmin ? facts.adminAddress : null;
  if (facts.adminAddress && options.protectAdmin) {
    ctx.log.info(
      `You are connected over SSH from ${facts.adminAddress}. It is pre-filled in the whitelist below so that ` +
        'a few wrong passwords from your own machine can never ban you from this server. Remove it only if that address is shared or changes.',
    );
  }
  const offered = [...(admin ? [admin] : []), ...options.whitelist.filter((w) => w !== admin)];
  const whitelistText = await ctx.prompt.input({
    message: 'Addresses never to ban (IPv4/IPv6, CIDR or DNS names, comma-separated; empty for none):',
    flag: '--whitelist',
    default: offered.join(', '),
    validate: check(parseWhitelist),
  });
  const whitelist = parseWhitelist(whitelistText);
  // Keeping the offered address is the same as the default --protect-admin (it is added after
  // the --whitelist entries, as in an unattended run); removing it means --no-protect-admin.
  const adminKept = admin !== null && whitelist.includes(admin.toLowerCase());
  return {
    whitelist: adminKept ? whitelist.filter((w) => w !== admin.toLowerCase()) : whitelist,
    protectAdmin: admin ? adminKept : options.protectAdmin,
  };
}

/** 3. Ban policy: ban time and max retry. */
async function askBanPolicy(p: Prompter, options: InstallOptions): Promise<Pick<InstallOptions, 'bantime' | 'maxretry'>> {
  const bantime = parseDuration(
    '--bantime',
    await p.input({
      message: 'Ban time (600, 10m, 1h, 1d; -1 = forever):',
      flag: '--bantime',
      default: options.bantime,
      validate: check((v) => parseDuration('--bantime', v, true)),
    }),
    true,
  );
  const maxretry = parseCount(
    '--maxretry',
    await p.input({
      message: `Failures within ${options.findtime} that cause a ban (1-1000):`,
      flag: '--maxretry',
      default: String(options.maxretry),
      validate: check((v) => parseCount('--maxretry', v, 1, 1000)),
    }),
    1,
    1000,
  );
  return { bantime, maxretry };
}

/** 4. Mail alerts (installs postfix when set): the address, or '' for none. */
async function askEmail(p: Prompter, options: InstallOptions): Promise<string> {
  return (
    await p.input({
      message: 'Mail ban alerts to (an address; empty for none; installs postfix):',
      flag: '--email',
      default: options.email ?? '',
      validate: check((v) => (v.trim() === '' ? '' : parseEmail('--email', v))),
    })
  ).trim();
}

/** 5. Each chosen service's own question (its module's `question`, answered by its own flag). */
async function askServiceQuestions(ctx: Context, options: InstallOptions, facts: HostFacts, services: string[]): Promise<Partial<InstallOptions>> {
  let answers: Partial<InstallOptions> = {};
  for (const m of SERVICE_MODULES) {
    if (!services.includes(m.name) || !m.question) continue;
    answers = { ...answers, ...(await m.question({ prompt: ctx.prompt, facts, options: { ...options, ...answers }, services, readText: (f) => ctx.fs.readText(f) })) };
  }
  return answers;
}

/**
 * The interactive setup: each question pre-filled from what was detected, the flags given and, on
 * a re-run, the settings of the last run (install.ts applies them before asking: Enter through
 * every question changes nothing), each answer validated by the same functions as its flag, so an unattended run
 * with those flags gives the same result. Questions and their flags:
 *
 * 1. services to protect (`--services`): every registered service module, the detected ones checked;
 * 2. whitelist (`--whitelist`, `--no-protect-admin`): the SSH client's own address is offered;
 * 3. ban time (`--bantime`) and max retry (`--maxretry`);
 * 4. mail alerts (`--email`): empty for none;
 * 5. each chosen service's own question (its module's `question`, answered by one of its flags);
 * 6. the web view as a boot service on loopback (`--web`), default no (not asked when given).
 *
 * Ctrl-C at any question is exit 130 (the prompter maps it); nothing has been written yet.
 */
export async function interview(ctx: Context, options: InstallOptions, facts: HostFacts): Promise<InstallOptions> {
  const services = await askServices(ctx.prompt, options, facts);
  const whitelist = await askWhitelist(ctx, options, facts);
  const policy = await askBanPolicy(ctx.prompt, options);
  const emailText = await askEmail(ctx.prompt, options);
  const answers = await askServiceQuestions(ctx, options, facts, services);
  // 6. The web view of jails and bans as a boot service: an extra program listening (on
  // loopback), so only when asked for.
  const web =
    options.web === true ||
    (await ctx.prompt.confirm({ message: 'Also run the web view of jails and bans as a boot service (loopback only; reached through an SSH tunnel)?', flag: '--web', default: false }));

  // No address: the mail options go too (a sender without alerts would be kept for nothing).
  const { email: _dropped, ...kept } = options;
  void _dropped;
  const rest: Omit<InstallOptions, 'email'> = { ...kept };
  if (!emailText) {
    delete rest.sender;
    delete rest.mailDelivery;
  }
  return {
    ...rest,
    services,
    ...whitelist,
    ...policy,
    ...answers,
    ...(emailText ? { email: parseEmail('--email', emailText) } : {}),
    ...(web ? { web: true } : {}),
  };
}
