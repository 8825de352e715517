/**
 * server/tuf: the embedded TUF repository writes standard metadata that the client verifies,
 * in memory and on disk (a restart keeps keys and versions), rotates roots and keys, re-signs
 * before expiry, and its routes serve the layout a TUF client expects.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import { encodeTufCanonicalJson } from "../../../lib/trust/tuf/canonical_json.ts";
import { TufClient } from "../../../lib/trust/tuf/client.ts";
import { parseTufMetadata } from "../../../lib/trust/tuf/metadata.ts";
import { TufRepository } from "../../../server/tuf/repository.ts";
import { tufRoutes } from "../../../server/tuf/routes.ts";
import { tempDir } from "../../_support.ts";
import { sha256, SIGNING_CONFIG, T0, TRUSTED_ROOT, tufFixture } from "./_tuf_fixtures.ts";

const HOUR = 60 * 60 * 1000;

Deno.test("TufRepository writes TUF 1.0 metadata: securesystemslib key IDs, consistent snapshot names, hashed targets", async () => {
  for (const keyType of ["ed25519", "ecdsa-p256"] as const) {
    const fx = await tufFixture({ keyType });
    const root = parseTufMetadata(fx.repo.rootBytes(1), "root");
    assert.equal(root.signed.specVersion, "1.0.31");
    assert.equal(root.signed.consistentSnapshot, true);
    for (const [keyid, key] of root.signed.keys) {
      const json = { keytype: key.keytype, scheme: key.scheme, keyval: { public: key.public } };
      assert.equal(keyid, sha256(encodeTufCanonicalJson(json)));
      assert.equal(key.keytype, keyType === "ed25519" ? "ed25519" : "ecdsa");
    }
    assert.deepEqual(fx.repo.versions, { root: 1, targets: 2, snapshot: 2, timestamp: 2 });
    for (const path of ["timestamp.json", "2.snapshot.json", "2.targets.json"]) {
      assert.ok(fx.repo.file(path), path);
    }
    assert.deepEqual(
      fx.repo.file(`targets/${sha256(TRUSTED_ROOT)}.trusted_root.json`),
      TRUSTED_ROOT,
    );
    const client = fx.client();
    assert.deepEqual(await client.trustedRootBytes(), TRUSTED_ROOT);
    assert.deepEqual(await client.signingConfigBytes(), SIGNING_CONFIG);
  }
});

Deno.test("TufRepository without consistent snapshots serves snapshot.json, targets.json and plain target names", async () => {
  const fx = await tufFixture({ consistentSnapshot: false });
  assert.ok(fx.repo.file("snapshot.json") && fx.repo.file("targets.json"));
  assert.deepEqual(fx.repo.file("targets/trusted_root.json"), TRUSTED_ROOT);
  assert.deepEqual(await fx.client().trustedRootBytes(), TRUSTED_ROOT);
  assert.ok(
    fx.requests.includes("/tuf/snapshot.json") &&
      fx.requests.includes("/tuf/targets/trusted_root.json"),
  );
});

Deno.test("TufRepository on disk: a restart keeps keys, versions and files, and updates continue from there", async () => {
  await using dir = await tempDir();
  const now = () => T0;
  const first = await TufRepository.create({ dataDir: dir.path, now, keyType: "ecdsa-p256" });
  await first.setTargets({ "trusted_root.json": TRUSTED_ROOT });
  await first.rotateRoot({ rotate: ["root", "timestamp"] });
  const keyids = ["root", "timestamp", "snapshot", "targets"].map((role) =>
    first.roleKeys(role as "root").map((key) => key.keyid)
  );
  assert.equal((await Deno.stat(`${dir.path}/keys.json`)).mode! & 0o777, 0o600);

  const second = await TufRepository.create({ dataDir: dir.path, now });
  assert.deepEqual(second.versions, first.versions);
  assert.deepEqual(
    ["root", "timestamp", "snapshot", "targets"].map((role) =>
      second.roleKeys(role as "root").map((key) => key.keyid)
    ),
    keyids,
  );
  for (const path of ["1.root.json", "2.root.json", "timestamp.json", "3.snapshot.json"]) {
    assert.deepEqual(second.file(path), first.file(path), path);
  }
  const newRoot = new TextEncoder().encode('{"v":2}');
  await second.setTargets({ "trusted_root.json": newRoot });
  assert.equal(second.versions.targets, 3);
  const app = tufRoutes(second);
  const client = new TufClient({
    mirror: "http://tuf.test/tuf",
    rootBytes: second.rootBytes(1),
    cacheDir: null,
    now,
    fetch: (async (input: string | URL | Request, init?: RequestInit) =>
      await app.request(String(input), init)) as typeof fetch,
  });
  assert.deepEqual(await client.trustedRootBytes(), newRoot);
  assert.equal((await client.refresh()).root.signed.version, 2);
});

Deno.test("TufRepository refuses a damaged state directory with SERVER_TUF_STATE", async () => {
  await using dir = await tempDir();
  await TufRepository.create({ dataDir: dir.path });
  const state = JSON.parse(await Deno.readTextFile(`${dir.path}/state.json`));
  for (
    const damaged of [{ ...state, versions: { root: "1" } }, { ...state, keyType: "rsa" }, "[]"]
  ) {
    await Deno.writeTextFile(`${dir.path}/state.json`, JSON.stringify(damaged));
    await assert.rejects(
      TufRepository.create({ dataDir: dir.path }),
      (e) => isCosignError(e, "SERVER_TUF_STATE"),
    );
  }
});

Deno.test("TufRepository.refreshTimestamp() re-signs only past half the timestamp's lifetime; refreshExpiring() cascades", async () => {
  let clock = T0;
  const repo = await TufRepository.create({
    now: () => clock,
    expiry: { snapshot: 10 * 24 * HOUR },
  });
  assert.equal(await repo.refreshTimestamp(new Date(T0.getTime() + 11 * HOUR)), false);
  assert.equal(await repo.refreshTimestamp(new Date(T0.getTime() + 13 * HOUR)), true);
  assert.equal(repo.versions.timestamp, 2);
  clock = new Date(T0.getTime() + 6 * 24 * HOUR);
  assert.deepEqual(await repo.refreshExpiring(), ["snapshot", "timestamp"]);
  assert.deepEqual(repo.versions, { root: 1, targets: 1, snapshot: 2, timestamp: 3 });
  const timestamp = parseTufMetadata(repo.file("timestamp.json")!, "timestamp");
  assert.equal(timestamp.signed.expires, "2030-01-08T00:00:00Z");
  assert.deepEqual(await repo.refreshExpiring(), []);
});

Deno.test("TufRepository refuses target names that could leave the targets directory", async () => {
  const repo = await TufRepository.create();
  for (const name of ["../x", "a/../b", "", "a b", "/abs"]) {
    await assert.rejects(
      async () => await repo.setTargets({ [name]: new Uint8Array(1) }),
      RangeError,
      name,
    );
  }
});

Deno.test("tufRoutes() serve metadata and targets under /tuf/ with cache headers, 404 for anything else", async () => {
  const fx = await tufFixture();
  const app = tufRoutes(fx.repo);
  const ts = await app.request("/tuf/timestamp.json");
  assert.equal(ts.status, 200);
  assert.equal(ts.headers.get("cache-control"), "no-store");
  assert.equal(ts.headers.get("content-type"), "application/json");
  assert.equal((await ts.json()).signed._type, "timestamp");
  const target = await app.request(`/tuf/targets/${sha256(TRUSTED_ROOT)}.trusted_root.json`);
  assert.match(target.headers.get("cache-control")!, /immutable/);
  assert.deepEqual(new Uint8Array(await target.arrayBuffer()), TRUSTED_ROOT);
  for (
    const path of [
      "/tuf/9.root.json",
      "/tuf/targets/trusted_root.json",
      "/tuf/%zz",
      "/tuf/../keys.json",
      `/tuf/${"a".repeat(600)}`,
    ]
  ) {
    const response = await app.request(path);
    assert.equal(response.status, 404, path);
    await response.body?.cancel();
  }
});
