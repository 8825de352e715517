/**
 * Error classes and codes.
 *
 * Every failure the library reports on purpose is a `CosignError` with a `code` naming its area
 * and reason (`OCI_MANIFEST_TOO_LARGE`, `VERIFY_NO_MATCHING_SIGNATURE`, ...). "Verifying is not
 * parsing": malformed input raises a `*_MALFORMED`/`*_INVALID` code, a failed check a
 * `VERIFY_*`-style code. Bad arguments are built-in `TypeError`/`RangeError`; unparseable text is
 * `SyntaxError`. Modules declare their own literal code unions (for example
 * `type OciErrorCode = "OCI_..."`) so the union grows with the code that raises it.
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
  | "POLICY";

/** An error code: `<AREA>_<REASON>` in upper snake case. */
export type ErrorCode = `${ErrorArea}_${string}`;

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
