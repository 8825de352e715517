/**
 * `--verbose` HTTP logging: every exchange of every client (registry, Rekor, Fulcio, TSA,
 * OIDC) through one wrapped `fetch`, with credentials and secret-looking query values redacted.
 *
 * @module
 */

import { redactHeaders, redactUrl } from "../lib/util/redact.ts";
import type { Output } from "./output.ts";

/** A fetch that reports each request and answer on stderr (secrets redacted). */
export function loggingFetch(base: typeof fetch, out: Output): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    const started = performance.now();
    out.debug(`> ${request.method} ${redactUrl(request.url)}`);
    for (const [name, value] of Object.entries(redactHeaders(request.headers))) {
      out.debug(`>   ${name}: ${value}`);
    }
    try {
      const response = await base(input, init);
      const ms = Math.round(performance.now() - started);
      out.debug(`< ${response.status} ${redactUrl(request.url)} (${ms} ms)`);
      for (const [name, value] of Object.entries(redactHeaders(response.headers))) {
        out.debug(`<   ${name}: ${value}`);
      }
      return response;
    } catch (error) {
      out.debug(`< failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  };
}
