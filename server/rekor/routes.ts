/**
 * Rekor v1 REST routes over a `TransparencyLog` (cosign-spec.md section 5.1), the wire-level
 * half of `dcosign serve`'s transparency log. Thin on purpose: parsing, bounds and status codes
 * here; validation, storage and proofs in `transparency_log.ts`.
 *
 * Bounds: request bodies up to `MAX_REQUEST_BYTES` (4 MiB, room for an attestation envelope),
 * batches of at most 10 items, search answers of at most 1000 UUIDs. The search API takes key
 * content only and never fetches a URL (SECURITY.md row 13, rekor GHSA-4c4x-jm2x-pf9j). A 500
 * answer says "internal error" and nothing else (rekor #2801).
 *
 * @module
 */

import { readRequestBody } from "../_request_body.ts";
import { type Context, Hono } from "../_deps.ts";
import { fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import { decodePem } from "../../lib/util/pem.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";
import { canonicalizeProposedEntry } from "../../lib/tlog/rekor/canonicalize.ts";
import {
  encodeExactJson,
  encodeLogEntry,
  MAX_BATCH,
  parseExactJson,
  type RekorLogEntry,
} from "../../lib/tlog/rekor/client.ts";
import type { TransparencyLog } from "./transparency_log.ts";

/** Largest request body accepted. */
export const MAX_REQUEST_BYTES = 4 << 20;

/** Options of `rekorRoutes`. */
export interface RekorRoutesOptions {
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(encodeExactJson(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function errorBody(status: number, message: string): Response {
  return json(status, { code: status, message });
}

async function readBody(c: Context): Promise<unknown> {
  if (c.req.raw.body === null) throw new HttpError(400, "Request body is empty");
  const bytes = await readRequestBody(c.req.raw, MAX_REQUEST_BYTES);
  if (bytes === undefined) {
    throw new HttpError(413, `Request body larger than ${MAX_REQUEST_BYTES} bytes`);
  }
  try {
    return parseExactJson(fromUtf8(bytes), "request");
  } catch (error) {
    throw new HttpError(400, errorMessage(error));
  }
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function asBatch(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new HttpError(400, `${what} must be an array`);
  if (value.length === 0 || value.length > MAX_BATCH) {
    throw new HttpError(422, `${what} must hold 1 to ${MAX_BATCH} items`);
  }
  return value;
}

function parseIndex(value: unknown, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^\d{1,20}$/.test(value)) return BigInt(value);
  throw new HttpError(400, `${what} must be a non-negative integer`);
}

const ENTRY_ID = /^(?:([0-9a-f]{16}))?([0-9a-f]{64})$/;

function entryMap(entries: readonly RekorLogEntry[]): Record<string, unknown> {
  return Object.assign({}, ...entries.map(encodeLogEntry));
}

/** The Rekor v1 API over `log`, for mounting at the root of the stack app. */
export function rekorRoutes(log: TransparencyLog, options: RekorRoutesOptions = {}): Hono {
  const app = new Hono();
  const route = (handler: (c: Context) => Promise<Response> | Response) => async (c: Context) => {
    try {
      return await handler(c);
    } catch (error) {
      if (error instanceof HttpError) return errorBody(error.status, error.message);
      // Bad input (an invalid entry, key or certificate) is the client's error; the rest is
      // ours and is not described (rekor #2801).
      if (isCosignError(error) && /^(REKOR_ENTRY|REKOR_BODY|KEY|X509)_/.test(error.code)) {
        return errorBody(400, error.message);
      }
      if (error instanceof RangeError) return errorBody(400, error.message);
      options.onError?.(error);
      return errorBody(500, "Internal error");
    }
  };

  const byId = async (id: string): Promise<RekorLogEntry | undefined> => {
    const match = ENTRY_ID.exec(id.toLowerCase());
    if (!match) return undefined;
    if (match[1] !== undefined && BigInt(`0x${match[1]}`) !== log.treeId) return undefined;
    return await log.getByUuid(match[2]!);
  };

  const locationOf = (c: Context, entry: RekorLogEntry) =>
    new URL(`/api/v1/log/entries/${entry.entryId}`, c.req.url).href;

  app.post(
    "/api/v1/log/entries",
    route(async (c) => {
      const { entry, created } = await log.append(await readBody(c));
      const headers = { etag: entry.uuid, location: locationOf(c, entry) };
      if (!created) {
        return json(409, {
          code: 409,
          message:
            `An equivalent entry already exists in the transparency log with UUID ${entry.uuid}`,
        }, headers);
      }
      return json(201, entryMap([entry]), headers);
    }),
  );

  app.get(
    "/api/v1/log/entries",
    route(async (c) => {
      const text = c.req.query("logIndex");
      if (text === undefined) throw new HttpError(400, "logIndex is required");
      const entry = await log.getByIndex(parseIndex(text, "logIndex"));
      if (!entry) throw new HttpError(404, "No entry at that log index");
      return json(200, entryMap([entry]));
    }),
  );

  app.get(
    "/api/v1/log/entries/:id",
    route(async (c) => {
      const entry = await byId(c.req.param("id") ?? "");
      if (!entry) throw new HttpError(404, "Entry not found");
      return json(200, entryMap([entry]));
    }),
  );

  app.post(
    "/api/v1/log/entries/retrieve",
    route(async (c) => {
      const query = asObject(await readBody(c), "Request");
      const found: RekorLogEntry[] = [];
      if (query.entryUUIDs !== undefined) {
        for (const [i, id] of asBatch(query.entryUUIDs, "entryUUIDs").entries()) {
          if (typeof id !== "string") throw new HttpError(400, `entryUUIDs[${i}] must be a string`);
          const entry = await byId(id);
          if (entry) found.push(entry);
        }
      } else if (query.logIndexes !== undefined) {
        for (const [i, index] of asBatch(query.logIndexes, "logIndexes").entries()) {
          const entry = await log.getByIndex(parseIndex(index, `logIndexes[${i}]`));
          if (entry) found.push(entry);
        }
      } else if (query.entries !== undefined) {
        for (const proposed of asBatch(query.entries, "entries")) {
          const { uuid } = await canonicalizeProposedEntry(proposed);
          const entry = await log.getByUuid(uuid);
          if (entry) found.push(entry);
        }
      } else {
        throw new HttpError(400, "One of entryUUIDs, logIndexes or entries is required");
      }
      return json(200, found.map((entry) => encodeLogEntry(entry)));
    }),
  );

  app.post(
    "/api/v1/index/retrieve",
    route(async (c) => {
      const query = asObject(await readBody(c), "Request");
      const operator = query.operator ?? "or";
      if (operator !== "and" && operator !== "or") {
        throw new HttpError(400, 'operator must be "and" or "or"');
      }
      if (query.email !== undefined) {
        throw new HttpError(422, "Search by email is not supported by this log");
      }
      const terms: { hash?: string; publicKey?: Uint8Array } = {};
      if (query.hash !== undefined) {
        if (typeof query.hash !== "string") throw new HttpError(400, "hash must be a string");
        terms.hash = query.hash.toLowerCase();
      }
      if (query.publicKey !== undefined) {
        const key = asObject(query.publicKey, "publicKey");
        // Never fetch: a key URL would make this server an SSRF proxy (rekor GHSA-4c4x).
        if (key.url !== undefined) throw new HttpError(400, "publicKey.url is not supported");
        if (key.format !== "x509") {
          throw new HttpError(422, 'Only "x509" public keys are supported');
        }
        if (typeof key.content !== "string") {
          throw new HttpError(400, "publicKey.content must be a string");
        }
        terms.publicKey = keyContent(key.content);
      }
      if (terms.hash === undefined && terms.publicKey === undefined) {
        throw new HttpError(400, "hash or publicKey is required");
      }
      return json(200, log.searchIndexes(terms, operator));
    }),
  );

  app.get(
    "/api/v1/log",
    route(async () => {
      const info = await log.logInfo();
      return json(200, {
        rootHash: info.rootHash.toHex(),
        treeSize: info.treeSize,
        signedTreeHead: info.signedTreeHead,
        treeID: info.treeId,
        inactiveShards: [],
      });
    }),
  );

  app.get(
    "/api/v1/log/publicKey",
    route((c) => {
      const treeId = c.req.query("treeID");
      if (treeId !== undefined && treeId !== log.treeId.toString()) {
        throw new HttpError(404, "Unknown tree ID");
      }
      return new Response(log.publicKeyPem(), {
        headers: { "content-type": "application/x-pem-file" },
      });
    }),
  );

  app.get(
    "/api/v1/log/proof",
    route((c) => {
      const treeId = c.req.query("treeID");
      if (treeId !== undefined && treeId !== log.treeId.toString()) {
        throw new HttpError(404, "Unknown tree ID");
      }
      const first = parseIndex(c.req.query("firstSize") ?? "1", "firstSize");
      const lastText = c.req.query("lastSize");
      const last = lastText === undefined ? log.size : parseIndex(lastText, "lastSize");
      if (first < 1n || first > last || last > log.size) {
        throw new HttpError(400, `No consistency proof from ${first} to ${last}`);
      }
      const proof = log.consistencyProof(first, last);
      return json(200, {
        rootHash: proof.rootHash.toHex(),
        hashes: proof.hashes.map((h) => h.toHex()),
      });
    }),
  );

  return app;
}

/** Search key content: base64 of a PEM or DER key or certificate, or PEM text itself. */
function keyContent(content: string): Uint8Array {
  try {
    const text = content.includes("-----BEGIN") ? content : fromUtf8(fromBase64(content));
    if (text.includes("-----BEGIN")) {
      return decodePem(text, ["PUBLIC KEY", "CERTIFICATE"]).bytes;
    }
  } catch {
    // DER, or garbage: decided below
  }
  try {
    return fromBase64(content);
  } catch {
    throw new HttpError(400, "publicKey.content is neither PEM nor base64");
  }
}
