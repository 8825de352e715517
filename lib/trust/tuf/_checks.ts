/**
 * The small checks every step of the TUF client workflow repeats: expiry (TUF specification
 * 5.3.10, 5.4.4, 5.5.6, 5.6.6: expired from the instant of `expires` on, as python-tuf), the
 * one-line expiry error, and the length and hash checks by which one role vouches for another
 * role's file or for a target (5.5.2, 5.6.2, 5.7.3).
 *
 * @module
 */

import type { HashName } from "../../util/bytes.ts";
import { TUF_FIX, tufError } from "./errors.ts";
import type { TufMetadata, TufMetaFile, TufRoleName } from "./metadata.ts";

/** The hash algorithms a TUF `hashes` object may name that this client can check. */
const TUF_HASHES = ["sha256", "sha384", "sha512"] as const satisfies readonly HashName[];

/**
 * Their WebCrypto names. Files are hashed by WebCrypto, not the library's JavaScript SHA-2:
 * natively, so a 32 MiB target costs little and a cold process compiles no hash code for it.
 */
const WEBCRYPTO_HASHES: Readonly<Record<HashName, string>> = {
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

/** `ms` as an ISO time for messages (a non-finite value as is). */
export function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

/** True when `metadata` is expired at `now` (ms): from the instant of `expires` on. */
export function isExpired(metadata: TufMetadata, now: number): boolean {
  return now >= metadata.signed.expiresAt;
}

/** `TRUST_TUF_EXPIRED` naming the role, its version, its expiry, now, and the fix. */
export function expiredError(role: TufRoleName, metadata: TufMetadata, now: number): Error {
  return tufError(
    "TRUST_TUF_EXPIRED",
    `TUF ${role} metadata version ${metadata.signed.version} expired at ` +
      `"${metadata.signed.expires}" (now "${iso(now)}"); ${TUF_FIX}`,
  );
}

/** The hash names of `hashes` this client can compute, in preference order. */
export function supportedHashes(hashes: Readonly<Record<string, string>>): HashName[] {
  return TUF_HASHES.filter((name) => Object.hasOwn(hashes, name));
}

/**
 * Throw `TRUST_TUF_HASH_MISMATCH` unless every supported digest in `hashes` matches `bytes`;
 * a `hashes` naming no supported algorithm is `TRUST_TUF_METADATA_INVALID`.
 */
export async function checkHashes(
  bytes: Uint8Array<ArrayBuffer>,
  hashes: Readonly<Record<string, string>>,
  what: string,
): Promise<void> {
  const names = supportedHashes(hashes);
  if (names.length === 0) {
    throw tufError(
      "TRUST_TUF_METADATA_INVALID",
      `The trusted metadata names no supported hash (${TUF_HASHES.join(", ")}) for ${what}`,
    );
  }
  for (const name of names) {
    const actual = new Uint8Array(await crypto.subtle.digest(WEBCRYPTO_HASHES[name], bytes))
      .toHex();
    if (actual !== hashes[name]) {
      throw tufError(
        "TRUST_TUF_HASH_MISMATCH",
        `The ${name} of ${what} is "${actual}", its trusted metadata says "${hashes[name]}"`,
      );
    }
  }
}

/** True when `bytes` (of metadata at `version`) is the file `meta` names: version, length, hashes. */
export async function matchesMeta(
  bytes: Uint8Array<ArrayBuffer>,
  meta: TufMetaFile,
  version: number,
): Promise<boolean> {
  if (version !== meta.version) return false;
  if (meta.length !== undefined && bytes.length !== meta.length) return false;
  if (meta.hashes !== undefined) {
    try {
      await checkHashes(bytes, meta.hashes, "cached metadata");
    } catch {
      return false;
    }
  }
  return true;
}
