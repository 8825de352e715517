/**
 * Trust material: `trusted_root.json` (cosign-spec.md section 8.1). The signing side's
 * `signing_config.json` is `lib/trust/signing_config.ts`.
 *
 * Log keys, CT log keys, CA and TSA chains come only from a trusted root (SECURITY.md rule 7).
 * Parsing is strict: a validity window without `start` is malformed, not unbounded
 * (conformance case `trust-root-tlog-missing-validity-start_fail`): such an entry carries a
 * `problem` and verifies nothing. Validity windows are closed intervals
 * (`*-validity-end-inclusive`).
 *
 * @module
 */

import { type Bytes, equalBytes, toBase64, toHex } from "../util/bytes.ts";
import {
  asArray,
  asBase64,
  asOptionalArray,
  asOptionalString,
  asRecord,
  asString,
  asTimestamp,
  isRecord,
  parseJson,
} from "../util/json.ts";
import { CosignError, isCosignError } from "../errors.ts";
import { derBitString, derNull, derOid, derSequence } from "../util/der.ts";
import { OID } from "../x509/oids.ts";
import { PublicKey } from "../keys/public_key.ts";

/** Error codes raised here. */
export type TrustErrorCode = "TRUST_MALFORMED" | "TRUST_MISSING";

/** Media types of trusted roots we read. */
export const TRUSTED_ROOT_MEDIA_TYPES = [
  "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "application/vnd.dev.sigstore.trustedroot.v0.1+json",
  "application/vnd.dev.sigstore.trustedroot.v0.2+json",
] as const;

/** A closed time interval; `end` absent means open-ended. */
export interface ValidityPeriod {
  /** Start of the interval, inclusive. */
  readonly start: Date;
  /** End of the interval, inclusive; absent when open-ended. */
  readonly end?: Date;
}

/** A transparency log or CT log key from the trusted root. */
export interface TrustedLog {
  /** The log's base URL. */
  readonly baseUrl: string;
  /** SHA-256 of the log key's SPKI (the log ID). */
  readonly logId: Bytes;
  /** The log's public key. */
  readonly key: PublicKey;
  /** `PKIX_ECDSA_P256_SHA_256`, `PKIX_ED25519`, ... */
  readonly keyDetails: string;
  /** When the key may vouch for entries. */
  readonly validFor: ValidityPeriod;
  /** Why this entry is unusable (a malformed validity window); such an entry never verifies. */
  readonly problem?: string;
  /** Checkpoint key ID (v0.2 roots), when it differs from the log ID. */
  readonly checkpointKeyId?: Bytes;
  /** Who runs the log, when the root says. */
  readonly operator?: string;
}

/** A certificate authority (Fulcio) or timestamp authority from the trusted root. */
export interface TrustedAuthority {
  /** The authority's name, as the trusted root gives it. */
  readonly subject: { readonly organization?: string; readonly commonName?: string };
  /** The authority's URL. */
  readonly uri: string;
  /** DER certificates, leaf-most first, the trust anchor last. */
  readonly certificates: readonly Bytes[];
  /** When the certificates may vouch for signatures or timestamps. */
  readonly validFor: ValidityPeriod;
  /** Why this entry is unusable (a malformed validity window); such an entry never verifies. */
  readonly problem?: string;
  /** Who runs the authority, when the root says. */
  readonly operator?: string;
}

/** A parsed `trusted_root.json`. */
export interface TrustedRoot {
  /** One of `TRUSTED_ROOT_MEDIA_TYPES` (v0.1 or v0.2). */
  readonly mediaType: string;
  /** Transparency logs (Rekor) trusted for log entries. */
  readonly tlogs: readonly TrustedLog[];
  /** Certificate transparency logs trusted for SCTs. */
  readonly ctlogs: readonly TrustedLog[];
  /** Certificate authorities (Fulcio) trusted for signing certificates. */
  readonly certificateAuthorities: readonly TrustedAuthority[];
  /** RFC 3161 timestamp authorities trusted for timestamps. */
  readonly timestampAuthorities: readonly TrustedAuthority[];
}

/** Most entries of each list a trusted root may have. */
const MAX_ROOT_ITEMS = 64;

