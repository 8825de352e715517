/**
 * The registry's metadata in `node:sqlite`: which blobs exist (and in which repositories),
 * manifests (bytes included: at most 4 MiB each), tags, and the referrers index, which is the
 * `subject` column of the manifests table with its own index. WAL with synchronous=FULL, so a
 * committed transaction is on disk before the PUT that made it is acknowledged.
 *
 * @module
 */

import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { type Bytes, toBytes } from "../../lib/util/bytes.ts";

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

const REFERRER_COLUMNS = "id, digest, media_type, length(body) AS size, artifact_type, annotations";

const QUERIES = {
  blobSize: "SELECT size FROM blobs WHERE digest = ?",
  linkedBlobSize: `SELECT b.size AS size FROM repository_blobs r JOIN blobs b ON b.digest = r.digest
    WHERE r.repo = ? AND r.digest = ?`,
  insertBlob: "INSERT OR IGNORE INTO blobs (digest, size) VALUES (?, ?)",
  insertRepository: "INSERT OR IGNORE INTO repositories (name) VALUES (?)",
  linkBlob: "INSERT OR IGNORE INTO repository_blobs (repo, digest) VALUES (?, ?)",
  unlinkBlob: "DELETE FROM repository_blobs WHERE repo = ? AND digest = ?",
  repositoryExists: "SELECT 1 AS found FROM repositories WHERE name = ?",
  manifestByDigest: "SELECT digest, media_type, body FROM manifests WHERE repo = ? AND digest = ?",
  manifestByTag: `SELECT m.digest AS digest, m.media_type AS media_type, m.body AS body
    FROM tags t JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
    WHERE t.repo = ? AND t.tag = ?`,
  manifestSize: "SELECT length(body) AS size FROM manifests WHERE repo = ? AND digest = ?",
  upsertManifest: `INSERT INTO manifests
    (repo, digest, media_type, body, subject, artifact_type, annotations)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (repo, digest) DO UPDATE SET media_type = excluded.media_type`,
  upsertTag: `INSERT INTO tags (repo, tag, digest) VALUES (?, ?, ?)
    ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest`,
  deleteManifest: "DELETE FROM manifests WHERE repo = ? AND digest = ?",
  deleteTagsOf: "DELETE FROM tags WHERE repo = ? AND digest = ?",
  deleteTag: "DELETE FROM tags WHERE repo = ? AND tag = ?",
  listTags: "SELECT tag FROM tags WHERE repo = ? AND tag > ? ORDER BY tag LIMIT ?",
  listRepositories: "SELECT name FROM repositories WHERE name > ? ORDER BY name LIMIT ?",
  referrers: `SELECT ${REFERRER_COLUMNS} FROM manifests
    WHERE repo = ? AND subject = ? AND id > ? ORDER BY id LIMIT ?`,
  referrersOfType: `SELECT ${REFERRER_COLUMNS} FROM manifests
    WHERE repo = ? AND subject = ? AND id > ? AND artifact_type = ? ORDER BY id LIMIT ?`,
} as const;

/** A manifest row. */
export interface ManifestRow {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Bytes;
}

/** What a manifest row records besides its bytes. */
export interface ManifestRecord {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Bytes;
  readonly subject?: string;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A referrer row: the descriptor fields plus its insertion order (the paging cursor). */
export interface ReferrerRow {
  readonly id: number;
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

type Row = Record<string, SQLOutputValue>;
type Statements = { readonly [K in keyof typeof QUERIES]: StatementSync };

/** Typed access to the registry database. */
export class RegistryMetadata {
  readonly #db: DatabaseSync;
  readonly #sql: Statements;

  private constructor(db: DatabaseSync) {
    this.#db = db;
    const entries = Object.entries(QUERIES).map(([name, text]) => [name, db.prepare(text)]);
    this.#sql = Object.fromEntries(entries) as Statements;
  }

