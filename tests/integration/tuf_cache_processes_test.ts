/**
 * Parallel dcosign processes sharing one TUF cache: four processes update the same cache at
 * once, round after round, while the repository publishes new targets; none fails, none
 * falls back to memory, and the cache ends complete and consistent (an offline client serves
 * the latest trusted root from it, and no temporary file is left).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mirrorCacheDir } from "../../lib/trust/tuf/cache.ts";
import { TufClient } from "../../lib/trust/tuf/client.ts";
import { TufRepository } from "../../server/tuf/repository.ts";
import { tufRoutes } from "../../server/tuf/routes.ts";
import { tempDir } from "../_support.ts";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const script = new URL("./_tuf_update_process.ts", import.meta.url).pathname;

Deno.test("four processes updating one TUF cache at once all succeed and leave it consistent", async () => {
  await using cache = await tempDir("dcosign-tuf-shared-");
  await using work = await tempDir("dcosign-tuf-work-");
  const repo = await TufRepository.create();
  const roots = Array.from({ length: 4 }, (_, i) => new TextEncoder().encode(`{"round":${i}}`));
  await repo.setTargets({ "trusted_root.json": roots[0]!, "signing_config.v0.2.json": roots[0]! });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    tufRoutes(repo).fetch,
  );
  await using _ = { [Symbol.asyncDispose]: () => server.shutdown() };
  const mirror = `http://127.0.0.1:${server.addr.port}/tuf`;
  const rootFile = `${work.path}/1.root.json`;
  await Deno.writeFile(rootFile, repo.rootBytes(1));

  const last = sha256(roots.at(-1)!);
  const children = Array.from({ length: 4 }, () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-all", "--no-lock", script, mirror, rootFile, last],
      env: { TUF_ROOT: cache.path, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output());
  // Publish while they run: the processes write different versions over each other.
  for (const bytes of roots.slice(1)) {
    await new Promise((resolve) => setTimeout(resolve, 400));
    await repo.setTargets({ "trusted_root.json": bytes, "signing_config.v0.2.json": bytes });
  }
  const results = await Promise.all(children);
  for (const result of results) {
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 0, stderr);
    assert.ok(!stderr.includes("WARN"), stderr); // no memory fallback
    const seen: string[] = JSON.parse(new TextDecoder().decode(result.stdout));
    assert.equal(seen.at(-1), last);
    // Every state it saw was a published one, in publication order.
    const order = roots.map(sha256);
    assert.deepEqual(seen, order.slice(order.indexOf(seen[0]!)));
  }

  const dir = mirrorCacheDir(cache.path, mirror);
  const leftovers: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".tmp")) leftovers.push(entry.name);
  }
  assert.deepEqual(leftovers, []);
  // Consistent: whatever the last writer fetched, the cached set verifies as a whole and serves
  // offline, with its target files.
  const options = { mirror, rootBytes: repo.rootBytes(1), cacheDir: cache.path };
  const offline = new TufClient({ ...options, offline: true });
  const served = await offline.trustedRootBytes();
  assert.ok(roots.some((bytes) => sha256(bytes) === sha256(served)));
  assert.deepEqual(await offline.signingConfigBytes(), served);
  // And the next online update brings it to the latest state.
  const online = new TufClient({ ...options, cacheValidity: 0 });
  assert.deepEqual(await online.trustedRootBytes(), roots.at(-1));
});
