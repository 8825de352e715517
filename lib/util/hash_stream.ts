/**
 * Streaming hashes of blobs (DESIGN.md "Blobs stream"): a file is read into two reused 1 MiB
 * buffers and fed to `node:crypto` hashes (pure JS for a small file, lib/util/sha2.ts), so memory
 * stays flat whatever the file size.
 *
 * Why not `FsFile.readable`: its 64 KiB chunks cost one allocation and one hash call each, and
 * measured at 40% of `openssl dgst -sha256` on a 256 MiB file; a read loop over a 1 MiB buffer
 * ran at ~85-100%, and two buffers, the next read while the current one is hashed, at ~120% of
 * openssl's time (bench/blob_bench.ts; openssl's figure includes its process start). A caller that needs the bytes themselves (an
 * Ed25519 message, which cannot be signed or verified from a digest) asks for them with
 * `keepBytes`, bounded before anything is kept (SECURITY.md rule 4).
 *
 * @module
 */

import type { Bytes, HashName } from "./bytes.ts";
import { createSha2, type Sha2Hasher } from "./sha2.ts";
import { CosignError } from "../errors.ts";

/** Error codes raised here. */
export type HashStreamErrorCode = "PAYLOAD_TOO_LARGE";

/** Bytes read per call: large enough that per-call overhead vanishes, small enough to stay flat. */
export const HASH_CHUNK_BYTES = 1 << 20;

/** How far hashing has got. */
export interface HashProgress {
  /** Bytes hashed so far. */
  readonly hashed: number;
  /** The file size when known (not for streams). */
  readonly total?: number;
}

/** Options of `hashFile`, `hashStream` and `hashBytes`. */
export interface HashOptions {
  /** Hashes to compute in the one pass (default `["sha256"]`). */
  readonly algorithms?: readonly HashName[];
  /** Called after each chunk; throttle in the caller. */
  readonly onProgress?: (progress: HashProgress) => void;
  /** Stops reading between chunks. */
  readonly signal?: AbortSignal;
  /** Refuse input larger than this many bytes (`PAYLOAD_TOO_LARGE`), checked before reading. */
  readonly maxBytes?: number;
  /**
   * Also return the bytes, when the input has at most this many (else `PAYLOAD_TOO_LARGE`
   * before anything is kept): for Ed25519, which signs the message itself.
   */
  readonly keepBytes?: number;
  /**
   * Also return the bytes when the input turns out to have at most this many, and drop them
   * (no error) when it has more: verifiers that can use WebCrypto on a small message and fall
   * back to the digest for a large one.
   */
  readonly keepSmallBytes?: number;
}

/** A hashed blob. */
export interface HashedBlob {
  /** Its size in bytes. */
  readonly size: number;
  /** One digest per requested algorithm. */
  readonly digests: Readonly<Partial<Record<HashName, Bytes>>>;
  /** The bytes, when `keepBytes` asked for them. */
  readonly bytes?: Bytes;
}

/** The digest of `algorithm` in a hashed blob; a `RangeError` when it was not computed. */
export function digestOf(blob: HashedBlob, algorithm: HashName): Bytes {
  const value = blob.digests[algorithm];
  if (!value) throw new RangeError(`The blob was not hashed with "${algorithm}"`);
  return value;
}

function tooLarge(what: string, size: number, limit: number): CosignError {
  return new CosignError(
    "PAYLOAD_TOO_LARGE",
    `Cannot read ${what}: ${size} bytes exceeds the limit of ${limit}`,
  );
}

/** The running state of one hashing pass. */
class Hasher {
  readonly #hashes: [HashName, Sha2Hasher][];
  readonly #options: HashOptions;
  readonly #what: string;
  readonly #total: number | undefined;
  #kept: Uint8Array[] | undefined;
  readonly #keepUpTo: number | undefined;
  #size = 0;

  constructor(what: string, options: HashOptions, total?: number) {
    const algorithms = options.algorithms ?? ["sha256"];
    if (algorithms.length === 0) throw new RangeError("Name at least one hash algorithm");
    // A small file of known size needs no node:crypto (lib/util/sha2.ts).
    this.#hashes = [...new Set(algorithms)].map((name) => [name, createSha2(name, total)]);
    this.#options = options;
    this.#what = what;
    this.#total = total;
    this.#keepUpTo = options.keepBytes ?? options.keepSmallBytes;
    if (total !== undefined) this.#checkSize(total);
    if (this.#keepUpTo !== undefined && !(total !== undefined && total > this.#keepUpTo)) {
      this.#kept = [];
    }
  }

