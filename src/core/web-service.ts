/**
 * `install --web` (issue 12): the web view as a service that starts at boot, bound to loopback.
 * Pure: the plan fragment (the program's copy, the token file, the unit or init script, the
 * commands that enable and start it) and what uninstall runs. Nothing here touches the world.
 *
 * Where the program lives: the tool is often run by `npx` from a cache that can be cleaned, so a
 * boot service must not point there. The install copies the running package (package.json, bin/,
 * dist/, templates/: it is dependency-free) to WEB_PROGRAM_DIR through the plan and the manifest,
 * like every other file (crash-safe, removed by uninstall), and the service runs it with the
 * node that ran the install (its absolute path).
 */
import { isIP } from 'node:net';
import type { Command } from './command.ts';
import type { Family } from './distro.ts';
import type { InitSystem } from './facts.ts';
import type { FileChange } from './plan.ts';
import { render } from './render.ts';
import { UsageError } from '../errors.ts';

export const WEB_SERVICE = 'voip-f2b-web';
export const WEB_PROGRAM_DIR = '/usr/local/lib/voip-f2b-install';
export const WEB_PROGRAM_BIN = `${WEB_PROGRAM_DIR}/bin/voip-f2b-install.js`;
export const WEB_UNIT = '/etc/systemd/system/voip-f2b-web.service';
export const WEB_INITD = '/etc/init.d/voip-f2b-web';
/** Written by start-stop-daemon (init script); systemd tracks the process itself. */
export const WEB_PIDFILE = '/run/voip-f2b-web.pid';
/** The service's own output under the init script (root only; systemd: the journal). */
export const WEB_LOG = '/var/log/voip-f2b-install/web.log';
/** systemd's record of the unit's processes (cgroup v2), a file fact for "is it running". */
export const WEB_CGROUP_PROCS = '/sys/fs/cgroup/system.slice/voip-f2b-web.service/cgroup.procs';
export const DEFAULT_WEB_LISTEN = '127.0.0.1:8473';
/** The token file the web command uses by default (src/web/options.ts DEFAULT_TOKEN_FILE). */
export const WEB_TOKEN_FILE = '/etc/voip-f2b-install/web-token';
/** Seconds the service gets to show a live PID after its (re)start. */
const START_SECONDS = 15;

/** One file of the running package, relative to its root (e.g. `dist/cli.cjs`). */
export interface ProgramFile {
  rel: string;
  text: string;
  mode: number;
}

/** `--web-listen`: `<loopback address>:<port>`; anything else is refused (exit 2). */
export function parseWebListen(raw: string): string {
  const v = raw.trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(v);
  const host = m ? (m[1] ?? m[2])! : '';
  const port = m ? Number(m[3]) : 0;
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || (isIP(host) === 6 && /^(?:0*:)*:?0*1$/.test(host));
  if (!m || port < 1 || port > 65535 || !loopback || (m[1] !== undefined && isIP(host) !== 6)) {
    throw new UsageError(
      `invalid --web-listen '${raw}': the web view's service listens on loopback only; expected 127.0.0.1:<port> or [::1]:<port>, e.g. ${DEFAULT_WEB_LISTEN}`,
      'reach it through an SSH tunnel: ssh -L 8473:127.0.0.1:8473 <server> (for TLS on another address, run `voip-f2b-install web --tls-cert … --tls-key …` yourself)',
    );
  }
  return v;
}

/** How the web view's service is run on this host. */
export type WebServiceKind = 'systemd' | 'initd' | 'manual';

export function webServiceKind(init: InitSystem, family: Family): WebServiceKind {
  if (init === 'systemd') return 'systemd';
  // The init script uses start-stop-daemon and update-rc.d: Debian and Ubuntu.
  if (init === 'sysv' && family === 'debian') return 'initd';
  return 'manual';
}

export interface WebServiceInputs {
  listen: string;
  init: InitSystem;
  family: Family;
  /** Acting on the running machine: services may be started (false under --root). */
  live: boolean;
  /** The service runs now (facts: its pid file, or its systemd cgroup). */
  running: boolean;
  /** Absolute path of the node that runs the install (process.execPath). */
  nodePath: string;
  /** The running package's files. */
  program: ProgramFile[];
  /** A fresh token (the command makes it), used only when the token file is absent. */
  newToken: string;
  templates: Record<string, string>;
  /** The current text of a declared file (null = absent). */
  read(path: string): string | null;
}

