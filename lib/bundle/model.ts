/**
 * Sigstore bundles (`dev.sigstore.bundle.v1.Bundle`, protobuf JSON) v0.1 to v0.3: the model and
 * its strict parsing (cosign-spec.md section 6.3, gotcha 20). Serialization as cosign v3 writes
 * it lives in `lib/bundle/serialize.ts`.
 *
 * Parsing enforces the structure every later check relies on, so verification never meets a
 * half-formed bundle (sigstore-go crashed on a proof without checkpoint, SECURITY.md 1.9):
 * one known media type; exactly one of `messageSignature` / `dsseEnvelope`, a DSSE envelope with
 * exactly one signature; exactly one kind of key material; v0.1 entries carry an inclusion
 * promise, v0.2+ entries an inclusion proof, and every proof its checkpoint; v0.3 material is a
 * single certificate or a key hint unless chains are allowed; counts bounded while parsing
 * (SECURITY.md row 20). Malformed input is `BUNDLE_MALFORMED` with the JSON path, including
 * truncated JSON. The legacy cosign formats live in `lib/bundle/legacy.ts`.
 *
 * @module
 */

import { type Bytes, digestLength, type HashName } from "../util/bytes.ts";
import {
  asArray,
  asInt64,
  asNonEmptyString,
  asOptionalArray,
  asStrictRecord,
  asString,
  asWrappedBase64,
  isRecord,
  type JsonRecord,
  parseJson,
} from "../util/json.ts";
import { decodeEnvelopeJson, type Envelope } from "../payload/dsse.ts";
import { CosignError } from "../errors.ts";
import type { InclusionProof, TlogEntry } from "../tlog/entry.ts";

/** Error codes raised here. */
export type BundleErrorCode = "BUNDLE_MALFORMED" | "BUNDLE_UNSUPPORTED" | "BUNDLE_TOO_LARGE";

/** Bundle format versions we read. */
export type BundleVersion = "0.1" | "0.2" | "0.3";

/** The v0.3 media type cosign v3 writes. */
export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";

/** Largest bundle read by default. */
export const MAX_BUNDLE_BYTES = 32 << 20;

/** Most transparency-log entries a bundle may carry (SECURITY.md row 20). */
export const MAX_TLOG_ENTRIES = 32;

/** Most RFC 3161 timestamps a bundle may carry (SECURITY.md row 20). */
export const MAX_TIMESTAMPS = 32;

/** Most certificates in a v0.1/v0.2 chain. */
export const MAX_CHAIN_CERTIFICATES = 10;

/** Most hashes in an inclusion proof: a tree of 2^64 leaves needs 64. */
const MAX_PROOF_HASHES = 64;

/** The key material of a bundle: exactly one of the protobuf oneof members. */
export type BundleKeyMaterial =
  /** A key hint; the key itself comes from the verifier (cosign ignores the hint). */
  | { readonly kind: "publicKey"; readonly hint: string }
  /** v0.3: the leaf certificate alone (DER). */
  | { readonly kind: "certificate"; readonly certificate: Bytes }
  /** v0.1/v0.2: DER certificates, leaf first. */
  | { readonly kind: "x509CertificateChain"; readonly certificates: readonly Bytes[] };

/** Verification material: key material, log entries and signed timestamps. */
export interface VerificationMaterial {
  /** The signing certificate(s) or key hint. */
  readonly key: BundleKeyMaterial;
  /** Transparency-log entries, at most `MAX_TLOG_ENTRIES`. */
  readonly tlogEntries: readonly TlogEntry[];
  /** DER `TimeStampResp`s (`rfc3161Timestamps[].signedTimestamp`), verbatim. */
  readonly rfc3161Timestamps: readonly Bytes[];
}

/** The digest a message signature claims to cover (an unauthenticated hint). */
export interface MessageDigest {
  /** The hash function (`SHA2_256` and friends on the wire). */
  readonly algorithm: HashName;
  /** The digest bytes, of the algorithm's length. */
  readonly digest: Bytes;
}

