/**
 * `policy eval QUERY`: `opa eval` over dcosign's Rego engine. Policies, input and data come
 * through `ctx.readFile` (bounded); the output is OPA's (`internal/presentation`): `--format
 * json` writes the result set as Go's JSON encoder indents it (`{"result": [...]}`, `{}` when
 * undefined), `values` one JSON array of expression values per result, `bindings` one JSON
 * object per result, `raw` the values on a line each (strings unquoted).
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { parseYaml } from "../../lib/util/yaml.ts";
import { parseJsonExact } from "../../lib/policy/documents.ts";
import {
  compileRego,
  type JsonValue,
  type RegoResultSet,
  stringifyJson,
} from "../../lib/policy/rego/mod.ts";
import type { CommandInput, CommandRun } from "../spec.ts";

/** Largest policy file (the engine's own cap on a module, so a larger file is never read). */
export const MAX_POLICY_FILE_BYTES = 1 << 20;

/** Largest input or data file. */
const MAX_DOCUMENT_BYTES = 64 << 20;

/** Most policy or data files. */
const MAX_FILES = 1000;

function usage(message: string): CosignError {
  return new CosignError("CLI_USAGE", message);
}

/** A JSON or YAML document: YAML by extension (as opa decides), else JSON, then YAML for `-`. */
async function readDocument(input: CommandInput, path: string, what: string): Promise<unknown> {
  const bytes = await input.ctx.readFile(path, { maxBytes: MAX_DOCUMENT_BYTES, what });
  const text = new TextDecoder().decode(bytes);
  const yaml = /\.ya?ml$/i.test(path);
  try {
    if (yaml) return parseYaml(text, { intAsBigInt: true, maxBytes: MAX_DOCUMENT_BYTES });
    return parseJsonExact(text, what);
  } catch (error) {
    if (path === "-" && !yaml) {
      try {
        return parseYaml(text, { intAsBigInt: true, maxBytes: MAX_DOCUMENT_BYTES });
      } catch {
        // report the JSON error below
      }
    }
    throw usage(
      `Cannot parse ${what} "${path}": ${error instanceof Error ? error.message : error}`,
    );
  }
}

function isObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

/** Merge data documents under `data`, as opa does; the same path in two files is an error. */
function mergeData(
  target: Record<string, unknown>,
  source: Record<string, unknown>,
  path: string,
): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (existing === undefined) {
      Object.defineProperty(target, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else if (isObject(existing) && isObject(value)) {
      mergeData(existing, value, `${path}.${key}`);
    } else {
      throw usage(`Conflicting data at ${path}.${key}: it is given by two --data files`);
    }
  }
}

/** Go's `json.Encoder` with two-space indentation, as `opa eval` writes. */
function encode(value: unknown): string {
  return `${stringifyJson(value as JsonValue, { indent: "  " })}\n`;
}

function render(format: string, rs: RegoResultSet): string {
  switch (format) {
    case "values":
      return rs.map((r) => encode(r.expressions.map((e) => e.value))).join("");
    case "bindings":
      return rs.map((r) => encode(r.bindings ?? {})).join("");
    case "raw":
      return rs.map((r) =>
        r.expressions.map((e) => typeof e.value === "string" ? e.value : stringifyJson(e.value))
          .join(" ") + "\n"
      ).join("");
    default:
      return encode(rs.length === 0 ? {} : { result: rs });
  }
}

/** `policy eval`: evaluate the query and print the result; the exit code as opa's. */
export const policyEval: CommandRun = async (input) => {
  const { flags, ctx, out } = input;
  const query = input.args[0]!;
  const format = flags.string("format") ?? "json";
  const paths = flags.list("policy");
  const dataPaths = flags.list("data");
  if (paths.length + dataPaths.length > MAX_FILES) {
    throw usage(`More than ${MAX_FILES} --policy and --data files`);
  }
  const modules = [];
  for (const path of paths) {
    const bytes = await ctx.readFile(path, { maxBytes: MAX_POLICY_FILE_BYTES, what: "policy" });
    modules.push({ name: path, source: new TextDecoder().decode(bytes) });
  }
  const data: Record<string, unknown> = {};
  for (const path of dataPaths) {
    const document = await readDocument(input, path, "data");
    if (!isObject(document)) throw usage(`The data in "${path}" is not an object`);
    mergeData(data, document, "data");
  }
  const inputPath = flags.string("input");
  const inputDocument = inputPath === undefined
    ? undefined
    : await readDocument(input, inputPath, "input");
  const policy = compileRego(modules, { syntax: flags.boolean("v0-compatible") ? "v0" : "v1" });
  const rs = policy.evaluate(query, {
    data,
    now: ctx.now(),
    strict: flags.boolean("strict-builtin-errors"),
    ...(inputDocument === undefined ? {} : { input: inputDocument }),
  });
  out.result(render(format, rs));
  if (flags.boolean("fail") && rs.length === 0) return 1;
  if (flags.boolean("fail-defined") && rs.length > 0) return 1;
  return 0;
};
