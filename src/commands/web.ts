import { createPrivateKey } from 'node:crypto';
import type { Context } from '../context.ts';
import { activeJails, askContext } from '../adapters/fail2ban.ts';
import { readSecretFile } from '../adapters/secret-file.ts';
import { certificatesOf, readCertificateFile } from '../adapters/tls-files.ts';
import { JAIL_LOCAL } from '../core/paths.ts';
import { whitelistOfJail, withEntry } from '../core/whitelist.ts';
import { ToolError, UsageError } from '../errors.ts';
import { startWebServer } from '../web/server.ts';
import { createDoctorCache, DOCTOR_TTL_SECONDS, type DoctorCache } from '../web/doctor-cache.ts';
import { webAssetsDir } from '../web/assets.ts';
import { fileAuditLog } from '../web/audit-log.ts';
import { checkListen } from '../web/listen.ts';
import type { WebOptions } from '../web/options.ts';
import { webSource } from '../web/source.ts';
import { loadOrCreateToken } from '../web/token-file.ts';
import { DOCTOR_DEFAULT_LINES } from '../core/doctor/report.ts';
import { doctor } from './doctor.ts';

/**
 * `web`: the command only. The web view lives in src/web/ (server, auth, the fail2ban source, the
 * token file, the audit log) and its model in src/core/web-view.ts; the names below are
 * re-exported for the callers that import them from here (main.ts, tests).
 */
export { webAssetsDir } from '../web/assets.ts';
export { checkListen } from '../web/listen.ts';
export { loadOrCreateToken } from '../web/token-file.ts';

export interface WebReport {
  command: 'web';
  url: string;
  tokenFile: string;
  stoppedBy: string;
}

/** The web view's source of fail2ban data (src/web/source.ts), whose whitelist form runs install. */
export function fail2banSource(ctx: Context, o: { cacheSeconds: number; doctor?: DoctorCache; doctorEverySeconds?: number }): ReturnType<typeof webSource> {
  return webSource(ctx, { ...o, addToWhitelist });
}

/**
 * Adds one whitelist entry the way the command line does: it is `install --whitelist <entry>
 * --yes --no-doctor`, parsed by the CLI's own parser and planned by the same planner, so every
 * copy derived from the whitelist follows (jail.local's ignoreip, Kamailio's throttle, the
 * CrowdSec allow set), with the plan/apply of install (backup and manifest, atomic writes,
 * `fail2ban-client -t`, restart, verify; rollback on failure). The other settings are the last
 * run's (install keeps them). Entries are only ever added. Under --root nothing is restarted by
 * apply: the root's running fail2ban (over its socket, never the host's) is told the entry with
 * `addignoreip` in each of its jails, as a reload would.
 */
export function addToWhitelist(ctx: Context, raw: string): Promise<{ changed: boolean; entry: string; ignoreip: string[] }> {
  // One change at a time: each is a whole install run (its journal, the manifest, a restart).
  const run = whitelistQueue.then(() => addNow(ctx, raw));
  whitelistQueue = run.catch(() => undefined);
  return run;
}
let whitelistQueue: Promise<unknown> = Promise.resolve();

async function addNow(ctx: Context, raw: string): Promise<{ changed: boolean; entry: string; ignoreip: string[] }> {
  const current = whitelistOfJail(await ctx.fs.readText(JAIL_LOCAL));
  const { entry, whitelist } = withEntry(current, raw);
  if (current.includes(entry)) return { changed: false, entry, ignoreip: [...current] };
  const [{ parseArgs }, { install, storedSettings }] = await Promise.all([import('../cli.ts'), import('./install.ts')]);
  // The whitelist setting gains the entry: a flag replaces a setting, so the last run's entries go with it.
  const kept = (await storedSettings(ctx))?.whitelist ?? [];
  const inv = parseArgs(['--whitelist', [...new Set([...kept, entry])].join(','), '--yes', '--no-doctor'], {});
  if (inv.command !== 'install') throw new Error('internal: the whitelist change did not parse as install');
  const report = await install(inv.options, { ...ctx, interactive: false });
  if (!ctx.live) {
    const jails = await activeJails(ctx).catch(() => [] as string[]);
    if (jails.length) await askContext(ctx, jails.map((j) => ['set', j, 'addignoreip', entry]));
  }
  return { changed: true, entry, ignoreip: report.ignoreip.length ? report.ignoreip : [...whitelist] };
}

/**
 * The start notice. The login URL carries the token: it is printed only to a terminal (where
 * only the admin reads it); stdout that is a pipe or a file (a service's journal, syslog, a CI
 * log) gets the token file's path and the command that prints the URL on the server.
 */
