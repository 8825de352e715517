/**
 * HTTP plumbing of the embedded Rekor: errors with their status, Rekor's JSON error body, bounded
 * exact-JSON request bodies, batch and index parsing, and the wrapper that turns what a route
 * throws into an answer. No log state here.
 *
 * @module
 */

import { readRequestBody } from "../_request_body.ts";
import type { Context } from "../_deps.ts";
import { answeringErrors, type RouteWrapper } from "../_routes.ts";
import { fromUtf8 } from "../../lib/util/bytes.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";
import {
  encodeExactJson,
  encodeLogEntry,
  MAX_BATCH,
  parseExactJson,
  type RekorLogEntry,
} from "../../lib/tlog/rekor/client.ts";

/** Largest request body accepted. */
export const MAX_REQUEST_BYTES = 4 << 20;

/** An error answered with its status and message. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** A JSON answer, written as Rekor writes it. */
export function json(
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(encodeExactJson(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** Rekor's error body: `{code, message}`. */
export function errorBody(status: number, message: string): Response {
  return json(status, { code: status, message });
}

/** The request body as exact JSON (int64 kept), bounded by `MAX_REQUEST_BYTES`. */
export async function readBody(c: Context): Promise<unknown> {
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

/** `value` as a JSON object, else 400. */
export function asObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new HttpError(400, `${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** `value` as a batch of 1 to `MAX_BATCH` items, else 400 or 422. */
export function asBatch(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new HttpError(400, `${what} must be an array`);
  if (value.length === 0 || value.length > MAX_BATCH) {
    throw new HttpError(422, `${what} must hold 1 to ${MAX_BATCH} items`);
  }
  return value;
}

/** A log index or tree size from JSON or a query string, else 400. */
export function parseIndex(value: unknown, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^\d{1,20}$/.test(value)) return BigInt(value);
  throw new HttpError(400, `${what} must be a non-negative integer`);
}

/** An entry ID: an optional 16-hex tree ID, then the 64-hex leaf UUID. */
export const ENTRY_ID = /^(?:([0-9a-f]{16}))?([0-9a-f]{64})$/;

/** Entries as Rekor answers them: one object keyed by entry ID. */
export function entryMap(entries: readonly RekorLogEntry[]): Record<string, unknown> {
  return Object.assign({}, ...entries.map(encodeLogEntry));
}

/**
 * The log's `RouteWrapper`: `HttpError`s and bad input (an invalid entry, key or certificate) are
 * the client's error; the rest is ours, told to `onError` and not described (rekor #2801).
 */
export function routeWrapper(onError?: (error: unknown) => void): RouteWrapper {
  return answeringErrors((error) => {
    if (error instanceof HttpError) return errorBody(error.status, error.message);
    if (isCosignError(error) && /^(REKOR_ENTRY|REKOR_BODY|KEY|X509)_/.test(error.code)) {
      return errorBody(400, error.message);
    }
    if (error instanceof RangeError) return errorBody(400, error.message);
    onError?.(error);
    return errorBody(500, "Internal error");
  });
}
