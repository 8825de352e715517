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

import { createHash, timingSafeEqual } from "node:crypto";
import { type Bytes, concat, fromBase64, fromUtf8 } from "../lib/_bytes.ts";
import { type Context, Hono } from "./_deps.ts";
import { OCI_ERRORS, RegistryError } from "./_registry_errors.ts";
import { MAX_MANIFEST_SIZE, normalizeMediaType, OCI_INDEX } from "./_registry_manifest.ts";
import type { RegistryStore, UploadStatus } from "./registry_store.ts";

/** Credentials for Basic auth. */
export interface BasicCredentials {
  /** The user name. */
  readonly username: string;
  /** The password (or token). */
  readonly password: string;
}

/** Options of `registryRoutes`. */
export interface RegistryRoutesOptions {
  /** Require these credentials (HTTP Basic) on every `/v2` request. */
  readonly auth?: BasicCredentials;
  /** Told about unexpected errors (answered 500 without detail). */
  readonly onError?: (error: unknown) => void;
}

/** The realm of the Basic challenge. */
export const REGISTRY_REALM = "dcosign";

const API_VERSION_HEADER = ["Docker-Distribution-API-Version", "registry/2.0"] as const;

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

// ---- helpers -----------------------------------------------------------------------------

/** A path parameter; the route patterns guarantee it is present. */
function param(c: Context, key: string): string {
  const value = c.req.param(key);
  if (value === undefined) throw new TypeError(`Route has no parameter "${key}"`);
  return value;
}

function respond(
  status: number,
  body: BodyInit | Bytes | null,
  headers: Record<string, string> = {},
): Response {
  return new Response(body, {
    status,
    headers: { [API_VERSION_HEADER[0]]: API_VERSION_HEADER[1], ...headers },
  });
}

function json(value: unknown, headers: Record<string, string> = {}): Response {
  return respond(200, JSON.stringify(value), { "Content-Type": "application/json", ...headers });
}

