/**
 * The pre-bundle cosign formats that v3 still reads and can write (cosign-spec.md sections 6.1,
 * 6.2 and 11): the Rekor bundle annotation `dev.sigstore.cosign/bundle`, the `sign-blob --bundle`
 * file, and the RFC 3161 annotation `dev.sigstore.cosign/rfc3161timestamp`.
 *
 * A legacy Rekor bundle converts to the one `TlogEntry` shape verification takes: SET only, no
 * inclusion proof, `kindVersion` read from the logged body. The SET signs the *base64 text* of
 * the body and the hex log ID (gotcha 4), so parsing insists both are in the one canonical form
 * `tlogEntryToLegacyBundle` writes back: the verifier then checks the SET over exactly the bytes
 * it was given (SECURITY.md rule 1). A non-string `body` is refused, where cosign panicked.
 *
 * @module
 */

import { type Bytes, fromHex, fromUtf8, toBase64, toHex, utf8 } from "../util/bytes.ts";
import { decodePemBlocks } from "../util/pem.ts";
import { encodeGoJson, GoStruct } from "../util/go_json.ts";
import {
  asNonEmptyString,
  asRecord,
  asSafeInteger,
  asStrictRecord,
  asString,
  asWrappedBase64,
  isRecord,
  type JsonRecord,
  parseJson,
} from "../util/json.ts";
import { parseDer, TAG } from "../util/der.ts";
import { CosignError } from "../errors.ts";
import { PublicKey } from "../keys/public_key.ts";
import type { TlogEntry } from "../tlog/entry.ts";

/** Error codes raised here. */
export type LegacyBundleErrorCode = "BUNDLE_MALFORMED" | "BUNDLE_TOO_LARGE";

/** Largest legacy bundle, blob bundle or timestamp annotation read by default. */
export const MAX_LEGACY_BUNDLE_BYTES = 4 << 20;

/** Largest canonical Rekor body accepted inside a legacy bundle. */
const MAX_BODY_BYTES = 1 << 20;

/** Most certificates in a legacy `cert` field (leaf plus intermediates). */
const MAX_CERTIFICATES = 10;

function malformed(what: string, message: string, cause?: unknown): CosignError {
  return new CosignError("BUNDLE_MALFORMED", `Invalid ${what}: ${message}`, { cause });
}

/** Parse JSON text or bytes, or take an already parsed value, bounded in size. */
function readJson(input: unknown, what: string, maxBytes: number): unknown {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return input;
  const size = typeof input === "string" ? input.length : input.byteLength;
  if (size > maxBytes) {
    throw new CosignError(
      "BUNDLE_TOO_LARGE",
      `Cannot read ${what}: ${size} bytes exceeds the limit of ${maxBytes}`,
    );
  }
  try {
    return parseJson(input, what);
  } catch (error) {
    throw malformed(what, (error as Error).message, error);
  }
}

// ---------------------------------------------------------------------------------------------
// The Rekor bundle annotation (section 6.1)

/**
 * Convert a legacy Rekor bundle, `{"SignedEntryTimestamp","Payload":{"body","integratedTime",
 * "logIndex","logID"}}` (exact key names), given as JSON text, bytes or a parsed value, into a
 * `TlogEntry` with the SET and no proof. Raises `BUNDLE_MALFORMED` naming the field.
 *
 * @example
 * ```ts
 * const entry = legacyBundleToTlogEntry(annotations["dev.sigstore.cosign/bundle"]);
 * ```
 */
export function legacyBundleToTlogEntry(
  input: string | Uint8Array | unknown,
  options: { maxBytes?: number } = {},
): TlogEntry {
  const what = "legacy Rekor bundle";
  const value = readJson(input, what, options.maxBytes ?? MAX_LEGACY_BUNDLE_BYTES);
  try {
    const root = asStrictRecord(value, "bundle", ["SignedEntryTimestamp", "Payload"]);
    const signedEntryTimestamp = nonEmptyBase64(root.SignedEntryTimestamp, "SignedEntryTimestamp");
    const payload = asStrictRecord(root.Payload, "Payload", [
      "body",
      "integratedTime",
      "logIndex",
      "logID",
    ]);
    if (typeof payload.body !== "string") {
      throw new SyntaxError("Payload.body: expected a base64 string");
    }
    const body = payload.body;
    if (body.length > (MAX_BODY_BYTES * 4) / 3 + 4) {
      throw new SyntaxError("Payload.body: too large");
    }
    const canonicalizedBody = nonEmptyBase64(body, "Payload.body");
    if (toBase64(canonicalizedBody) !== body) {
      throw new SyntaxError(
        "Payload.body: not canonical standard base64 (the SET signs this text)",
      );
    }
    const integratedTime = nonNegative(payload.integratedTime, "Payload.integratedTime");
    const logIndex = nonNegative(payload.logIndex, "Payload.logIndex");
    const logIdHex = asString(payload.logID, "Payload.logID");
    if (!/^[0-9a-f]{64}$/.test(logIdHex)) {
      throw new SyntaxError("Payload.logID: expected 64 lowercase hex digits");
    }
    return {
      logIndex,
      logId: fromHex(logIdHex),
      kindVersion: readKindVersion(canonicalizedBody),
      integratedTime,
      inclusionPromise: { signedEntryTimestamp },
      canonicalizedBody,
    };
  } catch (error) {
    throw malformed(what, (error as Error).message, error);
  }
}

