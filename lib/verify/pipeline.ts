/**
 * The one verification pipeline (cosign-spec.md sections 9.2-9.3; SECURITY.md rule 3).
 *
 * Every input (a legacy `.sig` layer, a legacy attestation layer, a Sigstore bundle of any
 * version, a blob signature) is first turned into a `SignedEntity` (`lib/verify/entity.ts`),
 * then `verifySignedEntity` runs the same steps for all of them, in this order:
 *
 * 1. `requirePolicy`: a key or an identity, and trust material when anything needs it;
 * 2. `signerOf`: the key to verify with (the given key, or the certificate's, which must match);
 * 3. `withOnlineEntries` (only with a log client): complete the log evidence online;
 * 4. `bindArtifact`: the signature bytes and the artifact digest everything must be about;
 * 5. `verifySignatureBytes`: the signature over the artifact or the DSSE PAE;
 * 6. `verifyTimestamps`: RFC 3161 timestamps, counted per authority;
 * 7. `verifyTransparencyLog`: log entries bound to this signature, key and artifact;
 * 8. `verifyCertificate`: the chain at every verified time (to the trusted root's CAs, or to the
 *    policy's own `certificateAuthority`), its SCT and its identity;
 * 9. `verifySubject`: a DSSE statement names the artifact's digest.
 *
 * Nothing passes vacuously: an empty policy, an absent trusted time or an unmet threshold is a
 * failure. How a certificate identity matches the policy is `lib/verify/identity_policy.ts`.
 *
 * @module
 */

import { type Bytes, digest, equalBytes, type HashName, toHex } from "../util/bytes.ts";
import { pae } from "../payload/dsse.ts";
import { CosignError, isCosignError } from "../errors.ts";
import { checkIdentity } from "./identity_policy.ts";
import type {
  Artifact,
  SignatureContent,
  SignedEntity,
  VerificationPolicy,
  VerificationResult,
  VerifiedTime,
} from "./entity.ts";
import { findSubject, parseStatement } from "../payload/statement.ts";
import { embeddedScts, verifyEmbeddedScts } from "../x509/sct.ts";
import {
  type PublicKey,
  verifyEd25519ph,
  verifyPrehashed,
  verifySignature,
} from "../keys/public_key.ts";
import type { RekorClient } from "../tlog/rekor/client.ts";
import { type TlogVerification, verifyTlogEntries } from "../tlog/verify.ts";
import type { VerifiedTimestamp } from "../timestamp/token.ts";
import type { TrustedRoot } from "../trust/trusted_root.ts";
import { type Certificate, parseCertificate } from "../x509/certificate.ts";
import { certificateIdentity } from "../x509/identity.ts";
import { verifyCertificateChain, verifyFulcioChain } from "../x509/chain.ts";

/** Error codes raised by the pipeline itself (its steps raise their own too). */
export type VerifyErrorCode =
  | "VERIFY_POLICY_MISSING"
  | "VERIFY_TRUST_MISSING"
  | "VERIFY_NO_KEY"
  | "VERIFY_KEY_MISMATCH"
  | "VERIFY_CERTIFICATE_MISMATCH"
  | "VERIFY_NO_TRUSTED_TIME"
  | "VERIFY_TIMESTAMP_THRESHOLD"
  | "VERIFY_TLOG_MISSING"
  | "VERIFY_SCT_MISSING"
  | "VERIFY_MESSAGE_DIGEST_MISMATCH"
  | "VERIFY_SIGNATURE_INVALID"
  | "VERIFY_SUBJECT_MISMATCH";

/** How `verifySignedEntity` may reach beyond the entity. */
export interface VerifyEntityOptions {
  /**
   * Complete the log evidence online first (`--rekor-url` with a check that needs it):
   * inclusion proofs for SET-only entries, or the entries of a signature stored without one.
   * What the log answers is verified like any other entry.
   */
  readonly log?: RekorClient;
}

function fail(code: VerifyErrorCode, message: string, cause?: unknown): never {
  throw new CosignError(code, message, cause === undefined ? undefined : { cause });
}

