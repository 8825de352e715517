/**
 * The verdict cache (lib/admission/cache.ts): entries live for their TTL (or a shorter one the
 * computation asks for), concurrent lookups of one key share one computation, a computation
 * that throws is shared but not kept, and the size bound evicts the oldest entries.
 */

import assert from "node:assert/strict";
import { ResultCache } from "../../../lib/admission/cache.ts";

Deno.test("ResultCache: a hit within the TTL, a recomputation after it, and a shorter per-entry TTL", async () => {
  let now = 0;
  const cache = new ResultCache<number>({ ttlMs: 1000, now: () => now });
  let runs = 0;
  const compute = (ttlMs?: number) => () =>
    Promise.resolve({ value: ++runs, ...(ttlMs !== undefined ? { ttlMs } : {}) });
  assert.equal(await cache.get("a", compute()), 1);
  now = 999;
  assert.equal(await cache.get("a", compute()), 1);
  now = 1000;
  assert.equal(await cache.get("a", compute()), 2);
  assert.equal(await cache.get("b", compute(10)), 3);
  now = 1011;
  assert.equal(await cache.get("b", compute()), 4, "the short-lived entry expired");
  assert.equal(await cache.get("c", compute(0)), 5);
  assert.equal(await cache.get("c", compute()), 6, "ttlMs 0 keeps nothing");
  assert.deepEqual(cache.stats, { hits: 1, misses: 6, coalesced: 0, evictions: 0 });
});

Deno.test("ResultCache: concurrent lookups share one computation, and a failure is shared but not kept", async () => {
  const cache = new ResultCache<string>();
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const slow = async () => {
    runs++;
    await gate;
    throw new Error("registry down");
  };
  const waiting = Array.from({ length: 5 }, () => cache.get("k", slow));
  release();
  const outcomes = await Promise.allSettled(waiting);
  assert.ok(outcomes.every((o) => o.status === "rejected"));
  assert.equal(runs, 1);
  assert.equal(cache.stats.coalesced, 4);
  assert.equal(
    await cache.get("k", () => Promise.resolve({ value: "ok" })),
    "ok",
    "the failure was not stored",
  );
});

Deno.test("ResultCache: the oldest entries go first beyond maxEntries", async () => {
  const cache = new ResultCache<number>({ maxEntries: 2 });
  for (const [i, key] of ["a", "b", "c"].entries()) {
    await cache.get(key, () => Promise.resolve({ value: i }));
  }
  assert.equal(cache.size, 2);
  assert.equal(cache.stats.evictions, 1);
  assert.equal(await cache.get("a", () => Promise.resolve({ value: 9 })), 9, "a was evicted");
  assert.equal(await cache.get("c", () => Promise.resolve({ value: 9 })), 2, "c was kept");
  assert.throws(() => new ResultCache({ ttlMs: -1 }), RangeError);
});
