/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the bytes Rekor stores as an entry body and signs
 * in a SignedEntryTimestamp (cosign-spec.md sections 5.2-5.3).
 *
 * JCS is ECMAScript's own serialization with sorted keys: numbers as `Number.prototype.toString`
 * (section 3.2.2.3), strings as `JSON.stringify` escapes them (section 3.2.2.2), object members
 * sorted by UTF-16 code units (section 3.2.3). What JCS forbids is refused rather than
 * approximated: non-finite numbers, lone surrogates, and values JSON cannot carry.
 *
 * @module
 */

import { type Bytes, utf8 } from "./bytes.ts";

/** Deepest nesting accepted; Rekor bodies nest about five levels. */
export const MAX_CANONICAL_DEPTH = 100;

/**
 * The RFC 8785 canonical text of a JSON value. Throws `TypeError` for values JSON cannot carry
 * (undefined, functions, bigints, class instances) and strings that are not well-formed
 * Unicode, `RangeError` for non-finite numbers or nesting deeper than `MAX_CANONICAL_DEPTH`.
 */
export function canonicalizeJson(value: unknown): string {
  const parts: string[] = [];
  write(value, parts, 0);
  return parts.join("");
}

/** The UTF-8 bytes of `canonicalizeJson(value)`. */
export function canonicalJsonBytes(value: unknown): Bytes {
  return utf8(canonicalizeJson(value));
}

function writeString(text: string, parts: string[]): void {
  // Section 3.2.2.2: lone surrogates have no UTF-8 form, so they cannot be canonicalized.
  if (!text.isWellFormed()) throw new TypeError("JSON string is not well-formed Unicode");
  parts.push(JSON.stringify(text));
}

function write(value: unknown, parts: string[], depth: number): void {
  switch (typeof value) {
    case "string":
      writeString(value, parts);
      return;
    case "number":
      if (!Number.isFinite(value)) throw new RangeError(`Cannot canonicalize the number ${value}`);
      // Section 3.2.2.3: ECMAScript Number serialization; -0 becomes "0" like every other zero.
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
    throw new RangeError(`JSON nests deeper than ${MAX_CANONICAL_DEPTH} levels`);
  }
  if (Array.isArray(value)) {
    parts.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(",");
      write(value[i], parts, depth + 1);
    }
    parts.push("]");
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new TypeError("Cannot canonicalize an object that is not plain JSON");
  }
  const record = value as Record<string, unknown>;
  // Section 3.2.3: sort by UTF-16 code units, which is what the default sort compares.
  const keys = Object.keys(record).sort();
  parts.push("{");
  let first = true;
  for (const key of keys) {
    if (!first) parts.push(",");
    first = false;
    writeString(key, parts);
    parts.push(":");
    write(record[key], parts, depth + 1);
  }
  parts.push("}");
}
