/**
 * Rego values: null, booleans, numbers, strings, arrays, sets and objects (whose keys may be any
 * value), with the total order and equality OPA defines (`ast.Compare`: null < boolean < number <
 * string < array < object < set).
 *
 * Representation: `null`, `boolean` and `string` are JS primitives; arrays are frozen-by-contract
 * JS arrays; sets and objects are the classes below, keyed by {@link keyOf}. Numbers are JS
 * `number`s, except integers outside the safe range, which are `bigint`s so that nanosecond
 * timestamps and large literals stay exact (OPA keeps numbers as arbitrary-precision decimals).
 * {@link normalizeNumber} keeps one representation per value (a safe integer is never a bigint,
 * an integral double beyond 2^53 is always a bigint), so equal numbers have equal keys.
 *
 * Values are immutable once built: the evaluator never changes a set or object it has handed out.
 *
 * @module
 */

/** A Rego value. */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly Value[]
  | RegoSet
  | RegoObject;

/** A Rego number: a double, or an exact integer beyond `Number.MAX_SAFE_INTEGER`. */
export type RegoNumber = number | bigint;

/** The type names OPA prints (`type_name`, error messages). */
export type TypeName = "null" | "boolean" | "number" | "string" | "array" | "set" | "object";

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/** One representation per number: safe integers as `number`, larger integers as `bigint`. */
export function normalizeNumber(n: RegoNumber): RegoNumber {
  if (typeof n === "bigint") return n <= MAX_SAFE && n >= MIN_SAFE ? Number(n) : n;
  if (Number.isInteger(n) && !Number.isSafeInteger(n)) return BigInt(n);
  if (Object.is(n, -0)) return 0;
  return n;
}

/** Whether a value is a Rego number. */
export function isNumber(v: Value | undefined): v is RegoNumber {
  return typeof v === "number" || typeof v === "bigint";
}

/** Whether a number is integral. */
export function isInteger(n: RegoNumber): boolean {
  return typeof n === "bigint" || Number.isInteger(n);
}

/** A number as a bigint, if it is integral. */
export function toBigInt(n: RegoNumber): bigint | undefined {
  if (typeof n === "bigint") return n;
  return Number.isInteger(n) ? BigInt(n) : undefined;
}

/** A number as a (possibly rounded) double. */
export function toDouble(n: RegoNumber): number {
  return typeof n === "bigint" ? Number(n) : n;
}

/**
 * Parse a Rego/JSON number literal exactly where it is integral (`1e3`, `123456789123456789123`)
 * and as a double otherwise. Returns undefined for text that is not a number.
 */
export function parseNumberLiteral(text: string): RegoNumber | undefined {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (m === null) return undefined;
  const [, sign = "", int = "", frac = "", expText] = m;
  const exp = expText === undefined ? 0 : Number(expText);
  const digits = (int + frac).replace(/^0+(?=\d)/, "");
  const scale = exp - frac.length;
  const trimmed = digits.replace(/0+$/, "");
  const zeros = digits.length - trimmed.length;
  // Integral when the remaining exponent is non-negative after dropping trailing zeros. Bound
  // the exponent so that `1e1000000` cannot allocate a million-digit bigint.
  if (scale + zeros >= 0 && Math.abs(exp) <= 400 && digits.length <= 400) {
    if (trimmed === "") return 0;
    const value = BigInt(trimmed) * 10n ** BigInt(scale + zeros);
    return normalizeNumber(sign === "-" ? -value : value);
  }
  const d = Number(text);
  if (!Number.isFinite(d)) return undefined;
  return normalizeNumber(d);
}

/** A number in OPA's JSON text form (integers in full, doubles in shortest round-trip form). */
export function formatNumber(n: RegoNumber): string {
  if (typeof n === "bigint") return n.toString();
  if (Number.isInteger(n)) return n.toString();
  const s = String(n);
  // Go prints exponents as `e-07`; JSON accepts either, keep JS's shortest form but Go-style
  // two-digit exponents for small magnitudes (`1e-7` -> `1e-07`).
  return s.replace(/e([+-])(\d)$/, "e$10$2");
}

/** The cached key of composite values, and of the arrays that cannot carry a field. */
const arrayKeys = new WeakMap<readonly Value[], string>();

/** A set of values. Build with `add`, then treat as immutable. */
export class RegoSet {
  readonly #items = new Map<unknown, Value>();
  #sorted: Value[] | undefined;
  #key: string | undefined;

  /** Create a set holding `items`. */
  constructor(items?: Iterable<Value>) {
    if (items !== undefined) { for (const item of items) this.add(item); }
  }

