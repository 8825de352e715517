import assert from "node:assert/strict";
import { tempDir } from "../_support.ts";
import { type Bytes, concat, sha256, toBase64, utf8 } from "../../lib/util/bytes.ts";
import { verifyCheckpoint } from "../../lib/tlog/checkpoint.ts";
import { isCosignError } from "../../lib/errors.ts";
import { generateKeyPair, type PrivateKey } from "../../lib/keys/private_key.ts";
import { hashLeaf, verifyConsistency, verifyInclusion } from "../../lib/tlog/merkle.ts";
import {
  decodeLogEntries,
  encodeExactJson,
  logEntryToTlogEntry,
  RekorClient,
  type RekorLogEntry,
} from "../../lib/tlog/rekor/client.ts";
import {
  buildDsseEntry,
  buildHashedRekordEntry,
  buildIntotoEntry,
  type ExpectedContent,
  type ProposedEntry,
} from "../../lib/tlog/rekor/entries.ts";
import { verifyTlogEntry } from "../../lib/tlog/verify.ts";
import type { TrustedRoot } from "../../lib/trust/trusted_root.ts";
import { MAX_REQUEST_BYTES } from "../../server/rekor/_http.ts";
import { rekorRoutes } from "../../server/rekor/routes.ts";
import { TransparencyLog } from "../../server/rekor/transparency_log.ts";

const BASE = "http://rekor.test";

function rejects(code: string) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

async function openLog() {
  const log = await TransparencyLog.open(":memory:", { hostname: "rekor.test" });
  const app = rekorRoutes(log);
  const fetch =
    ((input: string | URL | Request, init?: RequestInit) =>
      app.fetch(new Request(input, init))) as typeof globalThis.fetch;
  return { log, app, fetch, client: new RekorClient({ baseUrl: BASE, fetch }) };
}

function rootFor(log: TransparencyLog): TrustedRoot {
  return {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [log.trustedLog(BASE)],
    ctlogs: [],
    certificateAuthorities: [],
    timestampAuthorities: [],
  };
}

interface Signed {
  proposed: ProposedEntry;
  expected: ExpectedContent;
}

function hashedRekord(key: PrivateKey, text: string): Signed {
  const digest = sha256(utf8(text));
  const signature = key.signPrehashed(digest, "sha256");
  return {
    proposed: buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: digest },
      signature,
      verifierPem: key.publicKey.toPem(),
    }),
    expected: {
      signature,
      publicKeyOrCertificateDer: key.publicKey.spki,
      artifactDigest: { algorithm: "sha256", digest },
    },
  };
}

function pae(type: string, payload: Uint8Array): Bytes {
  return concat(utf8(`DSSEv1 ${utf8(type).length} ${type} ${payload.length} `), payload);
}

const signer = await generateKeyPair();

Deno.test("the embedded Rekor logs a hashedrekord entry that verifies offline against its trusted root", async () => {
  const { log, client } = await openLog();
  await using _ = log;
  const signed = hashedRekord(signer, "artifact one");
  const entry = await client.createEntry(signed.proposed);
  assert.equal(entry.logIndex, 0n);
  assert.equal(entry.uuid, hashLeaf(entry.body).toHex());
  assert.equal(entry.entryId, `${log.treeId.toString(16).padStart(16, "0")}${entry.uuid}`);
  const result = await verifyTlogEntry(logEntryToTlogEntry(entry), rootFor(log), {
    expected: signed.expected,
    requireProof: true,
  });
  assert.ok(result.setVerified && result.proofVerified && result.integratedTime);
  const checkpoint = await verifyCheckpoint(
    entry.inclusionProof!.checkpoint,
    log.trustedLog(BASE),
    {
      origin: log.origin,
    },
  );
  assert.equal(checkpoint.origin, `rekor.test - ${log.treeId}`);
});