function nonEmptyBase64(value: unknown, path: string): Bytes {
  const bytes = asWrappedBase64(asNonEmptyString(value, path), path);
  if (bytes.length === 0) throw new SyntaxError(`${path}: must not be empty`);
  return bytes;
}

/** A JSON number that is a non-negative int64 (Go `int64` fields are numbers here). */
function nonNegative(value: unknown, path: string): bigint {
  const number = asSafeInteger(value, path);
  if (number < 0) throw new SyntaxError(`${path}: must not be negative`);
  return BigInt(number);
}

/** `kind` and `apiVersion` of a Rekor entry body (section 5.2). */
function readKindVersion(body: Bytes): { kind: string; version: string } {
  const record = asRecord(parseJson(fromUtf8(body), "Rekor entry body"), "Payload.body");
  return {
    kind: asNonEmptyString(record.kind, "Payload.body.kind"),
    version: asNonEmptyString(record.apiVersion, "Payload.body.apiVersion"),
  };
}

/**
 * The legacy Rekor bundle JSON of an entry, as cosign's Go struct writes it. The entry needs a
 * SET: a proof-only entry (Rekor v2) has no legacy form and raises `TypeError`.
 */
export function tlogEntryToLegacyBundle(entry: TlogEntry): string {
  return encodeGoJson(legacyBundleStruct(entry));
}

function legacyBundleStruct(entry: TlogEntry): GoStruct {
  if (entry.inclusionPromise === undefined) {
    throw new TypeError("A legacy Rekor bundle needs a signed entry timestamp");
  }
  return new GoStruct([
    ["SignedEntryTimestamp", toBase64(entry.inclusionPromise.signedEntryTimestamp)],
    [
      "Payload",
      new GoStruct([
        ["body", toBase64(entry.canonicalizedBody)],
        ["integratedTime", entry.integratedTime],
        ["logIndex", entry.logIndex],
        ["logID", toHex(entry.logId)],
      ]),
    ],
  ]);
}

// ---------------------------------------------------------------------------------------------
// The `sign-blob --bundle` file (section 6.2)

/** A legacy blob bundle file. */
export interface LegacyBlobBundle {
  /** The signature; for `attest-blob`, the DSSE envelope JSON bytes. */
  readonly signature: Bytes;
  /** The decoded `cert` field: PEM text bytes or DER; classify with `classifyLegacyVerifier`. */
  readonly cert?: Bytes;
  /** The `rekorBundle` field as a SET-only entry, when the file has one. */
  readonly rekorBundle?: TlogEntry;
}

/**
 * Parse a `cosign sign-blob --bundle` file: `{"base64Signature","cert"?,"rekorBundle"?}`. Raises
 * `BUNDLE_MALFORMED` (a `null` or empty signature included).
 */
export function parseLegacyBlobBundle(
  input: string | Uint8Array | unknown,
  options: { maxBytes?: number } = {},
): LegacyBlobBundle {
  const what = "legacy blob bundle";
  const value = readJson(input, what, options.maxBytes ?? MAX_LEGACY_BUNDLE_BYTES);
  let root: JsonRecord;
  let result: LegacyBlobBundle;
  try {
    root = asStrictRecord(value, "bundle", ["base64Signature", "cert", "rekorBundle"]);
    result = { signature: nonEmptyBase64(root.base64Signature, "base64Signature") };
    if (root.cert !== undefined && root.cert !== null && root.cert !== "") {
      result = { ...result, cert: nonEmptyBase64(root.cert, "cert") };
    }
  } catch (error) {
    throw malformed(what, (error as Error).message, error);
  }
  if (root.rekorBundle === undefined || root.rekorBundle === null) return result;
  if (!isRecord(root.rekorBundle)) throw malformed(what, "rekorBundle: expected an object");
  return { ...result, rekorBundle: legacyBundleToTlogEntry(root.rekorBundle) };
}

