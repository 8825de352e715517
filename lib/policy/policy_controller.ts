/**
 * Policies as sigstore policy-controller evaluates them (`ClusterImagePolicy`
 * `spec.authorities[].attestations[].policy` and `spec.policy`): through cosign v3.0.5's
 * `pkg/policy.EvaluatePolicyAgainstJSON`, which this module follows, texts included.
 *
 * - `rego`: the source is the module `sigstore.rego`, Rego v0, queried with
 *   `isCompliant = data.sigstore.isCompliant` (`rego.ValidateJSONWithModuleInput`). A `true`
 *   binding passes. A set (or array) of `{"result": bool, "error": string, "warning": string}`
 *   objects passes when one has `result: true` (its warning, if any, is returned), and otherwise
 *   fails with the last error: `policy is not compliant for query '...' with errors: <error>`.
 *   Anything else: `policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'`.
 *   Failures read `failed evaluating rego policy for type <name>: <why>`.
 * - `cue`: `CompileString(policy).Unify(CompileBytes(json)).Validate()`, no concreteness
 *   required; failures read `failed evaluating cue policy for <name>: failed to evaluate the
 *   policy with error: <cue error>`.
 *
 * Unlike cosign, the policy compiles before any input is seen ({@link compilePolicyControllerPolicy}),
 * so an admission controller can refuse a ClusterImagePolicy whose policy cannot be evaluated.
 *
 * @module
 */

import { CosignError, errorMessage } from "../errors.ts";
import type { CueLimits, CuePolicy } from "./cue.ts";
import { compileRego, type EvalLimits, RegoError, type RegoPolicy } from "./rego/mod.ts";
import { documentText, documentValue, MAX_DOCUMENT_BYTES, type PolicyInput } from "./documents.ts";

/** The query cosign v3.0.5 `ValidateJSONWithModuleInput` evaluates. */
export const POLICY_CONTROLLER_QUERY = "isCompliant = data.sigstore.isCompliant";

/** The module name cosign gives the policy source. */
export const POLICY_CONTROLLER_MODULE = "sigstore.rego";

/** The outcome of one evaluation: pass or the error, and the Rego policy's warning if any. */
export type PolicyControllerVerdict =
  | { readonly pass: true; readonly warning?: string }
  | { readonly pass: false; readonly error: string; readonly warning?: string };

/** Options of {@link compilePolicyControllerPolicy} and its evaluations. */
export interface PolicyControllerOptions {
  /** The clock Rego's `time.now_ns` reads (default: now). */
  readonly now?: Date;
  /** Rego budgets (defaults: 1,000,000 steps, 1,000 ms, depth 200). */
  readonly regoLimits?: Partial<EvalLimits>;
  /** CUE budgets (see `lib/policy/cue.ts`). */
  readonly cueLimits?: Partial<CueLimits>;
  /** Largest input document, in bytes (default 64 MiB). */
  readonly maxInputBytes?: number;
}

/** A compiled policy-controller policy. */
export interface PolicyControllerProgram {
  /** The language it is written in. */
  readonly language: "rego" | "cue";
  /**
   * Evaluate on one document (an in-toto statement, a `PolicyResult`). Throws only when a
   * budget is exhausted (`POLICY_EVAL_LIMIT`) or the evaluator itself fails; a policy error is
   * a failing verdict, as in cosign.
   */
  evaluate(input: PolicyInput): Promise<PolicyControllerVerdict>;
}

const NOT_COMPLIANT = `policy is not compliant for query '${POLICY_CONTROLLER_QUERY}'`;

interface RuleResult {
  readonly result: boolean;
  readonly error: string;
  readonly warning: string;
}

/** Go's `json.Unmarshal` of one set member into cosign's `CosignRuleResult`. */
function ruleResult(item: unknown): RuleResult | string {
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    return "json: cannot unmarshal a non-object into Go value of type rego.CosignRuleResult";
  }
  const record = item as Record<string, unknown>;
  const field = (key: string, type: "boolean" | "string"): string | undefined =>
    record[key] === undefined || record[key] === null || typeof record[key] === type
      ? undefined
      : `json: cannot unmarshal ${typeof record[
        key
      ]} into Go struct field CosignRuleResult.${key} of type ${
        type === "boolean" ? "bool" : "string"
      }`;
  const problem = field("result", "boolean") ?? field("error", "string") ??
    field("warning", "string");
  if (problem) return problem;
  return {
    result: record.result === true,
    error: typeof record.error === "string" ? record.error : "",
    warning: typeof record.warning === "string" ? record.warning : "",
  };
}

/** cosign v3.0.5 `ValidateJSONWithModuleInput`: warning and error of one result set. */
function regoVerdict(name: string, bindings: readonly unknown[]): PolicyControllerVerdict {
  const fail = (why: string, warning?: string): PolicyControllerVerdict => ({
    pass: false,
    error: `failed evaluating rego policy for type ${name}: ${why}`,
    ...(warning ? { warning } : {}),
  });
  for (const binding of bindings) {
    if (Array.isArray(binding)) {
      // evaluateRegoEvalMapResult: the first compliant member wins; else the last member's error.
      let error = NOT_COMPLIANT;
      let warning = "";
      for (const item of binding) {
        const parsed = ruleResult(item);
        if (typeof parsed === "string") {
          return fail(`${NOT_COMPLIANT} due to parsing errors: ${parsed}`);
        }
        if (parsed.result) {
          return parsed.warning ? { pass: true, warning: parsed.warning } : { pass: true };
        }
        warning = parsed.warning;
        error = `${NOT_COMPLIANT} with errors: ${parsed.error}`;
      }
      return fail(error, warning);
    }
    if (binding === true) return { pass: true };
  }
  return fail(NOT_COMPLIANT);
}

