/**
 * An RFC 6962 inclusion proof computed from C2SP tlog-tiles, as a client that has only the
 * log's read API needs one: rekor-tiles answers a duplicate submission with the index of the
 * entry it already holds (409, `x-log-index`), not with the entry, so its proof is rebuilt here.
 *
 * A hash tile at tile level L holds the hashes of the tree nodes at level 8L, 256 to a tile
 * (tlog-tiles "Merkle Tree"); a node at level 8L + r (r < 8) is the Merkle hash of 2^r
 * consecutive hashes of one such tile. Which nodes a proof needs depends only on the index and
 * the tree size, so a first pass of `inclusionProof` names them, the tiles holding them are read
 * (the rightmost of each level partial, as wide as the tree is), and a second pass computes the
 * proof. Nothing read is trusted: the caller verifies the proof against a signed checkpoint's
 * root (`verifyInclusion`), which no forged tile can lead to.
 *
 * @module
 */

import type { Bytes } from "../../util/bytes.ts";
import { HASH_SIZE, hashChildren } from "../merkle.ts";
import { inclusionProof, type MerkleNodeSource } from "../merkle_tree.ts";
import { TILE_WIDTH } from "./tiles.ts";

/** Reads the hash tile at `level`/`index`, `width` hashes wide (undefined: a full tile). */
export type TileReader = (
  level: number,
  index: bigint,
  width: number | undefined,
) => Promise<Bytes>;

const TILE_BITS = 8;
const WIDTH = BigInt(TILE_WIDTH);
const PLACEHOLDER = new Uint8Array(HASH_SIZE);

/** The width of tile `index` among `count` entries: undefined when full, else 1 to 255. */
export function tileWidth(count: bigint, index: bigint): number | undefined {
  const rest = count - index * WIDTH;
  if (rest <= 0n) throw new RangeError(`Tile ${index} is past the ${count} entries of its level`);
  return rest >= WIDTH ? undefined : Number(rest);
}

interface TileNode {
  /** The tile level and index, as the tile's map key. */
  readonly key: string;
  readonly tileLevel: number;
  readonly tileIndex: bigint;
  /** Position of the node's first hash in the tile, and how many hashes it spans. */
  readonly offset: number;
  readonly span: number;
}

function locate(level: number, index: bigint): TileNode {
  const tileLevel = Math.floor(level / TILE_BITS);
  const rest = level % TILE_BITS;
  const first = index << BigInt(rest); // the node's first hash at tree level 8 * tileLevel
  const tileIndex = first / WIDTH;
  return {
    key: `${tileLevel}/${tileIndex}`,
    tileLevel,
    tileIndex,
    offset: Number(first - tileIndex * WIDTH),
    span: 1 << rest,
  };
}

/** The Merkle hash of `span` consecutive hashes of `tile` from `offset` (a power of two). */
function foldTile(tile: Bytes, offset: number, span: number): Uint8Array {
  let layer: Uint8Array[] = [];
  for (let i = 0; i < span; i++) {
    const at = (offset + i) * HASH_SIZE;
    layer.push(tile.subarray(at, at + HASH_SIZE));
  }
  while (layer.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(hashChildren(layer[i]!, layer[i + 1]!));
    layer = next;
  }
  return layer[0]!;
}

/**
 * The inclusion proof (sibling hashes, leaf to root) of leaf `index` in the tree of `size`
 * leaves, from the hash tiles `readTile` returns. Unverified: check it against the root of a
 * checkpoint of that size. Throws `RangeError` for an index outside the tree and whatever
 * `readTile` throws; a tile shorter than its width is a `RangeError` too.
 */
export async function inclusionProofFromTiles(
  index: bigint,
  size: bigint,
  readTile: TileReader,
): Promise<Bytes[]> {
  const wanted = new Map<string, TileNode>();
  inclusionProof(
    {
      nodeHash(level, node) {
        const located = locate(level, node);
        wanted.set(located.key, located);
        return PLACEHOLDER;
      },
    },
    index,
    size,
  );
  const tiles = new Map<string, Bytes>();
  await Promise.all([...wanted.values()].map(async ({ key, tileLevel, tileIndex }) => {
    const count = size >> BigInt(TILE_BITS * tileLevel); // complete nodes at that tree level
    const width = tileWidth(count, tileIndex);
    const tile = await readTile(tileLevel, tileIndex, width);
    if (tile.length !== (width ?? TILE_WIDTH) * HASH_SIZE) {
      throw new RangeError(
        `Hash tile ${key} is ${tile.length} bytes, not ${width ?? TILE_WIDTH} hashes`,
      );
    }
    tiles.set(key, tile);
  }));
  const source: MerkleNodeSource = {
    nodeHash(level, node) {
      const { key, offset, span } = locate(level, node);
      return foldTile(tiles.get(key)!, offset, span);
    },
  };
  return inclusionProof(source, index, size);
}
