/**
 * Errors of the embedded OCI registry: one `CosignError` subclass whose `code` says what went
 * wrong, and the table that maps each code to the HTTP status and the OCI error code the
 * distribution spec defines ("Error Codes", OCI distribution-spec v1.1).
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";

/** The codes the registry store and routes raise. */
export type RegistryErrorCode =
  | "SERVER_NAME_INVALID"
  | "SERVER_NAME_UNKNOWN"
  | "SERVER_DIGEST_INVALID"
  | "SERVER_BLOB_UNKNOWN"
  | "SERVER_BLOB_TOO_LARGE"
  | "SERVER_BLOB_UPLOAD_UNKNOWN"
  | "SERVER_BLOB_UPLOAD_INVALID"
  | "SERVER_UPLOAD_RANGE_INVALID"
  | "SERVER_RANGE_NOT_SATISFIABLE"
  | "SERVER_SIZE_INVALID"
  | "SERVER_MANIFEST_UNKNOWN"
  | "SERVER_MANIFEST_INVALID"
  | "SERVER_MANIFEST_BLOB_UNKNOWN"
  | "SERVER_MANIFEST_TOO_LARGE"
  | "SERVER_TOO_MANY_UPLOADS"
  | "SERVER_PAGINATION_INVALID"
  | "SERVER_UNAUTHORIZED";

/** The error codes of the OCI distribution spec v1.1 (plus `UNKNOWN` for internal errors). */
export type OciErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "TOOMANYREQUESTS"
  | "UNKNOWN";

/** How a registry error is answered over HTTP. */
export interface OciErrorMapping {
  /** The HTTP status. */
  readonly status: number;
  /** The `code` of the OCI error body. */
  readonly oci: OciErrorCode;
}

/**
 * Code -> HTTP answer. Several codes share an OCI code but not a status: an oversized blob is
 * 413 while a wrong Content-Length is 400 (both SIZE_INVALID); an out-of-order chunk is 416 as
 * the spec's chunked upload section requires.
 */
export const OCI_ERRORS: Readonly<Record<RegistryErrorCode, OciErrorMapping>> = {
  SERVER_NAME_INVALID: { status: 400, oci: "NAME_INVALID" },
  SERVER_NAME_UNKNOWN: { status: 404, oci: "NAME_UNKNOWN" },
  SERVER_DIGEST_INVALID: { status: 400, oci: "DIGEST_INVALID" },
  SERVER_BLOB_UNKNOWN: { status: 404, oci: "BLOB_UNKNOWN" },
  SERVER_BLOB_TOO_LARGE: { status: 413, oci: "SIZE_INVALID" },
  SERVER_BLOB_UPLOAD_UNKNOWN: { status: 404, oci: "BLOB_UPLOAD_UNKNOWN" },
  SERVER_BLOB_UPLOAD_INVALID: { status: 400, oci: "BLOB_UPLOAD_INVALID" },
  SERVER_UPLOAD_RANGE_INVALID: { status: 416, oci: "BLOB_UPLOAD_INVALID" },
  SERVER_RANGE_NOT_SATISFIABLE: { status: 416, oci: "SIZE_INVALID" },
  SERVER_SIZE_INVALID: { status: 400, oci: "SIZE_INVALID" },
  SERVER_MANIFEST_UNKNOWN: { status: 404, oci: "MANIFEST_UNKNOWN" },
  SERVER_MANIFEST_INVALID: { status: 400, oci: "MANIFEST_INVALID" },
  SERVER_MANIFEST_BLOB_UNKNOWN: { status: 400, oci: "MANIFEST_BLOB_UNKNOWN" },
  SERVER_MANIFEST_TOO_LARGE: { status: 413, oci: "SIZE_INVALID" },
  SERVER_TOO_MANY_UPLOADS: { status: 429, oci: "TOOMANYREQUESTS" },
  SERVER_PAGINATION_INVALID: { status: 400, oci: "UNSUPPORTED" },
  SERVER_UNAUTHORIZED: { status: 401, oci: "UNAUTHORIZED" },
};

/** One entry of an OCI error body beyond the first (e.g. every missing blob of a manifest). */
export interface RegistryErrorItem {
  /** Human-readable message. */
  readonly message: string;
  /** The OCI `detail` member. */
  readonly detail?: unknown;
}

/**
 * A registry failure: a typed code, an optional OCI `detail`, and optional sibling items.
 *
 * @example The OCI error a failure answers with
 * ```ts
 * import assert from "node:assert/strict";
 * import { OCI_ERRORS, RegistryError } from "@dcosign/dcosign/server";
 *
 * const error = new RegistryError("SERVER_BLOB_UNKNOWN", "Blob unknown to the registry");
 * assert.deepEqual(OCI_ERRORS[error.code], { status: 404, oci: "BLOB_UNKNOWN" });
 * ```
 */
export class RegistryError extends CosignError {
  /** The `detail` member of the OCI error entry. */
  readonly detail: unknown;
  /** Further entries with the same code (the spec wants one entry per unknown blob). */
  readonly items: readonly RegistryErrorItem[];
  /** What went wrong; maps to an HTTP status and OCI code through `OCI_ERRORS`. */
  override readonly code: RegistryErrorCode;

  /** A failure with its code, message, and optional cause, OCI detail and sibling items. */
  constructor(
    code: RegistryErrorCode,
    message: string,
    options: { cause?: unknown; detail?: unknown; items?: readonly RegistryErrorItem[] } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RegistryError";
    this.code = code;
    this.detail = options.detail;
    this.items = options.items ?? [];
  }
}

/**
 * True when `error` is a `RegistryError`, optionally with the given code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRegistryError, RegistryStore } from "@dcosign/dcosign/server";
 *
 * const store = await RegistryStore.open();
 * try {
 *   store.getManifest("demo/app", "latest");
 * } catch (error) {
 *   assert.ok(isRegistryError(error, "SERVER_MANIFEST_UNKNOWN"));
 * } finally {
 *   await store.close();
 * }
 * ```
 */
export function isRegistryError(error: unknown, code?: RegistryErrorCode): error is RegistryError {
  return error instanceof RegistryError && (code === undefined || error.code === code);
}
