/**
 * The embedded OCI registry's HTTP layer: thin Hono routes of the OCI distribution spec v1.1
 * (pull, push, content discovery incl. the referrers API, content management) over a
 * `RegistryStore`, with optional Basic auth. All logic that decides what is stored lives in the
 * store; the route groups (`manifest_routes.ts`, `blob_routes.ts`, `discovery_routes.ts`) only
 * translate HTTP to calls and errors to OCI error bodies, and this file composes them behind the
 * auth guard.
 *
 * @example
 * ```ts
 * const store = await RegistryStore.open();
 * const app = registryRoutes(store, { auth: { username: "u", password: "p" } });
 * const res = await app.request("/v2/", { headers: { authorization: "Basic dTpw" } });
 * ```
 *
 * @module
 */

import { type Context, Hono } from "../_deps.ts";
import { blobRoutes } from "./blob_routes.ts";
import { discoveryRoutes } from "./discovery_routes.ts";
import { RegistryError } from "./errors.ts";
import {
  type BasicCredentials,
  credentialCheck,
  errorResponse,
  respond,
  routeWrapper,
} from "./_http.ts";
import { manifestRoutes } from "./manifest_routes.ts";
import type { RegistryStore } from "./store.ts";

export type { BasicCredentials } from "./_http.ts";

/** Options of `registryRoutes`. */
export interface RegistryRoutesOptions {
  /** Require these credentials (HTTP Basic) on every `/v2` request. */
  readonly auth?: BasicCredentials;
  /** Told about unexpected errors (answered 500 without detail). */
  readonly onError?: (error: unknown) => void;
}

/** The realm of the Basic challenge. */
export const REGISTRY_REALM = "dcosign";

/** The registry routes (`/v2/...`) over `store`, as a Hono app to mount at `/`. */
export function registryRoutes(store: RegistryStore, options: RegistryRoutesOptions = {}): Hono {
  const app = new Hono();
  const route = routeWrapper(options.onError);

  if (options.auth !== undefined) {
    const check = credentialCheck(options.auth);
    const guard = async (c: Context, next: () => Promise<void>) => {
      if (check(c.req.header("authorization"))) return await next();
      const error = new RegistryError("SERVER_UNAUTHORIZED", "Authentication required");
      return errorResponse(error, c.req.method, undefined, {
        "WWW-Authenticate": `Basic realm="${REGISTRY_REALM}"`,
      });
    };
    app.use("/v2", guard);
    app.use("/v2/*", guard);
  }

  const base = route(() => respond(200, "{}", { "Content-Type": "application/json" }));
  app.get("/v2/", base);
  app.get("/v2", base);
  app.route("/", discoveryRoutes(store, route));
  app.route("/", manifestRoutes(store, route));
  app.route("/", blobRoutes(store, route));
  app.all("/v2/*", (c) =>
    errorResponse(
      new RegistryError("SERVER_NAME_INVALID", "Unknown registry endpoint or repository name"),
      c.req.method,
    ));
  return app;
}
