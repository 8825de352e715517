/**
 * Bounded request bodies for the small JSON and form endpoints of the embedded Fulcio and OIDC
 * issuer: `Content-Length` is checked first, then the stream is read against the same budget
 * (SECURITY.md rule 4), so an oversized body is refused before it is buffered.
 *
 * @module
 */

import { type Bytes, concat } from "../lib/_bytes.ts";

/** The body of `request` if it has at most `limit` bytes, else `undefined` (the rest cancelled). */
export async function readRequestBody(request: Request, limit: number): Promise<Bytes | undefined> {
  const declared = request.headers.get("content-length");
  if (declared !== null && (!/^\d{1,16}$/.test(declared.trim()) || Number(declared) > limit)) {
    await request.body?.cancel().catch(() => {});
    return undefined;
  }
  const reader = request.body?.getReader();
  if (!reader) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(...chunks);
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
}
