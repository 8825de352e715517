/**
 * Bounded YAML parsing (lib/util/yaml.ts): documents in order, empty ones left out, JSON-like
 * values, and refusal of what could make two readers disagree or exhaust memory: duplicate keys
 * (also after stringifying), collection keys, self-referencing aliases, alias bombs, deep
 * nesting, too many documents, oversized input; a `__proto__` key stays an ordinary key.
 */

import assert from "node:assert/strict";
import { parseYaml, parseYamlDocuments, stringifyYaml } from "../../../lib/util/yaml.ts";

Deno.test("parseYamlDocuments() returns each document's value in order and leaves empty documents out", () => {
  assert.deepEqual(
    parseYamlDocuments("a: 1\n---\n# only a comment\n---\nb: [x, {c: true}]\n---\n"),
    [
      { a: 1 },
      { b: ["x", { c: true }] },
    ],
  );
  assert.deepEqual(parseYaml("1: one\ntrue: yes\n"), { "1": "one", true: "yes" });
  assert.equal(parseYaml(""), null);
  const proto = parseYaml("__proto__: {polluted: true}\n") as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.deepEqual(Object.keys(proto), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("parseYaml() refuses duplicate keys, collection keys, cycles, alias bombs, deep nesting and several documents", () => {
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) {
    bomb.push(
      `${"abcdefgh"[i]}: &${"abcdefgh"[i]} [${Array(10).fill(`*${"abcdefgh"[i - 1]}`).join(", ")}]`,
    );
  }
  const cases = [
    "a: 1\na: 2\n",
    "1: a\n'1': b\n",
    "? [a]\n: 1\n",
    "a: &x [*x]\n",
    bomb.join("\n"),
    `${"[".repeat(1100)}${"]".repeat(1100)}`,
    "a: 1\n---\nb: 2\n",
    "a: [\n",
  ];
  for (const text of cases) assert.throws(() => parseYaml(text), SyntaxError, text.slice(0, 40));
  assert.throws(() => parseYaml("a: 1\n", { maxBytes: 3 }), RangeError);
  assert.throws(
    () => parseYamlDocuments("a: 1\n---\na: 2\n---\na: 3\n", { maxDocuments: 2 }),
    /more than 2 documents/,
  );
});

Deno.test("parseYaml() reads the YAML 1.2 core schema into plain values", () => {
  assert.deepEqual(parseYaml("a: 1\nb: [x, true, null]\nc: {d: 1.5}\n"), {
    a: 1,
    b: ["x", true, null],
    c: { d: 1.5 },
  });
  // YAML 1.1 booleans are strings in 1.2.
  assert.deepEqual(parseYaml("v: yes\n"), { v: "yes" });
});

Deno.test("parseYaml() keeps big integers exact with intAsBigInt, and non-string keys with mapAsMap", () => {
  assert.deepEqual(parseYaml("n: 1208925819614629174706176\n", { intAsBigInt: true }), {
    n: 1208925819614629174706176n,
  });
  const m = parseYaml("null: 1\n2: b\n", { mapAsMap: true });
  assert.ok(m instanceof Map);
  assert.deepEqual([...m.keys()], [null, 2]);
});

Deno.test("parseYaml() refuses duplicate keys, several documents and malformed text as SyntaxError", () => {
  assert.throws(() => parseYaml("a: 1\na: 2\n"), SyntaxError);
  assert.throws(() => parseYaml("--- a\n--- b\n"), SyntaxError);
  assert.throws(() => parseYaml("a: [1, 2\n"), SyntaxError);
});

Deno.test("parseYaml() bounds size, alias expansion and self-referencing aliases", () => {
  assert.throws(() => parseYaml("a: 1\n", { maxBytes: 3 }), RangeError);
  const laughs = [
    "a: &a [x, x, x, x, x, x, x, x, x, x]",
    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
  ].join("\n");
  assert.throws(() => parseYaml(laughs), SyntaxError);
  assert.throws(() => parseYaml("a: &x [*x]\n"), /refers to its own anchor/);
  assert.throws(() => parseYaml("[".repeat(2000) + "]".repeat(2000)), SyntaxError);
});

Deno.test("stringifyYaml() writes block style that parseYaml() reads back", () => {
  const v = { foo: [1, 2], bar: { baz: "q" } };
  const text = stringifyYaml(v);
  assert.equal(text, "foo:\n- 1\n- 2\nbar:\n  baz: q\n");
  assert.deepEqual(parseYaml(text), v);
});
