/**
 * The JSON documents policies read, in the two forms the engines need: a JSON-like value for Rego
 * (integers exact, as Go's `json.Decoder.UseNumber()` keeps them for cosign's Rego input) and
 * JSON text for CUE (which compiles the text itself). Also Go's `%v` of a decoded JSON value,
 * which cosign's Rego failure message prints.
 *
 * @module
 */

import { CosignError } from "../errors.ts";

/** A document given to a policy: JSON bytes or text, or an already parsed JSON-like value. */
export type PolicyInput = Uint8Array | string | Readonly<Record<string, unknown>>;

/** Largest document read by default (the largest in-toto statement dcosign reads). */
export const MAX_DOCUMENT_BYTES = 64 << 20;

interface ReviverContext {
  readonly source?: string;
}

/** Parse JSON text keeping integers beyond 2^53 exact (as `bigint`). */
export function parseJsonExact(text: string, what: string): unknown {
  try {
    return JSON.parse(
      text,
      (_key: string, value: unknown, context?: ReviverContext) =>
        typeof value === "number" && !Number.isSafeInteger(value) &&
          context?.source !== undefined &&
          /^-?\d+$/.test(context.source)
          ? BigInt(context.source)
          : value,
    );
  } catch (error) {
    throw new CosignError("PAYLOAD_MALFORMED", `The ${what} is not JSON: ${String(error)}`, {
      cause: error,
    });
  }
}

function checkSize(size: number, max: number, what: string): void {
  if (size > max) {
    throw new CosignError("POLICY_TOO_LARGE", `The ${what} is larger than ${max} bytes`);
  }
}

/** The document as a JSON-like value (for Rego's `input`). */
export function documentValue(document: PolicyInput, what: string, max: number): unknown {
  if (typeof document === "string") {
    checkSize(document.length, max, what);
    return parseJsonExact(document, what);
  }
  if (document instanceof Uint8Array) {
    checkSize(document.byteLength, max, what);
    return parseJsonExact(new TextDecoder().decode(document), what);
  }
  return document;
}

/** `JSON.rawJSON` (ES2025 JSON.parse source text access; V8 has it, TypeScript's lib not yet). */
const rawJson = (JSON as unknown as { rawJSON: (text: string) => unknown }).rawJSON;

/** JSON text of a JSON-like value, bigints written as integers. */
export function stringifyDocument(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => typeof v === "bigint" ? rawJson(v.toString()) : v,
  ) ?? "null";
}

/** The document as JSON text (for CUE). */
export function documentText(document: PolicyInput, what: string, max: number): string {
  if (typeof document === "string") {
    checkSize(document.length, max, what);
    return document;
  }
  if (document instanceof Uint8Array) {
    checkSize(document.byteLength, max, what);
    return new TextDecoder().decode(document);
  }
  return stringifyDocument(document);
}

/**
 * Go's `fmt.Sprint` of a value `encoding/json` decoded (with `UseNumber`): `true`, `42`, `abc`,
 * `[a b]`, `map[k:v]`, `<nil>`. OPA's `ExpressionValue.String()` prints its value this way.
 */
export function formatGoValue(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return `[${value.map(formatGoValue).join(" ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}:${formatGoValue(v)}`);
    return `map[${entries.join(" ")}]`;
  }
  return String(value);
}
