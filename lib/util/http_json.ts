/**
 * Bounded JSON answers for the small service clients (Fulcio, OIDC discovery, token and JWKS
 * endpoints, GitHub's token service): a body is read against a byte budget before it is parsed
 * (SECURITY.md rule 4), and redirects are never followed (rule 9: a bearer credential must not
 * travel to another host). Failures are built-in errors the callers wrap in their area's code.
 *
 * @module
 */

import { readAtMost } from "./read_bounded.ts";
import { type Bytes, fromUtf8 } from "./bytes.ts";
import { parseJson } from "./json.ts";

/** Cancel a body we will not read, so no resource leaks. */
export async function discardResponse(response: Response): Promise<void> {
  if (response.body !== null && !response.bodyUsed) {
    await response.body.cancel().catch(() => {});
  }
}

/** Read at most `limit` bytes of a body; more raises `RangeError` (and cancels the rest). */
export async function readLimited(response: Response, limit: number): Promise<Bytes> {
  const bytes = await readAtMost(response, limit);
  if (bytes === undefined) throw new RangeError(`Response body is larger than ${limit} bytes`);
  return bytes;
}

/** Read and parse a JSON body of at most `limit` bytes; `what` names it in errors. */
export async function readJson(response: Response, limit: number, what: string): Promise<unknown> {
  return parseJson(await readLimited(response, limit), what);
}

/** Read a short error text from a failed response (for messages), never more than 512 bytes. */
export async function readErrorText(response: Response): Promise<string> {
  try {
    const bytes = await readLimited(response, 4096);
    const text = fromUtf8(bytes).replace(/\s+/g, " ").trim();
    return text.length > 512 ? `${text.slice(0, 512)}..` : text;
  } catch {
    await discardResponse(response);
    return "";
  }
}

/** True for a redirect status (which these clients never follow). */
export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}
