/**
 * HTTP plumbing of the embedded registry: response builders with the distribution headers, OCI
 * error bodies, bounded body reading, and parsers for Content-Range, Range, Accept, paging and
 * Basic credentials. No registry state here.
 *
 * @module
 */

import { createHash, timingSafeEqual } from "node:crypto";
import { type Bytes, concatAll, fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import type { Context } from "../_deps.ts";
import { answeringErrors, type RouteWrapper } from "../_routes.ts";
import { OCI_ERRORS, RegistryError } from "./errors.ts";
import { normalizeMediaType } from "./_manifest.ts";
import type { UploadStatus } from "./_uploads.ts";

/** Credentials for Basic auth. */
export interface BasicCredentials {
  /** The user name. */
  readonly username: string;
  /** The password (or token). */
  readonly password: string;
}

const API_VERSION_HEADER = ["Docker-Distribution-API-Version", "registry/2.0"] as const;

/** A path parameter; the route patterns guarantee it is present. */
export function param(c: Context, key: string): string {
  const value = c.req.param(key);
  if (value === undefined) throw new TypeError(`Route has no parameter "${key}"`);
  return value;
}

/** A response with the distribution API version header every registry answer carries. */
export function respond(
  status: number,
  body: BodyInit | Bytes | null,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1], ...headers },
  });
}

/** A 200 JSON response. */
export function json(value: unknown, headers: Record<string, string> = {}): Response {
  return respond(200, JSON.stringify(value), { "Content-Type": "application/json", ...headers });
}

