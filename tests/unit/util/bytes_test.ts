/** Byte helpers: `equalBytes` agrees with a byte-by-byte comparison for any lengths and offsets. */

import assert from "node:assert/strict";
import { equalBytes } from "../../../lib/util/bytes.ts";
import { fc } from "../../_deps.ts";

const naive = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((byte, i) => byte === b[i]);

Deno.test("equalBytes() is byte-wise equality for every length, offset and single difference (property)", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.nat({ max: 7 }),
      fc.nat({ max: 7 }),
      fc.option(fc.nat(), { nil: undefined }),
      (bytes, offsetA, offsetB, flip) => {
        const a = new Uint8Array(bytes.length + offsetA).subarray(offsetA);
        const b = new Uint8Array(bytes.length + offsetB).subarray(offsetB);
        a.set(bytes);
        b.set(bytes);
        if (flip !== undefined && bytes.length > 0) {
          const at = flip % bytes.length;
          b[at] = b[at]! ^ (1 << (flip % 8));
        }
        assert.equal(equalBytes(a, b), naive(a, b));
        assert.equal(equalBytes(a, a.subarray(0, Math.max(0, a.length - 1))), a.length === 0);
      },
    ),
  );
});
