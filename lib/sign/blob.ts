/**
 * Signing and attesting blobs: `cosign sign-blob` and `cosign attest-blob` (cosign-spec.md
 * sections 3.1, 6.2, 6.3 and 11).
 *
 * Blobs of any size stream: the file is hashed in one pass (lib/util/hash_stream.ts) and the
 * *digest* is signed (`PrivateKey.signPrehashed`: ECDSA with `@noble/curves`, RSA PKCS#1 v1.5),
 * so memory stays flat. Ed25519 cannot sign a digest (pure Ed25519 and Ed25519ph both take the
 * message), so an Ed25519 key reads the blob into memory, bounded by `maxMessageBytes` (128 MiB
 * by default, cosign's attachment limit): a larger blob is refused before it is read. The same
 * bound applies to a signer without prehashed signing.
 *
 * The result is a v0.3 bundle as cosign v3 writes it: `messageSignature` with the blob's digest
 * and a `hashedrekord` entry for `sign-blob`, a DSSE envelope with a `dsse` entry for
 * `attest-blob`, plus the RFC 3161 timestamp over the signature when a TSA is configured. The
 * legacy outputs of `--new-bundle-format=false` are derived from that bundle exactly as cosign
 * derives them (`legacyBlobOutputs`).
 *
 * @module
 */

import { type Bytes, type HashName, toHex } from "../util/bytes.ts";
import { type BlobSource, digestOf, hashBlob, type HashProgress } from "../util/hash_stream.ts";
import { encodePem } from "../util/pem.ts";
import type { Bundle } from "../bundle/model.ts";
import { type Envelope, serializeEnvelope } from "../payload/dsse.ts";
import { CosignError } from "../errors.ts";
import { encodeLegacyBlobBundle, encodeRfc3161Annotation } from "../bundle/legacy.ts";
import { buildPredicate } from "../payload/predicate.ts";
import { buildStatement, parseStatement } from "../payload/statement.ts";
import { buildHashedRekordEntry } from "../tlog/rekor/entries.ts";
import {
  buildBundle,
  checkWitnesses,
  signEnvelope,
  signingHash,
  type SigningIdentity,
  type SigningServices,
  signMessage,
  verifierPem,
} from "./signature.ts";
import type { Signer } from "../keys/public_key.ts";
import type { TlogEntry } from "../tlog/entry.ts";

export type { BlobSource, HashProgress };

/** Error codes raised here (hashing raises `PAYLOAD_TOO_LARGE` too). */
export type SignBlobErrorCode = "PAYLOAD_UNREADABLE";

/** Largest blob read into memory for a signer that needs the message (Ed25519). */
export const MAX_MESSAGE_BYTES = 128 << 20;

/** Options of `signBlob`. */
export interface SignBlobOptions {
  /** Who signs: a key, or an ephemeral key with its Fulcio certificate. */
  readonly identity: SigningIdentity;
  /** The witnesses: transparency log and timestamp authority. */
  readonly services?: SigningServices;
  /** Progress of the hashing pass. */
  readonly onProgress?: (progress: HashProgress) => void;
  /** Aborts reading and hashing the blob. */
  readonly signal?: AbortSignal;
  /** Largest blob an Ed25519 key signs (default `MAX_MESSAGE_BYTES`). */
  readonly maxMessageBytes?: number;
}

/** A signed blob. */
export interface BlobSignature {
  /** The blob digest that was signed and logged. */
  readonly digest: { readonly algorithm: HashName; readonly digest: Bytes };
  /** The blob size in bytes. */
  readonly size: number;
  /** The signature (ECDSA: DER). */
  readonly signature: Bytes;
  /** The transparency-log entry (`hashedrekord`), when a log witness was given. */
  readonly tlogEntry?: TlogEntry;
  /** The DER `TimeStampResp` over the signature. */
  readonly timestamp?: Bytes;
  /** The v0.3 bundle: `messageSignature` with `messageDigest`. */
  readonly bundle: Bundle;
}

/** A signer that can sign a precomputed digest (`PrivateKey` is one). */
interface PrehashSigner extends Signer {
  signPrehashed(digest: Uint8Array, hash: HashName): Bytes;
}

function canSignDigest(signer: Signer): signer is PrehashSigner {
  return signer.publicKey.kind !== "ed25519" &&
    typeof (signer as Partial<PrehashSigner>).signPrehashed === "function";
}

