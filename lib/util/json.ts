/**
 * Reading untrusted JSON: parse through `unknown` with the strict reader (strict_json.ts: a
 * duplicate key is an error, never "the last one wins"), then narrow with guards that name the
 * path of the offending field. Every failure is a `SyntaxError` (callers wrap it in their area's
 * code); nothing here crashes on hostile input, and arrays are bounded before they are walked.
 *
 * @module
 */

import { type Bytes, fromBase64, fromUtf8 } from "./bytes.ts";
import { parseStrictJson, type StrictJsonOptions } from "./strict_json.ts";

/** A JSON object. */
export type JsonRecord = Record<string, unknown>;

/**
 * Parse JSON text or UTF-8 bytes strictly (`parseStrictJson`: duplicate keys, lone surrogates
 * and runaway nesting refused); `what` names the document in the error.
 */
export function parseJson(
  input: string | Uint8Array,
  what: string,
  options: StrictJsonOptions = {},
): unknown {
  try {
    const text = typeof input === "string" ? input : fromUtf8(input);
    return parseStrictJson(text, options);
  } catch (cause) {
    throw new SyntaxError(`Invalid JSON in ${what}: ${(cause as Error).message}`, { cause });
  }
}

/** The value as an object (not an array, not null). */
export function asRecord(value: unknown, path: string): JsonRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SyntaxError(`${path}: expected an object`);
  }
  return value as JsonRecord;
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The value as a string. */
export function asString(value: unknown, path: string): string {
  if (typeof value !== "string") throw new SyntaxError(`${path}: expected a string`);
  return value;
}

/** The value as a non-empty string. */
export function asNonEmptyString(value: unknown, path: string): string {
  const text = asString(value, path);
  if (text === "") throw new SyntaxError(`${path}: must not be empty`);
  return text;
}

/** The value as a string, or undefined when absent (`undefined` or `null`). */
export function asOptionalString(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : asString(value, path);
}

/** The value as a boolean. */
export function asBoolean(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new SyntaxError(`${path}: expected a boolean`);
  return value;
}

/** The value as an array of at most `max` items. */
export function asArray(value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new SyntaxError(`${path}: expected an array`);
  if (value.length > max) throw new SyntaxError(`${path}: more than ${max} items`);
  return value;
}

/** The value as an array, or `[]` when absent. */
export function asOptionalArray(value: unknown, path: string, max: number): unknown[] {
  return value === undefined || value === null ? [] : asArray(value, path, max);
}

/** A safe integer given as a JSON number. */
export function asSafeInteger(value: unknown, path: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new SyntaxError(`${path}: expected an integer`);
  }
  return value;
}

/**
 * A protobuf-JSON int64/uint64: a decimal string or a number (cosign-spec.md conventions),
 * returned exactly as a bigint. Numbers beyond 2^53 are refused: JSON.parse already rounded them.
 */
export function asInt64(value: unknown, path: string): bigint {
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new SyntaxError(`${path}: integer is not exact`);
    return BigInt(value);
  }
  if (typeof value !== "string" || !/^-?\d{1,20}$/.test(value)) {
    throw new SyntaxError(`${path}: expected an integer string`);
  }
  const result = BigInt(value);
  if (result > 0xffff_ffff_ffff_ffffn || result < -(1n << 63n)) {
    throw new SyntaxError(`${path}: integer out of 64-bit range`);
  }
  return result;
}

/** A base64 string decoded to bytes. */
export function asBase64(value: unknown, path: string): Bytes {
  const text = asString(value, path);
  try {
    return fromBase64(text);
  } catch (cause) {
    throw new SyntaxError(`${path}: invalid base64`, { cause });
  }
}

/** An RFC 3339 timestamp as a Date. */
export function asTimestamp(value: unknown, path: string): Date {
  const text = asString(value, path);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw new SyntaxError(`${path}: expected an RFC 3339 timestamp`);
  }
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new SyntaxError(`${path}: invalid timestamp`);
  return date;
}

/**
 * A base64 string decoded the way Go decodes JSON `[]byte` and protobuf-JSON `bytes`: `\r` and
 * `\n` are skipped, so MIME-wrapped values (as `base64` prints them) are accepted; real bundles
 * carry them (conformance `rekor2-timestamp-with-incorrect-time_fail`).
 */
export function asWrappedBase64(value: unknown, path: string): Bytes {
  const text = asString(value, path);
  return asBase64(/[\r\n]/.test(text) ? text.replace(/[\r\n]/g, "") : text, path);
}

/**
 * The value as an object in which each of `fields` has a single spelling. Go's `encoding/json`
 * matches field names case-blind (the last match wins) and protojson also accepts the proto
 * names (`tlog_entries` for `tlogEntries`), so a second spelling could make a Go reader see
 * another value than we do: it throws instead of being ignored.
 */
export function asStrictRecord(
  value: unknown,
  path: string,
  fields: readonly string[],
): JsonRecord {
  const record = asRecord(value, path);
  const wanted = new Map(fields.map((field) => [foldFieldName(field), field]));
  for (const key of Object.keys(record)) {
    const field = wanted.get(foldFieldName(key));
    if (field !== undefined && key !== field) {
      throw new SyntaxError(`${path}: field "${key}" is another spelling of "${field}"`);
    }
  }
  return record;
}

/** Go's case folding (simple folds such as U+017F to "s" included), underscores ignored. */
function foldFieldName(name: string): string {
  return name.toUpperCase().toLowerCase().replaceAll("_", "");
}
