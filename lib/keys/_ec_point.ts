/**
 * Whether an uncompressed point lies on a NIST prime curve (SEC 1 section 3.2.2.1, steps 1-3):
 * both coordinates below the field prime and y^2 = x^3 - 3x + b (mod p). Plain bigint arithmetic,
 * so that checking every key as it enters needs no curve library at start-up; the point at
 * infinity has no uncompressed form and never gets here. Parameters from SEC 2 (section 2.4.2,
 * 2.5.1, 2.6.1), checked against OpenSSL's explicit parameters.
 *
 * @module
 */

/** The field prime and `b` of each curve (all three have a = -3). */
const CURVE_PARAMETERS = {
  "P-256": {
    p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
    b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  },
  "P-384": {
    p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
    b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  },
  "P-521": {
    p: (1n << 521n) - 1n,
    b: 0x51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  },
} as const;

/** A NIST prime curve name. */
export type NistCurve = keyof typeof CURVE_PARAMETERS;

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toHex()}`);
}

/**
 * True when `point` (0x04 || X || Y, each `size` bytes) is a point of `curve`: coordinates in the
 * field and on the curve equation.
 */
export function isOnCurve(curve: NistCurve, point: Uint8Array, size: number): boolean {
  if (point.length !== 1 + 2 * size || point[0] !== 4) return false;
  const { p, b } = CURVE_PARAMETERS[curve];
  const x = toBigInt(point.subarray(1, 1 + size));
  const y = toBigInt(point.subarray(1 + size));
  if (x >= p || y >= p) return false;
  const right = (((x * x % p) * x - 3n * x + b) % p + p) % p;
  return (y * y) % p === right;
}
