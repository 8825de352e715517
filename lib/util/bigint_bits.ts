/**
 * Bit arithmetic on bigints for RFC 6962 / RFC 9162 tree shapes: Merkle tree sizes and indexes
 * reach 2^64, so nothing here goes through a double. Never `x.toString(2).length`, which is 1 for
 * 0n (sigstore-js #646 got the last-leaf case wrong that way).
 *
 * @module
 */

/** Number of bits of `x` (0 for 0n). */
export function bitLength(x: bigint): number {
  let bits = 0;
  while (x >= 0x1_0000_0000n) {
    x >>= 32n;
    bits += 32;
  }
  return bits + (32 - Math.clz32(Number(x)));
}

/** Number of set bits of a non-negative `x`. */
export function popCount(x: bigint): number {
  let count = 0;
  while (x > 0n) {
    let word = Number(x & 0xffff_ffffn);
    x >>= 32n;
    while (word) {
      word &= word - 1;
      count++;
    }
  }
  return count;
}

/** Number of trailing zero bits of a positive `x` (0 for 0n). */
export function trailingZeros(x: bigint): number {
  let zeros = 0;
  while (x > 0n && (x & 1n) === 0n) {
    x >>= 1n;
    zeros++;
  }
  return zeros;
}
