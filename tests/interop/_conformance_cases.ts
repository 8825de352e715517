/**
 * The sigstore-conformance bundle-verify cases as the suite drives them (CASES.md beside the
 * corpus): each case's bundle, artifact, identity or key, and trusted root (its own, else the
 * production one), the reason every `_fail` case must fail with, and the entrypoint argv.
 *
 * @module
 */

import { sha256, toHex } from "../../lib/util/bytes.ts";
import type { ErrorCode } from "../../lib/errors.ts";
import { interopPath } from "../_support.ts";

export const CASES_DIR = "conformance/test/assets/bundle-verify";
export const PRODUCTION_ROOT = "conformance/extra/production-trusted_root.json";
const DEFAULT_IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";

/**
 * Every `_fail` case and the code it must fail with; the comment is its README's reason (or
 * CASES.md's where upstream has none), then why that code is that reason where it is not plain.
 */
export const EXPECTED_FAILURES: Readonly<Record<string, ErrorCode>> = {
  // Bundle contains empty certificate chain.
  "bundle-empty-certificate-chain_fail": "BUNDLE_MALFORMED",
  // A staging bundle against the production root: its Rekor log is not trusted (checked first).
  "bundle-from-wrong-instance_fail": "REKOR_UNKNOWN_LOG",
  // Bundle signature contains invalid base64 encoding.
  "bundle-invalid-base64-signature_fail": "BUNDLE_MALFORMED",
  // Truncated JSON: a parse error, not a crash.
  "bundle-malformed-json_fail": "BUNDLE_MALFORMED",
  // Bundle tlog entry has negative log index.
  "bundle-negative-log-index_fail": "BUNDLE_MALFORMED",
  // Bundle has unknown/unsupported version.
  "bundle-unknown-version_fail": "BUNDLE_UNSUPPORTED",
  // Certificate chain contains a root certificate. The v0.1 inclusion proof also lacks its
  // (required) checkpoint, and that structural fault is what the parser meets first; a root
  // shipped in the chain is not itself refused (see pki_interop_test.ts).
  "bundle-with-root-cert_fail": "BUNDLE_MALFORMED",
  // Checkpoint signature does not match the transparency log providing the entry.
  "checkpoint-bad-keyhint_fail": "REKOR_CHECKPOINT_INVALID",
  // The checkpoint is self consistent but does not apply to this bundle.
  "checkpoint-wrong-roothash_fail": "REKOR_PROOF_INVALID",
  // The signature in the DSSE envelope is incorrect: it does not verify (checked before the log).
  "dsse-invalid-sig_fail": "VERIFY_SIGNATURE_INVALID",
  // DSSE envelope does not match the entry.
  "dsse-mismatch-envelope_fail": "REKOR_BODY_MISMATCH",
  // A second valid signature over the same payload, not the logged one.
  "dsse-mismatch-sig_fail": "REKOR_BODY_MISMATCH",
  // Bit flip in one inclusion proof hash: the Merkle proof is invalid.
  "inclusion-proof-corrupted-hash_fail": "REKOR_PROOF_INVALID",
  // The public key in the hashedrekord entry was modified: the SET no longer verifies.
  "incorrect-public-key_fail": "REKOR_SET_INVALID",
  // Integrated time not within the signing certificate's validity: no chain at that time.
  "integrated-time-in-future_fail": "X509_NO_TRUSTED_CA",
  // Certificate issued outside the CA's validity window in the trusted root.
  "intoto-expired-certificate_fail": "X509_NO_TRUSTED_CA",
  // Log entry does not match the signed artifact: its intoto 0.0.2 signature is the raw bytes of
  // another signature, not the doubly encoded signature of this envelope, so the body is refused.
  "intoto-log-entry-mismatch_fail": "REKOR_BODY_MALFORMED",
  // A v0.2 bundle whose log entry has no inclusion proof is invalid.
  "intoto-missing-inclusion-proof_fail": "BUNDLE_MALFORMED",
  // SET integrated time outside the signing certificate's validity.
  "intoto-set-outside-signing-cert-validity_fail": "X509_NO_TRUSTED_CA",
  // TSA timestamp outside the signing certificate's validity.
  "intoto-tsa-timestamp-outside-cert-validity_fail": "X509_NO_TRUSTED_CA",
  // Rekor checkpoint signature is invalid.
  "invalid-checkpoint-signature_fail": "REKOR_CHECKPOINT_INVALID",
  // (no upstream README) the trusted root's CT logs do not match the SCT.
  "invalid-ct-key_fail": "X509_SCT_UNVERIFIED",
  // The inclusion proof is old and not valid for this entry: it has no checkpoint to bind it.
  "invalid-inclusion-proof_fail": "BUNDLE_MALFORMED",
  // Bundle is signed with a key but no key is provided.
  "managed-key-no-key_fail": "VERIFY_NO_KEY",
  // Wrong key: its last bytes are overwritten ("...wrongkey=="), so it is no point of P-256 and
  // is refused as it is read, before any signature is tried (weak or malformed keys never enter).
  "managed-key-wrong-key_fail": "KEY_MALFORMED",
  // messageDigest does not match the artifact hash.
  "message-digest-mismatch_fail": "VERIFY_MESSAGE_DIGEST_MISMATCH",
  // Checkpoint with the log signature removed: a parse failure.
  "rekor2-checkpoint-missing-log-signature_fail": "REKOR_CHECKPOINT_MALFORMED",
  // Checkpoint with the origin line removed: a parse failure.
  "rekor2-checkpoint-missing-origin_fail": "REKOR_CHECKPOINT_MALFORMED",
  // Checkpoint with the root hash removed: a parse failure.
  "rekor2-checkpoint-missing-root-hash_fail": "REKOR_CHECKPOINT_MALFORMED",
  // Checkpoint with the size removed: a parse failure.
  "rekor2-checkpoint-missing-size_fail": "REKOR_CHECKPOINT_MALFORMED",
  // The checkpoint signature's identity does not match the log host.
  "rekor2-checkpoint-no-matching-signature_fail": "REKOR_CHECKPOINT_INVALID",
  // Envelope signature made by an unrelated key: it does not verify with the certificate's key.
  "rekor2-dsse-invalid-sig_fail": "VERIFY_SIGNATURE_INVALID",
  // Envelope of another statement: Hash(PAE) is not the logged digest.
  "rekor2-dsse-mismatch-envelope_fail": "REKOR_BODY_MISMATCH",
  // A second valid signature that differs from the logged one.
  "rekor2-dsse-mismatch-sig_fail": "REKOR_BODY_MISMATCH",
  // Rekor v2 entry without inclusion proof (never fetched online).
  "rekor2-no-inclusion-proof_fail": "BUNDLE_MALFORMED",
  // Rekor v2 entry and no RFC 3161 timestamp: no trusted time.
  "rekor2-no-timestamp_fail": "VERIFY_NO_TRUSTED_TIME",
  // The trusted root's TSA validity ends before the timestamp was issued.
  "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "TSA_OUTSIDE_VALIDITY",
  // Timestamp requested after the TSA certificate chain expired.
  "rekor2-timestamp-outside-tsa-cert-validity_fail": "TSA_OUTSIDE_VALIDITY",
  // The timestamp covers another signature than this bundle's.
  "rekor2-timestamp-payload-mismatch_fail": "TSA_IMPRINT_MISMATCH",
  // FreeTSA (not in the trusted root), certificates embedded.
  "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "TSA_UNTRUSTED",
  // FreeTSA (not in the trusted root), no certificates embedded.
  "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "TSA_UNTRUSTED",
  // Genuine timestamp outside the signing certificate's lifetime.
  "rekor2-timestamp-with-incorrect-time_fail": "X509_NO_TRUSTED_CA",
  // SET signature invalid.
  "set-invalid-signature_fail": "REKOR_SET_INVALID",
  // The signature in this bundle is incorrect: it does not verify.
  "signature-mismatch_fail": "VERIFY_SIGNATURE_INVALID",
  // The tlog key's validFor lacks its start: the malformed root entry is unusable, never
  // unbounded (sigstore-js accepts this case).
  "trust-root-tlog-missing-validity-start_fail": "REKOR_UNKNOWN_LOG",
  // Otherwise valid, but the logged entry is for another artifact (and signature).
  "wrong-hashedrekord-artifact_fail": "REKOR_BODY_MISMATCH",
  // The logged certificate and signature are another signing's.
  "wrong-hashedrekord-cert-and-sig_fail": "REKOR_BODY_MISMATCH",
  // The hashedrekord is for a different entry.
  "wrong-hashedrekord-entry_fail": "REKOR_BODY_MISMATCH",
  // A valid bundle for a.txt, verified against another artifact.
  "wrong-material_fail": "VERIFY_MESSAGE_DIGEST_MISMATCH",
};

