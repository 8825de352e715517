/**
 * Rekor v2 entries and tiles (lib/tlog/rekor_v2/entries.ts, tiles.ts): the canonical body we
 * compute from a bundle's signature, digest and certificate is byte for byte the one real
 * Rekor v2 (staging rekor-tiles) logged, for a message signature and for a DSSE envelope logged
 * as a hashedrekord over its PAE; Rekor v1 proposals convert to the v2 request cosign v3 sends;
 * requests round-trip through protobuf JSON and hostile ones are refused; tile paths have one
 * spelling each; entry bundles decode exactly.
 */

import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { type Bytes, fromBase64, sha256, toHex, utf8 } from "../../../lib/util/bytes.ts";
import { encodePem } from "../../../lib/util/pem.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import { pae, serializeEnvelope } from "../../../lib/payload/dsse.ts";
import { parseBundle } from "../../../lib/bundle/model.ts";
import { buildDsseEntry, buildHashedRekordEntry } from "../../../lib/tlog/rekor/entries.ts";
import {
  canonicalizeRekorV2Request,
  encodeRekorV2Request,
  parseRekorV2Request,
  rekorV2KeyDetails,
  type RekorV2Request,
  rekorV2Verifier,
  requestFromProposedEntry,
} from "../../../lib/tlog/rekor_v2/entries.ts";
import {
  decodeEntryBundle,
  encodeEntryBundle,
  encodeTileIndex,
  entryBundlePath,
  parseTilePath,
  tilePath,
} from "../../../lib/tlog/rekor_v2/tiles.ts";
import { INTEROP, readInteropText, requireComponents } from "../../_support.ts";

function rejects(code: string) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

if (requireComponents("Rekor v2 bodies against the conformance corpus", INTEROP)) {
  const CASES = "conformance/test/assets/bundle-verify";

  Deno.test("canonicalizeRekorV2Request() rebuilds the body staging Rekor v2 logged for a message signature, byte for byte", async () => {
    const bundle = parseBundle(readInteropText(`${CASES}/rekor2-happy-path/bundle.sigstore.json`));
    const key = bundle.verificationMaterial.key;
    const content = bundle.content;
    assert.equal(key.kind, "certificate");
    assert.equal(content.kind, "messageSignature");
    if (key.kind !== "certificate" || content.kind !== "messageSignature") return;
    const request: RekorV2Request = {
      kind: "hashedrekord",
      digest: content.messageDigest!.digest,
      signature: content.signature,
      verifier: rekorV2Verifier(key.certificate, "x509Certificate"),
    };
    const canonical = await canonicalizeRekorV2Request(request);
    assert.deepEqual(
      canonical.body,
      bundle.verificationMaterial.tlogEntries[0]!.canonicalizedBody,
    );
    // A request that differs in one signature byte is not that body, and does not verify.
    const flipped = Uint8Array.from(content.signature) as Bytes;
    flipped[10]! ^= 1;
    await assert.rejects(
      canonicalizeRekorV2Request({ ...request, signature: flipped }),
      rejects("REKOR_ENTRY_INVALID"),
    );
  });

  Deno.test("requestFromProposedEntry() turns a dsse proposal into the hashedrekord over PAE that staging Rekor v2 logged", async () => {
    const bundle = parseBundle(
      readInteropText(`${CASES}/rekor2-dsse-happy-path/bundle.sigstore.json`),
    );
    const key = bundle.verificationMaterial.key;
    const content = bundle.content;
    if (key.kind !== "certificate" || content.kind !== "dsseEnvelope") {
      throw new Error("the case is a keyless DSSE bundle");
    }
    const proposal = buildDsseEntry(serializeEnvelope(content.envelope), [
      encodePem("CERTIFICATE", key.certificate),
    ]);
    const request = requestFromProposedEntry(proposal);
    assert.equal(request.verifier.type, "x509Certificate");
    assert.deepEqual(
      request.digest,
      sha256(pae(content.envelope.payloadType, content.envelope.payload)),
    );
    assert.deepEqual(
      (await canonicalizeRekorV2Request(request)).body,
      bundle.verificationMaterial.tlogEntries[0]!.canonicalizedBody,
    );
  });
}

