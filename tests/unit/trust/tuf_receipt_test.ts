/**
 * The receipt of the cached TUF set (lib/trust/tuf/_cached_set.ts): a cached root and roles
 * that still hash to the receipt written with them are served with no signature check; a
 * changed byte in any of them, a root changed under them, or a set without a receipt is checked
 * in full, and what no longer verifies is not served.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import { mirrorCacheDir } from "../../../lib/trust/tuf/cache.ts";
import { TufClient } from "../../../lib/trust/tuf/client.ts";
import { tempDir } from "../../_support.ts";
import { MIRROR, TRUSTED_ROOT, type TufFixture, tufFixture } from "./_tuf_fixtures.ts";

const SET_FILE = "trusted_metadata.json";

/** Signature verifications `run` makes (every TUF signature goes through WebCrypto). */
async function countVerifications(run: () => Promise<unknown>): Promise<number> {
  const subtle = crypto.subtle;
  const original = subtle.verify;
  let count = 0;
  subtle.verify = function (...args: Parameters<SubtleCrypto["verify"]>) {
    count++;
    return original.apply(subtle, args);
  };
  try {
    await run();
  } finally {
    subtle.verify = original;
  }
  return count;
}

/** A client of the warm cache that trusts only what the cache holds (no root of its own). */
function cacheClient(fx: TufFixture, cacheDir: string): TufClient {
  return new TufClient({ mirror: MIRROR, cacheDir, fetch: fx.fetch, now: fx.now, offline: true });
}

/** A cache directory after one full update of `fx`, and the path of its set file. */
async function warmCache(fx: TufFixture, dir: string): Promise<string> {
  await fx.client({ cacheDir: dir }).trustedRootBytes();
  return `${mirrorCacheDir(dir, MIRROR)}/${SET_FILE}`;
}

type SetFileJson = Record<string, unknown> & { receipt?: string; timestamp: string };

async function editSetFile(path: string, edit: (set: SetFileJson) => void): Promise<void> {
  const set = JSON.parse(await Deno.readTextFile(path)) as SetFileJson;
  edit(set);
  await Deno.writeTextFile(path, JSON.stringify(set));
}

Deno.test("a warm cache its receipt vouches for is served with no signature check; without the receipt every role is verified", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const setPath = await warmCache(fx, dir.path);
  const set = JSON.parse(await Deno.readTextFile(setPath)) as SetFileJson;
  assert.match(set.receipt ?? "", /^[0-9a-f]{64}$/);

  let served: Uint8Array | undefined;
  const vouched = await countVerifications(async () => {
    served = await cacheClient(fx, dir.path).trustedRootBytes();
  });
  assert.equal(vouched, 0);
  assert.deepEqual(served, TRUSTED_ROOT);

  await editSetFile(setPath, (s) => delete s.receipt);
  const full = await countVerifications(async () => {
    served = await cacheClient(fx, dir.path).trustedRootBytes();
  });
  assert.equal(full, 4); // root (itself), timestamp, snapshot, targets: threshold 1 each
  assert.deepEqual(served, TRUSTED_ROOT);
});

Deno.test("a root whose bytes changed under the receipt is verified in full with the roles, and still serves when it verifies", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  await warmCache(fx, dir.path);
  // The same root re-serialized: its signatures (over canonical JSON) still hold, its bytes differ.
  const rootPath = `${mirrorCacheDir(dir.path, MIRROR)}/root.json`;
  const root: unknown = JSON.parse(await Deno.readTextFile(rootPath));
  await Deno.writeTextFile(rootPath, JSON.stringify(root, null, 4));
  let served: Uint8Array | undefined;
  const count = await countVerifications(async () => {
    served = await cacheClient(fx, dir.path).trustedRootBytes();
  });
  assert.equal(count, 4);
  assert.deepEqual(served, TRUSTED_ROOT);
});

Deno.test("a cached role changed under an intact receipt is verified, refused, and not served: a later expiry written into the timestamp", async () => {
  const fx = await tufFixture();
  await using dir = await tempDir();
  const setPath = await warmCache(fx, dir.path);
  await editSetFile(setPath, (set) => {
    const text = new TextDecoder().decode(Uint8Array.fromBase64(set.timestamp));
    const extended = text.replace(/"expires": ?"\d{4}/, (m) => `${m.slice(0, -4)}2999`);
    assert.notEqual(extended, text);
    set.timestamp = new TextEncoder().encode(extended).toBase64();
  });
  await assert.rejects(
    cacheClient(fx, dir.path).trustedRootBytes(),
    (error) =>
      isCosignError(error, "TRUST_TUF_OFFLINE") &&
      /no verified timestamp metadata is cached/.test(error.message),
  );
  // Online, the next update replaces the forged timestamp with the repository's.
  assert.deepEqual(await fx.client({ cacheDir: dir.path }).trustedRootBytes(), TRUSTED_ROOT);
  assert.deepEqual(await cacheClient(fx, dir.path).trustedRootBytes(), TRUSTED_ROOT);
});