  /** Add a value (while building). */
  add(v: Value): void {
    const k = keyOf(v);
    if (!this.#items.has(k)) {
      this.#items.set(k, v);
      this.#sorted = undefined;
      this.#key = undefined;
    }
  }

  /** Whether the set holds `v`. */
  has(v: Value): boolean {
    return this.#items.has(keyOf(v));
  }

  /** The number of elements. */
  get size(): number {
    return this.#items.size;
  }

  /** The elements in OPA's order. */
  sorted(): readonly Value[] {
    if (this.#sorted === undefined) this.#sorted = [...this.#items.values()].sort(compareValues);
    return this.#sorted;
  }

  /** The elements in insertion order (cheaper when order does not matter). */
  values(): IterableIterator<Value> {
    return this.#items.values();
  }

  /** The canonical key of the whole set. */
  canonical(): string {
    if (this.#key === undefined) {
      this.#key = "<" + [...this.#items.values()].map(canonical).sort().join(",") + ">";
    }
    return this.#key;
  }
}

/** An object: keys of any type, each once. Build with `set`, then treat as immutable. */
export class RegoObject {
  readonly #entries = new Map<unknown, [Value, Value]>();
  #sorted: [Value, Value][] | undefined;
  #key: string | undefined;

  /** Create an object from `[key, value]` pairs (a later pair replaces an earlier one). */
  constructor(entries?: Iterable<readonly [Value, Value]>) {
    if (entries !== undefined) { for (const [k, v] of entries) this.set(k, v); }
  }

  /** Set a key (while building). */
  set(key: Value, value: Value): void {
    this.#entries.set(keyOf(key), [key, value]);
    this.#sorted = undefined;
    this.#key = undefined;
  }

  /** Remove a key (while building). */
  delete(key: Value): void {
    if (this.#entries.delete(keyOf(key))) {
      this.#sorted = undefined;
      this.#key = undefined;
    }
  }

  /** The value at `key`, or undefined. */
  get(key: Value): Value | undefined {
    return this.#entries.get(keyOf(key))?.[1];
  }

  /** Whether `key` is present. */
  has(key: Value): boolean {
    return this.#entries.has(keyOf(key));
  }

  /** The number of keys. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entries sorted by key in OPA's order. */
  sorted(): readonly (readonly [Value, Value])[] {
    if (this.#sorted === undefined) {
      this.#sorted = [...this.#entries.values()].sort((a, b) => compareValues(a[0], b[0]));
    }
    return this.#sorted;
  }

  /** The entries in insertion order. */
  entries(): IterableIterator<readonly [Value, Value]> {
    return this.#entries.values();
  }

  /** The keys in OPA's order. */
  keys(): Value[] {
    return this.sorted().map((e) => e[0]);
  }

  /** The canonical key of the whole object. */
  canonical(): string {
    if (this.#key === undefined) {
      const parts = [...this.#entries.values()].map(([k, v]) => canonical(k) + ":" + canonical(v));
      this.#key = "{" + parts.sort().join(",") + "}";
    }
    return this.#key;
  }
}

/** An empty object, shared. */
export const EMPTY_OBJECT: RegoObject = new RegoObject();

/** An object with string keys, from a JS record. */
export function objectFrom(record: Record<string, Value>): RegoObject {
  return new RegoObject(Object.entries(record));
}

/**
 * An injective text form of a value: equal values (1 and 1.0) have equal forms. Strings are
 * JSON-quoted so that composite forms cannot collide.
 */
function canonical(v: Value): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
    case "bigint":
      return "#" + String(v);
    case "string":
      return JSON.stringify(v);
  }
  if (v instanceof RegoSet || v instanceof RegoObject) return v.canonical();
  let key = arrayKeys.get(v);
  if (key === undefined) {
    key = "[" + v.map(canonical).join(",") + "]";
    arrayKeys.set(v, key);
  }
  return key;
}

/**
 * The `Map` key of a value: primitives stand for themselves (a `Map` compares them by value),
 * composites by their canonical form behind a NUL prefix, which strings starting with NUL
 * also get so that no string can equal a composite's key.
 */
export function keyOf(v: Value): unknown {
  if (typeof v === "string") return v.charCodeAt(0) === 0 ? "\0s" + v : v;
  if (v === null || typeof v !== "object") return v;
  return "\0" + canonical(v);
}

/** The type names in OPA's order of types (`ast.Compare`), indexed by {@link typeRank}. */
const TYPE_NAMES: readonly TypeName[] = [
  "null",
  "boolean",
  "number",
  "string",
  "array",
  "object",
  "set",
];

