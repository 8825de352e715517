/**
 * What the Rekor v1 and v2 clients (`rekor/client.ts`, `rekor_v2/client.ts`) share about talking
 * to a log over HTTP: the base URL check, a transport failure as `REKOR_HTTP_ERROR`, an answer
 * read within its byte budget (`REKOR_RESPONSE_TOO_LARGE` past it, never buffered whole), and the
 * `message` of a JSON error answer. `log` names the log in messages (`Rekor`, `Rekor v2`).
 *
 * @module
 */

import type { Bytes } from "../util/bytes.ts";
import { isRecord } from "../util/json.ts";
import { readAtMost } from "../util/read_bounded.ts";
import { CosignError, errorMessage } from "../errors.ts";

/** The base URL without trailing slashes; a URL that is not http(s) is a `TypeError`. */
export function rekorBaseUrl(baseUrl: string, log: string): string {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch (cause) {
    throw new TypeError(`Invalid ${log} URL "${baseUrl}"`, { cause });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`Invalid ${log} URL "${baseUrl}": not http(s)`);
  }
  return url.href.replace(/\/+$/, "");
}

/** `fetch(url)` without following redirects; a transport failure is `REKOR_HTTP_ERROR`. */
export async function fetchFromRekor(
  fetchFn: typeof fetch,
  url: string,
  init: RequestInit,
  where: { readonly log: string; readonly base: string },
): Promise<Response> {
  try {
    return await fetchFn(url, { ...init, redirect: "error" });
  } catch (cause) {
    throw new CosignError(
      "REKOR_HTTP_ERROR",
      `Cannot reach ${where.log} at "${where.base}": ${errorMessage(cause)}`,
      { cause },
    );
  }
}

/** The whole answer if it holds at most `max` bytes, else `REKOR_RESPONSE_TOO_LARGE`. */
export async function readRekorAnswer(
  response: Response,
  max: number,
  what: string,
): Promise<Bytes> {
  const bytes = await readAtMost(response, max);
  if (bytes === undefined) {
    throw new CosignError("REKOR_RESPONSE_TOO_LARGE", `${what} exceeds ${max} bytes`);
  }
  return bytes;
}

/** `: <message>` of an error answer `{"message": "..."}` (200 characters at most), else "". */
export function errorAnswerDetail(json: unknown): string {
  return isRecord(json) && typeof json.message === "string"
    ? `: ${json.message.slice(0, 200)}`
    : "";
}
