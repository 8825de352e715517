/**
 * Verifying blobs and blob attestations: `cosign verify-blob` and `cosign
 * verify-blob-attestation` (cosign-spec.md sections 6.2, 6.3, 9.2 and 11).
 *
 * Every input form becomes one `SignedEntity` (lib/verify/blob_entity.ts) for the one pipeline
 * (lib/verify/pipeline.ts; SECURITY.md rule 3): a Sigstore bundle of any version; a legacy `sign-blob
 * --bundle` file; or a detached `--signature` with `--certificate` (and chain) or a `--key`, and
 * an optional legacy `--rfc3161-timestamp` file. The blob is hashed in one streaming pass with the algorithm the
 * signature needs, and a large one verified as a digest (prehashed ECDSA/RSA), so memory stays
 * flat; a small one (at most `SMALL_MESSAGE_BYTES`) is kept and verified over its bytes with
 * WebCrypto, which is faster than the pure-JS prehashed path and loads no third-party code. An
 * Ed25519 signature always needs the bytes, read bounded. A blob that cannot be read but is written
 * `sha256:<hex>` (or sha384/sha512) is taken as the digest, as cosign does.
 *
 * Attestations add cosign's claim checks, never vacuously (SECURITY.md rows 2, 3 and 9): the
 * content must be an in-toto statement in DSSE, its predicate type must be the `--type` asked
 * for (default `custom`), and with `checkClaims` (the default) a subject must carry the blob's
 * digest. Every error propagates.
 *
 * @module
 */

import { type Bytes, digest, equalBytes, type HashName } from "../util/bytes.ts";
import { type BlobSource, digestOf, hashBlob, type HashProgress } from "../util/hash_stream.ts";
import { blobSignatureEntity, type BlobSignatureInput } from "./blob_entity.ts";
import type { Envelope } from "../payload/dsse.ts";
import { CosignError } from "../errors.ts";
import { IN_TOTO_PAYLOAD_TYPE, parseStatement, type Statement } from "../payload/statement.ts";
import { predicateTypeFor } from "../payload/predicate.ts";
import type { RekorClient } from "../tlog/rekor/client.ts";
import type { Artifact, SignedEntity, VerificationPolicy, VerificationResult } from "./entity.ts";
import { type VerifyEntityOptions, verifySignedEntity } from "./pipeline.ts";
import { parseCertificate } from "../x509/certificate.ts";

export type { BlobSource, HashProgress };
export {
  type BlobEntityErrorCode,
  blobSignatureEntity,
  type BlobSignatureInput,
  type BlobSignatureKind,
} from "./blob_entity.ts";

/** Error codes raised here (the pipeline and the parsers raise their own). */
export type VerifyBlobErrorCode =
  | "VERIFY_BLOB_UNREADABLE"
  | "VERIFY_NOT_AN_ATTESTATION"
  | "VERIFY_PREDICATE_TYPE_MISMATCH"
  | "VERIFY_SUBJECT_MISMATCH";

/** Largest blob read into memory when the signature needs the message (Ed25519). */
export const MAX_MESSAGE_BYTES = 128 << 20;

/** Largest blob kept in memory to verify over its bytes (WebCrypto) rather than its digest. */
export const SMALL_MESSAGE_BYTES = 1 << 20;

const DIGEST_REFERENCE = /^(sha256|sha384|sha512):([0-9a-f]+)$/;
const DIGEST_HEX_LENGTH: Record<HashName, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** `sha256:<hex>` (or sha384, sha512) as a digest, or undefined when it is not one. */
export function parseDigestReference(
  text: string,
): { algorithm: HashName; digest: Bytes } | undefined {
  const match = DIGEST_REFERENCE.exec(text);
  if (!match) return undefined;
  const algorithm = match[1] as HashName;
  if (match[2]!.length !== DIGEST_HEX_LENGTH[algorithm]) return undefined;
  return { algorithm, digest: Uint8Array.fromHex(match[2]!) as Bytes };
}

/** The blob to verify: its bytes from a source, or only its digest. */
export type BlobInput =
  | BlobSource
  | { readonly kind: "digest"; readonly algorithm: HashName; readonly digest: Uint8Array };

function usage(message: string): RangeError {
  return new RangeError(message);
}

