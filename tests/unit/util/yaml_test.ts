import assert from "node:assert/strict";
import { parseYaml, stringifyYaml } from "../../../lib/util/yaml.ts";

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
