import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { type Bytes, fromUtf8, toBase64, toHex, utf8 } from "../../../lib/util/bytes.ts";
import { decodePem, encodePem } from "../../../lib/util/pem.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  classifyLegacyVerifier,
  encodeLegacyBlobBundle,
  encodeRfc3161Annotation,
  legacyBundleToTlogEntry,
  parseLegacyBlobBundle,
  parseRfc3161Annotation,
  tlogEntryToLegacyBundle,
} from "../../../lib/bundle/legacy.ts";
import type { TlogEntry } from "../../../lib/tlog/entry.ts";
import { INTEROP, readInteropText, requireComponents } from "../../_support.ts";

const BODY = toBase64(utf8('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{"a":1}}'));
const LOG_ID = "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d";

function annotation(payload: Record<string, unknown> = {}, root: Record<string, unknown> = {}) {
  return {
    SignedEntryTimestamp: "MEUCIQ==",
    Payload: {
      body: BODY,
      integratedTime: 1634714717,
      logIndex: 783607,
      logID: LOG_ID,
      ...payload,
    },
    ...root,
  };
}

Deno.test("legacyBundleToTlogEntry() converts the annotation to a SET-only entry, kind from the body", () => {
  const entry = legacyBundleToTlogEntry(JSON.stringify(annotation()));
  assert.equal(entry.logIndex, 783607n);
  assert.equal(entry.integratedTime, 1634714717n);
  assert.equal(toHex(entry.logId), LOG_ID);
  assert.deepEqual(entry.kindVersion, { kind: "hashedrekord", version: "0.0.1" });
  assert.deepEqual(
    entry.inclusionPromise!.signedEntryTimestamp,
    new Uint8Array([0x30, 0x45, 0x02, 0x21]),
  );
  assert.equal(entry.inclusionProof, undefined);
  assert.equal(toBase64(entry.canonicalizedBody), BODY);
  // also from bytes and from a parsed value (the blob bundle nests it as an object)
  assert.deepEqual(legacyBundleToTlogEntry(utf8(JSON.stringify(annotation()))), entry);
  assert.deepEqual(legacyBundleToTlogEntry(annotation()), entry);
});

Deno.test("legacyBundleToTlogEntry() refuses what cosign crashed on or could misbind", () => {
  assert.ok(BODY.endsWith("="), "the unpadded case below needs a padded body");
  const cases: [unknown, RegExp][] = [
    [annotation({ body: 12 }), /Payload\.body: expected a base64 string/],
    [annotation({ body: { kind: "x" } }), /Payload\.body: expected a base64 string/],
    [annotation({ body: null }), /Payload\.body: expected a base64 string/],
    [annotation({ body: "" }), /Payload\.body: must not be empty/],
    [annotation({ body: BODY.replace(/=+$/, "") }), /not canonical standard base64/],
    [annotation({ body: toBase64(utf8("not json")) }), /Invalid JSON in Rekor entry body/],
    [annotation({ body: toBase64(utf8('{"kind":"rekord"}')) }), /Payload\.body\.apiVersion/],
    [annotation({ logID: LOG_ID.toUpperCase() }), /Payload\.logID: expected 64 lowercase hex/],
    [annotation({ logID: "c0d2" }), /Payload\.logID/],
    [annotation({ logIndex: -1 }), /Payload\.logIndex: must not be negative/],
    [annotation({ logIndex: "783607" }), /Payload\.logIndex: expected an integer/],
    [annotation({ integratedTime: 1.5 }), /Payload\.integratedTime: expected an integer/],
    [annotation({}, { SignedEntryTimestamp: "" }), /SignedEntryTimestamp: must not be empty/],
    [annotation({}, { SignedEntryTimestamp: "%%" }), /SignedEntryTimestamp: invalid base64/],
    [
      { signedEntryTimestamp: "MEUCIQ==", payload: annotation().Payload },
      /field "signedEntryTimestamp" is another spelling of "SignedEntryTimestamp"/,
    ],
    [annotation({}, { Payload: null }), /Payload: expected an object/],
    ['{"SignedEntryTimestamp":', /Invalid JSON/],
    [null, /bundle: expected an object/],
  ];
  for (const [input, pattern] of cases) {
    const text = typeof input === "string" ? input : JSON.stringify(input);
    assert.throws(
      () => legacyBundleToTlogEntry(text),
      (e) => isCosignError(e, "BUNDLE_MALFORMED") && pattern.test(e.message),
      text.slice(0, 120),
    );
  }
  assert.throws(
    () => legacyBundleToTlogEntry(JSON.stringify(annotation()), { maxBytes: 10 }),
    (e) => isCosignError(e, "BUNDLE_TOO_LARGE"),
  );
});

