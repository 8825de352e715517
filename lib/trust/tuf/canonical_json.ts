/**
 * OLPC canonical JSON as TUF signs it: the bytes under every TUF signature are the canonical
 * form of the metadata's `signed` object, as securesystemslib's `encode_canonical`, go-tuf's
 * `cjson` and `@tufjs/canonical-json` write it (TUF specification section 4.2, "Metaformat";
 * http://wiki.laptop.org/go/Canonical_JSON).
 *
 * The rules: object keys sorted by Unicode code point, no whitespace, strings between double
 * quotes with only `\` and `"` escaped (every other character, newlines included, is written as
 * is), integers in decimal, `true`/`false`/`null`. Floating-point numbers have no canonical
 * form and are refused. This is NOT RFC 8785 (`lib/canonical_json.ts`): RFC 8785 escapes
 * control characters (`\n` inside a PEM key becomes two characters), OLPC writes them raw, so
 * the same Sigstore root gives different bytes and only these verify.
 *
 * @module
 */

import { utf8 } from "../../util/bytes.ts";

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
  const parts: string[] = [];
  write(value, parts, 0);
  return parts.join("");
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

function writeString(text: string, parts: string[]): void {
  if (!text.isWellFormed()) throw new TypeError("JSON string is not well-formed Unicode");
  parts.push(`"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`);
}

function write(value: unknown, parts: string[], depth: number): void {
  switch (typeof value) {
    case "string":
      writeString(value, parts);
      return;
    case "number":
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`Canonical JSON carries integers only, not ${value}`);
      }
      parts.push(String(value));
      return;
    case "boolean":
      parts.push(value ? "true" : "false");
      return;
    case "object":
      break;
    default:
      throw new TypeError(`Cannot canonicalize a value of type ${typeof value}`);
  }
  if (value === null) {
    parts.push("null");
    return;
  }
  if (depth >= MAX_CANONICAL_DEPTH) {
    throw new RangeError(`JSON nesting deeper than ${MAX_CANONICAL_DEPTH}`);
  }
  if (Array.isArray(value)) {
    parts.push("[");
    value.forEach((item, i) => {
      if (i > 0) parts.push(",");
      write(item, parts, depth + 1);
    });
    parts.push("]");
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new TypeError("Cannot canonicalize a class instance");
  }
  const record = value as Record<string, unknown>;
  parts.push("{");
  let first = true;
  for (const key of sortedKeys(Object.keys(record))) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) parts.push(",");
    first = false;
    writeString(key, parts);
    parts.push(":");
    write(item, parts, depth + 1);
  }
  parts.push("}");
}
