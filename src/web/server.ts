import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BanView, HistoryView, JailView } from '../core/web-view.ts';
import { cookieValue, RateLimiter, SESSION_COOKIE, Sessions, tokenMatches } from './auth.ts';
import { describePeer, loopbackPeer, type Peer } from '../adapters/peer.ts';

/** Everything the server needs from fail2ban and the host; the real one is src/web/source.ts. */
export interface WebSource {
  overview(): Promise<{
    version: string;
    startedAt: number | null;
    jails: JailView[];
    whitelist: string[];
    /** The doctor runs behind the per-jail verdicts: when, whether one is under way, its error. */
    doctor?: { checkedAt: number | null; running: boolean; error: string | null; verdict: string | null; everySeconds: number } | null;
    /** What the watch last found (its state file, issue 23): shown as a banner while a problem lasts. */
    watch?: { checkedAt: string; problems: Array<{ severity: 'broken' | 'warning'; message: string; fix?: string }> } | null;
  }>;
  bans(): Promise<{ now: number; bans: BanView[] }>;
  history(): Promise<HistoryView>;
  ban(jail: string, ip: string): Promise<{ ok: boolean; message: string }>;
  unban(jail: string, ip: string): Promise<{ ok: boolean; message: string }>;
  testLines(jail: string, lines: string[]): Promise<{ results: Array<{ line: string; matched: boolean; ip: string | null }>; filter: string }>;
  whitelist(entry: string): Promise<{ ok: boolean; message: string; ignoreip: string[] }>;
}

export interface AuditEntry {
  time: string;
  client: string;
  action: string;
  target: string;
  result: string;
}

export interface AuditLog {
  append(e: AuditEntry): Promise<void>;
  recent(n: number): Promise<AuditEntry[]>;
}

export interface WebServerOptions {
  host: string;
  port: number;
  /** The certificate and key as PEM texts (the command reads and checks the files). */
  tls?: { cert: string; key: string };
  token: string;
  source: WebSource;
  audit: AuditLog;
  /** Directory of index.html, app.js, app.css. */
  assetsDir: string;
  now?: () => number;
  /** Who holds the client end of a loopback connection (default: the kernel's answer, src/adapters/peer.ts). */
  peerOf?: (remotePort: number, localPort: number, findProcess: boolean) => Promise<Peer | null>;
}

/** Strict: no inline script or style, nothing from elsewhere, no framing. */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const STATIC: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/app.css': ['app.css', 'text/css; charset=utf-8'],
};

const MAX_BODY = 256 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || h === '::ffff:127.0.0.1';
}

/** A jail name as fail2ban allows them. */
const JAIL_RE = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export interface RunningWebServer {
  server: http.Server;
  url: string;
  port: number;
  close(): Promise<void>;
}

type Req = http.IncomingMessage;
type Res = http.ServerResponse;
type Headers = Record<string, string | string[]>;

/** Headers every answer carries (and HSTS over TLS). */
function send(res: Res, secure: boolean, status: number, body: string | Buffer, type = 'application/json; charset=utf-8', extra: Headers = {}): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
    ...(secure ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
    ...extra,
  });
  res.end(body);
}

/** A JSON request body (our page's only kind), at most MAX_BODY bytes. */
async function readBody(req: Req): Promise<Record<string, unknown>> {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (ct !== 'application/json') throw new HttpError(415, 'expected Content-Type: application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'request body too large');
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'expected a JSON object');
}

/** Host must be ours when bound to loopback (defeats DNS rebinding). */
function hostAllowed(req: Req, boundHost: string, port: number, secure: boolean): boolean {
  if (!isLoopback(boundHost)) return true;
  const h = (req.headers.host ?? '').toLowerCase();
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(h);
  return Boolean(m && isLoopback(m[1]!) && (m[2] === undefined ? port === (secure ? 443 : 80) : Number(m[2]) === port));
}

/** State changes: POST only, from our own page (Origin) or a script (no Origin, not cross-site). */
function sameOrigin(req: Req, secure: boolean): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return req.headers['sec-fetch-site'] === undefined || req.headers['sec-fetch-site'] === 'same-origin' || req.headers['sec-fetch-site'] === 'none';
  return origin === `${secure ? 'https' : 'http'}://${req.headers.host ?? ''}`;
}

/** The API answers our own page and scripts only: a cross-site request never reaches the token check. */
function fromElsewhere(req: Req): boolean {
  const site = req.headers['sec-fetch-site'];
  return site !== undefined && site !== 'same-origin' && site !== 'none';
}

function jailOf(body: Record<string, unknown>): string {
  const jail = typeof body.jail === 'string' ? body.jail : '';
  if (!JAIL_RE.test(jail)) throw new HttpError(400, `invalid jail '${jail.slice(0, 64)}': expected a jail name`);
  return jail;
}

/**
 * One server's requests: the checks every request passes (host, method, origin, token or
 * session), the wrong-token limit, the audit log, and the API's routes.
 */