/** True when `time` lies in the closed interval `period`. */
export function isWithin(period: ValidityPeriod, time: Date): boolean {
  const t = time.getTime();
  return t >= period.start.getTime() && (period.end === undefined || t <= period.end.getTime());
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("TRUST_MALFORMED", `Invalid trusted root: ${message}`, { cause });
}

/** A window no time falls in: the validity of an entry we keep only to report its problem. */
const NEVER: ValidityPeriod = { start: new Date(8.64e15) };

/**
 * The validity of a trusted-root entry. An absent `validFor` means unbounded (sigstore-js's
 * fixtures rely on it); a present one without `start` is malformed, and the entry is kept with
 * a `problem` and an empty window, so using it fails closed and names the reason.
 */
function parseEntryValidity(
  value: unknown,
  path: string,
): { validFor: ValidityPeriod; problem?: string } {
  if (value === undefined || value === null) return { validFor: { start: new Date(0) } };
  try {
    return { validFor: parseValidity(value, path) };
  } catch (error) {
    return { validFor: NEVER, problem: (error as Error).message };
  }
}

/**
 * The validity of a CA or TSA. Unlike a bare log key, an authority's certificates carry their
 * own validity, so an absent or empty (`{}`) window adds no bound (sigstore-js reads it so, and
 * its fixtures' mock TSA relies on it); an `end` without `start` is still malformed.
 */
function parseAuthorityValidity(
  value: unknown,
  path: string,
): { validFor: ValidityPeriod; problem?: string } {
  if (isRecord(value) && value.start === undefined && value.end === undefined) {
    return { validFor: { start: new Date(0) } };
  }
  return parseEntryValidity(value, path);
}

/** A `validFor` window: `start` required, `end` optional and not before `start`. */
export function parseValidity(value: unknown, path: string): ValidityPeriod {
  const record = asRecord(value, path);
  if (record.start === undefined) throw new SyntaxError(`${path}.start: missing`);
  const start = asTimestamp(record.start, `${path}.start`);
  if (record.end === undefined || record.end === null) return { start };
  const end = asTimestamp(record.end, `${path}.end`);
  if (end < start) throw new SyntaxError(`${path}: end is before start`);
  return { start, end };
}

function parseLog(value: unknown, path: string): TrustedLog {
  const record = asRecord(value, path);
  const publicKey = asRecord(record.publicKey, `${path}.publicKey`);
  const rawBytes = asBase64(publicKey.rawBytes, `${path}.publicKey.rawBytes`);
  const keyDetails = asString(publicKey.keyDetails ?? "", `${path}.publicKey.keyDetails`);
  // Old roots give some RSA CT keys as a bare PKCS#1 RSAPublicKey (keyDetails PKCS1_RSA_*).
  const key = PublicKey.fromSpki(
    keyDetails.startsWith("PKCS1_RSA") ? rsaPublicKeyToSpki(rawBytes) : rawBytes,
  );
  checkKeyDetails(keyDetails, key, `${path}.publicKey.keyDetails`);
  const logId = asBase64(asRecord(record.logId, `${path}.logId`).keyId, `${path}.logId.keyId`);
  if (logId.length !== 32) throw new SyntaxError(`${path}.logId.keyId: expected 32 bytes`);
  const checkpointKeyId = record.checkpointKeyId == null ? undefined : asBase64(
    asRecord(record.checkpointKeyId, `${path}.checkpointKeyId`).keyId,
    `${path}.checkpointKeyId.keyId`,
  );
  const operator = asOptionalString(record.operator, `${path}.operator`);
  return {
    baseUrl: asString(record.baseUrl ?? "", `${path}.baseUrl`),
    logId,
    key,
    keyDetails,
    ...parseEntryValidity(publicKey.validFor, `${path}.publicKey.validFor`),
    ...(checkpointKeyId ? { checkpointKeyId } : {}),
    ...(operator ? { operator } : {}),
  };
}

/**
 * What each `PublicKeyDetails` name (protobuf-specs sigstore_common.proto) says the key is: its
 * type, and for the RSA names that carry one, its modulus size.
 */
