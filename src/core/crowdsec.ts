/**
 * Shared bans through CrowdSec (issue 13). Pure: option parsing, the credentials file's text,
 * and the plan fragments of a fleet member (`--crowdsec-lapi`) and of the LAPI host
 * (`--crowdsec-lapi-server`). The install planner composes them; nothing here touches the world.
 *
 * A member: fail2ban's VoIP jails get the voip-f2b-crowdsec action (queues each ban and unban
 * for a background pusher, so fail2ban never waits on the network); crowdsec-firewall-bouncer
 * fills an nftables set from the LAPI's decisions, inside a table that accepts the whitelist
 * first (so the whitelist wins over any fleet decision).
 */
import path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { Command } from './command.ts';
import type { FileChange } from './plan.ts';
import { render } from './render.ts';
import { PlanError, UsageError } from '../errors.ts';
import type { PlanFeature } from './plan-fragment.ts';

export const PUSHER = '/usr/local/sbin/voip-f2b-crowdsec';
export const PUSHER_CONFIG = '/etc/voip-f2b-install/crowdsec.json';
export const PUSH_ACTION = '/etc/fail2ban/action.d/voip-f2b-crowdsec.conf';
export const PUSH_SPOOL = '/var/lib/voip-f2b-install/crowdsec';
export const BOUNCER_CONFIG = '/etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml';
export const BOUNCER_ALLOW = '/etc/voip-f2b-install/crowdsec-allow.nft';
export const BOUNCER_WRAPPER = '/usr/local/sbin/voip-f2b-crowdsec-bouncer';
export const BOUNCER_DROPIN = '/etc/systemd/system/crowdsec-firewall-bouncer.service.d/voip-f2b.conf';
export const BOUNCER_INITD = '/etc/init.d/crowdsec-firewall-bouncer';
export const BOUNCER_SERVICE = 'crowdsec-firewall-bouncer';
/** Where /etc/init.d/crowdsec-firewall-bouncer (hosts without systemd) keeps the bouncer's PID. */
export const BOUNCER_PIDFILE = '/run/crowdsec-firewall-bouncer.voip-f2b.pid';
export const BOUNCER_PACKAGE = 'crowdsec-firewall-bouncer';
export const LAPI_PACKAGE = 'crowdsec';
export const LAPI_LOCAL_CONFIG = '/etc/crowdsec/config.yaml.local';
export const LAPI_ONLINE_CREDENTIALS = '/etc/crowdsec/online_api_credentials.yaml';
/** The LAPI host's TLS certificate and key when the tool makes them (--crowdsec-lapi-server). */
export const LAPI_TLS_CERT = '/etc/voip-f2b-install/crowdsec-lapi.crt';
export const LAPI_TLS_KEY = '/etc/voip-f2b-install/crowdsec-lapi.key';
/** A member's copy of the CA it trusts for the LAPI (--crowdsec-ca). */
export const MEMBER_CA = '/etc/voip-f2b-install/crowdsec-ca.pem';
/** How often the bouncer asks the LAPI for new decisions: the fleet's propagation time. */
export const BOUNCER_POLL = '2s';


/** The text of the debian postinst's own config.yaml.local (only the sqlite WAL switch). */
const DEBIAN_LOCAL = /^(?:#[^\n]*\n)*db_config:\n {2}use_wal: true\n?$/;
const OUR_MARK = '# Written by voip-f2b-install';

export interface CrowdsecCredentials {
  login: string;
  password: string;
  /** The bouncer's key (cscli bouncers add), an `api_key:` line in the same file. */
  apiKey?: string;
  /** The file's `url:` line, if any (the --crowdsec-lapi option wins). */
  url?: string;
}

/** True for an address of this host only (127.0.0.0/8, ::1). */
function loopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return (isIP(h) === 4 && h.startsWith('127.')) || (isIP(h) === 6 && /^(?:0*:)*:?0*1$/.test(h));
}

