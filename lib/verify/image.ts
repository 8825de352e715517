/**
 * Verifying container images: their signatures (`cosign verify`) and attestations
 * (`cosign verify-attestation`), from Sigstore bundle referrers and legacy `.sig`/`.att` tags
 * (cosign-spec.md sections 9.1-9.4).
 *
 * A tag costs one GET (the manifest is hashed here; a HEAD's digest is only a claim); a digest
 * reference none. One storage format is read at a time, first the one that last verified on that
 * registry, and the other only when nothing verified (or `allSignatures` asks for every one);
 * each format's layers or bundles are read concurrently (`lib/verify/image_candidates.ts`).
 * Each candidate becomes a `SignedEntity` and goes through the one pipeline, then the image
 * claims are checked here. Unlike cosign, `verify` never accepts an attestation bundle as a signature, and an
 * attestation type filter that leaves nothing is a failure (SECURITY.md rows 2 and 9).
 *
 * @module
 */

import type { Bytes, HashName } from "../util/bytes.ts";
import type { Envelope } from "../payload/dsse.ts";
import { CosignError, errorMessage, isCosignError } from "../errors.ts";
import { type Candidate, collectCandidates } from "./image_candidates.ts";
import type { RegistryClient } from "../oci/client.ts";
import { formatImageReference, type ImageReference, type RepositoryRef } from "../oci/reference.ts";
import type { DigestReference } from "../storage/signatures.ts";
import {
  COSIGN_SIGN_PREDICATE_TYPE,
  findSubject,
  parseStatement,
  type Statement,
} from "../payload/statement.ts";
import { decodeSimpleSigningPayload } from "../payload/simple_signing.ts";
import type { RekorClient } from "../tlog/rekor/client.ts";
import type { StorageFormat } from "../sign/image.ts";
import type { VerificationPolicy, VerificationResult } from "./entity.ts";
import { verifySignedEntity } from "./pipeline.ts";

/** Error codes raised here; 10-13 are cosign's exit codes for the first four. */
export type VerifyImageErrorCode =
  | "VERIFY_NO_SIGNATURES"
  | "VERIFY_IMAGE_TAG_NOT_FOUND"
  | "VERIFY_NO_MATCHING_SIGNATURE"
  | "VERIFY_NO_CERTIFICATE"
  | "VERIFY_CLAIMS_MISMATCH"
  | "VERIFY_NO_ATTESTATIONS"
  | "VERIFY_NO_MATCHING_ATTESTATION";

/** Per client, the storage format that last verified on each registry (bounded). */
const lastVerified = new WeakMap<RegistryClient, Map<string, StorageFormat>>();
/** Per client, the verification in flight that will tell a new registry's format. */
const formatProbes = new WeakMap<RegistryClient, Map<string, Promise<void>>>();
const MAX_REMEMBERED_REGISTRIES = 256;

/** Options of image verification. */
export interface VerifyImageOptions {
  readonly client: RegistryClient;
  readonly policy: VerificationPolicy;
  /** `-a key=value`: each must equal the signed claim's annotation. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Check the digest and annotation claims (default true; cosign `--check-claims`). */
  readonly checkClaims?: boolean;
  /** `COSIGN_REPOSITORY`: where the attachments live. */
  readonly targetRepository?: RepositoryRef;
  /** Which storage formats to read (default both). */
  readonly formats?: readonly StorageFormat[];
  /**
   * Signatures: with both formats, read and verify both (default false: the first format that
   * verifies ends the search, which saves the other's lookup; bundles go first unless legacy
   * signatures verified last on this registry with this client). Attestations read every format.
   */
  readonly allSignatures?: boolean;
  /**
   * Check log entries online against this log: fetch inclusion proofs for SET-only entries,
   * and find the entries of legacy signatures stored without one. Absent: fully offline.
   */
  readonly log?: RekorClient;
}