const KEY_DETAILS: Readonly<Record<string, { kind: PublicKey["kind"]; rsaBits?: number }>> = {
  PKIX_ECDSA_P256_SHA_256: { kind: "ecdsa-p256" },
  PKIX_ECDSA_P256_HMAC_SHA_256: { kind: "ecdsa-p256" },
  PKIX_ECDSA_P384_SHA_384: { kind: "ecdsa-p384" },
  PKIX_ECDSA_P384_SHA_256: { kind: "ecdsa-p384" },
  PKIX_ECDSA_P521_SHA_512: { kind: "ecdsa-p521" },
  PKIX_ECDSA_P521_SHA_256: { kind: "ecdsa-p521" },
  PKIX_ED25519: { kind: "ed25519" },
  PKIX_ED25519_PH: { kind: "ed25519" },
  PKCS1_RSA_PKCS1V5: { kind: "rsa" },
  PKIX_RSA_PKCS1V5: { kind: "rsa" },
  PKIX_RSA_PKCS1V15_2048_SHA256: { kind: "rsa", rsaBits: 2048 },
  PKIX_RSA_PKCS1V15_3072_SHA256: { kind: "rsa", rsaBits: 3072 },
  PKIX_RSA_PKCS1V15_4096_SHA256: { kind: "rsa", rsaBits: 4096 },
};

/**
 * A log key's `keyDetails` must describe the key it labels (algorithms come from trust, and the
 * label is part of it): a P-256 key labelled Ed25519, or a P-384 key labelled P-256, is a
 * malformed root rather than a key used as whatever its bytes happen to be. An absent (or
 * `PUBLIC_KEY_DETAILS_UNSPECIFIED`) label claims nothing; a label we do not know (RSA-PSS,
 * ML-DSA, LMS) names a scheme this verifier cannot check, so it is refused too.
 */
function checkKeyDetails(keyDetails: string, key: PublicKey, path: string): void {
  if (keyDetails === "" || keyDetails === "PUBLIC_KEY_DETAILS_UNSPECIFIED") return;
  const expected = KEY_DETAILS[keyDetails];
  if (expected === undefined) {
    throw new SyntaxError(`${path}: unsupported key type "${keyDetails.slice(0, 64)}"`);
  }
  if (
    expected.kind !== key.kind ||
    (expected.rsaBits !== undefined && expected.rsaBits !== key.rsaBits)
  ) {
    throw new SyntaxError(`${path}: "${keyDetails}" does not describe its key (${keyName(key)})`);
  }
}

function keyName(key: PublicKey): string {
  switch (key.kind) {
    case "ecdsa-p256":
      return "ECDSA P-256";
    case "ecdsa-p384":
      return "ECDSA P-384";
    case "ecdsa-p521":
      return "ECDSA P-521";
    case "ed25519":
      return "Ed25519";
    case "rsa":
      return `RSA ${key.rsaBits} bits`;
  }
}

function rsaPublicKeyToSpki(rsaPublicKey: Uint8Array): Bytes {
  const algorithm = derSequence(derOid(OID.RSA), derNull());
  return derSequence(algorithm, derBitString(rsaPublicKey));
}

function parseAuthority(value: unknown, path: string): TrustedAuthority {
  const record = asRecord(value, path);
  const subject = record.subject === undefined ? {} : asRecord(record.subject, `${path}.subject`);
  const organization = asOptionalString(subject.organization, `${path}.subject.organization`);
  const commonName = asOptionalString(subject.commonName, `${path}.subject.commonName`);
  const chain = asRecord(record.certChain, `${path}.certChain`);
  const certificates = asArray(chain.certificates, `${path}.certChain.certificates`, 16).map(
    (cert, i) =>
      asBase64(
        asRecord(cert, `${path}.certChain.certificates[${i}]`).rawBytes,
        `${path}.certChain.certificates[${i}].rawBytes`,
      ),
  );
  if (certificates.length === 0) throw new SyntaxError(`${path}.certChain: no certificates`);
  const operator = asOptionalString(record.operator, `${path}.operator`);
  return {
    subject: {
      ...(organization !== undefined ? { organization } : {}),
      ...(commonName !== undefined ? { commonName } : {}),
    },
    uri: asString(record.uri ?? "", `${path}.uri`),
    certificates,
    ...parseAuthorityValidity(record.validFor, `${path}.validFor`),
    ...(operator ? { operator } : {}),
  };
}