Deno.test("the embedded Rekor answers 409 with the existing entry for a duplicate", async () => {
  const { log, client, fetch } = await openLog();
  await using _ = log;
  const signed = hashedRekord(signer, "duplicate");
  const first = await client.createEntry(signed.proposed);
  await client.createEntry(hashedRekord(signer, "another").proposed);
  const raw = await fetch(`${BASE}/api/v1/log/entries`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(signed.proposed),
  });
  assert.equal(raw.status, 409);
  assert.equal(raw.headers.get("location"), `${BASE}/api/v1/log/entries/${first.entryId}`);
  assert.equal(raw.headers.get("etag"), first.uuid);
  await raw.body?.cancel();
  const again = await client.createEntry(signed.proposed);
  assert.equal(again.uuid, first.uuid);
  assert.equal(again.logIndex, 0n);
  assert.equal(log.size, 2n);
});

Deno.test("the embedded Rekor accepts dsse and intoto entries only when every signature verifies", async () => {
  const { log, client } = await openLog();
  await using _ = log;
  const payload = utf8('{"_type":"https://in-toto.io/Statement/v1","subject":[]}');
  const type = "application/vnd.in-toto+json";
  const sig = await signer.sign(pae(type, payload));
  const envelope = encodeExactJson({
    payload: toBase64(payload),
    payloadType: type,
    signatures: [{ sig: toBase64(sig) }],
  });
  const dsse = await client.createEntry(buildDsseEntry(envelope, [signer.publicKey.toPem()]));
  await verifyTlogEntry(logEntryToTlogEntry(dsse), rootFor(log), {
    expected: {
      signature: sig,
      publicKeyOrCertificateDer: signer.publicKey.spki,
      dsseEnvelope: { payloadType: type, payload },
      envelopeHash: sha256(utf8(envelope)),
    },
  });
  const intoto = await client.createEntry(buildIntotoEntry({
    payloadType: type,
    payload,
    signatures: [{ sig, verifierPem: signer.publicKey.toPem() }],
  }));
  assert.equal(logEntryToTlogEntry(intoto).kindVersion.kind, "intoto");

  const stranger = await generateKeyPair();
  await assert.rejects(
    client.createEntry(buildDsseEntry(envelope, [stranger.publicKey.toPem()])),
    rejects("REKOR_ENTRY_INVALID"),
  );
  const forged = hashedRekord(signer, "x");
  const response = await rekorRoutes(log).fetch(postEntry({
    ...forged.proposed,
    spec: {
      ...forged.proposed.spec,
      data: { hash: { algorithm: "sha256", value: sha256(utf8("y")).toHex() } },
    },
  }));
  assert.equal(response.status, 400);
  assert.match((await response.json()).message, /does not verify/);
  assert.equal(log.size, 2n);
});

function postEntry(body: unknown): Request {
  return new Request(`${BASE}/api/v1/log/entries`, { method: "POST", body: JSON.stringify(body) });
}

Deno.test("the embedded Rekor serves entries by UUID, entry ID and index, search and retrieve", async () => {
  const { log, client } = await openLog();
  await using _ = log;
  const signedA = hashedRekord(signer, "a");
  const other = await generateKeyPair();
  const signedB = hashedRekord(other, "b");
  const a = await client.createEntry(signedA.proposed);
  const b = await client.createEntry(signedB.proposed);
  assert.equal((await client.getEntryByUuid(a.uuid)).logIndex, 0n);
  assert.equal((await client.getEntryByUuid(b.entryId)).logIndex, 1n);
  assert.equal((await client.getEntryByIndex(1)).uuid, b.uuid);
  await assert.rejects(client.getEntryByIndex(2), rejects("REKOR_NOT_FOUND"));
  await assert.rejects(client.getEntryByUuid("00".repeat(32)), rejects("REKOR_NOT_FOUND"));
  await assert.rejects(
    client.getEntryByUuid(`${"1".repeat(16)}${a.uuid}`),
    rejects("REKOR_NOT_FOUND"),
  );

  assert.deepEqual(await client.searchByHash(`sha256:${sha256(utf8("a")).toHex()}`), [a.uuid]);
  assert.deepEqual(await client.searchByHash(`sha256:${"0".repeat(64)}`), []);
  assert.deepEqual(
    await client.searchIndex({
      publicKey: { format: "x509", content: toBase64(utf8(other.publicKey.toPem())) },
    }),
    [b.uuid],
  );
  assert.deepEqual(
    await client.searchIndex({
      hash: `sha256:${sha256(utf8("a")).toHex()}`,
      publicKey: { format: "x509", content: toBase64(utf8(other.publicKey.toPem())) },
      operator: "and",
    }),
    [],
  );

  const byUuid = await client.retrieveEntries({ entryUUIDs: [a.uuid, b.uuid] });
  assert.deepEqual(byUuid.map((e) => e.logIndex), [0n, 1n]);
  const byIndex = await client.retrieveEntries({ logIndexes: [1n] });
  assert.equal(byIndex[0]!.uuid, b.uuid);
  const byContent = await client.retrieveEntries({ entries: [signedA.proposed] });
  assert.equal(byContent[0]!.uuid, a.uuid);
});

