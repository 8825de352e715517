/**
 * DSSE envelopes and their pre-authentication encoding (cosign-spec.md section 3.3; DSSE v1.0
 * protocol.md and envelope.md).
 *
 * Readers accept both key orders, a missing or empty `keyid` and URL-safe base64, as the DSSE
 * spec requires. A parsed envelope keeps the exact bytes it came from (`raw`): a legacy
 * attestation layer must stay byte-identical to what Rekor logged (gotcha 1), so callers hash
 * or re-upload `envelopeBytes(env)`, never a re-serialization.
 *
 * @module
 */

import { type Bytes, concat, toBase64, utf8 } from "../util/bytes.ts";
import { encodeGoJson, GoStruct } from "../util/go_json.ts";
import {
  asArray,
  asNonEmptyString,
  asOptionalString,
  asStrictRecord,
  asString,
  asWrappedBase64,
  parseJson,
} from "../util/json.ts";
import { CosignError } from "../errors.ts";

/** Error codes raised by envelope handling. */
export type DsseErrorCode = "PAYLOAD_MALFORMED" | "PAYLOAD_TOO_LARGE" | "PAYLOAD_SIGNATURE_COUNT";

/** One envelope signature. */
export interface EnvelopeSignature {
  /** The signature bytes (ECDSA: DER). */
  readonly sig: Bytes;
  /** Unauthenticated key hint; left out when absent or empty (DSSE: never a security input). */
  readonly keyid?: string;
}

/** A DSSE envelope. */
export interface Envelope {
  /** How to interpret the payload, e.g. `application/vnd.in-toto+json`; covered by PAE. */
  readonly payloadType: string;
  /** The decoded payload: the bytes PAE covers. */
  readonly payload: Bytes;
  /** At least one signature (bundles: exactly one). */
  readonly signatures: readonly EnvelopeSignature[];
  /** The bytes this envelope was parsed from, when it was parsed from bytes or text. */
  readonly raw?: Bytes;
}

/** Options of `parseEnvelope`. */
export interface ParseEnvelopeOptions {
  /** Require exactly one signature, as bundles do (section 6.3); default: at least one. */
  readonly exactlyOneSignature?: boolean;
  /** Largest envelope read from bytes or text (default `MAX_ENVELOPE_BYTES`). */
  readonly maxBytes?: number;
}

/** Largest envelope read by default: cosign's attachment cap (SECURITY.md row 5). */
export const MAX_ENVELOPE_BYTES = 128 << 20;

/** Most signatures one envelope may carry. */
export const MAX_ENVELOPE_SIGNATURES = 16;

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths as ASCII
 * decimal byte counts (DSSE protocol.md). The signature covers these bytes.
 *
 * @example
 * ```ts
 * pae("http://example.com/HelloWorld", utf8("hello world"));
 * // "DSSEv1 29 http://example.com/HelloWorld 11 hello world"
 * ```
 */
export function pae(payloadType: string, payload: Uint8Array): Bytes {
  const type = utf8(payloadType);
  return concat(
    utf8(`DSSEv1 ${type.length} `),
    type,
    utf8(` ${payload.length} `),
    payload,
  );
}

/**
 * Parse a DSSE envelope from its bytes or text (kept as `raw`), or from an already parsed JSON
 * value. Malformed input raises `PAYLOAD_MALFORMED` naming the JSON path; a wrong signature
 * count `PAYLOAD_SIGNATURE_COUNT`; oversized input `PAYLOAD_TOO_LARGE`.
 */
