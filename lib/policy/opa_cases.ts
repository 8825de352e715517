/**
 * Test cases in OPA's YAML format (`test/cases/testdata/**` in open-policy-agent/opa), the format
 * `dcosign policy test` runs and the one runner of them (the conformance test runs OPA's corpus
 * through it, and regorus's cases through an adapter over {@link evaluateOpaCase}).
 *
 * A file is `cases: [...]`, each case a `note`, a `query`, `modules` (Rego sources, named
 * `test-<i>.rego` as OPA's runner names them), `data`, `input` (or `input_term`, a Rego term
 * evaluated to give the input), and the expectation: `want_result` (a list of binding maps, one
 * per result, compared as a multiset; sets as arrays, in order after sorting when `sort_bindings`
 * is set) or `want_error_code` / `want_error` (OPA's error code name, a substring of the
 * message); `strict_error` turns built-in errors into failures.
 *
 * OPA picks the syntax by folder (`testdata/v0`, `testdata/v1`) and has no way to skip a case;
 * a corpus that mixes syntaxes or holds cases known to be wrong says so in an exceptions file
 * ({@link parseOpaCaseExceptions}): the files written in Rego v0, and the cases skipped, each
 * with its reason.
 *
 * @module
 */

import { parseYaml } from "../util/yaml.ts";
import {
  compareValues,
  compileRego,
  equalValues,
  fromJson,
  RegoError,
  RegoObject,
  type RegoSyntax,
  type RegoValueResult,
  type SourceLocation,
  stringifyJson,
  toJson,
  type Value,
} from "./rego/mod.ts";

/** One case of a case file. */
export interface OpaCase {
  /** `note`: the case's name (`<category>/<name>`). */
  readonly note: string;
  readonly query: string;
  readonly modules: readonly string[];
  /** The base document: JSON-like, or Rego values (sets, objects with non-string keys). */
  readonly data?: unknown;
  /** The input document, as `data`. */
  readonly input?: unknown;
  /** A Rego term whose value is the input. */
  readonly inputTerm?: string;
  /** Binding maps, one per result. */
  readonly wantResult?: readonly unknown[];
  readonly wantErrorCode?: string;
  readonly wantError?: string;
  readonly sortBindings: boolean;
  readonly strictError: boolean;
}

/** Options of {@link parseOpaCases}. */
export interface ParseOpaCasesOptions {
  /** Largest file, in UTF-16 code units (default 4 MiB). */
  readonly maxBytes?: number;
  /** Most cases in a file (default 10,000). */
  readonly maxCases?: number;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === "object" && !Array.isArray(x);
}

