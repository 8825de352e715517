/**
 * Error classes and codes.
 *
 * Every failure the library reports on purpose is a `CosignError` with a `code` naming its area
 * and reason (`OCI_MANIFEST_TOO_LARGE`, `VERIFY_NO_MATCHING_SIGNATURE`, ...). "Verifying is not
 * parsing": malformed input raises a `*_MALFORMED`/`*_INVALID` code, a failed check a
 * `VERIFY_*`-style code. Bad arguments are built-in `TypeError`/`RangeError`; unparseable text is
 * `SyntaxError`. Every code is listed in `ErrorCode`, by area.
 *
 * @module
 */

/** The areas an error code starts with. */
export type ErrorArea =
  | "OCI"
  | "VERIFY"
  | "REKOR"
  | "FULCIO"
  | "OIDC"
  | "KEY"
  | "PAYLOAD"
  | "BUNDLE"
  | "TRUST"
  | "TSA"
  | "X509"
  | "CLI"
  | "SERVER"
  | "ADMISSION"
  | "POLICY";

/**
 * Every error code the library and the embedded servers raise, by area: a closed union, so a
 * misspelt or unknown code does not compile, and `tests/unit/errors_test.ts` checks that each one
 * listed is raised somewhere. Malformed input is `*_MALFORMED`/`*_INVALID`, a failed check a
 * `VERIFY_*`-style code.
 */
