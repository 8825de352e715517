import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { type Bytes, concat, fromBase64, sha256, utf8 } from "../../../lib/util/bytes.ts";
import {
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  inclusionProofLength,
  type MerkleFailure,
  MerkleProofError,
  rootFromInclusion,
  verifyConsistency,
  verifyInclusion,
} from "../../../lib/tlog/merkle.ts";
import {
  consistencyProof,
  inclusionProof,
  MemoryMerkleTree,
  type MerkleNodeSource,
  rootHash,
} from "../../../lib/tlog/merkle_tree.ts";

const TESTDATA = new URL("../../testdata/rfc6962/", import.meta.url);

function b64(text: string | null): Bytes {
  return fromBase64(text ?? "");
}

function throwsReason(fn: () => unknown, reason: MerkleFailure): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof MerkleProofError, `expected MerkleProofError, got ${error}`);
    assert.equal(error.reason, reason);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// A naive RFC 6962 implementation straight from the recursive definitions (section 2.1), used
// as the oracle for generated trees.

const LEAVES: Bytes[] = Array.from({ length: 300 }, (_, i) => utf8(`leaf ${i}`));
const mthMemo = new Map<string, Bytes>();

function naiveMth(start: number, n: number): Bytes {
  if (n === 0) return sha256(new Uint8Array());
  const key = `${start}:${n}`;
  const cached = mthMemo.get(key);
  if (cached) return cached;
  let result: Bytes;
  if (n === 1) {
    result = sha256(concat(new Uint8Array([0]), LEAVES[start]!));
  } else {
    let k = 1;
    while (k * 2 < n) k *= 2;
    result = sha256(concat(new Uint8Array([1]), naiveMth(start, k), naiveMth(start + k, n - k)));
  }
  mthMemo.set(key, result);
  return result;
}

