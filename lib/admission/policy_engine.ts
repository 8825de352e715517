/**
 * The policy programs a ClusterImagePolicy may carry (`attestations[].policy` and the spec-level
 * `policy`), behind one small interface: compile once when the policy is loaded, evaluate per
 * input. policy-controller evaluates them with cosign v3.0.5's `policy.EvaluatePolicyAgainstJSON`
 * (`pkg/policy/eval.go`), and the failure texts here are its texts:
 *
 * - `rego`: the module is Rego v0, `package sigstore`; the query is
 *   `isCompliant = data.sigstore.isCompliant`; a `true` binding passes, as does a partial set of
 *   `{"result", "error", "warning"}` objects one of which has `result: true`. Failing:
 *   `failed evaluating rego policy for type <name>: policy is not compliant for query
 *   'isCompliant = data.sigstore.isCompliant'[ with errors: <error>]`.
 * - `cue`: the input unified with the policy must validate. Failing: `failed evaluating cue
 *   policy for <name>: failed to evaluate the policy with error: <cue error>`.
 *
 * A warning from a compliant Rego result (`warning: <text>`) fails the policy, as it does in
 * policy-controller (its validator treats any warning from the evaluator as a failure).
 *
 * Neither evaluator is part of this build yet (the Rego engine and CUE come with issue 13): the
 * default engine compiles both kinds into programs that fail by name ("Rego policies are not
 * supported yet", "CUE policies are not supported yet"), so an image is never admitted by a
 * policy nothing evaluated. An engine is injected where the real evaluators exist.
 *
 * @module
 */

/** The outcome of evaluating a policy on one input. */
export type ProgramVerdict =
  | { readonly pass: true }
  | { readonly pass: false; readonly error: string };

/** A compiled policy program. */
export interface PolicyProgram {
  /** Evaluate on a JSON-like input (an in-toto statement, a PolicyResult document). */
  evaluate(input: unknown): Promise<ProgramVerdict>;
}

/** What a policy program is written in. */
export type PolicyLanguage = "cue" | "rego";

/** Compiles policy programs. */
export interface PolicyEngine {
  /**
   * Compile `source` for the attestation (or `ClusterImagePolicy`) called `name`. A program that
   * does not compile throws (`ADMISSION_POLICY_INVALID`): nothing is fetched for a policy that
   * cannot be evaluated.
   */
  compile(name: string, language: PolicyLanguage, source: string): PolicyProgram;
}

/** The Rego query policy-controller evaluates (cosign v3.0.5 `ValidateJSONWithModuleInput`). */
export const REGO_QUERY = "isCompliant = data.sigstore.isCompliant";

/** The failure of a language this build cannot evaluate, in cosign's words plus why. */
function unsupported(name: string, language: PolicyLanguage): PolicyProgram {
  const error = language === "cue"
    ? `failed evaluating cue policy for ${name}: CUE policies are not supported yet`
    : `failed evaluating rego policy for type ${name}: Rego policies are not supported yet`;
  return { evaluate: () => Promise.resolve({ pass: false, error }) };
}

/**
 * The engine of this build: every program fails by name until the evaluators are wired in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultPolicyEngine } from "./policy_engine.ts";
 *
 * const program = defaultPolicyEngine().compile("must-have-sbom", "cue", 'predicateType: "x"');
 * const verdict = await program.evaluate({ predicateType: "x" });
 * assert.equal(verdict.pass, false); // never admitted by a policy nothing evaluated
 * ```
 */
export function defaultPolicyEngine(): PolicyEngine {
  return { compile: (name, language) => unsupported(name, language) };
}
