/**
 * A Rego policy engine (OPA's policy language), written from scratch in TypeScript: the
 * evaluator dcosign uses for `verify-attestation --policy x.rego` (cosign's Rego v0 policies)
 * and for policy-controller's Rego policies.
 *
 * Compile modules once with {@link compileRego}, then evaluate queries with
 * {@link RegoPolicy.evaluate}; {@link evaluateRego} does both in one call. Results have OPA's
 * shape (`[{expressions: [{value, text, location}], bindings}]`). Both syntax versions are
 * supported (`syntax: "v1"`, the default, or `"v0"`). Evaluation is bounded in steps, wall-clock
 * time and depth; failures are `RegoError`s (a `CosignError` with a POLICY code) that also carry
 * OPA's error code name and the source location.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluateRego } from "./mod.ts";
 *
 * const rs = evaluateRego(
 *   ['package authz\n\ndefault allow := false\n\nallow if "admin" in input.roles\n'],
 *   "data.authz.allow",
 *   { input: { roles: ["dev", "admin"] } },
 * );
 * assert.equal(rs[0]?.expressions[0]?.value, true);
 * ```
 *
 * @module
 */

export {
  compileRego,
  type CompileRegoOptions,
  type EvaluateOptions,
  evaluateRego,
  type RegoExpressionValue,
  type RegoModule,
  RegoPolicy,
  type RegoResult,
  type RegoResultSet,
  type RegoValueResult,
  stringifyResultSet,
} from "./policy.ts";
export {
  type PolicyErrorCode,
  RegoError,
  type RegoErrorCode,
  type SourceLocation,
} from "./errors.ts";
export type { EvalLimits } from "./eval.ts";
export type { RegoSyntax } from "./parser.ts";
export { CosignError, type ErrorArea, type ErrorCode } from "../../errors.ts";
export {
  compareValues,
  equalValues,
  formatValue,
  fromJson,
  type FromJsonOptions,
  type JsonValue,
  RegoObject,
  RegoSet,
  stringifyJson,
  type StringifyOptions,
  toJson,
  type Value,
} from "./value.ts";
