/**
 * The embedded OCI registry's HTTP layer: thin Hono routes of the OCI distribution spec v1.1
 * (pull, push, content discovery incl. the referrers API, content management) over a
 * `RegistryStore`, with optional Basic auth. All logic that decides what is stored lives in the
 * store; this file only translates HTTP to calls and errors to OCI error bodies.
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
import { RegistryError } from "./errors.ts";
import {
  accepts,
  type BasicCredentials,
  blobHeaders,
  chunkOptions,
  contentLength,
  created,
  credentialCheck,
  errorResponse,
  json,
  nextLink,
  pageNumber,
  pageQuery,
  param,
  parseRange,
  readBounded,
  respond,
  uploadHeaders,
  uploadResponse,
} from "./_http.ts";
import { MAX_MANIFEST_SIZE, OCI_INDEX } from "./_manifest.ts";
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

// Route patterns: names span segments; references, digests and session ids do not.
const NAME = ":name{.+}";
const MANIFEST = `/v2/${NAME}/manifests/:reference{[^/]+}`;
const BLOB = `/v2/${NAME}/blobs/:digest{[^/]+}`;
const UPLOADS = `/v2/${NAME}/blobs/uploads/`;
const UPLOAD = `/v2/${NAME}/blobs/uploads/:id{[^/]+}`;
const TAGS = `/v2/${NAME}/tags/list`;
const REFERRERS = `/v2/${NAME}/referrers/:digest{[^/]+}`;

/** The registry routes (`/v2/...`) over `store`, as a Hono app to mount at `/`. */
export function registryRoutes(store: RegistryStore, options: RegistryRoutesOptions = {}): Hono {
  const app = new Hono();
  const route = (handler: (c: Context) => Response | Promise<Response>) => async (c: Context) => {
    try {
      return await handler(c);
    } catch (error) {
      return errorResponse(error, c.req.method, options.onError);
    }
  };

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

  // ---- manifests ---------------------------------------------------------------------------

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

  // ---- uploads (registered before blobs: `uploads` is not a digest) --------------------------

  const startUpload = route(async (c) => {
    const name = param(c, "name");
    const query = new URL(c.req.url).searchParams;
    const mount = query.get("mount");
    const from = query.get("from");
    if (mount !== null && from !== null) {
      const mounted = store.mountBlob(name, from, mount);
      if (mounted !== undefined) return created(name, mounted.digest);
    }
    const digest = query.get("digest");
    if (digest !== null) {
      const length = contentLength(c);
      const blob = await store.putBlob(
        name,
        digest,
        c.req.raw.body,
        length === undefined ? {} : { length },
      );
      return created(name, blob.digest);
    }
    return uploadResponse(202, await store.startUpload(name));
  });
  app.post(UPLOADS, startUpload);
  app.post(`/v2/${NAME}/blobs/uploads`, startUpload);

  app.get(
    UPLOAD,
    route((c) => uploadResponse(204, store.getUpload(param(c, "name"), param(c, "id")))),
  );

  app.patch(
    UPLOAD,
    route((c) =>
      withUploadRange(store, c, async () => {
        const chunk = chunkOptions(c);
        const status = await store.appendUpload(
          param(c, "name"),
          param(c, "id"),
          c.req.raw.body,
          chunk,
        );
        return uploadResponse(202, status);
      })
    ),
  );

  app.put(
    UPLOAD,
    route((c) =>
      withUploadRange(store, c, async () => {
        const name = param(c, "name");
        const digest = new URL(c.req.url).searchParams.get("digest");
        if (digest === null) {
          throw new RegistryError("SERVER_DIGEST_INVALID", "Missing digest query parameter");
        }
        const blob = await store.finishUpload(name, param(c, "id"), digest, {
          body: c.req.raw.body,
          ...chunkOptions(c),
        });
        return created(name, blob.digest);
      })
    ),
  );

  app.delete(
    UPLOAD,
    route(async (c) => {
      await store.cancelUpload(param(c, "name"), param(c, "id"));
      return respond(204, null, { "Content-Length": "0" });
    }),
  );

  // ---- blobs -------------------------------------------------------------------------------

  app.on(
    "HEAD",
    BLOB,
    route((c) => {
      const info = store.statBlob(param(c, "name"), param(c, "digest"));
      if (info === undefined) {
        throw new RegistryError("SERVER_BLOB_UNKNOWN", `Unknown blob "${param(c, "digest")}"`);
      }
      return respond(200, null, blobHeaders(info.digest, info.size));
    }),
  );

  app.get(
    BLOB,
    route(async (c) => {
      const name = param(c, "name");
      const digest = param(c, "digest");
      const info = store.statBlob(name, digest);
      if (info === undefined) {
        throw new RegistryError("SERVER_BLOB_UNKNOWN", `Unknown blob "${digest}"`, {
          detail: { digest },
        });
      }
      const range = parseRange(c.req.header("range"), info.size);
      if (range === "unsatisfiable") {
        const error = new RegistryError(
          "SERVER_RANGE_NOT_SATISFIABLE",
          `Range is outside blob of ${info.size} bytes`,
        );
        return errorResponse(error, "GET", undefined, { "Content-Range": `bytes */${info.size}` });
      }
      const blob = await store.readBlob(name, digest, range ?? {});
      const headers = blobHeaders(blob.digest, blob.end - blob.start);
      if (range === undefined) return respond(200, blob.body, headers);
      return respond(206, blob.body, {
        ...headers,
        "Content-Range": `bytes ${blob.start}-${blob.end - 1}/${blob.size}`,
      });
    }),
  );

  app.delete(
    BLOB,
    route((c) => {
      store.deleteBlob(param(c, "name"), param(c, "digest"));
      return respond(202, null, { "Content-Length": "0" });
    }),
  );

  // ---- discovery ---------------------------------------------------------------------------

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

  app.all("/v2/*", (c) =>
    errorResponse(
      new RegistryError("SERVER_NAME_INVALID", "Unknown registry endpoint or repository name"),
      c.req.method,
    ));

  return app;
}

/** A misplaced chunk is answered 416 with the session's current Range (spec "Pushing blobs"). */
async function withUploadRange(
  store: RegistryStore,
  c: Context,
  body: () => Promise<Response>,
): Promise<Response> {
  try {
    return await body();
  } catch (error) {
    if (!(error instanceof RegistryError) || error.code !== "SERVER_UPLOAD_RANGE_INVALID") {
      throw error;
    }
    let headers: Record<string, string> = {};
    try {
      headers = uploadHeaders(store.getUpload(param(c, "name"), param(c, "id")));
    } catch {
      // The session is gone: answer without its range.
    }
    return errorResponse(error, c.req.method, undefined, headers);
  }
}
