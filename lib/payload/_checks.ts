/**
 * Checks the payload readers and writers share: the `PAYLOAD_*` error of malformed input, size
 * bounds checked before parsing (SECURITY.md rule 4), and the OCI digest grammar
 * (image-spec descriptor.md) with exact lengths for the SHA-2 digests.
 *
 * @module
 */

import { digestLength, type HashName } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";

/** OCI digest grammar (image-spec descriptor.md). */
export const OCI_DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A `PAYLOAD_MALFORMED` error. */
export function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("PAYLOAD_MALFORMED", message, { cause });
}

/** Refuse `bytes` longer than `max` with `PAYLOAD_TOO_LARGE`, naming `what`. */
export function checkSize(bytes: Uint8Array, max: number, what: string): void {
  if (bytes.length > max) {
    throw new CosignError(
      "PAYLOAD_TOO_LARGE",
      `Cannot read ${what}: ${bytes.length} bytes exceeds the limit of ${max}`,
    );
  }
}

/** Refuse a string that is not an OCI digest (a SHA-2 digest of the wrong length too). */
export function checkOciDigest(digest: string): void {
  if (!OCI_DIGEST.test(digest)) throw new RangeError(`Invalid image digest "${digest}"`);
  const [algorithm, hex] = digest.split(":") as [string, string];
  if (isHashName(algorithm) && !isHexOfLength(hex, digestLength(algorithm))) {
    throw new RangeError(`Invalid ${algorithm} digest "${digest}"`);
  }
}

/** True for the SHA-2 names digests use. */
export function isHashName(value: string): value is HashName {
  return value === "sha256" || value === "sha384" || value === "sha512";
}

/** True when `hex` is lowercase hex of exactly `bytes` bytes. */
export function isHexOfLength(hex: string, bytes: number): boolean {
  return hex.length === bytes * 2 && /^[0-9a-f]+$/.test(hex);
}