/** A value's place in OPA's order of types: null < boolean < number < string < array < object < set. */
function typeRank(v: Value): number {
  if (v === null) return 0;
  switch (typeof v) {
    case "boolean":
      return 1;
    case "number":
    case "bigint":
      return 2;
    case "string":
      return 3;
  }
  if (v instanceof RegoSet) return 6;
  if (v instanceof RegoObject) return 5;
  return 4;
}

/** The Rego type name of a value. */
export function typeName(v: Value): TypeName {
  return TYPE_NAMES[typeRank(v)] as TypeName;
}

/** Compare two numbers. */
export function compareNumbers(a: RegoNumber, b: RegoNumber): number {
  if (typeof a === "number" && typeof b === "number") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
  // One bigint (|x| > 2^53) and one double: compare exactly via the double's integral part.
  const big = typeof a === "bigint" ? a : b as bigint;
  const dbl = typeof a === "number" ? a : b as number;
  let c: number;
  if (!Number.isFinite(dbl)) c = dbl > 0 ? -1 : 1;
  else {
    const floor = BigInt(Math.floor(dbl));
    c = big < floor ? -1 : big > floor ? 1 : (Number.isInteger(dbl) ? 0 : -1);
  }
  return typeof a === "bigint" ? c : -c;
}

/** Compare strings by Unicode code point, as Go compares UTF-8 bytes. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (0xD800-0xDFFF) encode code points above 0xFFFF: they sort after 0xE000-0xFFFF.
      const xs = x >= 0xd800 && x <= 0xdfff;
      const ys = y >= 0xd800 && y <= 0xdfff;
      if (xs !== ys) return xs ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Two sequences of values compared element by element, then by length. */
function compareSequences(x: readonly Value[], y: readonly Value[]): number {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(x[i] as Value, y[i] as Value);
    if (c !== 0) return c;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

/** OPA's total order over values. */
export function compareValues(a: Value, b: Value): number {
  if (a === b) return 0;
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return a === false ? -1 : 1;
    case 2:
      return compareNumbers(a as RegoNumber, b as RegoNumber);
    case 3:
      return compareStrings(a as string, b as string);
    case 4:
      return compareSequences(a as readonly Value[], b as readonly Value[]);
    case 5: {
      const x = (a as RegoObject).sorted();
      const y = (b as RegoObject).sorted();
      const n = Math.min(x.length, y.length);
      for (let i = 0; i < n; i++) {
        const [ka, va] = x[i] as [Value, Value];
        const [kb, vb] = y[i] as [Value, Value];
        const c = compareValues(ka, kb) || compareValues(va, vb);
        if (c !== 0) return c;
      }
      return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
    }
    default:
      // Sets compare as their sorted elements.
      return compareSequences((a as RegoSet).sorted(), (b as RegoSet).sorted());
  }
}

/** Value equality (numbers by value: `1 == 1.0`). */
export function equalValues(a: Value, b: Value): boolean {
  if (a === b) return true;
  const ta = typeof a;
  if (ta !== "object" || a === null || b === null || typeof b !== "object") {
    // Primitives: equal only when identical, since numbers are normalized.
    return false;
  }
  return keyOf(a) === keyOf(b);
}

/** Options for {@link fromJson}. */
export interface FromJsonOptions {
  /** Maximum nesting depth (default 1000). */
  readonly maxDepth?: number;
}

/**
 * Convert a JSON-like JS value (what `JSON.parse` returns, plus `bigint` for exact integers) to a
 * Rego value. Throws TypeError for anything else (functions, `undefined`, non-finite numbers,
 * class instances other than arrays and plain objects).
 */
export function fromJson(x: unknown, options: FromJsonOptions = {}): Value {
  const maxDepth = options.maxDepth ?? 1000;
  const go = (v: unknown, depth: number): Value => {
    if (depth > maxDepth) throw new RangeError(`Value nests deeper than ${maxDepth} levels`);
    if (v === null) return null;
    switch (typeof v) {
      case "boolean":
      case "string":
        return v;
      case "number":
        if (!Number.isFinite(v)) throw new TypeError(`Cannot convert ${v} to a Rego number`);
        return normalizeNumber(v);
      case "bigint":
        return normalizeNumber(v);
      case "object": {
        if (Array.isArray(v)) return v.map((e) => go(e, depth + 1));
        if (v instanceof RegoSet || v instanceof RegoObject) return v;
        const proto = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError("Cannot convert a class instance to a Rego value");
        }
        const obj = new RegoObject();
        for (const [k, e] of Object.entries(v)) obj.set(k, go(e, depth + 1));
        return obj;
      }
    }
    throw new TypeError(`Cannot convert a ${typeof v} to a Rego value`);
  };
  return go(x, 0);
}

