/**
 * The Rego scanner: source text to tokens (OPA's `ast/internal/scanner`).
 *
 * Identifiers are ASCII (`[A-Za-z_][A-Za-z0-9_]*`); keywords are left to the parser, since which
 * words are keywords depends on the syntax version and the module's imports. Each token records
 * whether whitespace or a newline preceded it: a newline ends a body literal, and `a [x]` is not
 * the reference `a[x]`.
 *
 * @module
 */

import { RegoError } from "./errors.ts";

/** Token kinds. */
export type TokenKind =
  | "ident"
  | "number"
  | "string"
  | "rawstring"
  | "op"
  | "eof";

/** A token with its position. */
export interface Token {
  readonly kind: TokenKind;
  /** The source text (for strings, the decoded value is in `value`). */
  readonly text: string;
  /** The decoded string value of string tokens. */
  readonly value: string;
  readonly offset: number;
  readonly row: number;
  readonly col: number;
  /** A newline (or comment line) separates this token from the previous one. */
  readonly nl: boolean;
  /** Whitespace separates this token from the previous one. */
  readonly ws: boolean;
}

const OPERATORS = [":=", "==", "!=", "<=", ">=", "<", ">", "=", "+", "-", "*", "/", "%", "&", "|"];
const PUNCT = new Set([".", ",", ";", ":", "[", "]", "{", "}", "(", ")"]);

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Split `source` (named `file` in errors) into tokens, ending with an `eof` token. */
export function tokenize(source: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let row = 1;
  let lineStart = 0;
  const n = source.length;
  const fail = (message: string, at: number, atRow = row, atCol = at - lineStart + 1): never => {
    throw new RegoError("rego_parse_error", message, {
      location: { file, row: atRow, col: atCol },
    });
  };
  let nl = false;
  let ws = false;
  while (true) {
    // Whitespace and comments.
    while (i < n) {
      const c = source.charCodeAt(i);
      if (c === 0x0a) {
        nl = true;
        ws = true;
        i++;
        row++;
        lineStart = i;
      } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
        ws = true;
        i++;
      } else if (c === 0x23) {
        while (i < n && source.charCodeAt(i) !== 0x0a) i++;
        ws = true;
      } else break;
    }
    const start = i;
    const col = i - lineStart + 1;
    const push = (kind: TokenKind, text: string, value = text) => {
      tokens.push({ kind, text, value, offset: start, row, col, nl, ws });
      nl = false;
      ws = false;
    };
    if (i >= n) {
      push("eof", "");
      return tokens;
    }
    const c = source.charCodeAt(i);
    if (isIdentStart(c)) {
      i++;
      while (i < n) {
        const d = source.charCodeAt(i);
        if (isIdentStart(d) || isDigit(d)) i++;
        else break;
      }
      push("ident", source.slice(start, i));
      continue;
    }
    if (isDigit(c)) {
      while (isDigit(source.charCodeAt(i))) i++;
      if (source.charCodeAt(i) === 0x2e && isDigit(source.charCodeAt(i + 1))) {
        i++;
        while (isDigit(source.charCodeAt(i))) i++;
      }
      const e = source.charCodeAt(i);
      if (e === 0x65 || e === 0x45) {
        let j = i + 1;
        const s = source.charCodeAt(j);
        if (s === 0x2b || s === 0x2d) j++;
        if (isDigit(source.charCodeAt(j))) {
          i = j;
          while (isDigit(source.charCodeAt(i))) i++;
        }
      }
      if (i < n && (isIdentStart(source.charCodeAt(i)) || source.charCodeAt(i) === 0x2e)) {
        // `1a`, `1.x`: OPA rejects numbers running into identifiers.
        if (source.charCodeAt(i) !== 0x2e) fail("illegal number format", start, row, col);
      }
      push("number", source.slice(start, i));
      continue;
    }
    if (c === 0x22) {
      i++;
      let value = "";
      while (true) {
        if (i >= n) fail("non-terminated string", start, row, col);
        const d = source.charCodeAt(i);
        if (d === 0x22) {
          i++;
          break;
        }
        if (d === 0x0a) fail("non-terminated string", start, row, col);
        if (d === 0x5c) {
          const e = source[i + 1];
          i += 2;
          switch (e) {
            case '"':
              value += '"';
              break;
            case "\\":
              value += "\\";
              break;
            case "/":
              value += "/";
              break;
            case "b":
              value += "\b";
              break;
            case "f":
              value += "\f";
              break;
            case "n":
              value += "\n";
              break;
            case "r":
              value += "\r";
              break;
            case "t":
              value += "\t";
              break;
            case "u": {
              const hex = source.slice(i, i + 4);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail("illegal escape sequence", i - 2);
              value += String.fromCharCode(parseInt(hex, 16));
              i += 4;
              break;
            }
            default:
              fail("illegal escape sequence", i - 2);
          }
          continue;
        }
        // Copy a run of plain characters at once.
        let j = i + 1;
        while (j < n) {
          const f = source.charCodeAt(j);
          if (f === 0x22 || f === 0x5c || f === 0x0a) break;
          j++;
        }
        value += source.slice(i, j);
        i = j;
      }
      push("string", source.slice(start, i), value);
      continue;
    }
    if (c === 0x60) {
      const end = source.indexOf("`", i + 1);
      if (end < 0) fail("non-terminated raw string", start, row, col);
      const value = source.slice(i + 1, end);
      i = end + 1;
      push("rawstring", source.slice(start, i), value);
      // Raw strings may span lines.
      for (let k = start; k < end; k++) {
        if (source.charCodeAt(k) === 0x0a) {
          row++;
          lineStart = k + 1;
        }
      }
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two.length === 2 && OPERATORS.includes(two)) {
      i += 2;
      push("op", two);
      continue;
    }
    const one = source[i] as string;
    if (OPERATORS.includes(one) || PUNCT.has(one)) {
      i++;
      push("op", one);
      continue;
    }
    fail(`illegal token ${JSON.stringify(one)}`, start, row, col);
  }
}
