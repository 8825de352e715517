/**
 * RFC 6962 Merkle tree generation: the root, inclusion proofs and consistency proofs of a tree
 * whose node hashes a `MerkleNodeSource` stores (the hash of each complete subtree of 2^level
 * leaves). A log that stores those (about 2n nodes for n leaves) answers every proof with
 * O(log n) reads; `MemoryMerkleTree` is such a source in memory. Used by the embedded log;
 * hashing and proof verification are `lib/tlog/merkle.ts`.
 *
 * @module
 */

import { bitLength } from "../util/bigint_bits.ts";
import { type Bytes, toBytes } from "../util/bytes.ts";
import { EMPTY_ROOT, HASH_SIZE, hashChildren, MAX_TREE_SIZE } from "./merkle.ts";

/** Where proof generation reads stored node hashes from. */
export interface MerkleNodeSource {
  /**
   * The hash of the complete subtree of 2^`level` leaves whose first leaf is
   * `index * 2^level` (level 0: the leaf hashes). Only nodes of complete subtrees inside the
   * tree being proven are asked for.
   */
  nodeHash(level: number, index: bigint): Uint8Array;
}

/** Largest power of two strictly below `n` (n >= 2), as RFC 6962 section 2.1 splits trees. */
function splitPoint(n: bigint): bigint {
  return 1n << BigInt(bitLength(n - 1n) - 1);
}

/** MTH(D[start:start+n]) for an aligned `start`: complete subtrees, folded from the right. */
function subtreeHash(source: MerkleNodeSource, start: bigint, n: bigint): Bytes {
  const parts: Uint8Array[] = [];
  let offset = start;
  for (let level = bitLength(n) - 1; level >= 0; level--) {
    const width = 1n << BigInt(level);
    if ((n & width) === 0n) continue;
    parts.push(source.nodeHash(level, offset >> BigInt(level)));
    offset += width;
  }
  let hash = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) hash = hashChildren(parts[i]!, hash);
  return toBytes(hash);
}

function checkSize(size: bigint): void {
  if (size < 0n || size > MAX_TREE_SIZE) throw new RangeError(`Invalid tree size ${size}`);
}

/** MTH of the first `size` leaves (RFC 6962 section 2.1); the empty tree's root for 0. */
export function rootHash(source: MerkleNodeSource, size: bigint): Bytes {
  checkSize(size);
  return size === 0n ? toBytes(EMPTY_ROOT) : subtreeHash(source, 0n, size);
}

/** PATH(index, D[size]) of RFC 6962 section 2.1.1: sibling hashes, leaf to root. */
export function inclusionProof(source: MerkleNodeSource, index: bigint, size: bigint): Bytes[] {
  checkSize(size);
  if (index < 0n || index >= size) {
    throw new RangeError(`Leaf index ${index} is not inside a tree of size ${size}`);
  }
  const siblings: Bytes[] = [];
  let start = 0n;
  let n = size;
  let m = index;
  while (n > 1n) {
    const k = splitPoint(n);
    if (m < k) {
      siblings.push(subtreeHash(source, start + k, n - k));
      n = k;
    } else {
      siblings.push(subtreeHash(source, start, k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  return siblings.reverse();
}

/**
 * PROOF(size1, D[size2]) of RFC 6962 section 2.1.2: the hashes proving the tree of `size2`
 * extends the tree of `size1`. Empty when the sizes are equal; `size1` must be positive.
 */
export function consistencyProof(source: MerkleNodeSource, size1: bigint, size2: bigint): Bytes[] {
  checkSize(size2);
  if (size1 <= 0n || size1 > size2) {
    throw new RangeError(`No consistency proof from tree size ${size1} to ${size2}`);
  }
  const siblings: Bytes[] = [];
  let start = 0n;
  let n = size2;
  let m = size1;
  let complete = true;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      siblings.push(subtreeHash(source, start + k, n - k));
      n = k;
    } else {
      siblings.push(subtreeHash(source, start, k));
      start += k;
      m -= k;
      n -= k;
      complete = false;
    }
  }
  if (!complete) siblings.push(subtreeHash(source, start, m));
  return siblings.reverse();
}

/**
 * The hashes to store when leaf `index` is appended: `[level, index, hash]` for the leaf and
 * for every complete subtree it closes. `source` must already hold the earlier nodes.
 */
export function nodesForAppend(
  source: MerkleNodeSource,
  index: bigint,
  leafHash: Uint8Array,
): Array<[level: number, index: bigint, hash: Bytes]> {
  const nodes: Array<[number, bigint, Bytes]> = [[0, index, toBytes(leafHash)]];
  let hash: Uint8Array = leafHash;
  let level = 0;
  let i = index;
  while ((i & 1n) === 1n) {
    hash = hashChildren(source.nodeHash(level, i - 1n), hash);
    level++;
    i >>= 1n;
    nodes.push([level, i, toBytes(hash)]);
  }
  return nodes;
}

/**
 * An append-only tree in memory that keeps every complete-subtree hash (about 2n hashes in
 * flat buffers), so proofs read O(log n) nodes. For tests, benchmarks and ephemeral logs.
 */
export class MemoryMerkleTree implements MerkleNodeSource {
  #levels: Uint8Array[] = [];
  #counts: number[] = [];
  #size = 0;

  /** Number of leaves. */
  get size(): bigint {
    return BigInt(this.#size);
  }

  /** Append a leaf hash; returns its index. */
  append(leafHash: Uint8Array): bigint {
    if (leafHash.length !== HASH_SIZE) throw new RangeError("Leaf hash must be 32 bytes");
    const index = BigInt(this.#size);
    for (const [level, , hash] of nodesForAppend(this, index, leafHash)) this.#push(level, hash);
    this.#size++;
    return index;
  }

  #push(level: number, hash: Uint8Array): void {
    if (this.#levels.length === level) {
      this.#levels.push(new Uint8Array(HASH_SIZE * 16));
      this.#counts.push(0);
    }
    let buffer = this.#levels[level]!;
    const count = this.#counts[level]!;
    if ((count + 1) * HASH_SIZE > buffer.length) {
      const grown = new Uint8Array(buffer.length * 2);
      grown.set(buffer);
      this.#levels[level] = buffer = grown;
    }
    buffer.set(hash, count * HASH_SIZE);
    this.#counts[level] = count + 1;
  }

  /** See `MerkleNodeSource.nodeHash`; the returned view must not be modified. */
  nodeHash(level: number, index: bigint): Uint8Array {
    const i = Number(index);
    if (level >= this.#levels.length || i < 0 || i >= this.#counts[level]!) {
      throw new RangeError(`No node at level ${level}, index ${index}`);
    }
    return this.#levels[level]!.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}
