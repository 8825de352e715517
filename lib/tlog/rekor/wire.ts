/**
 * The wire format of Rekor v1 answers (cosign-spec.md section 5.1): `LogEntry` and log-info
 * JSON, read exactly (int64 indexes can pass 2^53) and written exactly, and the conversion of a
 * Rekor entry to the shared `TlogEntry`. Re-exported by `server/rekor/routes.ts`.
 *
 * @module
 */

import { type Bytes, fromHex, toHex } from "../../util/bytes.ts";
import {
  asArray,
  asBase64,
  asOptionalString,
  asRecord,
  asString,
  type JsonRecord,
  parseJson,
} from "../../util/json.ts";
import { CosignError, errorMessage, isCosignError } from "../../errors.ts";
import { hashLeaf, MAX_PROOF_HASHES } from "../merkle.ts";
import { parseEntryBody } from "./bodies.ts";
import type { InclusionProof, TlogEntry } from "../entry.ts";

/** Error codes raised by the Rekor client and wire decoding. */
export type RekorClientErrorCode =
  | "REKOR_HTTP_ERROR"
  | "REKOR_NOT_FOUND"
  | "REKOR_RESPONSE_MALFORMED"
  | "REKOR_RESPONSE_TOO_LARGE"
  | "REKOR_RESPONSE_MISMATCH";

/** Default cap on a response body. */
export const MAX_RESPONSE_BYTES = 16 << 20;

/** Most items a batch request may carry (Rekor's own limit for retrieve). */
export const MAX_BATCH = 10;

/** Most UUIDs a search answer may list. */
export const MAX_SEARCH_RESULTS = 10_000;

/** An inclusion proof as Rekor reports it (tree-local index). */
export type RekorInclusionProof = InclusionProof;

/** One log entry of a Rekor answer. */
export interface RekorLogEntry {
  /** 64 lowercase hex: the RFC 6962 leaf hash of `body`. */
  readonly uuid: string;
  /** The key the server used: the UUID, or 16 hex of tree ID + UUID. */
  readonly entryId: string;
  /** The canonical body bytes. */
  readonly body: Bytes;
  /** Seconds since the epoch at which the log integrated the entry. */
  readonly integratedTime: bigint;
  /** SHA-256 of the log key's SPKI. */
  readonly logId: Bytes;
  /** Global (virtual) index. */
  readonly logIndex: bigint;
  /** The SET: the log's signature over the entry's promise. */
  readonly signedEntryTimestamp?: Bytes;
  /** Proof of inclusion in the log's current tree, when returned. */
  readonly inclusionProof?: RekorInclusionProof;
}

/** `GET /api/v1/log`. */
export interface RekorLogInfo {
  /** Root hash of the current tree. */
  readonly rootHash: Bytes;
  /** Number of entries in the current tree. */
  readonly treeSize: bigint;
  /** The signed checkpoint note. */
  readonly signedTreeHead: string;
  /** Decimal tree ID. */
  readonly treeId: string;
}

/** `GET /api/v1/log/proof`. */
export interface RekorConsistencyProof {
  /** Root hash of the tree of `lastSize`. */
  readonly rootHash: Bytes;
  /** The proof hashes. */
  readonly hashes: readonly Bytes[];
}

// ---------------------------------------------------------------------------------------------
// Exact JSON: integers beyond 2^53 become bigints when read and are written digit for digit.

const rawJson = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/**
 * Parse JSON text strictly (duplicate keys refused, lib/util/strict_json.ts) keeping integers
 * exact: unsafe integers come back as bigints.
 */
export function parseExactJson(text: string, what: string): unknown {
  return parseJson(text, what, { numbers: "exact" });
}

/** JSON text with bigints written as exact integers (for int64 fields). */
export function encodeExactJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) => (typeof v === "bigint" ? rawJson(v.toString()) : v),
  );
}

function asUint64(value: unknown, path: string): bigint {
  let result: bigint;
  if (typeof value === "bigint") result = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) result = BigInt(value);
  else if (typeof value === "string" && /^\d{1,20}$/.test(value)) result = BigInt(value);
  else throw new SyntaxError(`${path}: expected a non-negative integer`);
  if (result < 0n || result >= 1n << 64n) throw new SyntaxError(`${path}: out of range`);
  return result;
}

export function asHexBytes(value: unknown, path: string, length?: number): Bytes {
  const bytes = fromHex(asString(value, path));
  if (length !== undefined && bytes.length !== length) {
    throw new SyntaxError(`${path}: expected ${length} bytes`);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Decoding and encoding Rekor JSON

export const ENTRY_ID = /^(?:[0-9a-fA-F]{16})?([0-9a-fA-F]{64})$/;

export function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_RESPONSE_MALFORMED", `Invalid Rekor response: ${message}`, {
    cause,
  });
}

export function mismatch(message: string): CosignError {
  return new CosignError(
    "REKOR_RESPONSE_MISMATCH",
    `Rekor answered about something else: ${message}`,
  );
}

