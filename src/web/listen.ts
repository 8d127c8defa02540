import { UsageError } from '../errors.ts';
import { isLoopback } from './server.ts';
import type { WebOptions } from './options.ts';

/** `host:port` or `[v6]:port` → parts; anything else is a usage error naming the value. */
export function parseListen(raw: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`invalid --listen '${raw}': expected host:port, e.g. 127.0.0.1:8473 or [::1]:8473`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The listen address, refused off loopback unless TLS is configured (exit 2). */
export function checkListen(o: Pick<WebOptions, 'listen' | 'tlsCert' | 'tlsKey'>): { host: string; port: number } {
  const l = parseListen(o.listen);
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together: give both or neither');
  if (!isLoopback(l.host) && !(o.tlsCert && o.tlsKey)) {
    throw new UsageError(
      `refusing --listen ${o.listen} without TLS: the page controls fail2ban; expected a loopback address (127.0.0.1, ::1) or --tls-cert and --tls-key`,
      'the normal way in is an SSH tunnel: ssh -L 8473:127.0.0.1:8473 <server>, then open http://127.0.0.1:8473/',
    );
  }
  return l;
}
