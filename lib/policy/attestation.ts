/**
 * Policies on attestations as `cosign verify-attestation --policy` applies them (cosign
 * `cmd/cosign/cli/verify/verify_attestation.go`, `pkg/cosign/rego`, `pkg/cosign/cue`): every
 * in-toto statement of the predicate type asked for is the policy input, CUE policies are applied
 * first, then Rego, and every statement must pass all of them.
 *
 * - Rego (`.rego`): Rego v0 syntax (`rego.SetRegoVersion(ast.RegoV0)`), all modules loaded
 *   together, query `data.signature.allow`; a statement passes only when the result set is one
 *   `true` without bindings (OPA's `ResultSet.Allowed()`). Failures read as cosign's:
 *   `expression value, false, is not true`, or `result is undefined for query
 *   'data.signature.allow'`. Beyond cosign, when `data.signature.deny` holds messages (a set or
 *   array of strings, or of objects with a `msg`), a failing statement also reports each as
 *   `deny: <message>`; `allow` alone decides.
 * - CUE (`.cue`): all files loaded as one instance and unified with the statement, no
 *   concreteness required (cosign's `encoding/json.Validate`); a CUE failure skips the Rego
 *   policies for that statement, as cosign does.
 *
 * Policies compile first ({@link compileAttestationPolicies}), so that one that does not parse
 * fails before anything is fetched. An evaluation that passes its step, time or memory budget
 * throws (`POLICY_EVAL_LIMIT`) rather than counting as a denial: no decision was made.
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import type { CompileCueOptions, CueLimits, CuePolicy } from "./cue.ts";
import { compileRego, type EvalLimits, RegoError, type RegoPolicy } from "./rego/mod.ts";
import {
  documentText,
  documentValue,
  formatGoValue,
  MAX_DOCUMENT_BYTES,
  type PolicyInput,
} from "./documents.ts";

export type { PolicyInput } from "./documents.ts";

/** A policy to compile: its name (a file name, used in messages), language and source. */
export interface PolicySource {
  /** A file name (`builder.rego`), used in error messages and locations. */
  readonly name: string;
  /** What it is written in. */
  readonly language: "rego" | "cue";
  /** The policy text. */
  readonly source: string;
}

/** The query cosign evaluates over each statement (`pkg/cosign/rego`, `QUERY`). */
export const COSIGN_REGO_QUERY = "data.signature.allow";

/** Where a failing statement's extra messages are read from (dcosign; cosign has none). */
export const COSIGN_REGO_DENY_QUERY = "data.signature.deny";

/** Options of {@link compileAttestationPolicies}. */
export interface CompileAttestationPoliciesOptions {
  /** Largest Rego module, in UTF-8 bytes (default 1 MiB). */
  readonly maxRegoBytes?: number;
  /** Budgets of the CUE evaluator (see `lib/policy/cue.ts`). */
  readonly cueLimits?: Partial<CueLimits>;
}

/**
 * The language of a policy file by its extension, as cosign decides it (`.rego`, `.cue`);
 * undefined for anything else (cosign: `invalid policy format, expected .cue or .rego`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { policyLanguageOf } from "./attestation.ts";
 *
 * assert.equal(policyLanguageOf("policies/slsa.rego"), "rego");
 * assert.equal(policyLanguageOf("policy.json"), undefined);
 * ```
 */
export function policyLanguageOf(name: string): "rego" | "cue" | undefined {
  if (name.endsWith(".rego")) return "rego";
  if (name.endsWith(".cue")) return "cue";
  return undefined;
}

/**
 * Compiled attestation policies: the Rego modules (one program) and the CUE files (one
 * instance). Create with {@link compileAttestationPolicies}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileAttestationPolicies } from "./attestation.ts";
 *
 * const policies = await compileAttestationPolicies([{
 *   name: "allow.rego",
 *   language: "rego",
 *   source: "package signature\n\nallow { input.predicateType != \"\" }\n",
 * }]);
 * assert.deepEqual(policies.names, ["allow.rego"]);
 * ```
 */
