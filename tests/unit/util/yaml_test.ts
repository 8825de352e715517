/**
 * Bounded YAML parsing (lib/util/yaml.ts): documents in order, empty ones left out, JSON-like
 * values, and refusal of what could make two readers disagree or exhaust memory: duplicate keys
 * (also after stringifying), collection keys, self-referencing aliases, alias bombs, deep
 * nesting, too many documents, oversized input; a `__proto__` key stays an ordinary key.
 */

import assert from "node:assert/strict";
import { parseYaml, parseYamlDocuments } from "../../../lib/util/yaml.ts";

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
    `${"[".repeat(300)}${"]".repeat(300)}`,
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
