/**
 * The results cache of the admission webhook: what checking an image digest against one version
 * of a policy gave, kept for a time-to-live, and single-flight: concurrent requests for the same
 * key share one computation instead of each verifying the same signatures.
 *
 * A Deployment's replicas each keep their own cache (the webhook is stateless); the key holds the
 * policy's content hash, so an edited policy never sees an old result. Entries are bounded in
 * number (the oldest go first) and expire; a computation that failed (threw) is not kept, and
 * an entry may choose its own, shorter, lifetime (denials, so a freshly signed image is admitted
 * soon).
 *
 * @module
 */

/** Counters a cache reports (for `/metrics`). */
export interface CacheStats {
  /** Answered from a stored entry. */
  hits: number;
  /** Computed. */
  misses: number;
  /** Joined a computation already running. */
  coalesced: number;
  /** Entries dropped to stay within `maxEntries`. */
  evictions: number;
}

/** Options of {@link ResultCache}. */
export interface ResultCacheOptions {
  /** How long an entry is kept, in milliseconds (default 5 minutes); 0 keeps nothing. */
  readonly ttlMs?: number;
  /** Most entries kept (default 10,000). */
  readonly maxEntries?: number;
  /** The clock, in epoch milliseconds (default `Date.now`). */
  readonly now?: () => number;
}

interface Entry<T> {
  readonly value: T;
  readonly expires: number;
}

/**
 * A TTL cache with single-flight computation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ResultCache } from "./cache.ts";
 *
 * const cache = new ResultCache<string>({ ttlMs: 60_000 });
 * let runs = 0;
 * const compute = async () => {
 *   runs++;
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 *   return { value: "verified" };
 * };
 * const [a, b] = await Promise.all([cache.get("k", compute), cache.get("k", compute)]);
 * assert.equal(a, "verified");
 * assert.equal(b, "verified");
 * assert.equal(runs, 1); // the second caller joined the first computation
 * assert.equal(await cache.get("k", compute), "verified");
 * assert.deepEqual(cache.stats, { hits: 1, misses: 1, coalesced: 1, evictions: 0 });
 * ```
 */
export class ResultCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #running = new Map<string, Promise<T>>();
  readonly #ttl: number;
  readonly #max: number;
  readonly #now: () => number;
  /** Counters since creation. */
  readonly stats: CacheStats = { hits: 0, misses: 0, coalesced: 0, evictions: 0 };

  /** A cache; see {@link ResultCacheOptions}. */
  constructor(options: ResultCacheOptions = {}) {
    this.#ttl = options.ttlMs ?? 5 * 60_000;
    this.#max = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!(this.#ttl >= 0) || !(this.#max >= 1)) {
      throw new RangeError("ttlMs must be >= 0 and maxEntries >= 1");
    }
  }

  /** Entries stored now (expired ones included until touched). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The value for `key`: a live stored one, the one being computed, or a new computation.
   * `compute` returns the value and optionally a shorter lifetime; `ttlMs: 0` keeps it not at
   * all. A computation that throws is shared with those waiting on it but not stored.
   */
  get(key: string, compute: () => Promise<{ value: T; ttlMs?: number }>): Promise<T> {
    const entry = this.#entries.get(key);
    if (entry) {
      if (entry.expires > this.#now()) {
        this.stats.hits++;
        return Promise.resolve(entry.value);
      }
      this.#entries.delete(key);
    }
    const running = this.#running.get(key);
    if (running) {
      this.stats.coalesced++;
      return running;
    }
    this.stats.misses++;
    const promise = (async () => {
      try {
        const { value, ttlMs } = await compute();
        const ttl = Math.min(ttlMs ?? this.#ttl, this.#ttl);
        if (ttl > 0) this.#store(key, { value, expires: this.#now() + ttl });
        return value;
      } finally {
        this.#running.delete(key);
      }
    })();
    this.#running.set(key, promise);
    return promise;
  }

  #store(key: string, entry: Entry<T>): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    // Map iteration is insertion order: the first keys are the oldest.
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
      this.stats.evictions++;
    }
  }

  /** Forget every entry (computations running finish but are still stored). */
  clear(): void {
    this.#entries.clear();
  }
}