/** Run `read`, reporting an unreadable source as `PAYLOAD_UNREADABLE` (aborts pass through). */
async function readSource<T>(source: BlobSource, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CosignError || error instanceof DOMException) throw error;
    const name = source.kind === "file" ? `"${source.path}"` : "the input";
    throw new CosignError(
      "PAYLOAD_UNREADABLE",
      `Cannot read the blob ${name}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Sign a blob as `cosign sign-blob --bundle` does (v3, section 6.3): hash it in one streaming
 * pass with the key's hash, sign the digest, log a hashedrekord entry and timestamp the
 * signature when the services say so, and return the v0.3 bundle.
 *
 * @example Sign a file with a key and record it in Rekor (here the embedded stack's)
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   generateKeyPair,
 *   serializeBundle,
 *   signBlob,
 *   transparencyLogWitness,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const path = await Deno.makeTempFile({ suffix: ".tar.gz" });
 * await Deno.writeTextFile(path, "release contents");
 * const key = await generateKeyPair();
 * const signed = await signBlob({ kind: "file", path }, {
 *   identity: { signer: key },
 *   services: { log: transparencyLogWitness(stack.url) },
 * });
 * assert.equal(signed.size, 16);
 * assert.equal(signed.tlogEntry?.kindVersion.kind, "hashedrekord");
 * await Deno.writeTextFile(`${path}.sigstore.json`, serializeBundle(signed.bundle));
 * await Deno.remove(path);
 * await Deno.remove(`${path}.sigstore.json`);
 * ```
 */
export async function signBlob(
  source: BlobSource,
  options: SignBlobOptions,
): Promise<BlobSignature> {
  const { identity } = options;
  const services = options.services ?? {};
  checkWitnesses(identity, services);
  const hash = signingHash(identity);
  const signer = identity.signer;
  const prehashed = canSignDigest(signer);
  const hashed = await readSource(source, () =>
    hashBlob(source, {
      algorithms: [hash],
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(prehashed ? {} : { keepBytes: options.maxMessageBytes ?? MAX_MESSAGE_BYTES }),
    }));
  const value = digestOf(hashed, hash);
  let signature: Bytes;
  let tlogEntry: TlogEntry | undefined;
  let timestamp: Bytes | undefined;
  if (prehashed) {
    signature = signer.signPrehashed(value, hash);
    tlogEntry = services.log
      ? await services.log(buildHashedRekordEntry({
        digest: { algorithm: hash, value },
        signature,
        verifierPem: verifierPem(identity),
      }))
      : undefined;
    timestamp = services.timestamp ? await services.timestamp(signature) : undefined;
  } else {
    // Ed25519 (Ed25519ph when logged, as cosign) signs the message itself.
    ({ signature, tlogEntry, timestamp } = await signMessage(hashed.bytes!, identity, services));
  }
  const witnesses = { ...(tlogEntry ? { tlogEntry } : {}), ...(timestamp ? { timestamp } : {}) };
  return {
    digest: { algorithm: hash, digest: value },
    size: hashed.size,
    signature,
    ...witnesses,
    bundle: buildBundle(identity, {
      kind: "messageSignature",
      messageDigest: { algorithm: hash, digest: value },
      signature,
    }, witnesses),
  };
}

/** Options of `attestBlob`. */
export interface AttestBlobOptions {
  /** Who signs. */
  readonly identity: SigningIdentity;
  /** The witnesses: transparency log (a dsse entry) and timestamp authority. */
  readonly services?: SigningServices;
  /** `--statement`: a complete in-toto statement, signed verbatim (it must parse). */
  readonly statement?: Uint8Array;
  /** `--predicate` and `--type`: the predicate file bytes and the type flag (default custom). */
  readonly predicate?: { readonly file: Uint8Array; readonly type?: string };
  /** The subject name (cosign: the blob's file base name). */
  readonly subjectName?: string;
  /** `--hash`: the blob's SHA-256 as hex, instead of hashing the blob. */
  readonly sha256?: string;
  /** The predicate `Timestamp` of `--type custom` (default now). */
  readonly now?: Date;
  /** Progress of the hashing pass. */
  readonly onProgress?: (progress: HashProgress) => void;
  /** Aborts reading and hashing the blob. */
  readonly signal?: AbortSignal;
}

/** A signed attestation about a blob. */
export interface BlobAttestation {
  /** The signed in-toto statement bytes. */
  readonly statement: Bytes;
  /** The signed DSSE envelope. */
  readonly envelope: Envelope;
  /** The envelope JSON exactly as logged. */
  readonly envelopeJson: string;
  /** The transparency-log entry (`dsse`), when a log witness was given. */
  readonly tlogEntry?: TlogEntry;
  /** The DER `TimeStampResp` over the signature, when a timestamp witness was given. */
  readonly timestamp?: Bytes;
  /** The v0.3 bundle with the DSSE envelope. */
  readonly bundle: Bundle;
}

/**
 * Attest a blob as `cosign attest-blob` does (section 3.1): an in-toto v0.1 statement with one
 * subject `{name: <base name>, digest: {sha256}}` and the predicate `--type` builds (or a
 * complete `--statement`), signed in a DSSE envelope, logged as a dsse entry, in a v0.3 bundle.
 * `source` is hashed unless `sha256` or `statement` is given.
 *
 * @example Attest a blob with a key, then verify the attestation
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   attestBlob,
 *   generateKeyPair,
 *   serializeBundle,
 *   verifyBlobAttestation,
 * } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const blob = { kind: "bytes", bytes: new TextEncoder().encode("release v1.0") } as const;
 * const type = "https://example.com/review/v1";
 * const attested = await attestBlob(blob, {
 *   identity: { signer: key },
 *   predicate: { file: new TextEncoder().encode('{"approved":true}'), type },
 *   subjectName: "release.txt",
 * });
 *
 * // No transparency log was used, so the verifier must not ask for one (tlogThreshold: 0).
 * const verified = await verifyBlobAttestation(
 *   { bundle: new TextEncoder().encode(serializeBundle(attested.bundle)) },
 *   blob,
 *   { key: key.publicKey, tlogThreshold: 0 },
 *   { type },
 * );
 * assert.deepEqual(verified.statement.predicate, { approved: true });
 * assert.equal(verified.statement.subject[0]?.name, "release.txt");
 * ```
 */
export async function attestBlob(
  source: BlobSource | undefined,
  options: AttestBlobOptions,
): Promise<BlobAttestation> {
  let statement: Bytes;
  if (options.statement !== undefined) {
    if (options.predicate !== undefined) {
      throw new TypeError("Give a statement or a predicate, not both");
    }
    parseStatement(options.statement);
    statement = Uint8Array.from(options.statement) as Bytes;
  } else {
    if (options.predicate === undefined) throw new TypeError("Give a statement or a predicate");
    const hex = options.sha256 ?? toHex(await blobSha256(source, options));
    if (!/^[0-9a-f]{64}$/.test(hex)) {
      throw new RangeError(`Invalid SHA-256 digest "${hex}": expected 64 lowercase hex digits`);
    }
    const built = buildPredicate(
      options.predicate.type ?? "custom",
      options.predicate.file,
      options.now ?? new Date(),
    );
    statement = buildStatement({
      version: "v0.1",
      subjects: [{ name: options.subjectName ?? "", digest: { sha256: hex } }],
      predicateType: built.predicateType,
      predicate: built.predicate,
    });
  }
  const signed = await signEnvelope(statement, options.identity, options.services ?? {});
  return {
    statement,
    ...signed,
    bundle: buildBundle(options.identity, {
      kind: "dsseEnvelope",
      envelope: signed.envelope,
    }, signed),
  };
}

async function blobSha256(
  source: BlobSource | undefined,
  options: AttestBlobOptions,
): Promise<Bytes> {
  if (source === undefined) throw new TypeError("Give the blob or its SHA-256 digest");
  const hashed = await readSource(source, () =>
    hashBlob(source, {
      algorithms: ["sha256"],
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }));
  return digestOf(hashed, "sha256");
}

/** What `--new-bundle-format=false` writes (section 6.2). */
export interface LegacyBlobOutputs {
  /** The legacy `--bundle` file: `{"base64Signature","cert","rekorBundle"}`. */
  readonly bundleJson: string;
  /** The raw signature, or for an attestation the envelope JSON bytes. */
  readonly signature: Bytes;
  /** The signing certificate as PEM (keyless, or a key with `--certificate`). */
  readonly certificatePem?: string;
  /** The `--rfc3161-timestamp` file: `{"SignedRFC3161Timestamp":"<b64>"}`. */
  readonly timestampJson?: string;
}

/**
 * The legacy outputs of a blob signature or attestation, derived from its v0.3 bundle as cosign
 * v3 derives them: the signature (for DSSE, the envelope JSON as Go marshals the protobuf
 * struct, which is the text that was logged), `cert` = base64 of the certificate PEM or else of
 * the public key PEM, and the first log entry as the Rekor bundle when it carries a SET.
 */
export function legacyBlobOutputs(bundle: Bundle, identity: SigningIdentity): LegacyBlobOutputs {
  const signature = bundle.content.kind === "messageSignature"
    ? bundle.content.signature
    : new TextEncoder().encode(serializeEnvelope(bundle.content.envelope)) as Bytes;
  const key = bundle.verificationMaterial.key;
  const certificates = key.kind === "certificate"
    ? [key.certificate]
    : key.kind === "x509CertificateChain"
    ? key.certificates
    : [];
  const certificatePem = certificates.length > 0
    ? certificates.map((der) => encodePem("CERTIFICATE", der)).join("")
    : undefined;
  const entry = bundle.verificationMaterial.tlogEntries[0];
  const timestamp = bundle.verificationMaterial.rfc3161Timestamps[0];
  return {
    bundleJson: encodeLegacyBlobBundle({
      signature,
      verifierPem: certificatePem ?? identity.signer.publicKey.toPem(),
      ...(entry?.inclusionPromise ? { rekorBundle: entry } : {}),
    }),
    signature,
    ...(certificatePem ? { certificatePem } : {}),
    ...(timestamp ? { timestampJson: encodeRfc3161Annotation(timestamp) } : {}),
  };
}