/** Who signed: the key to verify with, and the certificate when there is one. */
interface Signer {
  readonly key: PublicKey;
  readonly hash: HashName;
  readonly leaf?: Certificate;
  /** The DER a log entry must name as the verifier (the certificate, or the given key). */
  readonly materialDer?: Bytes;
}

/** The bytes every witness must be about. */
interface Binding {
  readonly signature: Bytes;
  readonly messageDigest?: { readonly algorithm: HashName; readonly digest: Bytes };
}

/**
 * Verify one signed entity against a policy (see the module doc for the steps). `artifact` is
 * what a message signature covers, or for DSSE the subject the statement must name; it may be
 * omitted for DSSE when the caller checks the statement's claims itself.
 */
export async function verifySignedEntity(
  given: SignedEntity,
  artifact: Artifact | undefined,
  policy: VerificationPolicy,
  options: VerifyEntityOptions = {},
): Promise<VerificationResult> {
  requirePolicy(given, policy);
  const signer = signerOf(given, policy);
  const entity = options.log
    ? await (await import("./online_log.ts")).withOnlineEntries(
      given,
      artifact,
      policy,
      options.log,
    )
    : given;
  const binding = bindArtifact(entity.content, artifact, signer);
  // The signature before the witnesses: every check must pass anyway, and "it does not verify
  // with this key" is the failure a user can act on most directly.
  await verifySignatureBytes(entity.content, binding, signer, artifact, policy);
  const checks: string[] = [];
  const timestamps = await verifyTimestamps(entity, binding, policy, checks);
  const tlogEntries = await verifyTransparencyLog(entity, binding, signer, policy, {
    trustedTimes: timestamps.map((t) => t.genTime),
    checks,
  });
  const verifiedTimes: VerifiedTime[] = [
    ...timestamps.map((t) => ({ source: "timestamp authority" as const, time: t.genTime })),
    ...tlogEntries.flatMap((e) =>
      e.integratedTime ? [{ source: "transparency log" as const, time: e.integratedTime }] : []
    ),
  ];
  const certificate = await verifyCertificate(entity, signer, policy, verifiedTimes, checks);
  checks.push(
    policy.key
      ? "The signatures were verified against the specified public key"
      : "The signature was verified against the signing certificate's key",
  );
  verifySubject(entity.content, artifact);
  return {
    key: signer.key,
    ...(certificate ? { certificate } : {}),
    tlogEntries,
    timestamps,
    verifiedTimes,
    checks,
  };
}

/** A key or an identity to verify against, and trust material when a step needs it. */
function requirePolicy(entity: SignedEntity, policy: VerificationPolicy): void {
  if (!policy.key && (policy.identities ?? []).length === 0) {
    fail(
      "VERIFY_POLICY_MISSING",
      "No verification policy: give a key, or a certificate identity and OIDC issuer",
    );
  }
  const certificate = !policy.key &&
    (entity.material.kind === "certificate" || policy.certificate !== undefined);
  const sctNeedsRoot = certificate && (policy.ctlogThreshold ?? 1) > 0;
  const needsRoot = (policy.tlogThreshold ?? 1) > 0 || (policy.timestampThreshold ?? 0) > 0 ||
    (certificate && (!policy.certificateAuthority || sctNeedsRoot));
  if (needsRoot && !policy.trustedRoot) {
    fail(
      "VERIFY_TRUST_MISSING",
      policy.certificateAuthority && sctNeedsRoot
        ? "No trusted root for the certificate's SCT: pass --trusted-root with the CT log, or --insecure-ignore-sct (certificates of a private CA rarely have one)"
        : "No trusted root: give the policy a trusted root (the CLI reads --trusted-root, SIGSTORE_ROOT_FILE and the like, or fetches one through TUF)",
    );
  }
}

/**
 * The verifying key: the given key, or the certificate's (given out of band, or the one the
 * signature carries), which must then be the same key.
 */
