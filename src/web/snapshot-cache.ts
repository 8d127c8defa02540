/** A snapshot older than this is not shown while a new one is fetched: the request waits. */
export const MAX_STALE_SECONDS = 30;

/**
 * One cached value fetched by `fetch`: fresh for `freshMs`; after that still answered at once
 * while a new one is fetched in the background (up to MAX_STALE_SECONDS old; older, the request
 * waits). Concurrent requests share one fetch. `drop()` (after a change) forgets the value, and a
 * fetch begun before the drop is not kept: the next answer shows the change.
 */
export class SnapshotCache<T> {
  private value: { at: number; v: T } | null = null;
  private inflight: { gen: number; p: Promise<T> } | null = null;
  /** Counts the drops: a fetch begun before one is not kept. */
  private gen = 0;

  constructor(
    private readonly fetch: () => Promise<T>,
    private readonly freshMs: number,
  ) {}

  async get(): Promise<T> {
    const age = this.value ? Date.now() - this.value.at : Infinity;
    if (this.value && age < this.freshMs) return this.value.v;
    if (this.value && age < MAX_STALE_SECONDS * 1000) {
      // Stale but recent: answered now; the next request gets the new one (an error then shows).
      this.start().catch(() => undefined);
      return this.value.v;
    }
    return this.start();
  }

  drop(): void {
    this.value = null;
    this.gen++;
  }

  private start(): Promise<T> {
    if (this.inflight && this.inflight.gen === this.gen) return this.inflight.p;
    const g = this.gen;
    const p = this.fetch()
      .then((v) => {
        if (g === this.gen) this.value = { at: Date.now(), v };
        return v;
      })
      .finally(() => {
        if (this.inflight?.p === p) this.inflight = null;
      });
    this.inflight = { gen: g, p };
    return p;
  }
}
