/**
 * JSON text as Go writes it, for payloads whose exact bytes get signed.
 *
 * cosign builds the SimpleSigning payload and in-toto v0.1 statements with Go `encoding/json`
 * (cosign-spec.md sections 2 and 3.1): compact, struct fields in declaration order, map keys
 * sorted by their UTF-8 bytes, `<`, `>`, `&`, U+2028 and U+2029 escaped as `\u003c`... (the
 * HTML-safe default of `json.Marshal`), and floats in the shortest form. Protobuf JSON (bundles,
 * in-toto v1 statements) is the same without those escapes (`style: "protojson"`). `GoStruct`
 * keeps a fixed field order; plain objects are maps and get sorted.
 *
 * @module
 */

/** A value Go can marshal: JSON data, with `GoStruct` for fixed-order objects. */
export type GoValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly GoValue[]
  | GoStruct
  | { readonly [key: string]: GoValue };

/** An object written with its fields in the given order (a Go struct), not sorted. */
export class GoStruct {
  /** The fields in order; `undefined` values are left out (Go `omitempty`). */
  readonly fields: readonly (readonly [string, GoValue | undefined])[];

  constructor(fields: readonly (readonly [string, GoValue | undefined])[]) {
    this.fields = fields;
  }
}

/** Options of `encodeGoJson`. */
export interface GoJsonOptions {
  /**
   * `"go"` (default): `encoding/json`, which escapes `<`, `>`, `&`, U+2028 and U+2029.
   * `"protojson"`: Go protobuf JSON, which escapes none of them.
   */
  style?: "go" | "protojson";
}

/** Most nesting `encodeGoJson` follows; Go's decoder stops at 10000, and we write, not read. */
const MAX_DEPTH = 1000;

/** Encode `value` as Go would marshal it; non-finite numbers throw `TypeError` as in Go. */
export function encodeGoJson(value: GoValue, options: GoJsonOptions = {}): string {
  const parts: string[] = [];
  write(value, (options.style ?? "go") === "go", parts, 0);
  return parts.join("");
}

function write(value: GoValue, goStyle: boolean, out: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError("JSON value nests too deeply");
  if (value === null) {
    out.push("null");
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "number") {
    out.push(formatGoFloat(value));
  } else if (typeof value === "bigint") {
    // int64 fields (log indexes, times) are written as exact integers
    out.push(value.toString());
  } else if (typeof value === "string") {
    out.push(encodeGoString(value, goStyle));
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item: GoValue, i: number) => {
      if (i > 0) out.push(",");
      write(item, goStyle, out, depth + 1);
    });
    out.push("]");
  } else if (value instanceof GoStruct) {
    writeFields(value.fields, goStyle, out, depth);
  } else {
    const record = value as { readonly [key: string]: GoValue };
    const keys = Object.keys(record).sort(compareUtf8);
    writeFields(keys.map((key) => [key, record[key]] as const), goStyle, out, depth);
  }
}

function writeFields(
  fields: readonly (readonly [string, GoValue | undefined])[],
  goStyle: boolean,
  out: string[],
  depth: number,
): void {
  out.push("{");
  let first = true;
  for (const [key, item] of fields) {
    if (item === undefined) continue;
    if (!first) out.push(",");
    first = false;
    out.push(encodeGoString(key, goStyle), ":");
    write(item, goStyle, out, depth + 1);
  }
  out.push("}");
}

/**
 * A JSON string literal as Go writes it. `JSON.stringify` already matches Go 1.22+ for control
 * characters (`\b \f \n \r \t`, else `\u00xx`). `encoding/json` (`goStyle`) also escapes U+2028
 * and U+2029 always and `<>&` by default; protojson escapes neither. Both write invalid UTF-16
 * (a lone surrogate, which Go's UTF-8 strings cannot hold) as `\ufffd`.
 */
export function encodeGoString(text: string, goStyle = true): string {
  let json = JSON.stringify(text);
  if (goStyle) {
    json = json.replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  }
  // JSON.stringify writes a lone surrogate as `\udxxx`; an escape is real only after an even
  // run of backslashes.
  if (!text.isWellFormed()) json = json.replace(LONE_SURROGATE, "$1\\ufffd");
  return json;
}

const LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

/**
 * Go's float64 JSON form: shortest round-trip digits, exponent below 1e-6 and from 1e21 (the
 * same thresholds as ECMAScript's Number-to-String), `-0` kept.
 */
function formatGoFloat(value: number): string {
  if (!Number.isFinite(value)) throw new TypeError(`Cannot encode ${value} as JSON`);
  return Object.is(value, -0) ? "-0" : String(value);
}

/** Compare strings by their UTF-8 bytes, as Go sorts map keys (not by UTF-16 code units). */
export function compareUtf8(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * Check that parsed JSON (or a value built in code) is something JSON can hold, and copy it
 * into a `GoValue`. Objects are copied onto a null prototype so a `"__proto__"` key stays data.
 */
export function toGoValue(value: unknown, depth = 0): GoValue {
  if (depth > MAX_DEPTH) throw new RangeError("JSON value nests too deeply");
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`Cannot encode ${value} as JSON`);
    return value;
  }
  if (typeof value === "bigint" || value instanceof GoStruct) return value;
  if (Array.isArray(value)) return value.map((item) => toGoValue(item, depth + 1));
  if (typeof value === "object") {
    const out: Record<string, GoValue> = Object.create(null);
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = toGoValue(item, depth + 1);
    }
    return out;
  }
  throw new TypeError(`Cannot encode a ${typeof value} as JSON`);
}