function decodeProof(value: unknown, path: string): RekorInclusionProof {
  const record = asRecord(value, path);
  const hashes = asArray(record.hashes ?? [], `${path}.hashes`, MAX_PROOF_HASHES)
    .map((h, i) => asHexBytes(h, `${path}.hashes[${i}]`, 32));
  return {
    logIndex: asUint64(record.logIndex, `${path}.logIndex`),
    rootHash: asHexBytes(record.rootHash, `${path}.rootHash`, 32),
    treeSize: asUint64(record.treeSize, `${path}.treeSize`),
    hashes,
    checkpoint: asOptionalString(record.checkpoint, `${path}.checkpoint`) ?? "",
  };
}

function decodeOne(entryId: string, value: unknown): RekorLogEntry {
  const match = ENTRY_ID.exec(entryId);
  if (!match) throw new SyntaxError(`entry ID "${entryId.slice(0, 100)}" is not 64 or 80 hex`);
  const path = `["${entryId}"]`;
  const record = asRecord(value, path);
  const body = asBase64(record.body, `${path}.body`);
  const uuid = match[1]!.toLowerCase();
  // The UUID is the leaf hash of the body: anything else is an answer about another entry.
  if (toHex(hashLeaf(body)) !== uuid) {
    throw mismatch(`entry "${uuid}" carries a body whose leaf hash differs`);
  }
  const verification = record.verification === undefined || record.verification === null
    ? {}
    : asRecord(record.verification, `${path}.verification`);
  const set = verification.signedEntryTimestamp;
  const proof = verification.inclusionProof;
  return {
    uuid,
    entryId: entryId.toLowerCase(),
    body,
    integratedTime: asUint64(record.integratedTime, `${path}.integratedTime`),
    logId: asHexBytes(record.logID, `${path}.logID`, 32),
    logIndex: asUint64(record.logIndex, `${path}.logIndex`),
    ...(set === undefined || set === null
      ? {}
      : { signedEntryTimestamp: asBase64(set, `${path}.verification.signedEntryTimestamp`) }),
    ...(proof === undefined || proof === null
      ? {}
      : { inclusionProof: decodeProof(proof, `${path}.verification.inclusionProof`) }),
  };
}

/**
 * Decode Rekor's `LogEntry` JSON: an object `{<entryId>: entry}`, or an array of such objects
 * (retrieve answers). Raises `REKOR_RESPONSE_MALFORMED` for a bad shape, `_MISMATCH` when an
 * entry's ID is not the leaf hash of its body.
 */
export function decodeLogEntries(json: unknown): RekorLogEntry[] {
  try {
    const maps = Array.isArray(json) ? asArray(json, "entries", MAX_SEARCH_RESULTS) : [json];
    const entries: RekorLogEntry[] = [];
    for (const [i, map] of maps.entries()) {
      const record = asRecord(map, `[${i}]`);
      for (const [entryId, value] of Object.entries(record)) {
        entries.push(decodeOne(entryId, value));
      }
    }
    return entries;
  } catch (error) {
    if (isCosignError(error)) throw error;
    throw malformed(errorMessage(error), error);
  }
}

/** The `{<entryId>: entry}` JSON of an entry, as Rekor writes it (int64 as exact numbers). */
export function encodeLogEntry(entry: RekorLogEntry): JsonRecord {
  const proof = entry.inclusionProof;
  return {
    [entry.entryId]: {
      body: entry.body.toBase64(),
      integratedTime: entry.integratedTime,
      logID: toHex(entry.logId),
      logIndex: entry.logIndex,
      verification: {
        ...(proof
          ? {
            inclusionProof: {
              checkpoint: proof.checkpoint,
              hashes: proof.hashes.map(toHex),
              logIndex: proof.logIndex,
              rootHash: toHex(proof.rootHash),
              treeSize: proof.treeSize,
            },
          }
          : {}),
        ...(entry.signedEntryTimestamp
          ? { signedEntryTimestamp: entry.signedEntryTimestamp.toBase64() }
          : {}),
      },
    },
  };
}

/**
 * The shared `TlogEntry` of a Rekor entry: hex log ID and hashes become bytes, and
 * `kindVersion` is read from the body (`REKOR_BODY_MALFORMED` when it cannot be).
 */
export function logEntryToTlogEntry(entry: RekorLogEntry): TlogEntry {
  const body = parseEntryBody(entry.body);
  return {
    logIndex: entry.logIndex,
    logId: entry.logId,
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: entry.integratedTime,
    ...(entry.signedEntryTimestamp
      ? { inclusionPromise: { signedEntryTimestamp: entry.signedEntryTimestamp } }
      : {}),
    ...(entry.inclusionProof ? { inclusionProof: entry.inclusionProof } : {}),
    canonicalizedBody: entry.body,
  };
}

/** Decode `GET /api/v1/log`. */
export function decodeLogInfo(json: unknown): RekorLogInfo {
  try {
    const record = asRecord(json, "logInfo");
    const treeId = record.treeID;
    return {
      rootHash: asHexBytes(record.rootHash, "rootHash", 32),
      treeSize: asUint64(record.treeSize, "treeSize"),
      signedTreeHead: asString(record.signedTreeHead, "signedTreeHead"),
      treeId: typeof treeId === "bigint" || typeof treeId === "number"
        ? String(treeId)
        : asString(treeId, "treeID"),
    };
  } catch (error) {
    throw malformed(errorMessage(error), error);
  }
}
