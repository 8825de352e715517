import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { sha256, toHex, utf8 } from "../../../lib/util/bytes.ts";
import { createHash } from "node:crypto";
import {
  canonicalizeJson,
  canonicalJsonBytes,
  MAX_CANONICAL_DEPTH,
} from "../../../lib/util/canonical_json.ts";

const TESTDATA = new URL("../../testdata/jcs/", import.meta.url);

for (const name of ["arrays", "french", "structures", "unicode", "values", "weird"]) {
  Deno.test(`canonicalizeJson() reproduces the RFC 8785 reference output for "${name}"`, async () => {
    const input = await Deno.readTextFile(new URL(`${name}.input.json`, TESTDATA));
    const expected = await Deno.readFile(new URL(`${name}.output.json`, TESTDATA));
    assert.deepEqual(canonicalJsonBytes(JSON.parse(input)), expected);
  });
}

interface NumberVectors {
  staticU64s: string[];
  serialCount: number;
  serialStart: string;
  checksums: { sha256: string; lines: number; bytes: number }[];
}

/** The deterministic IEEE-754 sequence of the JCS reference test file (testdata/README.md). */
function* numberSequence(vectors: NumberVectors): Generator<bigint> {
  for (const hex of vectors.staticU64s) yield BigInt(`0x${hex}`);
  const start = BigInt(`0x${vectors.serialStart}`);
  for (let i = 0; i < vectors.serialCount; i++) yield start + BigInt(i);
  let block: Uint8Array = new Uint8Array(32);
  for (;;) {
    block = sha256(block);
    const view = new DataView(block.buffer, block.byteOffset, 32);
    for (let offset = 0; offset < 32; offset += 8) {
      const bits = view.getBigUint64(offset, true);
      const value = new Float64Array(new BigUint64Array([bits]).buffer)[0]!;
      if (value !== 0 && Number.isFinite(value)) yield bits;
    }
  }
}

Deno.test("canonicalizeJson() serializes numbers exactly as the published JCS number test file (10^4 lines)", async () => {
  const vectors: NumberVectors = JSON.parse(
    await Deno.readTextFile(new URL("es6_numbers.json", TESTDATA)),
  );
  const targets = vectors.checksums.filter((c) => c.lines <= 10_000);
  assert.equal(targets.length, 2);
  const hash = createHash("sha256");
  let lines = 0;
  let bytes = 0;
  const bits = new BigUint64Array(1);
  const float = new Float64Array(bits.buffer);
  for (const u64 of numberSequence(vectors)) {
    bits[0] = u64;
    const line = utf8(`${u64.toString(16)},${canonicalizeJson(float[0])}\n`);
    hash.update(line);
    bytes += line.length;
    lines++;
    const target = targets.find((t) => t.lines === lines);
    if (target) {
      assert.equal(bytes, target.bytes, `size after ${lines} lines`);
      assert.equal(hash.copy().digest("hex"), target.sha256, `checksum after ${lines} lines`);
      if (target === targets[targets.length - 1]) break;
    }
  }
});

Deno.test("canonicalizeJson() writes boundary numbers as ECMAScript does (RFC 8785 section 3.2.2.3)", () => {
  const cases: [number, string][] = [
    [0, "0"],
    [-0, "0"],
    [5e-324, "5e-324"],
    [-1.7976931348623157e308, "-1.7976931348623157e+308"],
    [9007199254740992, "9007199254740992"],
    [295147905179352830000, "295147905179352830000"],
    [1e21, "1e+21"],
    [0.000001, "0.000001"],
    [9.999999999999997e-7, "9.999999999999997e-7"],
    [333333333.3333333, "333333333.3333333"],
  ];
  for (const [value, text] of cases) assert.equal(canonicalizeJson(value), text);
});

Deno.test("canonicalizeJson() sorts keys by UTF-16 code units and escapes like JSON.stringify", () => {
  assert.equal(
    canonicalizeJson({ b: 1, a: { d: [true, false, null], c: "\u0000\n\u001f\u007f/\u2028" } }),
    '{"a":{"c":"\\u0000\\n\\u001f\u007f/\u2028","d":[true,false,null]},"b":1}',
  );
  // U+FB33 sorts after U+1F600 in UTF-8/code-point order but before it in UTF-16 code units.
  assert.equal(canonicalizeJson({ "\ufb33": 1, "\u{1f600}": 2 }), '{"\u{1f600}":2,"\ufb33":1}');
});

Deno.test("canonicalizeJson() refuses what JCS cannot represent", () => {
  assert.throws(() => canonicalizeJson(Number.NaN), RangeError);
  assert.throws(() => canonicalizeJson([Infinity]), RangeError);
  assert.throws(() => canonicalizeJson({ a: undefined }), TypeError);
  assert.throws(() => canonicalizeJson(1n), TypeError);
  assert.throws(() => canonicalizeJson(new Date(0)), TypeError);
  assert.throws(() => canonicalizeJson(new Uint8Array(2)), TypeError);
  assert.throws(() => canonicalizeJson("\ud800"), TypeError);
  assert.throws(() => canonicalizeJson({ "\udc00": 1 }), TypeError);
  let deep: unknown = 1;
  for (let i = 0; i <= MAX_CANONICAL_DEPTH; i++) deep = [deep];
  assert.throws(() => canonicalizeJson(deep), RangeError);
});

Deno.test("property: canonical JSON parses back to the same value and is a fixed point", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = canonicalizeJson(value);
      const reparsed = JSON.parse(text);
      assert.equal(canonicalizeJson(reparsed), text);
      // Same value as JSON.stringify would give after key sorting (-0 is the only difference).
      assert.deepEqual(reparsed, JSON.parse(JSON.stringify(value)));
    }),
    { numRuns: 500 },
  );
});

Deno.test("canonicalJsonBytes() is the UTF-8 of the canonical text", () => {
  const bytes = canonicalJsonBytes({ "\u20ac": "\u00f6" });
  assert.equal(toHex(bytes), "7b22e282ac223a22c3b6227d");
});