function printLogin(ctx: Context, options: WebOptions, o: { url: string; token: string; created: boolean; tokenFile: string; terminal: boolean }): void {
  const loginUrl = `${o.url}#token=${o.token}`;
  const loginCommand = `echo "${o.url}#token=$(cat ${o.tokenFile})"`;
  const info = { url: o.url, tokenFile: options.tokenFile, tokenCreated: o.created };
  if (options.json) {
    ctx.log.out(`${JSON.stringify({ command: 'web', listening: true, ...info, ...(o.created && o.terminal ? { loginUrl } : { loginCommand }) })}\n`);
  } else if (o.created && o.terminal) {
    ctx.log.out(`Listening on ${o.url}\nOpen this once to log in (the token is now in ${options.tokenFile}, mode 0600):\n  ${loginUrl}\n`);
  } else {
    const made = o.created ? ' (made now, mode 0600; not printed: this output is not a terminal)' : '';
    ctx.log.out(`Listening on ${o.url}\nLog in with the token in ${options.tokenFile}${made}.\nThe login URL, on this server: ${loginCommand}\n`);
  }
}

/**
 * --tls-cert and --tls-key, read before anything is made (paths on this machine, as given): a
 * PEM certificate, and a key that is a secret file (root's, mode 0600, no link, in a directory
 * only root can write; src/adapters/secret-file.ts) that is the certificate's. Anything else is
 * exit 2 naming the file, before the token file is made.
 */
async function tlsOf(options: WebOptions): Promise<{ cert: string; key: string } | null> {
  if (!options.tlsCert || !options.tlsKey) return null;
  const cert = await readCertificateFile('--tls-cert', options.tlsCert);
  const key = await readSecretFile('--tls-key', options.tlsKey);
  let matches = false;
  try {
    matches = certificatesOf(cert)[0]!.checkPrivateKey(createPrivateKey(key));
  } catch {
    throw new UsageError(`invalid --tls-key '${options.tlsKey}': no private key in it; expected the PEM key of ${options.tlsCert}`);
  }
  if (!matches) throw new UsageError(`invalid --tls-key '${options.tlsKey}': not the key of ${options.tlsCert}; expected the PEM key that certificate was made for`);
  return { cert, key };
}

/** `web`: serves the page and the API until SIGINT/SIGTERM (then a clean exit 0). */
export async function web(options: WebOptions, ctx: Context, hooks: { onListening?: (url: string) => void; signal?: AbortSignal; stdoutIsTerminal?: boolean } = {}): Promise<WebReport> {
  const listen = checkListen(options);
  if (ctx.live && ctx.uid !== 0) throw new ToolError('must run as root: the web view talks to fail2ban, whose socket is root-only', 3, 'run it with sudo');
  const tls = await tlsOf(options);
  const { token, created } = await loadOrCreateToken(ctx, options.tokenFile);
  // The doctor verdicts on the Overview: doctor without the ban round trip (a page view never
  // touches the firewall), on the fail2ban this view talks to, computed at start and then in the
  // background once a minute (src/web/doctor-cache.ts).
  // Once the view stops, a background run starts no new process, so the exit is not held up.
  const doctorEvery = options.doctorSeconds ?? DOCTOR_TTL_SECONDS;
  let stopping = false;
  const doctorCtx: Context = { ...ctx, run: (c) => (stopping ? Promise.resolve({ exitCode: 130, stdout: '', stderr: 'the web view is stopping' }) : ctx.run(c)) };
  const verdicts = createDoctorCache(async () => doctor({ banTest: false, probes: false, lines: DOCTOR_DEFAULT_LINES, json: true }, doctorCtx), { ttlMs: doctorEvery * 1000 });
  const source = fail2banSource(ctx, { cacheSeconds: options.cacheSeconds ?? 2, doctor: verdicts, doctorEverySeconds: doctorEvery });
  const srv = await startWebServer({
    host: listen.host,
    port: listen.port,
    ...(tls ? { tls } : {}),
    token,
    source,
    audit: fileAuditLog(ctx),
    assetsDir: webAssetsDir(),
  });
  void verdicts.refresh();
  printLogin(ctx, options, { url: srv.url, token, created, tokenFile: ctx.fs.real(options.tokenFile), terminal: hooks.stdoutIsTerminal ?? Boolean(process.stdout.isTTY) });
  hooks.onListening?.(srv.url);

  const stoppedBy = await new Promise<string>((resolve) => {
    const stop = (why: string) => () => resolve(why);
    process.once('SIGINT', stop('SIGINT'));
    process.once('SIGTERM', stop('SIGTERM'));
    hooks.signal?.addEventListener('abort', stop('abort'));
  });
  stopping = true;
  await srv.close();
  return { command: 'web', url: srv.url, tokenFile: options.tokenFile, stoppedBy };
}
