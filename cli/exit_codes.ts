/**
 * Exit codes: cosign's codes for verification outcomes, 1 for every other failure. The
 * dispatcher maps errors to codes here and nowhere else (`verify` reports each image's outcome
 * and exits with the first failure's code).
 *
 * @module
 */

import { CosignError, type ErrorCode } from "../lib/errors.ts";

/**
 * Exit codes of cosign's verification (cosign-spec.md section 9.3), the same for bundles and
 * legacy `.sig` layers; every other failure exits 1. A keyless verify of key-made signatures is
 * 12, not cosign's documented 13: cosign wraps `ErrNoCertificateFoundOnSignature` in
 * `ErrNoMatchingSignatures`, and its exit-code lookup tries that first, so cosign 2.5 exits 12
 * ("no matching signatures: no certificate found on signature").
 */
export const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  VERIFY_NO_SIGNATURES: 10,
  VERIFY_IMAGE_TAG_NOT_FOUND: 11,
  VERIFY_NO_MATCHING_SIGNATURE: 12,
  VERIFY_NO_CERTIFICATE: 12,
};

/** The exit code for a failure. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CosignError) return EXIT_CODES[error.code] ?? 1;
  return 1;
}
