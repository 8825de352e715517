/**
 * RFC 6962 / RFC 9162 Merkle trees: leaf and node hashing, and verification of inclusion and
 * consistency proofs. Shared by the Rekor client and the embedded log.
 *
 * Sizes and indexes are bigints end to end: Rekor's public shards are past 2^30 entries and an
 * attacker can claim anything up to 2^64, so nothing here is ever rounded through a double.
 * Roots compare as bytes, never as case-folded hex (rekor #2861). Proof lengths are checked
 * against the tree shape before any hashing, so a wrong hash count has its own reason (and the
 * last-leaf case that sigstore-js #646 got wrong is counted with a real bit length).
 *
 * Generating roots and proofs from stored node hashes is `lib/tlog/merkle_tree.ts`.
 *
 * @module
 */

import { createSha2 } from "../util/sha2.ts";
import { bitLength, popCount, trailingZeros } from "../util/bigint_bits.ts";
import { type Bytes, equalBytes, toBytes } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";

/** Error codes raised here. */
export type MerkleErrorCode = "REKOR_PROOF_INVALID" | "REKOR_CONSISTENCY_INVALID";

/** Why a proof failed, for callers and tests that need more than the message. */
export type MerkleFailure =
  | "index-out-of-range"
  | "wrong-hash-count"
  | "bad-hash-length"
  | "root-mismatch"
  | "size-order"
  | "empty-tree"
  | "proof-not-empty";

/** A proof that does not verify; `reason` says which check failed. */
export class MerkleProofError extends CosignError {
  /** The failed check. */
  readonly reason: MerkleFailure;

  /** Create the error for a failed check. */
  constructor(code: MerkleErrorCode, reason: MerkleFailure, message: string) {
    super(code, message);
    this.name = "MerkleProofError";
    this.reason = reason;
  }
}

/** Size of a SHA-256 node hash. */
export const HASH_SIZE = 32;

/** Most hashes a proof can need: one per level of a tree of 2^64 leaves. */
export const MAX_PROOF_HASHES = 64;

/** Largest tree size (and index + 1) RFC 9162 allows: sizes are uint64. */
export const MAX_TREE_SIZE = (1n << 64n) - 1n;

/** The root of the empty tree: SHA-256 of nothing (RFC 6962 section 2.1). */
export const EMPTY_ROOT: Bytes = createSha2("sha256", 0).digest();

const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

/** RFC 6962 section 2.1 leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Bytes {
  return createSha2("sha256", data.length).update(LEAF_PREFIX).update(data).digest();
}

/** RFC 6962 section 2.1 interior node hash: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Bytes {
  return createSha2("sha256", 64).update(NODE_PREFIX).update(left).update(right).digest();
}

// ---------------------------------------------------------------------------------------------
// Verification

/** Inputs of an inclusion proof check. */
export interface InclusionInput {
  /** Tree-local index of the leaf. */
  readonly index: bigint;
  /** Tree size the proof is for. */
  readonly size: bigint;
  /** `hashLeaf(body)`. */
  readonly leafHash: Uint8Array;
  /** Sibling hashes, leaf to root. */
  readonly proof: readonly Uint8Array[];
}

function fail(code: MerkleErrorCode, reason: MerkleFailure, message: string): never {
  throw new MerkleProofError(code, reason, message);
}

function checkHashes(code: MerkleErrorCode, hashes: readonly Uint8Array[], what: string): void {
  for (let i = 0; i < hashes.length; i++) {
    if (hashes[i]!.length !== HASH_SIZE) {
      fail(code, "bad-hash-length", `${what} hash ${i} is ${hashes[i]!.length} bytes, not 32`);
    }
  }
}

/** Expected inclusion proof length for `index` in a tree of `size` (RFC 9162 section 2.1.3.1). */
export function inclusionProofLength(index: bigint, size: bigint): number {
  const inner = bitLength(index ^ (size - 1n));
  return inner + popCount(index >> BigInt(inner));
}

/**
 * The root an inclusion proof leads to (RFC 9162 section 2.1.3.2). Throws `MerkleProofError`
 * (`REKOR_PROOF_INVALID`) when the index is not inside the tree, the proof has the wrong number
 * of hashes for this index and size, or a hash is not 32 bytes.
 */
