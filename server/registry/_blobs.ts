/**
 * Where the embedded registry keeps blob bytes: content-addressed files under a directory, or a
 * map in memory. Uploads land in a scratch sink first and only move to their content address
 * once the store has checked the digest; on disk that move is write temp, fsync, rename, fsync
 * the directory, so an acknowledged blob survives a crash of the process or the machine.
 *
 * @module
 */

import { join } from "node:path";
import { type Bytes, concatAll, type HashName } from "../../lib/util/bytes.ts";
import { digestOf, type ParsedDigest } from "./_manifest.ts";

/** Scratch space of one upload session. */
export interface UploadSink {
  /** Bytes written so far. */
  readonly size: number;
  /** Append a chunk. */
  write(chunk: Uint8Array): Promise<void>;
  /** Hash everything written with `algorithm` (when the incremental sha256 does not apply). */
  digest(algorithm: HashName): Promise<string>;
  /** Drop the scratch data. Safe to call twice. */
  discard(): Promise<void>;
}

/** Blob bytes for a response: a stream (disk) or bytes (memory). */
export type BlobBody = ReadableStream<Uint8Array> | Bytes;

/** A place to keep blob bytes by digest. */
export interface BlobBackend {
  /** True when blobs outlive the process. */
  readonly persistent: boolean;
  /** A fresh scratch sink for an upload session. */
  createSink(id: string): Promise<UploadSink>;
  /** Make a sink's bytes the content of `digest`, durably; the sink is consumed. */
  commit(sink: UploadSink, digest: ParsedDigest): Promise<void>;
  /** Bytes `[start, end)` of a committed blob. */
  read(digest: ParsedDigest, start: number, end: number): Promise<BlobBody>;
  /** Remove scratch data left by an earlier process. */
  clearScratch(): Promise<void>;
}

/** Blobs as files: `<root>/blobs/<alg>/<hex[0:2]>/<hex>`, scratch under `<root>/uploads/`. */
export class DiskBlobBackend implements BlobBackend {
  readonly persistent = true;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  async createSink(id: string): Promise<UploadSink> {
    const dir = join(this.#root, "uploads");
    await Deno.mkdir(dir, { recursive: true });
    const path = join(dir, id);
    const file = await Deno.open(path, { write: true, createNew: true });
    return new DiskSink(path, file);
  }

  async commit(sink: UploadSink, digest: ParsedDigest): Promise<void> {
    if (!(sink instanceof DiskSink)) throw new TypeError("Sink does not belong to this backend");
    const blobs = join(this.#root, "blobs");
    const dir = join(blobs, digest.algorithm, digest.hex.slice(0, 2));
    const created = await Deno.stat(dir).then(() => false, () => true);
    if (created) await Deno.mkdir(dir, { recursive: true });
    const path = await sink.finish();
    await Deno.rename(path, join(dir, digest.hex));
    // The rename is only durable once the directory entry is on disk, and a new fan-out
    // directory only once its own entry is (fsync(2), "Notes").
    await syncDirectory(dir);
    if (created) {
      await syncDirectory(join(blobs, digest.algorithm));
      await syncDirectory(blobs);
      await syncDirectory(this.#root);
    }
  }

  async read(digest: ParsedDigest, start: number, end: number): Promise<BlobBody> {
    const path = join(this.#root, "blobs", digest.algorithm, digest.hex.slice(0, 2), digest.hex);
    const file = await Deno.open(path, { read: true });
    try {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    } catch (error) {
      file.close();
      throw error;
    }
    return rangeStream(file, end - start);
  }

  async clearScratch(): Promise<void> {
    await Deno.remove(join(this.#root, "uploads"), { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

class DiskSink implements UploadSink {
  #size = 0;
  #file: Deno.FsFile | undefined;
  readonly #path: string;

  constructor(path: string, file: Deno.FsFile) {
    this.#path = path;
    this.#file = file;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const file = this.#open();
    let offset = 0;
    while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
    this.#size += chunk.length;
  }

  async digest(algorithm: HashName): Promise<string> {
    await this.#open().sync();
    return digestOf(algorithm, await Deno.readFile(this.#path));
  }

  /** fsync and close; returns the path to rename. */
  async finish(): Promise<string> {
    const file = this.#open();
    await file.sync();
    file.close();
    this.#file = undefined;
    return this.#path;
  }

  async discard(): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    await Deno.remove(this.#path).catch(() => {});
  }

  #open(): Deno.FsFile {
    if (this.#file === undefined) throw new Error("Upload sink is closed");
    return this.#file;
  }
}

/** Blobs in a map: nothing survives the process. */
export class MemoryBlobBackend implements BlobBackend {
  readonly persistent = false;
  readonly #blobs = new Map<string, Bytes>();

  createSink(): Promise<UploadSink> {
    return Promise.resolve(new MemorySink());
  }

  commit(sink: UploadSink, digest: ParsedDigest): Promise<void> {
    if (!(sink instanceof MemorySink)) throw new TypeError("Sink does not belong to this backend");
    this.#blobs.set(digest.digest, sink.take());
    return Promise.resolve();
  }

  read(digest: ParsedDigest, start: number, end: number): Promise<BlobBody> {
    const bytes = this.#blobs.get(digest.digest);
    if (bytes === undefined) {
      return Promise.reject(new Error(`Blob "${digest.digest}" is missing from memory`));
    }
    return Promise.resolve(bytes.slice(start, end));
  }

  clearScratch(): Promise<void> {
    return Promise.resolve();
  }
}

class MemorySink implements UploadSink {
  #chunks: Uint8Array[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  write(chunk: Uint8Array): Promise<void> {
    // Copy: the caller's buffer may be reused by the stream that produced it.
    this.#chunks.push(chunk.slice());
    this.#size += chunk.length;
    return Promise.resolve();
  }

  digest(algorithm: HashName): Promise<string> {
    return Promise.resolve(digestOf(algorithm, concatAll(this.#chunks)));
  }

  take(): Bytes {
    const bytes = concatAll(this.#chunks);
    this.#chunks = [];
    return bytes;
  }

  discard(): Promise<void> {
    this.#chunks = [];
    return Promise.resolve();
  }
}

const READ_CHUNK = 64 * 1024;

/** Stream exactly `length` bytes from the file's current position, then close it. */
function rangeStream(file: Deno.FsFile, length: number): ReadableStream<Uint8Array> {
  let remaining = length;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining === 0) {
        close();
        controller.close();
        return;
      }
      const buffer = new Uint8Array(Math.min(READ_CHUNK, remaining));
      try {
        const n = await file.read(buffer);
        if (n === null) throw new Error("Blob file is shorter than its recorded size");
        remaining -= n;
        controller.enqueue(buffer.subarray(0, n));
      } catch (error) {
        close();
        controller.error(error);
      }
    },
    cancel() {
      close();
    },
  });
}

async function syncDirectory(path: string): Promise<void> {
  const dir = await Deno.open(path, { read: true });
  try {
    await dir.sync();
  } finally {
    dir.close();
  }
}