/**
 * `--crowdsec-lapi`: the LAPI's URL (scheme, host, port; no credentials in it). https://, or
 * http:// to a loopback address only: the machine password and the bouncer's key go to the LAPI
 * with every login and poll, and whoever reads them can add or delete the fleet's bans.
 */
export function parseLapiUrl(raw: string): string {
  const bad = (why: string): never => {
    throw new UsageError(`invalid --crowdsec-lapi '${raw}': ${why}; expected the LAPI's URL, e.g. https://198.51.100.161:8080/`);
  };
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    return bad('not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') bad('the scheme must be https (http only to this host\'s loopback)');
  if (u.username || u.password) bad('credentials do not belong in the URL (use --crowdsec-credentials)');
  if (u.search || u.hash || (u.pathname !== '/' && u.pathname !== '')) bad('no path, query or fragment');
  if (!/^[A-Za-z0-9.[\]:-]+$/.test(u.host)) bad('unexpected characters in the host');
  if (u.protocol === 'http:' && !loopback(u.hostname)) {
    bad("http:// to another host sends this host's machine password and bouncer key unencrypted (whoever reads them can add or delete the fleet's bans); use https:// (the LAPI made by --crowdsec-lapi-server serves it; add --crowdsec-ca <its certificate>)");
  }
  return `${u.protocol}//${u.host}/`;
}

/**
 * Checks a CA file's text for --crowdsec-ca against the LAPI URL: only for https://. Returns the
 * text to install (one PEM certificate or more).
 */
