/**
 * The Rekor v2 client (lib/tlog/rekor_v2/client.ts) trusts no answer: against the embedded log
 * it logs an entry and reads tiles back; against a log that lies it refuses an entry about other
 * content, from another log, with another kind, with a SET, with a broken proof or a checkpoint
 * another key signed, an oversized or malformed answer, and tiles or bundles of the wrong size.
 * The log witness built on it requires a trusted root naming the log and a TSA for keyless use.
 */

import assert from "node:assert/strict";
import { type Bytes, sha256, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import { RekorV2Client } from "../../../lib/tlog/rekor_v2/client.ts";
import {
  encodeRekorV2Request,
  type RekorV2HashedRekordRequest,
  rekorV2Verifier,
} from "../../../lib/tlog/rekor_v2/entries.ts";
import { serializeTlogEntry } from "../../../lib/bundle/serialize.ts";
import { parseTlogEntry } from "../../../lib/bundle/model.ts";
import { signCheckpoint } from "../../../lib/tlog/checkpoint.ts";
import { verifyTlogEntry } from "../../../lib/tlog/verify.ts";
import { pae } from "../../../lib/payload/dsse.ts";
import type { TlogEntry } from "../../../lib/tlog/entry.ts";
import type { TrustedLog, TrustedRoot } from "../../../lib/trust/trusted_root.ts";
import { checkWitnesses } from "../../../lib/sign/signature.ts";
import { transparencyLogWitness } from "../../../lib/sign/witnesses.ts";
import { signBlob } from "../../../lib/sign/blob.ts";
import { RekorV2Log } from "../../../server/rekor_v2/log.ts";
import { rekorV2Routes } from "../../../server/rekor_v2/routes.ts";

const BASE = "http://rekor-v2.test/rekor-v2";

function rejects(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    if (pattern) assert.match(error.message, pattern);
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

interface Served extends AsyncDisposable {
  readonly log: RekorV2Log;
  readonly trusted: TrustedLog;
  /** The honest app's fetch. */
  readonly fetch: typeof fetch;
}

async function serve(): Promise<Served> {
  const log = await RekorV2Log.open(":memory:");
  const trusted = log.trustedLog(BASE);
  const app = rekorV2Routes(log);
  return {
    log,
    trusted,
    fetch: async (input, init) => await app.fetch(new Request(input, init)),
    [Symbol.asyncDispose]: () => log.close(),
  };
}

/** A log that answers every entry POST with `answer(honest entry)`. */
function lying(served: Served, answer: (entry: TlogEntry) => unknown): typeof fetch {
  return async (input, init) => {
    const response = await served.fetch(input, init);
    if (init?.method !== "POST" || response.status !== 201) return response;
    const entry = parseTlogEntry(await response.json());
    const forged = await answer(entry);
    return new Response(typeof forged === "string" ? forged : JSON.stringify(forged), {
      status: 201,
      headers: { "content-type": "application/json" },
    });
  };
}

function json(entry: TlogEntry): Record<string, unknown> {
  return JSON.parse(serializeTlogEntry(entry));
}

Deno.test("RekorV2Client.createEntry() returns the logged entry, its proof checked against the log's signed checkpoint", async () => {
  await using served = await serve();
  const client = new RekorV2Client({ baseUrl: BASE, log: served.trusted, fetch: served.fetch });
  const key = await generateKeyPair();
  const entry = await client.createEntry(request(key, "one"));
  assert.equal(entry.logIndex, 0n);
  assert.deepEqual(entry.logId, served.trusted.logId);
  assert.deepEqual(entry.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
  assert.equal(entry.inclusionProof?.treeSize, 1n);
  const second = await client.createEntry(request(key, "two"));
  assert.equal(second.logIndex, 1n);
  assert.equal((await client.readCheckpoint()).treeSize, 2n);
  assert.equal((await client.readTile(0, 0n, 2)).length, 64);
  const bodies = await client.readEntryBundle(0n, 2);
  assert.deepEqual(bodies, [entry.canonicalizedBody, second.canonicalizedBody]);
});

Deno.test("RekorV2Client.createEntry() logs a (deprecated) dsse 0.0.2 request, and our verifier binds it to the envelope", async () => {
  await using served = await serve();
  const client = new RekorV2Client({ baseUrl: BASE, log: served.trusted, fetch: served.fetch });
  const key = await generateKeyPair();
  const payload = utf8('{"_type":"https://in-toto.io/Statement/v1"}');
  const payloadType = "application/vnd.in-toto+json";
  const sig = await key.sign(pae(payloadType, payload));
  const entry = await client.createEntry({
    kind: "dsse",
    envelope: { payloadType, payload, signatures: [{ sig }] },
    verifiers: [rekorV2Verifier(key.publicKey.spki, "publicKey")],
  });
  assert.deepEqual(entry.kindVersion, { kind: "dsse", version: "0.0.2" });
  const root: TrustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [served.trusted],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
  const expected = { signature: sig, publicKeyOrCertificateDer: key.publicKey.spki };
  await verifyTlogEntry(entry, root, {
    expected: { ...expected, dsseEnvelope: { payloadType, payload } },
  });
  await assert.rejects(
    verifyTlogEntry(entry, root, {
      expected: { ...expected, dsseEnvelope: { payloadType, payload: utf8("{}") } },
    }),
    rejects("REKOR_BODY_MISMATCH"),
  );
});

Deno.test("RekorV2Client.createEntry() refuses an answer about another entry, from another log, or of another kind", async () => {
  await using served = await serve();
  const key = await generateKeyPair();
  // A genuine entry of the same log, with a valid proof, about another signature.
  const decoy = (await served.log.append(encodeRekorV2Request(request(key, "decoy")))).entry;
  const cases: [string, (entry: TlogEntry) => unknown, string][] = [
    ["another entry of the same log", () => json(decoy), "REKOR_RESPONSE_MISMATCH"],
    [
      "another log ID",
      (e) => ({ ...json(e), logId: { keyId: toBase64(sha256(utf8("other log"))) } }),
      "REKOR_RESPONSE_MISMATCH",
    ],
    [
      "another kind",
      (e) => ({ ...json(e), kindVersion: { kind: "dsse", version: "0.0.2" } }),
      "REKOR_RESPONSE_MISMATCH",
    ],
    [
      "a SET, which Rekor v2 never issues",
      (e) => ({ ...json(e), inclusionPromise: { signedEntryTimestamp: "AAAA" } }),
      "REKOR_RESPONSE_MALFORMED",
    ],
    [
      "a proof index that is not the entry's",
      (e) => ({ ...json(e), logIndex: "7" }),
      "REKOR_RESPONSE_MALFORMED",
    ],
  ];
  for (const [name, answer, code] of cases) {
    const client = new RekorV2Client({
      baseUrl: BASE,
      log: served.trusted,
      fetch: lying(served, answer),
    });
    await assert.rejects(client.createEntry(request(key, name)), rejects(code), name);
  }
});

Deno.test("RekorV2Client.createEntry() refuses a broken proof and a checkpoint the log's key did not sign", async () => {
  await using served = await serve();
  const key = await generateKeyPair();
  for (let i = 0; i < 3; i++) await served.log.append(encodeRekorV2Request(request(key, `p${i}`)));
  const impostorKey = await generateKeyPair({ kind: "ed25519" });
  const cases: [string, (entry: TlogEntry) => unknown, string][] = [
    ["a flipped proof hash", (e) => {
      const value = json(e);
      const proof = value.inclusionProof as { hashes: string[] };
      const bytes = Uint8Array.fromBase64(proof.hashes[0]!);
      bytes[0]! ^= 1;
      proof.hashes[0] = bytes.toBase64();
      return value;
    }, "REKOR_PROOF_INVALID"],
    [
      "a proof for another tree size than its checkpoint's",
      (e) => ({
        ...json(e),
        inclusionProof: { ...json(e).inclusionProof as object, treeSize: "99" },
      }),
      "REKOR_PROOF_INVALID",
    ],
    [
      "the same tree head signed by another key under the log's name",
      async (e) => {
        const proof = e.inclusionProof!;
        const note = await signCheckpoint(
          { origin: served.log.origin, treeSize: proof.treeSize, rootHash: proof.rootHash },
          impostorKey,
        );
        const value = json(e);
        (value.inclusionProof as { checkpoint: { envelope: string } }).checkpoint.envelope = note;
        return value;
      },
      "REKOR_CHECKPOINT_INVALID",
    ],
  ];
  for (const [name, answer, code] of cases) {
    const client = new RekorV2Client({
      baseUrl: BASE,
      log: served.trusted,
      fetch: lying(served, answer),
    });
    await assert.rejects(client.createEntry(request(key, name)), rejects(code), name);
  }
});

Deno.test("RekorV2Client bounds and checks every answer: oversized, malformed, errors, duplicates, tiles of the wrong size", async () => {
  await using served = await serve();
  const key = await generateKeyPair();
  const fixed =
    (status: number, body: BodyInit, headers: Record<string, string> = {}) => async () =>
      await Promise.resolve(new Response(body, { status, headers }));
  const cases: [string, typeof fetch, string, RegExp?][] = [
    ["an answer of 2 MiB", fixed(201, new Uint8Array(2 << 20)), "REKOR_RESPONSE_TOO_LARGE"],
    [
      "a Content-Length over the cap",
      fixed(201, "{}", { "content-length": String(8 << 20) }),
      "REKOR_RESPONSE_TOO_LARGE",
    ],
    ["not JSON", fixed(201, "{"), "REKOR_RESPONSE_MALFORMED"],
    ["JSON without a proof", fixed(201, '{"logIndex":"0"}'), "REKOR_RESPONSE_MALFORMED"],
    ["an index that is no integer", fixed(201, '{"logIndex":"x"}'), "REKOR_RESPONSE_MALFORMED"],
    [
      "a 409 that gives no index",
      fixed(409, '{"code":6}'),
      "REKOR_DUPLICATE_ENTRY",
      /no valid x-log-index/,
    ],
    [
      "a 400 with gRPC's error body",
      fixed(400, '{"code":3,"message":"invalid hashedrekord request"}'),
      "REKOR_HTTP_ERROR",
      /400: invalid hashedrekord request/,
    ],
    ["a 500 without a body", fixed(500, ""), "REKOR_HTTP_ERROR", /500/],
    [
      "a network failure",
      () => Promise.reject(new TypeError("connection refused")),
      "REKOR_HTTP_ERROR",
      /connection refused/,
    ],
  ];
  for (const [name, fetch, code, pattern] of cases) {
    const client = new RekorV2Client({ baseUrl: BASE, log: served.trusted, fetch });
    await assert.rejects(client.createEntry(request(key, name)), rejects(code, pattern), name);
  }
  await served.log.append(encodeRekorV2Request(request(key, "t")));
  const tiles = (body: Bytes) =>
    new RekorV2Client({ baseUrl: BASE, log: served.trusted, fetch: fixed(200, body) });
  await assert.rejects(
    tiles(new Uint8Array(31) as Bytes).readTile(0, 0n, 1),
    rejects("REKOR_RESPONSE_MALFORMED"),
  );
  await assert.rejects(
    tiles(new Uint8Array(33) as Bytes).readTile(0, 0n, 1),
    rejects("REKOR_RESPONSE_TOO_LARGE"),
  );
  await assert.rejects(
    tiles(new Uint8Array([0, 5, 1]) as Bytes).readEntryBundle(0n, 1),
    rejects("REKOR_RESPONSE_MALFORMED"),
  );
  const honest = new RekorV2Client({ baseUrl: BASE, log: served.trusted, fetch: served.fetch });
  await assert.rejects(honest.readTile(0, 0n), rejects("REKOR_NOT_FOUND"));
  await assert.rejects(honest.readEntryBundle(0n, 2), rejects("REKOR_NOT_FOUND"));
  // A checkpoint by another key under the log's name is refused.
  await using impostor = await RekorV2Log.open(":memory:");
  impostor.trustedLog(BASE);
  const foreign = new RekorV2Client({
    baseUrl: BASE,
    log: served.trusted,
    fetch: fixed(200, await impostor.checkpoint()),
  });
  await assert.rejects(foreign.readCheckpoint(), rejects("REKOR_CHECKPOINT_INVALID"));
  assert.throws(() => new RekorV2Client({ baseUrl: "ftp://x", log: served.trusted }), TypeError);
});

function trustedRootOf(served: Served): TrustedRoot {
  return {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [served.trusted],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
}

/** `served`'s fetch with some GET paths (after the prefix) answered by `answer` instead. */
function rewriting(
  served: Served,
  answer: (path: string) => Response | undefined,
  requested: string[] = [],
): typeof fetch {
  return async (input, init) => {
    const path = new URL(input instanceof Request ? input.url : String(input)).pathname
      .replace(/^\/rekor-v2\//, "");
    requested.push(`${init?.method ?? "GET"} ${path}`);
    return (init?.method ?? "GET") === "GET" && answer(path) || await served.fetch(input, init);
  };
}

Deno.test("RekorV2Client.createEntry() of content the log holds (409) returns the logged entry, its proof rebuilt from tiles across full and partial ones", async () => {
  await using served = await serve();
  const key = await generateKeyPair();
  const requests = Array.from({ length: 300 }, (_, i) => request(key, `entry ${i}`));
  const logged: TlogEntry[] = [];
  for (const r of requests) logged.push((await served.log.append(encodeRekorV2Request(r))).entry);
  const requested: string[] = [];
  const client = new RekorV2Client({
    baseUrl: BASE,
    log: served.trusted,
    fetch: rewriting(served, () => undefined, requested),
  });
  const expected = { publicKeyOrCertificateDer: key.publicKey.spki };
  for (const index of [5, 255, 256, 299]) {
    const entry = await client.createEntry(requests[index]!);
    assert.equal(entry.logIndex, BigInt(index));
    assert.deepEqual(entry.canonicalizedBody, logged[index]!.canonicalizedBody);
    assert.deepEqual(entry.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
    assert.equal(entry.inclusionProof?.treeSize, 300n);
    assert.equal(entry.integratedTime, 0n);
    await verifyTlogEntry(entry, trustedRootOf(served), {
      expected: {
        ...expected,
        signature: requests[index]!.signature,
        artifactDigest: { algorithm: "sha256", digest: requests[index]!.digest },
      },
    });
  }
  assert.equal(served.log.size, 300n); // nothing was logged twice
  // Entry 5: its bundle, the full level-0 tile holding its path, the partial one of the edge.
  assert.deepEqual(requested.slice(0, 5).sort(), [
    "GET checkpoint",
    "GET tile/0/000",
    "GET tile/0/001.p/44",
    "GET tile/entries/000",
    "POST api/v2/log/entries",
  ]);
  // Entry 299, in the partial bundle: its sibling, the first 256 leaves, is a level-1 hash.
  for (const path of ["GET tile/entries/001.p/44", "GET tile/1/000.p/1"]) {
    assert.ok(requested.includes(path), path);
  }
});

Deno.test("RekorV2Client.createEntry() rebuilds a duplicate under an older checkpoint from full tiles when the partial ones are gone", async () => {
  await using served = await serve();
  const key = await generateKeyPair();
  const requests = Array.from({ length: 300 }, (_, i) => request(key, `entry ${i}`));
  for (const r of requests.slice(0, 200)) await served.log.append(encodeRekorV2Request(r));
  const old = await served.log.checkpoint();
  for (const r of requests.slice(200)) await served.log.append(encodeRekorV2Request(r));
  const client = new RekorV2Client({
    baseUrl: BASE,
    log: served.trusted,
    fetch: rewriting(
      served,
      (path) =>
        path === "checkpoint"
          ? new Response(old)
          : path.includes(".p/")
          ? new Response("gone", { status: 404 })
          : undefined,
    ),
  });
  const entry = await client.createEntry(requests[7]!);
  assert.equal(entry.logIndex, 7n);
  assert.equal(entry.inclusionProof?.treeSize, 200n);
  await verifyTlogEntry(entry, trustedRootOf(served), {
    expected: {
      publicKeyOrCertificateDer: key.publicKey.spki,
      signature: requests[7]!.signature,
      artifactDigest: { algorithm: "sha256", digest: requests[7]!.digest },
    },
  });
});

Deno.test("RekorV2Client.createEntry() refuses a 409 naming another entry or an index past the checkpoint, and tiles that do not lead to the signed root", async () => {
  await using served = await serve();
  const key = await generateKeyPair();
  const requests = Array.from({ length: 3 }, (_, i) => request(key, `entry ${i}`));
  for (const r of requests) await served.log.append(encodeRekorV2Request(r));
  const conflict = (index: string) => async (input: string | URL | Request, init?: RequestInit) =>
    init?.method === "POST"
      ? await Promise.resolve(
        new Response('{"code":6}', { status: 409, headers: { "x-log-index": index } }),
      )
      : await served.fetch(input, init);
  const flipped = rewriting(served, (path) => {
    if (!path.startsWith("tile/0/")) return undefined;
    const tile = served.log.tile(0, 0n, 3)!;
    const forged = Uint8Array.from(tile);
    forged[40]! ^= 1; // the hash of leaf 1: a sibling in leaf 0's proof
    return new Response(forged);
  });
  const cases: [string, typeof fetch, string, RegExp][] = [
    ["another entry's index", conflict("1"), "REKOR_RESPONSE_MISMATCH", /not the submitted/],
    ["an index past the checkpoint", conflict("3"), "REKOR_DUPLICATE_ENTRY", /try again shortly/],
    ["an index past 2^63", conflict("18446744073709551615"), "REKOR_DUPLICATE_ENTRY", /no valid/],
    ["a forged hash tile", flipped, "REKOR_PROOF_INVALID", /./],
  ];
  for (const [name, fetch, code, pattern] of cases) {
    const client = new RekorV2Client({ baseUrl: BASE, log: served.trusted, fetch });
    await assert.rejects(client.createEntry(requests[0]!), rejects(code, pattern), name);
  }
});

Deno.test("transparencyLogWitness() with majorApiVersion 2 needs the log in the trusted root; keyless signing with it needs a TSA", async () => {
  await using served = await serve();
  const root: TrustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [served.trusted],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
  assert.throws(
    () => transparencyLogWitness(BASE, { majorApiVersion: 2 }),
    rejects("TRUST_MISSING"),
  );
  assert.throws(
    () =>
      transparencyLogWitness("http://elsewhere.test/rekor-v2", {
        majorApiVersion: 2,
        trustedRoot: root,
      }),
    rejects("REKOR_UNKNOWN_LOG"),
  );
  assert.throws(() => transparencyLogWitness(BASE, { majorApiVersion: 3 }), RangeError);
  const log = transparencyLogWitness(`${BASE}/`, {
    majorApiVersion: 2,
    trustedRoot: root,
    fetch: served.fetch,
  });
  assert.equal(log.majorApiVersion, 2);
  const key = await generateKeyPair();
  const blob = { kind: "bytes", bytes: utf8("witnessed") } as const;
  const signed = await signBlob(blob, { identity: { signer: key }, services: { log } });
  assert.deepEqual(signed.tlogEntry?.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
  assert.equal(served.log.size, 1n);
  // A certificate needs a trusted signing time, which Rekor v2 does not give.
  const keyless = { signer: key, certificate: new Uint8Array([0x30, 0]) as Bytes };
  assert.throws(() => checkWitnesses(keyless, { log }), rejects("REKOR_TIMESTAMP_REQUIRED"));
  await assert.rejects(
    signBlob(blob, { identity: keyless, services: { log } }),
    rejects("REKOR_TIMESTAMP_REQUIRED"),
  );
  checkWitnesses(keyless, { log, timestamp: () => Promise.resolve(new Uint8Array() as Bytes) });
  assert.throws(
    () => checkWitnesses({ signer: key }, { log }, { legacy: true }),
    rejects("REKOR_LEGACY_UNSUPPORTED"),
  );
  assert.equal(served.log.size, 1n, "nothing was logged for the refused signatures");
});
