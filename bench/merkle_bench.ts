/**
 * Merkle proof generation and verification at 10^4, 10^5 and 10^6 leaves: with every complete
 * subtree stored, generation reads O(log n) nodes and verification hashes O(log n) times, so
 * each step of 10x should add a constant, not multiply the cost. The naive O(n) root
 * recomputation at 10^4 is the reference for what "not logarithmic" costs.
 * Run: `deno bench -A bench/merkle_bench.ts`.
 */
import { utf8 } from "../lib/util/bytes.ts";
import { hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from "../lib/tlog/merkle.ts";
import {
  consistencyProof,
  inclusionProof,
  MemoryMerkleTree,
  rootHash,
} from "../lib/tlog/merkle_tree.ts";

const SIZES = [10_000, 100_000, 1_000_000] as const;
const tree = new MemoryMerkleTree();
const leaves: Uint8Array[] = [];
for (let i = 0; i < SIZES[2]; i++) {
  const leaf = hashLeaf(utf8(`entry ${i}`));
  if (i < SIZES[0]) leaves.push(leaf);
  tree.append(leaf);
}

/** MTH over all leaves, recomputed: what a log without stored nodes would pay per proof. */
function naiveRoot(hashes: Uint8Array[]): Uint8Array {
  if (hashes.length === 1) return hashes[0]!;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return hashChildren(naiveRoot(hashes.slice(0, k)), naiveRoot(hashes.slice(k)));
}

Deno.bench("naive root recomputation, 10^4 leaves (O(n) reference)", {
  group: "reference",
  baseline: true,
}, () => {
  naiveRoot(leaves);
});

for (const n of SIZES) {
  const size = BigInt(n);
  const index = size / 3n;
  const root = rootHash(tree, size);
  const leafHash = tree.nodeHash(0, index);
  const proof = inclusionProof(tree, index, size);
  const size1 = size / 2n + 7n;
  const root1 = rootHash(tree, size1);
  const consistency = consistencyProof(tree, size1, size);
  const label = `10^${Math.log10(n)}`;
  const first = n === SIZES[0];

  Deno.bench(`inclusion proof generation, ${label}`, {
    group: "generate inclusion",
    baseline: first,
  }, () => {
    inclusionProof(tree, index, size);
  });
  Deno.bench(`inclusion proof verification, ${label}`, {
    group: "verify inclusion",
    baseline: first,
  }, () => {
    verifyInclusion({ index, size, leafHash, proof, root });
  });
  Deno.bench(`consistency proof generation, ${label}`, {
    group: "generate consistency",
    baseline: first,
  }, () => {
    consistencyProof(tree, size1, size);
  });
  Deno.bench(`consistency proof verification, ${label}`, {
    group: "verify consistency",
    baseline: first,
  }, () => {
    verifyConsistency({ size1, size2: size, root1, root2: root, proof: consistency });
  });
  Deno.bench(`root hash, ${label}`, { group: "root", baseline: first }, () => {
    rootHash(tree, size);
  });
}