Deno.test("the embedded Rekor log info, public key and consistency proofs verify", async () => {
  const { log, client } = await openLog();
  await using _ = log;
  for (let i = 0; i < 5; i++) await client.createEntry(hashedRekord(signer, `e${i}`).proposed);
  const before = await client.getLogInfo();
  for (let i = 5; i < 13; i++) await client.createEntry(hashedRekord(signer, `e${i}`).proposed);
  const after = await client.getLogInfo();
  assert.equal(before.treeSize, 5n);
  assert.equal(after.treeSize, 13n);
  assert.equal(after.treeId, log.treeId.toString());
  const checkpoint = await verifyCheckpoint(after.signedTreeHead, log.trustedLog(BASE));
  assert.deepEqual(checkpoint.rootHash, after.rootHash);
  const proof = await client.getConsistencyProof({ firstSize: 5n, lastSize: 13n });
  assert.deepEqual(proof.rootHash, after.rootHash);
  verifyConsistency({
    size1: 5n,
    size2: 13n,
    root1: before.rootHash,
    root2: after.rootHash,
    proof: proof.hashes,
  });
  assert.ok((await client.getPublicKey()).equals(log.publicKey));
  await assert.rejects(client.getConsistencyProof({ firstSize: 14n }), rejects("REKOR_HTTP_ERROR"));
});

Deno.test("the embedded Rekor serializes concurrent appends into one consistent tree", async () => {
  const { log, client } = await openLog();
  await using _ = log;
  const signed = Array.from({ length: 40 }, (_, i) => hashedRekord(signer, `concurrent ${i}`));
  const entries = await Promise.all(signed.map((s) => client.createEntry(s.proposed)));
  assert.deepEqual(
    entries.map((e) => e.logIndex).sort((x, y) => Number(x - y)),
    Array.from({ length: 40 }, (_, i) => BigInt(i)),
  );
  const info = await client.getLogInfo();
  for (const entry of entries) {
    const fresh = await client.getEntryByUuid(entry.uuid);
    verifyInclusion({
      index: fresh.logIndex,
      size: fresh.inclusionProof!.treeSize,
      leafHash: hashLeaf(fresh.body),
      proof: fresh.inclusionProof!.hashes,
      root: info.rootHash,
    });
  }
});

Deno.test("the transparency log commits concurrent duplicates once", async () => {
  await using log = await TransparencyLog.open(":memory:");
  const signed = hashedRekord(signer, "same");
  const results = await Promise.all(
    Array.from(
      { length: 6 },
      (_, i) => log.append(i % 2 ? signed.proposed : hashedRekord(signer, `other ${i}`).proposed),
    ),
  );
  const same = results.filter((_, i) => i % 2);
  assert.equal(same.filter((r) => r.created).length, 1);
  assert.equal(new Set(same.map((r) => r.entry.logIndex)).size, 1);
  assert.equal(log.size, 4n);
  assert.equal((await log.append(signed.proposed)).created, false);
});

