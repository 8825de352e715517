/**
 * The state of the embedded OCI registry, without HTTP: blobs content-addressed on disk (or in
 * memory), manifests, tags and the referrers index in `node:sqlite` (WAL, synchronous=FULL), and
 * upload sessions. Every digest is checked against the bytes before anything is acknowledged;
 * every size and count an attacker controls is bounded before it is buffered.
 *
 * @example
 * ```ts
 * const store = await RegistryStore.open({ directory: "/tmp/registry" });
 * const blob = await store.putBlob("demo/app", "sha256:44136f...", new TextEncoder().encode("{}"));
 * store.close();
 * ```
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { join } from "node:path";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { type Bytes, toBytes } from "../lib/_bytes.ts";
import {
  type BlobBackend,
  type BlobBody,
  DiskBlobBackend,
  MemoryBlobBackend,
  type UploadSink,
} from "./_registry_blobs.ts";
import { RegistryError, type RegistryErrorItem } from "./_registry_errors.ts";
import {
  checkRepositoryName,
  type Descriptor,
  digestOf,
  isRepositoryName,
  MANIFEST_MEDIA_TYPES,
  MAX_MANIFEST_SIZE,
  type ParsedDigest,
  parseDigest,
  parseManifest,
  parseReference,
} from "./_registry_manifest.ts";

export { isRegistryError, OCI_ERRORS, RegistryError } from "./_registry_errors.ts";
export type {
  OciErrorCode,
  OciErrorMapping,
  RegistryErrorCode,
  RegistryErrorItem,
} from "./_registry_errors.ts";
export type { BlobBody } from "./_registry_blobs.ts";
export {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isRepositoryName,
  MAX_MANIFEST_SIZE,
  OCI_INDEX,
  OCI_MANIFEST,
} from "./_registry_manifest.ts";

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

/** The state of an upload session. */
export interface UploadStatus {
  /** The session id (the last segment of its Location). */
  readonly id: string;
  /** The repository the session uploads into. */
  readonly repository: string;
  /** Bytes received so far. */
  readonly size: number;
}

/** A request body: a stream, bytes, or nothing. */
export type BodySource = ReadableStream<Uint8Array> | Uint8Array | null | undefined;

/** Options of `appendUpload` and `finishUpload`. */
export interface UploadChunkOptions {
  /** Offset the chunk claims to start at (Content-Range); must equal the bytes received. */
  readonly start?: number;
  /** Exact length the chunk must have (Content-Length or Content-Range). */
  readonly length?: number;
}

/** A stored manifest, byte-exact. */
export interface StoredManifest {
  /** The digest of `bytes`. */
  readonly digest: string;
  /** The media type it was pushed as. */
  readonly mediaType: string;
  /** The bytes exactly as pushed. */
  readonly bytes: Bytes;
}

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