export function checkLapiCa(lapiUrl: string, file: string, text: string): string {
  if (!lapiUrl.startsWith('https://')) throw new UsageError(`invalid --crowdsec-ca '${file}': the LAPI ${lapiUrl} is not https://; expected --crowdsec-ca only with an https:// --crowdsec-lapi`);
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** True when a PEM certificate's subjectAltName covers `host` (an address or a name). */
export function certCovers(certPem: string, host: string): boolean {
  try {
    const x = new X509Certificate(certPem);
    return isIP(host) ? x.checkIP(host) !== undefined : x.checkHost(host) !== undefined;
  } catch {
    return false;
  }
}

/** `--crowdsec-lapi-server`: where the LAPI listens, `<address>:<port>` (IPv6 in brackets). */
export function parseListen(raw: string): string {
  const v = raw.trim();
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(v);
  const addr = m ? (m[1] ?? m[2])! : '';
  const port = m ? Number(m[3]) : 0;
  if (!m || !isIP(addr) || (m[1] !== undefined && isIP(addr) !== 6) || port < 1 || port > 65535) {
    throw new UsageError(`invalid --crowdsec-lapi-server '${raw}': expected <address>:<port> to listen on, e.g. 198.51.100.161:8080 or [2001:db8::1]:8080`);
  }
  return v;
}

/**
 * Parses CrowdSec's credentials format (`url:`, `login:`, `password:` lines, as written by
 * `cscli machines add -f`), plus an optional `api_key:` line for the bouncer. Error messages
 * name the file and the missing key, never a value.
 */
export function parseCredentials(file: string, text: string): CrowdsecCredentials {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*(#|$)/.test(line)) continue;
    const m = /^([A-Za-z_]+):\s*(.*?)\s*$/.exec(line);
    if (!m) throw new UsageError(`invalid --crowdsec-credentials file ${file}: a line is not "key: value"; expected CrowdSec's format (url:, login:, password: lines, as written by cscli machines add -f, plus api_key: for the bouncer)`);
    let v = m[2]!;
    if (/^(['"]).*\1$/.test(v)) v = v.slice(1, -1);
    values[m[1]!.toLowerCase()] = v;
  }
  for (const k of ['login', 'password']) {
    if (!values[k]) throw new UsageError(`invalid --crowdsec-credentials file ${file}: no ${k}: line; expected CrowdSec's format (url:, login:, password: lines, as written by cscli machines add -f)`);
  }
  if (!/^[A-Za-z0-9._@-]{1,128}$/.test(values.login!)) {
    throw new UsageError(`invalid --crowdsec-credentials file ${file}: the login has characters other than letters, digits, '.', '_', '@', '-'`);
  }
  if (values.api_key !== undefined && !/^[A-Za-z0-9+/=_-]{8,256}$/.test(values.api_key)) {
    throw new UsageError(`invalid --crowdsec-credentials file ${file}: the api_key: value is not a bouncer key (cscli bouncers add prints one)`);
  }
  return { login: values.login!, password: values.password!, ...(values.api_key ? { apiKey: values.api_key } : {}), ...(values.url ? { url: values.url } : {}) };
}

/** True when a file mode lets anyone but the owner read or write it. */
export function tooOpen(mode: number): boolean {
  return (mode & 0o077) !== 0;
}

/** nft set elements for one family from whitelist entries (names cannot be in a set). */
function nftElements(entries: string[], family: 4 | 6): string {
  const mine = entries.filter((e) => isIP(e.split('/')[0]!) === family);
  return mine.length ? `\t\telements = { ${mine.join(', ')} }\n` : '';
}

export interface MemberInputs {
  lapiUrl: string;
  /** --crowdsec-ca: the PEM text of the CA (or self-signed certificate) to trust for the LAPI. */
  ca?: string;
  credentials: CrowdsecCredentials;
  ignoreip: string[];
  init: 'systemd' | 'openrc' | 'sysv' | 'none';
  templates: Record<string, string>;
  /** The current text of a declared file (null = absent). */
  read(path: string): string | null;
}

/** What one fleet role's builder returns; the crowdsec feature folds both into one PlanFragment. */
export interface CrowdsecParts {
  files: FileChange[];
  packages: string[];
  afterCommands: Array<{ command: Command; why: string; service: string }>;
  manualSteps: string[];
  warnings: string[];
}

/** Every file a member's plan reads. */
export const MEMBER_FILES = [PUSHER, PUSHER_CONFIG, PUSH_ACTION, MEMBER_CA, BOUNCER_CONFIG, BOUNCER_ALLOW, BOUNCER_WRAPPER, BOUNCER_DROPIN, BOUNCER_INITD];
export const LAPI_INITD = '/etc/init.d/crowdsec';
export const SERVER_FILES = [LAPI_LOCAL_CONFIG, LAPI_ONLINE_CREDENTIALS, LAPI_INITD, LAPI_TLS_CERT, LAPI_TLS_KEY];

/** The `action` line that shares a jail's bans; `kind` (a fixed word, it reaches a shell) says what failed. */
export function pushActionLine(kind: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`internal: shared-ban reason '${kind}' is not a plain word`);
  return `voip-f2b-crowdsec[kind=${kind}]`;
}

/** The fleet member's files, package and service commands. */
export function memberFragment(input: MemberInputs): CrowdsecParts {
  const { templates } = input;
  const tpl = (p: string): string => {
    const t = templates[p];
    if (t === undefined) throw new Error(`internal: template ${p} is missing`);
    return t;
  };
  const out: CrowdsecParts = { files: [], packages: [BOUNCER_PACKAGE, 'nftables'], afterCommands: [], manualSteps: [], warnings: [] };
  const add = (path: string, after: string, why: string, mode: number, secret = false): void => {
    out.files.push({ path, before: input.read(path), after, mode, why, ...(secret ? { secret: true } : {}) });
  };
  if (!input.credentials.apiKey) {
    throw new UsageError(
      'the --crowdsec-credentials file has no api_key: line for the firewall bouncer',
      "on the LAPI host run `cscli bouncers add <this-host>-firewall -o raw` and add its output to the file as `api_key: <key>`",
    );
  }
  const names = input.ignoreip.filter((e) => !isIP(e.split('/')[0]!));
  if (names.length) {
    out.warnings.push(`CrowdSec: whitelist name(s) ${names.join(', ')} cannot be in the bouncer's allowlist or checked by the pusher (addresses only); whitelist their addresses too`);
  }
  const config = {
    url: input.lapiUrl,
    login: input.credentials.login,
    password: input.credentials.password,
    allow: input.ignoreip.filter((e) => isIP(e.split('/')[0]!)),
    spool: PUSH_SPOOL,
    ...(input.ca ? { ca: MEMBER_CA } : {}),
  };
  if (input.ca) add(MEMBER_CA, input.ca, "CrowdSec: the LAPI's CA, trusted by the pusher and the bouncer", 0o644);
  add(PUSHER, tpl('usr/local/sbin/voip-f2b-crowdsec'), 'CrowdSec: pushes bans to the LAPI in the background', 0o755);
  add(PUSHER_CONFIG, `${JSON.stringify(config, null, 2)}\n`, 'CrowdSec: the pusher\'s LAPI, machine login and whitelist (root-only)', 0o600, true);
  add(PUSH_ACTION, tpl('etc/fail2ban/action.d/voip-f2b-crowdsec.conf'), 'CrowdSec: fail2ban action that shares each ban', 0o644);
  const bouncer = render(tpl('etc/crowdsec/bouncers/voip-f2b-firewall-bouncer.yaml'), { api_url: input.lapiUrl, api_key: input.credentials.apiKey, update_frequency: BOUNCER_POLL, ca_cert: input.ca ? `ca_cert_path: ${MEMBER_CA}` : "# ca_cert_path: (none given: the system's CAs)" }, 'bouncer config');
  add(BOUNCER_CONFIG, bouncer, 'CrowdSec: the firewall bouncer\'s LAPI and key (root-only)', 0o600, true);
  const allow = render(tpl('etc/voip-f2b-install/crowdsec-allow.nft'), { allow4: nftElements(input.ignoreip, 4), allow6: nftElements(input.ignoreip, 6) }, 'allowlist');
  add(BOUNCER_ALLOW, allow, 'CrowdSec: fleet bans dropped, the whitelist accepted first', 0o644);
  add(BOUNCER_WRAPPER, tpl('usr/local/sbin/voip-f2b-crowdsec-bouncer'), 'CrowdSec: loads the allowlist, runs the bouncer', 0o755);
  const bouncerFiles = [BOUNCER_CONFIG, BOUNCER_ALLOW, BOUNCER_WRAPPER, MEMBER_CA];
  if (input.init === 'systemd') {
    add(BOUNCER_DROPIN, tpl('etc/systemd/system/crowdsec-firewall-bouncer.service.d/voip-f2b.conf'), 'CrowdSec: the bouncer service on our configuration', 0o644);
    bouncerFiles.push(BOUNCER_DROPIN);
  } else {
    add(BOUNCER_INITD, tpl('etc/init.d/crowdsec-firewall-bouncer'), 'CrowdSec: the bouncer service (the package ships a systemd unit only)', 0o755);
    bouncerFiles.push(BOUNCER_INITD);
  }
  const changed = out.files.some((f) => bouncerFiles.includes(f.path) && f.before !== f.after);
  if (changed) {
    const why = 'enforce the fleet\'s decisions';
    if (input.init === 'systemd') {
      out.afterCommands.push(
        { service: BOUNCER_SERVICE, why: 'load the drop-in', command: { cmd: 'systemctl', args: ['daemon-reload'] } },
        { service: BOUNCER_SERVICE, why: 'start at boot', command: { cmd: 'systemctl', args: ['enable', BOUNCER_SERVICE] } },
        { service: BOUNCER_SERVICE, why, command: { cmd: 'systemctl', args: ['restart', BOUNCER_SERVICE] } },
      );
    } else if (input.init === 'openrc') {
      out.warnings.push('CrowdSec: OpenRC is not supported for the bouncer service; start it by hand with /usr/local/sbin/voip-f2b-crowdsec-bouncer');
      out.manualSteps.push('start /usr/local/sbin/voip-f2b-crowdsec-bouncer as a service');
    } else {
      if (input.init === 'sysv') out.afterCommands.push({ service: BOUNCER_SERVICE, why: 'start at boot', command: { cmd: 'update-rc.d', args: [BOUNCER_SERVICE, 'defaults'] } });
      out.afterCommands.push({ service: BOUNCER_SERVICE, why, command: { cmd: BOUNCER_INITD, args: ['restart'] } });
    }
  }
  return out;
}

/**
 * The LAPI's TLS: the admin's own certificate and key (paths, checked by the command; the LAPI
 * reads them where they are), or a fresh self-signed pair, used when the one made earlier is
 * missing or does not name the listen address.
 */
export type ServerTls = { own: { certFile: string; keyFile: string; cert: string } } | { fresh: { cert: string; key: string } };

export interface ServerInputs {
  listen: string;
  tls: ServerTls;
  init: 'systemd' | 'openrc' | 'sysv' | 'none';
  /** The crowdsec package is installed already. */
  installed: boolean;
  read(path: string): string | null;
  templates: Record<string, string>;
}

/** The LAPI host: crowdsec offline (no Central API, no metrics), listening where the operator said. */
export function serverFragment(input: ServerInputs): CrowdsecParts & { preInstall: Command[] } {
  const out: CrowdsecParts & { preInstall: Command[] } = { files: [], packages: [LAPI_PACKAGE], afterCommands: [], manualSteps: [], warnings: [], preInstall: [] };
  const current = input.read(LAPI_LOCAL_CONFIG);
  if (current !== null && !current.startsWith(OUR_MARK) && !DEBIAN_LOCAL.test(current)) {
    throw new UsageError(
      `${LAPI_LOCAL_CONFIG} holds settings of your own; voip-f2b-install does not rewrite it`,
      `set api.server.listen_uri: ${input.listen}, api.server.online_client: null, api.server.tls (cert_file, key_file) and prometheus.enabled: false there by hand, then re-run without --crowdsec-lapi-server`,
    );
  }
  const tls = serverTls(input, out);
  const local = [
    `${OUR_MARK} (--crowdsec-lapi-server): this host runs the fleet's CrowdSec Local API.`,
    '# Offline: no Central API (online_client: null), no metrics endpoint; the hub is the',
    "# package's offline copy. The sqlite WAL switch is the Debian package's own default.",
    '# TLS: members send their machine password and bouncer key with every request.',
    'common:',
    '  daemonize: false',
    'db_config:',
    '  use_wal: true',
    'api:',
    '  server:',
    `    listen_uri: ${input.listen}`,
    '    online_client: null',
    '    tls:',
    `      cert_file: ${tls.certFile}`,
    `      key_file: ${tls.keyFile}`,
    'prometheus:',
    '  enabled: false',
    '',
  ].join('\n');
  out.files.push({ path: LAPI_LOCAL_CONFIG, before: current, after: local, mode: 0o644, why: `CrowdSec LAPI: listen on ${input.listen}, offline` });
  const online = input.read(LAPI_ONLINE_CREDENTIALS);
  if (online === null || online.trim() === '') {
    const text = '# Central API registration disabled by voip-f2b-install: this fleet shares bans through its own LAPI only.\n';
    out.files.push({ path: LAPI_ONLINE_CREDENTIALS, before: online, after: text, mode: 0o600, why: 'CrowdSec: no Central API registration' });
    // The crowdsec package's postinst registers with the Central API (and fails offline) unless
    // this file exists, non-empty, before it runs.
    if (!input.installed) out.preInstall.push({ cmd: 'mkdir', args: ['-p', '/etc/crowdsec'] }, { cmd: 'tee', args: [LAPI_ONLINE_CREDENTIALS], input: text });
  }
  let changed = current !== local || out.files.some((f) => (f.path === LAPI_TLS_CERT || f.path === LAPI_TLS_KEY) && f.before !== f.after);
  if (input.init !== 'systemd' && input.init !== 'openrc') {
    // The package ships a systemd unit only: without systemd the LAPI gets an init script.
    const script = input.templates['etc/init.d/crowdsec'];
    if (script === undefined) throw new Error('internal: template etc/init.d/crowdsec is missing');
    const before = input.read(LAPI_INITD);
    out.files.push({ path: LAPI_INITD, before, after: script, mode: 0o755, why: 'CrowdSec LAPI: the service (the package ships a systemd unit only)' });
    changed ||= before !== script;
  }
  if (changed) {
    if (input.init === 'systemd') {
      out.afterCommands.push(
        { service: 'crowdsec', why: 'start at boot', command: { cmd: 'systemctl', args: ['enable', 'crowdsec'] } },
        { service: 'crowdsec', why: `listen on ${input.listen}`, command: { cmd: 'systemctl', args: ['restart', 'crowdsec'] } },
      );
    } else if (input.init === 'openrc') {
      out.manualSteps.push(`CrowdSec: start the LAPI as a service: crowdsec -c /etc/crowdsec/config.yaml (it listens on ${input.listen})`);
    } else {
      if (input.init === 'sysv') out.afterCommands.push({ service: 'crowdsec', why: 'start at boot', command: { cmd: 'update-rc.d', args: ['crowdsec', 'defaults'] } });
      out.afterCommands.push({ service: 'crowdsec', why: `listen on ${input.listen}`, command: { cmd: LAPI_INITD, args: ['restart'] } });
    }
  }
  out.manualSteps.push(
    'CrowdSec: register each member on this host (secrets go to the file, never to the screen):',
    `  cscli machines add <member> --auto --url ${tls.url} -f <member>.yaml`,
    '  printf "api_key: %s\\n" "$(cscli bouncers add <member>-firewall -o raw)" >> <member>.yaml',
    `  then copy <member>.yaml (chmod 600) and ${tls.caFile} (the LAPI's ${tls.caWhat}) to the member and run there: voip-f2b-install --crowdsec-lapi ${tls.url} --crowdsec-credentials <member>.yaml --crowdsec-ca <copy of ${path.basename(tls.caFile)}>`,
  );
  return out;
}

/** The bracket-free address of a `<address>:<port>` listen value, and its port. */
function listenParts(listen: string): { host: string; port: string } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: listen.slice(i + 1) };
}

/** The LAPI's certificate files (planned when the tool makes them) and what members are told. */
function serverTls(input: ServerInputs, out: CrowdsecParts): { certFile: string; keyFile: string; url: string; caFile: string; caWhat: string } {
  const { host, port } = listenParts(input.listen);
  const bracket = (h: string): string => (isIP(h) === 6 ? `[${h}]` : h);
  if ('own' in input.tls) {
    const { certFile, keyFile, cert } = input.tls.own;
    // Members must reach the LAPI by a name or address its certificate holds.
    const names = /DNS:([^,\s]+)/.exec(new X509Certificate(cert).subjectAltName ?? '');
    let url = `https://${input.listen}/`;
    if (!certCovers(cert, host)) {
      if (names) url = `https://${names[1]}:${port}/`;
      else out.warnings.push(`CrowdSec: ${certFile} names neither ${host} nor a DNS name; members will refuse it (it needs a subjectAltName they reach the LAPI by)`);
    }
    return { certFile, keyFile, url, caFile: certFile, caWhat: 'certificate; or the CA that signed it' };
  }
  if (/^(0\.0\.0\.0|:*0*:*)$/.test(host) || host === '::') {
    throw new UsageError(
      `invalid --crowdsec-lapi-server '${input.listen}': the LAPI's certificate must name the address members reach, and ${host} is every address`,
      'give the address members use (e.g. 198.51.100.161:8080), or your own certificate with --crowdsec-tls-cert <file> --crowdsec-tls-key <file>',
    );
  }
  const cert = input.read(LAPI_TLS_CERT);
  const key = input.read(LAPI_TLS_KEY);
  const keep = cert !== null && key !== null && certCovers(cert, host);
  if (cert !== null && !keep) out.warnings.push(`CrowdSec: a new certificate for the LAPI (${LAPI_TLS_CERT} did not name ${host}, or its key was missing): copy it to every member again (--crowdsec-ca)`);
  const made = keep ? { cert, key } : input.tls.fresh;
  out.files.push({ path: LAPI_TLS_CERT, before: cert, after: made.cert, mode: 0o644, why: `CrowdSec LAPI: its TLS certificate (self-signed, for ${host}; members trust it with --crowdsec-ca)` });
  out.files.push({ path: LAPI_TLS_KEY, before: key, after: made.key, mode: 0o600, why: "CrowdSec LAPI: its certificate's private key (root-only)", secret: true });
  return { certFile: LAPI_TLS_CERT, keyFile: LAPI_TLS_KEY, url: `https://${bracket(host)}:${port}/`, caFile: LAPI_TLS_CERT, caWhat: 'self-signed certificate' };
}

/** The fleet link's state, as `status` shows it (from `voip-f2b-crowdsec status`). */
export interface FleetStatus {
  lapi: string;
  machine: string;
  /** The LAPI accepted this machine's login just now. */
  reachable: boolean;
  error: string | null;
  /** Bans and unbans waiting to be pushed. */
  queued: number;
  lastPushAt: number | null;
  lastError: string | null;
  /** The bouncer's service: running, stopped, or unknown (systemd: see systemctl). */
  bouncer: 'running' | 'stopped' | 'unknown';
}

/** The command that asks the pusher for the link's state (JSON on stdout). */
export function fleetStatusCommand(pusher: string, config: string): Command {
  return { cmd: pusher, args: ['status'], env: { VOIP_F2B_CROWDSEC_CONFIG: config }, timeoutMs: 20000 };
}

/** Parses `voip-f2b-crowdsec status`; null when it printed no JSON object. */
export function parseFleetStatus(stdout: string, bouncer: FleetStatus['bouncer']): FleetStatus | null {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
  } catch {
    return null;
  }
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  return {
    lapi: str(j.url) ?? '?',
    machine: str(j.machine) ?? '?',
    reachable: j.reachable === true,
    error: str(j.error),
    queued: num(j.queued) ?? 0,
    lastPushAt: num(j.lastPushAt),
    lastError: str(j.lastError),
    bouncer,
  };
}