/** What was signed: a message signature over an artifact, or a DSSE envelope. */
export type BundleContent =
  | {
    readonly kind: "messageSignature";
    readonly messageDigest?: MessageDigest;
    readonly signature: Bytes;
  }
  | { readonly kind: "dsseEnvelope"; readonly envelope: Envelope };

/** A parsed Sigstore bundle. */
export interface Bundle {
  /** The media type as written (both spellings of v0.3 are kept). */
  readonly mediaType: string;
  /** The format version the media type names; it decides the structural rules. */
  readonly version: BundleVersion;
  /** Key material, log entries and timestamps. */
  readonly verificationMaterial: VerificationMaterial;
  /** What was signed. */
  readonly content: BundleContent;
}

/** Options of `parseBundle`. */
export interface ParseBundleOptions {
  /** Accept `x509CertificateChain` in v0.3 bundles (cosign `--allow-certificate-chain`). */
  readonly allowCertificateChain?: boolean;
  /** Largest input accepted (default `MAX_BUNDLE_BYTES`). */
  readonly maxBytes?: number;
}

const HASH_ENUM: Readonly<Record<string, HashName>> = {
  SHA2_256: "sha256",
  SHA2_384: "sha384",
  SHA2_512: "sha512",
};

// JSON names of the protobuf fields we read: a second spelling (the proto name, another case)
// is refused (see asStrictRecord), since protojson would read it.
const BUNDLE_FIELDS = ["mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope"];
const MATERIAL_FIELDS = [
  "publicKey",
  "x509CertificateChain",
  "certificate",
  "tlogEntries",
  "timestampVerificationData",
];
const ENTRY_FIELDS = [
  "logIndex",
  "logId",
  "kindVersion",
  "integratedTime",
  "inclusionPromise",
  "inclusionProof",
  "canonicalizedBody",
];
const PROOF_FIELDS = ["logIndex", "rootHash", "treeSize", "hashes", "checkpoint"];

const LEGACY_MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle\+json;version=(\d+\.\d+)$/;
const MEDIA_TYPE = /^application\/vnd\.dev\.sigstore\.bundle\.v(\d+\.\d+)(?:\.\d+)?\+json$/;

/**
 * The bundle version a media type names (section 6.3): `...bundle+json;version=0.N` or
 * `...bundle.v0.N+json`. Unknown spellings and versions from 0.4 on raise `BUNDLE_UNSUPPORTED`.
 */
export function bundleVersionOf(mediaType: string): BundleVersion {
  const version = LEGACY_MEDIA_TYPE.exec(mediaType)?.[1] ?? MEDIA_TYPE.exec(mediaType)?.[1];
  if (version === "0.1" || version === "0.2" || version === "0.3") return version;
  throw new CosignError(
    "BUNDLE_UNSUPPORTED",
    version === undefined
      ? `Unsupported bundle media type "${mediaType}"`
      : `Unsupported bundle version "${version}" (media type "${mediaType}")`,
  );
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("BUNDLE_MALFORMED", `Invalid bundle: ${message}`, { cause });
}

/** Absent in protobuf JSON: a missing key or `null`. */
function isAbsent(value: unknown): value is undefined | null {
  return value === undefined || value === null;
}

/**
 * True for a JSON object with a `mediaType` member: a Sigstore bundle rather than a legacy
 * cosign file or a bare payload (cosign's `checkNewBundle`). Whether it is a valid bundle is
 * `parseBundle`'s to say, with its own error.
 */
export function isSigstoreBundle(bytes: Uint8Array): boolean {
  let value: unknown;
  try {
    // Routing only, never trust: lenient JSON, so a bundle the strict reader refuses (a
    // duplicate key) still goes to `parseBundle` and fails there with the bundle's own error.
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return false;
  }
  return isRecord(value) && value.mediaType !== undefined;
}

