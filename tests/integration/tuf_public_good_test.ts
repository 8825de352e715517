/**
 * The TUF client and `dcosign initialize` against the real Sigstore public-good repository, byte
 * for byte (../shared/interop/tuf/sigstore-public-good, root-signing commit 60cf2ce8,
 * 2026-08-21), served from 127.0.0.1 with the clock injected (the library's `now`, the CLI
 * context's clock, and the `DCOSIGN_NOW` hook for a real process).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { isCosignError } from "../../lib/errors.ts";
import { TufClient } from "../../lib/trust/tuf/client.ts";
import { PUBLIC_GOOD_ROOT_VERSION, publicGoodRootBytes } from "../../lib/trust/tuf/public_good.ts";
import { exists, interopPath, requireComponents, type Requirement, tempDir } from "../_support.ts";
import { serveStaticMirror } from "./_tuf_static.ts";
import { dcosign, dcosignProcess } from "../_cli.ts";

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

if (requireComponents("dcosign initialize on the Sigstore public-good repository", CORPUS)) {
  const dir = interopPath(REPO);

  Deno.test("dcosign initialize --mirror --root 1.root.json walks the real repository to root v15 and caches the trusted root; later commands read it offline", async () => {
    await using mirror = serveStaticMirror(dir);
    await using tufRoot = await tempDir("dcosign-tuf-pg-");
    const env = { TUF_ROOT: tufRoot.path };
    const now = () => VALID_AT;
    const result = await dcosign(
      ["initialize", "--mirror", mirror.url, "--root", `${dir}/1.root.json`],
      { env, now },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^Initialized TUF for "${mirror.url}": root version 15, timestamp version 762, targets version 14\\n` +
          `Cached in ${tufRoot.path}/dcosign/http%3A%2F%2F127\\.0\\.0\\.1%3A\\d+: trusted_root\\.json, signing_config\\.v0\\.2\\.json\\n$`,
      ),
    );
    assert.ok(
      mirror.requests.includes("/15.root.json") && mirror.requests.includes("/16.root.json"),
    );
    // The remembered mirror and cached root serve a later run with no request and no flag.
    const before = mirror.requests.length;
    const client = new TufClient({ cacheDir: tufRoot.path, now, offline: true });
    assert.equal(await client.mirror(), mirror.url);
    assert.equal(sha256(await client.trustedRootBytes()), TRUSTED_ROOT_SHA256);
    assert.equal(mirror.requests.length, before);
  });

  Deno.test("dcosign initialize at today's date refuses the same mirror as expired, in one line naming the role, its expiry and the fix", async () => {
    await using mirror = serveStaticMirror(dir);
    await using tufRoot = await tempDir("dcosign-tuf-pg-");
    const result = await dcosign(
      ["initialize", "--mirror", mirror.url, "--root", `${dir}/1.root.json`],
      { env: { TUF_ROOT: tufRoot.path } },
    );
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^Error: TUF root metadata version 15 expired at "2026-11-20T13:58:18Z" \(now "[^"]+"\); run `dcosign initialize` to refresh the TUF metadata \[TRUST_TUF_EXPIRED\]\n$/,
    );
  });

  Deno.test("dcosign initialize as a process with DCOSIGN_NOW (the clock test hook) and a wrong --root-checksum, then the right one", async () => {
    await using mirror = serveStaticMirror(dir);
    await using tufRoot = await tempDir("dcosign-tuf-pg-");
    const env = { TUF_ROOT: tufRoot.path, DCOSIGN_NOW: VALID_AT.toISOString() };
    const args = ["initialize", "--mirror", mirror.url, "--root", `${dir}/1.root.json`];
    const wrong = await dcosignProcess([...args, "--root-checksum", "00".repeat(32)], { env });
    assert.equal(wrong.code, 1);
    assert.match(
      wrong.stderr,
      /The TUF root has sha256 "[0-9a-f]{64}", not the expected "0{64}" \[TRUST_TUF_HASH_MISMATCH\]/,
    );
    assert.equal(mirror.requests.length, 0, "a refused root fetches nothing");
    const checksum = sha256(Deno.readFileSync(`${dir}/1.root.json`));
    const right = await dcosignProcess([...args, "--root-checksum", checksum], { env });
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stderr, /^WARNING: DCOSIGN_NOW is set/);
    assert.match(right.stderr, /root version 15, timestamp version 762/);
  });
}
