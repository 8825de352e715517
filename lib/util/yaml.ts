/**
 * Bounded YAML parsing (YAML 1.2 core schema) over `npm:yaml`, for policy files, OPA/regorus
 * conformance cases, ClusterImagePolicies and admission requests.
 *
 * Hostile input is bounded before and during parsing: the text size is checked first, alias
 * expansion is capped (the "billion laughs" attack), and duplicate keys are refused (two readers
 * could otherwise disagree on which value counts). Every parse failure is a `SyntaxError` whose
 * `cause` is the library's error.
 *
 * @module
 */

import { YAMLError, yamlParse, yamlStringify } from "./_deps.ts";

/** Options of {@link parseYaml}. */
export interface ParseYamlOptions {
  /** Largest input accepted, in UTF-16 code units (default 4 MiB); larger throws RangeError. */
  readonly maxBytes?: number;
  /** Most alias (`*name`) resolutions allowed (default 100). */
  readonly maxAliasCount?: number;
  /** Parse integers as `bigint` so that large ones stay exact (default false). */
  readonly intAsBigInt?: boolean;
  /** Return mappings as `Map`s, keeping non-string keys (`null:`, `1:`) as they are. */
  readonly mapAsMap?: boolean;
}

const DEFAULT_MAX = 4 << 20;

/**
 * Parse one YAML document into plain JS values (objects, arrays, strings, numbers, booleans,
 * null). Throws `SyntaxError` for malformed YAML, duplicate keys, several documents or too
 * many aliases, and `RangeError` for input over `maxBytes`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseYaml } from "./yaml.ts";
 *
 * assert.deepEqual(parseYaml("a: 1\nb: [x, y]\n"), { a: 1, b: ["x", "y"] });
 * assert.throws(() => parseYaml("a: 1\na: 2\n"), SyntaxError);
 * ```
 */
export function parseYaml(text: string, options: ParseYamlOptions = {}): unknown {
  const max = options.maxBytes ?? DEFAULT_MAX;
  if (text.length > max) throw new RangeError(`YAML input is larger than ${max} bytes`);
  let value: unknown;
  try {
    value = yamlParse(text, {
      schema: "core",
      uniqueKeys: true,
      maxAliasCount: options.maxAliasCount ?? 100,
      intAsBigInt: options.intAsBigInt ?? false,
      mapAsMap: options.mapAsMap ?? false,
      prettyErrors: false,
      merge: false,
    });
  } catch (e) {
    if (e instanceof YAMLError || e instanceof ReferenceError || e instanceof TypeError) {
      const message = e instanceof Error ? e.message.split("\n")[0] : String(e);
      throw new SyntaxError(`Invalid YAML: ${message}`, { cause: e });
    }
    throw e;
  }
  checkAcyclic(value, 0, new Set());
  return value;
}

/** Maximum nesting depth of a parsed document. */
const MAX_DEPTH = 1000;

/** A self-referencing alias (`a: &x [*x]`) parses to a cycle: refuse it, and bound the depth. */
function checkAcyclic(v: unknown, depth: number, path: Set<object>): void {
  if (v === null || typeof v !== "object") return;
  if (depth > MAX_DEPTH) {
    throw new SyntaxError(`Invalid YAML: nesting deeper than ${MAX_DEPTH} levels`);
  }
  if (path.has(v)) throw new SyntaxError("Invalid YAML: an alias refers to its own anchor");
  path.add(v);
  const kids = Array.isArray(v)
    ? v
    : v instanceof Map
    ? [...v.keys(), ...v.values()]
    : Object.values(v);
  for (const child of kids) checkAcyclic(child, depth + 1, path);
  path.delete(v);
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
