import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new token: 32 random bytes (256 bits), base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison of a presented token with the real one (hashes: equal lengths). */
export function tokenMatches(presented: string, token: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && presented.length === token.length;
}

/**
 * Wrong tokens are rate-limited per client (src/web/server.ts: an address, or on loopback the
 * local account): 5 free attempts, then each further wrong one doubles the wait (2 s, 4 s, … up
 * to 5 min) during which that client's wrong tokens are answered 429 and not audited. Only
 * failures are limited: the server checks a presented token first, and a right one is always
 * accepted (and clears its client's record), so no flood of failures can lock the admin out.
 */
export class RateLimiter {
  private readonly failures = new Map<string, { count: number; blockedUntil: number; last: number }>();
  constructor(
    private readonly now: () => number = Date.now,
    readonly free = 5,
  ) {}

  /** Milliseconds this client must still wait (0 = may try). */
  waitMs(client: string): number {
    const f = this.failures.get(client);
    if (!f) return 0;
    return Math.max(0, f.blockedUntil - this.now());
  }

  fail(client: string): void {
    const t = this.now();
    const f = this.failures.get(client) ?? { count: 0, blockedUntil: 0, last: t };
    // A quiet hour forgives.
    if (t - f.last > 3600_000) f.count = 0;
    f.count++;
    f.last = t;
    if (f.count > this.free) f.blockedUntil = t + Math.min(300_000, 1000 * 2 ** (f.count - this.free));
    this.failures.set(client, f);
    if (this.failures.size > 10000) this.failures.delete(this.failures.keys().next().value as string);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}

/** Sessions after a login: random ids, 12 hours, in memory only (a restart logs everyone out). */
export class Sessions {
  private readonly map = new Map<string, number>();
  constructor(
    private readonly now: () => number = Date.now,
    readonly lifetimeMs = 12 * 3600_000,
  ) {}

  create(): string {
    const id = randomBytes(32).toString('base64url');
    this.map.set(id, this.now() + this.lifetimeMs);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const exp = this.map.get(id);
    if (exp === undefined) return false;
    if (exp < this.now()) {
      this.map.delete(id);
      return false;
    }
    return true;
  }

  drop(id: string | undefined): void {
    if (id) this.map.delete(id);
  }
}

export const SESSION_COOKIE = 'vf2b_session';

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