Deno.test("requestFromProposedEntry() keeps a hashedrekord's digest, signature and key, and refuses what Rekor v2 cannot log", async () => {
  const key = await generateKeyPair({ kind: "ecdsa-p384" });
  const digest = new Uint8Array(48).fill(7) as Bytes;
  const signature = key.signPrehashed(digest, "sha384");
  const request = requestFromProposedEntry(buildHashedRekordEntry({
    digest: { algorithm: "sha384", value: digest },
    signature,
    verifierPem: key.publicKey.toPem(),
  }));
  assert.deepEqual(request, {
    kind: "hashedrekord",
    digest,
    signature,
    verifier: {
      type: "publicKey",
      rawBytes: key.publicKey.spki,
      keyDetails: "PKIX_ECDSA_P384_SHA_384",
    },
  });
  await canonicalizeRekorV2Request(request);
  // A P-384 key signs SHA-384 digests on Rekor v2: a SHA-256 digest does not fit its algorithm.
  assert.throws(
    () =>
      requestFromProposedEntry(buildHashedRekordEntry({
        digest: { algorithm: "sha256", value: sha256(utf8("x")) },
        signature,
        verifierPem: key.publicKey.toPem(),
      })),
    rejects("REKOR_ENTRY_UNSUPPORTED"),
  );
  const ed = await generateKeyPair({ kind: "ed25519" });
  const envelope = serializeEnvelope({
    payloadType: "text/plain",
    payload: utf8("hi"),
    signatures: [{ sig: await ed.sign(pae("text/plain", utf8("hi"))) }],
  });
  assert.throws(
    () => requestFromProposedEntry(buildDsseEntry(envelope, [ed.publicKey.toPem()])),
    rejects("REKOR_ENTRY_UNSUPPORTED"),
  );
  assert.throws(
    () => requestFromProposedEntry({ apiVersion: "0.0.2", kind: "intoto", spec: {} }),
    rejects("REKOR_ENTRY_UNSUPPORTED"),
  );
  assert.throws(
    () => requestFromProposedEntry({ apiVersion: "0.0.1", kind: "hashedrekord", spec: {} }),
    rejects("REKOR_ENTRY_INVALID"),
  );
  assert.equal(rekorV2KeyDetails(ed.publicKey), "PKIX_ED25519_PH");
  const rsa = await generateKeyPair({ kind: "rsa", rsaBits: 3072 });
  assert.equal(rekorV2KeyDetails(rsa.publicKey), "PKIX_RSA_PKCS1V15_3072_SHA256");
});