export function parseEnvelope(
  input: string | Uint8Array | unknown,
  options: ParseEnvelopeOptions = {},
): Envelope {
  let raw: Bytes | undefined;
  let value = input;
  if (typeof input === "string" || input instanceof Uint8Array) {
    raw = typeof input === "string" ? utf8(input) : Uint8Array.from(input);
    const max = options.maxBytes ?? MAX_ENVELOPE_BYTES;
    if (raw.length > max) {
      throw new CosignError(
        "PAYLOAD_TOO_LARGE",
        `Cannot read DSSE envelope: ${raw.length} bytes exceeds the limit of ${max}`,
      );
    }
    try {
      value = parseJson(raw, "DSSE envelope");
    } catch (error) {
      throw new CosignError("PAYLOAD_MALFORMED", (error as Error).message, { cause: error });
    }
  }
  let envelope: Envelope;
  try {
    envelope = decodeEnvelopeJson(value, "envelope");
  } catch (error) {
    throw new CosignError(
      "PAYLOAD_MALFORMED",
      `Invalid DSSE envelope: ${(error as Error).message}`,
      { cause: error },
    );
  }
  checkSignatureCount(envelope, options.exactlyOneSignature ?? false);
  return raw === undefined ? envelope : { ...envelope, raw };
}

function checkSignatureCount(envelope: Envelope, exactlyOne: boolean): void {
  const count = envelope.signatures.length;
  if (count === 0 || (exactlyOne && count !== 1)) {
    throw new CosignError(
      "PAYLOAD_SIGNATURE_COUNT",
      `Invalid DSSE envelope: expected ${
        exactlyOne ? "exactly one signature" : "signatures"
      }, found ${count}`,
    );
  }
}

/**
 * Read an envelope from a parsed JSON value, throwing `SyntaxError` with the JSON path under
 * `path` (the bundle parser wraps it in its own code). Signatures are bounded before they are
 * walked; a `null` entry or a missing `sig` is malformed.
 */
export function decodeEnvelopeJson(value: unknown, path: string): Envelope {
  const record = asStrictRecord(value, path, ["payload", "payloadType", "signatures"]);
  const payloadType = asNonEmptyString(record.payloadType, `${path}.payloadType`);
  const payload = asWrappedBase64(record.payload, `${path}.payload`);
  const signatures = asArray(record.signatures, `${path}.signatures`, MAX_ENVELOPE_SIGNATURES).map(
    (item, i) => {
      const where = `${path}.signatures[${i}]`;
      const entry = asStrictRecord(item, where, ["sig", "keyid"]);
      const sigText = asString(entry.sig, `${where}.sig`);
      if (sigText === "") throw new SyntaxError(`${where}.sig: must not be empty`);
      const sig = asWrappedBase64(sigText, `${where}.sig`);
      const keyid = asOptionalString(entry.keyid, `${where}.keyid`);
      return keyid ? { sig, keyid } : { sig };
    },
  );
  return { payloadType, payload, signatures };
}

/** The envelope's original bytes when it has them, else its serialization (gotcha 1). */
export function envelopeBytes(envelope: Envelope): Bytes {
  return envelope.raw ?? utf8(serializeEnvelope(envelope));
}

/**
 * Serialize an envelope as cosign writes it. `"v3"` (default): Go `encoding/json` of the
 * protobuf struct, `{"payload","payloadType","signatures":[{"sig","keyid"?}]}` with an empty
 * keyid left out. `"legacy"`: older cosign's `{"payloadType","payload","signatures":[{"keyid",
 * "sig"}]}` with `keyid` always written. Standard base64 with padding either way.
 */
export function serializeEnvelope(
  envelope: Envelope,
  options: { style?: "v3" | "legacy" } = {},
): string {
  if (envelope.signatures.length === 0) throw new RangeError("An envelope needs a signature");
  const payload = toBase64(envelope.payload);
  if ((options.style ?? "v3") === "legacy") {
    return encodeGoJson(
      new GoStruct([
        ["payloadType", envelope.payloadType],
        ["payload", payload],
        [
          "signatures",
          envelope.signatures.map((s) =>
            new GoStruct([["keyid", s.keyid ?? ""], ["sig", toBase64(s.sig)]])
          ),
        ],
      ]),
    );
  }
  return encodeGoJson(
    new GoStruct([
      ["payload", payload],
      ["payloadType", envelope.payloadType],
      [
        "signatures",
        envelope.signatures.map((s) =>
          new GoStruct([["sig", toBase64(s.sig)], ["keyid", s.keyid || undefined]])
        ),
      ],
    ]),
  );
}
