/**
 * A blob signature's inputs as the user gave them, turned into the one `SignedEntity` the
 * pipeline takes (cosign-spec.md sections 6.2, 6.3 and 11): a Sigstore bundle of any version, a
 * legacy `sign-blob --bundle` file, or a detached signature (or DSSE envelope) with a certificate
 * and a legacy timestamp file. Re-exported by lib/verify/blob.ts.
 *
 * @module
 */

import { type Bytes, equalBytes, fromBase64, fromUtf8 } from "../util/bytes.ts";
import { decodePemBlocks } from "../util/pem.ts";
import { isSigstoreBundle, parseBundle } from "../bundle/model.ts";
import { type Envelope, envelopeBytes, parseEnvelope } from "../payload/dsse.ts";
import { CosignError, errorMessage } from "../errors.ts";
import {
  classifyLegacyVerifier,
  parseLegacyBlobBundle,
  parseRfc3161Annotation,
} from "../bundle/legacy.ts";
import type { PublicKey } from "../keys/public_key.ts";
import type { SignedEntity, VerificationPolicy } from "./entity.ts";
import { bundleToEntity } from "./bundle.ts";

/** Error codes raised here (the parsers raise their own). */
export type BlobEntityErrorCode = "VERIFY_KEY_MISMATCH" | "VERIFY_CERTIFICATE_MISMATCH";

/** The signature of a blob as the user gave it. */
export interface BlobSignatureInput {
  /** `--bundle`: a Sigstore bundle (any version) or a legacy blob bundle file. */
  readonly bundle?: Uint8Array;
  /** `--signature`: the file's bytes or the flag's text (base64, or raw; attestations: JSON). */
  readonly signature?: Uint8Array;
  /** `--certificate`: PEM, base64 of PEM, or DER. */
  readonly certificate?: Uint8Array;
  /** `--certificate-chain`: PEM intermediates (anchors come only from the trusted root). */
  readonly certificateChain?: Uint8Array;
  /** `--rfc3161-timestamp`: `{"SignedRFC3161Timestamp":"<b64>"}`. */
  readonly rfc3161Timestamp?: Uint8Array;
  /** `--new-bundle-format=false` refuses Sigstore bundles (default true: either is read). */
  readonly newBundleFormat?: boolean;
  /** Accept a certificate chain in a v0.3 bundle (`--allow-certificate-chain`). */
  readonly allowCertificateChain?: boolean;
}

/** What the signature is: a blob signature, or a DSSE attestation about the blob. */
export type BlobSignatureKind = "signature" | "attestation";

function usage(message: string): RangeError {
  return new RangeError(message);
}

/** Text that is standard base64 (cosign's `isb64`), decoded; else undefined. */
function decodeIfBase64(bytes: Uint8Array): Bytes | undefined {
  let text: string;
  try {
    text = fromUtf8(bytes).trim();
  } catch {
    return undefined;
  }
  if (text === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
    return undefined;
  }
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}

/** The DER certificates of a `--certificate` value: PEM, base64 of PEM, or DER. */
function readCertificates(bytes: Uint8Array): Bytes[] {
  const verifier = classifyLegacyVerifier(decodeIfBase64(bytes) ?? bytes);
  if (verifier.kind !== "certificate") {
    throw new CosignError(
      "BUNDLE_MALFORMED",
      "--certificate holds a public key, not a certificate",
    );
  }
  return [...verifier.certificates];
}

/** Most certificates a `--certificate-chain` file may hold (SECURITY.md rule 4). */
const MAX_CHAIN_CERTIFICATES = 10;

function readChain(bytes: Uint8Array): Bytes[] {
  let blocks;
  try {
    blocks = decodePemBlocks(fromUtf8(bytes));
  } catch (error) {
    throw new CosignError(
      "BUNDLE_MALFORMED",
      `Invalid --certificate-chain: ${errorMessage(error)}`,
      {
        cause: error,
      },
    );
  }
  const certificates = blocks.filter((b) => b.type === "CERTIFICATE");
  if (certificates.length === 0 || certificates.length > MAX_CHAIN_CERTIFICATES) {
    throw new CosignError(
      "BUNDLE_MALFORMED",
      `--certificate-chain holds ${certificates.length} certificates: expected 1 to ${MAX_CHAIN_CERTIFICATES}`,
    );
  }
  return certificates.map((b) => b.bytes);
}

