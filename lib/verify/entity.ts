/**
 * The verification model: what the pipeline verifies (a `SignedEntity` about an `Artifact`),
 * what it must satisfy (`VerificationPolicy`) and what a success establishes
 * (`VerificationResult`). Every input form (legacy layers, bundles of any version, blob
 * signatures) is turned into these types before `lib/verify/pipeline.ts` sees it.
 *
 * @module
 */

import type { Bytes, HashName } from "../util/bytes.ts";
import type { Envelope } from "../payload/dsse.ts";
import type { PublicKey } from "../keys/public_key.ts";
import type { TlogVerification } from "../tlog/verify.ts";
import type { TlogEntry } from "../tlog/entry.ts";
import type { VerifiedTimestamp } from "../timestamp/token.ts";
import type { TrustedRoot } from "../trust/trusted_root.ts";
import type { Certificate } from "../x509/certificate.ts";
import type { CertificateIdentity, GithubWorkflow } from "../x509/identity.ts";

/** One acceptable certificate identity: exact strings or whole-value regular expressions. */
export interface IdentityMatcher {
  /** The exact SAN the certificate must carry. */
  readonly subject?: string;
  /** Matched against the whole SAN (anchored), never a substring. */
  readonly subjectRegExp?: string;
  /** The exact OIDC issuer the certificate must name. */
  readonly issuer?: string;
  /** Matched against the whole issuer (anchored), never a substring. */
  readonly issuerRegExp?: string;
}

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
  /**
   * A CA of your own instead of the trusted root's certificate authorities (cosign's non-Fulcio
   * PKI flags `--ca-roots`/`--ca-intermediates`, `--certificate-chain`): signing certificates
   * must chain to one of `roots` (the only anchors), through `intermediates` or those the
   * signature carries, be valid at every verified signing time and carry EKU codeSigning.
   */
  readonly certificateAuthority?: {
    readonly roots: readonly Certificate[];
    readonly intermediates: readonly Certificate[];
  };
  /**
   * The signing certificate given out of band (cosign `verify --certificate`): the signature
   * must verify with its key, and a certificate the signature carries must be this one. Its
   * chain, validity and identity are checked as a carried certificate's would be.
   */
  readonly certificate?: Certificate;
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
