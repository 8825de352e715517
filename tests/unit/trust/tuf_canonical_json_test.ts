/**
 * OLPC canonical JSON (what TUF signs) and the strict JSON reader of TUF metadata: vectors, a
 * round-trip property, and the real Sigstore roots, whose signatures must verify over these
 * bytes and not over RFC 8785's.
 */

import assert from "node:assert/strict";
import { canonicalJsonBytes } from "../../../lib/util/canonical_json.ts";
import { parseStrictJson as parseJsonText } from "../../../lib/util/strict_json.ts";

const parseStrictJson = (text: string) => parseJsonText(text, { numbers: "integer", maxDepth: 64 });
import {
  canonicalizeTufJson,
  encodeTufCanonicalJson,
} from "../../../lib/trust/tuf/canonical_json.ts";
import { parseTufMetadata, type TufMetadata } from "../../../lib/trust/tuf/metadata.ts";
import { publicGoodRootBytes } from "../../../lib/trust/tuf/public_good.ts";
import { countSignatures } from "../../../lib/trust/tuf/verify.ts";
import { fc } from "../../_deps.ts";
import { exists, interopPath, requireComponents, type Requirement } from "../../_support.ts";

Deno.test("canonicalizeTufJson() sorts keys, drops whitespace and escapes only backslash and quote", () => {
  const cases: [unknown, string][] = [
    [{ b: 1, a: [true, false, null], c: {} }, '{"a":[true,false,null],"b":1,"c":{}}'],
    ["line\nbreak\ttab", '"line\nbreak\ttab"'], // control characters stay raw
    ['quote " and back \\ slash', '"quote \\" and back \\\\ slash"'],
    ["\u0001\u007f/é", '"\u0001\u007f/é"'],
    [-12, "-12"],
    [[], "[]"],
    [{ "": 0, A: 1, a: 2, "\u00e9": 3 }, '{"":0,"A":1,"a":2,"é":3}'],
  ];
  for (const [value, expected] of cases) assert.equal(canonicalizeTufJson(value), expected);
});

Deno.test("canonicalizeTufJson() orders keys by code point, as securesystemslib and go-tuf do", () => {
  // UTF-16 order would put U+1F600 (a surrogate pair, 0xD83D...) before U+FFFD.
  assert.equal(canonicalizeTufJson({ "\u{1F600}": 1, "\uFFFD": 2 }), '{"\uFFFD":2,"\u{1F600}":1}');
});

Deno.test("canonicalizeTufJson() refuses floats, non-finite numbers, unsafe integers and lone surrogates", () => {
  for (const value of [1.5, NaN, Infinity, 2 ** 53, { a: 0.1 }, "\ud800", { "\udc00": 1 }]) {
    assert.throws(() => canonicalizeTufJson(value), TypeError);
  }
  assert.throws(() => canonicalizeTufJson(1n), TypeError);
  assert.throws(() => canonicalizeTufJson(undefined), TypeError);
});

Deno.test("parseStrictJson() reads what canonicalizeTufJson() writes, as JSON.parse does (property)", () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { maxDepth: 4 },
      fc.string({ unit: "grapheme" }),
      fc.maxSafeInteger(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie("value"), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: "grapheme" }), tie("value"), { maxKeys: 4 }),
    ),
  })).value;
  fc.assert(fc.property(json, (value) => {
    const text = canonicalizeTufJson(value);
    // Canonical text has no duplicate keys, so JSON.parse is an oracle for the reading.
    assert.deepEqual(parseStrictJson(text), JSON.parse(text));
    assert.equal(canonicalizeTufJson(parseStrictJson(text)), text);
  }));
});

Deno.test("parseStrictJson() refuses duplicate keys, floats, big integers, lone surrogates and deep nesting", () => {
  const bad = [
    '{"a":1,"a":1}',
    '{"a":{"b":1,"b":2}}',
    '{"a":1,"\\u0061":2}', // the same key, once escaped
    "1.0",
    "1e3",
    "9007199254740993",
    '"\\ud800"',
    '"raw\u0001control"',
    "[1,]",
    "{} {}",
    "[".repeat(100) + "]".repeat(100),
    "",
    "01",
  ];
  for (const text of bad) assert.throws(() => parseStrictJson(text), SyntaxError, text);
});

Deno.test("parseStrictJson() keeps __proto__ as an ordinary key", () => {
  const value = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.ok(Object.hasOwn(value, "__proto__"));
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(canonicalizeTufJson(value), '{"__proto__":{"polluted":true}}');
});

const CORPUS: Requirement = {
  name: "TUF corpus (../shared/interop/tuf/sigstore-public-good)",
  present: () => exists(interopPath("tuf/sigstore-public-good/1.root.json")),
};

if (requireComponents("OLPC canonical JSON on the Sigstore roots", CORPUS)) {
  const dir = interopPath("tuf/sigstore-public-good");
  const read = (name: string) => Deno.readFileSync(`${dir}/${name}`);

  Deno.test("a vouched parse (native JSON.parse) of each Sigstore metadata file reads the model and signed bytes the strict parse reads", () => {
    const files: [string, "root" | "timestamp" | "snapshot" | "targets"][] = [
      ...Array.from({ length: 15 }, (_, i) => [`${i + 1}.root.json`, "root"] as [string, "root"]),
      ["timestamp.json", "timestamp"],
      ["165.snapshot.json", "snapshot"],
      ["14.targets.json", "targets"],
    ];
    for (const [name, role] of files) {
      const strict = parseTufMetadata(read(name), role);
      const vouched = parseTufMetadata(read(name), role, name, { vouched: true });
      assert.deepEqual(vouched.signed, strict.signed, name);
      assert.deepEqual(vouched.signatures, strict.signatures, name);
      assert.deepEqual(vouched.signedBytes, strict.signedBytes, name);
    }
  });

  Deno.test("every Sigstore root v1-v16 verifies over canonicalizeTufJson(signed) under its predecessor and itself", async () => {
    const files = [
      ...Array.from({ length: 15 }, (_, i) => read(`${i + 1}.root.json`)),
      publicGoodRootBytes(),
    ];
    let previous: TufMetadata<import("../../../lib/trust/tuf/metadata.ts").RootSigned> | undefined;
    for (const bytes of files) {
      const root = parseTufMetadata(bytes, "root");
      const signed = (JSON.parse(new TextDecoder().decode(bytes)) as { signed: unknown }).signed;
      assert.deepEqual(root.signedBytes, encodeTufCanonicalJson(signed));
      const self = await countSignatures(root, root.signed.roles.root, root.signed.keys);
      assert.equal(self.valid, 3, `root v${root.signed.version} by its own keys`);
      if (previous !== undefined) {
        const old = await countSignatures(root, previous.signed.roles.root, previous.signed.keys);
        assert.equal(old.valid, 3, `root v${root.signed.version} by v${previous.signed.version}`);
      }
      previous = root;
    }
  });

  Deno.test("RFC 8785 bytes of root v15 differ (PEM newlines escaped) and its signatures do not verify over them", async () => {
    const root = parseTufMetadata(read("15.root.json"), "root");
    const signed = (JSON.parse(new TextDecoder().decode(read("15.root.json"))) as {
      signed: unknown;
    }).signed;
    const jcs = canonicalJsonBytes(signed);
    assert.notDeepEqual(jcs, root.signedBytes);
    assert.ok(new TextDecoder().decode(jcs).includes("\\n"));
    const asJcs = { ...root, signedBytes: jcs };
    const count = await countSignatures(asJcs, root.signed.roles.root, root.signed.keys);
    assert.equal(count.valid, 0);
  });
}
