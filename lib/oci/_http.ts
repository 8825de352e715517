/**
 * HTTP plumbing of the registry client: bounded body reads that hash while streaming, registry
 * error bodies mapped to typed codes, Retry-After, and which hosts are private addresses.
 *
 * A body is never read with `arrayBuffer()`: `Content-Length` is checked first and the stream is
 * then read against a byte budget, so a 2 GiB answer fails before it is read (SECURITY.md rows
 * 5 and 36).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type Bytes, fromUtf8, type HashName, preview } from "../util/bytes.ts";
import { isRecord, parseJson } from "../util/json.ts";
import { CosignError, type ErrorCode, errorMessage } from "../errors.ts";

/** A bounded body and its digest (`alg:hex`) when a hash was asked for. */
export interface BoundedBody {
  readonly bytes: Bytes;
  readonly digest?: string;
}

/** The Content-Length of a response, or `undefined` when absent or malformed. */
export function contentLength(response: Response): number | undefined {
  const text = response.headers.get("content-length");
  if (text === null || !/^\d{1,16}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** The media type of a Content-Type value, lowercase, without parameters. */
export function mediaTypeOf(contentType: string | null): string | undefined {
  const type = contentType?.split(";")[0]?.trim().toLowerCase();
  return type === undefined || type === "" ? undefined : type;
}

/** Cancel a body we will not read, so no resource leaks. */
export async function discardBody(response: Response): Promise<void> {
  if (response.body !== null && !response.bodyUsed) {
    await response.body.cancel().catch(() => {});
  }
}

/**
 * Read a body of at most `limit` bytes, hashing it on the way when `hash` is given. Refuses with
 * `OCI_TOO_LARGE` when `Content-Length` or the bytes read pass the limit (an endless body stops
 * there), with `OCI_SIZE_MISMATCH` when the body is longer or shorter than its
 * `Content-Length`, and with `OCI_NETWORK_ERROR` when the stream breaks off: a digest is only
 * ever of a whole body.
 */
export async function readBounded(
  response: Response,
  limit: number,
  what: string,
  hash?: HashName,
): Promise<BoundedBody> {
  const declared = contentLength(response);
  if (declared !== undefined && declared > limit) {
    await discardBody(response);
    throw new CosignError(
      "OCI_TOO_LARGE",
      `Refusing ${what}: Content-Length ${declared} exceeds the limit of ${limit} bytes`,
    );
  }
  const budget = Math.min(limit, declared ?? limit);
  const hasher = hash === undefined ? undefined : createHash(hash);
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body !== null) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (cause) {
          // A body that breaks off is an error, never the digest of what arrived before.
          throw new CosignError(
            "OCI_NETWORK_ERROR",
            `Cannot read ${what}: the body broke off after ${total} bytes: ${errorMessage(cause)}`,
            { cause },
          );
        }
        const { done, value } = chunk;
        if (done) break;
        total += value.length;
        if (total > budget) {
          await reader.cancel().catch(() => {});
          if (declared !== undefined && total > declared && declared < limit) {
            throw new CosignError(
              "OCI_SIZE_MISMATCH",
              `Refusing ${what}: body longer than its Content-Length ${declared}`,
            );
          }
          throw new CosignError(
            "OCI_TOO_LARGE",
            `Refusing ${what}: body exceeds the limit of ${limit} bytes`,
          );
        }
        hasher?.update(value);
        chunks.push(value);
      }
    } finally {
      reader.releaseLock();
    }
  }
  if (declared !== undefined && total !== declared) {
    throw new CosignError(
      "OCI_SIZE_MISMATCH",
      `Refusing ${what}: read ${total} bytes but Content-Length is ${declared}`,
    );
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return hasher === undefined ? { bytes } : { bytes, digest: `${hash}:${hasher.digest("hex")}` };
}

/** One entry of an OCI distribution error body `{"errors":[{"code","message"}]}`. */
export interface RegistryErrorEntry {
  readonly code: string;
  readonly message: string;
}

const MAX_ERROR_BODY = 64 * 1024;

/** Read a registry error body (bounded; anything unreadable gives `[]`). */
export async function readRegistryErrors(response: Response): Promise<RegistryErrorEntry[]> {
  if (response.body === null) return [];
  let bytes: Bytes;
  try {
    ({ bytes } = await readBounded(response, MAX_ERROR_BODY, "error body"));
  } catch {
    await discardBody(response);
    return [];
  }
  try {
    const parsed = parseJson(fromUtf8(bytes), "registry error");
    if (!isRecord(parsed) || !Array.isArray(parsed.errors)) return [];
    return parsed.errors.slice(0, 8).filter(isRecord).map((e) => ({
      code: typeof e.code === "string" ? preview(e.code, 40) : "",
      message: typeof e.message === "string" ? preview(e.message, 200) : "",
    }));
  } catch {
    return [];
  }
}

const CODE_BY_REGISTRY_ERROR: Record<string, ErrorCode> = {
  MANIFEST_UNKNOWN: "OCI_MANIFEST_UNKNOWN",
  BLOB_UNKNOWN: "OCI_BLOB_UNKNOWN",
  NAME_UNKNOWN: "OCI_NAME_UNKNOWN",
  UNAUTHORIZED: "OCI_UNAUTHORIZED",
  DENIED: "OCI_DENIED",
};

/**
 * The typed error for a failed registry answer: by the body's first known code, else by status
 * (401 unauthorized, 403 denied, 404 `notFound`), else `OCI_REGISTRY_ERROR`.
 */
export async function registryError(
  response: Response,
  action: string,
  notFound: ErrorCode,
): Promise<CosignError> {
  const errors = await readRegistryErrors(response);
  const known = errors.map((e) => CODE_BY_REGISTRY_ERROR[e.code]).find((c) => c !== undefined);
  let code: ErrorCode;
  if (response.status === 401) code = "OCI_UNAUTHORIZED";
  else if (response.status === 403) code = "OCI_DENIED";
  else if (response.status === 404) code = known ?? notFound;
  else code = "OCI_REGISTRY_ERROR";
  const detail = errors.length === 0
    ? ""
    : `: ${errors.map((e) => [e.code, e.message].filter(Boolean).join(" ")).join("; ")}`;
  return new CosignError(code, `Cannot ${action}: registry answered ${response.status}${detail}`);
}

/** Retry-After in milliseconds (delta seconds or an HTTP date), or `undefined`. */
export function retryAfterMs(response: Response, now: number): number | undefined {
  const value = response.headers.get("retry-after")?.trim();
  if (value === undefined || value === "") return undefined;
  if (/^\d{1,9}$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** True when a host string is an IP literal in a loopback, private or link-local range. */
export function isPrivateAddress(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4 !== null) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || a === 0 || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  if (host.includes(":")) {
    return host === "::1" || host === "::" || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) ||
      host.startsWith("::ffff:");
  }
  return false;
}
