/**
 * Writing Sigstore bundles (`dev.sigstore.bundle.v1.Bundle`) as protobuf JSON, byte for byte as
 * cosign v3 writes them (cosign-spec.md section 6.3): compact, fields in `.proto`
 * declaration order, int64 as strings, bytes as standard base64, zero values and empty lists
 * left out. The bundle model and its strict parsing are `lib/bundle/model.ts`;
 * `parseBundle(serializeBundle(b))` deep-equals `b`.
 *
 * @module
 */

import { type Bytes, type HashName, toBase64, utf8 } from "../util/bytes.ts";
import { encodeGoJson, GoStruct, type GoValue } from "../util/go_json.ts";
import type { Bundle, BundleContent, BundleKeyMaterial } from "./model.ts";
import type { PublicKey } from "../keys/public_key.ts";
import type { TlogEntry } from "../tlog/entry.ts";

/** `publicKey.hint` as cosign and sigstore-go write it: b64(SHA-256(SPKI DER)) (section 6.3). */
export function publicKeyHint(key: PublicKey): string {
  return toBase64(key.fingerprint());
}

/**
 * The bundle as protobuf JSON, the way cosign v3 writes it: compact, fields in `.proto`
 * declaration order, int64 as strings, bytes as standard base64, zero values and empty lists
 * left out (an empty DSSE `keyid` too). `parseBundle(serializeBundle(b))` deep-equals `b`.
 *
 * @example Write the bundle of a blob signature
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, parseBundle, serializeBundle, signBlob } from "@dcosign/dcosign";
 *
 * const blob = new TextEncoder().encode("release v1.0");
 * const signed = await signBlob({ kind: "bytes", bytes: blob }, {
 *   identity: { signer: await generateKeyPair() },
 * });
 * const json = serializeBundle(signed.bundle); // write it as release.sigstore.json
 * assert.equal(JSON.parse(json).messageSignature.messageDigest.algorithm, "SHA2_256");
 * assert.equal(serializeBundle(parseBundle(json)), json); // the same bytes after a round trip
 * ```
 */
export function serializeBundle(bundle: Bundle): string {
  const material = bundle.verificationMaterial;
  const value = new GoStruct([
    ["mediaType", bundle.mediaType],
    [
      "verificationMaterial",
      new GoStruct([
        ...keyFields(material.key),
        ["tlogEntries", nonEmpty(material.tlogEntries.map(encodeTlogEntry))],
        [
          "timestampVerificationData",
          material.rfc3161Timestamps.length === 0 ? undefined : new GoStruct([[
            "rfc3161Timestamps",
            material.rfc3161Timestamps.map((t) => new GoStruct([["signedTimestamp", toBase64(t)]])),
          ]]),
        ],
      ]),
    ],
    ...contentFields(bundle.content),
  ]);
  return encodeGoJson(value, { style: "protojson" });
}

/** The serialized bundle as UTF-8 bytes. */
export function encodeBundle(bundle: Bundle): Bytes {
  return utf8(serializeBundle(bundle));
}

type Field = readonly [string, GoValue | undefined];

function keyFields(key: BundleKeyMaterial): Field[] {
  switch (key.kind) {
    case "publicKey":
      return [["publicKey", new GoStruct([["hint", key.hint || undefined]])]];
    case "certificate":
      return [["certificate", new GoStruct([["rawBytes", toBase64(key.certificate)]])]];
    case "x509CertificateChain":
      return [[
        "x509CertificateChain",
        new GoStruct([[
          "certificates",
          key.certificates.map((c) => new GoStruct([["rawBytes", toBase64(c)]])),
        ]]),
      ]];
  }
}

function contentFields(content: BundleContent): Field[] {
  if (content.kind === "dsseEnvelope") {
    const envelope = content.envelope;
    return [[
      "dsseEnvelope",
      new GoStruct([
        ["payload", toBase64(envelope.payload)],
        ["payloadType", envelope.payloadType],
        [
          "signatures",
          envelope.signatures.map((s) =>
            new GoStruct([["sig", toBase64(s.sig)], ["keyid", s.keyid || undefined]])
          ),
        ],
      ]),
    ]];
  }
  const digest = content.messageDigest;
  return [[
    "messageSignature",
    new GoStruct([
      [
        "messageDigest",
        digest === undefined ? undefined : new GoStruct([
          ["algorithm", hashEnumOf(digest.algorithm)],
          ["digest", toBase64(digest.digest)],
        ]),
      ],
      ["signature", toBase64(content.signature)],
    ]),
  ]];
}

function hashEnumOf(hash: HashName): string {
  return hash === "sha256" ? "SHA2_256" : hash === "sha384" ? "SHA2_384" : "SHA2_512";
}

/**
 * One `TransparencyLogEntry` as protobuf JSON, as it appears in a bundle's `tlogEntries` and as a
 * Rekor v2 log answers a new entry; `parseTlogEntry` reads it back.
 */
export function serializeTlogEntry(entry: TlogEntry): string {
  return encodeGoJson(encodeTlogEntry(entry), { style: "protojson" });
}

function encodeTlogEntry(entry: TlogEntry): GoStruct {
  const proof = entry.inclusionProof;
  return new GoStruct([
    ["logIndex", int64(entry.logIndex)],
    ["logId", new GoStruct([["keyId", toBase64(entry.logId)]])],
    [
      "kindVersion",
      new GoStruct([["kind", entry.kindVersion.kind], ["version", entry.kindVersion.version]]),
    ],
    ["integratedTime", int64(entry.integratedTime)],
    [
      "inclusionPromise",
      entry.inclusionPromise === undefined ? undefined : new GoStruct([
        ["signedEntryTimestamp", toBase64(entry.inclusionPromise.signedEntryTimestamp)],
      ]),
    ],
    [
      "inclusionProof",
      proof === undefined ? undefined : new GoStruct([
        ["logIndex", int64(proof.logIndex)],
        ["rootHash", toBase64(proof.rootHash)],
        ["treeSize", int64(proof.treeSize)],
        ["hashes", nonEmpty(proof.hashes.map((h) => toBase64(h)))],
        ["checkpoint", new GoStruct([["envelope", proof.checkpoint]])],
      ]),
    ],
    ["canonicalizedBody", toBase64(entry.canonicalizedBody)],
  ]);
}

/** protobuf JSON writes int64 as a decimal string and leaves out zero. */
function int64(value: bigint): string | undefined {
  return value === 0n ? undefined : value.toString();
}

function nonEmpty<T extends GoValue>(items: T[]): T[] | undefined {
  return items.length === 0 ? undefined : items;
}
