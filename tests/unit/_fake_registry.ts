/**
 * A small in-memory OCI registry behind an injected `fetch`, for unit tests of the registry
 * client: manifests, blobs, uploads (monolithic, chunked, mount), tags with pagination, the
 * referrers API (switchable), Basic or bearer-token auth with a token service, a blob-storage
 * redirect host, request recording, and an `intercept` hook for hostile answers.
 *
 * It is test scaffolding, not the product's registry (that is `server/registry/routes.ts`).
 *
 * @module
 */

import { type Bytes, sha256Digest, toBase64, utf8 } from "../../lib/util/bytes.ts";

/** A request as the fake saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: Bytes;
}

/** Auth the fake demands. */
export type FakeAuth =
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | {
    readonly kind: "bearer";
    /** Token realm (default `https://<host>/token`). */
    readonly realm?: string;
    readonly service?: string;
    /** Basic credentials the token service checks; anonymous tokens are pull-only. */
    readonly username?: string;
    readonly password?: string;
    /** Refresh token accepted by the POST (OAuth2) flow; when unset, POST answers 404. */
    readonly identityToken?: string;
    /** Whether anonymous token requests get pull access (public repositories). */
    readonly anonymousPull?: boolean;
    readonly expiresIn?: number;
  };

/** Options of `FakeRegistry`. */
export interface FakeRegistryOptions {
  /** `host[:port]` the registry answers on (default `registry.test`). */
  readonly host?: string;
  /** Whether `/v2/<name>/referrers/<digest>` is implemented (default true). */
  readonly referrersApi?: boolean;
  readonly auth?: FakeAuth;
  /** When set, blob GETs redirect (307) to this host, which serves the blob. */
  readonly blobRedirectHost?: string;
  /** Whether manifest PUTs with a subject answer `OCI-Subject` (default: with the API). */
  readonly ociSubjectHeader?: boolean;
  /** Page size of tag listings (default unlimited). */
  readonly tagPageSize?: number;
}

interface StoredManifest {
  readonly bytes: Bytes;
  readonly mediaType: string;
}

interface Grant {
  readonly pull: Set<string>;
  readonly push: Set<string>;
}

const INDEX = "application/vnd.oci.image.index.v1+json";