function naivePath(m: number, start: number, n: number): Bytes[] {
  if (n === 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k
    ? [...naivePath(m, start, k), naiveMth(start + k, n - k)]
    : [...naivePath(m - k, start + k, n - k), naiveMth(start, k)];
}

function naiveSubproof(m: number, start: number, n: number, complete: boolean): Bytes[] {
  if (m === n) return complete ? [] : [naiveMth(start, m)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k
    ? [...naiveSubproof(m, start, k, complete), naiveMth(start + k, n - k)]
    : [...naiveSubproof(m - k, start + k, n - k, false), naiveMth(start, k)];
}

function treeOf(count: number): MemoryMerkleTree {
  const tree = new MemoryMerkleTree();
  for (let i = 0; i < count; i++) tree.append(hashLeaf(LEAVES[i]!));
  return tree;
}

// ---------------------------------------------------------------------------------------------
// Published corpus: transparency-dev/merkle testdata (see tests/testdata/SOURCES.md)

interface InclusionCase {
  file: string;
  leafIdx: number;
  treeSize: number;
  root: string | null;
  leafHash: string | null;
  proof: string[] | null;
  wantErr: boolean;
}

interface ConsistencyCase {
  file: string;
  size1: number;
  size2: number;
  root1: string | null;
  root2: string | null;
  proof: string[] | null;
  wantErr: boolean;
}

Deno.test("verifyInclusion() agrees with every case of the transparency-dev inclusion corpus", async () => {
  const cases: InclusionCase[] = JSON.parse(
    await Deno.readTextFile(new URL("inclusion.json", TESTDATA)),
  );
  assert.ok(cases.length >= 90);
  let accepted = 0;
  for (const c of cases) {
    const run = () =>
      verifyInclusion({
        index: BigInt(c.leafIdx),
        size: BigInt(c.treeSize),
        leafHash: b64(c.leafHash),
        proof: (c.proof ?? []).map(b64),
        root: b64(c.root),
      });
    if (c.wantErr) {
      assert.throws(run, MerkleProofError, c.file);
    } else {
      run();
      accepted++;
    }
  }
  assert.ok(accepted >= 5, "the corpus has happy paths");
});

Deno.test("verifyConsistency() agrees with every case of the transparency-dev consistency corpus", async () => {
  const cases: ConsistencyCase[] = JSON.parse(
    await Deno.readTextFile(new URL("consistency.json", TESTDATA)),
  );
  assert.ok(cases.length >= 90);
  let accepted = 0;
  for (const c of cases) {
    const run = () =>
      verifyConsistency({
        size1: BigInt(c.size1),
        size2: BigInt(c.size2),
        root1: b64(c.root1),
        root2: b64(c.root2),
        proof: (c.proof ?? []).map(b64),
      });
    if (c.wantErr) {
      assert.throws(run, MerkleProofError, c.file);
    } else {
      run();
      accepted++;
    }
  }
  assert.ok(accepted >= 5, "the corpus has happy paths");
});

Deno.test("hashLeaf() and hashChildren() use the RFC 6962 prefixes", () => {
  assert.deepEqual(EMPTY_ROOT, sha256(new Uint8Array()));
  // Leaf and node hashes of the corpus' 8-leaf tree (its leaf 0 is the empty string).
  assert.equal(
    hashLeaf(new Uint8Array()).toBase64(),
    "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
  );
  const a = hashLeaf(utf8("a"));
  const b = hashLeaf(utf8("b"));
  assert.deepEqual(hashChildren(a, b), sha256(concat(new Uint8Array([1]), a, b)));
  assert.notDeepEqual(hashChildren(a, b), hashChildren(b, a));
});

// ---------------------------------------------------------------------------------------------
// Generated trees against the naive oracle

Deno.test("rootHash() and inclusionProof() match the naive RFC 6962 definitions for every leaf of trees 1..300", () => {
  const tree = treeOf(300);
  for (let n = 1; n <= 300; n++) {
    const root = rootHash(tree, BigInt(n));
    assert.deepEqual(root, naiveMth(0, n), `root of ${n}`);
    for (let m = 0; m < n; m++) {
      const proof = inclusionProof(tree, BigInt(m), BigInt(n));
      assert.deepEqual(proof, naivePath(m, 0, n), `path ${m} of ${n}`);
      verifyInclusion({
        index: BigInt(m),
        size: BigInt(n),
        leafHash: hashLeaf(LEAVES[m]!),
        proof,
        root,
      });
    }
  }
  assert.deepEqual(rootHash(tree, 0n), EMPTY_ROOT);
});

Deno.test("consistencyProof() matches the naive RFC 6962 definition for every pair of sizes up to 300", () => {
  const tree = treeOf(300);
  for (let n2 = 1; n2 <= 300; n2++) {
    const root2 = naiveMth(0, n2);
    for (let n1 = 1; n1 <= n2; n1++) {
      const proof = consistencyProof(tree, BigInt(n1), BigInt(n2));
      assert.deepEqual(proof, naiveSubproof(n1, 0, n2, true), `proof ${n1} -> ${n2}`);
      verifyConsistency({
        size1: BigInt(n1),
        size2: BigInt(n2),
        root1: naiveMth(0, n1),
        root2,
        proof,
      });
    }
  }
});

Deno.test("verifyInclusion() accepts the last leaf of every tree size, the case sigstore-js #646 broke", () => {
  const tree = treeOf(300);
  for (let n = 1; n <= 300; n++) {
    const index = BigInt(n - 1);
    const size = BigInt(n);
    const proof = inclusionProof(tree, index, size);
    // The buggy formula counted (index ^ (size - 1)).toString(2).length, i.e. 1 for 0n.
    const buggyInner = (index ^ (size - 1n)).toString(2).length;
    assert.equal(proof.length, inclusionProofLength(index, size));
    if (n > 1) assert.notEqual(buggyInner, 0);
    verifyInclusion({
      index,
      size,
      leafHash: hashLeaf(LEAVES[n - 1]!),
      proof,
      root: rootHash(tree, size),
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Attacks

Deno.test("verifyInclusion() rejects a proof with a wrong hash count", () => {
  const tree = treeOf(13);
  const proof = inclusionProof(tree, 5n, 13n);
  const root = rootHash(tree, 13n);
  const leafHash = hashLeaf(LEAVES[5]!);
  verifyInclusion({ index: 5n, size: 13n, leafHash, proof, root });
  throwsReason(
    () => verifyInclusion({ index: 5n, size: 13n, leafHash, proof: proof.slice(1), root }),
    "wrong-hash-count",
  );
  throwsReason(
    () => verifyInclusion({ index: 5n, size: 13n, leafHash, proof: [...proof, root], root }),
    "wrong-hash-count",
  );
  throwsReason(
    () =>
      verifyInclusion({
        index: 5n,
        size: 13n,
        leafHash,
        proof: Array.from({ length: 100_000 }, () => root),
        root,
      }),
    "wrong-hash-count",
  );
});

Deno.test("verifyInclusion() rejects an index outside the tree and negative values", () => {
  const leafHash = hashLeaf(LEAVES[0]!);
  throwsReason(
    () => verifyInclusion({ index: 4n, size: 4n, leafHash, proof: [], root: leafHash }),
    "index-out-of-range",
  );
  throwsReason(
    () => verifyInclusion({ index: -1n, size: 4n, leafHash, proof: [], root: leafHash }),
    "index-out-of-range",
  );
  throwsReason(
    () => verifyInclusion({ index: 0n, size: 0n, leafHash, proof: [], root: leafHash }),
    "index-out-of-range",
  );
  throwsReason(
    () => verifyInclusion({ index: 0n, size: 1n << 64n, leafHash, proof: [], root: leafHash }),
    "index-out-of-range",
  );
});

Deno.test("verifyInclusion() rejects a root differing only in ASCII letter case bits (rekor #2861)", () => {
  const tree = treeOf(21);
  const proof = inclusionProof(tree, 7n, 21n);
  const root = rootHash(tree, 21n);
  const leafHash = hashLeaf(LEAVES[7]!);
  for (let i = 0; i < root.length; i++) {
    const folded = Uint8Array.from(root) as Bytes;
    folded[i] = folded[i]! ^ 0x20;
    throwsReason(
      () => verifyInclusion({ index: 7n, size: 21n, leafHash, proof, root: folded }),
      "root-mismatch",
    );
  }
});

Deno.test("verifyInclusion() rejects proof hashes that are not 32 bytes", () => {
  const tree = treeOf(4);
  const proof = inclusionProof(tree, 1n, 4n);
  throwsReason(
    () =>
      verifyInclusion({
        index: 1n,
        size: 4n,
        leafHash: hashLeaf(LEAVES[1]!),
        proof: [proof[0]!.subarray(0, 31), proof[1]!],
        root: rootHash(tree, 4n),
      }),
    "bad-hash-length",
  );
});

Deno.test("verifyConsistency() refuses the empty tree, shrinking trees and padded proofs", () => {
  const tree = treeOf(10);
  const root4 = rootHash(tree, 4n);
  const root10 = rootHash(tree, 10n);
  const proof = consistencyProof(tree, 4n, 10n);
  verifyConsistency({ size1: 4n, size2: 10n, root1: root4, root2: root10, proof });
  throwsReason(
    () => verifyConsistency({ size1: 0n, size2: 10n, root1: EMPTY_ROOT, root2: root10, proof: [] }),
    "empty-tree",
  );
  throwsReason(
    () => verifyConsistency({ size1: 10n, size2: 4n, root1: root10, root2: root4, proof }),
    "size-order",
  );
  throwsReason(
    () =>
      verifyConsistency({
        size1: 4n,
        size2: 10n,
        root1: root4,
        root2: root10,
        proof: [...proof, root4],
      }),
    "wrong-hash-count",
  );
  throwsReason(
    () => verifyConsistency({ size1: 4n, size2: 4n, root1: root4, root2: root4, proof }),
    "proof-not-empty",
  );
  const swapped = [...proof].reverse();
  throwsReason(
    () => verifyConsistency({ size1: 4n, size2: 10n, root1: root4, root2: root10, proof: swapped }),
    "root-mismatch",
  );
});

// ---------------------------------------------------------------------------------------------
// Huge trees: a virtual tree of identical leaves except one, so any size up to 2^64 - 1 can be
// proven without storing it.

class VirtualTree implements MerkleNodeSource {
  readonly #plain: Bytes[] = [];
  constructor(readonly special: bigint, readonly specialLeaf: Bytes, plainLeaf: Bytes) {
    this.#plain.push(plainLeaf);
    for (let level = 1; level <= 64; level++) {
      const below = this.#plain[level - 1]!;
      this.#plain.push(hashChildren(below, below));
    }
  }
  reads = 0;
  nodeHash(level: number, index: bigint): Uint8Array {
    this.reads++;
    return this.#node(level, index);
  }
  #node(level: number, index: bigint): Uint8Array {
    if (this.special >> BigInt(level) !== index) return this.#plain[level]!;
    if (level === 0) return this.specialLeaf;
    return hashChildren(this.#node(level - 1, index * 2n), this.#node(level - 1, index * 2n + 1n));
  }
}

Deno.test("verifyInclusion() handles a log index near 2^63 exactly, never through a double", () => {
  const index = (1n << 63n) - 3n;
  const size = (1n << 63n) + 5n;
  const leaf = hashLeaf(utf8("the one"));
  const tree = new VirtualTree(index, leaf, hashLeaf(utf8("filler")));
  const proof = inclusionProof(tree, index, size);
  const root = rootHash(tree, size);
  verifyInclusion({ index, size, leafHash: leaf, proof, root });
  // Both neighbours round to the same double as `index`: a verifier using numbers could not
  // tell them apart, this one must.
  assert.equal(Number(index + 1n), Number(index));
  assert.throws(() => verifyInclusion({ index: index + 1n, size, leafHash: leaf, proof, root }));
  assert.throws(() => verifyInclusion({ index: index - 1n, size, leafHash: leaf, proof, root }));

  const size1 = (1n << 62n) + 12345n;
  const consistency = consistencyProof(tree, size1, size);
  verifyConsistency({
    size1,
    size2: size,
    root1: rootHash(tree, size1),
    root2: root,
    proof: consistency,
  });
  assert.throws(() =>
    verifyConsistency({
      size1: size1 + 1n,
      size2: size,
      root1: rootHash(tree, size1),
      root2: root,
      proof: consistency,
    })
  );
});

Deno.test("inclusionProof(), consistencyProof() and rootHash() read O(log n) stored nodes", () => {
  const tree = new VirtualTree(123456789n, hashLeaf(utf8("x")), hashLeaf(utf8("y")));
  for (const bits of [10, 20, 40, 60]) {
    const size = (1n << BigInt(bits)) - 1n;
    tree.reads = 0;
    inclusionProof(tree, size / 3n, size);
    assert.ok(tree.reads <= 2 * bits, `inclusion at 2^${bits}: ${tree.reads} reads`);
    tree.reads = 0;
    consistencyProof(tree, size / 3n, size);
    assert.ok(tree.reads <= 3 * bits, `consistency at 2^${bits}: ${tree.reads} reads`);
    tree.reads = 0;
    rootHash(tree, size);
    assert.ok(tree.reads <= bits, `root at 2^${bits}: ${tree.reads} reads`);
  }
});

// ---------------------------------------------------------------------------------------------
// Properties

const SMALL_TREE = treeOf(300);

Deno.test("property: every generated inclusion proof verifies and any flipped bit breaks it", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 300 }),
      fc.nat(),
      fc.nat(),
      (n, m0, bit) => {
        const size = BigInt(n);
        const index = BigInt(m0 % n);
        const proof = inclusionProof(SMALL_TREE, index, size);
        const root = rootHash(SMALL_TREE, size);
        const leafHash = hashLeaf(LEAVES[m0 % n]!);
        assert.deepEqual(rootFromInclusion({ index, size, leafHash, proof }), root);
        if (proof.length === 0) return;
        const tampered = proof.map((p) => Uint8Array.from(p));
        const at = bit % (proof.length * 256);
        tampered[Math.floor(at / 256)]![Math.floor(at % 256 / 8)]! ^= 1 << (at % 8);
        assert.throws(() => verifyInclusion({ index, size, leafHash, proof: tampered, root }));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("property: every generated consistency proof verifies and fails for other sizes", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 300 }), (a, b) => {
      const [n1, n2] = a <= b ? [a, b] : [b, a];
      const proof = consistencyProof(SMALL_TREE, BigInt(n1), BigInt(n2));
      const root1 = rootHash(SMALL_TREE, BigInt(n1));
      const root2 = rootHash(SMALL_TREE, BigInt(n2));
      verifyConsistency({ size1: BigInt(n1), size2: BigInt(n2), root1, root2, proof });
      if (n1 < n2 && n1 > 1) {
        assert.throws(() =>
          verifyConsistency({ size1: BigInt(n1 - 1), size2: BigInt(n2), root1, root2, proof })
        );
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("MemoryMerkleTree refuses leaf hashes of the wrong size and unknown nodes", () => {
  const tree = new MemoryMerkleTree();
  assert.throws(() => tree.append(new Uint8Array(31)), RangeError);
  tree.append(hashLeaf(utf8("a")));
  assert.throws(() => tree.nodeHash(0, 1n), RangeError);
  assert.throws(() => tree.nodeHash(1, 0n), RangeError);
  assert.throws(() => inclusionProof(tree, 1n, 1n), RangeError);
  assert.throws(() => consistencyProof(tree, 0n, 1n), RangeError);
});
