/**
 * Inclusion proofs from tlog-tiles (lib/tlog/rekor_v2/tile_proof.ts) are the RFC 6962 proofs of
 * the tree, for every index and size, reading only the tiles a proof needs at the widths the
 * tree has; a tile of the wrong length is refused.
 */

import assert from "node:assert/strict";
import { type Bytes, concatAll, sha256, utf8 } from "../../../lib/util/bytes.ts";
import { hashLeaf } from "../../../lib/tlog/merkle.ts";
import { inclusionProof, MemoryMerkleTree } from "../../../lib/tlog/merkle_tree.ts";
import { inclusionProofFromTiles, tileWidth } from "../../../lib/tlog/rekor_v2/tile_proof.ts";
import { fc } from "../../_deps.ts";

function treeOf(size: number): MemoryMerkleTree {
  const tree = new MemoryMerkleTree();
  for (let i = 0; i < size; i++) tree.append(hashLeaf(utf8(`leaf ${i}`)));
  return tree;
}

/** The tile reader of `tree` at `size`: node hashes of level 8L, as a log serves them. */
function tilesOf(tree: MemoryMerkleTree, size: bigint, reads: string[] = []) {
  return (level: number, index: bigint, width: number | undefined): Promise<Bytes> => {
    reads.push(`${level}/${index}${width === undefined ? "" : `.p/${width}`}`);
    const count = size >> BigInt(8 * level);
    assert.equal(width, tileWidth(count, index), "the width the tree has at that level");
    const hashes = Array.from(
      { length: width ?? 256 },
      (_, j) => tree.nodeHash(8 * level, index * 256n + BigInt(j)),
    );
    return Promise.resolve(concatAll(hashes));
  };
}

Deno.test("inclusionProofFromTiles() equals the tree's RFC 6962 proof for every index and size (property)", async () => {
  const tree = treeOf(700);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 700 }), fc.nat(), async (size, seed) => {
      const index = BigInt(seed % size);
      const n = BigInt(size);
      assert.deepEqual(
        await inclusionProofFromTiles(index, n, tilesOf(tree, n)),
        inclusionProof(tree, index, n),
      );
    }),
    { numRuns: 200 },
  );
});

Deno.test("inclusionProofFromTiles() reaches level-2 tiles past 65536 leaves and reads each tile once", async () => {
  const size = 65536n + 300n;
  const tree = treeOf(Number(size));
  for (const index of [0n, 65535n, 65536n, size - 1n]) {
    const reads: string[] = [];
    assert.deepEqual(
      await inclusionProofFromTiles(index, size, tilesOf(tree, size, reads)),
      inclusionProof(tree, index, size),
    );
    assert.equal(new Set(reads).size, reads.length, `tiles read once: ${reads}`);
    // The right edge (256 + 44 leaves past 65536) comes from partial tiles of levels 1 and 0;
    // for a leaf past 65536 the sibling is the first 65536 leaves, one hash of a level-2 tile.
    const edge = index < 65536n ? ["1/1.p/1", "0/257.p/44"] : ["2/0.p/1"];
    for (const tile of edge) assert.ok(reads.includes(tile), `${index}: ${reads}`);
  }
});

Deno.test("inclusionProofFromTiles() refuses a tile shorter or longer than its width, and an index outside the tree", async () => {
  const tree = treeOf(10);
  const short = () => Promise.resolve(sha256(utf8("one hash")));
  await assert.rejects(inclusionProofFromTiles(3n, 10n, short), RangeError);
  const long = () => Promise.resolve(new Uint8Array(32 * 11) as Bytes);
  await assert.rejects(inclusionProofFromTiles(3n, 10n, long), RangeError);
  await assert.rejects(inclusionProofFromTiles(10n, 10n, tilesOf(tree, 10n)), RangeError);
  assert.throws(() => tileWidth(256n, 1n), RangeError);
  assert.equal(tileWidth(300n, 0n), undefined);
  assert.equal(tileWidth(300n, 1n), 44);
});