Deno.test("tlogEntryToLegacyBundle() writes cosign's struct JSON and refuses entries without a SET", () => {
  const entry = legacyBundleToTlogEntry(annotation());
  assert.equal(tlogEntryToLegacyBundle(entry), JSON.stringify(annotation()));
  const { inclusionPromise: _p, ...proofOnly } = entry;
  assert.throws(() => tlogEntryToLegacyBundle(proofOnly), TypeError);
});

Deno.test("legacyBundleToTlogEntry() reads tlogEntryToLegacyBundle() output back unchanged (property)", () => {
  const kind = fc.string({ minLength: 1, maxLength: 12 }).map((s) => s.toWellFormed());
  const entry = fc.record({
    logIndex: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
    integratedTime: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
    logId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    set: fc.uint8Array({ minLength: 1, maxLength: 72 }),
    kind,
    version: kind,
    spec: fc.jsonValue(),
  }).map((e): TlogEntry => ({
    logIndex: e.logIndex,
    logId: Uint8Array.from(e.logId),
    kindVersion: { kind: e.kind, version: e.version },
    integratedTime: e.integratedTime,
    inclusionPromise: { signedEntryTimestamp: Uint8Array.from(e.set) },
    canonicalizedBody: utf8(
      JSON.stringify({ apiVersion: e.version, kind: e.kind, spec: e.spec ?? null }),
    ),
  }));
  fc.assert(fc.property(entry, (value) => {
    assert.deepEqual(legacyBundleToTlogEntry(tlogEntryToLegacyBundle(value)), value);
  }));
});

Deno.test("parseLegacyBlobBundle() reads the sign-blob file and refuses a missing signature", async () => {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const pem = encodePem("PUBLIC KEY", spki);
  const entry = legacyBundleToTlogEntry(annotation());
  const text = encodeLegacyBlobBundle({
    signature: new Uint8Array([1, 2]),
    verifierPem: pem,
    rekorBundle: entry,
  });
  assert.equal(
    text,
    `{"base64Signature":"AQI=","cert":"${toBase64(utf8(pem))}","rekorBundle":${
      JSON.stringify(annotation())
    }}`,
  );
  const parsed = parseLegacyBlobBundle(text);
  assert.deepEqual(parsed.signature, new Uint8Array([1, 2]));
  assert.equal(fromUtf8(parsed.cert!), pem);
  assert.deepEqual(parsed.rekorBundle, entry);
  const verifier = classifyLegacyVerifier(parsed.cert!);
  assert.equal(verifier.kind, "publicKey");
  if (verifier.kind === "publicKey") assert.deepEqual(verifier.key.spki, spki);
  assert.equal(
    encodeLegacyBlobBundle({ signature: new Uint8Array([1]) }),
    '{"base64Signature":"AQ=="}',
  );
  assert.deepEqual(parseLegacyBlobBundle('{"base64Signature":"AQ==","cert":""}'), {
    signature: new Uint8Array([1]),
  });
  for (
    const [bad, pattern] of [
      ['{"cert":"AQ=="}', /base64Signature: expected a string/],
      ['{"base64Signature":null}', /base64Signature: expected a string/],
      ['{"base64Signature":""}', /base64Signature: must not be empty/],
      ['{"base64Signature":"AQ==","cert":5}', /cert: expected a string/],
      ['{"base64Signature":"AQ==","rekorBundle":"x"}', /rekorBundle: expected an object/],
      ['{"base64Signature":"AQ==","rekorBundle":{"Payload":{}}}', /legacy Rekor bundle/],
    ] as const
  ) {
    assert.throws(
      () => parseLegacyBlobBundle(bad),
      (e) => isCosignError(e, "BUNDLE_MALFORMED") && pattern.test(e.message),
      bad,
    );
  }
});

