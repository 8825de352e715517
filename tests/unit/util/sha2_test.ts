/**
 * lib/util/sha2.ts: the pure-JS path and the node:crypto path give the same SHA-2 digests
 * (checked against node:crypto itself and FIPS 180-2 "abc" vectors), for sizes around the
 * small-input threshold and for input fed in pieces.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  createPureSha2,
  createSha2,
  pureSha2,
  sha2,
  type Sha2Name,
  SMALL_INPUT_BYTES,
} from "../../../lib/util/sha2.ts";
import { fc } from "../../_deps.ts";

const NAMES: Sha2Name[] = ["sha256", "sha384", "sha512"];

function reference(name: Sha2Name, data: Uint8Array): string {
  return createHash(name).update(data).digest("hex");
}

Deno.test("pureSha2() matches the FIPS 180-2 'abc' vectors", () => {
  const abc = new TextEncoder().encode("abc");
  assert.equal(
    pureSha2("sha256", abc).toHex(),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(
    pureSha2("sha384", abc).toHex(),
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed" +
      "8086072ba1e7cc2358baeca134c825a7",
  );
  assert.equal(
    pureSha2("sha512", abc).toHex(),
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
  );
});

Deno.test("sha2(), pureSha2() and node:crypto agree around the small-input threshold", () => {
  for (const size of [0, 1, 55, 56, 64, 111, 112, 128, SMALL_INPUT_BYTES, SMALL_INPUT_BYTES + 1]) {
    const data = crypto.getRandomValues(new Uint8Array(size));
    for (const name of NAMES) {
      const want = reference(name, data);
      assert.equal(pureSha2(name, data).toHex(), want, `${name} pure ${size}`);
      assert.equal(sha2(name, data).toHex(), want, `${name} ${size}`);
    }
  }
});

Deno.test("createSha2() and createPureSha2() over pieces equal the one-shot digest", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.array(fc.nat(400), { maxLength: 8 }),
      fc.constantFrom(...NAMES),
      (data, cuts, name) => {
        const make = [createPureSha2(name), createSha2(name, data.length), createSha2(name)];
        for (const hasher of make) {
          let offset = 0;
          for (const cut of cuts) {
            hasher.update(data.subarray(offset, offset + cut));
            offset = Math.min(data.length, offset + cut);
          }
          hasher.update(data.subarray(offset));
          assert.equal(hasher.digest().toHex(), reference(name, data));
        }
      },
    ),
    { numRuns: 100 },
  );
});