export class AttestationPolicies {
  readonly #rego: RegoPolicy | undefined;
  readonly #cue: CuePolicy | undefined;
  /** The policies' names, Rego and CUE, as given. */
  readonly names: readonly string[];

  private constructor(
    rego: RegoPolicy | undefined,
    cue: CuePolicy | undefined,
    names: readonly string[],
  ) {
    this.#rego = rego;
    this.#cue = cue;
    this.names = names;
  }

  /** @internal Use {@link compileAttestationPolicies}. */
  static async compile(
    policies: readonly PolicySource[],
    options: CompileAttestationPoliciesOptions,
  ): Promise<AttestationPolicies> {
    if (policies.length === 0) throw new RangeError("No policy given");
    const rego = policies.filter((p) => p.language === "rego");
    const cue = policies.filter((p) => p.language === "cue");
    const regoPolicy = rego.length === 0 ? undefined : compileRego(
      rego.map((p) => ({ name: p.name, source: p.source })),
      { syntax: "v0", ...(options.maxRegoBytes ? { maxSourceBytes: options.maxRegoBytes } : {}) },
    );
    let cuePolicy: CuePolicy | undefined;
    if (cue.length > 0) {
      // The CUE evaluator (26 MB of wasm) loads only when a CUE policy is given.
      const { compileCue } = await import("./cue.ts");
      const cueOptions: CompileCueOptions = options.cueLimits ? { limits: options.cueLimits } : {};
      cuePolicy = await compileCue(
        cue.map((p) => ({ name: p.name, source: p.source })),
        cueOptions,
      );
    }
    return new AttestationPolicies(regoPolicy, cuePolicy, policies.map((p) => p.name));
  }

  /** @internal Use {@link checkAttestationPolicy}. */
  async check(
    document: PolicyInput,
    value: unknown,
    options: CheckAttestationPolicyOptions,
  ): Promise<string[]> {
    const max = options.maxStatementBytes ?? MAX_DOCUMENT_BYTES;
    const messages: string[] = [];
    if (this.#cue) {
      const outcome = await this.#cue.validate(documentText(document, "statement", max), {
        ...(options.cueConcrete ? { concrete: true } : {}),
        ...(options.cueLimits ? { limits: options.cueLimits } : {}),
      });
      if (!outcome.ok) messages.push(...outcome.messages);
    }
    // cosign: a statement that failed its CUE policies is not run through the Rego ones.
    if (this.#rego && messages.length === 0) {
      messages.push(...checkRego(this.#rego, value, options));
    }
    return messages;
  }
}

/**
 * Compile attestation policies. Rego modules are parsed and compiled as Rego v0 (cosign's
 * syntax version); CUE files are loaded in the CUE evaluator (which is started only when a CUE
 * policy is given) and must hold no error on their own. A policy that does not compile throws
 * (`POLICY_PARSE_ERROR`, `POLICY_COMPILE_ERROR`, `POLICY_TOO_LARGE`, ...), naming the file.
 *
 * @example A policy that does not parse fails here, before anything is fetched
 * ```ts
 * import assert from "node:assert/strict";
 * import { compileAttestationPolicies } from "./attestation.ts";
 *
 * await assert.rejects(
 *   compileAttestationPolicies([{ name: "broken.rego", language: "rego", source: "package" }]),
 *   { code: "POLICY_PARSE_ERROR" },
 * );
 * ```
 */
export async function compileAttestationPolicies(
  policies: readonly PolicySource[],
  options: CompileAttestationPoliciesOptions = {},
): Promise<AttestationPolicies> {
  return await AttestationPolicies.compile(policies, options);
}

/** Options of {@link checkAttestationPolicy}. */
export interface CheckAttestationPolicyOptions {
  /**
   * Check only statements of this predicate type (the URI `--type` names); none of that type
   * is a denial listing the types found, as cosign's `none of the attestations matched`.
   */
  readonly predicateType?: string;
  /** The clock Rego's `time.now_ns` reads (default: now). */
  readonly now?: Date;
  /** Rego budgets (defaults: 1,000,000 steps, 1,000 ms, depth 200). */
  readonly regoLimits?: Partial<EvalLimits>;
  /** CUE budgets for this check (default: those the policies were compiled with). */
  readonly cueLimits?: Partial<CueLimits>;
  /** Require concrete CUE values after unification (`cue vet -c`); default false, as cosign. */
  readonly cueConcrete?: boolean;
  /** Largest statement, in bytes (default 64 MiB). */
  readonly maxStatementBytes?: number;
}

