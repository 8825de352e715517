/**
 * The state of the embedded OCI registry, without HTTP: blobs content-addressed on disk (or in
 * memory), manifests, tags and the referrers index in `node:sqlite` (WAL, synchronous=FULL), and
 * upload sessions. Every digest is checked against the bytes before anything is acknowledged;
 * every size and count an attacker controls is bounded before it is buffered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RegistryStore } from "@dcosign/dcosign/server";
 *
 * const directory = await Deno.makeTempDir();
 * const store = await RegistryStore.open({ directory });
 * const bytes = new TextEncoder().encode("{}");
 * const digest = `sha256:${new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex()}`;
 * const blob = await store.putBlob("demo/app", digest, bytes);
 * assert.deepEqual(blob, { digest, size: 2 });
 * await store.close();
 * await Deno.remove(directory, { recursive: true });
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { toBytes } from "../../lib/util/bytes.ts";
import { type BlobBackend, type BlobBody, DiskBlobBackend, MemoryBlobBackend } from "./_blobs.ts";
import { RegistryError, type RegistryErrorItem } from "./errors.ts";
import {
  checkRepositoryName,
  type Descriptor,
  digestOf,
  isRepositoryName,
  MANIFEST_MEDIA_TYPES,
  MAX_MANIFEST_SIZE,
  type ParsedDigest,
  parseDigest,
  type ParsedManifest,
  parseManifest,
  parseReference,
} from "./_manifest.ts";
import { type ManifestRow, RegistryMetadata } from "./_metadata.ts";
import {
  type BodySource,
  type UploadChunkOptions,
  UploadSessions,
  type UploadStatus,
} from "./_uploads.ts";

export { isRegistryError, OCI_ERRORS, RegistryError } from "./errors.ts";
export type {
  OciErrorCode,
  OciErrorMapping,
  RegistryErrorCode,
  RegistryErrorItem,
} from "./errors.ts";
export type { BlobBody } from "./_blobs.ts";
export type { BodySource, UploadChunkOptions, UploadStatus } from "./_uploads.ts";
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isRepositoryName,
  MAX_MANIFEST_SIZE,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./_manifest.ts";

/** Default largest blob on disk: 2 GiB. */
export const DEFAULT_MAX_BLOB_SIZE = 2 * 1024 ** 3;
/** Default largest blob in memory mode: 256 MiB (it is held in RAM). */
export const DEFAULT_MEMORY_MAX_BLOB_SIZE = 256 * 1024 ** 2;
/** Default number of concurrent upload sessions. */
export const DEFAULT_MAX_UPLOAD_SESSIONS = 64;
/** Default idle time after which an upload session is dropped: one hour. */
export const DEFAULT_UPLOAD_TIMEOUT_MS = 60 * 60 * 1000;
/** Largest page of tags, repositories or referrers one response carries. */
export const MAX_PAGE_SIZE = 1000;

/** Options of `RegistryStore.open`. */
export interface RegistryStoreOptions {
  /** Directory for blobs and the metadata database; everything stays in memory when omitted. */
  readonly directory?: string;
  /** Largest blob accepted, in bytes. */
  readonly maxBlobSize?: number;
  /** Most upload sessions open at once (each holds a scratch file or buffer). */
  readonly maxUploadSessions?: number;
  /** Idle milliseconds after which an upload session is dropped. */
  readonly uploadTimeoutMs?: number;
  /** Clock for session expiry (milliseconds). */
  readonly now?: () => number;
}

/** A blob known to a repository. */
export interface BlobInfo {
  /** `algorithm:hex`. */
  readonly digest: string;
  /** Size in bytes. */
  readonly size: number;
}

/** Part of a blob, ready to send. */
export interface BlobRead extends BlobInfo {
  /** Bytes `[start, end)`. */
  readonly body: BlobBody;
  /** First byte sent. */
  readonly start: number;
  /** One past the last byte sent. */
  readonly end: number;
}

/** A stored manifest, byte-exact. */
export type StoredManifest = ManifestRow;

/** What a manifest PUT stored. */
export interface PutManifestResult {
  /** The digest it is stored under. */
  readonly digest: string;
  /** Its effective media type. */
  readonly mediaType: string;
  /** The digest named by the manifest's `subject`, if any. */
  readonly subject?: string;
}

