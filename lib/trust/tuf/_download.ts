/**
 * Bounded downloads for the TUF client (TUF specification 5.3.2, 5.4.1, 5.5.1, 5.6.1, 5.7.3:
 * every file is fetched "up to" a number of bytes, the endless-data defence). The declared
 * `Content-Length` is checked first, then the body is read while streaming and cancelled the
 * moment it passes its bound, and the whole request (headers and body) runs under one deadline,
 * so a server that stalls or drips never holds the client.
 *
 * @module
 */

import type { Bytes } from "../../util/bytes.ts";
import { tufError } from "./errors.ts";

/** How one file is to be fetched. */
export interface DownloadRequest {
  readonly url: string;
  /** Most bytes accepted. */
  readonly maxBytes: number;
  /** The exact length the file must have, when a trusted referrer declares it. */
  readonly exactLength?: number;
  /** Answer `undefined` instead of failing on these statuses (404/403 for the root probe). */
  readonly missingOn?: readonly number[];
  /** Names the file in messages ("timestamp metadata"). */
  readonly what: string;
}

/** The transport and its deadline. */
export interface DownloadTransport {
  readonly fetch: typeof fetch;
  /** Per-request deadline in milliseconds, headers and body together. */
  readonly timeoutMs: number;
  /** Told about each request URL before it is sent (tests count requests with it). */
  readonly onRequest?: (url: string) => void;
}

function tooLong(request: DownloadRequest, detail: string): Error {
  return request.exactLength !== undefined
    ? tufError(
      "TRUST_TUF_LENGTH",
      `The ${request.what} "${request.url}" is longer than the ${request.exactLength} bytes its ` +
        `trusted metadata declares (${detail})`,
    )
    : tufError(
      "TRUST_TUF_TOO_LARGE",
      `The ${request.what} "${request.url}" is larger than ${request.maxBytes} bytes (${detail})`,
    );
}

/**
 * The body of `request.url`, bounded as the module doc says; `undefined` when the status is in
 * `missingOn`. Failures: `TRUST_TUF_FETCH` (network, timeout, status), `TRUST_TUF_TOO_LARGE`,
 * `TRUST_TUF_LENGTH`.
 */
export async function download(
  request: DownloadRequest,
  transport: DownloadTransport,
): Promise<Bytes | undefined> {
  const limit = Math.min(request.maxBytes, request.exactLength ?? Infinity);
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, transport.timeoutMs);
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener("abort", () => reject(new Error("aborted")), { once: true });
  });
  aborted.catch(() => {});
  const failure = (cause: unknown) =>
    tufError(
      "TRUST_TUF_FETCH",
      timedOut
        ? `Cannot fetch the ${request.what} "${request.url}": no answer within ${transport.timeoutMs} ms`
        : `Cannot fetch the ${request.what} "${request.url}": ${
          cause instanceof Error ? cause.message : String(cause)
        }`,
      cause,
    );
  try {
    transport.onRequest?.(request.url);
    let response: Response;
    try {
      response = await Promise.race([
        transport.fetch(request.url, { signal: controller.signal, redirect: "follow" }),
        aborted,
      ]);
    } catch (cause) {
      throw failure(cause);
    }
    if (request.missingOn?.includes(response.status)) {
      await response.body?.cancel().catch(() => {});
      return undefined;
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      throw tufError(
        "TRUST_TUF_FETCH",
        `Cannot fetch the ${request.what} "${request.url}": HTTP status ${response.status}`,
      );
    }
    const declared = response.headers.get("content-length");
    if (declared !== null && (!/^\d{1,16}$/.test(declared.trim()) || Number(declared) > limit)) {
      await response.body?.cancel().catch(() => {});
      throw tooLong(request, `Content-Length ${JSON.stringify(declared)}`);
    }
    if (response.body === null) return checkLength(new Uint8Array(0), request);
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await Promise.race([reader.read(), aborted]);
        } catch (cause) {
          throw failure(cause);
        }
        if (chunk.done) break;
        size += chunk.value.length;
        if (size > limit) throw tooLong(request, `more than ${limit} bytes sent`);
        chunks.push(chunk.value);
      }
    } catch (error) {
      await reader.cancel().catch(() => {});
      throw error;
    } finally {
      reader.releaseLock();
    }
    // Copied into one buffer of the size counted (not `concat(...chunks)`: a hostile server's
    // million one-byte chunks would overflow a spread's argument list).
    const body: Bytes = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    return checkLength(body, request);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function checkLength(bytes: Bytes, request: DownloadRequest): Bytes {
  if (request.exactLength !== undefined && bytes.length !== request.exactLength) {
    throw tufError(
      "TRUST_TUF_LENGTH",
      `The ${request.what} "${request.url}" has ${bytes.length} bytes, its trusted metadata ` +
        `declares ${request.exactLength}`,
    );
  }
  return bytes;
}