function signerOf(entity: SignedEntity, policy: VerificationPolicy): Signer {
  let leaf: Certificate | undefined;
  const carried = entity.material.kind === "certificate"
    ? parseCertificate(entity.material.certificate)
    : undefined;
  if (policy.certificate && !policy.key) {
    if (carried && !equalBytes(carried.raw, policy.certificate.raw)) {
      fail(
        "VERIFY_CERTIFICATE_MISMATCH",
        "The signature carries another certificate than the given --certificate",
      );
    }
    leaf = policy.certificate;
  } else if (carried) {
    leaf = carried;
  } else if (!policy.key) {
    fail(
      "VERIFY_NO_KEY",
      "The signature was made with a key, not a certificate: verify it with --key",
    );
  }
  const key = policy.key ?? leaf!.publicKey;
  if (policy.key && leaf && !leaf.publicKey.equals(policy.key)) {
    fail("VERIFY_KEY_MISMATCH", "The signing certificate's key is not the given --key");
  }
  const materialDer = entity.material.kind === "certificate"
    ? entity.material.certificate
    : leaf?.raw ?? policy.key?.spki;
  return {
    key,
    hash: policy.keyHash ?? key.defaultHash,
    ...(leaf ? { leaf } : {}),
    ...(materialDer ? { materialDer } : {}),
  };
}

function signatureOf(content: SignatureContent): Bytes {
  if (content.kind === "message") return content.signature;
  const signatures = content.envelope.signatures;
  if (signatures.length !== 1) {
    fail(
      "VERIFY_SIGNATURE_INVALID",
      `DSSE envelope has ${signatures.length} signatures; exactly one is required`,
    );
  }
  return signatures[0]!.sig;
}

function artifactDigest(artifact: Artifact, algorithm: HashName): Bytes | undefined {
  if (artifact.kind === "bytes") return digest(algorithm, artifact.bytes);
  return artifact.algorithm === algorithm ? Uint8Array.from(artifact.digest) as Bytes : undefined;
}

/**
 * The signature bytes, and for a message signature the artifact digest it covers, checked
 * against the bundle's `messageDigest` hint (which is never trusted on its own). The hash is
 * the signer's (the key's, or `--signature-digest-algorithm`), never the bundle's: a bundle
 * naming another hash than the key signs with is refused, or it could make a P-256 signature
 * over a SHA-512 digest verify. Only Ed25519, whose signature does not depend on it, takes the
 * hint's algorithm for the comparison.
 */
function bindArtifact(
  content: SignatureContent,
  artifact: Artifact | undefined,
  signer: Signer,
): Binding {
  const signature = signatureOf(content);
  if (content.kind !== "message") return { signature };
  const hint = content.messageDigest;
  const algorithm = signer.key.kind !== "ed25519"
    ? signer.hash
    : hint?.algorithm ?? (artifact?.kind === "digest" ? artifact.algorithm : signer.hash);
  if (hint && hint.algorithm !== algorithm) {
    fail(
      "VERIFY_MESSAGE_DIGEST_MISMATCH",
      `The bundle's message digest is ${hint.algorithm}, but the key signs ${algorithm} digests`,
    );
  }
  const computed = artifact ? artifactDigest(artifact, algorithm) : undefined;
  if (artifact && !computed) {
    fail(
      "VERIFY_MESSAGE_DIGEST_MISMATCH",
      `The artifact digest is ${
        artifact.kind === "digest" ? artifact.algorithm : "?"
      } but the signature covers a ${algorithm} digest`,
    );
  }
  if (hint && computed && !equalBytes(hint.digest, computed)) {
    fail(
      "VERIFY_MESSAGE_DIGEST_MISMATCH",
      `The bundle's message digest ${toHex(hint.digest)} is not the artifact's ${toHex(computed)}`,
    );
  }
  return computed ? { signature, messageDigest: { algorithm, digest: computed } } : { signature };
}

