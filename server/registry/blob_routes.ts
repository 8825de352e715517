/**
 * Blob and upload routes of the embedded registry (OCI distribution spec v1.1 "Pulling blobs",
 * "Pushing blobs", "Deleting blobs"): monolithic and chunked uploads, cross-repository mounts,
 * range reads. Every digest is checked by the store; a chunk out of order is answered 416 with the
 * session's current Range.
 *
 * @module
 */

import { type Context, Hono } from "../_deps.ts";
import { RegistryError } from "./errors.ts";
import {
  blobHeaders,
  chunkOptions,
  contentLength,
  created,
  errorResponse,
  param,
  parseRange,
  respond,
  uploadHeaders,
  uploadResponse,
} from "./_http.ts";
import type { RouteWrapper } from "../_routes.ts";
import type { RegistryStore } from "./store.ts";
import { BLOB, NAME, UPLOAD, UPLOADS } from "./_paths.ts";

/** `/v2/<name>/blobs/...`: uploads (registered first: `uploads` is not a digest), then blobs. */
export function blobRoutes(store: RegistryStore, route: RouteWrapper): Hono {
  const app = new Hono();
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

  // Blobs after uploads: `uploads` is not a digest.
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