/** One line per fact, for the text output of `status`. */
export function formatFleetStatus(f: FleetStatus, now: Date): string {
  const ago = f.lastPushAt === null ? 'never' : `${Math.max(0, Math.round(now.getTime() / 1000 - f.lastPushAt))} s ago`;
  return [
    `CrowdSec fleet link: ${f.reachable ? 'up' : 'DOWN'} (LAPI ${f.lapi}, machine ${f.machine})${f.reachable ? '' : `: ${f.error ?? 'no answer'}`}`,
    `  pushes queued: ${f.queued}; last push: ${ago}${f.lastError ? `; last error: ${f.lastError}` : ''}`,
    `  firewall bouncer: ${f.bouncer}`,
  ].join('\n');
}

/**
 * What uninstall runs for a member before its files are removed: stop the bouncer (through the
 * service file that is still there), and drop the allowlist tables it filled.
 */
export function memberUninstallCommands(init: 'systemd' | 'openrc' | 'sysv' | 'none'): { before: Command[]; after: Command[] } {
  const stop: Command = init === 'systemd' ? { cmd: 'systemctl', args: ['stop', BOUNCER_SERVICE] } : { cmd: BOUNCER_INITD, args: ['stop'] };
  return {
    before: [stop, { cmd: 'nft', args: ['delete', 'table', 'ip', 'voip-f2b-crowdsec'] }, { cmd: 'nft', args: ['delete', 'table', 'ip6', 'voip-f2b-crowdsec6'] }],
    after: init === 'systemd' ? [{ cmd: 'systemctl', args: ['daemon-reload'] }] : init === 'sysv' ? [{ cmd: 'update-rc.d', args: [BOUNCER_SERVICE, 'remove'] }] : [],
  };
}