export function rootFromInclusion(input: InclusionInput): Bytes {
  const { index, size, leafHash, proof } = input;
  const code = "REKOR_PROOF_INVALID";
  if (index < 0n || size > MAX_TREE_SIZE || index >= size) {
    fail(code, "index-out-of-range", `Leaf index ${index} is not inside a tree of size ${size}`);
  }
  if (proof.length > MAX_PROOF_HASHES) {
    fail(code, "wrong-hash-count", `Inclusion proof has ${proof.length} hashes, more than 64`);
  }
  const expected = inclusionProofLength(index, size);
  if (proof.length !== expected) {
    fail(
      code,
      "wrong-hash-count",
      `Inclusion proof has ${proof.length} hashes, expected ${expected} for leaf ${index} of ${size}`,
    );
  }
  if (leafHash.length !== HASH_SIZE) {
    fail(code, "bad-hash-length", `Leaf hash is ${leafHash.length} bytes, not 32`);
  }
  checkHashes(code, proof, "Inclusion proof");
  let fn = index;
  let sn = size - 1n;
  let r: Uint8Array = leafHash;
  for (const p of proof) {
    // The length check above guarantees sn > 0 here; the RFC's own check is kept as a guard.
    if (sn === 0n) fail(code, "wrong-hash-count", "Inclusion proof is longer than the tree");
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail(code, "wrong-hash-count", "Inclusion proof is shorter than the tree");
  return toBytes(r);
}

/**
 * Check an inclusion proof against a root. Throws `MerkleProofError` (`REKOR_PROOF_INVALID`)
 * naming the failed check; the root comparison is exact on bytes.
 */
export function verifyInclusion(input: InclusionInput & { readonly root: Uint8Array }): void {
  const computed = rootFromInclusion(input);
  if (!equalBytes(computed, input.root)) {
    fail(
      "REKOR_PROOF_INVALID",
      "root-mismatch",
      `Inclusion proof leads to root "${computed.toHex()}", not "${input.root.toHex()}"`,
    );
  }
}

/** Inputs of a consistency proof check. */
export interface ConsistencyInput {
  /** Size of the older tree. */
  readonly size1: bigint;
  /** Size of the newer tree. */
  readonly size2: bigint;
  /** Root of the older tree. */
  readonly root1: Uint8Array;
  /** Root of the newer tree. */
  readonly root2: Uint8Array;
  /** The proof hashes, as RFC 9162 orders them. */
  readonly proof: readonly Uint8Array[];
}

/** Expected consistency proof length from `size1` to `size2` (0 < size1 < size2). */
export function consistencyProofLength(size1: bigint, size2: bigint): number {
  const level = BigInt(trailingZeros(size1));
  const index = (size1 - 1n) >> level;
  const size = ((size2 - 1n) >> level) + 1n;
  return inclusionProofLength(index, size) + (index === 0n ? 0 : 1);
}

/**
 * Check that the tree of `size2` with `root2` extends the tree of `size1` with `root1`
 * (RFC 9162 section 2.1.4.2). Throws `MerkleProofError` (`REKOR_CONSISTENCY_INVALID`). A proof
 * from the empty tree proves nothing and is refused (rekor #1290).
 */
export function verifyConsistency(input: ConsistencyInput): void {
  const { size1, size2, root1, root2, proof } = input;
  const code = "REKOR_CONSISTENCY_INVALID";
  if (size1 < 0n || size2 > MAX_TREE_SIZE || size2 < size1) {
    fail(code, "size-order", `Tree size ${size2} cannot extend tree size ${size1}`);
  }
  if (size1 === 0n) fail(code, "empty-tree", "A consistency proof from the empty tree is useless");
  if (size1 === size2) {
    if (proof.length > 0) {
      fail(code, "proof-not-empty", "Trees of equal size need an empty consistency proof");
    }
    if (!equalBytes(root1, root2)) {
      fail(code, "root-mismatch", `Trees of size ${size1} have different roots`);
    }
    return;
  }
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) {
    fail(code, "bad-hash-length", "Tree roots must be 32 bytes");
  }
  if (proof.length > MAX_PROOF_HASHES + 1) {
    fail(code, "wrong-hash-count", `Consistency proof has ${proof.length} hashes, too many`);
  }
  const expected = consistencyProofLength(size1, size2);
  if (proof.length !== expected) {
    fail(
      code,
      "wrong-hash-count",
      `Consistency proof has ${proof.length} hashes, expected ${expected} from ${size1} to ${size2}`,
    );
  }
  checkHashes(code, proof, "Consistency proof");
  // RFC 9162 section 2.1.4.2, steps 2-7.
  const path: readonly Uint8Array[] = (size1 & (size1 - 1n)) === 0n ? [root1, ...proof] : proof;
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0n) fail(code, "wrong-hash-count", "Consistency proof is longer than the tree");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail(code, "wrong-hash-count", "Consistency proof is shorter than the tree");
  if (!equalBytes(fr, root1)) {
    fail(code, "root-mismatch", `Consistency proof does not lead to the root of size ${size1}`);
  }
  if (!equalBytes(sr, root2)) {
    fail(code, "root-mismatch", `Consistency proof does not lead to the root of size ${size2}`);
  }
}
