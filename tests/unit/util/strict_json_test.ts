/**
 * The strict JSON reader of security-relevant documents (lib/util/strict_json.ts): it reads what
 * `JSON.parse` reads, except duplicate keys, lone surrogates and runaway nesting; its number
 * modes keep Rekor's int64 values exact and TUF's canonical integers canonical.
 */

import assert from "node:assert/strict";
import { parseStrictJson } from "../../../lib/util/strict_json.ts";
import { parseJson } from "../../../lib/util/json.ts";
import { fc } from "../../_deps.ts";

Deno.test("parseStrictJson() reads what JSON.stringify writes exactly as JSON.parse does (property)", () => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    const text = JSON.stringify(value);
    assert.deepEqual(parseStrictJson(text), JSON.parse(text));
    const spaced = JSON.stringify(value, null, "\t");
    assert.deepEqual(parseStrictJson(spaced), JSON.parse(spaced));
  }));
});

Deno.test("parseStrictJson() refuses a duplicate key at any depth, escaped or not, naming it", () => {
  for (
    const text of [
      '{"kind":"hashedrekord","kind":"dsse"}',
      '{"a":{"b":1,"b":1}}',
      '[{"x":1},{"y":2,"y":3}]',
      '{"payloadType":"a","payload\\u0054ype":"b"}', // "T" escaped: the same key
    ]
  ) {
    assert.throws(() => parseStrictJson(text), /duplicate key/, text);
  }
  // Keys that differ only by case are different JSON keys (asStrictRecord refuses those).
  assert.deepEqual(parseStrictJson('{"kind":1,"Kind":2}'), { kind: 1, Kind: 2 });
  // The same key in sibling objects is fine.
  assert.deepEqual(parseStrictJson('[{"a":1},{"a":2}]'), [{ a: 1 }, { a: 2 }]);
});

Deno.test("parseStrictJson() refuses what JSON.parse accepts but Go reads otherwise, and bad grammar", () => {
  const bad = [
    '"\\ud800"', // lone surrogate: Go turns it into U+FFFD
    '{"\\udc00":1}',
    "[".repeat(200) + "]".repeat(200), // nesting past MAX_JSON_DEPTH
    '"raw\u0001control"',
    "[1,]",
    "{} {}",
    "",
    "01",
    "1.",
    "-",
    "NaN",
    "'a'",
    '{"a" 1}',
    '"\\x41"',
  ];
  for (const text of bad) assert.throws(() => parseStrictJson(text), SyntaxError, text);
  assert.equal(parseStrictJson('"\\ud83d\\ude00"'), "\u{1F600}"); // a proper pair is fine
  assert.ok(Array.isArray(parseStrictJson("[".repeat(100) + "]".repeat(100))));
});

Deno.test("parseStrictJson() keeps __proto__ as an own key and never pollutes a prototype", () => {
  const value = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.ok(Object.hasOwn(value, "__proto__"));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.throws(() => parseStrictJson('{"__proto__":1,"__proto__":2}'), /duplicate key/);
});

Deno.test("parseStrictJson() number modes: double as JSON.parse, exact bigints, canonical integers", () => {
  assert.equal(parseStrictJson("9007199254740993"), 9007199254740992); // rounded, as JSON.parse
  assert.equal(parseStrictJson("9007199254740993", { numbers: "exact" }), 9007199254740993n);
  assert.equal(parseStrictJson("-9223372036854775808", { numbers: "exact" }), -(1n << 63n));
  assert.equal(parseStrictJson("1.5e3", { numbers: "exact" }), 1500);
  assert.equal(parseStrictJson("12", { numbers: "exact" }), 12);
  for (const text of ["1.0", "1e3", "9007199254740993"]) {
    assert.throws(() => parseStrictJson(text, { numbers: "integer" }), SyntaxError, text);
  }
  assert.ok(Object.is(parseStrictJson("-0", { numbers: "integer" }), 0));
  assert.throws(() => parseStrictJson("[[[1]]]", { maxDepth: 2 }), /nesting deeper than 2/);
});

Deno.test("parseJson() is the strict reader, with the document named in its SyntaxError", () => {
  assert.throws(
    () => parseJson('{"subject":[],"subject":[]}', "in-toto statement"),
    (e) =>
      e instanceof SyntaxError &&
      e.message ===
        'Invalid JSON in in-toto statement: Invalid JSON at offset 14: duplicate key "subject"',
  );
  assert.throws(() => parseJson(Uint8Array.of(0xff), "bundle"), /Invalid JSON in bundle/);
});