/** What doctor says about the fleet link (local bans work either way: these are warnings). */
export function fleetWarnings(f: FleetStatus): string[] {
  const out: string[] = [];
  if (!f.reachable) out.push(`CrowdSec fleet link DOWN (LAPI ${f.lapi}): ${f.error ?? 'no answer'}; bans still work here and are queued for the fleet (${f.queued} queued)`);
  else if (f.queued > 0) out.push(`CrowdSec fleet link up, but ${f.queued} push(es) still queued${f.lastError ? ` (last error: ${f.lastError})` : ''}`);
  if (f.bouncer === 'stopped') out.push('CrowdSec firewall bouncer is not running: the fleet\'s bans are not enforced here (start it: /etc/init.d/crowdsec-firewall-bouncer start)');
  return out;
}

/**
 * CrowdSec (issue 13) as a feature of the install plan: the LAPI host's crowdsec
 * (--crowdsec-lapi-server), the members' bouncer and pusher (--crowdsec-lapi); Debian and Ubuntu
 * ship both. Their files and services come after fail2ban is up.
 */
export const crowdsecFeature: PlanFeature = {
  name: 'crowdsec',
  candidates: () => [BOUNCER_PACKAGE, LAPI_PACKAGE],
  reads: ({ options }) => [...(options.crowdsecLapi ? MEMBER_FILES : []), ...(options.crowdsecLapiServer ? SERVER_FILES : [])],
  piece: (input, files) => {
    const { options, facts, distro, templates } = input;
    if (!options.crowdsecLapi && !options.crowdsecLapiServer) return null;
    const read = (p: string): string | null => files.read(p);
    if (options.crowdsecLapiServer && !input.crowdsecTls) throw new Error('internal: --crowdsec-lapi-server without its TLS inputs');
    const server = options.crowdsecLapiServer
      ? serverFragment({ listen: options.crowdsecLapiServer, tls: input.crowdsecTls!, init: facts.init, installed: input.installed.has(LAPI_PACKAGE), read, templates })
      : null;
    if (distro.pm !== 'apt') throw new PlanError(`CrowdSec: ${distro.key} has no crowdsec packages in its own repositories`, 'use --crowdsec-lapi / --crowdsec-lapi-server on Debian or Ubuntu');
    return {
      packages: [...(server?.packages ?? []), ...(options.crowdsecLapi ? [BOUNCER_PACKAGE, 'nftables'] : [])],
      preInstall: server?.preInstall ?? [],
      plan: (s) => {
        const fleet: CrowdsecParts[] = server ? [server] : [];
        if (options.crowdsecLapi) {
          if (!input.crowdsecCredentials) throw new Error('internal: --crowdsec-lapi without parsed credentials');
          fleet.push(memberFragment({ lapiUrl: options.crowdsecLapi, credentials: input.crowdsecCredentials, ...(input.crowdsecCa ? { ca: input.crowdsecCa } : {}), ignoreip: s.ignoreip, init: facts.init, templates, read }));
        }
        return {
          changes: fleet.flatMap((f) => f.files),
          after: facts.live ? fleet.flatMap((f) => f.afterCommands) : [],
          manualSteps: fleet.flatMap((f) => f.manualSteps),
          warnings: fleet.flatMap((f) => f.warnings),
        };
      },
    };
  },
};