export interface WebServiceFragment {
  files: FileChange[];
  afterCommands: Array<{ command: Command; why: string; service: string; verify?: { pidFiles: string[]; seconds: number; hint?: string } }>;
  manualSteps: string[];
  warnings: string[];
  /** The --json part: how the service runs and how the admin gets in. */
  details: Record<string, unknown>;
}

/** Target paths of the program's copy. */
export function programTargets(program: Array<{ rel: string }>): string[] {
  return program.map((f) => `${WEB_PROGRAM_DIR}/${f.rel}`);
}

/** Every file the web service's plan reads. */
export function webServiceReads(program: Array<{ rel: string }>): string[] {
  return [...programTargets(program), WEB_TOKEN_FILE, WEB_UNIT, WEB_INITD];
}

/** The command line the service runs (also the manual step where no init system can run it). */
export function webCommandLine(nodePath: string, listen: string): string {
  return `${nodePath} ${WEB_PROGRAM_BIN} web --listen ${listen}`;
}

/** How the admin reaches the page: the tunnel, the URL and where the token is. */
export function webAccessSteps(listen: string): string[] {
  const port = /:(\d+)$/.exec(listen)?.[1] ?? '8473';
  return [
    `web view: on your machine run \`ssh -L ${port}:${listen} <this server>\`, then open http://127.0.0.1:${port}/ and log in with the token in ${WEB_TOKEN_FILE} (root only; print the login URL here with: echo "http://127.0.0.1:${port}/#token=$(cat ${WEB_TOKEN_FILE})")`,
  ];
}

/**
 * The web view's service: its program, its token, its unit (systemd) or init script (SysV on
 * Debian/Ubuntu), or a manual step; enabled and started when one of its files changes, started
 * when it does not run. Node's path must be a plain absolute path: it goes into a unit and a
 * shell script.
 */
