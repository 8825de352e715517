/**
 * Bounded YAML parsing (YAML 1.2, core schema) over `npm:yaml`, for the files users write:
 * ClusterImagePolicies, Kubernetes manifests and resources, OPA's YAML test cases.
 *
 * Hostile input is bounded before and while parsing: the text length is checked first, the
 * number of documents and alias expansions are capped (the "billion laughs" attack), nesting depth
 * is limited, and duplicate keys are refused, since two readers could otherwise disagree on which
 * value counts. Every parse failure is a `SyntaxError` with the library's error as its `cause`.
 *
 * @module
 */

import { YAMLError, yamlParseAllDocuments, yamlStringify } from "./_deps.ts";

/** Options of {@link parseYaml} and {@link parseYamlDocuments}. */
export interface ParseYamlOptions {
  /** Longest input accepted, in UTF-16 code units (default 4 MiB); longer throws `RangeError`. */
  readonly maxBytes?: number;
  /** Most alias (`*name`) resolutions allowed per document (default 100). */
  readonly maxAliasCount?: number;
  /** Most documents in one stream (default 1,000; {@link parseYaml} allows one). */
  readonly maxDocuments?: number;
  /** Parse integers as `bigint` so that large ones stay exact (default false). */
  readonly intAsBigInt?: boolean;
  /**
   * Return mappings as `Map`s, keeping non-string keys (`null:`, `1:`) as they are (default
   * false: plain objects keyed by the keys' text, as `sigs.k8s.io/yaml` turns YAML into JSON).
   */
  readonly mapAsMap?: boolean;
}

const DEFAULT_MAX_BYTES = 4 << 20;
const DEFAULT_MAX_DOCUMENTS = 1000;
/** Deepest nesting a document may have. */
const MAX_DEPTH = 1000;

/**
 * Parse a stream of YAML documents (separated by `---`) into plain values, in order. Documents
 * with nothing in them (only comments, or `null`) are left out, as kubectl leaves them out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYamlDocuments } from "./yaml.ts";
 *
 * assert.deepEqual(parseYamlDocuments("a: 1\n---\nb: [x, y]\n"), [{ a: 1 }, { b: ["x", "y"] }]);
 * assert.throws(() => parseYamlDocuments("a: 1\na: 2\n"), SyntaxError); // duplicate key
 * ```
 */
export function parseYamlDocuments(text: string, options: ParseYamlOptions = {}): unknown[] {
  if (typeof text !== "string") throw new TypeError("YAML input must be a string");
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (text.length > maxBytes) {
    throw new RangeError(`YAML input is longer than the limit of ${maxBytes} characters`);
  }
  const maxDocuments = options.maxDocuments ?? DEFAULT_MAX_DOCUMENTS;
  let documents: ReturnType<typeof yamlParseAllDocuments>;
  try {
    documents = yamlParseAllDocuments(text, {
      schema: "core",
      uniqueKeys: true,
      prettyErrors: false,
      merge: false,
      intAsBigInt: options.intAsBigInt ?? false,
    });
  } catch (error) {
    throw invalid(error);
  }
  if (documents.length > maxDocuments) {
    throw new SyntaxError(
      `Invalid YAML: more than ${maxDocuments} document${maxDocuments === 1 ? "" : "s"}`,
    );
  }
  const values: unknown[] = [];
  for (const [index, document] of documents.entries()) {
    const error = document.errors[0];
    if (error) throw invalid(error, documents.length > 1 ? index : undefined);
    // A document holding only comments (or nothing) has no contents: there is nothing to read.
    if (document.contents === null) continue;
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: options.maxAliasCount ?? 100, mapAsMap: true });
    } catch (error) {
      throw invalid(error, documents.length > 1 ? index : undefined);
    }
    const plain = options.mapAsMap
      ? checkAcyclic(value, 0, new Set())
      : toPlain(value, 0, new Set());
    if (plain !== null && plain !== undefined) values.push(plain);
  }
  return values;
}

/**
 * Parse exactly one YAML document; a stream of several is a `SyntaxError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYaml } from "./yaml.ts";
 *
 * assert.deepEqual(parseYaml("name: demo\nports: [443]\n"), { name: "demo", ports: [443] });
 * ```
 */
export function parseYaml(text: string, options: ParseYamlOptions = {}): unknown {
  const values = parseYamlDocuments(text, { ...options, maxDocuments: 1 });
  return values.length === 0 ? null : values[0];
}

function invalid(error: unknown, document?: number): SyntaxError {
  const where = document === undefined ? "" : ` (document ${document + 1})`;
  if (error instanceof YAMLError || error instanceof ReferenceError || error instanceof TypeError) {
    const message = error.message.split("\n")[0] ?? error.name;
    return new SyntaxError(`Invalid YAML${where}: ${message}`, { cause: error });
  }
  if (error instanceof Error) {
    return new SyntaxError(`Invalid YAML${where}: ${error.message}`, { cause: error });
  }
  return new SyntaxError(`Invalid YAML${where}: ${String(error)}`);
}

/**
 * The JSON-like value of a parsed document: mappings become plain objects whose keys are the
 * scalar keys' text (as `sigs.k8s.io/yaml` turns YAML into JSON), and a collection used as a key,
 * two keys with the same text, a value containing itself through an alias (`a: &x [*x]`) or
 * nesting deeper than `MAX_DEPTH` are refused.
 */
function toPlain(value: unknown, depth: number, path: Set<object>): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) throw new SyntaxError(`Invalid YAML: nested deeper than ${MAX_DEPTH}`);
  if (path.has(value)) throw new SyntaxError("Invalid YAML: an alias refers to its own anchor");
  path.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => toPlain(item, depth + 1, path));
    if (value instanceof Set) throw new SyntaxError("Invalid YAML: sets (!!set) are not supported");
    if (!(value instanceof Map)) return value; // a Date or other scalar the schema built
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) {
      if (key !== null && typeof key === "object") {
        throw new SyntaxError("Invalid YAML: a mapping key is a collection");
      }
      const name = String(key);
      if (Object.hasOwn(out, name)) {
        throw new SyntaxError(`Invalid YAML: duplicate key "${name.slice(0, 80)}"`);
      }
      // defineProperty, not assignment: a "__proto__" key must stay an ordinary key.
      Object.defineProperty(out, name, {
        value: toPlain(item, depth + 1, path),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } finally {
    path.delete(value);
  }
}

/** `value` itself, once it is known to hold no cycle and to nest at most `MAX_DEPTH` deep. */
function checkAcyclic(value: unknown, depth: number, path: Set<object>): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > MAX_DEPTH) throw new SyntaxError(`Invalid YAML: nested deeper than ${MAX_DEPTH}`);
  if (path.has(value)) throw new SyntaxError("Invalid YAML: an alias refers to its own anchor");
  path.add(value);
  const children = Array.isArray(value)
    ? value
    : value instanceof Map
    ? [...value.keys(), ...value.values()]
    : Object.values(value);
  for (const child of children) checkAcyclic(child, depth + 1, path);
  path.delete(value);
  return value;
}

/**
 * YAML text of a JSON-like value, in the block style Go's `sigs.k8s.io/yaml` writes (sequences
 * not indented under their key, keys in the given order). Bigints are written as integers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { stringifyYaml } from "./yaml.ts";
 *
 * assert.equal(stringifyYaml({ foo: [1, 2] }), "foo:\n- 1\n- 2\n");
 * ```
 */
export function stringifyYaml(value: unknown): string {
  return yamlStringify(value, { indentSeq: false, lineWidth: 0 });
}
