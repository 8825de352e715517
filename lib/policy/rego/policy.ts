/**
 * The engine's entry points: compile Rego modules once ({@link compileRego}), evaluate queries
 * against them ({@link RegoPolicy.evaluate}) and get results in the shape `opa eval` and OPA's
 * `rego` package return.
 *
 * Query results follow OPA's `rego.ResultSet`: one result per solution, each with the value of
 * every query expression (in the order written) and the bindings of the query's named
 * variables. As OPA does, a query of one expression without iteration reports the
 * expression's value even when it is `false`; with several expressions (or iteration), a
 * `false` expression means no solution.
 *
 * @module
 */

import type { Body, Expr, Term } from "./ast.ts";
import { BUILTINS, UNSUPPORTED_BUILTINS } from "./builtins/index.ts";
import { type CompiledQuery, compileModules, type DataNode } from "./compile.ts";
import { limitError, RegoError, type SourceLocation } from "./errors.ts";
import { DEFAULT_LIMITS, type EvalLimits, Evaluator } from "./eval.ts";
import { parseModule, parseQuery, type RegoSyntax } from "./parser.ts";
import {
  fromJson,
  type JsonValue,
  RegoObject,
  stringifyJson,
  toJson,
  type Value,
} from "./value.ts";

/** A module to compile: a file name (used in error locations) and its source. */
export interface RegoModule {
  /** File name used in error locations (`policy.rego`). */
  readonly name: string;
  /** The Rego source text. */
  readonly source: string;
}

/** Options of {@link compileRego}. */
export interface CompileRegoOptions {
  /** Rego syntax version of the modules (default `"v1"`; cosign's policies are `"v0"`). */
  readonly syntax?: RegoSyntax;
  /** Largest module source accepted, in UTF-8 bytes (default 1 MiB); checked before lexing. */
  readonly maxSourceBytes?: number;
  /** Most modules accepted (default 1,000). */
  readonly maxModules?: number;
}

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** The input document (JSON-like: what `JSON.parse` returns; bigints for exact integers). */
  readonly input?: unknown;
  /** The base data document (an object), merged with the rules under `data`. */
  readonly data?: unknown;
  /** The clock `time.now_ns` reads: a Date, or nanoseconds since the epoch (default: now). */
  readonly now?: Date | bigint;
  /** Built-in errors abort evaluation (OPA's `strict-builtin-errors`); default false. */
  readonly strict?: boolean;
  /** Budgets (defaults: 1,000,000 steps, 1,000 ms, depth 200). */
  readonly limits?: Partial<EvalLimits>;
  /** Receives what `print()` writes, and where the call is (default: discarded). */
  readonly print?: (message: string, location: SourceLocation) => void;
  /** Random source for `rand.intn` (default `Math.random`). */
  readonly random?: () => number;
}

/** The value of one query expression in a result. */
export interface RegoExpressionValue {
  /** The value as JSON (sets as sorted arrays). */
  readonly value: JsonValue;
  /** The expression's source text. */
  readonly text: string;
  /** Where it is in the query. */
  readonly location: { readonly row: number; readonly col: number };
}

/** One solution of a query (OPA `rego.Result`). */
export interface RegoResult {
  /** The value of each query expression, in written order. */
  readonly expressions: RegoExpressionValue[];
  /** Values of the query's named variables; absent when it has none. */
  readonly bindings?: Record<string, JsonValue>;
}

/** All solutions of a query (`[]` when undefined). */
export type RegoResultSet = RegoResult[];

/** One solution as Rego values (sets stay sets): what {@link RegoPolicy.evaluateValues} returns. */
export interface RegoValueResult {
  /** The value of each query expression, in written order. */
  readonly expressions: Value[];
  /** The values of the query's named variables. */
  readonly bindings: ReadonlyMap<string, Value>;
}

const DEFAULT_MAX_SOURCE = 1 << 20;
const MAX_QUERY_CACHE = 256;

/** UTF-8 length of a string, without allocating. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

function checkSize(what: string, text: string, max: number): void {
  if (text.length > max || (text.length * 3 > max && utf8Length(text) > max)) {
    throw new RegoError("rego_parse_error", `${what} is larger than ${max} bytes`, {
      policyCode: "POLICY_TOO_LARGE",
    });
  }
}

/** Run a parse/compile step; a JS stack overflow (absurdly deep terms) becomes a RegoError. */
function guardStack<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError && /call stack/i.test(e.message)) {
      throw new RegoError("rego_compile_error", "policy is nested too deeply to compile", {
        policyCode: "POLICY_TOO_LARGE",
        cause: e,
      });
    }
    throw e;
  }
}