export type ErrorCode =
  // OCI
  | "OCI_ATTACHMENT_INVALID"
  | "OCI_ATTACHMENT_MISMATCH"
  | "OCI_AUTH_FAILED"
  | "OCI_BLOB_UNKNOWN"
  | "OCI_CREDENTIALS_INVALID"
  | "OCI_CREDENTIAL_HELPER_FAILED"
  | "OCI_DELETE_UNSUPPORTED"
  | "OCI_DENIED"
  | "OCI_DESTINATION_EXISTS"
  | "OCI_DIGEST_MISMATCH"
  | "OCI_INSECURE_REGISTRY"
  | "OCI_LAYOUT_INVALID"
  | "OCI_LAYOUT_TOO_LARGE"
  | "OCI_LAYOUT_UNSAFE"
  | "OCI_MANIFEST_INVALID"
  | "OCI_MANIFEST_UNKNOWN"
  | "OCI_MANIFEST_UNSUPPORTED"
  | "OCI_NAME_UNKNOWN"
  | "OCI_NETWORK_ERROR"
  | "OCI_PLATFORM_NOT_FOUND"
  | "OCI_REDIRECT_REFUSED"
  | "OCI_REFERENCE_INVALID"
  | "OCI_REGISTRY_ERROR"
  | "OCI_SIZE_MISMATCH"
  | "OCI_TOO_LARGE"
  | "OCI_TOO_MANY_LAYERS"
  | "OCI_TOO_MANY_MANIFESTS"
  | "OCI_TOO_MANY_REFERRERS"
  | "OCI_TOO_MANY_SIGNATURES"
  | "OCI_UNAUTHORIZED"
  // VERIFY
  | "VERIFY_BLOB_UNREADABLE"
  | "VERIFY_CERTIFICATE_MISMATCH"
  | "VERIFY_CLAIMS_MISMATCH"
  | "VERIFY_IDENTITY_MISMATCH"
  | "VERIFY_IMAGE_TAG_NOT_FOUND"
  | "VERIFY_INVALID_REGEXP"
  | "VERIFY_KEY_MISMATCH"
  | "VERIFY_MALFORMED_LAYER"
  | "VERIFY_MESSAGE_DIGEST_MISMATCH"
  | "VERIFY_NOT_AN_ATTESTATION"
  | "VERIFY_NO_ATTESTATIONS"
  | "VERIFY_NO_CERTIFICATE"
  | "VERIFY_NO_KEY"
  | "VERIFY_NO_MATCHING_ATTESTATION"
  | "VERIFY_NO_MATCHING_SIGNATURE"
  | "VERIFY_NO_SIGNATURES"
  | "VERIFY_NO_TRUSTED_TIME"
  | "VERIFY_POLICY_MISSING"
  | "VERIFY_PREDICATE_TYPE_MISMATCH"
  | "VERIFY_SCT_MISSING"
  | "VERIFY_SIGNATURE_INVALID"
  | "VERIFY_SUBJECT_MISMATCH"
  | "VERIFY_TIMESTAMP_THRESHOLD"
  | "VERIFY_TLOG_MISSING"
  | "VERIFY_TLOG_THRESHOLD"
  | "VERIFY_TRUST_MISSING"
  // REKOR
  | "REKOR_BODY_MALFORMED"
  | "REKOR_BODY_MISMATCH"
  | "REKOR_CHECKPOINT_INVALID"
  | "REKOR_CHECKPOINT_MALFORMED"
  | "REKOR_CONSISTENCY_INVALID"
  | "REKOR_DUPLICATE_ENTRY"
  | "REKOR_ENTRY_INVALID"
  | "REKOR_ENTRY_MALFORMED"
  | "REKOR_ENTRY_UNSUPPORTED"
  | "REKOR_HTTP_ERROR"
  | "REKOR_INTEGRATED_TIME_INVALID"
  | "REKOR_LEGACY_UNSUPPORTED"
  | "REKOR_LOG_NOT_VALID"
  | "REKOR_NOT_FOUND"
  | "REKOR_NO_EVIDENCE"
  | "REKOR_PROOF_INVALID"
  | "REKOR_PROOF_MISSING"
  | "REKOR_RESPONSE_MALFORMED"
  | "REKOR_RESPONSE_MISMATCH"
  | "REKOR_RESPONSE_TOO_LARGE"
  | "REKOR_SET_INVALID"
  | "REKOR_TIMESTAMP_REQUIRED"
  | "REKOR_TOO_MANY_ENTRIES"
  | "REKOR_UNKNOWN_LOG"
  // FULCIO
  | "FULCIO_CLOCK_SKEW"
  | "FULCIO_CSR_INVALID"
  | "FULCIO_EMAIL_UNVERIFIED"
  | "FULCIO_IDENTITY_UNSUPPORTED"
  | "FULCIO_KEY_MISMATCH"
  | "FULCIO_KEY_UNSUPPORTED"
  | "FULCIO_NO_TOKEN"
  | "FULCIO_PROOF_INVALID"
  | "FULCIO_REJECTED"
  | "FULCIO_REQUEST_FAILED"
  | "FULCIO_REQUEST_MALFORMED"
  | "FULCIO_RESPONSE_MALFORMED"
  // OIDC
  | "OIDC_AMBIENT_FAILED"
  | "OIDC_DISCOVERY_FAILED"
  | "OIDC_ISSUER_URL_UNSET"
  | "OIDC_JWKS_MALFORMED"
  | "OIDC_LOGIN_FAILED"
  | "OIDC_LOGIN_TIMEOUT"
  | "OIDC_NO_TOKEN"
  | "OIDC_REQUEST_REFUSED"
  | "OIDC_STATE_MISMATCH"
  | "OIDC_TOKEN_AUDIENCE"
  | "OIDC_TOKEN_EXCHANGE_FAILED"
  | "OIDC_TOKEN_EXPIRED"
  | "OIDC_TOKEN_FILE"
  | "OIDC_TOKEN_INVALID"
  | "OIDC_TOKEN_ISSUER"
  | "OIDC_TOKEN_MALFORMED"
  | "OIDC_TOKEN_NONCE"
  | "OIDC_TOKEN_NOT_YET_VALID"
  | "OIDC_TOKEN_SIGNATURE"
  | "OIDC_UNKNOWN_IDENTITY"
  // KEY
  | "KEY_MALFORMED"
  | "KEY_MISMATCH"
  | "KEY_PASSWORD_MISMATCH"
  | "KEY_UNSUPPORTED"
  | "KEY_WEAK"
  | "KEY_WRONG_PASSWORD"
  // PAYLOAD
  | "PAYLOAD_INVALID_PREDICATE"
  | "PAYLOAD_MALFORMED"
  | "PAYLOAD_SIGNATURE_COUNT"
  | "PAYLOAD_SUBJECT_MISMATCH"
  | "PAYLOAD_TOO_LARGE"
  | "PAYLOAD_UNKNOWN_TYPE"
  | "PAYLOAD_UNREADABLE"
  // BUNDLE
  | "BUNDLE_MALFORMED"
  | "BUNDLE_TOO_LARGE"
  | "BUNDLE_UNSUPPORTED"
  // POLICY
  | "POLICY_BUILTIN_ERROR"
  | "POLICY_BUILTIN_UNSUPPORTED"
  | "POLICY_COMPILE_ERROR"
  | "POLICY_CONFLICT"
  | "POLICY_CUE_FAILED"
  | "POLICY_DENIED"
  | "POLICY_EVAL_ERROR"
  | "POLICY_EVAL_LIMIT"
  | "POLICY_PARSE_ERROR"
  | "POLICY_TEST_FAILED"
  | "POLICY_TOO_LARGE"
  | "POLICY_TYPE_ERROR"
  // TRUST
  | "TRUST_MALFORMED"
  | "TRUST_MISSING"
  | "TRUST_NO_SERVICE"
  | "TRUST_TUF_EXPIRED"
  | "TRUST_TUF_FETCH"
  | "TRUST_TUF_HASH_MISMATCH"
  | "TRUST_TUF_LENGTH"
  | "TRUST_TUF_METADATA_INVALID"
  | "TRUST_TUF_OFFLINE"
  | "TRUST_TUF_ROLLBACK"
  | "TRUST_TUF_ROOT_MISSING"
  | "TRUST_TUF_TARGET_NOT_FOUND"
  | "TRUST_TUF_THRESHOLD"
  | "TRUST_TUF_TOO_LARGE"
  | "TRUST_TUF_VERSION_MISMATCH"
  // TSA
  | "TSA_BAD_SIGNATURE"
  | "TSA_IMPRINT_MISMATCH"
  | "TSA_MALFORMED"
  | "TSA_NOT_GRANTED"
  | "TSA_OUTSIDE_VALIDITY"
  | "TSA_REQUEST_FAILED"
  | "TSA_RESPONSE_TOO_LARGE"
  | "TSA_THRESHOLD"
  | "TSA_UNSUPPORTED_HASH"
  | "TSA_UNSUPPORTED_POLICY"
  | "TSA_UNTRUSTED"
  // X509
  | "X509_BAD_SIGNATURE"
  | "X509_CRITICAL_EXTENSION"
  | "X509_EXT_KEY_USAGE"
  | "X509_ISSUER_MISMATCH"
  | "X509_KEY_USAGE"
  | "X509_LEAF_IS_CA"
  | "X509_MALFORMED"
  | "X509_NOT_CA"
  | "X509_NO_CHAIN"
  | "X509_NO_TRUSTED_CA"
  | "X509_OUTSIDE_VALIDITY"
  | "X509_PATH_LENGTH"
  | "X509_SCT_MALFORMED"
  | "X509_SCT_MISSING"
  | "X509_SCT_UNVERIFIED"
  | "X509_TOO_MANY_CERTIFICATES"
  | "X509_UNSUPPORTED"
  | "X509_UNSUPPORTED_ALGORITHM"
  // CLI
  | "CLI_ABORTED"
  | "CLI_FILE_EXISTS"
  | "CLI_TIMEOUT"
  | "CLI_USAGE"
  // SERVER
  | "SERVER_BLOB_TOO_LARGE"
  | "SERVER_BLOB_UNKNOWN"
  | "SERVER_BLOB_UPLOAD_INVALID"
  | "SERVER_BLOB_UPLOAD_UNKNOWN"
  | "SERVER_CA_STATE"
  | "SERVER_DIGEST_INVALID"
  | "SERVER_LOG_CLOSED"
  | "SERVER_LOG_CORRUPT"
  | "SERVER_MANIFEST_BLOB_UNKNOWN"
  | "SERVER_MANIFEST_INVALID"
  | "SERVER_MANIFEST_TOO_LARGE"
  | "SERVER_MANIFEST_UNKNOWN"
  | "SERVER_NAME_INVALID"
  | "SERVER_NAME_UNKNOWN"
  | "SERVER_OIDC_STATE"
  | "SERVER_PAGINATION_INVALID"
  | "SERVER_RANGE_NOT_SATISFIABLE"
  | "SERVER_SIZE_INVALID"
  | "SERVER_TOO_MANY_UPLOADS"
  | "SERVER_TSA_STATE"
  | "SERVER_TUF_STATE"
  | "SERVER_UNAUTHORIZED"
  | "SERVER_UPLOAD_RANGE_INVALID"
  // ADMISSION
  | "ADMISSION_POLICY_FAILED"
  | "ADMISSION_POLICY_FETCH_FAILED"
  | "ADMISSION_POLICY_INVALID"
  | "ADMISSION_POLICY_UNSUPPORTED"
  | "ADMISSION_REVIEW_MALFORMED"
  | "ADMISSION_REVIEW_TOO_LARGE"
  | "ADMISSION_TIMEOUT";

