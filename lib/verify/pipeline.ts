/**
 * The one verification pipeline (cosign-spec.md sections 9.2-9.3; SECURITY.md rule 3).
 *
 * Every input (a legacy `.sig` layer, a legacy attestation layer, a Sigstore bundle of any
 * version, a blob signature) is first turned into a `SignedEntity`, then checked here in the
 * same order for all of them: RFC 3161 timestamps, transparency-log entries (bound to this
 * signature, key or certificate and artifact), the signer (a given key, or a Fulcio certificate
 * chained to the trusted root at every verified time, its SCT and its identity), and finally
 * the signature itself over the artifact or the DSSE PAE. Nothing passes vacuously: an empty
 * policy, an absent trusted time or an unmet threshold is a failure. How a certificate identity
 * matches the policy is `lib/verify/identity_policy.ts`.
 *
 * @module
 */

import { type Bytes, digest, equalBytes, type HashName, toHex } from "../util/bytes.ts";
import type { Envelope } from "../payload/dsse.ts";
import { pae } from "../payload/dsse.ts";
import { CosignError, isCosignError } from "../errors.ts";
import { checkIdentity, type IdentityMatcher } from "./identity_policy.ts";
import { parseStatement, statementMatchesDigest } from "../payload/statement.ts";
import { embeddedScts, verifyEmbeddedScts } from "../x509/sct.ts";
import {
  type PublicKey,
  verifyEd25519ph,
  verifyPrehashed,
  verifySignature,
} from "../keys/public_key.ts";
import { type TlogVerification, verifyTlogEntries } from "../tlog/verify.ts";
import type { TlogEntry } from "../tlog/entry.ts";
import { type VerifiedTimestamp, verifyTimestamp } from "../timestamp/token.ts";
import type { TrustedRoot } from "../trust/trusted_root.ts";
import { type Certificate, parseCertificate } from "../x509/certificate.ts";
import {
  type CertificateIdentity,
  certificateIdentity,
  type GithubWorkflow,
} from "../x509/identity.ts";
import { verifyFulcioChain } from "../x509/chain.ts";

/** Error codes raised by the pipeline itself (its steps raise their own too). */
export type VerifyErrorCode =
  | "VERIFY_POLICY_MISSING"
  | "VERIFY_TRUST_MISSING"
  | "VERIFY_NO_KEY"
  | "VERIFY_KEY_MISMATCH"
  | "VERIFY_NO_TRUSTED_TIME"
  | "VERIFY_TIMESTAMP_THRESHOLD"
  | "VERIFY_SCT_MISSING"
  | "VERIFY_MESSAGE_DIGEST_MISMATCH"
  | "VERIFY_SIGNATURE_INVALID"
  | "VERIFY_SUBJECT_MISMATCH";

/** The artifact a signature is about: its bytes, or only its digest (prehashed verification). */
export type Artifact =
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "digest"; readonly algorithm: HashName; readonly digest: Uint8Array };

/** What was signed. */
export type SignatureContent =
  | {
    readonly kind: "message";
    readonly signature: Bytes;
    /** The bundle's `messageDigest`: an unauthenticated hint that must match the artifact. */
    readonly messageDigest?: { readonly algorithm: HashName; readonly digest: Uint8Array };
  }
  | { readonly kind: "dsse"; readonly envelope: Envelope };

/** Who signed, as the signature's container states it (untrusted until verified). */
export type SignerMaterial =
  | { readonly kind: "publicKey"; readonly hint?: string }
  | {
    readonly kind: "certificate";
    readonly certificate: Bytes;
    /** Certificates supplied with the leaf: intermediates only, never anchors. */
    readonly chain?: readonly Bytes[];
  };

