/**
 * OLPC canonical JSON as TUF signs it: the bytes under every TUF signature are the canonical
 * form of the metadata's `signed` object, as securesystemslib's `encode_canonical`, go-tuf's
 * `cjson` and `@tufjs/canonical-json` write it (TUF specification section 4.2, "Metaformat";
 * http://wiki.laptop.org/go/Canonical_JSON).
 *
 * The rules: object keys sorted by Unicode code point, no whitespace, strings between double
 * quotes with only `\` and `"` escaped (every other character, newlines included, is written as
 * is), integers in decimal, `true`/`false`/`null`. Floating-point numbers have no canonical
 * form and are refused. This is NOT RFC 8785 (`lib/util/canonical_json.ts`): RFC 8785 escapes
 * control characters (`\n` inside a PEM key becomes two characters), OLPC writes them raw, so
 * the same Sigstore root gives different bytes and only these verify. The walk over values is
 * the one both forms share (`writeCanonicalJson`); what differs is `OLPC` below.
 *
 * @module
 */

import { utf8 } from "../../util/bytes.ts";
import { type CanonicalJsonForm, writeCanonicalJson } from "../../util/canonical_json.ts";

/** Deepest nesting accepted. */
export const MAX_CANONICAL_DEPTH = 64;

/**
 * The OLPC canonical text of a JSON value. Throws `TypeError` for values canonical JSON cannot
 * carry (non-integer numbers, undefined, functions, bigints, strings that are not well-formed
 * Unicode) and `RangeError` for nesting deeper than `MAX_CANONICAL_DEPTH`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalizeTufJson } from "./canonical_json.ts";
 *
 * assert.equal(canonicalizeTufJson({ b: 1, a: "x\ny" }), '{"a":"x\ny","b":1}');
 * ```
 */
export function canonicalizeTufJson(value: unknown): string {
  return writeCanonicalJson(value, OLPC);
}

/** The UTF-8 bytes of `canonicalizeTufJson(value)`: what a TUF signature covers. */
export function encodeTufCanonicalJson(value: unknown): Uint8Array<ArrayBuffer> {
  return utf8(canonicalizeTufJson(value));
}

/** Code-point order (securesystemslib sorts Python `str`, go-tuf UTF-8 bytes: both agree). */
function compareCodePoints(a: string, b: string): number {
  const left = [...a];
  const right = [...b];
  const n = Math.min(left.length, right.length);
  for (let i = 0; i < n; i++) {
    const x = left[i]!.codePointAt(0)!;
    const y = right[i]!.codePointAt(0)!;
    if (x !== y) return x - y;
  }
  return left.length - right.length;
}

/** Keys in code-point order; plain `sort()` is UTF-16 order, the same unless a key is astral. */
function sortedKeys(keys: string[]): string[] {
  const astral = keys.some((key) => /[\ud800-\udfff]/.test(key));
  return astral ? keys.sort(compareCodePoints) : keys.sort();
}

/** OLPC's choices: only `\\` and `"` escaped, integers only, code-point key order. */
const OLPC: CanonicalJsonForm = {
  maxDepth: MAX_CANONICAL_DEPTH,
  quote: (text) => `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`,
  number(value) {
    if (!Number.isSafeInteger(value)) {
      throw new TypeError(`Canonical JSON carries integers only, not ${value}`);
    }
    return String(value);
  },
  sortKeys: sortedKeys,
  // An optional field left undefined is absent, as JSON.stringify has it.
  skipUndefined: true,
};