/**
 * A DSSE envelope given as JSON, or as base64 of the JSON. Surrounding white space goes: the
 * log hashes the envelope text as it was uploaded, without the newline a file or a terminal
 * adds (`attest-blob` prints the envelope as a line).
 */
function readEnvelope(bytes: Uint8Array): Envelope {
  let text: string;
  try {
    text = fromUtf8(bytes).trim();
  } catch (error) {
    throw new CosignError("PAYLOAD_MALFORMED", "The DSSE envelope is not UTF-8 JSON text", {
      cause: error,
    });
  }
  return parseEnvelope(text.startsWith("{") ? text : decodeIfBase64(bytes) ?? bytes);
}

/**
 * The `SignedEntity` a blob's signature inputs describe. A Sigstore bundle stands alone (a
 * detached signature, certificate or timestamp beside it is refused, as cosign refuses them); a
 * legacy bundle or a detached signature may take a `--certificate` (which must equal the one in
 * the bundle) and a timestamp file. A public key in a legacy bundle must be the policy's key:
 * a key is never trusted because a bundle names it.
 */
export function blobSignatureEntity(
  input: BlobSignatureInput,
  kind: BlobSignatureKind,
  policy: Pick<VerificationPolicy, "key"> = {},
): SignedEntity {
  if (input.bundle !== undefined && isSigstoreBundle(input.bundle)) {
    if (input.newBundleFormat === false) {
      throw usage("The bundle is a Sigstore bundle: verify it with --new-bundle-format");
    }
    for (
      const [flag, value] of [
        ["--signature", input.signature],
        ["--certificate", input.certificate],
        ["--certificate-chain", input.certificateChain],
        ["--rfc3161-timestamp", input.rfc3161Timestamp],
      ] as const
    ) {
      if (value !== undefined) {
        throw usage(`${flag} cannot be combined with a Sigstore bundle, which carries its own`);
      }
    }
    return bundleToEntity(
      parseBundle(input.bundle, { allowCertificateChain: input.allowCertificateChain ?? false }),
    );
  }
  const legacy = input.bundle === undefined ? undefined : parseLegacyBlobBundle(input.bundle);
  if (legacy && input.signature !== undefined) {
    throw usage("--signature cannot be combined with --bundle, which carries the signature");
  }
  const signatureBytes = legacy?.signature ??
    (kind === "attestation" || input.signature === undefined
      ? input.signature
      : decodeIfBase64(input.signature) ?? Uint8Array.from(input.signature) as Bytes);
  if (signatureBytes === undefined) {
    throw usage("Give the signature: --bundle, or --signature");
  }
  const given = input.certificate ? readCertificates(input.certificate) : undefined;
  const chain = input.certificateChain ? readChain(input.certificateChain) : [];
  let certificates = given;
  if (legacy?.cert) {
    const verifier = classifyLegacyVerifier(legacy.cert);
    if (verifier.kind === "publicKey") {
      checkBundleKey(verifier.key, policy.key);
    } else {
      if (given && !equalBytes(given[0]!, verifier.certificates[0]!)) {
        throw new CosignError(
          "VERIFY_CERTIFICATE_MISMATCH",
          "The --certificate is not the certificate in the bundle",
        );
      }
      certificates = [...verifier.certificates];
    }
  }
  const envelope = kind === "attestation" ? readEnvelope(signatureBytes) : undefined;
  return {
    content: envelope
      ? { kind: "dsse", envelope }
      : { kind: "message", signature: signatureBytes as Bytes },
    material: certificates
      ? {
        kind: "certificate",
        certificate: certificates[0]!,
        chain: [...certificates.slice(1), ...chain],
      }
      : { kind: "publicKey" },
    tlogEntries: legacy?.rekorBundle ? [legacy.rekorBundle] : [],
    timestamps: input.rfc3161Timestamp ? [parseRfc3161Annotation(input.rfc3161Timestamp)] : [],
    legacy: true,
    ...(envelope ? { envelopeBytes: envelopeBytes(envelope) } : {}),
  };
}

function checkBundleKey(bundled: PublicKey, key: PublicKey | undefined): void {
  if (!key) {
    throw new CosignError(
      "VERIFY_KEY_MISMATCH",
      "The bundle was signed with a key: verify it with --key (a key named by the bundle is not trusted)",
    );
  }
  if (!bundled.equals(key)) {
    throw new CosignError("VERIFY_KEY_MISMATCH", "The bundle's public key is not the given --key");
  }
}