/** Options of `verifyBlob` and `verifyBlobAttestation`. */
export interface VerifyBlobOptions {
  /** Check SET-only entries online, and find the entry of a signature that carries none. */
  readonly log?: RekorClient;
  /** Largest blob accepted (cosign applies `COSIGN_MAX_ATTACHMENT_SIZE` to attested blobs). */
  readonly maxBlobBytes?: number;
  /** Largest blob read into memory for an Ed25519 signature (default `MAX_MESSAGE_BYTES`). */
  readonly maxMessageBytes?: number;
  /** Progress of the hashing pass. */
  readonly onProgress?: (progress: HashProgress) => void;
  /** Aborts reading and hashing the blob. */
  readonly signal?: AbortSignal;
}

/** What an artifact must be prepared as: its hash, and whether the bytes are needed or useful. */
interface ArtifactNeeds {
  readonly algorithm: HashName;
  /** The signature is over the message itself (Ed25519). */
  readonly bytes: boolean;
  /** A small blob is better verified over its bytes (WebCrypto) than its digest. */
  readonly small?: boolean;
}

/** The hash a message signature's artifact needs, and whether it needs the bytes themselves. */
function messageNeeds(entity: SignedEntity, policy: VerificationPolicy): ArtifactNeeds {
  const key = policy.key ??
    (entity.material.kind === "certificate"
      ? parseCertificate(entity.material.certificate).publicKey
      : undefined);
  const hint = entity.content.kind === "message" ? entity.content.messageDigest : undefined;
  const signerHash = policy.keyHash ?? key?.defaultHash ?? "sha256";
  // The key decides the hash (the pipeline's bindArtifact refuses a hint naming another one);
  // an Ed25519 signature covers the bytes, hashed only to compare with the hint.
  return {
    algorithm: key?.kind === "ed25519" ? hint?.algorithm ?? signerHash : signerHash,
    bytes: key?.kind === "ed25519",
    small: true,
  };
}

/** The subject digest algorithm to compare: sha256 when a subject has one (cosign's default). */
function statementAlgorithm(statement: Statement | undefined): HashName {
  const present = new Set(statement?.subject.flatMap((s) => Object.keys(s.digest)) ?? []);
  return (["sha256", "sha512", "sha384"] as const).find((a) => present.has(a)) ?? "sha256";
}