function created(name: string, digest: string): Response {
  return respond(201, null, {
    "Location": `/v2/${name}/blobs/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  });
}

function blobHeaders(digest: string, length: number): Record<string, string> {
  return {
    "Content-Type": "application/octet-stream",
    "Content-Length": String(length),
    "Docker-Content-Digest": digest,
    "ETag": `"${digest}"`,
    "Accept-Ranges": "bytes",
    // Content-addressed: the bytes behind a digest never change.
    "Cache-Control": "max-age=31536000",
  };
}

function uploadHeaders(status: UploadStatus): Record<string, string> {
  // The Range of an upload is inclusive; an empty upload reports "0-0" as distribution does.
  const end = status.size > 0 ? status.size - 1 : 0;
  return {
    "Location": `/v2/${status.repository}/blobs/uploads/${status.id}`,
    "Range": `0-${end}`,
    "Docker-Upload-UUID": status.id,
    "Content-Length": "0",
  };
}

function uploadResponse(code: number, status: UploadStatus): Response {
  return respond(code, null, uploadHeaders(status));
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

function errorResponse(
  error: unknown,
  method: string,
  onError?: (error: unknown) => void,
  headers: Record<string, string> = {},
): Response {
  let status = 500;
  let errors: { code: string; message: string; detail?: unknown }[];
  if (error instanceof RegistryError) {
    const mapping = OCI_ERRORS[error.code];
    status = mapping.status;
    errors = [error, ...error.items].map((item) => ({
      code: mapping.oci,
      message: item.message,
      ...(item.detail === undefined ? {} : { detail: item.detail }),
    }));
  } else {
    // No internal detail leaks to clients (rekor #2801); the operator hears about it.
    onError?.(error);
    errors = [{ code: "UNKNOWN", message: "Internal server error" }];
  }
  const body = method === "HEAD" ? null : JSON.stringify({ errors });
  return respond(status, body, { "Content-Type": "application/json", ...headers });
}

/** Read a request body of at most `max` bytes; larger is `SERVER_MANIFEST_TOO_LARGE`. */
async function readBounded(request: Request, max: number): Promise<Bytes> {
  const declared = request.headers.get("content-length");
  const tooLarge = () =>
    new RegistryError("SERVER_MANIFEST_TOO_LARGE", `Manifest is larger than ${max} bytes`);
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) {
    await request.body?.cancel();
    throw tooLarge();
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (cause) {
        throw new RegistryError("SERVER_MANIFEST_INVALID", "Reading the manifest body failed", {
          cause,
        });
      }
      if (next.done) break;
      total += next.value.length;
      if (total > max) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(next.value);
    }
  } finally {
    reader.releaseLock();
  }
  return concat(...chunks);
}

function contentLength(c: Context): number | undefined {
  const value = c.req.header("content-length");
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    throw new RegistryError(
      "SERVER_SIZE_INVALID",
      `Invalid Content-Length "${value.slice(0, 20)}"`,
    );
  }
  return Number(value);
}

/**
 * Chunk placement from Content-Range (`<start>-<end>`, inclusive, spec "Pushing a blob in
 * chunks"; `bytes ` prefixes and `/total` suffixes as older clients send are tolerated), else
 * just the Content-Length.
 */
function chunkOptions(c: Context): { start?: number; length?: number } {
  const header = c.req.header("content-range");
  const length = contentLength(c);
  if (header === undefined) return length === undefined ? {} : { length };
  const match = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (match === null || end < start) {
    throw new RegistryError(
      "SERVER_UPLOAD_RANGE_INVALID",
      `Invalid Content-Range "${header.slice(0, 40)}"`,
    );
  }
  if (length !== undefined && length !== end - start + 1) {
    throw new RegistryError(
      "SERVER_SIZE_INVALID",
      `Content-Length ${length} differs from Content-Range "${header.slice(0, 40)}"`,
    );
  }
  return { start, length: end - start + 1 };
}

/** RFC 9110 section 14.2 single byte range; anything unparseable is ignored (full body). */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "") {
    if (last === "") return undefined;
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: last === "" ? size : Math.min(Number(last) + 1, size) };
}

/** Whether an Accept header admits `mediaType` (absent and wildcards admit everything). */
function accepts(header: string | undefined, mediaType: string): boolean {
  if (header === undefined || header.trim() === "") return true;
  return header.split(",").some((item) => {
    const type = normalizeMediaType(item);
    return type === "*/*" || type === "application/*" || type === mediaType;
  });
}

function pageNumber(value: string): number {
  if (!/^\d{1,9}$/.test(value)) {
    throw new RegistryError(
      "SERVER_PAGINATION_INVALID",
      `Invalid page number "${value.slice(0, 20)}"`,
    );
  }
  return Number(value);
}

function pageQuery(c: Context): { n?: number; last?: string } {
  const query = new URL(c.req.url).searchParams;
  const n = query.get("n");
  const last = query.get("last");
  return {
    ...(n === null ? {} : { n: pageNumber(n) }),
    ...(last === null ? {} : { last }),
  };
}

function nextLink(path: string, params: Record<string, string>): string {
  return `<${path}?${new URLSearchParams(params)}>; rel="next"`;
}

/** A constant-time check of a Basic Authorization header against the expected credentials. */
function credentialCheck(expected: BasicCredentials): (header: string | undefined) => boolean {
  const want = createHash("sha256").update(`${expected.username}:${expected.password}`).digest();
  return (header) => {
    const match = /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header?.trim() ?? "");
    if (match === null) return false;
    let given: string;
    try {
      given = fromUtf8(fromBase64(match[1]!));
    } catch {
      return false;
    }
    // Hash both sides so the comparison is constant-time whatever the lengths.
    return timingSafeEqual(createHash("sha256").update(given).digest(), want);
  };
}
