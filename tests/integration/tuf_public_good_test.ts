/**
 * The TUF client against the real Sigstore public-good repository, byte for byte
 * (../shared/interop/tuf/sigstore-public-good, root-signing commit 60cf2ce8, 2026-08-21),
 * served from 127.0.0.1 with the clock injected.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { isCosignError } from "../../lib/errors.ts";
import { TufClient } from "../../lib/trust/tuf/client.ts";
import { PUBLIC_GOOD_ROOT_VERSION, publicGoodRootBytes } from "../../lib/trust/tuf/public_good.ts";
import { exists, interopPath, requireComponents, type Requirement, tempDir } from "../_support.ts";
import { serveStaticMirror } from "./_tuf_static.ts";

const REPO = "tuf/sigstore-public-good";
const VALID_AT = new Date("2026-08-25T00:00:00Z");
/** "Today" for this corpus: after the timestamp (2026-08-28) and root v15 (2026-11-20) expired. */
const LATER = new Date("2026-12-02T00:00:00Z");
const TRUSTED_ROOT_SHA256 = "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66";
const SIGNING_CONFIG_SHA256 = "9711a6d5375706957a4859af31c5866a4474f81f0544f9f4b76c9c4f4c8a539c";

const CORPUS: Requirement = {
  name: "TUF corpus (../shared/interop/tuf/sigstore-public-good)",
  present: () => exists(interopPath(`${REPO}/1.root.json`)),
};

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

