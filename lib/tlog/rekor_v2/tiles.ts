/**
 * C2SP tlog-tiles (https://c2sp.org/tlog-tiles), the read API of Rekor v2 logs: tile and entry
 * bundle paths (`tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`, the index in zero-padded
 * three-digit `x`-prefixed path elements), and the entry bundle encoding (big-endian uint16
 * length-prefixed entries). Shared by the Rekor v2 client and the embedded log that serves them.
 * Parsing accepts only the one canonical spelling of each path, so two URLs never name one tile.
 *
 * @module
 */

import { type Bytes, concat } from "../../util/bytes.ts";
import { HASH_SIZE } from "../merkle.ts";

/** Hashes in a full tile, and entries in a full bundle (tlog-tiles "Merkle Tree"). */
export const TILE_WIDTH = 256;

/** Bytes of a full hash tile: 256 SHA-256 hashes. */
export const FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE;

/** Largest entry an entry bundle can carry (its length is a uint16). */
export const MAX_BUNDLE_ENTRY_BYTES = 0xffff;

/** Highest tile level (tlog-tiles: a decimal integer from 0 to 63). */
export const MAX_TILE_LEVEL = 63;

/** What a tile path names: a hash tile at a level, or an entry bundle. */
export type TileAddress =
  | {
    readonly kind: "hashes";
    readonly level: number;
    readonly index: bigint;
    readonly width?: number;
  }
  | { readonly kind: "entries"; readonly index: bigint; readonly width?: number };

function checkIndex(index: bigint): void {
  if (index < 0n || index >= 1n << 64n) throw new RangeError(`Invalid tile index ${index}`);
}

function checkWidth(width: number | undefined): void {
  if (width !== undefined && (!Number.isInteger(width) || width < 1 || width >= TILE_WIDTH)) {
    throw new RangeError(`A partial tile is 1 to ${TILE_WIDTH - 1} wide, not ${width}`);
  }
}

/** A tile index as path elements: 1234067 is `x001/x234/067` (tlog-tiles). */
export function encodeTileIndex(index: bigint): string {
  checkIndex(index);
  const groups: string[] = [];
  let rest = index;
  do {
    groups.unshift((rest % 1000n).toString().padStart(3, "0"));
    rest /= 1000n;
  } while (rest > 0n);
  return groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join("/");
}

function suffix(width: number | undefined): string {
  checkWidth(width);
  return width === undefined ? "" : `.p/${width}`;
}

/** The path of a hash tile under a log's prefix: `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(level: number, index: bigint, width?: number): string {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new RangeError(`Invalid tile level ${level}`);
  }
  return `tile/${level}/${encodeTileIndex(index)}${suffix(width)}`;
}

/** The path of an entry bundle under a log's prefix: `tile/entries/<N>[.p/<W>]`. */
export function entryBundlePath(index: bigint, width?: number): string {
  return `tile/entries/${encodeTileIndex(index)}${suffix(width)}`;
}

/** Most path elements an index below 2^64 needs (20 digits, three a group). */
const MAX_INDEX_GROUPS = 7;

/**
 * Read a tile path (`tile/...`, without the log's prefix); `undefined` for anything that is not
 * the canonical spelling of a tile or entry bundle: a level with a leading zero or above 63, an
 * index group that is not three digits, a leading `x000` group, a width of 0 or 256 and more.
 */
export function parseTilePath(path: string): TileAddress | undefined {
  if (path.length > 128 || !path.startsWith("tile/")) return undefined;
  let parts = path.slice("tile/".length).split("/");
  let width: number | undefined;
  if (parts.at(-2)?.endsWith(".p")) {
    // `<N>.p/<W>`: the last index group carries the `.p` suffix.
    const widthText = parts.at(-1)!;
    if (!/^[1-9][0-9]{0,2}$/.test(widthText)) return undefined;
    width = Number(widthText);
    if (width >= TILE_WIDTH) return undefined;
    parts = parts.slice(0, -1);
    parts[parts.length - 1] = parts.at(-1)!.slice(0, -".p".length);
  }
  const [head, ...groups] = parts;
  if (head === undefined || groups.length === 0 || groups.length > MAX_INDEX_GROUPS) {
    return undefined;
  }
  let level: number | undefined;
  if (head !== "entries") {
    if (!/^(0|[1-9][0-9]?)$/.test(head)) return undefined;
    level = Number(head);
    if (level > MAX_TILE_LEVEL) return undefined;
  }
  let index = 0n;
  for (const [i, group] of groups.entries()) {
    const last = i === groups.length - 1;
    const match = (last ? /^([0-9]{3})$/ : /^x([0-9]{3})$/).exec(group);
    if (!match) return undefined;
    // Leading zero groups would be a second spelling of a smaller index.
    if (i === 0 && !last && match[1] === "000") return undefined;
    index = index * 1000n + BigInt(match[1]!);
  }
  if (index >= 1n << 64n) return undefined;
  const partialWidth = width === undefined ? {} : { width };
  return level === undefined
    ? { kind: "entries", index, ...partialWidth }
    : { kind: "hashes", level, index, ...partialWidth };
}

/** An entry bundle: each entry as a big-endian uint16 length and its bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Bytes {
  if (entries.length === 0 || entries.length > TILE_WIDTH) {
    throw new RangeError(`An entry bundle holds 1 to ${TILE_WIDTH} entries`);
  }
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    if (entry.length > MAX_BUNDLE_ENTRY_BYTES) {
      throw new RangeError(`An entry bundle entry is at most ${MAX_BUNDLE_ENTRY_BYTES} bytes`);
    }
    parts.push(new Uint8Array([entry.length >> 8, entry.length & 0xff]), entry);
  }
  return concat(...parts);
}

/**
 * The entries of an entry bundle, which must hold exactly `count` of them and nothing after;
 * `SyntaxError` otherwise (a length running past the end, a trailing byte, another count).
 */
export function decodeEntryBundle(bytes: Uint8Array, count: number): Bytes[] {
  if (!Number.isInteger(count) || count < 1 || count > TILE_WIDTH) {
    throw new RangeError(`An entry bundle holds 1 to ${TILE_WIDTH} entries, not ${count}`);
  }
  const entries: Bytes[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (entries.length === count) {
      throw new SyntaxError(`Entry bundle has more than ${count} entries`);
    }
    if (offset + 2 > bytes.length) throw new SyntaxError("Entry bundle ends inside a length");
    const length = (bytes[offset]! << 8) | bytes[offset + 1]!;
    offset += 2;
    if (offset + length > bytes.length) throw new SyntaxError("Entry bundle ends inside an entry");
    entries.push(Uint8Array.from(bytes.subarray(offset, offset + length)) as Bytes);
    offset += length;
  }
  if (entries.length !== count) {
    throw new SyntaxError(`Entry bundle has ${entries.length} entries, expected ${count}`);
  }
  return entries;
}
