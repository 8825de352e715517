/**
 * The one JSON reader of security-relevant documents: bundles, DSSE envelopes, in-toto
 * statements, SimpleSigning payloads, Rekor bodies and responses, trusted roots, signing configs,
 * TUF metadata, manifests.
 *
 * `JSON.parse` keeps the last of two equal keys, Go's `encoding/json` and protojson differ on
 * what they keep or refuse, so a document with a duplicate key means different things to
 * different verifiers, and to us and the log (a parser differential). This reader refuses it,
 * and everything else that two readers may read apart: lone surrogates (Go replaces them with
 * U+FFFD, JavaScript keeps them), nesting deeper than a bound (no stack exhaustion), and, in
 * the modes that ask for it, numbers that are not exact. The grammar is RFC 8259's, read with
 * no extension; `__proto__` is an ordinary own key, as in `JSON.parse`.
 *
 * Case-variant spellings of known fields (`MediaType` beside `mediaType`) are not refused here
 * but by `asStrictRecord` (json.ts), which knows the field names a reader matches.
 *
 * Every failure is a `SyntaxError` naming the offset; callers wrap it in their area's code.
 *
 * @module
 */

/** Deepest nesting accepted by default (bundles nest about eight levels, statements more). */
export const MAX_JSON_DEPTH = 128;

/** How numbers are read. */
export type StrictJsonNumbers =
  /** As `JSON.parse` reads them (a double, rounded). */
  | "double"
  /** Integers beyond 2^53 as exact bigints (Rekor's int64 fields); the rest as doubles. */
  | "exact"
  /** Only integers of at most 2^53 (TUF's canonical JSON); fractions and exponents refused. */
  | "integer";

/** Options of `parseStrictJson`. */
export interface StrictJsonOptions {
  /** How numbers are read (default `"double"`). */
  readonly numbers?: StrictJsonNumbers;
  /** Deepest nesting accepted (default `MAX_JSON_DEPTH`). */
  readonly maxDepth?: number;
}

/**
 * Parse strict JSON text (see the module doc). Throws `SyntaxError`.
 *
 * @example A duplicate key is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseStrictJson } from "./strict_json.ts";
 *
 * assert.deepEqual(parseStrictJson('{"kind":"dsse"}'), { kind: "dsse" });
 * assert.throws(() => parseStrictJson('{"kind":"dsse","kind":"hashedrekord"}'), SyntaxError);
 * ```
 */
export function parseStrictJson(text: string, options: StrictJsonOptions = {}): unknown {
  const parser = new Parser(text, options.numbers ?? "double", options.maxDepth ?? MAX_JSON_DEPTH);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.at < text.length) parser.fail("unexpected text after the JSON value");
  return value;
}

const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

// Sticky patterns: they run natively from `lastIndex`, so long base64 strings are not walked
// a character at a time in JavaScript.
// deno-lint-ignore no-control-regex
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const INTEGER = /^-?[0-9]+$/;

class Parser {
  at = 0;
  constructor(
    readonly text: string,
    readonly numbers: StrictJsonNumbers,
    readonly maxDepth: number,
  ) {}

  fail(why: string): never {
    throw new SyntaxError(`Invalid JSON at offset ${this.at}: ${why}`);
  }

  skipSpace(): void {
    const text = this.text;
    let at = this.at;
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      at++;
    }
    this.at = at;
  }

  value(depth: number): unknown {
    const c = this.text.charCodeAt(this.at);
    switch (c) {
      case 0x22: // "
        return this.string();
      case 0x7b: // {
        return this.object(depth + 1);
      case 0x5b: // [
        return this.array(depth + 1);
      case 0x74: // t
        return this.literal("true", true);
      case 0x66: // f
        return this.literal("false", false);
      case 0x6e: // n
        return this.literal("null", null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        return this.fail(Number.isNaN(c) ? "unexpected end of text" : "unexpected character");
    }
  }

  literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) this.fail("unexpected character");
    this.at += word.length;
    return value;
  }

  number(): number | bigint {
    NUMBER.lastIndex = this.at;
    const found = NUMBER.exec(this.text);
    if (found === null) return this.fail("invalid number");
    const source = found[0];
    const fraction = found[1] !== undefined || found[2] !== undefined;
    if (this.numbers === "integer" && fraction) {
      this.fail("fractions and exponents are not allowed (canonical JSON carries integers)");
    }
    const value = Number(source);
    if (!fraction && !Number.isSafeInteger(value)) {
      if (this.numbers === "integer") this.fail("integer beyond 2^53");
      if (this.numbers === "exact" && INTEGER.test(source)) {
        this.at += source.length;
        return BigInt(source);
      }
    }
    this.at += source.length;
    // -0 reads as 0 in canonical JSON, as securesystemslib's int does.
    return this.numbers === "integer" && value === 0 ? 0 : value;
  }

  string(): string {
    const text = this.text;
    let at = this.at + 1; // past the opening quote
    let out = "";
    for (;;) {
      PLAIN_RUN.lastIndex = at;
      PLAIN_RUN.test(text);
      const end = PLAIN_RUN.lastIndex;
      const c = text.charCodeAt(end);
      if (c === 0x22) {
        out = out === "" ? text.slice(at, end) : out + text.slice(at, end);
        this.at = end + 1;
        break;
      }
      this.at = end;
      if (Number.isNaN(c)) this.fail("unterminated string");
      if (c !== 0x5c) this.fail("control character in string");
      out += text.slice(at, end) + this.escape();
      at = this.at;
    }
    if (!out.isWellFormed()) this.fail("lone surrogate in string");
    return out;
  }

  /** One escape at `this.at` (a backslash); moves past it. */
  escape(): string {
    const next = this.text[this.at + 1];
    if (next === undefined) this.fail("unterminated escape");
    if (next !== "u") {
      const mapped = ESCAPES[next];
      if (mapped === undefined) this.fail("invalid escape");
      this.at += 2;
      return mapped;
    }
    const hex = this.text.slice(this.at + 2, this.at + 6);
    if (!HEX4.test(hex)) this.fail("invalid \\u escape");
    this.at += 6;
    return String.fromCharCode(parseInt(hex, 16));
  }

  array(depth: number): unknown[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.at++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text.charCodeAt(this.at) === 0x5d) {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth));
      this.skipSpace();
      const c = this.text.charCodeAt(this.at);
      if (c === 0x5d) {
        this.at++;
        return out;
      }
      if (c !== 0x2c) this.fail("expected ',' or ']'");
      this.at++;
    }
  }

  object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.at++;
    const out: Record<string, unknown> = {};
    this.skipSpace();
    if (this.text.charCodeAt(this.at) === 0x7d) {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text.charCodeAt(this.at) !== 0x22) this.fail("expected a string key");
      const keyAt = this.at;
      const key = this.string();
      // RFC 8259 section 4 leaves duplicate names to the reader; readers disagree, so we refuse.
      if (Object.hasOwn(out, key)) {
        this.at = keyAt;
        this.fail(`duplicate key ${JSON.stringify(key)}`);
      }
      this.skipSpace();
      if (this.text.charCodeAt(this.at) !== 0x3a) this.fail("expected ':'");
      this.at++;
      this.skipSpace();
      const value = this.value(depth);
      if (key === "__proto__") {
        // defineProperty, not assignment: "__proto__" stays an own data property.
        Object.defineProperty(out, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        out[key] = value;
      }
      this.skipSpace();
      const c = this.text.charCodeAt(this.at);
      if (c === 0x7d) {
        this.at++;
        return out;
      }
      if (c !== 0x2c) this.fail("expected ',' or '}'");
      this.at++;
    }
  }
}