/** The signature over the artifact (or the DSSE PAE) with the signer's key. */
async function verifySignatureBytes(
  content: SignatureContent,
  binding: Binding,
  signer: Signer,
  artifact: Artifact | undefined,
  policy: VerificationPolicy,
): Promise<void> {
  const ok = await checkSignature(
    content,
    binding.signature,
    signer.key,
    signer.hash,
    artifact,
    binding.messageDigest,
  );
  if (!ok) {
    fail(
      "VERIFY_SIGNATURE_INVALID",
      policy.key
        ? "The signature does not verify with the given key"
        : "The signature does not verify with the signing certificate's key",
    );
  }
}

/** RFC 3161 timestamps (section 11): each present one must verify; count distinct TSAs. */
async function verifyTimestamps(
  entity: SignedEntity,
  binding: Binding,
  policy: VerificationPolicy,
  checks: string[],
): Promise<VerifiedTimestamp[]> {
  const root = policy.trustedRoot;
  const threshold = policy.timestampThreshold ?? 0;
  if (!root || (entity.timestamps.length === 0 && threshold === 0)) return [];
  const alternatives = entity.legacy && entity.envelopeBytes ? [entity.envelopeBytes] : [];
  const timestamps: VerifiedTimestamp[] = [];
  for (const token of entity.timestamps) {
    timestamps.push(await verifyTimestampAny(token, [binding.signature, ...alternatives], root));
  }
  const authorities = new Set(timestamps.map((t) => t.authority));
  if (authorities.size < threshold) {
    fail(
      "VERIFY_TIMESTAMP_THRESHOLD",
      `${authorities.size} timestamp authorit${
        authorities.size === 1 ? "y" : "ies"
      } vouched, ${threshold} required`,
    );
  }
  if (timestamps.length > 0) checks.push("The RFC 3161 timestamps were verified");
  return timestamps;
}

/** Log entries (section 9.2 step 1), each bound to this signature, key and artifact. */
async function verifyTransparencyLog(
  entity: SignedEntity,
  binding: Binding,
  signer: Signer,
  policy: VerificationPolicy,
  context: { readonly trustedTimes: readonly Date[]; readonly checks: string[] },
): Promise<readonly TlogVerification[]> {
  const threshold = policy.tlogThreshold ?? 1;
  if (threshold === 0) return [];
  if (entity.tlogEntries.length === 0) {
    fail(
      "VERIFY_TLOG_MISSING",
      "The signature has no transparency log entry (sign with the log, or pass --insecure-ignore-tlog)",
    );
  }
  const content = entity.content;
  const verified = await verifyTlogEntries(entity.tlogEntries, policy.trustedRoot!, {
    threshold,
    requireProof: entity.requireInclusionProof ?? false,
    now: policy.now ?? new Date(),
    trustedTimes: context.trustedTimes,
    expected: {
      signature: binding.signature,
      ...(signer.materialDer ? { publicKeyOrCertificateDer: signer.materialDer } : {}),
      ...(binding.messageDigest ? { artifactDigest: binding.messageDigest } : {}),
      ...(content.kind === "dsse"
        ? {
          dsseEnvelope: {
            payloadType: content.envelope.payloadType,
            payload: content.envelope.payload,
          },
        }
        : {}),
      ...(entity.envelopeBytes ? { envelopeHash: digest("sha256", entity.envelopeBytes) } : {}),
    },
  });
  context.checks.push(
    verified.entries.some((e) => e.setVerified)
      ? "Existence of the claims in the transparency log was verified offline"
      : "The transparency log inclusion proof was verified offline",
  );
  return verified.entries;
}

/**
 * Keyless: the certificate chained to a trusted CA at every verified time (the current time
 * only when no witness was asked for), its SCTs, and its identity against the policy.
 */
