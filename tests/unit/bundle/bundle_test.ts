import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { type Bytes, sha256, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import {
  type Bundle,
  type BundleContent,
  type BundleKeyMaterial,
  type BundleVersion,
  bundleVersionOf,
  MAX_TIMESTAMPS,
  MAX_TLOG_ENTRIES,
  parseBundle,
} from "../../../lib/bundle/model.ts";
import { encodeBundle, publicKeyHint, serializeBundle } from "../../../lib/bundle/serialize.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { PublicKey } from "../../../lib/keys/public_key.ts";
import type { TlogEntry } from "../../../lib/tlog/entry.ts";

const B64_32 = toBase64(new Uint8Array(32).fill(7));

/** A valid v0.3 bundle as JSON, to mutate in the tests below. */
function validJson(): Record<string, unknown> & { verificationMaterial: Record<string, unknown> } {
  return {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: {
      certificate: { rawBytes: "MAo=" },
      tlogEntries: [validEntry()],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: "MAo=" }] },
    },
    messageSignature: {
      messageDigest: { algorithm: "SHA2_256", digest: B64_32 },
      signature: "MEUCIQ==",
    },
  };
}

function validEntry(): Record<string, unknown> {
  return {
    logIndex: "42",
    logId: { keyId: B64_32 },
    kindVersion: { kind: "hashedrekord", version: "0.0.1" },
    integratedTime: "1700000000",
    inclusionPromise: { signedEntryTimestamp: "MEUCIQ==" },
    inclusionProof: {
      logIndex: "41",
      rootHash: B64_32,
      treeSize: "100",
      hashes: [B64_32, B64_32],
      checkpoint: { envelope: "origin\n100\nroot\n\n\u2014 origin sig\n" },
    },
    canonicalizedBody: toBase64(utf8('{"kind":"hashedrekord"}')),
  };
}

function expectMalformed(json: unknown, pattern: RegExp, options = {}): void {
  assert.throws(
    () => parseBundle(JSON.stringify(json), options),
    (e) => isCosignError(e, "BUNDLE_MALFORMED") && pattern.test(e.message),
    `${pattern}`,
  );
}

Deno.test("bundleVersionOf() reads both media type spellings and refuses 0.4+ and unknown ones", () => {
  const table: [string, BundleVersion][] = [
    ["application/vnd.dev.sigstore.bundle+json;version=0.1", "0.1"],
    ["application/vnd.dev.sigstore.bundle+json;version=0.2", "0.2"],
    ["application/vnd.dev.sigstore.bundle+json;version=0.3", "0.3"],
    ["application/vnd.dev.sigstore.bundle.v0.3+json", "0.3"],
    ["application/vnd.dev.sigstore.bundle.v0.3.1+json", "0.3"],
    ["application/vnd.dev.sigstore.bundle.v0.1+json", "0.1"],
  ];
  for (const [mediaType, version] of table) assert.equal(bundleVersionOf(mediaType), version);
  for (
    const mediaType of [
      "application/vnd.dev.sigstore.bundle+json;version=99.9",
      "application/vnd.dev.sigstore.bundle.v0.4+json",
      "application/vnd.dev.sigstore.bundle.v1.0+json",
      "application/vnd.dev.sigstore.bundle+json;version=0.0",
      "application/vnd.dev.sigstore.bundle+json",
      "application/json",
      "",
    ]
  ) {
    assert.throws(() => bundleVersionOf(mediaType), (e) => isCosignError(e, "BUNDLE_UNSUPPORTED"));
  }
});

