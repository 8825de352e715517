/**
 * A strict JSON parser for TUF metadata. `JSON.parse` keeps the last of duplicate object keys,
 * so two parsers (ours and the signer's, or ours and another client's) can read different
 * values from the same signed bytes; TUF metadata is security-relevant, so a duplicate key is
 * refused here, as is everything canonical JSON cannot carry (fractions, exponents, integers
 * beyond 2^53, lone surrogates). The grammar is RFC 8259's; the result is plain `unknown` data
 * with `__proto__` kept as an ordinary own key.
 *
 * Every failure is a `SyntaxError` naming the offset.
 *
 * @module
 */

/** Deepest nesting accepted (TUF metadata nests five or six levels). */
export const MAX_JSON_DEPTH = 64;

/** Parse strict JSON text (see the module doc). Throws `SyntaxError`. */
export function parseStrictJson(text: string): unknown {
  const parser = new Parser(text);
  parser.skipSpace();
  const value = parser.value(0);
  parser.skipSpace();
  if (parser.at < text.length) parser.fail("unexpected text after the JSON value");
  return value;
}

const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

class Parser {
  at = 0;
  constructor(readonly text: string) {}

  fail(why: string): never {
    throw new SyntaxError(`Invalid JSON at offset ${this.at}: ${why}`);
  }

  skipSpace(): void {
    const text = this.text;
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.at++;
    }
  }

  value(depth: number): unknown {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    const c = this.text[this.at];
    switch (c) {
      case "{":
        return this.object(depth);
      case "[":
        return this.array(depth);
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
        return this.fail(c === undefined ? "unexpected end of text" : "unexpected character");
    }
  }

  literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.at)) this.fail("unexpected character");
    this.at += word.length;
    return value;
  }

  number(): number {
    const match = /-?(0|[1-9][0-9]*)([.eE])?/y;
    match.lastIndex = this.at;
    const found = match.exec(this.text);
    if (found === null) this.fail("invalid number");
    if (found[2] !== undefined) {
      this.fail("fractions and exponents are not allowed (TUF canonical JSON carries integers)");
    }
    const value = Number(found[0]);
    if (!Number.isSafeInteger(value)) this.fail("integer beyond 2^53");
    this.at += found[0].length;
    return value === 0 ? 0 : value; // -0 reads as 0, as securesystemslib's int does
  }

  string(): string {
    const text = this.text;
    this.at++; // opening quote
    let out = "";
    let start = this.at;
    for (;;) {
      if (this.at >= text.length) this.fail("unterminated string");
      const c = text.charCodeAt(this.at);
      if (c === 0x22) {
        out += text.slice(start, this.at);
        this.at++;
        break;
      }
      if (c < 0x20) this.fail("control character in string");
      if (c === 0x5c) {
        out += text.slice(start, this.at);
        out += this.escape();
        start = this.at;
        continue;
      }
      this.at++;
    }
    if (!out.isWellFormed()) this.fail("lone surrogate in string");
    return out;
  }

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
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("invalid \\u escape");
    this.at += 6;
    return String.fromCharCode(parseInt(hex, 16));
  }

  array(depth: number): unknown[] {
    this.at++;
    const out: unknown[] = [];
    this.skipSpace();
    if (this.text[this.at] === "]") {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      out.push(this.value(depth + 1));
      this.skipSpace();
      const c = this.text[this.at];
      this.at++;
      if (c === "]") return out;
      if (c !== ",") {
        this.at--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  object(depth: number): Record<string, unknown> {
    this.at++;
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.skipSpace();
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.at] !== '"') this.fail("expected a string key");
      const keyAt = this.at;
      const key = this.string();
      if (seen.has(key)) {
        this.at = keyAt;
        this.fail(`duplicate key ${JSON.stringify(key)}`);
      }
      seen.add(key);
      this.skipSpace();
      if (this.text[this.at] !== ":") this.fail("expected ':'");
      this.at++;
      this.skipSpace();
      // defineProperty, not assignment: a "__proto__" key stays an own data property.
      Object.defineProperty(out, key, {
        value: this.value(depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.skipSpace();
      const c = this.text[this.at];
      this.at++;
      if (c === "}") return out;
      if (c !== ",") {
        this.at--;
        this.fail("expected ',' or '}'");
      }
    }
  }
}
