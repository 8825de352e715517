/**
 * Blob upload sessions of the embedded registry (distribution-spec v1.1 "Pushing blobs"): a
 * bounded number of sessions, each a scratch sink plus an incremental SHA-256, fed by chunks that
 * must arrive in order and never push the blob past the size limit. A session lives in memory
 * only; a failed request ends it (except a misplaced chunk, which the spec answers with 416).
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import type { BlobBackend, UploadSink } from "./_blobs.ts";
import { RegistryError } from "./errors.ts";
import { checkRepositoryName, type ParsedDigest, parseDigest } from "./_manifest.ts";

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

/** Options of a chunk. */
export interface UploadChunkOptions {
  /** Offset the chunk claims to start at (Content-Range); must equal the bytes received. */
  readonly start?: number;
  /** Exact length the chunk must have (Content-Length or Content-Range). */
  readonly length?: number;
}

/** Limits of the sessions. */
export interface UploadLimits {
  readonly maxBlobSize: number;
  readonly maxSessions: number;
  readonly timeoutMs: number;
  readonly now: () => number;
}

/** Makes a verified upload durable and visible; called with the digest the bytes hash to. */
export type CommitUpload = (sink: UploadSink, digest: ParsedDigest, size: number) => Promise<void>;

interface Session {
  readonly id: string;
  readonly repository: string;
  readonly sink: UploadSink;
  readonly sha256: Hash;
  busy: boolean;
  touched: number;
}

/** The open upload sessions. */
export class UploadSessions {
  readonly #blobs: BlobBackend;
  readonly #limits: UploadLimits;
  readonly #sessions = new Map<string, Session>();
  #opening = 0;

  constructor(blobs: BlobBackend, limits: UploadLimits) {
    this.#blobs = blobs;
    this.#limits = limits;
  }

  /** Open a session; `SERVER_TOO_MANY_UPLOADS` when the limit is reached. */
  async start(repository: string): Promise<UploadStatus> {
    checkRepositoryName(repository);
    await this.#expire();
    // Count sessions still creating their sink too, so concurrent starts cannot overshoot.
    if (this.#sessions.size + this.#opening >= this.#limits.maxSessions) {
      throw new RegistryError(
        "SERVER_TOO_MANY_UPLOADS",
        `Too many upload sessions (limit ${this.#limits.maxSessions})`,
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
        touched: this.#limits.now(),
      });
      return { id, repository, size: 0 };
    } finally {
      this.#opening--;
    }
  }

  /** The state of a session; `SERVER_BLOB_UPLOAD_UNKNOWN` when there is none. */
  status(repository: string, id: string): UploadStatus {
    return { id, repository, size: this.#find(repository, id).sink.size };
  }

  /** Append a chunk; a misplaced one keeps the session, any other failure ends it. */
  async append(
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
    session.touched = this.#limits.now();
    return { id, repository, size: session.sink.size };
  }

  /**
   * Append the optional last chunk, check the bytes hash to `digest`, then hand the sink to
   * `commit`. The session ends whatever happens.
   */
  async finish(
    repository: string,
    id: string,
    digest: string,
    options: UploadChunkOptions & { readonly body?: BodySource },
    commit: CommitUpload,
  ): Promise<{ readonly digest: string; readonly size: number }> {
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
      await commit(session.sink, expected, size);
      this.#sessions.delete(id);
      return { digest: expected.digest, size };
    } catch (error) {
      await this.#drop(session);
      throw error;
    }
  }

  /** Cancel a session and drop its data. */
  async cancel(repository: string, id: string): Promise<void> {
    await this.#drop(this.#find(repository, id));
  }

  /** Drop every session. */
  async closeAll(): Promise<void> {
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(sessions.map((s) => s.sink.discard()));
  }

  #find(repository: string, id: string): Session {
    checkRepositoryName(repository);
    const session = this.#sessions.get(id);
    if (session === undefined || session.repository !== repository) {
      throw new RegistryError("SERVER_BLOB_UPLOAD_UNKNOWN", `Unknown upload "${id.slice(0, 40)}"`);
    }
    return session;
  }

  /** Take a session for one request; refuses a concurrent request or a misplaced chunk. */
  #claim(repository: string, id: string, start: number | undefined): Session {
    const session = this.#find(repository, id);
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

  /** Append a body, bounded by the blob limit and the declared length before each write. */
  async #write(session: Session, body: BodySource, length: number | undefined): Promise<void> {
    const max = this.#limits.maxBlobSize;
    const start = session.sink.size;
    if (length !== undefined && start + length > max) throw tooLarge(max);
    const append = async (chunk: Uint8Array) => {
      if (session.sink.size + chunk.length > max) throw tooLarge(max);
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

  async #drop(session: Session): Promise<void> {
    this.#sessions.delete(session.id);
    await session.sink.discard();
  }

  async #expire(): Promise<void> {
    const deadline = this.#limits.now() - this.#limits.timeoutMs;
    for (const session of [...this.#sessions.values()]) {
      if (!session.busy && session.touched < deadline) await this.#drop(session);
    }
  }
}

function tooLarge(max: number): RegistryError {
  return new RegistryError(
    "SERVER_BLOB_TOO_LARGE",
    `Blob is larger than the limit of ${max} bytes`,
  );
}

function sizeInvalid(length: number): RegistryError {
  return new RegistryError(
    "SERVER_SIZE_INVALID",
    `Body length differs from the declared ${length}`,
  );
}