Deno.test("parseBundle() reads every field of a v0.3 bundle", () => {
  const bundle = parseBundle(JSON.stringify(validJson()));
  assert.equal(bundle.version, "0.3");
  assert.deepEqual(bundle.verificationMaterial.key, {
    kind: "certificate",
    certificate: new Uint8Array([0x30, 0x0a]),
  });
  const entry = bundle.verificationMaterial.tlogEntries[0]!;
  assert.equal(entry.logIndex, 42n);
  assert.equal(entry.integratedTime, 1700000000n);
  assert.equal(entry.inclusionProof!.logIndex, 41n);
  assert.equal(entry.inclusionProof!.treeSize, 100n);
  assert.equal(entry.inclusionProof!.hashes.length, 2);
  assert.match(entry.inclusionProof!.checkpoint, /^origin\n100\n/);
  assert.deepEqual(bundle.verificationMaterial.rfc3161Timestamps, [new Uint8Array([0x30, 0x0a])]);
  assert.equal(bundle.content.kind, "messageSignature");
  if (bundle.content.kind === "messageSignature") {
    assert.equal(bundle.content.messageDigest!.algorithm, "sha256");
  }
});

Deno.test("parseBundle() enforces the version rules: v0.1 promises, v0.2+ proofs, proofs with checkpoints", () => {
  const v01 = validJson();
  v01.mediaType = "application/vnd.dev.sigstore.bundle+json;version=0.1";
  v01.verificationMaterial = {
    x509CertificateChain: { certificates: [{ rawBytes: "MAo=" }] },
    tlogEntries: [{ ...validEntry(), inclusionProof: undefined }],
  };
  assert.equal(parseBundle(JSON.stringify(v01)).version, "0.1");
  expectMalformed(
    {
      ...v01,
      verificationMaterial: {
        ...v01.verificationMaterial,
        tlogEntries: [{ ...validEntry(), inclusionPromise: null }],
      },
    },
    /tlogEntries\[0\]\.inclusionPromise: required in a v0\.1 bundle/,
  );
  const v02 = { ...v01, mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.2" };
  expectMalformed(v02, /tlogEntries\[0\]\.inclusionProof: required from bundle v0\.2 on/);
  const noCheckpoint = validEntry();
  noCheckpoint.inclusionProof = {
    ...(noCheckpoint.inclusionProof as object),
    checkpoint: undefined,
  };
  for (const mediaType of [v01.mediaType, v02.mediaType]) {
    expectMalformed(
      {
        ...v01,
        mediaType,
        verificationMaterial: { ...v01.verificationMaterial, tlogEntries: [noCheckpoint] },
      },
      /inclusionProof\.checkpoint: missing/,
    );
  }
  // Rekor v2 entries: a proof, no promise, no integrated time
  const v2entry = { ...validEntry(), inclusionPromise: undefined, integratedTime: undefined };
  const rekorV2 = validJson();
  rekorV2.verificationMaterial.tlogEntries = [v2entry];
  const entry = parseBundle(JSON.stringify(rekorV2)).verificationMaterial.tlogEntries[0]!;
  assert.equal(entry.integratedTime, 0n);
  assert.equal(entry.inclusionPromise, undefined);
});

Deno.test("parseBundle() refuses a certificate chain in v0.3 unless allowed", () => {
  const json = validJson();
  json.verificationMaterial = {
    ...json.verificationMaterial,
    certificate: undefined,
    x509CertificateChain: { certificates: [{ rawBytes: "MAo=" }, { rawBytes: "MAs=" }] },
  };
  expectMalformed(json, /x509CertificateChain: not allowed in a v0\.3 bundle/);
  const bundle = parseBundle(JSON.stringify(json), { allowCertificateChain: true });
  assert.equal(bundle.verificationMaterial.key.kind, "x509CertificateChain");
});

Deno.test("parseBundle() refuses malformed structure with BUNDLE_MALFORMED and the JSON path", () => {
  const vm = (patch: Record<string, unknown>) => {
    const json = validJson();
    json.verificationMaterial = { ...json.verificationMaterial, ...patch };
    return json;
  };
  const entry = (patch: Record<string, unknown>) =>
    vm({ tlogEntries: [{ ...validEntry(), ...patch }] });
  const proof = (patch: Record<string, unknown>) =>
    entry({ inclusionProof: { ...(validEntry().inclusionProof as object), ...patch } });
  const { messageSignature: _m, ...noContent } = validJson();
  const cases: [unknown, RegExp][] = [
    [[], /bundle: expected an object/],
    [{ ...validJson(), mediaType: 3 }, /mediaType: expected a string/],
    // protojson reads proto names too: a second spelling would be another value to sigstore-go
    [vm({ tlog_entries: [] }), /field "tlog_entries" is another spelling of "tlogEntries"/],
    [{ ...validJson(), dsse_envelope: {} }, /field "dsse_envelope" is another spelling/],
    [entry({ inclusion_promise: null }), /field "inclusion_promise" is another spelling/],
    [{
      ...validJson(),
      dsseEnvelope: { payload: "e30=", payloadType: "t", signatures: [{ sig: "AQ==" }] },
    }, /exactly one of messageSignature, dsseEnvelope, found messageSignature, dsseEnvelope/],
    [noContent, /found none/],
    [{ ...validJson(), verificationMaterial: null }, /verificationMaterial: expected an object/],
    [
      vm({ certificate: undefined }),
      /expected exactly one of publicKey, x509CertificateChain, certificate, found none/,
    ],
    [vm({ publicKey: { hint: "h" } }), /found publicKey, certificate/],
    [vm({ certificate: { rawBytes: "" } }), /certificate\.rawBytes: must not be empty/],
    [vm({ certificate: {} }), /certificate\.rawBytes: expected a string/],
    [vm({ tlogEntries: [null] }), /tlogEntries\[0\]: expected an object/],
    [vm({ tlogEntries: {} }), /tlogEntries: expected an array/],
    [
      vm({ timestampVerificationData: { rfc3161Timestamps: [{}] } }),
      /signedTimestamp: expected a string/,
    ],
    [entry({ logIndex: "-1" }), /tlogEntries\[0\]\.logIndex: must not be negative/],
    [entry({ logIndex: "1e3" }), /logIndex: expected an integer string/],
    [entry({ logIndex: 2 ** 60 }), /logIndex: integer is not exact/],
    [entry({ integratedTime: "-5" }), /integratedTime: must not be negative/],
    [entry({ logId: { keyId: "" } }), /logId\.keyId: must not be empty/],
    [
      entry({ kindVersion: { kind: "", version: "0.0.1" } }),
      /kindVersion\.kind: must not be empty/,
    ],
    [entry({ canonicalizedBody: undefined }), /canonicalizedBody: expected a string/],
    [
      entry({ inclusionPromise: { signedEntryTimestamp: "@@" } }),
      /signedEntryTimestamp: invalid base64/,
    ],
    [proof({ rootHash: "AAAA" }), /rootHash: expected a 32-byte hash/],
    [proof({ hashes: [B64_32, "AA=="] }), /hashes\[1\]: expected a 32-byte hash/],
    [proof({ treeSize: "-1" }), /treeSize: must not be negative/],
    [proof({ checkpoint: { envelope: "" } }), /checkpoint\.envelope: must not be empty/],
    [proof({ hashes: Array.from({ length: 65 }, () => B64_32) }), /hashes: more than 64 items/],
    [
      { ...validJson(), messageSignature: { signature: "!!" } },
      /messageSignature\.signature: invalid base64/,
    ],
    [{
      ...validJson(),
      messageSignature: {
        messageDigest: { algorithm: "SHA2_256", digest: "AAAA" },
        signature: "AQ==",
      },
    }, /digest: 3 bytes, expected 32/],
  ];
  for (const [json, pattern] of cases) expectMalformed(json, pattern);
});

Deno.test("parseBundle() refuses unsupported digest algorithms and versions with BUNDLE_UNSUPPORTED", () => {
  for (const algorithm of ["SHA3_256", "MD5", "HASH_ALGORITHM_UNSPECIFIED"]) {
    const json = validJson();
    json.messageSignature = { messageDigest: { algorithm, digest: B64_32 }, signature: "AQ==" };
    assert.throws(
      () => parseBundle(JSON.stringify(json)),
      (e) => isCosignError(e, "BUNDLE_UNSUPPORTED"),
    );
  }
  const json = {
    ...validJson(),
    mediaType: "application/vnd.dev.sigstore.bundle+json;version=99.9",
  };
  assert.throws(
    () => parseBundle(JSON.stringify(json)),
    (e) => isCosignError(e, "BUNDLE_UNSUPPORTED") && /"99\.9"/.test(e.message),
  );
});

Deno.test("parseBundle() turns truncated JSON into BUNDLE_MALFORMED, never a raw SyntaxError", () => {
  const text = JSON.stringify(validJson());
  for (const cut of [0, 1, 10, text.length / 2, text.length - 1]) {
    assert.throws(
      () => parseBundle(text.slice(0, cut)),
      (e) => isCosignError(e, "BUNDLE_MALFORMED"),
    );
  }
  assert.throws(
    () => parseBundle(new Uint8Array([0xc3, 0x28])),
    (e) => isCosignError(e, "BUNDLE_MALFORMED"),
  );
});

Deno.test("parseBundle() refuses DSSE envelopes without exactly one signature, or with a null one", () => {
  const dsse = (signatures: unknown) => {
    const { messageSignature: _m, ...json } = validJson();
    return {
      ...json,
      dsseEnvelope: { payload: "e30=", payloadType: "application/vnd.in-toto+json", signatures },
    };
  };
  assert.equal(
    parseBundle(JSON.stringify(dsse([{ sig: "AQ==", keyid: "" }]))).content.kind,
    "dsseEnvelope",
  );
  expectMalformed(dsse([{ sig: "AQ==" }, { sig: "Ag==" }]), /exactly one signature, found 2/);
  expectMalformed(dsse([]), /exactly one signature, found 0/);
  expectMalformed(dsse([null]), /dsseEnvelope\.signatures\[0\]: expected an object/);
  expectMalformed(dsse(null), /dsseEnvelope\.signatures: expected an array/);
  const empty = dsse([{ sig: "AQ==" }]);
  (empty.dsseEnvelope as Record<string, unknown>).payload = "";
  expectMalformed(empty, /dsseEnvelope\.payload: empty/);
});

Deno.test("parseBundle() refuses 10^5 tlog entries, too many timestamps and oversized input", () => {
  const entries = vmWith({ tlogEntries: Array.from({ length: 100_000 }, () => null) });
  assert.throws(
    () => parseBundle(JSON.stringify(entries)),
    (e) => isCosignError(e, "BUNDLE_MALFORMED") && /more than 32 items/.test(e.message),
  );
  const atLimit = vmWith({ tlogEntries: Array.from({ length: MAX_TLOG_ENTRIES }, validEntry) });
  assert.equal(parseBundle(JSON.stringify(atLimit)).verificationMaterial.tlogEntries.length, 32);
  const stamps = vmWith({
    timestampVerificationData: {
      rfc3161Timestamps: Array.from(
        { length: MAX_TIMESTAMPS + 1 },
        () => ({ signedTimestamp: "MAo=" }),
      ),
    },
  });
  assert.throws(
    () => parseBundle(JSON.stringify(stamps)),
    (e) => isCosignError(e, "BUNDLE_MALFORMED"),
  );
  assert.throws(
    () => parseBundle(JSON.stringify(validJson()), { maxBytes: 100 }),
    (e) => isCosignError(e, "BUNDLE_TOO_LARGE"),
  );
});

function vmWith(patch: Record<string, unknown>) {
  const json = validJson();
  json.verificationMaterial = { ...json.verificationMaterial, ...patch };
  return json;
}

Deno.test("parseBundle() accepts protobuf-JSON leniencies: nulls as absent, numbers for int64, wrapped base64", () => {
  const json = validJson();
  const entry = validEntry();
  entry.logIndex = 42;
  entry.inclusionPromise = { signedEntryTimestamp: "MEU\nCIQ==" };
  json.verificationMaterial = {
    ...json.verificationMaterial,
    tlogEntries: [entry],
    timestampVerificationData: null,
  };
  const bundle = parseBundle(JSON.stringify(json));
  const parsed = bundle.verificationMaterial.tlogEntries[0]!;
  assert.equal(parsed.logIndex, 42n);
  assert.deepEqual(
    parsed.inclusionPromise!.signedEntryTimestamp,
    new Uint8Array([0x30, 0x45, 0x02, 0x21]),
  );
  assert.deepEqual(bundle.verificationMaterial.rfc3161Timestamps, []);
  const hintless = vmWith({ certificate: undefined, publicKey: {} });
  assert.deepEqual(parseBundle(JSON.stringify(hintless)).verificationMaterial.key, {
    kind: "publicKey",
    hint: "",
  });
});

Deno.test("serializeBundle() writes protobuf JSON in cosign's field order, int64 as strings, zeros left out", () => {
  const entry: TlogEntry = {
    logIndex: 7n,
    logId: new Uint8Array([1]),
    kindVersion: { kind: "dsse", version: "0.0.1" },
    integratedTime: 0n,
    inclusionProof: {
      logIndex: 0n,
      rootHash: new Uint8Array(32),
      treeSize: 1n,
      hashes: [],
      checkpoint: "o\n1\nr\n\n\u2014 o s\n",
    },
    canonicalizedBody: utf8("{}"),
  };
  const bundle: Bundle = {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    version: "0.3",
    verificationMaterial: {
      key: { kind: "publicKey", hint: "h<" },
      tlogEntries: [entry],
      rfc3161Timestamps: [],
    },
    content: {
      kind: "dsseEnvelope",
      envelope: {
        payloadType: "application/vnd.in-toto+json",
        payload: utf8("{}"),
        signatures: [{ sig: new Uint8Array([2]) }],
      },
    },
  };
  const zero = toBase64(new Uint8Array(32));
  assert.equal(
    serializeBundle(bundle),
    '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"h<"},' +
      '"tlogEntries":[{"logIndex":"7","logId":{"keyId":"AQ=="},"kindVersion":{"kind":"dsse","version":"0.0.1"},' +
      `"inclusionProof":{"rootHash":"${zero}","treeSize":"1","checkpoint":{"envelope":"o\\n1\\nr\\n\\n\u2014 o s\\n"}},` +
      '"canonicalizedBody":"e30="}]},' +
      '"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"Ag=="}]}}',
  );
  assert.deepEqual(encodeBundle(bundle), utf8(serializeBundle(bundle)));
  assert.deepEqual(parseBundle(serializeBundle(bundle)), bundle);
});

Deno.test("publicKeyHint() is the base64 SHA-256 of the SPKI", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  assert.equal(publicKeyHint(PublicKey.fromSpki(spki)), toBase64(sha256(spki)));
});