Deno.test("classifyLegacyVerifier() refuses fields that are neither certificates nor keys", () => {
  for (
    const bad of [
      utf8("hello"),
      utf8("-----BEGIN PRIVATE KEY-----\nAQ==\n-----END PRIVATE KEY-----\n"),
      utf8("-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"),
      new Uint8Array([0x02, 0x01, 0x00]),
      new Uint8Array(),
    ]
  ) {
    assert.throws(() => classifyLegacyVerifier(bad), (e) => isCosignError(e, "BUNDLE_MALFORMED"));
  }
  const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x05]);
  assert.deepEqual(classifyLegacyVerifier(der), { kind: "certificate", certificates: [der] });
  const twoPem = encodePem("CERTIFICATE", der) + encodePem("CERTIFICATE", der);
  assert.deepEqual(classifyLegacyVerifier(utf8(twoPem)), {
    kind: "certificate",
    certificates: [der, der],
  });
});

Deno.test("parseRfc3161Annotation() and encodeRfc3161Annotation() round-trip cosign's annotation", () => {
  const der: Bytes = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);
  const text = encodeRfc3161Annotation(der);
  assert.equal(text, '{"SignedRFC3161Timestamp":"MAMCAQA="}');
  assert.deepEqual(parseRfc3161Annotation(text), der);
  assert.deepEqual(parseRfc3161Annotation(utf8(text)), der);
  for (
    const bad of [
      '{"signedRFC3161Timestamp":"MAMCAQA="}',
      '{"SignedRFC3161Timestamp":""}',
      '{"SignedRFC3161Timestamp":1}',
      "[",
      "null",
    ]
  ) {
    assert.throws(
      () => parseRfc3161Annotation(bad),
      (e) => isCosignError(e, "BUNDLE_MALFORMED"),
      bad,
    );
  }
  assert.throws(() => encodeRfc3161Annotation(new Uint8Array()), RangeError);
});

if (requireComponents("legacy cosign bundles from the interop corpus", INTEROP)) {
  const rs = "fixtures/sigstore-rs";

  Deno.test("legacyBundleToTlogEntry() reads sigstore-rs's cosign bundle annotations and writes them back", () => {
    const expected: Record<string, bigint> = {
      "legacy-image-signature-keyless-2021/bundle-annotation.json": 783607n,
      "legacy-rekor-bundle-rekord-783606.json": 783606n,
    };
    for (const [file, logIndex] of Object.entries(expected)) {
      const text = readInteropText(`${rs}/${file}`);
      const entry = legacyBundleToTlogEntry(text);
      assert.equal(entry.logIndex, logIndex);
      assert.deepEqual(entry.kindVersion, { kind: "rekord", version: "0.0.1" });
      assert.equal(toHex(entry.logId), LOG_ID);
      assert.equal(tlogEntryToLegacyBundle(entry), JSON.stringify(JSON.parse(text)));
    }
    const annotations = JSON.parse(
      readInteropText(`${rs}/legacy-image-signature-keyless-2021/layer-annotations.json`),
    );
    const fromLayer = legacyBundleToTlogEntry(annotations["dev.sigstore.cosign/bundle"]);
    assert.equal(fromLayer.integratedTime, 1634714717n);
  });

  Deno.test("parseLegacyBlobBundle() reads a real sign-blob --bundle file and cosign's writer reproduces it", () => {
    const text = readInteropText(`${rs}/legacy-blob-bundle-2022/artifact.bundle`);
    const parsed = parseLegacyBlobBundle(text);
    assert.equal(parsed.rekorBundle!.logIndex, 7810348n);
    assert.deepEqual(parsed.rekorBundle!.kindVersion, { kind: "hashedrekord", version: "0.0.1" });
    const verifier = classifyLegacyVerifier(parsed.cert!);
    assert.equal(verifier.kind, "certificate");
    if (verifier.kind === "certificate") {
      assert.deepEqual(verifier.certificates, [
        decodePem(fromUtf8(parsed.cert!), ["CERTIFICATE"]).bytes,
      ]);
      // the same certificate as base64 DER, as legacy `sign --bundle` wrote it
      assert.deepEqual(classifyLegacyVerifier(verifier.certificates[0]!), verifier);
    }
    const written = encodeLegacyBlobBundle({
      signature: parsed.signature,
      verifierPem: fromUtf8(parsed.cert!),
      rekorBundle: parsed.rekorBundle!,
    });
    assert.equal(written, JSON.stringify(JSON.parse(text)));
  });

  Deno.test("classifyLegacyVerifier() reads the PEM certificate cosign stored on a legacy layer", () => {
    const pem = readInteropText(`${rs}/legacy-image-signature-keyless-2021/cert.pem`);
    const verifier = classifyLegacyVerifier(utf8(pem));
    assert.equal(verifier.kind, "certificate");
  });
}