function optionalString(c: Record<string, unknown>, key: string, where: string) {
  const value = c[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new SyntaxError(`${where}: "${key}" is not a string`);
  return value;
}

/**
 * Parse a case file. Throws `SyntaxError` for YAML that does not parse or does not have OPA's
 * shape (`cases`, each with a `query`), `RangeError` past the size caps.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOpaCases } from "./opa_cases.ts";
 *
 * const [only] = parseOpaCases(`
 * cases:
 *   - note: example/allow
 *     modules: ["package x\\n\\nallow if input.ok\\n"]
 *     query: data.x.allow = y
 *     input: {ok: true}
 *     want_result: [{y: true}]
 * `);
 * assert.equal(only?.note, "example/allow");
 * ```
 */
export function parseOpaCases(text: string, options: ParseOpaCasesOptions = {}): OpaCase[] {
  const doc = parseYaml(text, { intAsBigInt: true, maxBytes: options.maxBytes ?? 4 << 20 });
  if (!isRecord(doc) || !Array.isArray(doc.cases)) {
    throw new SyntaxError('Not an OPA case file: no "cases" list');
  }
  const max = options.maxCases ?? 10_000;
  if (doc.cases.length > max) throw new RangeError(`More than ${max} cases in one file`);
  return doc.cases.map((c, i): OpaCase => {
    const where = `case ${i + 1}`;
    if (!isRecord(c)) throw new SyntaxError(`${where} is not a map`);
    const query = optionalString(c, "query", where);
    if (query === undefined) throw new SyntaxError(`${where} has no "query"`);
    const modules = c.modules ?? [];
    if (!Array.isArray(modules) || modules.some((m) => typeof m !== "string")) {
      throw new SyntaxError(`${where}: "modules" is not a list of strings`);
    }
    if (c.want_result !== undefined && !Array.isArray(c.want_result)) {
      throw new SyntaxError(`${where}: "want_result" is not a list`);
    }
    const inputTerm = optionalString(c, "input_term", where);
    const wantErrorCode = optionalString(c, "want_error_code", where);
    const wantError = optionalString(c, "want_error", where);
    return {
      note: optionalString(c, "note", where) ?? where,
      query,
      modules: modules as string[],
      ...(c.data === undefined || c.data === null ? {} : { data: c.data }),
      ...(c.input === undefined ? {} : { input: c.input }),
      ...(inputTerm === undefined ? {} : { inputTerm }),
      ...(c.want_result === undefined ? {} : { wantResult: c.want_result as unknown[] }),
      ...(wantErrorCode === undefined ? {} : { wantErrorCode }),
      ...(wantError === undefined ? {} : { wantError }),
      sortBindings: c.sort_bindings === true,
      strictError: c.strict_error === true,
    };
  });
}

/** Options of {@link evaluateOpaCase}. */
export interface EvaluateOpaCaseOptions {
  /** Syntax of the modules (default `"v1"`, as OPA's v1 cases). */
  readonly syntax?: RegoSyntax;
  /** The clock `time.now_ns` reads: a Date or nanoseconds since the epoch (default: now). */
  readonly now?: Date | bigint;
  /** The file name of module `index` in error locations (default `test-<index>.rego`). */
  readonly moduleName?: (index: number) => string;
  /** Receives what `print()` writes (default: discarded). */
  readonly print?: (message: string, location: SourceLocation) => void;
}

/**
 * Compile a case's modules and evaluate its query, without looking at the expectation: the
 * results as Rego values, or the `RegoError` thrown. {@link runOpaCase} compares them with the
 * case's expectation; other harnesses (regorus's) compare them their own way.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateOpaCase, parseOpaCases } from "./opa_cases.ts";
 *
 * const [c] = parseOpaCases('cases: [{note: t/sum, query: "x := sum([1, 2])"}]');
 * assert.equal(evaluateOpaCase(c!)[0]?.bindings.get("x"), 3);
 * ```
 */
export function evaluateOpaCase(
  c: OpaCase,
  options: EvaluateOpaCaseOptions = {},
): RegoValueResult[] {
  const name = options.moduleName ?? ((i: number) => `test-${i}.rego`);
  const policy = compileRego(
    c.modules.map((source, i) => ({ name: name(i), source })),
    { syntax: options.syntax ?? "v1" },
  );
  let input = c.input;
  if (c.inputTerm !== undefined) {
    const [term] = policy.evaluateValues(`__input__ := ${c.inputTerm}`);
    input = term?.bindings.get("__input__");
  }
  return policy.evaluateValues(c.query, {
    data: c.data ?? {},
    strict: c.strictError,
    ...(input === undefined ? {} : { input }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.print === undefined ? {} : { print: options.print }),
  });
}

/** Options of {@link runOpaCase}. */
export interface RunOpaCaseOptions extends EvaluateOpaCaseOptions {
  /** Do not run the case, for this reason (from an exceptions file): the outcome is a skip. */
  readonly skip?: string;
}

/** The outcome of one case: `reason` says why it failed or was skipped. */
export type OpaCaseOutcome =
  | { readonly note: string; readonly status: "pass" }
  | { readonly note: string; readonly status: "fail" | "skip"; readonly reason: string };

function sortArrays(v: Value): Value {
  return Array.isArray(v) ? [...v].sort(compareValues) : v;
}

function show(values: Value[]): string {
  const text = stringifyJson(values.map(toJson));
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/**
 * Run one case and compare with its expectation, as OPA's case runner does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOpaCases, runOpaCase } from "./opa_cases.ts";
 *
 * const [c] = parseOpaCases(`
 * cases:
 *   - note: example/count
 *     modules: ["package x\\n\\nn := count(input.xs)\\n"]
 *     query: data.x.n = n
 *     input: {xs: [1, 2, 3]}
 *     want_result: [{n: 2}]
 * `);
 * const outcome = runOpaCase(c!);
 * assert.equal(outcome.status, "fail");
 * assert.match("reason" in outcome ? outcome.reason : "", /got \[\{"n":3\}\], want \[\{"n":2\}\]/);
 * ```
 */
export function runOpaCase(c: OpaCase, options: RunOpaCaseOptions = {}): OpaCaseOutcome {
  if (options.skip !== undefined) return { note: c.note, status: "skip", reason: options.skip };
  const fail = (reason: string): OpaCaseOutcome => ({ note: c.note, status: "fail", reason });
  const expectError = c.wantErrorCode !== undefined || c.wantError !== undefined;
  let results: Value[];
  try {
    results = evaluateOpaCase(c, options).map((r) =>
      new RegoObject(
        [...r.bindings].map(([k, v]) => {
          const json = fromJson(toJson(v));
          return [k, c.sortBindings ? sortArrays(json) : json] as [Value, Value];
        }),
      )
    );
  } catch (error) {
    if (!expectError) {
      return fail(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (!(error instanceof RegoError)) return fail(`unexpected failure: ${String(error)}`);
    if (c.wantErrorCode !== undefined && error.regoCode !== c.wantErrorCode) {
      return fail(`error code ${error.regoCode}, want ${c.wantErrorCode}: ${error.message}`);
    }
    if (c.wantError !== undefined && !error.message.includes(c.wantError)) {
      return fail(`error "${error.message}" does not contain "${c.wantError}"`);
    }
    return { note: c.note, status: "pass" };
  }
  if (expectError) {
    return fail(`want error ${c.wantErrorCode ?? c.wantError}, got ${show(results)}`);
  }
  if (c.wantResult === undefined) return fail("the case has neither want_result nor want_error");
  let want: Value[];
  try {
    want = c.wantResult.map((w) => {
      const value = fromJson(w);
      if (!(value instanceof RegoObject)) throw new TypeError("an entry is not a map");
      return new RegoObject(
        value.sorted().map(([k, v]) => [String(k), c.sortBindings ? sortArrays(v) : v]),
      );
    });
  } catch (error) {
    return fail(`want_result is malformed: ${error instanceof Error ? error.message : error}`);
  }
  const got = [...results].sort(compareValues);
  const wanted = [...want].sort(compareValues);
  if (got.length !== wanted.length || got.some((g, i) => !equalValues(g, wanted[i] as Value))) {
    return fail(`got ${show(results)}, want ${show(want)}`);
  }
  return { note: c.note, status: "pass" };
}