/** Whether a query iterates (a reference selects with a variable), as OPA's `iteration()`. */
function iterates(body: Body): boolean {
  const term = (t: Term): boolean => {
    switch (t.t) {
      case "ref":
        return t.path.some((p) => p.t === "var") || term(t.head) || t.path.some(term);
      case "call":
        return t.args.some(term);
      case "array":
      case "set":
        return t.items.some(term);
      case "object":
        return t.entries.some(([k, v]) => term(k) || term(v));
      default:
        return false;
    }
  };
  const expr = (e: Expr): boolean => {
    switch (e.k) {
      case "term":
        return term(e.term);
      case "callout":
        return term(e.call) || term(e.output);
      case "unify":
      case "assign":
        return term(e.lhs) || term(e.rhs);
      case "somein":
        return true;
      case "every":
        return term(e.domain);
      case "some":
        return false;
    }
  };
  return body.some(expr);
}

function toNs(now: Date | bigint | undefined): bigint {
  if (typeof now === "bigint") return now;
  const ms = now === undefined ? Date.now() : now.getTime();
  if (!Number.isFinite(ms)) throw new RangeError("now is not a valid date");
  return BigInt(Math.trunc(ms)) * 1_000_000n;
}

interface PreparedQuery {
  readonly compiled: CompiledQuery;
  /** The expressions in written order. */
  readonly written: readonly Expr[];
  readonly check: boolean;
}

/**
 * Compiled Rego modules, ready to evaluate queries. Create with {@link compileRego}.
 *
 * @example Evaluate a v1 policy
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRego } from "./mod.ts";
 *
 * const policy = compileRego([{
 *   name: "example.rego",
 *   source: 'package example\n\nallow if input.user == "alice"\n',
 * }]);
 * const rs = policy.evaluate("data.example.allow", { input: { user: "alice" } });
 * assert.deepEqual(rs.map((r) => r.expressions[0]?.value), [true]);
 * assert.deepEqual(policy.evaluate("data.example.allow", { input: { user: "bob" } }), []);
 * ```
 */
export class RegoPolicy {
  readonly #root: DataNode;
  readonly #syntax: RegoSyntax;
  readonly #compileQuery: (body: Body) => CompiledQuery;
  readonly #queries = new Map<string, PreparedQuery>();

  /** @internal Use {@link compileRego}. */
  constructor(root: DataNode, syntax: RegoSyntax, compileQuery: (body: Body) => CompiledQuery) {
    this.#root = root;
    this.#syntax = syntax;
    this.#compileQuery = compileQuery;
  }

  #prepare(query: string): PreparedQuery {
    const cached = this.#queries.get(query);
    if (cached !== undefined) return cached;
    checkSize("The query", query, DEFAULT_MAX_SOURCE);
    const compiled = guardStack(() =>
      this.#compileQuery(parseQuery(query, "query", { syntax: "v1" }))
    );
    const written = [...compiled.written];
    const prepared: PreparedQuery = {
      compiled,
      written,
      check: written.length > 1 || iterates(written),
    };
    if (this.#queries.size >= MAX_QUERY_CACHE) this.#queries.clear();
    this.#queries.set(query, prepared);
    return prepared;
  }