/** Hash (or read) the blob into the artifact the pipeline checks. */
async function prepareArtifact(
  blob: BlobInput,
  needs: ArtifactNeeds,
  options: VerifyBlobOptions,
): Promise<Artifact> {
  if (blob.kind === "digest") {
    return { kind: "digest", algorithm: blob.algorithm, digest: blob.digest };
  }
  let hashed;
  try {
    hashed = await hashBlob(blob, {
      algorithms: [needs.algorithm],
      ...(options.maxBlobBytes !== undefined ? { maxBytes: options.maxBlobBytes } : {}),
      ...(needs.bytes
        ? { keepBytes: options.maxMessageBytes ?? MAX_MESSAGE_BYTES }
        : needs.small
        ? { keepSmallBytes: SMALL_MESSAGE_BYTES }
        : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof CosignError || error instanceof DOMException) throw error;
    if (blob.kind === "file") {
      // cosign: a blob that cannot be read may be a digest reference instead
      const reference = parseDigestReference(blob.path);
      if (reference) return { kind: "digest", ...reference };
    }
    throw new CosignError(
      "VERIFY_BLOB_UNREADABLE",
      `Cannot read the blob${blob.kind === "file" ? ` "${blob.path}"` : ""}: ${
        (error as Error).message
      }`,
      { cause: error },
    );
  }
  return hashed.bytes
    ? { kind: "bytes", bytes: hashed.bytes }
    : { kind: "digest", algorithm: needs.algorithm, digest: digestOf(hashed, needs.algorithm) };
}

/** The outcome of verifying a blob. */
export interface BlobVerification {
  /** What verified, and how. */
  readonly result: VerificationResult;
  /** The artifact as verified (its bytes when small or needed, else its digest). */
  readonly artifact?: Artifact;
}

/**
 * `verify-blob`: verify the signature (bundle, legacy bundle or detached) over `blob` with
 * `policy`. A DSSE bundle about the blob is accepted when a subject carries its digest (an
 * in-toto statement) or its payload is the blob itself.
 *
 * @example Keyless with a Rekor entry and an RFC 3161 timestamp, by identity
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   keylessIdentity,
 *   serializeBundle,
 *   signBlob,
 *   timestampWitness,
 *   transparencyLogWitness,
 *   verifyBlob,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const trustedRoot = stack.trust.trustedRoot;
 * const { identity } = await keylessIdentity({
 *   token: stack.ready.idToken!,
 *   fulcioUrl: stack.url,
 *   trustedRoot,
 * });
 * const blob = { kind: "bytes", bytes: new TextEncoder().encode("release v1.0") } as const;
 * const signed = await signBlob(blob, {
 *   identity,
 *   services: {
 *     log: transparencyLogWitness(stack.url),
 *     timestamp: timestampWitness(stack.ready.tsa!),
 *   },
 * });
 * const bundle = new TextEncoder().encode(serializeBundle(signed.bundle));
 *
 * const verified = await verifyBlob({ bundle }, blob, {
 *   trustedRoot,
 *   identities: [{ subject: stack.ready.identity!, issuer: stack.ready.issuer! }],
 *   timestampThreshold: 1,
 * });
 * const sources = verified.result.verifiedTimes.map((time) => time.source);
 * assert.deepEqual(sources.toSorted(), ["timestamp authority", "transparency log"]);
 * ```
 *
 * @example Only the digest is needed; another blob fails
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, isCosignError, signBlob, verifyBlob } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const bytes = new TextEncoder().encode("release v1.0");
 * const signed = await signBlob({ kind: "bytes", bytes }, { identity: { signer: key } });
 * const input = { signature: new TextEncoder().encode(signed.signature.toBase64()) };
 * const policy = { key: key.publicKey, tlogThreshold: 0 };
 *
 * await verifyBlob(input, { kind: "digest", ...signed.digest }, policy);
 * await assert.rejects(
 *   verifyBlob(input, { kind: "bytes", bytes: new TextEncoder().encode("release v1.1") }, policy),
 *   (error) => isCosignError(error, "VERIFY_SIGNATURE_INVALID"),
 * );
 * ```
 */
export async function verifyBlob(
  input: BlobSignatureInput,
  blob: BlobInput,
  policy: VerificationPolicy,
  options: VerifyBlobOptions = {},
): Promise<BlobVerification> {
  const entity = blobSignatureEntity(input, "signature", policy);
  if (entity.content.kind === "dsse") {
    return await verifyEnvelopeAbout(entity, entity.content.envelope, blob, policy, options);
  }
  const artifact = await prepareArtifact(blob, messageNeeds(entity, policy), options);
  const result = await verifySignedEntity(entity, artifact, policy, online(options));
  return { result, artifact };
}

async function verifyEnvelopeAbout(
  entity: SignedEntity,
  envelope: Envelope,
  blob: BlobInput | undefined,
  policy: VerificationPolicy,
  options: VerifyBlobOptions & { digestAlgorithm?: HashName },
): Promise<BlobVerification> {
  const inToto = envelope.payloadType === IN_TOTO_PAYLOAD_TYPE;
  const statement = inToto ? parseStatement(envelope.payload) : undefined;
  const artifact = blob === undefined ? undefined : await prepareArtifact(
    blob,
    { algorithm: options.digestAlgorithm ?? statementAlgorithm(statement), bytes: false },
    options,
  );
  // In-toto: the pipeline matches a subject digest. Any other payload must be the blob itself.
  const result = await verifySignedEntity(
    entity,
    inToto ? artifact : undefined,
    policy,
    online(options),
  );
  if (!inToto && artifact && !payloadIsArtifact(envelope.payload, artifact)) {
    throw new CosignError(
      "VERIFY_SUBJECT_MISMATCH",
      `The envelope's "${envelope.payloadType}" payload is not the blob`,
    );
  }
  return { result, ...(artifact ? { artifact } : {}) };
}

/** The pipeline's online options: the log client, when the caller gave one. */
function online(options: VerifyBlobOptions): VerifyEntityOptions {
  return options.log ? { log: options.log } : {};
}

function payloadIsArtifact(payload: Uint8Array, artifact: Artifact): boolean {
  return artifact.kind === "bytes"
    ? equalBytes(payload, artifact.bytes)
    : equalBytes(digest(artifact.algorithm, payload), artifact.digest);
}

/** Options of `verifyBlobAttestation`. */
export interface VerifyBlobAttestationOptions extends VerifyBlobOptions {
  /** `--type`: a short name or a predicate type URI (default `custom`, as cosign). */
  readonly type?: string;
  /** `--check-claims` (default true): a subject must carry the blob's digest. */
  readonly checkClaims?: boolean;
  /** `--digestAlg`: the subject digest algorithm to compare (default sha256 when present). */
  readonly digestAlgorithm?: HashName;
}

/** The outcome of verifying a blob attestation. */
export interface BlobAttestationVerification extends BlobVerification {
  /** The verified DSSE envelope. */
  readonly envelope: Envelope;
  /** The in-toto statement it carries. */
  readonly statement: Statement;
}

/**
 * `verify-blob-attestation`: verify a DSSE attestation (bundle, legacy bundle or `--signature`
 * envelope) through the pipeline, then cosign's claims: an in-toto statement of the `--type`
 * asked for and, with `checkClaims`, a subject with the blob's digest (`blob` is then
 * required). Nothing passes vacuously: a statement without subjects, or without that digest,
 * fails.
 *
 * @example Keyless attestation, verified by identity, predicate type and subject digest
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   attestBlob,
 *   keylessIdentity,
 *   serializeBundle,
 *   transparencyLogWitness,
 *   verifyBlobAttestation,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const trustedRoot = stack.trust.trustedRoot;
 * const { identity } = await keylessIdentity({
 *   token: stack.ready.idToken!,
 *   fulcioUrl: stack.url,
 *   trustedRoot,
 * });
 * const blob = { kind: "bytes", bytes: new TextEncoder().encode("app-linux-amd64") } as const;
 * const provenance = {
 *   buildDefinition: { buildType: "https://example.com/build/v1" },
 *   runDetails: { builder: { id: "https://example.com/builder" } },
 * };
 * const attested = await attestBlob(blob, {
 *   identity,
 *   services: { log: transparencyLogWitness(stack.url) },
 *   predicate: {
 *     file: new TextEncoder().encode(JSON.stringify(provenance)),
 *     type: "slsaprovenance1",
 *   },
 * });
 *
 * const verified = await verifyBlobAttestation(
 *   { bundle: new TextEncoder().encode(serializeBundle(attested.bundle)) },
 *   blob,
 *   { trustedRoot, identities: [{ subject: stack.ready.identity!, issuer: stack.ready.issuer! }] },
 *   { type: "slsaprovenance1" },
 * );
 * assert.equal(verified.statement.predicateType, "https://slsa.dev/provenance/v1");
 * assert.deepEqual(verified.statement.predicate, provenance);
 * ```
 */
export async function verifyBlobAttestation(
  input: BlobSignatureInput,
  blob: BlobInput | undefined,
  policy: VerificationPolicy,
  options: VerifyBlobAttestationOptions = {},
): Promise<BlobAttestationVerification> {
  const predicateType = predicateTypeFor(options.type ?? "custom");
  const checkClaims = options.checkClaims ?? true;
  if (checkClaims && blob === undefined) {
    throw usage("Checking the claims needs the blob, or its digest (--digest and --digestAlg)");
  }
  const entity = blobSignatureEntity(input, "attestation", policy);
  if (entity.content.kind !== "dsse") {
    throw new CosignError(
      "VERIFY_NOT_AN_ATTESTATION",
      "The bundle holds a message signature, not a DSSE attestation (use verify-blob)",
    );
  }
  const envelope = entity.content.envelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new CosignError(
      "VERIFY_NOT_AN_ATTESTATION",
      `The envelope's payload type is "${envelope.payloadType}", not "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
  const verified = await verifyEnvelopeAbout(
    entity,
    envelope,
    checkClaims ? blob : undefined,
    policy,
    options,
  );
  const statement = parseStatement(envelope.payload);
  if (statement.predicateType !== predicateType) {
    throw new CosignError(
      "VERIFY_PREDICATE_TYPE_MISMATCH",
      `Invalid predicate type: expected "${predicateType}", got "${statement.predicateType}"`,
    );
  }
  return { ...verified, envelope, statement };
}
