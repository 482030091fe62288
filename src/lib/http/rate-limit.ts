/**
 * A fixed-window failure counter per key (the client's address, see client-address.ts), in
 * memory. It serves the admin sign-in: after `limit` failures inside `windowMs` the key is refused until the window that started
 * with its first failure has passed. Memory is bounded: at most `maxKeys` keys are tracked,
 * expired entries are dropped first, then the oldest.
 *
 * In memory means per process: on a platform that runs several instances each has its own
 * counters, so the effective limit is `limit` per instance.
 */
export interface RateLimiterOptions {
  limit: number;
  windowMs: number;
  maxKeys?: number;
  /** Clock in ms; tests drive it. */
  now?: () => number;
}

export interface RateLimitState {
  allowed: boolean;
  /** Failures counted in the current window. */
  failures: number;
  /** Seconds until the key may try again (0 when allowed). */
  retryAfterSeconds: number;
}

interface Entry {
  count: number;
  windowStart: number;
}

export class FailureRateLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly maxKeys: number;
  private readonly now: () => number;

  constructor(options: RateLimiterOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new Error('limit must be a positive integer');
    if (!(options.windowMs > 0)) throw new Error('windowMs must be positive');
    this.limit = options.limit;
    this.windowMs = options.windowMs;
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  private live(key: string, now: number): Entry | undefined {
    const e = this.entries.get(key);
    if (e && now - e.windowStart >= this.windowMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private stateOf(e: Entry | undefined, now: number): RateLimitState {
    if (!e || e.count < this.limit) return { allowed: true, failures: e?.count ?? 0, retryAfterSeconds: 0 };
    const retryAfterSeconds = Math.max(1, Math.ceil((e.windowStart + this.windowMs - now) / 1000));
    return { allowed: false, failures: e.count, retryAfterSeconds };
  }

  /** May this key try now? Does not count anything. */
  check(key: string): RateLimitState {
    const now = this.now();
    return this.stateOf(this.live(key, now), now);
  }

  /** Counts one failure for the key and answers the state after it. */
  fail(key: string): RateLimitState {
    const now = this.now();
    let e = this.live(key, now);
    if (!e) {
      this.makeRoom(now);
      e = { count: 0, windowStart: now };
      this.entries.set(key, e);
    }
    e.count++;
    return this.stateOf(e, now);
  }

  /** Forgets the key's failures (after a successful sign-in). */
  reset(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private makeRoom(now: number): void {
    if (this.entries.size < this.maxKeys) return;
    for (const [k, e] of this.entries) if (now - e.windowStart >= this.windowMs) this.entries.delete(k);
    // Still full: drop the oldest windows (Map keeps insertion order).
    for (const k of this.entries.keys()) {
      if (this.entries.size < this.maxKeys) break;
      this.entries.delete(k);
    }
  }
}