  /**
   * Evaluate a query and return its solutions as Rego values (sets stay sets, objects may have
   * non-string keys). {@link RegoPolicy.evaluate} returns the same as JSON.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { compileRego, RegoSet } from "./mod.ts";
   *
   * const policy = compileRego(["package p\n\ns contains x if some x in [3, 1, 3]\n"]);
   * const [result] = policy.evaluateValues("data.p.s");
   * assert.ok(result?.expressions[0] instanceof RegoSet);
   * ```
   */
  evaluateValues(query: string, options: EvaluateOptions = {}): RegoValueResult[] {
    const prepared = this.#prepare(query);
    const data = options.data === undefined ? new RegoObject() : fromJson(options.data);
    if (!(data instanceof RegoObject)) throw new TypeError("data must be an object");
    const input = options.input === undefined ? undefined : fromJson(options.input);
    const limits: EvalLimits = { ...DEFAULT_LIMITS, ...options.limits };
    const ev = new Evaluator({
      root: this.#root,
      data,
      input,
      builtins: BUILTINS,
      strict: options.strict ?? false,
      nowNs: toNs(options.now),
      limits,
      print: options.print ?? (() => {}),
      random: options.random ?? Math.random,
    });
    const { compiled, written, check } = prepared;
    const frame: (Value | undefined)[] = new Array(compiled.nslots);
    const values = new Map<Expr, Value>();
    const results: RegoValueResult[] = [];
    const ctx = ev.rootCtx();
    const go = (i: number): boolean => {
      if (i >= compiled.body.length) {
        const bindings = new Map<string, Value>();
        for (const v of compiled.vars) {
          const b = frame[v.slot];
          if (b !== undefined) bindings.set(v.name, b);
        }
        results.push({ expressions: written.map((e) => values.get(e) ?? true), bindings });
        return false;
      }
      const e = compiled.body[i] as Expr;
      return ev.evalExpr(e, frame, ctx, (v) => {
        if (check && v === false) return false;
        values.set(e, v);
        return go(i + 1);
      });
    };
    try {
      go(0);
    } catch (e) {
      if (e instanceof RegoError) throw e;
      if (e instanceof RangeError && /call stack/i.test(e.message)) {
        throw limitError("evaluation exceeded the maximum stack depth");
      }
      throw new RegoError(
        "eval_internal_error",
        `internal error: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    return results;
  }

  /**
   * Evaluate a query: OPA's result set, values as JSON (see {@link toJson}).
   *
   * @example Bindings of query variables
   * ```ts
   * import assert from "node:assert/strict";
   * import { compileRego } from "./mod.ts";
   *
   * const policy = compileRego(["package t\n\nq[k] := v if some k, v in input\n"]);
   * const rs = policy.evaluate("x = data.t.q", { input: { a: 1 } });
   * assert.deepEqual(rs[0]?.bindings, { x: { a: 1 } });
   * ```
   */
  evaluate(query: string, options: EvaluateOptions = {}): RegoResultSet {
    const prepared = this.#prepare(query);
    return this.evaluateValues(query, options).map((r) => {
      const expressions = prepared.written.map((e, i) => ({
        value: toJson(r.expressions[i] ?? true),
        text: e.text,
        location: { row: e.loc.row, col: e.loc.col },
      }));
      if (r.bindings.size === 0) return { expressions };
      const bindings: Record<string, JsonValue> = {};
      for (const [k, v] of r.bindings) bindings[k] = toJson(v);
      return { expressions, bindings };
    });
  }

  /** The syntax version the modules were compiled with. */
  get syntax(): RegoSyntax {
    return this.#syntax;
  }
}

/**
 * Parse and compile Rego modules. Modules are `{name, source}` pairs, or bare sources (named
 * `module-<i>.rego`). Throws a `RegoError` (a `CosignError` with a POLICY code) on a syntax or
 * compile error, or POLICY_TOO_LARGE for a source over `maxSourceBytes`.
 *
 * @example A v0 policy, as cosign's `verify-attestation --policy` runs it
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileRego } from "./mod.ts";
 *
 * const policy = compileRego([
 *   'package signature\n\nallow {\n  input.predicateType == "https://cosign.sigstore.dev/attestation/v1"\n}\n',
 * ], { syntax: "v0" });
 * const rs = policy.evaluate("data.signature.allow", {
 *   input: { predicateType: "https://cosign.sigstore.dev/attestation/v1" },
 * });
 * assert.equal(rs[0]?.expressions[0]?.value, true);
 * ```
 */
export function compileRego(
  modules: readonly (RegoModule | string)[],
  options: CompileRegoOptions = {},
): RegoPolicy {
  const syntax = options.syntax ?? "v1";
  const maxBytes = options.maxSourceBytes ?? DEFAULT_MAX_SOURCE;
  const maxModules = options.maxModules ?? 1000;
  if (modules.length > maxModules) {
    throw new RegoError("rego_parse_error", `more than ${maxModules} modules`, {
      policyCode: "POLICY_TOO_LARGE",
    });
  }
  return guardStack(() => {
    const parsed = modules.map((m, i) => {
      const mod = typeof m === "string" ? { name: `module-${i}.rego`, source: m } : m;
      checkSize(`Module "${mod.name}"`, mod.source, maxBytes);
      return parseModule(mod.source, mod.name, { syntax });
    });
    const compiled = compileModules(parsed, {
      syntax,
      builtins: BUILTINS,
      unsupported: UNSUPPORTED_BUILTINS,
    });
    return new RegoPolicy(compiled.root, syntax, (body) => compiled.compileQuery(body));
  });
}

/**
 * A result set as `opa eval --format json` prints it: `{"result": [...]}` (or `{}` when the
 * query is undefined), two-space indented, integers beyond 2^53 written exactly.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateRego, stringifyResultSet } from "./mod.ts";
 *
 * const rs = evaluateRego(["package t\n\ns := {2, 1}\n"], "data.t.s");
 * assert.equal(
 *   stringifyResultSet(rs, { indent: "" }),
 *   '{"result":[{"expressions":[{"value":[1,2],"text":"data.t.s","location":{"row":1,"col":1}}]}]}',
 * );
 * ```
 */
export function stringifyResultSet(
  rs: RegoResultSet,
  options: { readonly indent?: string } = {},
): string {
  if (rs.length === 0) return "{}";
  const result: JsonValue = rs.map((r) => {
    const out: { [key: string]: JsonValue } = {
      expressions: r.expressions.map((e) => ({
        value: e.value,
        text: e.text,
        location: { ...e.location },
      })),
    };
    if (r.bindings !== undefined) out.bindings = r.bindings;
    return out;
  });
  return stringifyJson({ result }, { indent: options.indent ?? "  ", escapeHtml: false });
}

/**
 * Compile `modules` and evaluate one query (a convenience for one-off checks; compile once with
 * {@link compileRego} to evaluate many times).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateRego } from "./mod.ts";
 *
 * const rs = evaluateRego(["package t\n\nn := count(input.xs)\n"], "data.t.n", { input: { xs: [1, 2] } });
 * assert.equal(rs[0]?.expressions[0]?.value, 2);
 * ```
 */
export function evaluateRego(
  modules: readonly (RegoModule | string)[],
  query: string,
  options: EvaluateOptions & CompileRegoOptions = {},
): RegoResultSet {
  return compileRego(modules, options).evaluate(query, options);
}