/**
 * Parse and structurally validate a bundle.
 *
 * @example Read a bundle and look inside
 * ```ts
 * import assert from "node:assert/strict";
 * import { attestBlob, generateKeyPair, parseBundle, serializeBundle } from "@dcosign/dcosign";
 *
 * // A real program reads a file: parseBundle(await Deno.readFile("artifact.sigstore.json")).
 * const attested = await attestBlob({ kind: "bytes", bytes: new TextEncoder().encode("blob") }, {
 *   identity: { signer: await generateKeyPair() },
 *   predicate: { file: new TextEncoder().encode("scan passed") }, // cosign's `custom` type
 * });
 * const bundle = parseBundle(serializeBundle(attested.bundle));
 * assert.equal(bundle.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
 * assert.equal(bundle.verificationMaterial.key.kind, "publicKey");
 * if (bundle.content.kind !== "dsseEnvelope") throw new Error("expected an attestation");
 * assert.equal(bundle.content.envelope.payloadType, "application/vnd.in-toto+json");
 * ```
 */
export function parseBundle(input: string | Uint8Array, options: ParseBundleOptions = {}): Bundle {
  const max = options.maxBytes ?? MAX_BUNDLE_BYTES;
  const size = typeof input === "string" ? input.length : input.byteLength;
  if (size > max) {
    throw new CosignError(
      "BUNDLE_TOO_LARGE",
      `Cannot read bundle: ${size} bytes exceeds the limit of ${max}`,
    );
  }
  let root: JsonRecord;
  try {
    root = asStrictRecord(parseJson(input, "bundle"), "bundle", BUNDLE_FIELDS);
  } catch (error) {
    throw malformed((error as Error).message, error);
  }
  let mediaType: string;
  try {
    mediaType = asNonEmptyString(root.mediaType, "mediaType");
  } catch (error) {
    throw malformed((error as Error).message, error);
  }
  const version = bundleVersionOf(mediaType);
  try {
    const verificationMaterial = readVerificationMaterial(
      root.verificationMaterial,
      version,
      options.allowCertificateChain ?? false,
    );
    const content = readContent(root);
    return { mediaType, version, verificationMaterial, content };
  } catch (error) {
    if (error instanceof CosignError) throw error;
    throw malformed((error as Error).message, error);
  }
}

/** Exactly one present member of a protobuf oneof, by JSON name. */
function oneOf<T extends string>(record: JsonRecord, names: readonly T[], path: string): T {
  const present = names.filter((name) => !isAbsent(record[name]));
  if (present.length !== 1) {
    throw new SyntaxError(
      `${path}: expected exactly one of ${names.join(", ")}, found ${
        present.length === 0 ? "none" : present.join(", ")
      }`,
    );
  }
  return present[0]!;
}

function readVerificationMaterial(
  value: unknown,
  version: BundleVersion,
  allowChain: boolean,
): VerificationMaterial {
  const path = "verificationMaterial";
  const record = asStrictRecord(value, path, MATERIAL_FIELDS);
  const key = readKeyMaterial(record, version, allowChain);
  const tlogEntries = asOptionalArray(record.tlogEntries, `${path}.tlogEntries`, MAX_TLOG_ENTRIES)
    .map((item, i) => readTlogEntry(item, `${path}.tlogEntries[${i}]`, version));
  let rfc3161Timestamps: Bytes[] = [];
  if (!isAbsent(record.timestampVerificationData)) {
    const where = `${path}.timestampVerificationData`;
    const data = asStrictRecord(record.timestampVerificationData, where, ["rfc3161Timestamps"]);
    rfc3161Timestamps = asOptionalArray(
      data.rfc3161Timestamps,
      `${where}.rfc3161Timestamps`,
      MAX_TIMESTAMPS,
    ).map((item, i) => {
      const at = `${where}.rfc3161Timestamps[${i}]`;
      return nonEmptyBytes(
        asStrictRecord(item, at, ["signedTimestamp"]).signedTimestamp,
        `${at}.signedTimestamp`,
      );
    });
  }
  return { key, tlogEntries, rfc3161Timestamps };
}