/**
 * Write a legacy blob bundle file as cosign does: `base64Signature` always, `cert` (base64 of
 * the PEM given, or of the DER certificate as cosign's image `sign --bundle` writes it) and
 * `rekorBundle` only when present.
 */
export function encodeLegacyBlobBundle(bundle: {
  readonly signature: Uint8Array;
  /** The signing certificate or public key as PEM text. */
  readonly verifierPem?: string;
  /** The signing certificate as DER (instead of `verifierPem`). */
  readonly certificateDer?: Uint8Array;
  readonly rekorBundle?: TlogEntry;
}): string {
  const cert = bundle.certificateDer
    ? toBase64(bundle.certificateDer)
    : bundle.verifierPem
    ? toBase64(utf8(bundle.verifierPem))
    : undefined;
  return encodeGoJson(
    new GoStruct([
      ["base64Signature", toBase64(bundle.signature)],
      ["cert", cert],
      [
        "rekorBundle",
        bundle.rekorBundle === undefined ? undefined : legacyBundleStruct(bundle.rekorBundle),
      ],
    ]),
  );
}

/** What the `cert` field of a legacy blob bundle holds. */
export type LegacyVerifier =
  /** DER certificates, leaf first (the field held one or more PEM certificates, or a DER one). */
  | { readonly kind: "certificate"; readonly certificates: readonly Bytes[] }
  /** A public key (the field held a `PUBLIC KEY` PEM). */
  | { readonly kind: "publicKey"; readonly key: PublicKey };

/**
 * Classify the decoded `cert` field the way `verify-blob` tries it (section 6.2): PEM
 * certificates, else a PEM public key, else a DER certificate (legacy `sign --bundle` wrote
 * b64(DER)). Anything else raises `BUNDLE_MALFORMED`.
 */
export function classifyLegacyVerifier(cert: Uint8Array): LegacyVerifier {
  const what = "legacy bundle certificate";
  let text: string | undefined;
  try {
    text = fromUtf8(cert);
  } catch {
    text = undefined; // binary: DER
  }
  if (text !== undefined && text.includes("-----BEGIN ")) {
    let blocks;
    try {
      blocks = decodePemBlocks(text);
    } catch (error) {
      throw malformed(what, (error as Error).message, error);
    }
    const certificates = blocks.filter((b) => b.type === "CERTIFICATE").map((b) => b.bytes);
    if (certificates.length > MAX_CERTIFICATES) {
      throw malformed(what, `more than ${MAX_CERTIFICATES} certificates`);
    }
    if (certificates.length > 0) {
      for (const der of certificates) checkDerSequence(der, what);
      return { kind: "certificate", certificates };
    }
    const key = blocks.find((b) => b.type === "PUBLIC KEY");
    if (key) return { kind: "publicKey", key: PublicKey.fromSpki(key.bytes) };
    throw malformed(what, "no CERTIFICATE or PUBLIC KEY PEM block");
  }
  const der = Uint8Array.from(cert);
  checkDerSequence(der, what);
  return { kind: "certificate", certificates: [der] };
}

function checkDerSequence(der: Bytes, what: string): void {
  try {
    parseDer(der, TAG.SEQUENCE);
  } catch (error) {
    throw malformed(what, `not a DER certificate: ${(error as Error).message}`, error);
  }
}

// ---------------------------------------------------------------------------------------------
// The RFC 3161 annotation (section 11)

/**
 * The DER `TimeStampResp` in a `{"SignedRFC3161Timestamp":"<b64>"}` annotation or
 * `--rfc3161-timestamp` file. Raises `BUNDLE_MALFORMED`.
 */
export function parseRfc3161Annotation(
  input: string | Uint8Array | unknown,
  options: { maxBytes?: number } = {},
): Bytes {
  const what = "RFC 3161 timestamp annotation";
  const value = readJson(input, what, options.maxBytes ?? MAX_LEGACY_BUNDLE_BYTES);
  try {
    const root = asStrictRecord(value, "annotation", ["SignedRFC3161Timestamp"]);
    return nonEmptyBase64(root.SignedRFC3161Timestamp, "SignedRFC3161Timestamp");
  } catch (error) {
    throw malformed(what, (error as Error).message, error);
  }
}

/** The RFC 3161 annotation value for a DER `TimeStampResp`, as cosign writes it. */
export function encodeRfc3161Annotation(timestampResponse: Uint8Array): string {
  if (timestampResponse.length === 0) throw new RangeError("Empty timestamp response");
  return encodeGoJson(new GoStruct([["SignedRFC3161Timestamp", toBase64(timestampResponse)]]));
}
