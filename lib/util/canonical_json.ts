/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the bytes Rekor stores as an entry body and signs
 * in a SignedEntryTimestamp (cosign-spec.md sections 5.2-5.3); and the walk over JSON values that
 * both of the project's canonical forms share ({@link writeCanonicalJson}), the other being TUF's
 * OLPC form (`lib/trust/tuf/canonical_json.ts`).
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
 * What tells one canonical JSON form from another. The walk, the refusals every form shares
 * (values JSON cannot carry, class instances, strings that are not well-formed Unicode, which
 * have no UTF-8 form) and the punctuation are {@link writeCanonicalJson}'s.
 */
export interface CanonicalJsonForm {
  /** Deepest nesting accepted; deeper is a `RangeError`. */
  readonly maxDepth: number;
  /** A well-formed string, quoted and escaped. */
  readonly quote: (text: string) => string;
  /** A number's text; throws for a number the form cannot carry. */
  readonly number: (value: number) => string;
  /** An object's keys in the form's order (the array may be sorted in place). */
  readonly sortKeys: (keys: string[]) => string[];
  /** Leave out object members whose value is `undefined` (else they are refused). */
  readonly skipUndefined: boolean;
}

/** RFC 8785's choices. */
const JCS: CanonicalJsonForm = {
  maxDepth: MAX_CANONICAL_DEPTH,
  // Section 3.2.2.2: JSON.stringify's escapes.
  quote: (text) => JSON.stringify(text),
  number(value) {
    if (!Number.isFinite(value)) throw new RangeError(`Cannot canonicalize the number ${value}`);
    // Section 3.2.2.3: ECMAScript Number serialization; -0 becomes "0" like every other zero.
    return String(value);
  },
  // Section 3.2.3: sort by UTF-16 code units, which is what the default sort compares.
  sortKeys: (keys) => keys.sort(),
  skipUndefined: false,
};

/**
 * The RFC 8785 canonical text of a JSON value. Throws `TypeError` for values JSON cannot carry
 * (undefined, functions, bigints, class instances) and strings that are not well-formed
 * Unicode, `RangeError` for non-finite numbers or nesting deeper than `MAX_CANONICAL_DEPTH`.
 */
export function canonicalizeJson(value: unknown): string {
  return writeCanonicalJson(value, JCS);
}

/** The UTF-8 bytes of `canonicalizeJson(value)`. */
export function canonicalJsonBytes(value: unknown): Bytes {
  return utf8(canonicalizeJson(value));
}

/**
 * The canonical text of a JSON value in `form`: no whitespace, object members in the form's key
 * order, strings and numbers as the form writes them. Throws `TypeError` for values JSON cannot
 * carry (undefined, functions, bigints, symbols, class instances) and strings that are not
 * well-formed Unicode, `RangeError` past `form.maxDepth`, and whatever `form.number` throws.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeCanonicalJson } from "./canonical_json.ts";
 *
 * const form = {
 *   maxDepth: 8,
 *   quote: (s: string) => JSON.stringify(s),
 *   number: String,
 *   sortKeys: (keys: string[]) => keys.sort(),
 *   skipUndefined: true,
 * };
 * assert.equal(writeCanonicalJson({ b: [1, null], a: "x", c: undefined }, form), '{"a":"x","b":[1,null]}');
 * ```
 */
export function writeCanonicalJson(value: unknown, form: CanonicalJsonForm): string {
  const parts: string[] = [];
  write(value, form, parts, 0);
  return parts.join("");
}

function writeString(text: string, form: CanonicalJsonForm, parts: string[]): void {
  // Lone surrogates have no UTF-8 form, so they cannot be canonicalized (RFC 8785 3.2.2.2).
  if (!text.isWellFormed()) throw new TypeError("JSON string is not well-formed Unicode");
  parts.push(form.quote(text));
}

function write(value: unknown, form: CanonicalJsonForm, parts: string[], depth: number): void {
  switch (typeof value) {
    case "string":
      writeString(value, form, parts);
      return;
    case "number":
      parts.push(form.number(value));
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
  if (depth >= form.maxDepth) {
    throw new RangeError(`JSON nests deeper than ${form.maxDepth} levels`);
  }
  if (Array.isArray(value)) {
    parts.push("[");
    for (let i = 0; i < value.length; i++) {
      if (i > 0) parts.push(",");
      write(value[i], form, parts, depth + 1);
    }
    parts.push("]");
    return;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw new TypeError("Cannot canonicalize an object that is not plain JSON");
  }
  const record = value as Record<string, unknown>;
  parts.push("{");
  let first = true;
  for (const key of form.sortKeys(Object.keys(record))) {
    const item = record[key];
    if (item === undefined && form.skipUndefined) continue;
    if (!first) parts.push(",");
    first = false;
    writeString(key, form, parts);
    parts.push(":");
    write(item, form, parts, depth + 1);
  }
  parts.push("}");
}