  #checkSize(size: number): void {
    const { maxBytes, keepBytes } = this.#options;
    if (maxBytes !== undefined && size > maxBytes) throw tooLarge(this.#what, size, maxBytes);
    if (keepBytes !== undefined && size > keepBytes) throw tooLarge(this.#what, size, keepBytes);
  }

  /** Feed a chunk; `copy` when the caller reuses the buffer and the bytes are kept. */
  update(chunk: Uint8Array, copy: boolean): void {
    this.#options.signal?.throwIfAborted();
    this.#size += chunk.length;
    this.#checkSize(this.#size);
    for (const [, hash] of this.#hashes) hash.update(chunk);
    if (this.#kept) {
      if (this.#size > this.#keepUpTo!) this.#kept = undefined; // larger than asked: drop
      else this.#kept.push(copy ? chunk.slice() : chunk);
    }
    this.#options.onProgress?.({
      hashed: this.#size,
      ...(this.#total === undefined ? {} : { total: this.#total }),
    });
  }

  finish(): HashedBlob {
    const digests: Partial<Record<HashName, Bytes>> = {};
    for (const [name, hash] of this.#hashes) digests[name] = hash.digest();
    if (!this.#kept) return { size: this.#size, digests };
    const bytes = new Uint8Array(this.#size);
    let offset = 0;
    for (const chunk of this.#kept) {
      bytes.set(chunk, offset);
      offset += chunk.length;
    }
    return { size: this.#size, digests, bytes };
  }
}

/**
 * Hash a file without loading it: two reused `HASH_CHUNK_BYTES` buffers (one read while the
 * other is hashed), every requested hash updated from each chunk. File system errors (`Deno.errors.NotFound`...) propagate as they are.
 *
 * @example
 * ```ts
 * const { digests, size } = await hashFile("release.tar.gz", { algorithms: ["sha256"] });
 * ```
 */
export async function hashFile(path: string | URL, options: HashOptions = {}): Promise<HashedBlob> {
  using file = await Deno.open(path, { read: true });
  const info = await file.stat();
  const total = info.isFile ? info.size : undefined;
  const hasher = new Hasher(`"${String(path)}"`, options, total);
  // Two buffers: the next chunk is read (off this thread) while the current one is hashed.
  let current = new Uint8Array(HASH_CHUNK_BYTES);
  let next = new Uint8Array(HASH_CHUNK_BYTES);
  let reading = fillFrom(file, current);
  for (;;) {
    const n = await reading;
    if (n === 0) break;
    reading = fillFrom(file, next);
    try {
      hasher.update(current.subarray(0, n), true);
    } catch (error) {
      await reading.catch(() => {}); // let the read in flight finish before the file closes
      throw error;
    }
    [current, next] = [next, current];
  }
  return hasher.finish();
}

/** Read into `buffer` until it is full or the file ends; the number of bytes read. */
async function fillFrom(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const n = await file.read(buffer.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return filled;
}

/** Hash a byte stream (standard input, a response body) chunk by chunk as it arrives. */
export async function hashStream(
  stream: ReadableStream<Uint8Array>,
  options: HashOptions = {},
): Promise<HashedBlob> {
  const hasher = new Hasher("the input stream", options);
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hasher.update(value, false);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return hasher.finish();
}

/** Hash bytes already in memory, with the same options and result as the streaming forms. */
export function hashBytes(bytes: Uint8Array, options: HashOptions = {}): HashedBlob {
  const hasher = new Hasher("the input", options, bytes.length);
  hasher.update(bytes, true);
  return hasher.finish();
}

/** Where a blob's bytes come from. */
export type BlobSource =
  | { readonly kind: "file"; readonly path: string }
  | { readonly kind: "bytes"; readonly bytes: Uint8Array }
  | { readonly kind: "stream"; readonly stream: ReadableStream<Uint8Array> };

/** Hash a blob from any source (see `hashFile`, `hashStream`, `hashBytes`). */
export async function hashBlob(source: BlobSource, options: HashOptions = {}): Promise<HashedBlob> {
  switch (source.kind) {
    case "file":
      return await hashFile(source.path, options);
    case "stream":
      return await hashStream(source.stream, options);
    case "bytes":
      return hashBytes(source.bytes, options);
  }
}