function regoProgram(
  name: string,
  rego: RegoPolicy,
  options: PolicyControllerOptions,
): PolicyControllerProgram {
  return {
    language: "rego",
    evaluate(input) {
      try {
        const value = documentValue(input, "input", options.maxInputBytes ?? MAX_DOCUMENT_BYTES);
        const rs = rego.evaluate(POLICY_CONTROLLER_QUERY, {
          input: value,
          ...(options.now ? { now: options.now } : {}),
          ...(options.regoLimits ? { limits: options.regoLimits } : {}),
        });
        return Promise.resolve(regoVerdict(name, rs.map((r) => r.bindings?.isCompliant)));
      } catch (error) {
        if (error instanceof RegoError && error.code !== "POLICY_EVAL_LIMIT") {
          return Promise.resolve({
            pass: false,
            error: `failed evaluating rego policy for type ${name}: ${error.message}`,
          });
        }
        return Promise.reject(error);
      }
    },
  };
}

function cueProgram(
  name: string,
  cue: CuePolicy,
  options: PolicyControllerOptions,
): PolicyControllerProgram {
  return {
    language: "cue",
    async evaluate(input) {
      const text = documentText(input, "input", options.maxInputBytes ?? MAX_DOCUMENT_BYTES);
      const outcome = await cue.validate(
        text,
        options.cueLimits ? { limits: options.cueLimits } : {},
      );
      if (outcome.ok) return { pass: true };
      return {
        pass: false,
        error:
          `failed evaluating cue policy for ${name}: failed to evaluate the policy with error: ${outcome.message}`,
      };
    },
  };
}

/**
 * Compile a policy-controller policy for the attestation (or `ClusterImagePolicy`) called
 * `name`. A policy that does not compile throws a `CosignError` (`POLICY_PARSE_ERROR`,
 * `POLICY_COMPILE_ERROR`, `POLICY_TOO_LARGE`) whose message is cosign's
 * (`failed to compile the cue policy with error: ...` for CUE).
 *
 * @example A Rego v0 policy from a ClusterImagePolicy
 * ```ts
 * import assert from "node:assert/strict";
 * import { compilePolicyControllerPolicy } from "./policy_controller.ts";
 *
 * const program = await compilePolicyControllerPolicy("custom-match-predicate", "rego", `
 *   package sigstore
 *   default isCompliant = false
 *   isCompliant {
 *     input.predicateType == "https://cosign.sigstore.dev/attestation/v1"
 *     input.predicate.Data == "foobar e2e test"
 *   }
 * `);
 * const statement = {
 *   predicateType: "https://cosign.sigstore.dev/attestation/v1",
 *   predicate: { Data: "barfoo e2e test" },
 * };
 * assert.deepEqual(await program.evaluate(statement), {
 *   pass: false,
 *   error: "failed evaluating rego policy for type custom-match-predicate: " +
 *     "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'",
 * });
 * ```
 */
export async function compilePolicyControllerPolicy(
  name: string,
  language: "rego" | "cue",
  source: string,
  options: PolicyControllerOptions = {},
): Promise<PolicyControllerProgram> {
  if (language === "rego") {
    const rego = compileRego([{ name: POLICY_CONTROLLER_MODULE, source }], { syntax: "v0" });
    return regoProgram(name, rego, options);
  }
  const { compileCue } = await import("./cue.ts");
  let cue: CuePolicy;
  try {
    cue = await compileCue(
      [{ name: "policy.cue", source }],
      options.cueLimits ? { limits: options.cueLimits } : {},
    );
  } catch (error) {
    if (error instanceof CosignError && error.code === "POLICY_COMPILE_ERROR") {
      throw new CosignError(
        "POLICY_COMPILE_ERROR",
        `failed evaluating cue policy for ${name}: failed to compile the cue policy with error: ${
          errorMessage(error).replace(/^CUE policy "policy.cue" does not compile: /, "")
        }`,
        { cause: error },
      );
    }
    throw error;
  }
  return cueProgram(name, cue, options);
}

/**
 * Compile and evaluate a policy-controller policy in one call (cosign v3.0.5
 * `EvaluatePolicyAgainstJSON`): a policy that does not compile is a failing verdict here, as it
 * is there.
 *
 * @example The set-of-results form, with a warning
 * ```ts
 * import assert from "node:assert/strict";
 * import { evaluatePolicyControllerPolicy } from "./policy_controller.ts";
 *
 * const verdict = await evaluatePolicyControllerPolicy("ClusterImagePolicy", "rego", `
 *   package sigstore
 *   isCompliant[response] {
 *     response := {"result": count(input.signatures) > 0, "error": "", "warning": "old key"}
 *   }
 * `, { signatures: [{ subject: "me" }] });
 * assert.deepEqual(verdict, { pass: true, warning: "old key" });
 * ```
 */
export async function evaluatePolicyControllerPolicy(
  name: string,
  language: "rego" | "cue",
  source: string,
  input: PolicyInput,
  options: PolicyControllerOptions = {},
): Promise<PolicyControllerVerdict> {
  let program: PolicyControllerProgram;
  try {
    program = await compilePolicyControllerPolicy(name, language, source, options);
  } catch (error) {
    if (!(error instanceof CosignError) || error.code === "POLICY_CUE_FAILED") throw error;
    const message = errorMessage(error);
    return {
      pass: false,
      error: language === "cue"
        ? message
        : `failed evaluating rego policy for type ${name}: ${message}`,
    };
  }
  return await program.evaluate(input);
}
