/**
 * Rekor v1 REST routes over a `TransparencyLog` (cosign-spec.md section 5.1), the wire-level
 * half of `dcosign serve`'s transparency log. Thin on purpose: parsing, bounds and status codes
 * in the route groups (`entry_routes.ts`, `index_routes.ts`, `log_routes.ts`, plumbing in
 * `_http.ts`); validation, storage and proofs in `transparency_log.ts`.
 *
 * Bounds: request bodies up to `MAX_REQUEST_BYTES` (4 MiB, room for an attestation envelope),
 * batches of at most 10 items, search answers of at most 1000 UUIDs. The search API takes key
 * content only and never fetches a URL (SECURITY.md row 13, rekor GHSA-4c4x-jm2x-pf9j). A 500
 * answer says "internal error" and nothing else (rekor #2801).
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import { entryRoutes } from "./entry_routes.ts";
import { routeWrapper } from "./_http.ts";
import { indexRoutes } from "./index_routes.ts";
import { logRoutes } from "./log_routes.ts";
import type { TransparencyLog } from "./transparency_log.ts";

/** Options of `rekorRoutes`. */
export interface RekorRoutesOptions {
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

/** The Rekor v1 API over `log`, for mounting at the root of the stack app. */
export function rekorRoutes(log: TransparencyLog, options: RekorRoutesOptions = {}): Hono {
  const app = new Hono();
  const route = routeWrapper(options.onError);
  app.route("/", entryRoutes(log, route));
  app.route("/", indexRoutes(log, route));
  app.route("/", logRoutes(log, route));
  return app;
}