/** One signature with everything that vouches for it. */
export interface SignedEntity {
  /** What was signed: a message signature or a DSSE envelope. */
  readonly content: SignatureContent;
  /** What verifies the signature: a public key or a certificate. */
  readonly material: SignerMaterial;
  /** Transparency-log entries about this signature. */
  readonly tlogEntries: readonly TlogEntry[];
  /** RFC 3161 timestamp responses or tokens. */
  readonly timestamps: readonly Uint8Array[];
  /** Entries must carry an inclusion proof with a checkpoint (bundles v0.2 and later). */
  readonly requireInclusionProof?: boolean;
  /**
   * The legacy (pre-bundle) path: any SAN may match the identity, and a timestamp may also
   * cover the envelope JSON of an attestation layer (cosign-spec.md gotcha 21).
   */
  readonly legacy?: boolean;
  /** Legacy attestation layers: the layer bytes, which dsse entries hash as `envelopeHash`. */
  readonly envelopeBytes?: Uint8Array;
}

/** What a signature must satisfy. */
export interface VerificationPolicy {
  /** Trust material; required unless a key is given and logs and timestamps are ignored. */
  readonly trustedRoot?: TrustedRoot;
  /** Verify with this key (cosign `--key`) instead of a certificate identity. */
  readonly key?: PublicKey;
  /** Hash for key signatures (cosign `--signature-digest-algorithm`); default the key's. */
  readonly keyHash?: HashName;
  /** Keyless: at least one must match the certificate. */
  readonly identities?: readonly IdentityMatcher[];
  /** Keyless: GitHub workflow values that must equal the certificate's (only those given). */
  readonly githubWorkflow?: Partial<GithubWorkflow>;
  /** Distinct transparency logs that must vouch; 0 skips the log (`--insecure-ignore-tlog`). */
  readonly tlogThreshold?: number;
  /** Distinct CT logs whose SCTs must verify; 0 skips them (`--insecure-ignore-sct`). */
  readonly ctlogThreshold?: number;
  /** Distinct TSAs whose timestamps must verify (`--use-signed-timestamps` sets 1). */
  readonly timestampThreshold?: number;
  /** The current time (default now). */
  readonly now?: Date;
}

/** A time established for the signature, and by what. */
export interface VerifiedTime {
  /** What vouched for the time. */
  readonly source: "transparency log" | "timestamp authority" | "current time";
  /** The time. */
  readonly time: Date;
}

/** The outcome of a successful verification. */
export interface VerificationResult {
  /** The key that verified the signature. */
  readonly key: PublicKey;
  /** The signing certificate and its verified chain (keyless). */
  readonly certificate?: {
    readonly leaf: Certificate;
    readonly chain: readonly Certificate[];
    readonly identity: CertificateIdentity;
  };
  /** The transparency-log entries that verified. */
  readonly tlogEntries: readonly TlogVerification[];
  /** The RFC 3161 timestamps that verified. */
  readonly timestamps: readonly VerifiedTimestamp[];
  /** The times the certificate was checked at, and what vouched for each. */
  readonly verifiedTimes: readonly VerifiedTime[];
  /** The checks that ran, in order, for the human report. */
  readonly checks: readonly string[];
}