export function webServiceFragment(input: WebServiceInputs): WebServiceFragment {
  if (!/^\/[A-Za-z0-9._+/-]+$/.test(input.nodePath)) {
    throw new UsageError(`install --web: node's path '${input.nodePath}' has characters a service file cannot hold safely`, 'run the install with a node installed under a plain path, e.g. /usr/bin/node');
  }
  const tpl = (p: string): string => {
    const t = input.templates[p];
    if (t === undefined) throw new Error(`internal: template ${p} is missing`);
    return t;
  };
  const kind = webServiceKind(input.init, input.family);
  const out: WebServiceFragment = { files: [], afterCommands: [], manualSteps: [], warnings: [], details: {} };
  const add = (path: string, after: string, why: string, mode: number, extra: Partial<FileChange> = {}): FileChange => {
    const f: FileChange = { path, before: input.read(path), after, mode, why, ...extra };
    out.files.push(f);
    return f;
  };
  const programWhy = `the web view's program (${input.program.length} files)`;
  for (const p of input.program) add(`${WEB_PROGRAM_DIR}/${p.rel}`, p.text, programWhy, p.mode, { group: `${WEB_PROGRAM_DIR}/` });
  const token = input.read(WEB_TOKEN_FILE);
  add(WEB_TOKEN_FILE, token ?? `${input.newToken}\n`, "the web view's login token (root only)", 0o600, { secret: true });
  const values = { node: input.nodePath, program: WEB_PROGRAM_BIN, listen: input.listen };
  let service: FileChange | null = null;
  if (kind === 'systemd') service = add(WEB_UNIT, render(tpl('etc/systemd/system/voip-f2b-web.service'), values, 'web view unit'), 'the web view as a systemd service', 0o644);
  if (kind === 'initd') {
    service = add(WEB_INITD, render(tpl('etc/init.d/voip-f2b-web'), { ...values, pidfile: WEB_PIDFILE, log: WEB_LOG }, 'web view init script'), 'the web view as a boot service (init script)', 0o755);
  }
  const changed = out.files.some((f) => f.before !== f.after);
  const serviceChanged = service !== null && service.before !== service.after;
  const why = `serve the web view on ${input.listen}`;
  if (input.live && kind === 'systemd') {
    if (serviceChanged) {
      out.afterCommands.push(
        { service: WEB_SERVICE, why: 'load its unit', command: { cmd: 'systemctl', args: ['daemon-reload'] } },
        { service: WEB_SERVICE, why: 'start at boot', command: { cmd: 'systemctl', args: ['enable', WEB_SERVICE] } },
      );
    }
    if (changed) out.afterCommands.push({ service: WEB_SERVICE, why, command: { cmd: 'systemctl', args: ['restart', WEB_SERVICE] } });
    else if (!input.running) out.afterCommands.push({ service: WEB_SERVICE, why, command: { cmd: 'systemctl', args: ['start', WEB_SERVICE] } });
  } else if (input.live && kind === 'initd') {
    const verify = { pidFiles: [WEB_PIDFILE], seconds: START_SECONDS, hint: `see why in ${WEB_LOG} (is ${input.listen} taken? is the token file ${WEB_TOKEN_FILE} root-only?)` };
    if (serviceChanged) out.afterCommands.push({ service: WEB_SERVICE, why: 'start at boot', command: { cmd: 'update-rc.d', args: [WEB_SERVICE, 'defaults'] } });
    if (changed) out.afterCommands.push({ service: WEB_SERVICE, why, command: { cmd: WEB_INITD, args: ['restart'] }, verify });
    else if (!input.running) out.afterCommands.push({ service: WEB_SERVICE, why, command: { cmd: WEB_INITD, args: ['start'] }, verify });
  } else if (kind === 'manual') {
    const reason = input.init === 'none' ? 'no init system runs here' : input.init === 'openrc' ? 'OpenRC is not supported for it' : 'no Debian-style init scripts here';
    out.warnings.push(`web view: ${reason}, so it is not installed as a boot service; start it by hand`);
    out.manualSteps.push(`start the web view (and again after every boot): ${webCommandLine(input.nodePath, input.listen)}`);
  }
  out.manualSteps.push(...webAccessSteps(input.listen));
  out.details = {
    listen: input.listen,
    service: kind === 'systemd' ? WEB_UNIT : kind === 'initd' ? WEB_INITD : null,
    program: WEB_PROGRAM_DIR,
    node: input.nodePath,
    tokenFile: WEB_TOKEN_FILE,
    tunnel: `ssh -L ${/:(\d+)$/.exec(input.listen)?.[1] ?? '8473'}:${input.listen} <server>`,
  };
  return out;
}

/** The web view's service as `status` shows it. */
export interface WebViewStatus {
  service: string;
  running: boolean;
  pid: number | null;
  listen: string | null;
}

/** Where the service listens, from its unit (`--listen …` in ExecStart) or init script (`LISTEN=`). */
export function webListenOf(serviceText: string): string | null {
  return /^LISTEN=(\S+)$/m.exec(serviceText)?.[1] ?? /^ExecStart=.* --listen (\S+)\s*$/m.exec(serviceText)?.[1] ?? null;
}

/** One line for `status`. */
export function formatWebViewStatus(w: WebViewStatus): string {
  const start = w.service === WEB_UNIT ? `systemctl start ${WEB_SERVICE}` : `${WEB_INITD} start`;
  return w.running
    ? `Web view: running${w.pid ? ` (PID ${w.pid})` : ''} on ${w.listen ?? '?'} (${w.service}; token in ${WEB_TOKEN_FILE})`
    : `Web view: NOT running (${w.service}); start it: ${start}`;
}

/**
 * What uninstall runs for the web view when the manifest holds its service file: stop it before
 * its files go (through the unit or init script still there), then drop its boot links.
 */
export function webUninstallCommands(paths: string[]): { before: Command[]; after: Command[] } {
  if (paths.includes(WEB_UNIT)) {
    return {
      before: [{ cmd: 'systemctl', args: ['disable', '--now', WEB_SERVICE] }],
      after: [{ cmd: 'systemctl', args: ['daemon-reload'] }],
    };
  }
  if (paths.includes(WEB_INITD)) {
    return { before: [{ cmd: WEB_INITD, args: ['stop'] }], after: [{ cmd: 'update-rc.d', args: [WEB_SERVICE, 'remove'] }] };
  }
  return { before: [], after: [] };
}
