/**
 * The embedded Rekor v2 log (server/rekor_v2/): appends only checked entries, never twice;
 * proves each under a C2SP checkpoint its Ed25519 key signs, as our own verifier accepts it;
 * serves full and partial hash tiles and entry bundles whose bytes are the tree's nodes and
 * bodies (C2SP tlog-tiles); keeps everything across a restart and notices a damaged store; and
 * answers over HTTP with rekor-tiles' status codes and tlog-tiles' caching headers.
 */

import assert from "node:assert/strict";
import { type Bytes, concat, sha256, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import { noteKeyId, verifyCheckpoint } from "../../../lib/tlog/checkpoint.ts";
import { hashChildren, hashLeaf, verifyInclusion } from "../../../lib/tlog/merkle.ts";
import { verifyTlogEntry } from "../../../lib/tlog/verify.ts";
import {
  canonicalizeRekorV2Request,
  encodeRekorV2Request,
  type RekorV2HashedRekordRequest,
  rekorV2Verifier,
} from "../../../lib/tlog/rekor_v2/entries.ts";
import { decodeEntryBundle } from "../../../lib/tlog/rekor_v2/tiles.ts";
import { parseTlogEntry } from "../../../lib/bundle/model.ts";
import type { TrustedRoot } from "../../../lib/trust/trusted_root.ts";
import { RekorV2Log } from "../../../server/rekor_v2/log.ts";
import { rekorV2Routes } from "../../../server/rekor_v2/routes.ts";
import { tempDir } from "../../_support.ts";

const BASE = "http://sigstore.test:8080/rekor-v2";

function rejects(code: string) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

function request(key: PrivateKey, text: string): RekorV2HashedRekordRequest {
  const digest = sha256(utf8(text));
  return {
    kind: "hashedrekord",
    digest,
    signature: key.signPrehashed(digest, "sha256"),
    verifier: rekorV2Verifier(key.publicKey.spki, "publicKey"),
  };
}

function rootOf(log: RekorV2Log): TrustedRoot {
  return {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [log.trustedLog(BASE)],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
}

Deno.test("RekorV2Log.append() logs the checked hashedrekord 0.0.2 body and our verifier accepts its proof and C2SP checkpoint", async () => {
  await using log = await RekorV2Log.open(":memory:");
  const root = rootOf(log);
  const key = await generateKeyPair();
  const req = request(key, "release v1.0");
  const { entry, created } = await log.append(encodeRekorV2Request(req));
  assert.ok(created);
  assert.equal(entry.logIndex, 0n);
  assert.deepEqual(entry.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
  assert.equal(entry.integratedTime, 0n);
  assert.equal(entry.inclusionPromise, undefined);
  assert.deepEqual(entry.canonicalizedBody, (await canonicalizeRekorV2Request(req)).body);
  assert.deepEqual(entry.logId, root.tlogs[0]!.logId);
  const verified = await verifyTlogEntry(entry, root, {
    expected: {
      signature: req.signature,
      publicKeyOrCertificateDer: key.publicKey.spki,
      artifactDigest: { algorithm: "sha256", digest: req.digest },
    },
  });
  assert.ok(verified.proofVerified);
  assert.equal(verified.setVerified, false);
  // The same proof for another artifact must not pass: the body binds the digest.
  await assert.rejects(
    verifyTlogEntry(entry, root, {
      expected: {
        signature: req.signature,
        publicKeyOrCertificateDer: key.publicKey.spki,
        artifactDigest: { algorithm: "sha256", digest: sha256(utf8("other")) },
      },
    }),
    rejects("REKOR_BODY_MISMATCH"),
  );
});

Deno.test("RekorV2Log.append() refuses bad signatures, unsupported or mismatched keyDetails, short digests, Ed25519ph and malformed requests", async () => {
  await using log = await RekorV2Log.open(":memory:");
  const key = await generateKeyPair();
  const other = await generateKeyPair();
  const good = request(key, "a");
  const cases: [string, unknown, string][] = [
    [
      "a signature by another key",
      encodeRekorV2Request({ ...good, signature: request(other, "a").signature }),
      "REKOR_ENTRY_INVALID",
    ],
    [
      "keyDetails of another curve",
      encodeRekorV2Request({
        ...good,
        verifier: { ...good.verifier, keyDetails: "PKIX_ECDSA_P384_SHA_384" },
      }),
      "REKOR_ENTRY_INVALID",
    ],
    [
      "an unsupported algorithm (pure Ed25519)",
      encodeRekorV2Request({ ...good, verifier: { ...good.verifier, keyDetails: "PKIX_ED25519" } }),
      "REKOR_ENTRY_UNSUPPORTED",
    ],
    [
      "a digest of the wrong length",
      encodeRekorV2Request({ ...good, digest: good.digest.subarray(0, 20) as Bytes }),
      "REKOR_ENTRY_INVALID",
    ],
    [
      "both kinds at once",
      { ...encodeRekorV2Request(good), dsseRequestV002: {} },
      "REKOR_ENTRY_INVALID",
    ],
    ["no kind", {}, "REKOR_ENTRY_INVALID"],
    ["a string", "hashedrekord", "REKOR_ENTRY_INVALID"],
    [
      "an unknown field",
      {
        hashedRekordRequestV002: {
          ...encodeRekorV2Request(good).hashedRekordRequestV002 as object,
          extra: 1,
        },
      },
      "REKOR_ENTRY_INVALID",
    ],
  ];
  for (const [name, value, code] of cases) {
    await assert.rejects(log.append(value), rejects(code), name);
  }
  const ed = await generateKeyPair({ kind: "ed25519" });
  const digest = sha256(utf8("x"));
  await assert.rejects(
    log.append(encodeRekorV2Request({
      kind: "hashedrekord",
      digest: concat(digest, digest),
      signature: await ed.sign(utf8("x"), { prehash: true }),
      verifier: rekorV2Verifier(ed.publicKey.spki, "publicKey"),
    })),
    rejects("REKOR_ENTRY_UNSUPPORTED"),
  );
  assert.equal(log.size, 0n);
});

Deno.test("RekorV2Log.append() never logs an entry twice, whether the copies arrive together or later", async () => {
  await using log = await RekorV2Log.open(":memory:");
  const key = await generateKeyPair();
  const json = encodeRekorV2Request(request(key, "same"));
  const results = await Promise.all([log.append(json), log.append(json), log.append(json)]);
  assert.deepEqual(results.map((r) => r.entry.logIndex), [0n, 0n, 0n]);
  assert.deepEqual(results.map((r) => r.created).sort(), [false, false, true]);
  const again = await log.append(json);
  assert.equal(again.created, false);
  assert.equal(again.entry.logIndex, 0n);
  assert.equal(log.size, 1n);
});

Deno.test("RekorV2Log serves full and partial tiles and entry bundles that are the tree's nodes and bodies, and every proof verifies", async () => {
  await using log = await RekorV2Log.open(":memory:");
  const root = rootOf(log);
  const key = await generateKeyPair();
  // 300 entries appended concurrently (committed in batches): one full level-0 tile, a partial
  // one of 44, and a level-1 tile of width 1.
  const appended = await Promise.all(
    Array.from({ length: 300 }, (_, i) => log.append(encodeRekorV2Request(request(key, `e${i}`)))),
  );
  assert.deepEqual(
    appended.map((a) => a.entry.logIndex).sort((a, b) => Number(a - b)),
    Array.from({ length: 300 }, (_, i) => BigInt(i)),
  );
  assert.equal(log.size, 300n);
  const bodies: Bytes[] = [];
  for (let i = 0n; i < 300n; i++) bodies.push((await log.entry(i))!.canonicalizedBody);
  const leaves = bodies.map((b) => hashLeaf(b));

  const full = log.tile(0, 0n)!;
  assert.equal(full.length, 256 * 32);
  assert.deepEqual(full, concat(...leaves.slice(0, 256)));
  const partial = log.tile(0, 1n, 44)!;
  assert.deepEqual(partial, concat(...leaves.slice(256)));
  assert.equal(log.tile(0, 1n), undefined, "the second level-0 tile is not full yet");
  assert.equal(log.tile(0, 1n, 45), undefined, "no hash 300 exists");
  assert.equal(log.tile(0, 2n, 1), undefined);
  // Level 1: each hash is the root of a full level-0 tile.
  let level = leaves.slice(0, 256);
  while (level.length > 1) {
    const next: Bytes[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  assert.deepEqual(log.tile(1, 0n, 1), level[0]);
  assert.equal(log.tile(1, 0n), undefined);
  assert.equal(log.tile(1, 0n, 2), undefined);

  assert.deepEqual(decodeEntryBundle(log.entryBundle(0n)!, 256), bodies.slice(0, 256));
  assert.deepEqual(decodeEntryBundle(log.entryBundle(1n, 44)!, 44), bodies.slice(256));
  assert.equal(log.entryBundle(1n), undefined);
  assert.equal(log.entryBundle(1n, 45), undefined);

  const checkpoint = await verifyCheckpoint(await log.checkpoint(), root.tlogs[0]!);
  assert.equal(checkpoint.treeSize, 300n);
  assert.equal(checkpoint.origin, "sigstore.test");
  for (const index of [0n, 1n, 255n, 256n, 299n]) {
    const entry = (await log.entry(index))!;
    const proof = entry.inclusionProof!;
    assert.equal(proof.treeSize, 300n);
    assert.deepEqual(proof.rootHash, checkpoint.rootHash);
    verifyInclusion({
      index,
      size: proof.treeSize,
      leafHash: leaves[Number(index)]!,
      proof: proof.hashes,
      root: proof.rootHash,
    });
  }
  assert.equal(await log.entry(300n), undefined);
});

Deno.test("RekorV2Log names itself by the URL's host name without the port; its log ID is the full C2SP key ID", async () => {
  await using log = await RekorV2Log.open(":memory:");
  const trusted = log.trustedLog("http://127.0.0.1:40123/rekor-v2");
  assert.equal(log.origin, "127.0.0.1");
  assert.equal(trusted.keyDetails, "PKIX_ED25519");
  assert.deepEqual(
    trusted.logId,
    sha256(concat(utf8("127.0.0.1\n"), new Uint8Array([1]), log.publicKey.rawKey)),
  );
  assert.deepEqual(noteKeyId(log.publicKey, "127.0.0.1", "c2sp"), trusted.logId.subarray(0, 4));
  await verifyCheckpoint(await log.checkpoint(), trusted);
  // An IPv6 host is named as Go's url.Hostname() gives it: without brackets.
  const v6 = log.trustedLog("http://[::1]:40123/rekor-v2");
  assert.equal(log.origin, "::1");
  assert.match(await log.checkpoint(), /^::1\n0\n/);
  await verifyCheckpoint(await log.checkpoint(), v6);
  await using named = await RekorV2Log.open(":memory:", { origin: "log.example" });
  named.trustedLog("http://127.0.0.1:1/rekor-v2");
  assert.equal(named.origin, "log.example", "an explicit origin is kept");
});

Deno.test("RekorV2Log on disk keeps its key, entries and tiles across a restart, and notices a damaged store", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/rekor-v2/log.db`;
  const key = await generateKeyPair();
  let spki: Bytes;
  let firstBody: Bytes;
  let checkpoint: string;
  {
    await using log = await RekorV2Log.open(path);
    log.trustedLog(BASE);
    for (let i = 0; i < 3; i++) await log.append(encodeRekorV2Request(request(key, `d${i}`)));
    spki = log.publicKey.spki;
    firstBody = (await log.entry(0n))!.canonicalizedBody;
    checkpoint = await log.checkpoint();
  }
  {
    await using log = await RekorV2Log.open(path);
    const root = rootOf(log);
    assert.deepEqual(log.publicKey.spki, spki);
    assert.equal(log.size, 3n);
    assert.deepEqual((await log.entry(0n))!.canonicalizedBody, firstBody);
    // Ed25519 signatures are deterministic: the same tree gives the same checkpoint.
    assert.equal(await log.checkpoint(), checkpoint);
    const { entry } = await log.append(encodeRekorV2Request(request(key, "d3")));
    assert.equal(entry.logIndex, 3n);
    await verifyCheckpoint(entry.inclusionProof!.checkpoint, root.tlogs[0]!);
    assert.equal(log.tile(0, 0n, 4)!.length, 4 * 32);
  }
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(path);
  db.exec("DELETE FROM nodes WHERE level = 0 AND idx = 3");
  db.close();
  await assert.rejects(RekorV2Log.open(path), rejects("SERVER_LOG_CORRUPT"));
});

Deno.test("rekorV2Routes answer as rekor-tiles (201, 409 with x-log-index, 400, 413) and serve tiles immutable and the checkpoint uncached", async () => {
  await using log = await RekorV2Log.open(":memory:");
  log.trustedLog(BASE);
  const app = rekorV2Routes(log);
  const key = await generateKeyPair();
  const post = (body: string) =>
    app.request("/rekor-v2/api/v2/log/entries", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  const json = JSON.stringify(encodeRekorV2Request(request(key, "http")));

  const created = await post(json);
  assert.equal(created.status, 201);
  const entry = parseTlogEntry(await created.json());
  assert.equal(entry.logIndex, 0n);
  assert.ok(entry.inclusionProof);

  const duplicate = await post(json);
  assert.equal(duplicate.status, 409);
  assert.equal(duplicate.headers.get("x-log-index"), "0");
  assert.equal((await duplicate.json()).code, 6);

  const bad = await post('{"hashedRekordRequestV002":{"digest":"AAAA"}}');
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).code, 3);
  const notJson = await post("{");
  assert.equal(notJson.status, 400);
  await notJson.body?.cancel();
  const huge = await app.request("/rekor-v2/api/v2/log/entries", {
    method: "POST",
    headers: { "content-length": String(5 << 20) },
    body: new Uint8Array(16),
  });
  assert.equal(huge.status, 413);
  await huge.body?.cancel();

  const checkpoint = await app.request("/rekor-v2/checkpoint");
  assert.equal(checkpoint.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(checkpoint.headers.get("cache-control"), "no-cache");
  assert.equal(await checkpoint.text(), await log.checkpoint());

  for (const path of ["tile/0/000.p/1", "tile/entries/000.p/1"]) {
    const tile = await app.request(`/rekor-v2/${path}`);
    assert.equal(tile.status, 200, path);
    assert.equal(tile.headers.get("content-type"), "application/octet-stream");
    assert.match(tile.headers.get("cache-control")!, /immutable/);
    const bytes = new Uint8Array(await tile.arrayBuffer());
    assert.deepEqual(
      bytes,
      path.includes("entries") ? log.entryBundle(0n, 1) : log.tile(0, 0n, 1),
    );
  }
  assert.equal(toBase64(log.tile(0, 0n, 1)!), toBase64(hashLeaf(entry.canonicalizedBody)));
  for (
    const path of [
      "tile/0/000",
      "tile/0/0.p/1",
      "tile/0/x000/000.p/1",
      "tile/00/000.p/1",
      "tile/0/000.p/0",
      "tile/entries/001.p/1",
      "tile/64/000.p/1",
    ]
  ) {
    const missing = await app.request(`/rekor-v2/${path}`);
    assert.equal(missing.status, 404, path);
    await missing.body?.cancel();
  }
});