/** One verified image signature or attestation. */
export interface VerifiedImageSignature {
  /** Where it was found: a legacy tag or a bundle referrer. */
  readonly format: StorageFormat;
  /** The signed payload: a SimpleSigning document or an in-toto statement. */
  readonly payload: Bytes;
  /** The DSSE envelope, for bundles and attestations. */
  readonly envelope?: Envelope;
  /** What verified, and how. */
  readonly result: VerificationResult;
  /** Legacy layer annotations (the cosign JSON output reports the bundle from them). */
  readonly layerAnnotations?: Readonly<Record<string, string>>;
  /** The bundle bytes (bundle format). */
  readonly bundle?: Bytes;
}

/** The outcome of verifying one image. */
export interface ImageVerification {
  /** The reference as given, and the digest it resolved to. */
  readonly reference: ImageReference;
  /** The image digest (`sha256:...`) every signature is bound to. */
  readonly digest: string;
  /** The signatures or attestations that verified (never empty). */
  readonly signatures: readonly VerifiedImageSignature[];
  /** Why each other candidate failed (for `--verbose`). */
  readonly rejected: readonly string[];
}

async function resolveImage(
  client: RegistryClient,
  reference: ImageReference,
): Promise<DigestReference> {
  if (reference.digest) {
    return {
      registry: reference.registry,
      repository: reference.repository,
      digest: reference.digest,
    };
  }
  try {
    const digest = await client.resolveDigest(reference);
    return { registry: reference.registry, repository: reference.repository, digest };
  } catch (error) {
    if (isCosignError(error, "OCI_MANIFEST_UNKNOWN") || isCosignError(error, "OCI_NAME_UNKNOWN")) {
      throw new CosignError(
        "VERIFY_IMAGE_TAG_NOT_FOUND",
        `Image "${formatImageReference(reference)}" not found: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  }
}

function annotationsMatch(
  wanted: Readonly<Record<string, string>>,
  actual: Readonly<Record<string, unknown>> | null | undefined,
): boolean {
  return Object.entries(wanted).every(([key, value]) => actual?.[key] === value);
}

function checkSignatureClaims(
  candidate: Candidate,
  image: DigestReference,
  options: VerifyImageOptions,
): void {
  const wanted = options.annotations ?? {};
  if (candidate.envelope) {
    const statement = parseStatement(candidate.envelope.payload);
    if (statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
      throw new CosignError(
        "VERIFY_CLAIMS_MISMATCH",
        `it is an attestation of type "${statement.predicateType}", not a signature (use verify-attestation)`,
      );
    }
    checkStatementClaims(statement, image, wanted);
    return;
  }
  const payload = decodeSimpleSigningPayload(candidate.payload);
  if (payload.digest !== image.digest) {
    throw new CosignError(
      "VERIFY_CLAIMS_MISMATCH",
      `the payload signs "${payload.digest}", not "${image.digest}"`,
    );
  }
  if (!annotationsMatch(wanted, payload.optional)) {
    throw new CosignError(
      "VERIFY_CLAIMS_MISMATCH",
      `the signed annotations do not include ${JSON.stringify(wanted)}`,
    );
  }
}

function checkStatementClaims(
  statement: Statement,
  image: DigestReference,
  wanted: Readonly<Record<string, string>>,
): void {
  const [algorithm, hex] = image.digest.split(":") as [HashName, string];
  const subject = findSubject(statement, algorithm, hex);
  if (!subject) {
    throw new CosignError(
      "VERIFY_CLAIMS_MISMATCH",
      `no subject of the statement has the image digest "${image.digest}"`,
    );
  }
  if (!annotationsMatch(wanted, subject.annotations)) {
    throw new CosignError(
      "VERIFY_CLAIMS_MISMATCH",
      `the subject's annotations do not include ${JSON.stringify(wanted)}`,
    );
  }
}

async function verifyCandidates(
  candidates: Candidate[],
  image: DigestReference,
  options: VerifyImageOptions,
  checkClaims: (candidate: Candidate) => void,
): Promise<{ verified: VerifiedImageSignature[]; rejected: string[]; causes: unknown[] }> {
  const verified: VerifiedImageSignature[] = [];
  const rejected: string[] = [];
  const causes: unknown[] = [];
  await Promise.all(candidates.map(async (candidate) => {
    try {
      if (candidate.problem || !candidate.entity) throw candidate.problem;
      // Bundles are about the image digest (sigstore-go's WithArtifactDigest); legacy layers
      // sign their payload bytes, which then name the digest.
      const [algorithm, hex] = image.digest.split(":") as ["sha256", string];
      const artifact = candidate.format === "bundle"
        ? { kind: "digest" as const, algorithm, digest: Uint8Array.fromHex(hex) }
        : candidate.envelope
        ? undefined
        : { kind: "bytes" as const, bytes: candidate.payload };
      const result = await verifySignedEntity(
        candidate.entity,
        artifact,
        options.policy,
        options.log ? { log: options.log } : {},
      );
      if (options.checkClaims !== false) checkClaims(candidate);
      verified.push({
        format: candidate.format,
        payload: candidate.payload,
        ...(candidate.envelope ? { envelope: candidate.envelope } : {}),
        result,
        ...(candidate.layerAnnotations ? { layerAnnotations: candidate.layerAnnotations } : {}),
        ...(candidate.bundle ? { bundle: candidate.bundle } : {}),
      });
    } catch (error) {
      rejected.push(`${candidate.label}: ${errorMessage(error)}`);
      causes.push(error);
      if (!isCosignError(error)) throw error;
    }
  }));
  return { verified, rejected, causes };
}

/**
 * The failure when no candidate verified. A keyless policy facing only key-made signatures says
 * so, whatever their format (a legacy layer without a certificate annotation, or a bundle with a
 * public key hint), and the CLI exits 12 for both, as cosign 2.5 does for the legacy case ("no
 * matching signatures: no certificate found on signature").
 */
function noMatch(
  name: string,
  candidates: Candidate[],
  { rejected, causes }: { rejected: string[]; causes: unknown[] },
  policy: VerificationPolicy,
  what: "signatures" | "attestations",
): CosignError {
  // A --certificate given out of band stands in for the signatures' own.
  const keyless = !policy.key && !policy.certificate;
  const readable = candidates.filter((c) => c.entity !== undefined);
  const noCertificate = keyless && readable.length > 0 &&
    readable.every((c) => c.entity!.material.kind === "publicKey");
  const shown = rejected.slice(0, 3).join("; ");
  // The cause keeps each candidate's error, so callers can tell why (an identity mismatch).
  return new CosignError(
    noCertificate ? "VERIFY_NO_CERTIFICATE" : "VERIFY_NO_MATCHING_SIGNATURE",
    noCertificate
      ? `Cannot verify "${name}": its ${what} carry no certificate (verify with --key)`
      : `Cannot verify "${name}": none of ${candidates.length} ${what} verified: ${shown}`,
    { cause: new AggregateError(causes, `${causes.length} ${what} rejected`) },
  );
}

/**
 * `cosign verify`: the image's signatures that pass the policy and claim checks. Throws
 * `VERIFY_NO_SIGNATURES` when there are none at all, `VERIFY_NO_MATCHING_SIGNATURE` (or
 * `VERIFY_NO_CERTIFICATE`) when none verifies.
 */
export async function verifyImageSignatures(
  reference: ImageReference,
  options: VerifyImageOptions,
): Promise<ImageVerification> {
  const image = await resolveImage(options.client, reference);
  const name = `${formatImageReference({ ...reference, digest: image.digest })}`;
  const formats = options.formats ?? ["bundle", "legacy"];
  // One format at a time, and none after one verified (unless all are asked for): first the
  // format that last verified on this registry (bundles when none did yet), since images of
  // one registry are mostly signed one way.
  const registry = options.targetRepository?.registry ?? image.registry;
  const seen = lastVerified.get(options.client) ?? new Map<string, StorageFormat>();
  lastVerified.set(options.client, seen);
  const probes = formatProbes.get(options.client) ?? new Map<string, Promise<void>>();
  formatProbes.set(options.client, probes);
  // Concurrent verifications of a registry not seen yet wait for the first one to learn.
  let learned: (() => void) | undefined;
  if (!seen.has(registry) && !options.allSignatures && formats.length > 1) {
    const probe = probes.get(registry);
    if (probe) await probe;
    else probes.set(registry, new Promise((resolve) => learned = resolve));
  }
  try {
    return await verifyInPasses(reference, options, image, name, registry, seen, formats);
  } finally {
    if (learned) {
      probes.delete(registry);
      learned();
    }
  }
}

/** The passes of `verifyImageSignatures`, one storage format at a time. */
async function verifyInPasses(
  reference: ImageReference,
  options: VerifyImageOptions,
  image: DigestReference,
  name: string,
  registry: string,
  seen: Map<string, StorageFormat>,
  formats: readonly StorageFormat[],
): Promise<ImageVerification> {
  const check = (candidate: Candidate) => checkSignatureClaims(candidate, image, options);
  const candidates: Candidate[] = [];
  const verified: VerifiedImageSignature[] = [];
  const rejected: string[] = [];
  const causes: unknown[] = [];
  const first = seen.get(registry) ?? "bundle";
  const passes: StorageFormat[][] = options.allSignatures || formats.length < 2
    ? [[...formats]]
    : [[first], formats.filter((f) => f !== first)];
  for (const pass of passes) {
    if (verified.length > 0) break;
    const found = await collectCandidates(options.client, image, "sig", {
      ...options,
      formats: pass,
    });
    candidates.push(...found);
    const outcome = await verifyCandidates(found, image, options, check);
    verified.push(...outcome.verified);
    rejected.push(...outcome.rejected);
    causes.push(...outcome.causes);
  }
  if (verified[0]) {
    seen.delete(registry);
    seen.set(registry, verified[0].format);
    if (seen.size > MAX_REMEMBERED_REGISTRIES) seen.delete(seen.keys().next().value!);
  }
  if (candidates.length === 0) {
    throw new CosignError("VERIFY_NO_SIGNATURES", `No signatures found for "${name}"`);
  }
  if (verified.length === 0) {
    throw noMatch(name, candidates, { rejected, causes }, options.policy, "signatures");
  }
  return { reference, digest: image.digest, signatures: verified, rejected };
}

/** Options of attestation verification. */
export interface VerifyAttestationOptions extends VerifyImageOptions {
  /** Keep only statements of this predicate type (required: never vacuous). */
  readonly predicateType: string;
}

/**
 * `cosign verify-attestation`: the image's attestations of `predicateType` that pass the
 * policy. Zero attestations of that type is a failure that lists the types found.
 */
export async function verifyImageAttestations(
  reference: ImageReference,
  options: VerifyAttestationOptions,
): Promise<ImageVerification> {
  const image = await resolveImage(options.client, reference);
  const name = `${formatImageReference({ ...reference, digest: image.digest })}`;
  const all = await collectCandidates(options.client, image, "att", options);
  const types = new Set<string>();
  const candidates = all.filter((candidate) => {
    if (!candidate.envelope) return candidate.problem !== undefined;
    try {
      const type = parseStatement(candidate.envelope.payload).predicateType;
      types.add(type);
      return type === options.predicateType;
    } catch {
      return true; // malformed: verification reports why
    }
  });
  if (all.length === 0) {
    throw new CosignError("VERIFY_NO_ATTESTATIONS", `No attestations found for "${name}"`);
  }
  if (candidates.length === 0) {
    throw new CosignError(
      "VERIFY_NO_MATCHING_ATTESTATION",
      `No attestation of type "${options.predicateType}" for "${name}"; found: ${
        [...types].map((t) => `"${t}"`).join(", ") || "none readable"
      }`,
    );
  }
  const { verified, rejected, causes } = await verifyCandidates(
    candidates,
    image,
    options,
    (candidate) => {
      const statement = parseStatement(candidate.envelope!.payload);
      checkStatementClaims(statement, image, options.annotations ?? {});
    },
  );
  if (verified.length === 0) {
    throw noMatch(name, candidates, { rejected, causes }, options.policy, "attestations");
  }
  return { reference, digest: image.digest, signatures: verified, rejected };
}
