/**
 * `isOnCurve` (lib/keys/_ec_point.ts), the on-curve check every EC key passes as it enters:
 * it agrees with noble's point validation on real keys and on corrupted ones, and refuses
 * coordinates outside the field.
 */

import assert from "node:assert/strict";
import { isOnCurve, type NistCurve } from "../../../lib/keys/_ec_point.ts";
import { p256, p384, p521 } from "../../../lib/_deps/curves.ts";

const CURVES: [NistCurve, number, typeof p256][] = [
  ["P-256", 32, p256],
  ["P-384", 48, p384 as unknown as typeof p256],
  ["P-521", 66, p521 as unknown as typeof p256],
];

Deno.test("isOnCurve() agrees with noble on real public keys and on ones with a flipped bit", () => {
  for (const [name, size, noble] of CURVES) {
    for (let i = 0; i < 20; i++) {
      const point = noble.getPublicKey(noble.utils.randomSecretKey(), false);
      assert.equal(isOnCurve(name, point, size), true, `${name} key ${i}`);
      const bad = Uint8Array.from(point);
      bad[1 + size + (i % size)]! ^= 1 << (i % 8);
      assert.equal(isOnCurve(name, bad, size), noble.utils.isValidPublicKey(bad, false), name);
      assert.equal(isOnCurve(name, bad, size), false, `${name} corrupted key ${i}`);
    }
  }
});

Deno.test("isOnCurve() refuses coordinates outside the field, wrong lengths and compressed points", () => {
  const size = 32;
  const all = new Uint8Array(1 + 2 * size).fill(0xff);
  all[0] = 4;
  assert.equal(isOnCurve("P-256", all, size), false);
  const point = p256.getPublicKey(p256.utils.randomSecretKey(), false);
  assert.equal(isOnCurve("P-256", point.subarray(0, 64), size), false);
  assert.equal(
    isOnCurve("P-256", p256.getPublicKey(p256.utils.randomSecretKey(), true), size),
    false,
  );
  assert.equal(isOnCurve("P-384", point, 48), false);
});
