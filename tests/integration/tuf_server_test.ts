/**
 * server/tuf over a real socket: the embedded repository served by its Hono routes with
 * Deno.serve, consumed by the TUF client with the real fetch. A root rotation (every role's
 * keys) plus new targets reach a client whose cache is past its validity; an offline client on
 * the same cache keeps the old trusted root.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { TufClient } from "../../lib/trust/tuf/client.ts";
import { TufRepository } from "../../server/tuf/repository.ts";
import { tufRoutes } from "../../server/tuf/routes.ts";
import { tempDir } from "../_support.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

Deno.test("a rotated root and new targets from the served repository reach a stale cache; offline keeps the old trusted root", async () => {
  await using data = await tempDir("dcosign-tuf-repo-");
  await using cache = await tempDir("dcosign-tuf-cache-");
  const oldRoot = new TextEncoder().encode('{"trusted":"old"}');
  const newRoot = new TextEncoder().encode('{"trusted":"new"}');
  const repo = await TufRepository.create({ dataDir: data.path, keyType: "ecdsa-p256" });
  await repo.setTargets({ "trusted_root.json": oldRoot });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    tufRoutes(repo).fetch,
  );
  await using _ = { [Symbol.asyncDispose]: () => server.shutdown() };
  const mirror = `http://127.0.0.1:${server.addr.port}/tuf`;
  const options = { mirror, rootBytes: repo.rootBytes(1), cacheDir: cache.path };

  const first = new TufClient(options);
  assert.deepEqual(await first.trustedRootBytes(), oldRoot);
  assert.equal(await first.signingConfigBytes(), undefined); // not published: absent, not an error

  assert.equal(await repo.rotateRoot({ rotate: ["root", "timestamp", "snapshot", "targets"] }), 2);
  await repo.setTargets({ "trusted_root.json": newRoot });

  // Within validity the cache answers, so the old root is still served with no request.
  assert.deepEqual(await new TufClient(options).trustedRootBytes(), oldRoot);
  assert.deepEqual(await new TufClient({ ...options, offline: true }).trustedRootBytes(), oldRoot);

  const stale = new TufClient({ ...options, cacheValidity: 0 });
  assert.equal(sha256(await stale.trustedRootBytes()), sha256(newRoot));
  const trusted = await stale.refresh();
  assert.equal(trusted.root.signed.version, 2);
  assert.equal(trusted.targets.signed.version, repo.versions.targets);

  // The cache now holds the new state, which serves offline with the new keys.
  assert.deepEqual(await new TufClient({ ...options, offline: true }).trustedRootBytes(), newRoot);
});