/** A JSON value as `toJson` returns it (integers beyond 2^53 as `bigint`). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/**
 * Convert a Rego value to JSON the way `opa eval` prints it: sets become sorted arrays, object
 * keys are sorted, and non-string keys are replaced by their JSON text (`{1: "a"}` -> `{"1": "a"}`).
 * Integers beyond 2^53 stay exact as `bigint` (print them with {@link stringifyJson}).
 */
export function toJson(v: Value): JsonValue {
  if (v === null || typeof v !== "object") return v;
  if (v instanceof RegoSet) return v.sorted().map(toJson);
  if (v instanceof RegoObject) {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, e] of v.sorted()) {
      const key = typeof k === "string" ? k : stringifyJson(toJson(k));
      Object.defineProperty(out, key, {
        value: toJson(e),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v.map(toJson);
}

/** Options of {@link stringifyJson}. */
export interface StringifyOptions {
  /** Indentation per level; none gives compact output. */
  readonly indent?: string;
  /** Prefix of every line after the first (Go's `json.MarshalIndent` prefix). */
  readonly prefix?: string;
  /** Escape `<`, `>` and `&` as Go's encoder does (default true). */
  readonly escapeHtml?: boolean;
}

/** The text of a scalar, the same in JSON and in Rego source. */
function formatScalar(v: null | boolean | RegoNumber | string, escapeHtml: boolean): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "string":
      return quoteJsonString(v, escapeHtml);
    default:
      return formatNumber(v);
  }
}

/** JSON text of a JSON value, exact for bigints, with Go's `encoding/json` string escaping. */
export function stringifyJson(v: JsonValue, options: StringifyOptions = {}): string {
  const indent = options.indent ?? "";
  const prefix = options.prefix ?? "";
  const html = options.escapeHtml ?? true;
  const go = (x: JsonValue, level: number): string => {
    if (x === null || typeof x !== "object") return formatScalar(x, html);
    const nl = indent === "" ? "" : "\n" + prefix + indent.repeat(level + 1);
    const end = indent === "" ? "" : "\n" + prefix + indent.repeat(level);
    if (Array.isArray(x)) {
      if (x.length === 0) return "[]";
      return "[" + nl + x.map((e) => go(e, level + 1)).join("," + nl) + end + "]";
    }
    const keys = Object.keys(x);
    if (keys.length === 0) return "{}";
    const sep = indent === "" ? ":" : ": ";
    const parts = keys.map((k) =>
      quoteJsonString(k, html) + sep + go(x[k] as JsonValue, level + 1)
    );
    return "{" + nl + parts.join("," + nl) + end + "}";
  };
  return go(v, 0);
}

/** A JSON string literal, escaped as Go's `encoding/json` does. */
export function quoteJsonString(s: string, escapeHtml = true): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c < 0x20) {
      if (c === 0x0a) out += "\\n";
      else if (c === 0x0d) out += "\\r";
      else if (c === 0x09) out += "\\t";
      else out += "\\u" + c.toString(16).padStart(4, "0");
    } else if (escapeHtml && (c === 0x3c || c === 0x3e || c === 0x26)) {
      out += "\\u00" + c.toString(16);
    } else if (c === 0x2028 || c === 0x2029) out += "\\u" + c.toString(16);
    else if (c >= 0xd800 && c <= 0xdfff) {
      // A lone surrogate cannot be UTF-8: Go replaces it with U+FFFD.
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += ch + s[i + 1];
        i++;
      } else out += "\ufffd";
    } else out += ch;
  }
  return out + '"';
}

/**
 * A value as Rego source text (OPA's `Term.String()`), as `sprintf("%v")` and `print` show
 * composite values: `[1, "a"]`, `{"a": 1}`, `{1, 2}`, `set()`.
 */
export function formatValue(v: Value): string {
  if (v === null || typeof v !== "object") return formatScalar(v, false);
  if (v instanceof RegoSet) {
    if (v.size === 0) return "set()";
    return "{" + v.sorted().map(formatValue).join(", ") + "}";
  }
  if (v instanceof RegoObject) {
    return "{" + v.sorted().map(([k, e]) => formatValue(k) + ": " + formatValue(e)).join(", ") +
      "}";
  }
  return "[" + v.map(formatValue).join(", ") + "]";
}

/** Whether a value is "truthy" for a body expression: anything but `false`. */
export function isTruthy(v: Value): boolean {
  return v !== false;
}