/** A descriptor of the referrers index (distribution-spec v1.1 "Listing Referrers"). */
export interface ReferrerDescriptor {
  /** The referrer manifest's media type. */
  readonly mediaType: string;
  /** The referrer manifest's digest. */
  readonly digest: string;
  /** The referrer manifest's size. */
  readonly size: number;
  /** Its `artifactType`, else its config media type (image manifests). */
  readonly artifactType?: string;
  /** Its annotations, copied as the spec asks. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A page of a listing; `next` is the cursor of the following page when there is one. */
export interface Page<T, C> {
  /** The items of this page. */
  readonly items: T[];
  /** Cursor (`last`) of the next page; absent on the last page. */
  readonly next?: C;
}

/** Paging options: at most `n` items after `last`. */
export interface PageOptions<C> {
  /** Page size (capped at `MAX_PAGE_SIZE`); 0 gives an empty page. */
  readonly n?: number;
  /** Start after this cursor. */
  readonly last?: C;
}

/**
 * The registry's state: blobs, manifests, tags, referrers and upload sessions.
 *
 * @example A blob, then a manifest that names it, under a tag
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRegistryError, RegistryStore } from "@dcosign/dcosign/server";
 *
 * const sha256 = async (bytes: Uint8Array<ArrayBuffer>) =>
 *   `sha256:${new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex()}`;
 * const store = await RegistryStore.open(); // in memory
 * try {
 *   const config = new TextEncoder().encode("{}");
 *   await store.putBlob("demo/app", await sha256(config), config);
 *   const manifest = new TextEncoder().encode(JSON.stringify({
 *     schemaVersion: 2,
 *     mediaType: "application/vnd.oci.image.manifest.v1+json",
 *     config: {
 *       mediaType: "application/vnd.oci.image.config.v1+json",
 *       digest: await sha256(config),
 *       size: config.length,
 *     },
 *     layers: [],
 *   }));
 *   const put = store.putManifest("demo/app", "v1", manifest);
 *   assert.equal(put.digest, await sha256(manifest));
 *   assert.deepEqual(store.listTags("demo/app").items, ["v1"]);
 *
 *   // A manifest naming a blob the repository lacks is refused.
 *   assert.throws(
 *     () => store.putManifest("other/app", "v1", manifest),
 *     (error) => isRegistryError(error, "SERVER_MANIFEST_BLOB_UNKNOWN"),
 *   );
 * } finally {
 *   await store.close();
 * }
 * ```
 */
export class RegistryStore {
  readonly #db: RegistryMetadata;
  readonly #blobs: BlobBackend;
  readonly #uploads: UploadSessions;
  readonly #maxBlobSize: number;
  #closed = false;