function readKeyMaterial(
  record: JsonRecord,
  version: BundleVersion,
  allowChain: boolean,
): BundleKeyMaterial {
  const path = "verificationMaterial";
  const kind = oneOf(record, ["publicKey", "x509CertificateChain", "certificate"] as const, path);
  if (kind === "publicKey") {
    const hint = asStrictRecord(record.publicKey, `${path}.publicKey`, ["hint"]).hint;
    return { kind, hint: isAbsent(hint) ? "" : asString(hint, `${path}.publicKey.hint`) };
  }
  if (kind === "certificate") {
    const certificate = asStrictRecord(record.certificate, `${path}.certificate`, ["rawBytes"]);
    return {
      kind,
      certificate: nonEmptyBytes(certificate.rawBytes, `${path}.certificate.rawBytes`),
    };
  }
  if (version === "0.3" && !allowChain) {
    throw new SyntaxError(
      `${path}.x509CertificateChain: not allowed in a v0.3 bundle (only a single certificate or a public key)`,
    );
  }
  const where = `${path}.x509CertificateChain.certificates`;
  const chain = asStrictRecord(record.x509CertificateChain, `${path}.x509CertificateChain`, [
    "certificates",
  ]);
  const certificates = asArray(chain.certificates ?? [], where, MAX_CHAIN_CERTIFICATES).map(
    (item, i) =>
      nonEmptyBytes(
        asStrictRecord(item, `${where}[${i}]`, ["rawBytes"]).rawBytes,
        `${where}[${i}].rawBytes`,
      ),
  );
  if (certificates.length === 0) throw new SyntaxError(`${where}: the chain is empty`);
  return { kind, certificates };
}

/**
 * Read one `TransparencyLogEntry` from its protobuf JSON, with the rules of a v0.3 bundle's
 * `tlogEntries` (an inclusion proof with its checkpoint is required): what a Rekor v2 log
 * answers to a new entry. Malformed input throws `SyntaxError` naming the JSON path.
 */
export function parseTlogEntry(value: unknown, path = "tlogEntry"): TlogEntry {
  return readTlogEntry(value, path, "0.3");
}

function readTlogEntry(value: unknown, path: string, version: BundleVersion): TlogEntry {
  const record = asStrictRecord(value, path, ENTRY_FIELDS);
  const logIndex = nonNegative(record.logIndex, `${path}.logIndex`);
  const logId = nonEmptyBytes(
    asStrictRecord(record.logId, `${path}.logId`, ["keyId"]).keyId,
    `${path}.logId.keyId`,
  );
  const kv = asStrictRecord(record.kindVersion, `${path}.kindVersion`, ["kind", "version"]);
  const kindVersion = {
    kind: asNonEmptyString(kv.kind, `${path}.kindVersion.kind`),
    version: asNonEmptyString(kv.version, `${path}.kindVersion.version`),
  };
  const integratedTime = nonNegative(record.integratedTime, `${path}.integratedTime`);
  const canonicalizedBody = nonEmptyBytes(record.canonicalizedBody, `${path}.canonicalizedBody`);
  let entry: TlogEntry = { logIndex, logId, kindVersion, integratedTime, canonicalizedBody };
  if (!isAbsent(record.inclusionPromise)) {
    const promise = asStrictRecord(record.inclusionPromise, `${path}.inclusionPromise`, [
      "signedEntryTimestamp",
    ]);
    const signedEntryTimestamp = nonEmptyBytes(
      promise.signedEntryTimestamp,
      `${path}.inclusionPromise.signedEntryTimestamp`,
    );
    entry = { ...entry, inclusionPromise: { signedEntryTimestamp } };
  } else if (version === "0.1") {
    throw new SyntaxError(`${path}.inclusionPromise: required in a v0.1 bundle`);
  }
  if (!isAbsent(record.inclusionProof)) {
    entry = { ...entry, inclusionProof: readInclusionProof(record.inclusionProof, path) };
  } else if (version !== "0.1") {
    throw new SyntaxError(`${path}.inclusionProof: required from bundle v0.2 on`);
  }
  return entry;
}