/** 201 for a stored blob: its Location and digest. */
export function created(name: string, digest: string): Response {
  return respond(201, null, {
    "Location": `/v2/${name}/blobs/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  });
}

/** Headers of a blob response of `length` bytes. */
export function blobHeaders(digest: string, length: number): Record<string, string> {
  return {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(length),
    "Docker-Content-Digest": digest,
    "ETag": `"${digest}"`,
    "Accept-Ranges": "bytes",
    // Content-addressed: the bytes behind a digest never change.
    "Cache-Control": "max-age=31536000",
  };
}

/** Location, Range and session id of an upload (spec "Pushing blobs"). */
export function uploadHeaders(status: UploadStatus): Record<string, string> {
  // The Range of an upload is inclusive; an empty upload reports "0-0" as distribution does.
  const end = status.size > 0 ? status.size - 1 : 0;
  return {
    "Location": `/v2/${status.repository}/blobs/uploads/${status.id}`,
    "Range": `0-${end}`,
    "Docker-Upload-UUID": status.id,
    "Content-Length": "0",
  };
}

/** An upload answer: 202 after a chunk, 204 for a status query. */
export function uploadResponse(code: number, status: UploadStatus): Response {
  return respond(code, null, uploadHeaders(status));
}

/**
 * An OCI error body (`{"errors":[{code,message,detail}]}`) for a `RegistryError`; anything else
 * is a 500 whose detail stays private. HEAD answers carry no body.
 */
export function errorResponse(
  error: unknown,
  method: string,
  onError?: (error: unknown) => void,
  headers: Record<string, string> = {},
): Response {
  let status = 500;
  let errors: { code: string; message: string; detail?: unknown }[];
  if (error instanceof RegistryError) {
    const mapping = OCI_ERRORS[error.code];
    status = mapping.status;
    errors = [error, ...error.items].map((item) => ({
      code: mapping.oci,
      message: item.message,
      ...(item.detail === undefined ? {} : { detail: item.detail }),
    }));
  } else {
    // No internal detail leaks to clients (rekor #2801); the operator hears about it.
    onError?.(error);
    errors = [{ code: "UNKNOWN", message: "Internal server error" }];
  }
  const body = method === "HEAD" ? null : JSON.stringify({ errors });
  return respond(status, body, { "Content-Type": "application/json", ...headers });
}

/** Read a request body of at most `max` bytes; larger is `SERVER_MANIFEST_TOO_LARGE`. */
export async function readBounded(request: Request, max: number): Promise<Bytes> {
  const declared = request.headers.get("content-length");
  const tooLarge = () =>
    new RegistryError("SERVER_MANIFEST_TOO_LARGE", `Manifest is larger than ${max} bytes`);
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) {
    await request.body?.cancel();
    throw tooLarge();
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (cause) {
        throw new RegistryError("SERVER_MANIFEST_INVALID", "Reading the manifest body failed", {
          cause,
        });
      }
      if (next.done) break;
      total += next.value.length;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(next.value);
    }
  } finally {
    reader.releaseLock();
  }
  return concatAll(chunks);
}

/** The Content-Length header as a number; malformed is `SERVER_SIZE_INVALID`. */
export function contentLength(c: Context): number | undefined {
  const value = c.req.header("content-length");
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new RegistryError(
      "SERVER_SIZE_INVALID",
      `Invalid Content-Length "${value.slice(0, 20)}"`,
    );
  }
  return Number(value);
}

/**
 * Chunk placement from Content-Range (`<start>-<end>`, inclusive, spec "Pushing a blob in
 * chunks"; `bytes ` prefixes and `/total` suffixes as older clients send are tolerated), else
 * just the Content-Length.
 */
export function chunkOptions(c: Context): { start?: number; length?: number } {
  const header = c.req.header("content-range");
  const length = contentLength(c);
  if (header === undefined) return length === undefined ? {} : { length };
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (match === null || end < start) {
    throw new RegistryError(
      "SERVER_UPLOAD_RANGE_INVALID",
      `Invalid Content-Range "${header.slice(0, 40)}"`,
    );
  }
  if (length !== undefined && length !== end - start + 1) {
    throw new RegistryError(
      "SERVER_SIZE_INVALID",
      `Content-Length ${length} differs from Content-Range "${header.slice(0, 40)}"`,
    );
  }
  return { start, length: end - start + 1 };
}

/** RFC 9110 section 14.2 single byte range; anything unparseable is ignored (full body). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "") {
    if (last === "") return undefined;
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: last === "" ? size : Math.min(Number(last) + 1, size) };
}

/** Whether an Accept header admits `mediaType` (absent and wildcards admit everything). */
export function accepts(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === "") return true;
  return header.split(",").some((item) => {
    const type = normalizeMediaType(item);
    return type === "*/*" || type === "application/*" || type === mediaType;
  });
}

/** A non-negative page number from a query parameter. */
export function pageNumber(value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new RegistryError(
      "SERVER_PAGINATION_INVALID",
      `Invalid page number "${value.slice(0, 20)}"`,
    );
  }
  return Number(value);
}

/** `n` and `last` of a tags or catalog listing. */
export function pageQuery(c: Context): { n?: number; last?: string } {
  const query = new URL(c.req.url).searchParams;
  const n = query.get("n");
  const last = query.get("last");
  return {
    ...(n === null ? {} : { n: pageNumber(n) }),
    ...(last === null ? {} : { last }),
  };
}

/** An RFC 8288 Link to the next page, relative like distribution's. */
export function nextLink(path: string, params: Record<string, string>): string {
  return `<${path}?${new URLSearchParams(params)}>; rel="next"`;
}

/** A constant-time check of a Basic Authorization header against the expected credentials. */
export function credentialCheck(
  expected: BasicCredentials,
): (header: string | undefined) => boolean {
  const want = createHash("sha256").update(`${expected.username}:${expected.password}`).digest();
  return (header) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header?.trim() ?? "");
    if (match === null) return false;
    let given: string;
    try {
      given = fromUtf8(fromBase64(match[1]!));
    } catch {
      return false;
    }
    // Hash both sides so the comparison is constant-time whatever the lengths.
    return timingSafeEqual(createHash("sha256").update(given).digest(), want);
  };
}

/** The registry's `RouteWrapper`: OCI error bodies, `onError` told about unexpected errors. */
export function routeWrapper(onError?: (error: unknown) => void): RouteWrapper {
  return answeringErrors((error, c) => errorResponse(error, c.req.method, onError));
}
