/**
 * A tiny UDP SIP client for the attack test: it REGISTERs, reads the 401 digest challenge and
 * answers it with a digest computed from the password it was given (a wrong one, for an attack),
 * once per attempt, each reply wait bounded by a timeout. No DNS: the server is an IP address.
 *
 * Used as a program, run inside a test network namespace:
 *
 *   ip netns exec f2b-attacker node --import tsx test/helpers/sip-client.ts \
 *     '{"server":"192.0.2.1","user":"alice","password":"wrong","failures":3,"timeoutMs":1000}'
 *
 * It prints one JSON document ({@link SipRunResult}) on stdout and exits 0 (even when no reply
 * came: that is a result, not an error). `failures: 0` sends one plain REGISTER (a probe).
 */
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

export interface SipRunOptions {
  server: string;
  port?: number;
  user: string;
  password: string;
  /** Digest answers to send with `password` (each one a failure when it is wrong); 0 = one plain REGISTER. */
  failures: number;
  /** How long to wait for each reply. */
  timeoutMs: number;
}

export interface SipAttempt {
  /** `challenge`: a REGISTER without credentials; `digest`: one answering the last challenge. */
  kind: 'challenge' | 'digest';
  /** Epoch ms when the request was sent (same clock in every network namespace). */
  sentAt: number;
  /** SIP status code of the reply, or null when none came within the timeout. */
  status: number | null;
  /** The kernel reported the server's port unreachable (an ICMP reject, e.g. from a firewall). */
  refused: boolean;
}

export interface SipRunResult {
  local: string;
  attempts: SipAttempt[];
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const token = (): string => randomBytes(8).toString('hex');

/** The parameters of a `WWW-Authenticate: Digest …` header (realm, nonce, qop, opaque…). */
export function parseChallenge(message: string): Record<string, string> | null {
  const line = /^WWW-Authenticate:\s*Digest\s+(.*)$/im.exec(message)?.[1];
  if (!line) return null;
  const out: Record<string, string> = {};
  for (const m of line.matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]+))/g)) out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

/** The Authorization header value answering `ch` (RFC 2617, MD5, with qop=auth when offered). */
export function digestAuthorization(ch: Record<string, string>, o: { user: string; password: string; method: string; uri: string; cnonce?: string }): string {
  const ha1 = md5(`${o.user}:${ch.realm ?? ''}:${o.password}`);
  const ha2 = md5(`${o.method}:${o.uri}`);
  const parts = [`username="${o.user}"`, `realm="${ch.realm ?? ''}"`, `nonce="${ch.nonce ?? ''}"`, `uri="${o.uri}"`];
  const offersAuth = (ch.qop ?? '').split(',').map((s) => s.trim()).includes('auth');
  if (offersAuth) {
    const cnonce = o.cnonce ?? token();
    const nc = '00000001';
    parts.push(`response="${md5(`${ha1}:${ch.nonce}:${nc}:${cnonce}:auth:${ha2}`)}"`, 'qop=auth', `nc=${nc}`, `cnonce="${cnonce}"`);
  } else {
    parts.push(`response="${md5(`${ha1}:${ch.nonce}:${ha2}`)}"`);
  }
  parts.push('algorithm=MD5');
  if (ch.opaque !== undefined) parts.push(`opaque="${ch.opaque}"`);
  return `Digest ${parts.join(', ')}`;
}

/** Sends the REGISTERs (see {@link SipRunOptions}) and reports every reply, or its absence. */
export async function runSipClient(o: SipRunOptions): Promise<SipRunResult> {
  const port = o.port ?? 5060;
  const sock = dgram.createSocket('udp4');
  const errors: Error[] = [];
  let waiter: ((msg: string | null) => void) | null = null;
  sock.on('message', (buf) => {
    const text = buf.toString('utf8');
    // Only final replies answer a REGISTER (a 100 Trying would not be one).
    if (/^SIP\/2\.0 [2-6]\d\d /.test(text) && waiter) waiter(text);
  });
  sock.on('error', (err) => {
    errors.push(err);
    if (waiter) waiter(null);
  });
  // A connected socket: an ICMP port-unreachable (a firewall's reject) comes back as an error.
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(port, o.server, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const { address: localIp, port: localPort } = sock.address();
  const uri = `sip:${o.server}`;
  const callId = `${token()}@${localIp}`;
  const fromTag = token();
  let cseq = 0;
  const attempts: SipAttempt[] = [];

  const send = async (kind: SipAttempt['kind'], authorization?: string): Promise<string | null> => {
    cseq += 1;
    const msg = [
      `REGISTER ${uri} SIP/2.0`,
      `Via: SIP/2.0/UDP ${localIp}:${localPort};branch=z9hG4bK${token()};rport`,
      'Max-Forwards: 70',
      `From: <sip:${o.user}@${o.server}>;tag=${fromTag}`,
      `To: <sip:${o.user}@${o.server}>`,
      `Call-ID: ${callId}`,
      `CSeq: ${cseq} REGISTER`,
      `Contact: <sip:${o.user}@${localIp}:${localPort}>`,
      ...(authorization ? [`Authorization: ${authorization}`] : []),
      'Expires: 60',
      'User-Agent: voip-f2b-install-test',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    const errorsBefore = errors.length;
    const attempt: SipAttempt = { kind, sentAt: Date.now(), status: null, refused: false };
    attempts.push(attempt);
    const reply = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => finish(null), o.timeoutMs);
      const finish = (m: string | null): void => {
        clearTimeout(timer);
        waiter = null;
        resolve(m);
      };
      waiter = finish;
      sock.send(msg, (err) => {
        if (err) {
          errors.push(err);
          finish(null);
        }
      });
    });
    attempt.status = reply ? Number(/^SIP\/2\.0 (\d{3})/.exec(reply)![1]) : null;
    attempt.refused = errors.slice(errorsBefore).some((e) => (e as NodeJS.ErrnoException).code === 'ECONNREFUSED');
    return reply;
  };

  try {
    let reply = await send('challenge');
    for (let i = 0; i < o.failures; i++) {
      const ch = reply ? parseChallenge(reply) : null;
      if (!ch) break; // no challenge to answer: nothing more can be sent meaningfully
      reply = await send('digest', digestAuthorization(ch, { user: o.user, password: o.password, method: 'REGISTER', uri }));
    }
  } finally {
    sock.close();
  }
  return { local: `${localIp}:${localPort}`, attempts };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const options = JSON.parse(process.argv[2] ?? '{}') as SipRunOptions;
  runSipClient(options).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: Error) => {
      process.stderr.write(`sip-client: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