Deno.test("a dsse 0.0.2 request verifies every envelope signature and logs them sorted, each with its verifier", async () => {
  const a = await generateKeyPair();
  const b = await generateKeyPair();
  const payload = utf8('{"_type":"https://in-toto.io/Statement/v1"}');
  const message = pae("application/vnd.in-toto+json", payload);
  const envelope = {
    payloadType: "application/vnd.in-toto+json",
    payload,
    signatures: [{ sig: await a.sign(message) }, { sig: await b.sign(message) }],
  };
  const request: RekorV2Request = {
    kind: "dsse",
    envelope,
    verifiers: [
      rekorV2Verifier(b.publicKey.spki, "publicKey"),
      rekorV2Verifier(a.publicKey.spki, "publicKey"),
    ],
  };
  const { entry, body } = await canonicalizeRekorV2Request(request);
  assert.equal(entry.kind, "dsse");
  assert.deepEqual(entry.payloadHash, { algorithm: "sha256", value: sha256(payload) });
  assert.equal(entry.signatures.length, 2);
  const sigs = entry.signatures.map((s) => s.signature!);
  assert.ok(toHex(sigs[0]!) < toHex(sigs[1]!), "signatures are logged in byte order");
  for (const logged of entry.signatures) {
    const signer = envelope.signatures.findIndex((s) => toHex(s.sig) === toHex(logged.signature!));
    assert.deepEqual(logged.verifier, [a, b][signer]!.publicKey.spki);
  }
  assert.match(
    new TextDecoder().decode(body),
    /^\{"apiVersion":"0.0.2","kind":"dsse","spec":\{"dsseV002":/,
  );
  await assert.rejects(
    canonicalizeRekorV2Request({ ...request, verifiers: [request.verifiers[0]!] }),
    rejects("REKOR_ENTRY_INVALID"),
  );
  await assert.rejects(
    canonicalizeRekorV2Request({
      ...request,
      verifiers: [request.verifiers[0]!, request.verifiers[0]!],
    }),
    rejects("REKOR_ENTRY_INVALID"),
  );
  assert.deepEqual(parseRekorV2Request(encodeRekorV2Request(request)), request);
});

Deno.test("parseRekorV2Request() round-trips protobuf JSON and refuses hostile requests with the JSON path", async () => {
  const key = await generateKeyPair();
  const digest = sha256(utf8("x"));
  const request: RekorV2Request = {
    kind: "hashedrekord",
    digest,
    signature: key.signPrehashed(digest, "sha256"),
    verifier: rekorV2Verifier(key.publicKey.spki, "publicKey"),
  };
  const json = encodeRekorV2Request(request);
  assert.deepEqual(parseRekorV2Request(JSON.parse(JSON.stringify(json))), request);
  const hr = json.hashedRekordRequestV002 as { signature: { verifier: object } };
  const hostile: unknown[] = [
    null,
    [],
    { hashedRekordRequestV002: null },
    { hashedRekordRequestV002: { ...hr, digest: "" } },
    { hashedRekordRequestV002: { ...hr, digest: "!!" } },
    { hashedRekordRequestV002: { ...hr, digest: fromBase64("AAAA").toBase64().repeat(40) } },
    { hashedRekordRequestV002: { ...hr, signature: { content: "AA==" } } },
    {
      hashedRekordRequestV002: {
        ...hr,
        signature: {
          ...hr.signature,
          verifier: { ...hr.signature.verifier, x509Certificate: { rawBytes: "AA==" } },
        },
      },
    },
    {
      dsseRequestV002: {
        envelope: { payload: "", payloadType: "t", signatures: [] },
        verifiers: [],
      },
    },
    {
      dsseRequestV002: {
        envelope: {
          payload: "AA==",
          payloadType: "t",
          signatures: Array(11).fill({ sig: "AA==" }),
        },
        verifiers: [hr.signature.verifier],
      },
    },
  ];
  for (const value of hostile) {
    assert.throws(
      () => parseRekorV2Request(value),
      rejects("REKOR_ENTRY_INVALID"),
      JSON.stringify(value)?.slice(0, 80),
    );
  }
});

Deno.test("tile paths have one spelling each: encode and parse round-trip, other spellings are refused", () => {
  assert.equal(encodeTileIndex(1234067n), "x001/x234/067");
  assert.equal(encodeTileIndex(0n), "000");
  assert.equal(tilePath(0, 1234067n), "tile/0/x001/x234/067");
  assert.equal(tilePath(2, 5n, 17), "tile/2/005.p/17");
  assert.equal(entryBundlePath(1000n, 1), "tile/entries/x001/000.p/1");
  assert.deepEqual(parseTilePath("tile/entries/x001/000.p/1"), {
    kind: "entries",
    index: 1000n,
    width: 1,
  });
  assert.deepEqual(parseTilePath("tile/63/x018/x446/x744/x073/x709/x551/615"), {
    kind: "hashes",
    level: 63,
    index: (1n << 64n) - 1n,
  });
  for (
    const bad of [
      "tile/0/1",
      "tile/0/x000/001",
      "tile/0/001.p/256",
      "tile/0/001.p/01",
      "tile/0/001.p",
      "tile/01/001",
      "tile/64/001",
      "tile/0/x001",
      "tile/0/001/002",
      "tile/0/x018/x446/x744/x073/x709/x551/616",
      "tile/entries",
      "tiles/0/001",
      "tile/0/.p/5",
    ]
  ) {
    assert.equal(parseTilePath(bad), undefined, bad);
  }
  assert.throws(() => tilePath(0, 1n, 256), RangeError);
  assert.throws(() => tilePath(64, 1n), RangeError);
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.integer({ min: 0, max: 63 }),
      fc.option(fc.integer({ min: 1, max: 255 }), { nil: undefined }),
      (index, level, width) => {
        const hashes = parseTilePath(tilePath(level, index, width));
        assert.deepEqual(hashes, { kind: "hashes", level, index, ...(width ? { width } : {}) });
        const entries = parseTilePath(entryBundlePath(index, width));
        assert.deepEqual(entries, { kind: "entries", index, ...(width ? { width } : {}) });
      },
    ),
  );
});

Deno.test("entry bundles decode exactly what was encoded, and refuse truncation, trailing bytes and other counts", () => {
  const entries = [utf8("a"), new Uint8Array(0) as Bytes, new Uint8Array(300).fill(9) as Bytes];
  const bundle = encodeEntryBundle(entries);
  assert.deepEqual(bundle.subarray(0, 3), new Uint8Array([0, 1, 0x61]));
  assert.deepEqual(decodeEntryBundle(bundle, 3), entries);
  assert.throws(() => decodeEntryBundle(bundle, 2), SyntaxError);
  assert.throws(() => decodeEntryBundle(bundle, 4), SyntaxError);
  assert.throws(() => decodeEntryBundle(bundle.subarray(0, bundle.length - 1), 3), SyntaxError);
  assert.throws(() => decodeEntryBundle(new Uint8Array([0]), 1), SyntaxError);
  assert.throws(() => encodeEntryBundle([new Uint8Array(0x10000)]), RangeError);
  assert.throws(() => decodeEntryBundle(bundle, 0), RangeError);
});