/** The decision on one statement. */
export interface StatementDecision {
  /** Its position in the statements given. */
  readonly index: number;
  /** Its predicate type (`""` when it has none). */
  readonly predicateType: string;
  /** Whether it passed every policy. */
  readonly allowed: boolean;
  /** Why not: one message per failure, in cosign's words. */
  readonly messages: readonly string[];
}

/** The decision on a set of attestations. */
export interface PolicyDecision {
  /** True when at least one statement was checked and every one checked passed. */
  readonly allowed: boolean;
  /** Every failure, over all statements (empty when allowed). */
  readonly messages: readonly string[];
  /** The statements checked (those of `predicateType`, when given). */
  readonly statements: readonly StatementDecision[];
}

function predicateTypeOf(value: unknown): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const type = (value as Record<string, unknown>).predicateType;
    if (typeof type === "string") return type;
  }
  return "";
}

/** Messages of `data.signature.deny`, when the policy defines it. */
function denyMessages(rego: RegoPolicy, input: unknown, options: CheckAttestationPolicyOptions) {
  let values: unknown[];
  try {
    const rs = rego.evaluate(COSIGN_REGO_DENY_QUERY, {
      input,
      ...(options.now ? { now: options.now } : {}),
      ...(options.regoLimits ? { limits: options.regoLimits } : {}),
    });
    const value = rs[0]?.expressions[0]?.value;
    if (!Array.isArray(value)) return [];
    values = value;
  } catch (error) {
    if (error instanceof RegoError && error.code === "POLICY_EVAL_LIMIT") throw error;
    return [];
  }
  return values.map((v) => {
    if (typeof v === "string") return `deny: ${v}`;
    const msg = v !== null && typeof v === "object"
      ? (v as Record<string, unknown>).msg
      : undefined;
    return `deny: ${typeof msg === "string" ? msg : JSON.stringify(v)}`;
  });
}

/** cosign `rego.ValidateJSON` on one input: no messages when allowed. */
function checkRego(
  rego: RegoPolicy,
  input: unknown,
  options: CheckAttestationPolicyOptions,
): string[] {
  let rs;
  try {
    rs = rego.evaluate(COSIGN_REGO_QUERY, {
      input,
      ...(options.now ? { now: options.now } : {}),
      ...(options.regoLimits ? { limits: options.regoLimits } : {}),
    });
  } catch (error) {
    // A budget exhausted is no decision; other evaluation errors fail the statement, as in cosign.
    if (error instanceof RegoError && error.code === "POLICY_EVAL_LIMIT") throw error;
    if (error instanceof RegoError) return [error.message];
    throw error;
  }
  // OPA ResultSet.Allowed(): exactly one result, one expression, value true, no bindings.
  const [only] = rs;
  if (
    rs.length === 1 && only && only.bindings === undefined && only.expressions.length === 1 &&
    only.expressions[0]?.value === true
  ) return [];
  const messages = rs.flatMap((r) =>
    r.expressions.map((e) => `expression value, ${formatGoValue(e.value)}, is not true`)
  );
  if (messages.length === 0) {
    messages.push(`result is undefined for query '${COSIGN_REGO_QUERY}'`);
  }
  return [...messages, ...denyMessages(rego, input, options)];
}