/**
 * Parse a trusted root from JSON text, bytes or an already-parsed value.
 *
 * @example Read the trusted_root.json the embedded stack writes
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrustedRoot } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * const dir = await Deno.makeTempDir();
 * {
 *   // With a ready file, the stack writes trusted_root.json and signing_config.json beside it.
 *   await using stack = await startStack({ readyFile: `${dir}/ready.json` });
 *   const trustedRoot = parseTrustedRoot(await Deno.readTextFile(stack.ready.trustedRoot!));
 *   assert.equal(trustedRoot.tlogs[0]?.baseUrl, stack.url);
 *   assert.equal(trustedRoot.certificateAuthorities.length, 1);
 *   assert.equal(trustedRoot.timestampAuthorities.length, 1);
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function parseTrustedRoot(input: string | Uint8Array | unknown): TrustedRoot {
  try {
    const json = typeof input === "string" || input instanceof Uint8Array
      ? parseJson(input, "trusted root")
      : input;
    const record = asRecord(json, "trustedRoot");
    const mediaType = asString(record.mediaType, "trustedRoot.mediaType");
    if (!(TRUSTED_ROOT_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
      throw new SyntaxError(`unsupported mediaType "${mediaType}"`);
    }
    const list = <T>(key: string, parse: (value: unknown, path: string) => T): T[] =>
      asOptionalArray(record[key], `trustedRoot.${key}`, MAX_ROOT_ITEMS).map((item, i) =>
        parse(item, `trustedRoot.${key}[${i}]`)
      );
    return {
      mediaType,
      tlogs: list("tlogs", parseLog),
      ctlogs: list("ctlogs", parseLog),
      certificateAuthorities: list("certificateAuthorities", parseAuthority),
      timestampAuthorities: list("timestampAuthorities", parseAuthority),
    };
  } catch (error) {
    if (isCosignError(error, "TRUST_MALFORMED")) throw error;
    throw malformed((error as Error).message, error);
  }
}

/** The logs whose log ID equals `logId`. */
export function findLogs(logs: readonly TrustedLog[], logId: Uint8Array): TrustedLog[] {
  return logs.filter((log) => equalBytes(log.logId, logId));
}

/** The JSON form of a `validFor` window (RFC 3339 times). */
export function encodeValidity(period: ValidityPeriod) {
  return {
    start: period.start.toISOString(),
    ...(period.end ? { end: period.end.toISOString() } : {}),
  };
}

/** The JSON form of a trusted root (v0.1 media type), as `dcosign serve` writes it. */
export function encodeTrustedRoot(root: Omit<TrustedRoot, "mediaType">): Record<string, unknown> {
  const log = (entry: TrustedLog) => ({
    baseUrl: entry.baseUrl,
    hashAlgorithm: "SHA2_256",
    publicKey: {
      rawBytes: toBase64(entry.key.spki),
      keyDetails: entry.keyDetails,
      validFor: encodeValidity(entry.validFor),
    },
    logId: { keyId: toBase64(entry.logId) },
    ...(entry.checkpointKeyId
      ? { checkpointKeyId: { keyId: toBase64(entry.checkpointKeyId) } }
      : {}),
    ...(entry.operator ? { operator: entry.operator } : {}),
  });
  const authority = (entry: TrustedAuthority) => ({
    subject: entry.subject,
    uri: entry.uri,
    certChain: { certificates: entry.certificates.map((der) => ({ rawBytes: toBase64(der) })) },
    validFor: encodeValidity(entry.validFor),
    ...(entry.operator ? { operator: entry.operator } : {}),
  });
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPES[0],
    tlogs: root.tlogs.map(log),
    certificateAuthorities: root.certificateAuthorities.map(authority),
    ctlogs: root.ctlogs.map(log),
    timestampAuthorities: root.timestampAuthorities.map(authority),
  };
}

/** The `keyDetails` name of a key, as trusted roots and bundles spell it. */
export function keyDetailsOf(key: PublicKey): string {
  switch (key.kind) {
    case "ecdsa-p256":
      return "PKIX_ECDSA_P256_SHA_256";
    case "ecdsa-p384":
      return "PKIX_ECDSA_P384_SHA_384";
    case "ecdsa-p521":
      return "PKIX_ECDSA_P521_SHA_512";
    case "ed25519":
      return "PKIX_ED25519";
    case "rsa":
      return `PKIX_RSA_PKCS1V15_${key.rsaBits}_SHA256`;
  }
}

/** Hex log ID of a key, as Rekor JSON and legacy bundles spell it. */
export function logIdHex(key: PublicKey): string {
  return toHex(key.fingerprint());
}
