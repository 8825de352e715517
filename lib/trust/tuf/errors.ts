/**
 * The error codes of the TUF client (area `TRUST`), one per way an update can fail, so callers
 * and tests tell a rollback from an expiry from a network failure without reading messages.
 * Every failure of this folder is a `CosignError` carrying one of them.
 *
 * @module
 */

import { CosignError } from "../../errors.ts";

/**
 * What went wrong while updating or reading TUF metadata.
 *
 * - `TRUST_TUF_METADATA_INVALID`: a file is not well-formed TUF metadata (bad JSON, duplicate
 *   keys, wrong `_type`, missing or mistyped fields, threshold below 1).
 * - `TRUST_TUF_THRESHOLD`: too few distinct keys of the role signed the metadata.
 * - `TRUST_TUF_ROLLBACK`: a version went backwards against trusted metadata.
 * - `TRUST_TUF_VERSION_MISMATCH`: a version differs from the one the referencing role names
 *   (mix-and-match), or a root rotation skipped a version.
 * - `TRUST_TUF_EXPIRED`: a role's metadata is expired and no fresh copy could be had.
 * - `TRUST_TUF_HASH_MISMATCH`: a file's digest differs from the one its referrer (or the given
 *   root checksum) names.
 * - `TRUST_TUF_LENGTH`: a file's length differs from the declared one.
 * - `TRUST_TUF_TOO_LARGE`: a download or a count passed its bound.
 * - `TRUST_TUF_FETCH`: the repository could not be reached or answered an unexpected status.
 * - `TRUST_TUF_OFFLINE`: offline, and the cache cannot serve.
 * - `TRUST_TUF_TARGET_NOT_FOUND`: the trusted targets metadata lists no such target.
 * - `TRUST_TUF_ROOT_MISSING`: no trusted root for a mirror (run `dcosign initialize`).
 */
export type TufErrorCode =
  | "TRUST_TUF_METADATA_INVALID"
  | "TRUST_TUF_THRESHOLD"
  | "TRUST_TUF_ROLLBACK"
  | "TRUST_TUF_VERSION_MISMATCH"
  | "TRUST_TUF_EXPIRED"
  | "TRUST_TUF_HASH_MISMATCH"
  | "TRUST_TUF_LENGTH"
  | "TRUST_TUF_TOO_LARGE"
  | "TRUST_TUF_FETCH"
  | "TRUST_TUF_OFFLINE"
  | "TRUST_TUF_TARGET_NOT_FOUND"
  | "TRUST_TUF_ROOT_MISSING";

/** A `CosignError` with a TUF code. */
export function tufError(code: TufErrorCode, message: string, cause?: unknown): Error {
  return new CosignError(code, message, cause === undefined ? undefined : { cause });
}

/** The advice every expiry and offline failure ends with. */
export const TUF_FIX = "run `dcosign initialize` to refresh the TUF metadata";
