/**
 * Bounded request bodies for the small JSON and form endpoints of the embedded Fulcio and OIDC
 * issuer: `Content-Length` is checked first, then the stream is read against the same budget
 * (SECURITY.md rule 4), so an oversized body is refused before it is buffered.
 *
 * @module
 */

import type { Bytes } from "../lib/util/bytes.ts";
import { readAtMost } from "../lib/util/read_bounded.ts";

/** The body of `request` if it has at most `limit` bytes, else `undefined` (the rest cancelled). */
export function readRequestBody(request: Request, limit: number): Promise<Bytes | undefined> {
  return readAtMost(request, limit);
}