/** One case directory's inputs, as the suite would pass them. */
export interface Case {
  readonly name: string;
  readonly expectFailure: boolean;
  readonly artifact: string;
  readonly args: readonly string[];
  /** True when the case ships no trusted root: the production one is implied. */
  readonly production: boolean;
}

function readOptional(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function exists(path: string): boolean {
  return readOptional(path) !== undefined;
}

export function loadCases(): Case[] {
  const base = interopPath(CASES_DIR);
  return [...Deno.readDirSync(base)].filter((e) => e.isDirectory).map((e) => e.name).sort()
    .map((name) => {
      const dir = `${base}/${name}`;
      const artifact = exists(`${dir}/artifact`) ? `${dir}/artifact` : `${base}/a.txt`;
      const production = !exists(`${dir}/trusted_root.json`);
      const root = production ? interopPath(PRODUCTION_ROOT) : `${dir}/trusted_root.json`;
      const signer = exists(`${dir}/key.pub`) ? ["--key", `${dir}/key.pub`] : [
        "--certificate-identity",
        readOptional(`${dir}/identity`) ?? DEFAULT_IDENTITY,
        "--certificate-oidc-issuer",
        readOptional(`${dir}/issuer`) ?? DEFAULT_ISSUER,
      ];
      return {
        name,
        expectFailure: name.endsWith("_fail"),
        artifact,
        args: ["--bundle", `${dir}/bundle.sigstore.json`, ...signer, "--trusted-root", root],
        production,
      };
    });
}

export function verifyArgv(c: Case, mode: "PATH" | "DIGEST"): string[] {
  const target = mode === "PATH"
    ? c.artifact
    : `sha256:${toHex(sha256(Deno.readFileSync(c.artifact)))}`;
  return ["verify-bundle", ...c.args, target];
}
