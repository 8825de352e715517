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
 * policy nothing evaluated. {@link createPolicyEngine} takes the evaluators that exist: given a
 * Rego compiler (the shape of `lib/policy/rego`'s `compileRego`), it compiles Rego v0 modules when
 * the policy is loaded and interprets their results as cosign v3.0.5 does.
 *
 * @module
 */

import { CosignError, errorMessage } from "../errors.ts";
import { isRecord } from "../util/json.ts";
import { compileRego } from "../policy/rego/mod.ts";

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

/** Error codes raised here. */
export type PolicyEngineErrorCode = "ADMISSION_POLICY_INVALID";

/** The Rego query policy-controller evaluates (cosign v3.0.5 `ValidateJSONWithModuleInput`). */
export const REGO_QUERY = "isCompliant = data.sigstore.isCompliant";

/** One solution of a Rego query, in OPA's result shape (only what the adapter reads). */
export interface RegoSolution {
  /** The values of the query's named variables. */
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/** A compiled Rego policy: evaluate a query on an input. */
export interface CompiledRego {
  /** All solutions of `query` (empty when undefined). */
  evaluate(query: string, options: { readonly input?: unknown }): readonly RegoSolution[];
}

/** Compiles Rego modules: the shape of `lib/policy/rego`'s `compileRego`. */
export type RegoCompiler = (
  modules: readonly { readonly name: string; readonly source: string }[],
  options: { readonly syntax: "v0" | "v1" },
) => CompiledRego;

/** Evaluates a CUE program on one document, as policy-controller does (the verdict or why not). */
export type CueEvaluator = (
  name: string,
  source: string,
  input: unknown,
) => Promise<ProgramVerdict>;

/** The evaluators an engine has. */
export interface PolicyEngineOptions {
  /** Compiles Rego (absent: Rego programs fail by name). */
  readonly rego?: RegoCompiler;
  /** Evaluates CUE (absent: CUE programs fail by name). */
  readonly cue?: CueEvaluator;
}

/**
 * cosign v3.0.5 `ValidateJSONWithModuleInput` on one result set: a `true` binding passes; a
 * partial set of `{result, error, warning}` objects passes when one has `result: true` (with its
 * warning, if any, failing as policy-controller treats warnings); anything else is not compliant.
 */
function regoVerdict(name: string, solutions: readonly RegoSolution[]): ProgramVerdict {
  const fail = (why: string): ProgramVerdict => ({
    pass: false,
    error: `failed evaluating rego policy for type ${name}: ${why}`,
  });
  const notCompliant = `policy is not compliant for query '${REGO_QUERY}'`;
  for (const solution of solutions) {
    const binding = solution.bindings?.isCompliant;
    if (binding === true) return { pass: true };
    if (!Array.isArray(binding)) continue;
    let error: string = notCompliant;
    for (const item of binding) {
      if (!isRecord(item)) return fail(`${notCompliant} due to parsing errors: not an object`);
      const { result, error: message, warning } = item;
      if (result === true) {
        if (warning === undefined || warning === "") return { pass: true };
        // policy-controller fails a policy whose evaluation returned a warning.
        return { pass: false, error: `warning: ${String(warning)}` };
      }
      error = `${notCompliant} with errors: ${typeof message === "string" ? message : ""}`;
    }
    return fail(error);
  }
  return fail(notCompliant);
}

function regoProgram(name: string, source: string, compile: RegoCompiler): PolicyProgram {
  let compiled: CompiledRego;
  try {
    // cosign loads the policy as the module "sigstore.rego", in Rego v0 syntax.
    compiled = compile([{ name: "sigstore.rego", source }], { syntax: "v0" });
  } catch (error) {
    throw new CosignError(
      "ADMISSION_POLICY_INVALID",
      `The Rego policy for ${name} does not compile: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return {
    evaluate(input) {
      try {
        return Promise.resolve(regoVerdict(name, compiled.evaluate(REGO_QUERY, { input })));
      } catch (error) {
        return Promise.resolve({
          pass: false,
          error: `failed evaluating rego policy for type ${name}: ${errorMessage(error)}`,
        });
      }
    },
  };
}

/**
 * An engine over the evaluators given; a language without one fails by name.
 *
 * @example Rego through a compiler (here a stand-in answering as OPA does)
 * ```ts
 * import assert from "node:assert/strict";
 * import { createPolicyEngine } from "./policy_engine.ts";
 *
 * const engine = createPolicyEngine({
 *   rego: () => ({
 *     evaluate: (_query, { input }) => [{
 *       bindings: { isCompliant: (input as { ok: boolean }).ok },
 *     }],
 *   }),
 * });
 * const program = engine.compile("custom-match-predicate", "rego", "package sigstore\n...");
 * assert.deepEqual(await program.evaluate({ ok: true }), { pass: true });
 * const failed = await program.evaluate({ ok: false });
 * assert.equal(failed.pass, false);
 * ```
 */
export function createPolicyEngine(options: PolicyEngineOptions = {}): PolicyEngine {
  return {
    compile(name, language, source) {
      if (language === "rego" && options.rego) return regoProgram(name, source, options.rego);
      const cue = options.cue;
      if (language === "cue" && cue) return { evaluate: (input) => cue(name, source, input) };
      return unsupported(name, language);
    },
  };
}

/** The failure of a language this build cannot evaluate, in cosign's words plus why. */
function unsupported(name: string, language: PolicyLanguage): PolicyProgram {
  const error = language === "cue"
    ? `failed evaluating cue policy for ${name}: CUE policies are not supported yet`
    : `failed evaluating rego policy for type ${name}: Rego policies are not supported yet`;
  return { evaluate: () => Promise.resolve({ pass: false, error }) };
}

/**
 * CUE as policy-controller evaluates it (`lib/policy/policy_controller.ts`), loaded on the first
 * CUE policy only: the CUE runtime is 26 MB of wasm.
 */
const evaluateCue: CueEvaluator = async (name, source, input) => {
  const document = isRecord(input) ? input : JSON.stringify(input);
  try {
    const { evaluatePolicyControllerPolicy } = await import("../policy/policy_controller.ts");
    const verdict = await evaluatePolicyControllerPolicy(name, "cue", source, document);
    return verdict.pass ? { pass: true } : { pass: false, error: verdict.error };
  } catch (error) {
    // A budget spent or the evaluator failing is a failure to prove compliance: fail closed.
    return {
      pass: false,
      error: `failed evaluating cue policy for ${name}: ${errorMessage(error)}`,
    };
  }
};

/**
 * The engine of this build: Rego through `lib/policy/rego` (policy-controller's query, v0
 * syntax) and CUE through `lib/policy/cue.ts`, each as policy-controller evaluates them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultPolicyEngine } from "./policy_engine.ts";
 *
 * const rego = defaultPolicyEngine().compile(
 *   "must-be-foobar",
 *   "rego",
 *   'package sigstore\nisCompliant { input.predicate.Data == "foobar" }',
 * );
 * assert.equal((await rego.evaluate({ predicate: { Data: "foobar" } })).pass, true);
 * assert.equal((await rego.evaluate({ predicate: { Data: "other" } })).pass, false);
 * ```
 */
export function defaultPolicyEngine(): PolicyEngine {
  return createPolicyEngine({ rego: compileRego, cue: evaluateCue });
}