/**
 * The one error class of the library: a typed `code`, a one-line message, and its cause.
 *
 * @example Tell failures apart by code
 * ```ts
 * import assert from "node:assert/strict";
 * import { CosignError, parseBundle } from "@dcosign/dcosign";
 *
 * try {
 *   parseBundle('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
 *   assert.fail("a bundle without content must not parse");
 * } catch (error) {
 *   assert.ok(error instanceof CosignError);
 *   assert.equal(error.code, "BUNDLE_MALFORMED"); // malformed input, not a failed check
 * }
 * ```
 */
export class CosignError extends Error {
  /** What failed, machine-readable and stable. */
  readonly code: ErrorCode;

  /** Create an error with its `code`, a one-line message and, in `options.cause`, what caused it. */
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CosignError";
    this.code = code;
  }
}

/**
 * True when `error` is a `CosignError`, optionally with the given code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, isCosignError, signBlob, verifyBlob } from "@dcosign/dcosign";
 *
 * const bytes = new TextEncoder().encode("release v1.0");
 * const signed = await signBlob({ kind: "bytes", bytes }, {
 *   identity: { signer: await generateKeyPair() },
 * });
 * const someoneElse = await generateKeyPair();
 * try {
 *   await verifyBlob(
 *     { signature: new TextEncoder().encode(signed.signature.toBase64()) },
 *     { kind: "bytes", bytes },
 *     { key: someoneElse.publicKey, tlogThreshold: 0 },
 *   );
 *   assert.fail("another key must not verify");
 * } catch (error) {
 *   if (!isCosignError(error, "VERIFY_SIGNATURE_INVALID")) throw error;
 * }
 * ```
 */
export function isCosignError(error: unknown, code?: ErrorCode): error is CosignError {
  return error instanceof CosignError && (code === undefined || error.code === code);
}

/** The message of any thrown value, for wrapping causes. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
