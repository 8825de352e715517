/**
 * Content discovery routes of the embedded registry (OCI distribution spec v1.1 "Content
 * discovery"): the catalog, tag lists and the referrers API, paged with `Link` headers; the
 * referrers answer says which filter it applied (`OCI-Filters-Applied`).
 *
 * @module
 */

import { Hono } from "../_deps.ts";
import { json, nextLink, pageNumber, pageQuery, param, respond } from "./_http.ts";
import type { RouteWrapper } from "../_routes.ts";
import { OCI_INDEX } from "./_manifest.ts";
import type { RegistryStore } from "./store.ts";
import { REFERRERS, TAGS } from "./_paths.ts";

/** `/v2/_catalog`, `/v2/<name>/tags/list` and `/v2/<name>/referrers/<digest>` over `store`. */
export function discoveryRoutes(store: RegistryStore, route: RouteWrapper): Hono {
  const app = new Hono();
  app.get(
    "/v2/_catalog",
    route((c) => {
      const query = pageQuery(c);
      const page = store.listRepositories(query);
      const link = page.next === undefined ? undefined : nextLink(
        "/v2/_catalog",
        { n: String(query.n ?? page.items.length), last: page.next },
      );
      return json({ repositories: page.items }, link === undefined ? {} : { Link: link });
    }),
  );

  app.get(
    TAGS,
    route((c) => {
      const name = param(c, "name");
      const query = pageQuery(c);
      const page = store.listTags(name, query);
      const link = page.next === undefined ? undefined : nextLink(`/v2/${name}/tags/list`, {
        n: String(query.n ?? page.items.length),
        last: page.next,
      });
      return json({ name, tags: page.items }, link === undefined ? {} : { Link: link });
    }),
  );

  app.get(
    REFERRERS,
    route((c) => {
      const name = param(c, "name");
      const digest = param(c, "digest");
      const query = new URL(c.req.url).searchParams;
      const artifactType = query.get("artifactType") ?? undefined;
      const last = query.get("last");
      const n = query.get("n");
      const page = store.listReferrers(name, digest, {
        ...(artifactType === undefined ? {} : { artifactType }),
        ...(last === null ? {} : { last: pageNumber(last) }),
        ...(n === null ? {} : { n: pageNumber(n) }),
      });
      const headers: Record<string, string> = { "Content-Type": OCI_INDEX };
      // distribution-spec v1.1: say which filters were applied, so clients need not refilter.
      if (artifactType !== undefined) headers["OCI-Filters-Applied"] = "artifactType";
      if (page.next !== undefined) {
        headers["Link"] = nextLink(`/v2/${name}/referrers/${digest}`, {
          ...(n === null ? {} : { n }),
          ...(artifactType === undefined ? {} : { artifactType }),
          last: String(page.next),
        });
      }
      const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: page.items };
      return respond(200, JSON.stringify(index), headers);
    }),
  );
  return app;
}