async function verifyCertificate(
  entity: SignedEntity,
  signer: Signer,
  policy: VerificationPolicy,
  verifiedTimes: VerifiedTime[],
  checks: string[],
): Promise<VerificationResult["certificate"]> {
  const leaf = signer.leaf;
  if (!leaf || policy.key) return undefined;
  const root = policy.trustedRoot;
  if (verifiedTimes.length === 0) {
    if ((policy.tlogThreshold ?? 1) > 0 || (policy.timestampThreshold ?? 0) > 0) {
      fail(
        "VERIFY_NO_TRUSTED_TIME",
        "No verified signing time: the log entry has no signed timestamp and no RFC 3161 timestamp verified",
      );
    }
    verifiedTimes.push({ source: "current time", time: policy.now ?? new Date() });
  }
  const intermediates = entity.material.kind === "certificate"
    ? (entity.material.chain ?? []).map((der) => parseCertificate(der))
    : [];
  const times = verifiedTimes.map((t) => t.time);
  const authority = policy.certificateAuthority;
  // A private CA replaces the trusted root's CAs: its roots are the only anchors, and what the
  // signature carries may only supply intermediates (SECURITY.md rule 7).
  const chain = authority
    ? await verifyCertificateChain(leaf, {
      roots: authority.roots,
      intermediates: [...authority.intermediates, ...intermediates],
      times,
      requireCodeSigning: true,
    })
    : (await verifyFulcioChain(leaf, root!, times, { intermediates })).chain;
  checks.push(
    authority
      ? "The code-signing certificate was verified against the given CA roots"
      : "The code-signing certificate was verified using trusted certificate authority certificates",
  );
  const ctlogThreshold = policy.ctlogThreshold ?? 1;
  if (ctlogThreshold > 0) {
    if (!leaf.sctList || embeddedScts(leaf).length === 0) {
      fail("VERIFY_SCT_MISSING", "The signing certificate has no embedded SCT");
    }
    await verifyEmbeddedScts(leaf, chain[1] ?? leaf, root!.ctlogs, { threshold: ctlogThreshold });
    checks.push("The certificate's SCT was verified against a trusted CT log");
  }
  const identity = certificateIdentity(leaf);
  checkIdentity(identity, policy, entity.legacy ?? false);
  checks.push("The certificate identity and OIDC issuer matched the policy");
  return { leaf, chain, identity };
}

/** A DSSE statement about an artifact must name the artifact's digest in a subject. */
function verifySubject(content: SignatureContent, artifact: Artifact | undefined): void {
  if (content.kind !== "dsse" || !artifact) return;
  const statement = parseStatement(content.envelope.payload);
  const algorithm = artifact.kind === "digest" ? artifact.algorithm : "sha256";
  const wanted = artifactDigest(artifact, algorithm)!;
  if (!findSubject(statement, algorithm, toHex(wanted))) {
    fail(
      "VERIFY_SUBJECT_MISMATCH",
      `No subject of the attestation has the artifact's ${algorithm} digest ${toHex(wanted)}`,
    );
  }
}

async function verifyTimestampAny(
  token: Uint8Array,
  messages: readonly Uint8Array[],
  root: TrustedRoot,
): Promise<VerifiedTimestamp> {
  // RFC 3161 code loads only for an entity that carries a timestamp.
  const { verifyTimestamp } = await import("../timestamp/token.ts");
  let firstError: unknown;
  for (const message of messages) {
    try {
      return await verifyTimestamp(token, message, root);
    } catch (error) {
      if (!isCosignError(error)) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

async function checkSignature(
  content: SignatureContent,
  signature: Bytes,
  key: PublicKey,
  hash: HashName,
  artifact: Artifact | undefined,
  messageDigest: { algorithm: HashName; digest: Bytes } | undefined,
): Promise<boolean> {
  if (content.kind === "dsse") {
    const signed = pae(content.envelope.payloadType, content.envelope.payload);
    return await verifySignature(key, signed, signature, { hash }) ||
      (key.kind === "ed25519" && await verifyEd25519ph(key, signed, signature));
  }
  if (!artifact) throw new TypeError("A message signature needs the artifact to verify");
  if (artifact.kind === "bytes") {
    return await verifySignature(key, artifact.bytes, signature, { hash }) ||
      (key.kind === "ed25519" && await verifyEd25519ph(key, artifact.bytes, signature));
  }
  if (!messageDigest) return false;
  return await verifyPrehashed(key, messageDigest.digest, signature, messageDigest.algorithm);
}
