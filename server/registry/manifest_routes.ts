/**
 * Manifest routes of the embedded registry (OCI distribution spec v1.1 "Pulling manifests",
 * "Pushing manifests", "Deleting manifests"): HEAD/GET answer with the stored bytes only when the
 * Accept header allows their media type; PUT is bounded (4 MiB) before the store checks it and
 * says `OCI-Subject` when it indexed a referrer.
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import { RegistryError } from "./errors.ts";
import { accepts, param, readBounded, respond } from "./_http.ts";
import type { RouteWrapper } from "../_routes.ts";
import { MAX_MANIFEST_SIZE } from "./_manifest.ts";
import type { RegistryStore } from "./store.ts";
import { MANIFEST } from "./_paths.ts";

/** `/v2/<name>/manifests/<reference>`: HEAD, GET, PUT and DELETE over `store`. */
export function manifestRoutes(store: RegistryStore, route: RouteWrapper): Hono {
  const app = new Hono();
  const getManifest = (head: boolean) =>
    route((c) => {
      const name = param(c, "name");
      const manifest = store.getManifest(name, param(c, "reference"));
      if (!accepts(c.req.header("accept"), manifest.mediaType)) {
        throw new RegistryError(
          "SERVER_MANIFEST_UNKNOWN",
          `Manifest is "${manifest.mediaType}", which the Accept header does not allow`,
        );
      }
      const headers = {
        "Content-Type": manifest.mediaType,
        "Content-Length": String(manifest.bytes.length),
        "Docker-Content-Digest": manifest.digest,
        "ETag": `"${manifest.digest}"`,
      };
      return respond(200, head ? null : manifest.bytes, headers);
    });
  app.on("HEAD", MANIFEST, getManifest(true));
  app.get(MANIFEST, getManifest(false));

  app.put(
    MANIFEST,
    route(async (c) => {
      const name = param(c, "name");
      const bytes = await readBounded(c.req.raw, MAX_MANIFEST_SIZE);
      const result = store.putManifest(
        name,
        param(c, "reference"),
        bytes,
        c.req.header("content-type"),
      );
      return respond(201, null, {
        "Location": `/v2/${name}/manifests/${result.digest}`,
        "Docker-Content-Digest": result.digest,
        "Content-Length": "0",
        // distribution-spec v1.1: tells clients the registry indexed the subject, so they skip
        // the referrers tag schema.
        ...(result.subject === undefined ? {} : { "OCI-Subject": result.subject }),
      });
    }),
  );

  app.delete(
    MANIFEST,
    route((c) => {
      store.deleteManifest(param(c, "name"), param(c, "reference"));
      return respond(202, null, { "Content-Length": "0" });
    }),
  );
  return app;
}