/**
 * Check in-toto statements against attestation policies, as `cosign verify-attestation --policy`
 * does: each statement (of `predicateType`, when given) through every CUE policy, then every Rego
 * policy; the decision allows only when every statement checked passes. `policies` is either
 * what {@link compileAttestationPolicies} returned or policy sources to compile now. Statements
 * are JSON (bytes or text, as the DSSE payload carries them) or parsed values.
 *
 * Throws `POLICY_EVAL_LIMIT` when an evaluation passes its budget, and the compile errors of
 * {@link compileAttestationPolicies} for sources that do not compile.
 *
 * @example An SLSA provenance statement through a Rego v0 policy
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAttestationPolicy } from "./attestation.ts";
 *
 * const statement = {
 *   _type: "https://in-toto.io/Statement/v0.1",
 *   predicateType: "https://slsa.dev/provenance/v0.2",
 *   subject: [{ name: "reg.example/app", digest: { sha256: "ab".repeat(32) } }],
 *   predicate: { builder: { id: "https://github.com/actions/runner" }, buildType: "x" },
 * };
 * const policy = {
 *   name: "builder.rego",
 *   language: "rego",
 *   source: 'package signature\n\nallow {\n  input.predicate.builder.id == "https://github.com/actions/runner"\n}\n',
 * } as const;
 * const decision = await checkAttestationPolicy(statement, [policy]);
 * assert.equal(decision.allowed, true);
 *
 * const other = { ...statement, predicate: { builder: { id: "https://evil.example" } } };
 * const denied = await checkAttestationPolicy([statement, other], [policy]);
 * assert.equal(denied.allowed, false);
 * assert.deepEqual(denied.messages, ["result is undefined for query 'data.signature.allow'"]);
 * ```
 *
 * @example A CUE policy (the CUE evaluator loads on first use)
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkAttestationPolicy } from "./attestation.ts";
 * import { stopCueWorker } from "./cue.ts";
 *
 * const statement = '{"predicateType": "https://slsa.dev/provenance/v0.2", "predicate": {"builder": {"id": "2"}}}';
 * const cue = { name: "builder.cue", language: "cue", source: 'predicate: builder: id: "1"' } as const;
 * const decision = await checkAttestationPolicy(statement, [cue]);
 * assert.deepEqual(decision.messages, ['predicate.builder.id: conflicting values "2" and "1"']);
 * await stopCueWorker();
 * ```
 */
export async function checkAttestationPolicy(
  statementOrStatements: PolicyInput | readonly PolicyInput[],
  policies: AttestationPolicies | readonly PolicySource[],
  options: CheckAttestationPolicyOptions = {},
): Promise<PolicyDecision> {
  const compiled = policies instanceof AttestationPolicies
    ? policies
    : await compileAttestationPolicies(policies);
  const documents: readonly PolicyInput[] = Array.isArray(statementOrStatements)
    ? statementOrStatements
    : [statementOrStatements as PolicyInput];
  const max = options.maxStatementBytes ?? MAX_DOCUMENT_BYTES;
  const decisions: StatementDecision[] = [];
  const found: string[] = [];
  for (const [index, document] of documents.entries()) {
    const value = documentValue(document, "statement", max);
    const predicateType = predicateTypeOf(value);
    found.push(predicateType);
    // cosign AttestationToPayloadJSON: a statement of another type is skipped.
    if (options.predicateType !== undefined && predicateType !== options.predicateType) continue;
    const messages = await compiled.check(document, value, options);
    decisions.push({ index, predicateType, allowed: messages.length === 0, messages });
  }
  const messages = decisions.flatMap((d) => d.messages);
  if (decisions.length === 0) {
    messages.push(
      options.predicateType === undefined
        ? "no attestations to check"
        : `none of the attestations matched the predicate type: ${options.predicateType}, found: ${
          found.join(",")
        }`,
    );
  }
  return {
    allowed: decisions.length > 0 && messages.length === 0,
    messages,
    statements: decisions,
  };
}

/** Raise a denial as the error `verify-attestation` reports (one line, every message in it). */
export function denialError(subject: string, decision: PolicyDecision): CosignError {
  // cosign counts failures; the deny messages explain them.
  const count = decision.messages.filter((m) => !m.startsWith("deny: ")).length;
  return new CosignError(
    "POLICY_DENIED",
    `The attestations of "${subject}" fail the policy: ${count} validation error${
      count === 1 ? "" : "s"
    } occurred: ${decision.messages.join("; ")}`,
  );
}