interface Session {
  readonly id: string;
  readonly repository: string;
  readonly sink: UploadSink;
  readonly sha256: Hash;
  busy: boolean;
  touched: number;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repositories (name TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS repository_blobs (
  repo TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, digest)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS manifests (
  id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL, digest TEXT NOT NULL,
  media_type TEXT NOT NULL, body BLOB NOT NULL, subject TEXT, artifact_type TEXT,
  annotations TEXT, UNIQUE (repo, digest));
CREATE INDEX IF NOT EXISTS manifests_by_subject ON manifests (repo, subject, id)
  WHERE subject IS NOT NULL;
CREATE TABLE IF NOT EXISTS tags (
  repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (repo, tag)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tags_by_digest ON tags (repo, digest);
`;

/** The registry's state: blobs, manifests, tags, referrers and upload sessions. */
export class RegistryStore {
  readonly #db: DatabaseSync;
  readonly #blobs: BlobBackend;
  readonly #sessions = new Map<string, Session>();
  readonly #maxBlobSize: number;
  readonly #maxSessions: number;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #sql: Record<string, StatementSync>;
  #opening = 0;
  #closed = false;

  private constructor(db: DatabaseSync, blobs: BlobBackend, options: RegistryStoreOptions) {
    this.#db = db;
    this.#blobs = blobs;
    this.#maxBlobSize = positive(
      options.maxBlobSize ??
        (blobs.persistent ? DEFAULT_MAX_BLOB_SIZE : DEFAULT_MEMORY_MAX_BLOB_SIZE),
      "maxBlobSize",
    );
    this.#maxSessions = positive(
      options.maxUploadSessions ?? DEFAULT_MAX_UPLOAD_SESSIONS,
      "maxUploadSessions",
    );
    this.#timeoutMs = positive(options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS, "timeout");
    this.#now = options.now ?? Date.now;
    const sql = (text: string) => db.prepare(text);
    this.#sql = {
      blobSize: sql("SELECT size FROM blobs WHERE digest = ?"),
      linkedBlobSize: sql(
        `SELECT b.size AS size FROM repository_blobs r JOIN blobs b ON b.digest = r.digest
         WHERE r.repo = ? AND r.digest = ?`,
      ),
      insertBlob: sql("INSERT OR IGNORE INTO blobs (digest, size) VALUES (?, ?)"),
      insertRepository: sql("INSERT OR IGNORE INTO repositories (name) VALUES (?)"),
      linkBlob: sql("INSERT OR IGNORE INTO repository_blobs (repo, digest) VALUES (?, ?)"),
      unlinkBlob: sql("DELETE FROM repository_blobs WHERE repo = ? AND digest = ?"),
      repositoryExists: sql("SELECT 1 AS found FROM repositories WHERE name = ?"),
      manifestByDigest: sql(
        "SELECT digest, media_type, body FROM manifests WHERE repo = ? AND digest = ?",
      ),
      manifestByTag: sql(
        `SELECT m.digest AS digest, m.media_type AS media_type, m.body AS body
         FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
         WHERE t.repo = ? AND t.tag = ?`,
      ),
      manifestSize: sql(
        "SELECT length(body) AS size FROM manifests WHERE repo = ? AND digest = ?",
      ),
      upsertManifest: sql(
        `INSERT INTO manifests (repo, digest, media_type, body, subject, artifact_type, annotations)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (repo, digest) DO UPDATE SET media_type = excluded.media_type`,
      ),
      upsertTag: sql(
        `INSERT INTO tags (repo, tag, digest) VALUES (?, ?, ?)
         ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest`,
      ),
      deleteManifest: sql("DELETE FROM manifests WHERE repo = ? AND digest = ?"),
      deleteTagsOf: sql("DELETE FROM tags WHERE repo = ? AND digest = ?"),
      deleteTag: sql("DELETE FROM tags WHERE repo = ? AND tag = ?"),
      listTags: sql("SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?"),
      listRepositories: sql("SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?"),
      referrers: sql(
        `SELECT id, digest, media_type, length(body) AS size, artifact_type, annotations
         FROM manifests WHERE repo = ? AND subject = ? AND id > ? ORDER BY id LIMIT ?`,
      ),
      referrersOfType: sql(
        `SELECT id, digest, media_type, length(body) AS size, artifact_type, annotations
         FROM manifests WHERE repo = ? AND subject = ? AND id > ? AND artifact_type = ?
         ORDER BY id LIMIT ?`,
      ),
    };
  }

  /** Open (creating if needed) a store under `options.directory`, or in memory. */
  static async open(options: RegistryStoreOptions = {}): Promise<RegistryStore> {
    let blobs: BlobBackend;
    let db: DatabaseSync;
    if (options.directory === undefined) {
      blobs = new MemoryBlobBackend();
      db = new DatabaseSync(":memory:");
    } else {
      await Deno.mkdir(options.directory, { recursive: true });
      blobs = new DiskBlobBackend(options.directory);
      // Upload sessions do not survive a restart; their scratch files are garbage.
      await blobs.clearScratch();
      db = new DatabaseSync(join(options.directory, "registry.db"));
    }
    try {
      // WAL + synchronous=FULL: a committed PUT is on disk before it is acknowledged.
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
      const version = Number(
        (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version,
      );
      if (version > SCHEMA_VERSION) {
        throw new Error(`Registry database schema ${version} is newer than ${SCHEMA_VERSION}`);
      }
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
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
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.sink.discard()));
    this.#db.close();
  }

  // ---- blobs -------------------------------------------------------------------------------

  /** The blob `digest` as seen from `repository` (manifests count as blobs), or undefined. */
  statBlob(repository: string, digest: string): BlobInfo | undefined {
    checkRepositoryName(repository);
    const parsed = parseDigest(digest);
    const size = this.#linkedSize(repository, parsed.digest) ??
      this.#manifestSize(repository, parsed.digest);
    return size === undefined ? undefined : { digest: parsed.digest, size };
  }

  /** Bytes `[start, end)` of a blob of `repository`; `SERVER_BLOB_UNKNOWN` when absent. */
  async readBlob(
    repository: string,
    digest: string,
    range: { readonly start?: number; readonly end?: number } = {},
  ): Promise<BlobInfo & { readonly body: BlobBody; readonly start: number; readonly end: number }> {
    checkRepositoryName(repository);
    const parsed = parseDigest(digest);
    const linked = this.#linkedSize(repository, parsed.digest);
    const manifest = linked === undefined
      ? this.#get("manifestByDigest", repository, parsed.digest)
      : undefined;
    const size = linked ?? (manifest === undefined ? undefined : bytesOf(manifest.body).length);
    if (size === undefined) throw blobUnknown(parsed.digest);
    const start = range.start ?? 0;
    const end = range.end ?? size;
    if (
      !(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end &&
        end <= size)
    ) {
      throw new RegistryError(
        "SERVER_RANGE_NOT_SATISFIABLE",
        `Range is outside blob of ${size} bytes`,
      );
    }
    const body = manifest !== undefined
      ? bytesOf(manifest.body).slice(start, end)
      : await this.#blobs.read(parsed, start, end);
    return { digest: parsed.digest, size, body, start, end };
  }

  /** Unlink a blob from `repository` (its bytes stay for other repositories). */
  deleteBlob(repository: string, digest: string): void {
    checkRepositoryName(repository);
    const parsed = parseDigest(digest);
    if (this.#sql.unlinkBlob!.run(repository, parsed.digest).changes === 0) {
      throw blobUnknown(parsed.digest);
    }
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
    const size = this.#linkedSize(from, parsed.digest);
    if (size === undefined) return undefined;
    this.#transaction(() => {
      this.#sql.insertRepository!.run(repository);
      this.#sql.linkBlob!.run(repository, parsed.digest);
    });
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
  async startUpload(repository: string): Promise<UploadStatus> {
    checkRepositoryName(repository);
    await this.#expireSessions();
    if (this.#sessions.size + this.#opening >= this.#maxSessions) {
      throw new RegistryError(
        "SERVER_TOO_MANY_UPLOADS",
        `Too many upload sessions (limit ${this.#maxSessions})`,
      );
    }
    this.#opening++;
    try {
      const id = crypto.randomUUID();
      const sink = await this.#blobs.createSink(id);
      this.#sessions.set(id, {
        id,
        repository,
        sink,
        sha256: createHash("sha256"),
        busy: false,
        touched: this.#now(),
      });
      return { id, repository, size: 0 };
    } finally {
      this.#opening--;
    }
  }

  /** The state of an upload session; `SERVER_BLOB_UPLOAD_UNKNOWN` when there is none. */
  getUpload(repository: string, id: string): UploadStatus {
    const session = this.#session(repository, id);
    return { id, repository, size: session.sink.size };
  }

  /**
   * Append a chunk to an upload. A chunk that does not start where the upload stands is
   * `SERVER_UPLOAD_RANGE_INVALID` and leaves the session intact; any other failure ends it.
   */
  async appendUpload(
    repository: string,
    id: string,
    body: BodySource,
    options: UploadChunkOptions = {},
  ): Promise<UploadStatus> {
    const session = this.#claim(repository, id, options.start);
    try {
      await this.#write(session, body, options.length);
    } catch (error) {
      await this.#drop(session);
      throw error;
    }
    session.busy = false;
    session.touched = this.#now();
    return { id, repository, size: session.sink.size };
  }

  /**
   * Close an upload: append the optional last chunk, check the bytes hash to `digest`, then make
   * the blob durable and link it to the repository. The session ends either way.
   */
  async finishUpload(
    repository: string,
    id: string,
    digest: string,
    options: UploadChunkOptions & { readonly body?: BodySource } = {},
  ): Promise<BlobInfo> {
    const session = this.#claim(repository, id, options.start);
    try {
      const expected = parseDigest(digest);
      await this.#write(session, options.body, options.length);
      const actual = expected.algorithm === "sha256"
        ? `sha256:${session.sha256.digest("hex")}`
        : await session.sink.digest(expected.algorithm);
      if (actual !== expected.digest) {
        throw new RegistryError(
          "SERVER_DIGEST_INVALID",
          `Uploaded content has digest "${actual}", not "${expected.digest}"`,
          { detail: { expected: expected.digest, actual } },
        );
      }
      const size = session.sink.size;
      if (this.#get("blobSize", expected.digest) === undefined) {
        await this.#blobs.commit(session.sink, expected);
      } else {
        await session.sink.discard();
      }
      this.#transaction(() => {
        this.#sql.insertBlob!.run(expected.digest, size);
        this.#sql.insertRepository!.run(repository);
        this.#sql.linkBlob!.run(repository, expected.digest);
      });
      this.#sessions.delete(id);
      return { digest: expected.digest, size };
    } catch (error) {
      await this.#drop(session);
      throw error;
    }
  }

  /** Cancel an upload and drop its data. */
  async cancelUpload(repository: string, id: string): Promise<void> {
    await this.#drop(this.#session(repository, id));
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
    let digest: string;
    if (ref.kind === "digest") {
      digest = digestOf(ref.digest.algorithm, body);
      if (digest !== ref.digest.digest) {
        throw new RegistryError(
          "SERVER_DIGEST_INVALID",
          `Manifest has digest "${digest}", not "${ref.digest.digest}"`,
          { detail: { expected: ref.digest.digest, actual: digest } },
        );
      }
    } else {
      digest = digestOf("sha256", body);
    }
    this.#checkReferences(repository, manifest.kind, manifest.config, manifest.references);
    const subject = manifest.subject?.digest;
    this.#transaction(() => {
      this.#sql.insertRepository!.run(repository);
      this.#sql.upsertManifest!.run(
        repository,
        digest,
        manifest.mediaType,
        body,
        subject ?? null,
        manifest.artifactType ?? null,
        manifest.annotations === undefined ? null : JSON.stringify(manifest.annotations),
      );
      if (ref.kind === "tag") this.#sql.upsertTag!.run(repository, ref.tag, digest);
    });
    return { digest, mediaType: manifest.mediaType, ...(subject === undefined ? {} : { subject }) };
  }

  /** A manifest by tag or digest; `SERVER_MANIFEST_UNKNOWN` when absent. */
  getManifest(repository: string, reference: string): StoredManifest {
    checkRepositoryName(repository);
    const ref = parseReference(reference);
    const row = ref === undefined
      ? undefined
      : ref.kind === "tag"
      ? this.#get("manifestByTag", repository, ref.tag)
      : this.#get("manifestByDigest", repository, ref.digest.digest);
    if (row === undefined) throw manifestUnknown(reference);
    return {
      digest: String(row.digest),
      mediaType: String(row.media_type),
      bytes: bytesOf(row.body),
    };
  }

  /**
   * Delete by digest (the manifest, its tags, and its place in referrer lists) or by tag (only
   * the tag, OCI distribution-spec v1.1 "Deleting tags").
   */
  deleteManifest(repository: string, reference: string): void {
    checkRepositoryName(repository);
    const ref = parseReference(reference);
    if (ref === undefined) throw manifestUnknown(reference);
    let changes = 0;
    this.#transaction(() => {
      if (ref.kind === "tag") {
        changes = Number(this.#sql.deleteTag!.run(repository, ref.tag).changes);
      } else {
        changes = Number(this.#sql.deleteManifest!.run(repository, ref.digest.digest).changes);
        this.#sql.deleteTagsOf!.run(repository, ref.digest.digest);
      }
    });
    if (changes === 0) throw manifestUnknown(reference);
  }

  /** Tags in byte order, `n` at most (capped at `MAX_PAGE_SIZE`) after `last`. */
  listTags(repository: string, options: PageOptions<string> = {}): Page<string, string> {
    checkRepositoryName(repository);
    if (this.#get("repositoryExists", repository) === undefined) {
      throw new RegistryError("SERVER_NAME_UNKNOWN", `Unknown repository "${repository}"`, {
        detail: { name: repository },
      });
    }
    return this.#page(
      options.n,
      (limit) =>
        this.#sql.listTags!.all(repository, options.last ?? "", limit).map((r) => String(r.tag)),
      (tag) => tag,
    );
  }

  /** Repository names in byte order (the optional `_catalog` endpoint). */
  listRepositories(options: PageOptions<string> = {}): Page<string, string> {
    return this.#page(
      options.n,
      (limit) =>
        this.#sql.listRepositories!.all(options.last ?? "", limit).map((r) => String(r.name)),
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
    const after = options.last ?? 0;
    const type = options.artifactType;
    const page = this.#page(
      options.n,
      (limit) =>
        type === undefined
          ? this.#sql.referrers!.all(repository, subject, after, limit)
          : this.#sql.referrersOfType!.all(repository, subject, after, type, limit),
      (row) => Number(row.id),
    );
    return { ...page, items: page.items.map(referrerOf) };
  }

  // ---- internals ---------------------------------------------------------------------------

  #checkReferences(
    repository: string,
    kind: "image" | "index",
    config: Descriptor | undefined,
    references: readonly Descriptor[],
  ): void {
    const missing: RegistryErrorItem[] = [];
    const wrong: RegistryErrorItem[] = [];
    const check = (d: Descriptor, asManifest: boolean) => {
      const size = (asManifest ? this.#manifestSize(repository, d.digest) : undefined) ??
        (asManifest && MANIFEST_MEDIA_TYPES.includes(d.mediaType)
          ? undefined
          : this.#linkedSize(repository, d.digest));
      if (size === undefined) {
        missing.push({
          message: `Unknown ${asManifest ? "manifest" : "blob"} "${d.digest}"`,
          detail: { digest: d.digest },
        });
      } else if (size !== d.size) {
        wrong.push({
          message: `Descriptor of "${d.digest}" says ${d.size} bytes, the registry has ${size}`,
          detail: { digest: d.digest, size: d.size, actual: size },
        });
      }
    };
    if (config !== undefined) check(config, false);
    for (const d of references) {
      // Non-distributable layers with URLs live elsewhere (image-spec layer.md).
      if (kind === "image" && d.urls !== undefined && d.urls.length > 0) continue;
      check(d, kind === "index");
    }
    const [first, ...rest] = missing.length > 0 ? missing : wrong;
    if (first !== undefined) {
      throw new RegistryError(
        missing.length > 0 ? "SERVER_MANIFEST_BLOB_UNKNOWN" : "SERVER_MANIFEST_INVALID",
        `Manifest references content the repository lacks: ${first.message}`,
        { detail: first.detail, items: rest },
      );
    }
  }

  #page<T, C>(
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
    // One extra row tells whether another page exists without a COUNT query.
    const items = fetch(limit + 1);
    if (items.length <= limit) return { items };
    items.length = limit;
    return { items, next: cursorOf(items[limit - 1]!) };
  }

  #linkedSize(repository: string, digest: string): number | undefined {
    const row = this.#get("linkedBlobSize", repository, digest);
    return row === undefined ? undefined : Number(row.size);
  }

  #manifestSize(repository: string, digest: string): number | undefined {
    const row = this.#get("manifestSize", repository, digest);
    return row === undefined ? undefined : Number(row.size);
  }

  #get(name: string, ...params: SQLInputValue[]): Record<string, unknown> | undefined {
    return this.#sql[name]!.get(...params) as Record<string, unknown> | undefined;
  }

  #transaction(body: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      body();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #session(repository: string, id: string): Session {
    checkRepositoryName(repository);
    const session = this.#sessions.get(id);
    if (session === undefined || session.repository !== repository) {
      throw new RegistryError("SERVER_BLOB_UPLOAD_UNKNOWN", `Unknown upload "${id.slice(0, 40)}"`);
    }
    return session;
  }

  /** Take a session for one request; refuses a concurrent request or a misplaced chunk. */
  #claim(repository: string, id: string, start: number | undefined): Session {
    const session = this.#session(repository, id);
    if (session.busy) {
      throw new RegistryError("SERVER_UPLOAD_RANGE_INVALID", "Upload is busy with another request");
    }
    if (start !== undefined && start !== session.sink.size) {
      throw new RegistryError(
        "SERVER_UPLOAD_RANGE_INVALID",
        `Chunk starts at ${start}, the upload is at ${session.sink.size}`,
      );
    }
    session.busy = true;
    return session;
  }

  async #write(session: Session, body: BodySource, length: number | undefined): Promise<void> {
    const start = session.sink.size;
    if (length !== undefined && start + length > this.#maxBlobSize) throw this.#tooLarge();
    const append = async (chunk: Uint8Array) => {
      if (session.sink.size + chunk.length > this.#maxBlobSize) throw this.#tooLarge();
      if (length !== undefined && session.sink.size - start + chunk.length > length) {
        throw sizeInvalid(length);
      }
      session.sha256.update(chunk);
      await session.sink.write(chunk);
    };
    if (body instanceof ReadableStream) {
      const reader = body.getReader();
      try {
        for (;;) {
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await reader.read();
          } catch (cause) {
            // The client went away or sent a broken body: its fault, not the server's.
            throw new RegistryError(
              "SERVER_BLOB_UPLOAD_INVALID",
              "Reading the upload body failed",
              {
                cause,
              },
            );
          }
          if (next.done) break;
          await append(next.value);
        }
      } catch (error) {
        await reader.cancel().catch(() => {});
        throw error;
      } finally {
        reader.releaseLock();
      }
    } else if (body !== null && body !== undefined && body.length > 0) {
      await append(body);
    }
    if (length !== undefined && session.sink.size - start !== length) throw sizeInvalid(length);
  }

  #tooLarge(): RegistryError {
    return new RegistryError(
      "SERVER_BLOB_TOO_LARGE",
      `Blob is larger than the limit of ${this.#maxBlobSize} bytes`,
    );
  }

  async #drop(session: Session): Promise<void> {
    this.#sessions.delete(session.id);
    await session.sink.discard();
  }

  async #expireSessions(): Promise<void> {
    const deadline = this.#now() - this.#timeoutMs;
    for (const session of [...this.#sessions.values()]) {
      if (!session.busy && session.touched < deadline) await this.#drop(session);
    }
  }
}

function referrerOf(row: Record<string, unknown>): ReferrerDescriptor {
  const artifactType = row.artifact_type === null ? undefined : String(row.artifact_type);
  const annotations = row.annotations === null
    ? undefined
    : JSON.parse(String(row.annotations)) as Record<string, string>;
  return {
    mediaType: String(row.media_type),
    digest: String(row.digest),
    size: Number(row.size),
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}

function bytesOf(value: unknown): Bytes {
  if (!(value instanceof Uint8Array)) throw new TypeError("Expected a BLOB column");
  return toBytes(value);
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

function sizeInvalid(length: number): RegistryError {
  return new RegistryError(
    "SERVER_SIZE_INVALID",
    `Body length differs from the declared ${length}`,
  );
}

function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Option ${name} must be a positive integer, got "${value}"`);
  }
  return value;
}