function fail(code: VerifyErrorCode, message: string, cause?: unknown): never {
  throw new CosignError(code, message, cause === undefined ? undefined : { cause });
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
 * Verify one signed entity against a policy (see the module doc for the order). `artifact` is
 * what a message signature covers, or for DSSE the subject the statement must name; it may be
 * omitted for DSSE when the caller checks the statement's claims itself.
 */
export async function verifySignedEntity(
  entity: SignedEntity,
  artifact: Artifact | undefined,
  policy: VerificationPolicy,
): Promise<VerificationResult> {
  const now = policy.now ?? new Date();
  const tlogThreshold = policy.tlogThreshold ?? 1;
  const timestampThreshold = policy.timestampThreshold ?? 0;
  const checks: string[] = [];
  const root = policy.trustedRoot;
  if (!policy.key && (policy.identities ?? []).length === 0) {
    fail(
      "VERIFY_POLICY_MISSING",
      "No verification policy: give a key, or a certificate identity and OIDC issuer",
    );
  }
  const needsRoot = tlogThreshold > 0 || timestampThreshold > 0 ||
    entity.material.kind === "certificate" && !policy.key;
  if (needsRoot && !root) {
    fail(
      "VERIFY_TRUST_MISSING",
      "No trusted root: pass --trusted-root (the TUF client that fetches the public-good root is not built yet)",
    );
  }

  // What the signature, the log entries and the timestamps must all be about.
  const signature = signatureOf(entity.content);
  const materialDer = entity.material.kind === "certificate"
    ? entity.material.certificate
    : policy.key?.spki;
  let leaf: Certificate | undefined;
  if (entity.material.kind === "certificate") {
    leaf = parseCertificate(entity.material.certificate);
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
  const hash = policy.keyHash ?? key.defaultHash;
  let messageDigest: { algorithm: HashName; digest: Bytes } | undefined;
  if (entity.content.kind === "message") {
    const algorithm = entity.content.messageDigest?.algorithm ??
      (artifact?.kind === "digest" ? artifact.algorithm : hash);
    const computed = artifact ? artifactDigest(artifact, algorithm) : undefined;
    if (artifact && !computed) {
      fail(
        "VERIFY_MESSAGE_DIGEST_MISMATCH",
        `The artifact digest is ${
          artifact.kind === "digest" ? artifact.algorithm : "?"
        } but the signature covers a ${algorithm} digest`,
      );
    }
    const hint = entity.content.messageDigest;
    if (hint && computed && !equalBytes(hint.digest, computed)) {
      fail(
        "VERIFY_MESSAGE_DIGEST_MISMATCH",
        `The bundle's message digest ${toHex(hint.digest)} is not the artifact's ${
          toHex(computed)
        }`,
      );
    }
    if (computed) messageDigest = { algorithm, digest: computed };
  }

  // The signature over the artifact, before the witnesses: every check must pass anyway, and
  // "it does not verify with this key" is the failure a user can act on most directly.
  const ok = await checkSignature(entity.content, signature, key, hash, artifact, messageDigest);
  if (!ok) {
    fail(
      "VERIFY_SIGNATURE_INVALID",
      policy.key
        ? "The signature does not verify with the given key"
        : "The signature does not verify with the signing certificate's key",
    );
  }

  // 1. Timestamps (section 11): each present one must verify; count distinct authorities.
  const timestamps: VerifiedTimestamp[] = [];
  if (root && (entity.timestamps.length > 0 || timestampThreshold > 0)) {
    const alternatives = entity.legacy && entity.envelopeBytes ? [entity.envelopeBytes] : [];
    for (const token of entity.timestamps) {
      timestamps.push(await verifyTimestampAny(token, [signature, ...alternatives], root));
    }
    const authorities = new Set(timestamps.map((t) => t.authority));
    if (authorities.size < timestampThreshold) {
      fail(
        "VERIFY_TIMESTAMP_THRESHOLD",
        `${authorities.size} timestamp authorit${
          authorities.size === 1 ? "y" : "ies"
        } vouched, ${timestampThreshold} required`,
      );
    }
    if (timestamps.length > 0) checks.push("The RFC 3161 timestamps were verified");
  }
  const tsaTimes = timestamps.map((t) => t.genTime);

  // 2. Transparency log (section 9.2 step 1): bound to this signature, key and artifact.
  let tlogEntries: readonly TlogVerification[] = [];
  if (tlogThreshold > 0) {
    if (entity.tlogEntries.length === 0) {
      throw new CosignError(
        "VERIFY_TLOG_MISSING",
        "The signature has no transparency log entry (sign with the log, or pass --insecure-ignore-tlog)",
      );
    }
    const verified = await verifyTlogEntries(entity.tlogEntries, root!, {
      threshold: tlogThreshold,
      requireProof: entity.requireInclusionProof ?? false,
      now,
      trustedTimes: tsaTimes,
      expected: {
        signature,
        ...(materialDer ? { publicKeyOrCertificateDer: materialDer } : {}),
        ...(messageDigest ? { artifactDigest: messageDigest } : {}),
        ...(entity.content.kind === "dsse"
          ? {
            dsseEnvelope: {
              payloadType: entity.content.envelope.payloadType,
              payload: entity.content.envelope.payload,
            },
          }
          : {}),
        ...(entity.envelopeBytes ? { envelopeHash: digest("sha256", entity.envelopeBytes) } : {}),
      },
    });
    tlogEntries = verified.entries;
    checks.push(
      verified.entries.some((e) => e.setVerified)
        ? "Existence of the claims in the transparency log was verified offline"
        : "The transparency log inclusion proof was verified offline",
    );
  }
  const logTimes = tlogEntries.flatMap((e) => e.integratedTime ? [e.integratedTime] : []);
  const verifiedTimes: VerifiedTime[] = [
    ...tsaTimes.map((time) => ({ source: "timestamp authority" as const, time })),
    ...logTimes.map((time) => ({ source: "transparency log" as const, time })),
  ];

  // 3. The signer: the given key, or a certificate chained to a trusted CA at every time.
  let certificate: VerificationResult["certificate"];
  if (leaf && !policy.key) {
    if (verifiedTimes.length === 0) {
      if (tlogThreshold > 0 || timestampThreshold > 0) {
        fail(
          "VERIFY_NO_TRUSTED_TIME",
          "No verified signing time: the log entry has no signed timestamp and no RFC 3161 timestamp verified",
        );
      }
      verifiedTimes.push({ source: "current time", time: now });
    }
    const intermediates = entity.material.kind === "certificate"
      ? (entity.material.chain ?? []).map((der) => parseCertificate(der))
      : [];
    const { chain } = await verifyFulcioChain(
      leaf,
      root!,
      verifiedTimes.map((t) => t.time),
      { intermediates },
    );
    checks.push(
      "The code-signing certificate was verified using trusted certificate authority certificates",
    );
    const ctlogThreshold = policy.ctlogThreshold ?? 1;
    if (ctlogThreshold > 0) {
      if (embeddedScts(leaf).length === 0) {
        fail("VERIFY_SCT_MISSING", "The signing certificate has no embedded SCT");
      }
      await verifyEmbeddedScts(leaf, chain[1] ?? leaf, root!.ctlogs, {
        threshold: ctlogThreshold,
      });
      checks.push("The certificate's SCT was verified against a trusted CT log");
    }
    const identity = certificateIdentity(leaf);
    checkIdentity(identity, policy, entity.legacy ?? false);
    checks.push("The certificate identity and OIDC issuer matched the policy");
    certificate = { leaf, chain, identity };
  }

  // 4. The signature itself (checked first, above; reported last, as cosign lists it).
  checks.push(
    policy.key
      ? "The signatures were verified against the specified public key"
      : "The signature was verified against the signing certificate's key",
  );
  if (entity.content.kind === "dsse" && artifact) {
    const statement = parseStatement(entity.content.envelope.payload);
    const algorithm = artifact.kind === "digest" ? artifact.algorithm : "sha256";
    const wanted = artifactDigest(artifact, algorithm)!;
    if (!statementMatchesDigest(statement, algorithm, toHex(wanted))) {
      fail(
        "VERIFY_SUBJECT_MISMATCH",
        `No subject of the attestation has the artifact's ${algorithm} digest ${toHex(wanted)}`,
      );
    }
  }
  return {
    key,
    ...(certificate ? { certificate } : {}),
    tlogEntries,
    timestamps,
    verifiedTimes,
    checks,
  };
}

async function verifyTimestampAny(
  token: Uint8Array,
  messages: readonly Uint8Array[],
  root: TrustedRoot,
): Promise<VerifiedTimestamp> {
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
      (key.kind === "ed25519" && verifyEd25519ph(key, signed, signature));
  }
  if (!artifact) throw new TypeError("A message signature needs the artifact to verify");
  if (artifact.kind === "bytes") {
    return await verifySignature(key, artifact.bytes, signature, { hash }) ||
      (key.kind === "ed25519" && verifyEd25519ph(key, artifact.bytes, signature));
  }
  if (!messageDigest) return false;
  return verifyPrehashed(key, messageDigest.digest, signature, messageDigest.algorithm);
}
