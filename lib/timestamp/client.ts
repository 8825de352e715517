/**
 * RFC 3161 requests and the TSA client (cosign-spec.md section 11, "Signing"): encoding and
 * decoding `TimeStampReq` (RFC 3161 section 2.4.1), and asking a TSA to timestamp a signature.
 *
 * The client checks that the answer is granted and echoes our imprint and nonce, then returns
 * the `TimeStampResp` verbatim for the bundle; whether a trusted authority vouches for it is
 * checked later, by `verifyTimestamp` in `lib/timestamp/token.ts`. Responses are read against a byte
 * budget before parsing (SECURITY.md rule 4).
 *
 * @module
 */

import { readAtMost } from "../util/read_bounded.ts";
import { type Bytes, digest, equalBytes, type HashName, preview, toHex } from "../util/bytes.ts";
import {
  at,
  children,
  contextTag,
  derBoolean,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  parseDer,
  readBoolean,
  readInteger,
  readOctetString,
  readOid,
  readSmallInteger,
  TAG,
} from "../util/der.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { HASH_OID } from "../x509/oids.ts";
import { MAX_TIMESTAMP_BYTES, parseSignedTimestamp, requireHash } from "./token.ts";
import { readAlgorithm } from "../x509/certificate.ts";

/** Error codes raised here (parsing the answer raises `lib/timestamp/token.ts`'s codes too). */
export type TimestampClientErrorCode =
  | "TSA_MALFORMED"
  | "TSA_UNSUPPORTED_HASH"
  | "TSA_IMPRINT_MISMATCH"
  | "TSA_REQUEST_FAILED"
  | "TSA_RESPONSE_TOO_LARGE";

/** A parsed TimeStampReq (RFC 3161 section 2.4.1). */
export interface TimestampRequest {
  readonly hash: HashName;
  readonly hashedMessage: Bytes;
  readonly policy?: string;
  readonly nonce?: bigint;
  readonly certReq: boolean;
}

/** Options of `encodeTimestampRequest`. */
export interface TimestampRequestOptions {
  /** Imprint hash (default sha256). */
  readonly hash?: HashName;
  /** Default: 8 random bytes. */
  readonly nonce?: bigint;
  /** Ask for the TSA certificate in the token (default true). */
  readonly certReq?: boolean;
  readonly policy?: string;
}

/** Encode a TimeStampReq over `hash(signatureBytes)`; returns the DER and the nonce used. */
export function encodeTimestampRequest(
  signatureBytes: Uint8Array,
  options: TimestampRequestOptions = {},
): { request: Bytes; nonce: bigint } {
  const hash = options.hash ?? "sha256";
  const nonce = options.nonce ??
    BigInt(`0x${toHex(crypto.getRandomValues(new Uint8Array(8)))}`);
  const request = derSequence(
    derInteger(1),
    derSequence(
      derSequence(derOid(HASH_OID[hash]), derNull()),
      derOctetString(digest(hash, signatureBytes)),
    ),
    ...(options.policy ? [derOid(options.policy)] : []),
    derInteger(nonce),
    ...(options.certReq ?? true ? [derBoolean(true)] : []),
  );
  return { request, nonce };
}

/** Decode a TimeStampReq; an unsupported hash raises `TSA_UNSUPPORTED_HASH`. */
export function parseTimestampRequest(bytes: Uint8Array): TimestampRequest {
  try {
    if (bytes.length > MAX_TIMESTAMP_BYTES) throw new SyntaxError("request too large");
    const fields = children(parseDer(bytes, TAG.SEQUENCE));
    if (readSmallInteger(at(fields, 0, "version")) !== 1) throw new SyntaxError("version");
    const imprint = children(at(fields, 1, "messageImprint"), TAG.SEQUENCE);
    const hash = requireHash(readAlgorithm(at(imprint, 0, "hashAlgorithm")).oid);
    const hashedMessage = readOctetString(at(imprint, 1, "hashedMessage"));
    if (hashedMessage.length !== digest(hash, new Uint8Array(0)).length) {
      throw new SyntaxError("hashedMessage length does not fit the hash");
    }
    let policy: string | undefined;
    let nonce: bigint | undefined;
    let certReq = false;
    for (const field of fields.slice(2)) {
      if (field.tag === TAG.OID) policy = readOid(field);
      else if (field.tag === TAG.INTEGER) nonce = readInteger(field);
      else if (field.tag === TAG.BOOLEAN) certReq = readBoolean(field);
      else if (field.tag !== contextTag(0, true)) throw new SyntaxError("unexpected field");
    }
    return {
      hash,
      hashedMessage,
      ...(policy ? { policy } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
      certReq,
    };
  } catch (error) {
    if (error instanceof CosignError) throw error;
    throw new CosignError("TSA_MALFORMED", `Invalid timestamp request: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** Options of `requestTimestamp`. */
export interface RequestTimestampOptions extends TimestampRequestOptions {
  readonly fetch?: typeof globalThis.fetch;
  /** Largest response accepted (default 64 KiB). */
  readonly maxResponseBytes?: number;
  readonly signal?: AbortSignal;
}

/**
 * Ask the TSA at `url` (a full endpoint) to timestamp `signatureBytes`. Returns the DER
 * `TimeStampResp` to store verbatim, after checking it is granted and echoes our imprint and
 * nonce. Trust is checked later by `verifyTimestamp`.
 */
export async function requestTimestamp(
  url: string,
  signatureBytes: Uint8Array,
  options: RequestTimestampOptions = {},
): Promise<Bytes> {
  const { request, nonce } = encodeTimestampRequest(signatureBytes, options);
  const limit = options.maxResponseBytes ?? MAX_TIMESTAMP_BYTES;
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, {
      method: "POST",
      headers: { "Content-Type": "application/timestamp-query" },
      body: request,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (cause) {
    throw new CosignError(
      "TSA_REQUEST_FAILED",
      `Cannot reach TSA "${url}": ${errorMessage(cause)}`,
      {
        cause,
      },
    );
  }
  if (response.status !== 200 && response.status !== 201) {
    const text = await readLimited(response, 1024).then(
      (b) => new TextDecoder().decode(b),
      () => "",
    );
    throw new CosignError(
      "TSA_REQUEST_FAILED",
      `TSA "${url}" answered ${response.status}: "${preview(text.trim(), 200)}"`,
    );
  }
  const body = await readLimited(response, limit);
  const token = parseSignedTimestamp(body);
  const hash = options.hash ?? "sha256";
  if (
    token.tstInfo.hashAlgorithm !== HASH_OID[hash] ||
    !equalBytes(token.tstInfo.hashedMessage, digest(hash, signatureBytes))
  ) {
    throw new CosignError("TSA_IMPRINT_MISMATCH", `TSA "${url}" timestamped another imprint`);
  }
  if (token.tstInfo.nonce !== nonce) {
    throw new CosignError("TSA_MALFORMED", `TSA "${url}" did not echo the request nonce`);
  }
  return body;
}

async function readLimited(response: Response, limit: number): Promise<Bytes> {
  const bytes = await readAtMost(response, limit);
  if (bytes === undefined) {
    throw new CosignError("TSA_RESPONSE_TOO_LARGE", `TSA response is larger than ${limit} bytes`);
  }
  return bytes;
}
