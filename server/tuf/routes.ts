/**
 * TUF repository routes over a `TufRepository` (`dcosign serve`): a static-file view of the
 * repository under `/tuf/`, laid out as a TUF client expects (TUF specification 5.3-5.7):
 * `/tuf/<version>.root.json`, `/tuf/timestamp.json`, `/tuf/<version>.snapshot.json`,
 * `/tuf/<version>.targets.json`, `/tuf/targets/<sha256>.<name>`. Clients use
 * `<base>/tuf` as the mirror. Thin on purpose: the repository decides what exists; a request
 * for the timestamp first lets it re-sign whatever is about to expire.
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import type { TufRepository } from "./repository.ts";

/** Longest path accepted (a target name is at most 200 characters). */
const MAX_PATH = 512;

/** Options of `tufRoutes`. */
export interface TufRoutesOptions {
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The Hono routes serving `repository` under `/tuf/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TufRepository } from "./repository.ts";
 * import { tufRoutes } from "./routes.ts";
 *
 * const app = tufRoutes(await TufRepository.create());
 * const response = await app.request("/tuf/1.root.json");
 * assert.equal(response.status, 200);
 * assert.equal((await response.json()).signed._type, "root");
 * ```
 */
export function tufRoutes(repository: TufRepository, options: TufRoutesOptions = {}): Hono {
  const app = new Hono();
  app.get("/tuf/*", async (c) => {
    const path = c.req.path.slice("/tuf/".length);
    if (path.length > MAX_PATH) return c.text("not found", 404);
    let name: string;
    try {
      name = decodeURIComponent(path);
    } catch {
      return c.text("not found", 404);
    }
    if (name === "timestamp.json") {
      try {
        await repository.refreshExpiring();
      } catch (error) {
        options.onError?.(error);
        return c.text("internal error", 500);
      }
    }
    const bytes = repository.file(name);
    if (bytes === undefined) return c.text("not found", 404);
    return new Response(bytes, {
      status: 200,
      headers: {
        "content-type": name.endsWith(".json") ? "application/json" : "application/octet-stream",
        // Timestamp and unversioned files change; versioned and hashed names never do.
        "cache-control": /^(timestamp|root|snapshot|targets)\.json$/.test(name)
          ? "no-store"
          : "public, max-age=31536000, immutable",
      },
    });
  });
  return app;
}