Deno.test("the embedded Rekor bounds requests and never fetches key URLs", async () => {
  const { log, fetch } = await openLog();
  await using _ = log;
  const post = async (path: string, body: string) => {
    const response = await fetch(`${BASE}${path}`, { method: "POST", body });
    const json = await response.json();
    return { status: response.status, json };
  };
  const big = await post("/api/v1/log/entries", " ".repeat(MAX_REQUEST_BYTES + 1));
  assert.equal(big.status, 413);
  assert.equal((await post("/api/v1/log/entries", "{oops")).status, 400);
  assert.equal(
    (await post("/api/v1/log/entries", '{"kind":"helm","apiVersion":"0.0.1","spec":{}}')).status,
    400,
  );
  const eleven = JSON.stringify({ entryUUIDs: Array(11).fill("0".repeat(64)) });
  assert.equal((await post("/api/v1/log/entries/retrieve", eleven)).status, 422);
  const url = await post(
    "/api/v1/index/retrieve",
    JSON.stringify({ publicKey: { format: "x509", url: "http://169.254.169.254/latest" } }),
  );
  assert.equal(url.status, 400);
  assert.equal(
    (await post("/api/v1/index/retrieve", JSON.stringify({ email: "a@b.c" }))).status,
    422,
  );
  const garbageKey = await post(
    "/api/v1/index/retrieve",
    JSON.stringify({ publicKey: { format: "x509", content: toBase64(utf8("nope")) } }),
  );
  assert.equal(garbageKey.status, 400);
  const badIndex = await fetch(`${BASE}/api/v1/log/entries?logIndex=-1`);
  assert.equal(badIndex.status, 400);
  await badIndex.body?.cancel();
});

Deno.test("the embedded Rekor answers 500 without internal detail", async () => {
  const log = await TransparencyLog.open(":memory:");
  const seen: unknown[] = [];
  const app = rekorRoutes(log, { onError: (error) => seen.push(error) });
  await log.close();
  const response = await app.fetch(new Request(`${BASE}/api/v1/log`));
  assert.equal(response.status, 500);
  assert.deepEqual(await response.json(), { code: 500, message: "Internal error" });
  assert.equal(seen.length, 1);
});