function json(status: number, value: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function ociError(status: number, code: string, message: string): Response {
  return json(status, { errors: [{ code, message }] });
}

/** The in-memory registry; `fetch` is the function to inject. */
export class FakeRegistry {
  readonly host: string;
  readonly options: FakeRegistryOptions;
  /** Every request received, in order (token service and blob host included). */
  readonly requests: RecordedRequest[] = [];
  /** Answers first when it returns a Response (hostile behaviour). */
  intercept: ((req: RecordedRequest) => Response | Promise<Response> | undefined) | undefined;
  readonly #manifests = new Map<string, Map<string, StoredManifest>>();
  readonly #tags = new Map<string, Map<string, string>>();
  readonly #blobs = new Map<string, Map<string, Bytes>>();
  readonly #uploads = new Map<string, { repo: string; data: Uint8Array }>();
  readonly #tokens = new Map<string, Grant>();
  #nextId = 0;

  constructor(options: FakeRegistryOptions = {}) {
    this.options = options;
    this.host = options.host ?? "registry.test";
  }

  /** The injected fetch. */
  readonly fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const recorded: RecordedRequest = {
      method: request.method,
      url: new URL(request.url),
      headers: request.headers,
      body: new Uint8Array(await request.arrayBuffer()),
    };
    this.requests.push(recorded);
    const intercepted = await this.intercept?.(recorded);
    if (intercepted !== undefined) return intercepted;
    return this.#handle(recorded);
  };

  /** Requests matching a method and a path pattern. */
  count(method?: string, path?: RegExp): number {
    return this.requests.filter((r) =>
      (method === undefined || r.method === method) &&
      (path === undefined || path.test(r.url.pathname))
    ).length;
  }

  /** Requests to the token service. */
  tokenRequests(): RecordedRequest[] {
    const realm = this.#realm();
    return realm === undefined
      ? []
      : this.requests.filter((r) => r.url.host === realm.host && r.url.pathname === realm.pathname);
  }

  /** Store a blob directly. */
  putBlob(repo: string, bytes: Bytes): string {
    const digest = sha256Digest(bytes);
    this.#repoMap(this.#blobs, repo).set(digest, bytes);
    return digest;
  }

  /** Store a manifest directly (and tag it). */
  putManifest(repo: string, bytes: Bytes, mediaType: string, tag?: string): string {
    const digest = sha256Digest(bytes);
    this.#repoMap(this.#manifests, repo).set(digest, { bytes, mediaType });
    if (tag !== undefined) this.#repoMap(this.#tags, repo).set(tag, digest);
    return digest;
  }

  /** A stored manifest by tag or digest. */
  manifest(repo: string, reference: string): StoredManifest | undefined {
    const digest = reference.includes(":") ? reference : this.#tags.get(repo)?.get(reference);
    return digest === undefined ? undefined : this.#manifests.get(repo)?.get(digest);
  }

  /** A stored blob. */
  blob(repo: string, digest: string): Bytes | undefined {
    return this.#blobs.get(repo)?.get(digest);
  }

  #repoMap<T>(map: Map<string, Map<string, T>>, repo: string): Map<string, T> {
    let inner = map.get(repo);
    if (inner === undefined) {
      inner = new Map();
      map.set(repo, inner);
    }
    return inner;
  }

  #realm(): URL | undefined {
    const auth = this.options.auth;
    if (auth?.kind !== "bearer") return undefined;
    return new URL(auth.realm ?? `https://${this.host}/token`);
  }

  #handle(req: RecordedRequest): Response | Promise<Response> {
    const realm = this.#realm();
    if (realm !== undefined && req.url.host === realm.host && req.url.pathname === realm.pathname) {
      return this.#token(req);
    }
    if (
      this.options.blobRedirectHost !== undefined && req.url.host === this.options.blobRedirectHost
    ) {
      const [, repo, digest] = /^\/storage\/(.+)\/(sha256:[0-9a-f]{64})$/.exec(req.url.pathname) ??
        [];
      const blob = repo === undefined ? undefined : this.blob(repo, digest!);
      return blob === undefined ? new Response("missing", { status: 404 }) : new Response(blob);
    }
    if (req.url.host !== this.host) return new Response("unknown host", { status: 502 });
    if (req.url.pathname === "/v2/" || req.url.pathname === "/v2") return json(200, {});
    const match = /^\/v2\/(.+?)\/(manifests|blobs\/uploads|blobs|tags|referrers)(?:\/(.*))?$/
      .exec(req.url.pathname);
    if (match === null) return ociError(404, "NAME_UNKNOWN", "no such route");
    const [, repo, kind, rest = ""] = match as unknown as [string, string, string, string?];
    const denied = this.#authorize(req, repo);
    if (denied !== undefined) return denied;
    switch (kind) {
      case "manifests":
        return this.#manifestRoute(req, repo, rest);
      case "blobs":
        return this.#blobRoute(req, repo, rest);
      case "blobs/uploads":
        return this.#uploadRoute(req, repo, rest);
      case "tags":
        return this.#tagsRoute(req, repo);
      default:
        return this.#referrersRoute(req, repo, rest);
    }
  }

  #authorize(req: RecordedRequest, repo: string): Response | undefined {
    const auth = this.options.auth;
    if (auth === undefined) return undefined;
    const header = req.headers.get("authorization") ?? "";
    const push = !(req.method === "GET" || req.method === "HEAD");
    if (auth.kind === "basic") {
      if (header === `Basic ${toBase64(utf8(`${auth.username}:${auth.password}`))}`) {
        return undefined;
      }
      return new Response(null, {
        status: 401,
        headers: { "www-authenticate": 'Basic realm="fake"' },
      });
    }
    const grant = header.startsWith("Bearer ") ? this.#tokens.get(header.slice(7)) : undefined;
    if (grant !== undefined && (push ? grant.push.has(repo) : grant.pull.has(repo))) {
      return undefined;
    }
    const realm = this.#realm()!;
    const service = auth.service ?? this.host;
    const action = push ? "push,pull" : "pull";
    return new Response(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "auth" }] }), {
      status: 401,
      headers: {
        "content-type": "application/json",
        "www-authenticate":
          `Bearer realm="${realm.href}",service="${service}",scope="repository:${repo}:${action}"`,
      },
    });
  }

  #token(req: RecordedRequest): Response {
    const auth = this.options.auth;
    if (auth?.kind !== "bearer") return new Response(null, { status: 404 });
    let scopes: string[];
    let authenticated = false;
    if (req.method === "POST") {
      if (auth.identityToken === undefined) return new Response(null, { status: 404 });
      const form = new URLSearchParams(new TextDecoder().decode(req.body));
      if (
        form.get("grant_type") !== "refresh_token" ||
        form.get("refresh_token") !== auth.identityToken
      ) {
        return json(401, { error: "invalid_grant" });
      }
      authenticated = true;
      scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
    } else {
      const header = req.headers.get("authorization");
      if (header !== null) {
        const expected = `Basic ${toBase64(utf8(`${auth.username}:${auth.password}`))}`;
        if (auth.username === undefined || header !== expected) {
          return json(401, { details: "bad credentials" });
        }
        authenticated = true;
      }
      scopes = req.url.searchParams.getAll("scope");
    }
    if (!authenticated && !auth.anonymousPull) {
      return json(401, { details: "anonymous access denied" });
    }
    const grant: Grant = { pull: new Set(), push: new Set() };
    for (const scope of scopes) {
      const [, repo, actions] = /^repository:(.+):([a-z,]+)$/.exec(scope) ?? [];
      if (repo === undefined) continue;
      if (actions!.split(",").includes("pull")) grant.pull.add(repo);
      if (authenticated && actions!.split(",").includes("push")) grant.push.add(repo);
    }
    const token = `tok${++this.#nextId}`;
    this.#tokens.set(token, grant);
    return json(200, { token, expires_in: auth.expiresIn ?? 300 });
  }

  #manifestRoute(req: RecordedRequest, repo: string, reference: string): Response {
    if (req.method === "PUT") {
      const digest = sha256Digest(req.body);
      if (reference.includes(":") && reference !== digest) {
        return ociError(400, "DIGEST_INVALID", "digest mismatch");
      }
      const mediaType = req.headers.get("content-type") ?? "";
      this.putManifest(repo, req.body, mediaType, reference.includes(":") ? undefined : reference);
      const headers: Record<string, string> = {
        "docker-content-digest": digest,
        location: `/v2/${repo}/manifests/${digest}`,
      };
      const answers = this.options.ociSubjectHeader ?? this.options.referrersApi !== false;
      const subject = answers ? subjectOf(req.body) : undefined;
      if (subject !== undefined) headers["oci-subject"] = subject;
      return new Response(null, { status: 201, headers });
    }
    const stored = this.manifest(repo, reference);
    if (req.method === "DELETE") {
      if (stored === undefined) return ociError(404, "MANIFEST_UNKNOWN", "unknown");
      this.#manifests.get(repo)!.delete(sha256Digest(stored.bytes));
      return new Response(null, { status: 202 });
    }
    if (stored === undefined) {
      return req.method === "HEAD"
        ? new Response(null, { status: 404 })
        : ociError(404, "MANIFEST_UNKNOWN", `manifest unknown: ${reference}`);
    }
    const headers = {
      "content-type": stored.mediaType,
      "docker-content-digest": sha256Digest(stored.bytes),
      "content-length": String(stored.bytes.length),
    };
    return new Response(req.method === "HEAD" ? null : stored.bytes, { status: 200, headers });
  }

  #blobRoute(req: RecordedRequest, repo: string, digest: string): Response {
    const blob = this.blob(repo, digest);
    if (blob === undefined) {
      return req.method === "HEAD"
        ? new Response(null, { status: 404 })
        : ociError(404, "BLOB_UNKNOWN", "blob unknown");
    }
    if (req.method === "GET" && this.options.blobRedirectHost !== undefined) {
      return new Response(null, {
        status: 307,
        headers: {
          location:
            `https://${this.options.blobRedirectHost}/storage/${repo}/${digest}?X-Amz-Signature=secret`,
        },
      });
    }
    const headers = { "content-length": String(blob.length), "docker-content-digest": digest };
    return new Response(req.method === "HEAD" ? null : blob, { status: 200, headers });
  }

  #uploadRoute(req: RecordedRequest, repo: string, id: string): Response {
    if (req.method === "POST") {
      const mount = req.url.searchParams.get("mount");
      const from = req.url.searchParams.get("from");
      if (mount !== null && from !== null) {
        const blob = this.blob(from, mount);
        if (blob !== undefined) {
          this.#repoMap(this.#blobs, repo).set(mount, blob);
          return new Response(null, {
            status: 201,
            headers: { location: `/v2/${repo}/blobs/${mount}` },
          });
        }
      }
      const session = `s${++this.#nextId}`;
      this.#uploads.set(session, { repo, data: new Uint8Array(0) });
      return new Response(null, {
        status: 202,
        headers: {
          location: `/v2/${repo}/blobs/uploads/${session}?state=x`,
          "docker-upload-uuid": session,
        },
      });
    }
    const upload = this.#uploads.get(id);
    if (upload === undefined || upload.repo !== repo) {
      return ociError(404, "BLOB_UPLOAD_UNKNOWN", "no upload");
    }
    if (req.method === "DELETE") {
      this.#uploads.delete(id);
      return new Response(null, { status: 204 });
    }
    const range = req.headers.get("content-range");
    if (req.method === "PATCH" && range !== null) {
      const [, start] = /^(\d+)-(\d+)$/.exec(range) ?? [];
      if (Number(start) !== upload.data.length) return new Response(null, { status: 416 });
    }
    const data = new Uint8Array(upload.data.length + req.body.length);
    data.set(upload.data);
    data.set(req.body, upload.data.length);
    upload.data = data;
    if (req.method === "PATCH") {
      return new Response(null, {
        status: 202,
        headers: {
          location: `/v2/${repo}/blobs/uploads/${id}?state=y`,
          range: `0-${data.length - 1}`,
        },
      });
    }
    const digest = req.url.searchParams.get("digest");
    if (digest !== sha256Digest(data)) return ociError(400, "DIGEST_INVALID", "digest mismatch");
    this.#uploads.delete(id);
    this.#repoMap(this.#blobs, repo).set(digest, data);
    return new Response(null, {
      status: 201,
      headers: { location: `/v2/${repo}/blobs/${digest}`, "docker-content-digest": digest },
    });
  }

  #tagsRoute(req: RecordedRequest, repo: string): Response {
    const all = [...(this.#tags.get(repo)?.keys() ?? [])].sort();
    if (!this.#manifests.has(repo)) return ociError(404, "NAME_UNKNOWN", "repository unknown");
    const last = req.url.searchParams.get("last");
    const from = last === null ? all : all.filter((t) => t > last);
    const size = this.options.tagPageSize ?? from.length;
    const page = from.slice(0, size);
    const headers: Record<string, string> = {};
    if (from.length > size) {
      headers.link = `</v2/${repo}/tags/list?n=${size}&last=${page.at(-1)}>; rel="next"`;
    }
    return json(200, { name: repo, tags: page }, headers);
  }

  #referrersRoute(req: RecordedRequest, repo: string, digest: string): Response {
    if (this.options.referrersApi === false) {
      return ociError(404, "NAME_UNKNOWN", "no referrers API");
    }
    const artifactType = req.url.searchParams.get("artifactType");
    const manifests = [];
    for (const [d, stored] of this.#manifests.get(repo) ?? []) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(new TextDecoder().decode(stored.bytes));
      } catch {
        continue;
      }
      const subject = parsed.subject as { digest?: string } | undefined;
      if (subject?.digest !== digest) continue;
      const type = (parsed.artifactType as string | undefined) ??
        (parsed.config as { mediaType?: string } | undefined)?.mediaType;
      if (artifactType !== null && type !== artifactType) continue;
      manifests.push({
        mediaType: stored.mediaType,
        digest: d,
        size: stored.bytes.length,
        ...(type !== undefined ? { artifactType: type } : {}),
        ...(parsed.annotations !== undefined ? { annotations: parsed.annotations } : {}),
      });
    }
    return new Response(
      JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests }),
      { status: 200, headers: { "content-type": INDEX } },
    );
  }
}

function subjectOf(bytes: Bytes): string | undefined {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed?.subject?.digest === "string" ? parsed.subject.digest : undefined;
  } catch {
    return undefined;
  }
}