  private constructor(db: RegistryMetadata, blobs: BlobBackend, options: RegistryStoreOptions) {
    this.#db = db;
    this.#blobs = blobs;
    this.#maxBlobSize = positive(
      options.maxBlobSize ??
        (blobs.persistent ? DEFAULT_MAX_BLOB_SIZE : DEFAULT_MEMORY_MAX_BLOB_SIZE),
      "maxBlobSize",
    );
    this.#uploads = new UploadSessions(blobs, {
      maxBlobSize: this.#maxBlobSize,
      maxSessions: positive(
        options.maxUploadSessions ?? DEFAULT_MAX_UPLOAD_SESSIONS,
        "maxUploadSessions",
      ),
      timeoutMs: positive(options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS, "uploadTimeoutMs"),
      now: options.now ?? Date.now,
    });
  }

  /** Open (creating if needed) a store under `options.directory`, or in memory. */
  static async open(options: RegistryStoreOptions = {}): Promise<RegistryStore> {
    let blobs: BlobBackend = new MemoryBlobBackend();
    let path = ":memory:";
    if (options.directory !== undefined) {
      await Deno.mkdir(options.directory, { recursive: true });
      blobs = new DiskBlobBackend(options.directory);
      // Upload sessions do not survive a restart; their scratch files are garbage.
      await blobs.clearScratch();
      path = join(options.directory, "registry.db");
    }
    const db = RegistryMetadata.open(path);
    try {
      return new RegistryStore(db, blobs, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** True when blobs and metadata outlive the process. */
  get persistent(): boolean {
    return this.#blobs.persistent;
  }

  /** The largest blob accepted, in bytes. */
  get maxBlobSize(): number {
    return this.#maxBlobSize;
  }

  /** Drop open upload sessions and close the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#uploads.closeAll();
    this.#db.close();
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** The blob `digest` as seen from `repository` (manifests count as blobs), or undefined. */
  statBlob(repository: string, digest: string): BlobInfo | undefined {
    checkRepositoryName(repository);
    const parsed = parseDigest(digest);
    const size = this.#db.linkedBlobSize(repository, parsed.digest) ??
      this.#db.manifestSize(repository, parsed.digest);
    return size === undefined ? undefined : { digest: parsed.digest, size };
  }

  /** Bytes `[start, end)` of a blob of `repository`; `SERVER_BLOB_UNKNOWN` when absent. */
  async readBlob(
    repository: string,
    digest: string,
    range: { readonly start?: number; readonly end?: number } = {},
  ): Promise<BlobRead> {
    checkRepositoryName(repository);
    const parsed = parseDigest(digest);
    const linked = this.#db.linkedBlobSize(repository, parsed.digest);
    const manifest = linked === undefined
      ? this.#db.manifestByDigest(repository, parsed.digest)
      : undefined;
    const size = linked ?? manifest?.bytes.length;
    if (size === undefined) throw blobUnknown(parsed.digest);
    const start = range.start ?? 0;
    const end = range.end ?? size;
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end))) {
      throw new TypeError("Range bounds must be integers");
    }
    if (!(0 <= start && start <= end && end <= size)) {
      throw new RegistryError(
        "SERVER_RANGE_NOT_SATISFIABLE",
        `Range is outside blob of ${size} bytes`,
      );
    }
    const body = manifest !== undefined
      ? manifest.bytes.slice(start, end)
      : await this.#blobs.read(parsed, start, end);
    return { digest: parsed.digest, size, body, start, end };
  }

  /** Unlink a blob from `repository` (its bytes stay for other repositories). */
  deleteBlob(repository: string, digest: string): void {
    checkRepositoryName(repository);
    const parsed = parseDigest(digest);
    if (!this.#db.unlinkBlob(repository, parsed.digest)) throw blobUnknown(parsed.digest);
  }

  /**
   * Cross-repository mount: link `digest` from `from` into `repository`. Returns undefined when
   * the blob is not in `from` (or the arguments are invalid): the caller then falls back to an
   * upload session, as the distribution spec requires.
   */
  mountBlob(repository: string, from: string, digest: string): BlobInfo | undefined {
    checkRepositoryName(repository);
    if (!isRepositoryName(from)) return undefined;
    let parsed: ParsedDigest;
    try {
      parsed = parseDigest(digest);
    } catch {
      return undefined;
    }
    const size = this.#db.linkedBlobSize(from, parsed.digest);
    if (size === undefined) return undefined;
    this.#db.linkBlob(repository, parsed.digest);
    return { digest: parsed.digest, size };
  }

  /** Push a whole blob in one request; the bytes must hash to `digest`. */
  async putBlob(
    repository: string,
    digest: string,
    body: BodySource,
    options: { readonly length?: number } = {},
  ): Promise<BlobInfo> {
    const { id } = await this.startUpload(repository);
    return await this.finishUpload(repository, id, digest, { body, ...options });
  }

  // ---- upload sessions ---------------------------------------------------------------------

  /** Open an upload session; `SERVER_TOO_MANY_UPLOADS` when the limit is reached. */
  startUpload(repository: string): Promise<UploadStatus> {
    return this.#uploads.start(repository);
  }

  /** The state of an upload session; `SERVER_BLOB_UPLOAD_UNKNOWN` when there is none. */
  getUpload(repository: string, id: string): UploadStatus {
    return this.#uploads.status(repository, id);
  }

  /**
   * Append a chunk to an upload. A chunk that does not start where the upload stands is
   * `SERVER_UPLOAD_RANGE_INVALID` and leaves the session intact; any other failure ends it.
   */
  appendUpload(
    repository: string,
    id: string,
    body: BodySource,
    options: UploadChunkOptions = {},
  ): Promise<UploadStatus> {
    return this.#uploads.append(repository, id, body, options);
  }

  /**
   * Close an upload: append the optional last chunk, check the bytes hash to `digest`, then make
   * the blob durable (write, fsync, rename) and link it to the repository. The session ends
   * either way.
   */
  finishUpload(
    repository: string,
    id: string,
    digest: string,
    options: UploadChunkOptions & { readonly body?: BodySource } = {},
  ): Promise<BlobInfo> {
    return this.#uploads.finish(repository, id, digest, options, async (sink, parsed, size) => {
      if (this.#db.blobSize(parsed.digest) === undefined) {
        await this.#blobs.commit(sink, parsed);
      } else {
        await sink.discard();
      }
      this.#db.addBlob(repository, parsed.digest, size);
    });
  }

  /** Cancel an upload and drop its data. */
  cancelUpload(repository: string, id: string): Promise<void> {
    return this.#uploads.cancel(repository, id);
  }

  // ---- manifests ---------------------------------------------------------------------------

  /**
   * Store a manifest under a tag or its digest. The bytes are kept exactly; a digest reference
   * must match them; every blob (and, for an index, every child manifest) it names must already
   * be in the repository with the size the descriptor states.
   */
  putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    contentType?: string,
  ): PutManifestResult {
    checkRepositoryName(repository);
    if (bytes.length > MAX_MANIFEST_SIZE) {
      throw new RegistryError(
        "SERVER_MANIFEST_TOO_LARGE",
        `Manifest is larger than ${MAX_MANIFEST_SIZE} bytes`,
      );
    }
    const ref = parseReference(reference);
    if (ref === undefined) {
      throw new RegistryError("SERVER_MANIFEST_INVALID", `Invalid tag "${reference.slice(0, 40)}"`);
    }
    const body = toBytes(bytes);
    const manifest = parseManifest(body, contentType);
    const digest = digestOf(ref.kind === "digest" ? ref.digest.algorithm : "sha256", body);
    if (ref.kind === "digest" && digest !== ref.digest.digest) {
      throw new RegistryError(
        "SERVER_DIGEST_INVALID",
        `Manifest has digest "${digest}", not "${ref.digest.digest}"`,
        { detail: { expected: ref.digest.digest, actual: digest } },
      );
    }
    this.#checkReferences(repository, manifest);
    const subject = manifest.subject?.digest;
    this.#db.putManifest(
      repository,
      {
        digest,
        mediaType: manifest.mediaType,
        bytes: body,
        ...(subject === undefined ? {} : { subject }),
        ...(manifest.artifactType === undefined ? {} : { artifactType: manifest.artifactType }),
        ...(manifest.annotations === undefined ? {} : { annotations: manifest.annotations }),
      },
      ref.kind === "tag" ? ref.tag : undefined,
    );
    return { digest, mediaType: manifest.mediaType, ...(subject === undefined ? {} : { subject }) };
  }

  /** A manifest by tag or digest; `SERVER_MANIFEST_UNKNOWN` when absent. */
  getManifest(repository: string, reference: string): StoredManifest {
    checkRepositoryName(repository);
    const ref = parseReference(reference);
    const row = ref === undefined
      ? undefined
      : ref.kind === "tag"
      ? this.#db.manifestByTag(repository, ref.tag)
      : this.#db.manifestByDigest(repository, ref.digest.digest);
    if (row === undefined) throw manifestUnknown(reference);
    return row;
  }

  /**
   * Delete by digest (the manifest, its tags, and its place in referrer lists) or by tag (only
   * the tag, OCI distribution-spec v1.1 "Deleting tags").
   */
  deleteManifest(repository: string, reference: string): void {
    checkRepositoryName(repository);
    const ref = parseReference(reference);
    const deleted = ref === undefined
      ? false
      : ref.kind === "tag"
      ? this.#db.deleteTag(repository, ref.tag)
      : this.#db.deleteManifest(repository, ref.digest.digest);
    if (!deleted) throw manifestUnknown(reference);
  }

  /** Tags in byte order, `n` at most (capped at `MAX_PAGE_SIZE`) after `last`. */
  listTags(repository: string, options: PageOptions<string> = {}): Page<string, string> {
    checkRepositoryName(repository);
    if (!this.#db.repositoryExists(repository)) {
      throw new RegistryError("SERVER_NAME_UNKNOWN", `Unknown repository "${repository}"`, {
        detail: { name: repository },
      });
    }
    return page(
      options.n,
      (limit) => this.#db.listTags(repository, options.last ?? "", limit),
      (tag) => tag,
    );
  }

  /** Repository names in byte order (the optional `_catalog` endpoint). */
  listRepositories(options: PageOptions<string> = {}): Page<string, string> {
    return page(
      options.n,
      (limit) => this.#db.listRepositories(options.last ?? "", limit),
      (name) => name,
    );
  }

  /**
   * Manifests of `repository` whose `subject` is `digest`, oldest first, optionally only those of
   * one artifact type. An unknown subject yields an empty page, never an error (spec v1.1).
   */
  listReferrers(
    repository: string,
    digest: string,
    options: PageOptions<number> & { readonly artifactType?: string } = {},
  ): Page<ReferrerDescriptor, number> {
    checkRepositoryName(repository);
    const subject = parseDigest(digest).digest;
    const rows = page(
      options.n,
      (limit) =>
        this.#db.listReferrers(repository, subject, {
          after: options.last ?? 0,
          limit,
          ...(options.artifactType === undefined ? {} : { artifactType: options.artifactType }),
        }),
      (row) => row.id,
    );
    return {
      ...rows,
      items: rows.items.map(({ id: _id, ...descriptor }) => descriptor),
    };
  }

  /**
   * Every descriptor a manifest names must be in the repository with its stated size: blobs
   * (config, layers) for an image, child manifests for an index, as distribution checks on PUT.
   */
  #checkReferences(repository: string, manifest: ParsedManifest): void {
    const missing: RegistryErrorItem[] = [];
    const wrong: RegistryErrorItem[] = [];
    const check = (d: Descriptor, child: boolean) => {
      // An index entry of a non-manifest type may be a plain blob.
      const size = (child ? this.#db.manifestSize(repository, d.digest) : undefined) ??
        (child && MANIFEST_MEDIA_TYPES.includes(d.mediaType)
          ? undefined
          : this.#db.linkedBlobSize(repository, d.digest));
      if (size === undefined) {
        missing.push({
          message: `Manifest references unknown ${child ? "manifest" : "blob"} "${d.digest}"`,
          detail: { digest: d.digest },
        });
      } else if (size !== d.size) {
        wrong.push({
          message: `Descriptor of "${d.digest}" says ${d.size} bytes, the registry has ${size}`,
          detail: { digest: d.digest, size: d.size, actual: size },
        });
      }
    };
    if (manifest.config !== undefined) check(manifest.config, false);
    for (const d of manifest.references) {
      // Non-distributable layers with URLs live elsewhere (image-spec layer.md).
      if (manifest.kind === "image" && d.urls !== undefined && d.urls.length > 0) continue;
      check(d, manifest.kind === "index");
    }
    const [first, ...rest] = missing.length > 0 ? missing : wrong;
    if (first !== undefined) {
      throw new RegistryError(
        missing.length > 0 ? "SERVER_MANIFEST_BLOB_UNKNOWN" : "SERVER_MANIFEST_INVALID",
        first.message,
        { detail: first.detail, items: rest },
      );
    }
  }
}

/** One page of a keyed listing; asks for one extra row to know whether another page exists. */
function page<T, C>(
  n: number | undefined,
  fetch: (limit: number) => T[],
  cursorOf: (item: T) => C,
): Page<T, C> {
  const size = n ?? MAX_PAGE_SIZE;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RegistryError("SERVER_PAGINATION_INVALID", `Invalid page size "${size}"`);
  }
  const limit = Math.min(size, MAX_PAGE_SIZE);
  if (limit === 0) return { items: [] };
  const items = fetch(limit + 1);
  if (items.length <= limit) return { items };
  items.length = limit;
  return { items, next: cursorOf(items[limit - 1]!) };
}

function blobUnknown(digest: string): RegistryError {
  return new RegistryError("SERVER_BLOB_UNKNOWN", `Unknown blob "${digest}"`, {
    detail: { digest },
  });
}

function manifestUnknown(reference: string): RegistryError {
  return new RegistryError(
    "SERVER_MANIFEST_UNKNOWN",
    `Unknown manifest "${reference.slice(0, 80)}"`,
  );
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Option ${name} must be a positive integer, got "${value}"`);
  }
  return value;
}