function readInclusionProof(value: unknown, entryPath: string): InclusionProof {
  const path = `${entryPath}.inclusionProof`;
  const record = asStrictRecord(value, path, PROOF_FIELDS);
  const logIndex = nonNegative(record.logIndex, `${path}.logIndex`);
  const treeSize = nonNegative(record.treeSize, `${path}.treeSize`);
  const rootHash = sha256Hash(record.rootHash, `${path}.rootHash`);
  const hashes = asOptionalArray(record.hashes, `${path}.hashes`, MAX_PROOF_HASHES).map(
    (item, i) => sha256Hash(item, `${path}.hashes[${i}]`),
  );
  // A proof is only as good as the signed checkpoint it ends in; without one it proves nothing
  // (sigstore-go d19dc5b crashed here), in every bundle version.
  if (isAbsent(record.checkpoint)) throw new SyntaxError(`${path}.checkpoint: missing`);
  const checkpoint = asNonEmptyString(
    asStrictRecord(record.checkpoint, `${path}.checkpoint`, ["envelope"]).envelope,
    `${path}.checkpoint.envelope`,
  );
  return { logIndex, rootHash, treeSize, hashes, checkpoint };
}

function readContent(root: JsonRecord): BundleContent {
  const kind = oneOf(root, ["messageSignature", "dsseEnvelope"] as const, "bundle");
  if (kind === "dsseEnvelope") {
    const envelope = decodeEnvelopeJson(root.dsseEnvelope, "dsseEnvelope");
    if (envelope.signatures.length !== 1) {
      throw new SyntaxError(
        `dsseEnvelope.signatures: a bundle envelope needs exactly one signature, found ${envelope.signatures.length}`,
      );
    }
    if (envelope.payload.length === 0) throw new SyntaxError("dsseEnvelope.payload: empty");
    return { kind, envelope };
  }
  const path = "messageSignature";
  const record = asStrictRecord(root.messageSignature, path, ["messageDigest", "signature"]);
  const signature = nonEmptyBytes(record.signature, `${path}.signature`);
  if (isAbsent(record.messageDigest)) return { kind, signature };
  const md = asStrictRecord(record.messageDigest, `${path}.messageDigest`, ["algorithm", "digest"]);
  const name = asString(md.algorithm, `${path}.messageDigest.algorithm`);
  const algorithm = Object.hasOwn(HASH_ENUM, name) ? HASH_ENUM[name] : undefined;
  if (algorithm === undefined) {
    throw new CosignError(
      "BUNDLE_UNSUPPORTED",
      `Invalid bundle: ${path}.messageDigest.algorithm "${name}" is not supported`,
    );
  }
  const digest = asWrappedBase64(md.digest, `${path}.messageDigest.digest`);
  if (digest.length !== digestLength(algorithm)) {
    throw new SyntaxError(
      `${path}.messageDigest.digest: ${digest.length} bytes, expected ${digestLength(algorithm)}`,
    );
  }
  return { kind, messageDigest: { algorithm, digest }, signature };
}

/** A protobuf int64 that must not be negative; absent is 0 (protobuf JSON omits zeros). */
function nonNegative(value: unknown, path: string): bigint {
  if (isAbsent(value)) return 0n;
  const result = asInt64(value, path);
  if (result < 0n) throw new SyntaxError(`${path}: must not be negative`);
  return result;
}

function nonEmptyBytes(value: unknown, path: string): Bytes {
  const bytes = asWrappedBase64(value, path);
  if (bytes.length === 0) throw new SyntaxError(`${path}: must not be empty`);
  return bytes;
}

function sha256Hash(value: unknown, path: string): Bytes {
  const bytes = asWrappedBase64(value, path);
  if (bytes.length !== 32) throw new SyntaxError(`${path}: expected a 32-byte hash`);
  return bytes;
}