Deno.test("the transparency log keeps its key, tree ID and entries across reopening", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/rekor/log.sqlite`;
  let first: RekorLogEntry;
  let spki: Bytes;
  let treeId: bigint;
  {
    await using log = await TransparencyLog.open(path);
    first = (await log.append(hashedRekord(signer, "persisted").proposed)).entry;
    spki = log.publicKey.spki;
    treeId = log.treeId;
  }
  await using log = await TransparencyLog.open(path);
  assert.deepEqual(log.publicKey.spki, spki);
  assert.equal(log.treeId, treeId);
  assert.equal(log.size, 1n);
  const again = await log.getByUuid(first.uuid);
  assert.deepEqual(again?.signedEntryTimestamp, first.signedEntryTimestamp);
  const second = await log.append(hashedRekord(signer, "after reopening").proposed);
  assert.equal(second.entry.logIndex, 1n);
});

// ---------------------------------------------------------------------------------------------
// The client against a lying server (rekor #2799)

function lyingFetch(
  honest: typeof globalThis.fetch,
  rewrite: (url: string, json: unknown) => unknown,
): typeof globalThis.fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const response = await honest(input, init);
    const text = await response.text();
    const url = String(input instanceof Request ? input.url : input);
    const json = text ? JSON.parse(text) : undefined;
    return new Response(JSON.stringify(rewrite(url, json)), {
      status: response.status,
      headers: response.headers,
    });
  }) as typeof globalThis.fetch;
}

Deno.test("RekorClient rejects answers about other entries than the one asked for", async () => {
  const { log, client, fetch } = await openLog();
  await using _ = log;
  const a = await client.createEntry(hashedRekord(signer, "a").proposed);
  const b = await client.createEntry(hashedRekord(signer, "b").proposed);
  const bEntry = JSON.parse(
    await (await fetch(`${BASE}/api/v1/log/entries/${b.uuid}`)).text(),
  );
  // Any question answered with entry b.
  const liar = new RekorClient({ baseUrl: BASE, fetch: lyingFetch(fetch, () => bEntry) });
  await assert.rejects(liar.getEntryByUuid(a.uuid), rejects("REKOR_RESPONSE_MISMATCH"));
  await assert.rejects(liar.getEntryByIndex(0), rejects("REKOR_RESPONSE_MISMATCH"));
  await assert.rejects(
    liar.createEntry(hashedRekord(signer, "c").proposed),
    rejects("REKOR_RESPONSE_MISMATCH"),
  );
  // Entry b's body under entry a's UUID.
  const swapped = { [a.uuid]: Object.values(bEntry)[0] };
  const swapper = new RekorClient({ baseUrl: BASE, fetch: lyingFetch(fetch, () => swapped) });
  await assert.rejects(swapper.getEntryByUuid(a.uuid), rejects("REKOR_RESPONSE_MISMATCH"));
  // A retrieve answer that includes an entry nobody asked for.
  const extra = new RekorClient({ baseUrl: BASE, fetch: lyingFetch(fetch, () => [bEntry]) });
  await assert.rejects(
    extra.retrieveEntries({ entryUUIDs: [a.uuid] }),
    rejects("REKOR_RESPONSE_MISMATCH"),
  );
});

Deno.test("RekorClient refuses malformed, oversized and inexact answers", async () => {
  const { log, client, fetch } = await openLog();
  await using _ = log;
  const a = await client.createEntry(hashedRekord(signer, "a").proposed);
  const entryJson = JSON.parse(await (await fetch(`${BASE}/api/v1/log/entries/${a.uuid}`)).text());
  const inner = Object.values(entryJson)[0] as Record<string, unknown>;
  const badBody = new RekorClient({
    baseUrl: BASE,
    fetch: lyingFetch(fetch, () => ({ [a.uuid]: { ...inner, body: "%%%not base64" } })),
  });
  await assert.rejects(badBody.getEntryByUuid(a.uuid), rejects("REKOR_RESPONSE_MALFORMED"));
  const notJsonBody = { ...inner, body: toBase64(utf8("not json")) };
  const notJsonUuid = hashLeaf(utf8("not json")).toHex();
  const decoded = decodeLogEntries({ [notJsonUuid]: notJsonBody });
  assert.throws(() => logEntryToTlogEntry(decoded[0]!), rejects("REKOR_BODY_MALFORMED"));
  const small = new RekorClient({ baseUrl: BASE, fetch, maxResponseBytes: 100 });
  await assert.rejects(small.getEntryByUuid(a.uuid), rejects("REKOR_RESPONSE_TOO_LARGE"));
  // int64 indexes beyond 2^53 are read exactly.
  const text = encodeExactJson({ [a.uuid]: { ...inner, logIndex: (1n << 63n) - 2n } });
  assert.match(text, /"logIndex":9223372036854775806/);
  const huge = new RekorClient({
    baseUrl: BASE,
    fetch: (() =>
      Promise.resolve(new Response(text, { status: 200 }))) as unknown as typeof globalThis.fetch,
  });
  assert.equal((await huge.getEntryByUuid(a.uuid)).logIndex, (1n << 63n) - 2n);
});

Deno.test("the embedded Rekor serves the client over a real socket", async () => {
  await using log = await TransparencyLog.open(":memory:");
  const app = rekorRoutes(log);
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    app.fetch,
  );
  const baseUrl = `http://127.0.0.1:${server.addr.port}`;
  // Naming the served URL in the trusted root also names its host in checkpoints.
  const root: TrustedRoot = { ...rootFor(log), tlogs: [log.trustedLog(baseUrl)] };
  assert.equal(log.origin, `127.0.0.1:${server.addr.port} - ${log.treeId}`);
  const client = new RekorClient({ baseUrl });
  const signed = hashedRekord(signer, "over the wire");
  const entry = await client.createEntry(signed.proposed);
  assert.match(
    entry.inclusionProof!.checkpoint,
    new RegExp(`^127\\.0\\.0\\.1:${server.addr.port} - `),
  );
  await verifyTlogEntry(logEntryToTlogEntry(entry), root, { expected: signed.expected });
  assert.equal((await client.getLogInfo()).treeSize, 1n);
});