// --- round trip property -----------------------------------------------------------------------

const bytes = (min = 1, max = 40) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Uint8Array.from(b) as Bytes);
const text = (min = 0) =>
  fc.string({ minLength: min, maxLength: 20 }).map((s) => s.toWellFormed()).filter((s) =>
    s.length >= min
  );
const int64 = fc.bigInt({ min: 0n, max: (1n << 63n) - 1n });

function entryArbitrary(version: BundleVersion): fc.Arbitrary<TlogEntry> {
  const proof = fc.record({
    logIndex: int64,
    rootHash: bytes(32, 32),
    treeSize: int64,
    hashes: fc.array(bytes(32, 32), { maxLength: 4 }),
    checkpoint: text(1),
  }).map((p) => ({
    logIndex: p.logIndex,
    rootHash: p.rootHash,
    treeSize: p.treeSize,
    hashes: p.hashes,
    checkpoint: p.checkpoint,
  }));
  return fc.record({
    logIndex: int64,
    logId: bytes(32, 32),
    kind: text(1),
    kv: text(1),
    integratedTime: int64,
    set: version === "0.1" ? bytes().map((b) => [b]) : fc.array(bytes(), { maxLength: 1 }),
    proof: version === "0.1" ? fc.array(proof, { maxLength: 1 }) : proof.map((p) => [p]),
    body: bytes(1, 80),
  }).map((e) => {
    let entry: TlogEntry = {
      logIndex: e.logIndex,
      logId: e.logId,
      kindVersion: { kind: e.kind, version: e.kv },
      integratedTime: e.integratedTime,
      canonicalizedBody: e.body,
    };
    if (e.set[0]) entry = { ...entry, inclusionPromise: { signedEntryTimestamp: e.set[0] } };
    if (e.proof[0]) entry = { ...entry, inclusionProof: e.proof[0] };
    return entry;
  });
}

