/**
 * SHA-2 without paying for Node's crypto layer where it does not pay back.
 *
 * `node:crypto` hashes large inputs at about openssl's speed, but importing it costs ~13 ms of
 * start-up in Deno 2.9 (its polyfill graph loads on first import), more than a whole offline
 * `verify-blob` of a small file spends hashing. So small inputs (at most `SMALL_INPUT_BYTES`)
 * go to pure-JS SHA-2 (`@noble/hashes`, as fast as `node:crypto` below ~1 KiB, a few times
 * slower at 16 KiB), and `node:crypto` is fetched on the first large input, synchronously,
 * through `process.getBuiltinModule` (Node 20.16+, Deno 2), then used for every input.
 *
 * @module
 */

import type { Hash } from "node:crypto";
import { sha256, sha384, sha512 } from "../_deps/hashes.ts";

/** Bytes owned by an `ArrayBuffer` (lib/util/bytes.ts's `Bytes`; not imported: bytes.ts uses this). */
type Bytes = Uint8Array<ArrayBuffer>;

/** A SHA-2 function name (lib/util/bytes.ts's `Sha2Name`). */
export type Sha2Name = "sha256" | "sha384" | "sha512";

/** Largest input hashed in pure JS while `node:crypto` is not loaded. */
export const SMALL_INPUT_BYTES = 16 * 1024;

/** An incremental SHA-2 hash. */
export interface Sha2Hasher {
  /** Feed bytes (the hasher does not keep them). */
  update(data: Uint8Array): Sha2Hasher;
  /** The digest; the hasher is spent. */
  digest(): Bytes;
}

type CreateHash = (name: string) => Hash;

let nodeCreateHash: CreateHash | undefined;

/** `node:crypto`'s `createHash`, fetched once on first use. */
export function nodeHash(): CreateHash {
  if (!nodeCreateHash) {
    const process = (globalThis as {
      process?: { getBuiltinModule?: (id: string) => { createHash?: CreateHash } | undefined };
    }).process;
    const createHash = process?.getBuiltinModule?.("node:crypto")?.createHash;
    if (typeof createHash !== "function") {
      throw new Error("node:crypto is not available (process.getBuiltinModule)");
    }
    nodeCreateHash = createHash;
  }
  return nodeCreateHash;
}

const NOBLE = { sha256, sha384, sha512 } as const;

class NodeHasher implements Sha2Hasher {
  readonly #hash: Hash;
  constructor(name: Sha2Name) {
    this.#hash = nodeHash()(name);
  }
  update(data: Uint8Array): this {
    this.#hash.update(data);
    return this;
  }
  digest(): Bytes {
    return Uint8Array.from(this.#hash.digest()) as Bytes;
  }
}

class NobleHasher implements Sha2Hasher {
  readonly #hash: ReturnType<(typeof NOBLE)[Sha2Name]["create"]>;
  constructor(name: Sha2Name) {
    this.#hash = NOBLE[name].create();
  }
  update(data: Uint8Array): this {
    this.#hash.update(data);
    return this;
  }
  digest(): Bytes {
    return Uint8Array.from(this.#hash.digest()) as Bytes;
  }
}

/**
 * A hasher for about `expectedBytes` of input: pure JS when that is small and `node:crypto`
 * is not loaded yet, else `node:crypto` (also when the size is unknown).
 */
export function createSha2(name: Sha2Name, expectedBytes?: number): Sha2Hasher {
  if (nodeCreateHash || expectedBytes === undefined || expectedBytes > SMALL_INPUT_BYTES) {
    return new NodeHasher(name);
  }
  return new NobleHasher(name);
}

/** Hash bytes in one call (see `createSha2`). */
export function sha2(name: Sha2Name, data: Uint8Array): Bytes {
  if (!nodeCreateHash && data.length <= SMALL_INPUT_BYTES) return pureSha2(name, data);
  return new NodeHasher(name).update(data).digest();
}

/** Pure-JS SHA-2 of any input, never loading `node:crypto` (the small-input path). */
export function pureSha2(name: Sha2Name, data: Uint8Array): Bytes {
  return Uint8Array.from(NOBLE[name](data)) as Bytes;
}

/** A pure-JS incremental hasher (the small-input path of `createSha2`). */
export function createPureSha2(name: Sha2Name): Sha2Hasher {
  return new NobleHasher(name);
}