if (requireComponents("TUF client on the Sigstore public-good repository", CORPUS)) {
  const dir = interopPath(REPO);
  const root1 = () => Deno.readFileSync(`${dir}/1.root.json`);

  Deno.test("TufClient bootstrapped from root v1 walks roots 2-15 and fetches trusted_root.json and signing_config.v0.2.json", async () => {
    await using mirror = serveStaticMirror(dir);
    await using cache = await tempDir();
    const client = new TufClient({
      mirror: mirror.url,
      rootBytes: root1(),
      cacheDir: cache.path,
      now: () => VALID_AT,
    });
    const trustedRoot = await client.trustedRootBytes();
    const signingConfig = await client.signingConfigBytes();
    assert.equal(sha256(trustedRoot), TRUSTED_ROOT_SHA256);
    assert.equal(sha256(signingConfig!), SIGNING_CONFIG_SHA256);
    const trusted = await client.refresh();
    assert.equal(trusted.root.signed.version, 15);
    assert.equal(trusted.timestamp.signed.version, 762);
    assert.equal(trusted.snapshot.signed.version, 165);
    assert.equal(trusted.targets.signed.version, 14);
    const roots = Array.from({ length: 15 }, (_, i) => `/${i + 2}.root.json`);
    assert.deepEqual(mirror.requests, [
      ...roots, // 2..16; 16 is the 404 that ends the walk
      "/timestamp.json",
      "/165.snapshot.json",
      "/14.targets.json",
      `/targets/${TRUSTED_ROOT_SHA256}.trusted_root.json`,
      `/targets/${SIGNING_CONFIG_SHA256}.signing_config.v0.2.json`,
    ]);
    // The registry.npmjs.org delegation is never needed.
    assert.ok(!mirror.requests.some((path) => path.includes("registry.npmjs.org")));
  });

  Deno.test("TufClient bootstrapped from the embedded root v16 keeps v16, probes only 17.root.json, and verifies the v762 timestamp with v16's keys", async () => {
    await using mirror = serveStaticMirror(dir);
    const client = new TufClient({ mirror: mirror.url, cacheDir: null, now: () => VALID_AT });
    assert.equal(sha256(await client.trustedRootBytes()), TRUSTED_ROOT_SHA256);
    const trusted = await client.refresh();
    assert.equal(trusted.root.signed.version, PUBLIC_GOOD_ROOT_VERSION);
    assert.equal(sha256(trusted.root.bytes), sha256(publicGoodRootBytes()));
    assert.equal(trusted.timestamp.signed.version, 762);
    // Never a request for the mirror's older roots: the walk starts at N+1 = 17 (a 404 here).
    assert.deepEqual(mirror.requests.filter((p) => p.endsWith(".root.json")), ["/17.root.json"]);
  });

  Deno.test("TufClient does not follow delegations: the npm delegated target is not found, and no delegated metadata is fetched", async () => {
    await using mirror = serveStaticMirror(dir);
    const client = new TufClient({ mirror: mirror.url, cacheDir: null, now: () => VALID_AT });
    await assert.rejects(
      client.targetBytes("registry.npmjs.org/keys.json"),
      (e) => isCosignError(e, "TRUST_TUF_TARGET_NOT_FOUND"),
    );
    assert.ok(!mirror.requests.some((path) => path.includes("registry.npmjs.org")));
  });

  Deno.test("TufClient on the embedded root v16 refuses the mirror's v15 served as 17.root.json with TRUST_TUF_ROLLBACK", async () => {
    await using mirror = serveStaticMirror(dir);
    const v15 = Deno.readFileSync(`${dir}/15.root.json`);
    mirror.overrides.set("/17.root.json", () => new Response(v15));
    const client = new TufClient({ mirror: mirror.url, cacheDir: null, now: () => VALID_AT });
    // v15 carries valid signatures of the same keys, so only the version check stops it.
    await assert.rejects(client.refresh(), (e) => isCosignError(e, "TRUST_TUF_ROLLBACK"));
  });

  Deno.test("TufClient refuses the repository at a later date: root v15 expired (from v1), the timestamp expired (from v16), one line each", async () => {
    await using mirror = serveStaticMirror(dir);
    const fromV1 = new TufClient({
      mirror: mirror.url,
      rootBytes: root1(),
      cacheDir: null,
      now: () => LATER,
    });
    await assert.rejects(fromV1.trustedRootBytes(), (e) => {
      assert.ok(isCosignError(e, "TRUST_TUF_EXPIRED"));
      assert.equal(
        e.message,
        'TUF root metadata version 15 expired at "2026-11-20T13:58:18Z" (now ' +
          '"2026-12-02T00:00:00.000Z"); run `dcosign initialize` to refresh the TUF metadata',
      );
      return true;
    });
    const fromV16 = new TufClient({ mirror: mirror.url, cacheDir: null, now: () => LATER });
    await assert.rejects(fromV16.trustedRootBytes(), (e) => {
      assert.ok(isCosignError(e, "TRUST_TUF_EXPIRED"));
      assert.match(
        e.message,
        /^TUF timestamp metadata version 762 expired at "2026-08-28T19:25:56Z"/,
      );
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  });

  Deno.test("TufClient with the real clock refuses this corpus as expired", async () => {
    await using mirror = serveStaticMirror(dir);
    const client = new TufClient({ mirror: mirror.url, rootBytes: root1(), cacheDir: null });
    await assert.rejects(client.refresh(), (e) => isCosignError(e, "TRUST_TUF_EXPIRED"));
  });

  Deno.test("TufClient serves the public-good cache offline with zero requests, then refuses it offline once expired", async () => {
    await using mirror = serveStaticMirror(dir);
    await using cache = await tempDir();
    const options = { mirror: mirror.url, cacheDir: cache.path };
    await new TufClient({ ...options, now: () => VALID_AT }).trustedRootBytes();
    const before = mirror.requests.length;
    const offline = new TufClient({ ...options, now: () => VALID_AT, offline: true });
    assert.equal(sha256(await offline.trustedRootBytes()), TRUSTED_ROOT_SHA256);
    assert.equal(mirror.requests.length, before);
    const expired = new TufClient({ ...options, now: () => LATER, offline: true });
    await assert.rejects(expired.trustedRootBytes(), (e) => {
      assert.ok(isCosignError(e, "TRUST_TUF_OFFLINE"));
      assert.match(
        e.message,
        /timestamp metadata \(version 762\) expired at "2026-08-28T19:25:56Z"/,
      );
      return true;
    });
    assert.equal(mirror.requests.length, before);
  });
}