function bundleArbitrary(version: BundleVersion): fc.Arbitrary<Bundle> {
  const mediaTypes = version === "0.3"
    ? [
      "application/vnd.dev.sigstore.bundle.v0.3+json",
      "application/vnd.dev.sigstore.bundle+json;version=0.3",
    ]
    : [`application/vnd.dev.sigstore.bundle+json;version=${version}`];
  const keys: fc.Arbitrary<BundleKeyMaterial>[] = [
    text().map((hint) => ({ kind: "publicKey" as const, hint })),
    bytes().map((certificate) => ({ kind: "certificate" as const, certificate })),
  ];
  if (version !== "0.3") {
    keys.push(
      fc.array(bytes(), { minLength: 1, maxLength: 3 }).map((certificates) => ({
        kind: "x509CertificateChain" as const,
        certificates,
      })),
    );
  }
  const digest = fc.constantFrom("sha256", "sha384", "sha512" as const).chain((algorithm) =>
    bytes(
      algorithm === "sha256" ? 32 : algorithm === "sha384" ? 48 : 64,
      algorithm === "sha256" ? 32 : algorithm === "sha384" ? 48 : 64,
    )
      .map((d) => ({ algorithm: algorithm as "sha256" | "sha384" | "sha512", digest: d }))
  );
  const content: fc.Arbitrary<BundleContent> = fc.oneof(
    fc.tuple(bytes(), fc.array(digest, { maxLength: 1 })).map(([signature, d]): BundleContent =>
      d[0]
        ? { kind: "messageSignature", messageDigest: d[0], signature }
        : { kind: "messageSignature", signature }
    ),
    fc.tuple(text(1), bytes(1, 100), bytes(), fc.array(text(1), { maxLength: 1 })).map(
      ([payloadType, payload, sig, keyid]): BundleContent => ({
        kind: "dsseEnvelope",
        envelope: {
          payloadType,
          payload,
          signatures: [keyid[0] ? { sig, keyid: keyid[0] } : { sig }],
        },
      }),
    ),
  );
  return fc.record({
    mediaType: fc.constantFrom(...mediaTypes),
    key: fc.oneof(...keys),
    tlogEntries: fc.array(entryArbitrary(version), { maxLength: 3 }),
    timestamps: fc.array(bytes(), { maxLength: 3 }),
    content,
  }).map((b) => ({
    mediaType: b.mediaType,
    version,
    verificationMaterial: {
      key: b.key,
      tlogEntries: b.tlogEntries,
      rfc3161Timestamps: b.timestamps,
    },
    content: b.content,
  }));
}

Deno.test("parseBundle() reads serializeBundle() output back deep-equal, every version (property)", () => {
  const any = fc.constantFrom("0.1", "0.2", "0.3" as const).chain((v) =>
    bundleArbitrary(v as BundleVersion)
  );
  fc.assert(
    fc.property(any, (bundle) => {
      const text = serializeBundle(bundle);
      assert.deepEqual(parseBundle(text, { allowCertificateChain: true }), bundle);
      assert.equal(serializeBundle(parseBundle(text)), text);
    }),
    { numRuns: 300 },
  );
});