class WebApp {
  readonly secure: boolean;
  /** The port bound (known once listening, for the Host check). */
  port: number;
  private readonly now: () => number;
  private readonly limiter: RateLimiter;
  private readonly sessions: Sessions;
  private readonly peerOf: NonNullable<WebServerOptions['peerOf']>;

  constructor(
    private readonly o: WebServerOptions,
    private readonly assets: Map<string, Buffer>,
  ) {
    this.secure = Boolean(o.tls);
    this.port = o.port;
    this.now = o.now ?? Date.now;
    this.limiter = new RateLimiter(this.now);
    this.sessions = new Sessions(this.now);
    this.peerOf = o.peerOf ?? loopbackPeer;
  }

  readonly listener = (req: Req, res: Res): void => {
    this.handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) return this.send(res, err.status, JSON.stringify({ error: err.message }));
      this.send(res, 500, JSON.stringify({ error: (err as Error).message.split('\n')[0] }));
    });
  };

  private send(res: Res, status: number, body: string | Buffer, type?: string, extra?: Headers): void {
    send(res, this.secure, status, body, type, extra);
  }

  private json(res: Res, status: number, value: unknown, t0: number, extra: Headers = {}): void {
    this.send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', { 'Server-Timing': `app;dur=${(performance.now() - t0).toFixed(1)}`, ...extra });
  }

  /**
   * Who the client is. Off loopback, its address. On loopback, where every local account and
   * every SSH tunnel is 127.0.0.1, the local account holding the other end (the wrong-token
   * limit's key: one account's failures never throttle another) and, for the audit log, its
   * process, an SSH tunnel named as one.
   */
  private async identify(req: Req, findProcess: boolean): Promise<{ key: string; description: string }> {
    const address = req.socket.remoteAddress ?? '?';
    if (!isLoopback(address)) return { key: address, description: address };
    const peer = await this.peerOf(req.socket.remotePort ?? 0, req.socket.localPort ?? 0, findProcess).catch(() => null);
    return { key: peer ? `uid ${peer.uid}` : address, description: describePeer(address, peer) };
  }

  /**
   * A wrong token: 401 and one audit line while the client has free attempts, then 429 with
   * Retry-After (not audited: a flood does not fill the log). Only failures are counted and
   * throttled: a right token is checked first and always accepted, whatever came before it.
   */
  private async wrongToken(req: Req, res: Res, action: string): Promise<void> {
    const { key } = await this.identify(req, false);
    const wait = this.limiter.waitMs(key);
    if (wait > 0) {
      const s = String(Math.ceil(wait / 1000));
      return this.send(res, 429, JSON.stringify({ error: 'too many wrong tokens; wait', retryAfterSeconds: Number(s) }), undefined, { 'Retry-After': s });
    }
    this.limiter.fail(key);
    await this.audit(req, action, '', 'wrong token');
    return this.send(res, 401, '{"error":"unauthorized"}', undefined, { 'WWW-Authenticate': 'Bearer' });
  }

  /** 'session' | 'bearer' | 'wrong' (a wrong Bearer token) | null (none). */
  private authenticate(req: Req): 'session' | 'bearer' | 'wrong' | null {
    const auth = req.headers.authorization;
    if (auth !== undefined) {
      const m = /^Bearer +(\S{1,512})$/i.exec(auth);
      return m && tokenMatches(m[1]!, this.o.token) ? 'bearer' : 'wrong';
    }
    return this.sessions.valid(cookieValue(req.headers.cookie, SESSION_COOKIE)) ? 'session' : null;
  }

  private async audit(req: Req, action: string, target: string, result: string): Promise<void> {
    const client = (await this.identify(req, true)).description;
    await this.o.audit.append({ time: new Date(this.now()).toISOString(), client, action, target, result });
  }

  /** Every request: the checks in order (host, static files, method, origin, token), then the API. */
  private async handle(req: Req, res: Res): Promise<void> {
    const t0 = performance.now();
    const p = new URL(req.url ?? '/', 'http://x').pathname;
    if (!hostAllowed(req, this.o.host, this.port, this.secure)) return this.send(res, 421, '{"error":"unknown host"}');

    // The page itself holds no data: it may be fetched without a token (it shows the login).
    const st = STATIC[p];
    if (st && (req.method === 'GET' || req.method === 'HEAD')) return this.send(res, 200, this.assets.get(st[0])!, st[1]);
    if (p === '/favicon.ico') return this.send(res, 204, '', 'image/x-icon');

    const changing = req.method !== 'GET' && req.method !== 'HEAD';
    if (changing && req.method !== 'POST' && req.method !== 'DELETE') return this.send(res, 405, '{"error":"method not allowed"}', undefined, { Allow: 'GET, POST, DELETE' });
    if (changing && !sameOrigin(req, this.secure)) return this.send(res, 403, '{"error":"cross-origin request refused"}');

    if (p.startsWith('/api/') && fromElsewhere(req)) return this.send(res, 403, '{"error":"cross-site request refused"}');
    if (p === '/api/login' && req.method === 'POST') return this.login(req, res, t0);

    const who = this.authenticate(req);
    if (who === 'wrong') return this.wrongToken(req, res, 'bearer');
    if (!who) return this.send(res, 401, '{"error":"unauthorized"}', undefined, { 'WWW-Authenticate': 'Bearer' });

    if (p === '/api/logout' && req.method === 'POST') {
      this.sessions.drop(cookieValue(req.headers.cookie, SESSION_COOKIE));
      return this.json(res, 200, { ok: true }, t0, { 'Set-Cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` });
    }
    if (req.method === 'GET') return this.read(p, res, t0);
    return this.change(p, req, res, t0);
  }

  private async login(req: Req, res: Res, t0: number): Promise<void> {
    // A body that is not our JSON (a form, a cross-site fetch) is refused before it counts.
    const body = await readBody(req);
    if (typeof body.token !== 'string' || !tokenMatches(body.token, this.o.token)) return this.wrongToken(req, res, 'login');
    this.limiter.succeed((await this.identify(req, false)).key);
    const sid = this.sessions.create();
    await this.audit(req, 'login', '', 'ok');
    return this.json(res, 200, { ok: true }, t0, { 'Set-Cookie': `${SESSION_COOKIE}=${sid}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200${this.secure ? '; Secure' : ''}` });
  }

  /** GET /api/…: what the page shows. */
  private async read(p: string, res: Res, t0: number): Promise<void> {
    const { source, audit } = this.o;
    if (p === '/api/session') return this.json(res, 200, { ok: true }, t0);
    if (p === '/api/jails') return this.json(res, 200, await source.overview(), t0);
    if (p === '/api/bans') return this.json(res, 200, await source.bans(), t0);
    if (p === '/api/history') return this.json(res, 200, { ...(await source.history()), audit: await audit.recent(200) }, t0);
    if (p === '/api/audit') return this.json(res, 200, { audit: await audit.recent(200) }, t0);
    return this.send(res, 404, '{"error":"not found"}');
  }

  /** POST /api/…: ban, unban, test lines, whitelist (each change audited). */
  private async change(p: string, req: Req, res: Res, t0: number): Promise<void> {
    const body = await readBody(req);
    const { source } = this.o;
    if (req.method !== 'POST') return this.send(res, 404, '{"error":"not found"}');
    if (p === '/api/ban' || p === '/api/unban') {
      const ip = typeof body.ip === 'string' ? body.ip.trim() : '';
      if (!isIP(ip)) throw new HttpError(400, `invalid address '${ip.slice(0, 64)}': expected an IPv4 or IPv6 address`);
      const jail = jailOf(body);
      const action = p === '/api/ban' ? 'ban' : 'unban';
      const r = await (action === 'ban' ? source.ban(jail, ip) : source.unban(jail, ip));
      await this.audit(req, action, `${ip} in ${jail}`, r.ok ? 'ok' : `failed: ${r.message}`);
      return this.json(res, r.ok ? 200 : 409, r, t0);
    }
    if (p === '/api/test-line') {
      const jail = jailOf(body);
      const raw = Array.isArray(body.lines) ? body.lines.map(String) : typeof body.lines === 'string' ? body.lines.split(/\r?\n/) : [];
      const lines = raw.filter((l) => l.trim() !== '').slice(0, 1000);
      if (!lines.length) throw new HttpError(400, 'no log lines given');
      return this.json(res, 200, await source.testLines(jail, lines), t0);
    }
    if (p === '/api/whitelist') {
      const entry = typeof body.entry === 'string' ? body.entry.trim() : '';
      const r = await source.whitelist(entry);
      await this.audit(req, 'whitelist', entry.slice(0, 200), r.ok ? 'ok' : `failed: ${r.message}`);
      return this.json(res, r.ok ? 200 : 400, r, t0);
    }
    return this.send(res, 404, '{"error":"not found"}');
  }
}

/**
 * The web view's HTTP(S) server (node:http only). Every response carries the CSP and no-store;
 * every request but the page's own static files needs a session cookie or `Authorization:
 * Bearer <token>`; without one the answer is a bare 401 that names nothing.
 */
export async function startWebServer(o: WebServerOptions): Promise<RunningWebServer> {
  // The page's files are the program's own (templates/web/), read once at start.
  const assets = new Map<string, Buffer>();
  for (const [file] of Object.values(STATIC)) if (!assets.has(file)) assets.set(file, await fsp.readFile(path.join(o.assetsDir, file)));
  const app = new WebApp(o, assets);
  const server = o.tls
    ? https.createServer({ cert: o.tls.cert, key: o.tls.key }, app.listener)
    : http.createServer(app.listener);
  server.headersTimeout = 20000;
  server.requestTimeout = 60000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  app.port = (server.address() as { port: number }).port;
  const hostPart = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    server,
    port: app.port,
    url: `${app.secure ? 'https' : 'http'}://${hostPart}:${app.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