  /** Open the database at `path` (`":memory:"` for none), creating the schema. */
  static open(path: string): RegistryMetadata {
    const db = new DatabaseSync(path);
    try {
      // WAL + synchronous=FULL: a committed PUT is on disk before it is acknowledged.
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
      const version = Number((db.prepare("PRAGMA user_version").get() as Row).user_version);
      if (version > SCHEMA_VERSION) {
        throw new Error(`Registry database schema ${version} is newer than ${SCHEMA_VERSION}`);
      }
      db.exec(SCHEMA);
      db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
      return new RegistryMetadata(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Close the database. */
  close(): void {
    this.#db.close();
  }

  /** Run `body` in one write transaction. */
  transaction<T>(body: () => T): T {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  /** Size of a stored blob, whatever repository holds it. */
  blobSize(digest: string): number | undefined {
    return sizeOf(this.#sql.blobSize.get(digest));
  }

  /** Size of a blob linked to `repo`. */
  linkedBlobSize(repo: string, digest: string): number | undefined {
    return sizeOf(this.#sql.linkedBlobSize.get(repo, digest));
  }

  /** Record a stored blob and link it to `repo`. */
  addBlob(repo: string, digest: string, size: number): void {
    this.transaction(() => {
      this.#sql.insertBlob.run(digest, size);
      this.#sql.insertRepository.run(repo);
      this.#sql.linkBlob.run(repo, digest);
    });
  }

  /** Link an already stored blob to `repo`. */
  linkBlob(repo: string, digest: string): void {
    this.transaction(() => {
      this.#sql.insertRepository.run(repo);
      this.#sql.linkBlob.run(repo, digest);
    });
  }

  /** Unlink a blob from `repo`; false when it was not linked. */
  unlinkBlob(repo: string, digest: string): boolean {
    return Number(this.#sql.unlinkBlob.run(repo, digest).changes) > 0;
  }

  /** Whether anything was ever pushed to `repo`. */
  repositoryExists(repo: string): boolean {
    return this.#sql.repositoryExists.get(repo) !== undefined;
  }

  /** A manifest by digest. */
  manifestByDigest(repo: string, digest: string): ManifestRow | undefined {
    return manifestOf(this.#sql.manifestByDigest.get(repo, digest));
  }

  /** The manifest a tag points at. */
  manifestByTag(repo: string, tag: string): ManifestRow | undefined {
    return manifestOf(this.#sql.manifestByTag.get(repo, tag));
  }

  /** Size of a manifest of `repo`. */
  manifestSize(repo: string, digest: string): number | undefined {
    return sizeOf(this.#sql.manifestSize.get(repo, digest));
  }

  /** Store a manifest (and point `tag` at it) in one transaction. */
  putManifest(repo: string, manifest: ManifestRecord, tag?: string): void {
    this.transaction(() => {
      this.#sql.insertRepository.run(repo);
      this.#sql.upsertManifest.run(
        repo,
        manifest.digest,
        manifest.mediaType,
        manifest.bytes,
        manifest.subject ?? null,
        manifest.artifactType ?? null,
        manifest.annotations === undefined ? null : JSON.stringify(manifest.annotations),
      );
      if (tag !== undefined) this.#sql.upsertTag.run(repo, tag, manifest.digest);
    });
  }

  /** Delete a manifest and the tags pointing at it; false when there was none. */
  deleteManifest(repo: string, digest: string): boolean {
    return this.transaction(() => {
      const changes = Number(this.#sql.deleteManifest.run(repo, digest).changes);
      this.#sql.deleteTagsOf.run(repo, digest);
      return changes > 0;
    });
  }

  /** Delete a tag; false when there was none. */
  deleteTag(repo: string, tag: string): boolean {
    return Number(this.#sql.deleteTag.run(repo, tag).changes) > 0;
  }

  /** Up to `limit` tags after `last`, in byte order. */
  listTags(repo: string, last: string, limit: number): string[] {
    return this.#sql.listTags.all(repo, last, limit).map((row) => String(row.tag));
  }

  /** Up to `limit` repository names after `last`, in byte order. */
  listRepositories(last: string, limit: number): string[] {
    return this.#sql.listRepositories.all(last, limit).map((row) => String(row.name));
  }

  /** Up to `limit` referrers of `subject` inserted after row `after`, oldest first. */
  listReferrers(
    repo: string,
    subject: string,
    options: { readonly after: number; readonly limit: number; readonly artifactType?: string },
  ): ReferrerRow[] {
    const rows = options.artifactType === undefined
      ? this.#sql.referrers.all(repo, subject, options.after, options.limit)
      : this.#sql.referrersOfType.all(
        repo,
        subject,
        options.after,
        options.artifactType,
        options.limit,
      );
    return rows.map(referrerOf);
  }
}

function sizeOf(row: Row | undefined): number | undefined {
  return row === undefined ? undefined : Number(row.size);
}

function manifestOf(row: Row | undefined): ManifestRow | undefined {
  if (row === undefined) return undefined;
  if (!(row.body instanceof Uint8Array)) throw new TypeError("Manifest body is not a BLOB");
  return {
    digest: String(row.digest),
    mediaType: String(row.media_type),
    bytes: toBytes(row.body),
  };
}

function referrerOf(row: Row): ReferrerRow {
  const artifactType = row.artifact_type === null ? undefined : String(row.artifact_type);
  // Written by putManifest from a checked string map; a corrupt row fails loudly (500).
  const annotations = row.annotations === null
    ? undefined
    : JSON.parse(String(row.annotations)) as Record<string, string>;
  return {
    id: Number(row.id),
    mediaType: String(row.media_type),
    digest: String(row.digest),
    size: Number(row.size),
    ...(artifactType === undefined ? {} : { artifactType }),
    ...(annotations === undefined ? {} : { annotations }),
  };
}
