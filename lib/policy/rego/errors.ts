/**
 * Errors of the Rego engine: every failure is a {@link RegoError}, a `CosignError` whose `code`
 * is in the POLICY area and which also carries OPA's own error code name (`rego_parse_error`,
 * `eval_conflict_error`, ...) and, where OPA has one, the source location. The message reads as
 * OPA's does (`test-0.rego:4: eval_type_error: count: operand 1 must be ...`), so that callers
 * comparing with OPA's output can match on it.
 *
 * @module
 */

import { CosignError } from "../../errors.ts";

/** The `CosignError` codes the engine raises. */
export type PolicyErrorCode =
  /** The policy or query text does not parse. */
  | "POLICY_PARSE_ERROR"
  /** The modules do not compile (unsafe variables, recursion, conflicting rules, bad calls). */
  | "POLICY_COMPILE_ERROR"
  /** Evaluation failed for a reason other than those below (e.g. `with` misuse). */
  | "POLICY_EVAL_ERROR"
  /** A rule, function or object produced two different values (`eval_conflict_error`). */
  | "POLICY_CONFLICT"
  /** A built-in got an operand of the wrong type, in strict mode (`eval_type_error`). */
  | "POLICY_TYPE_ERROR"
  /** A built-in failed, in strict mode (`eval_builtin_error`). */
  | "POLICY_BUILTIN_ERROR"
  /** The policy calls an OPA built-in this engine does not implement. */
  | "POLICY_BUILTIN_UNSUPPORTED"
  /** Evaluation exceeded its step, time, depth or size budget. */
  | "POLICY_EVAL_LIMIT"
  /** A policy source or a query is larger than the configured cap. */
  | "POLICY_TOO_LARGE";

/** OPA's error code names, as `opa eval` and the OPA conformance cases print them. */
export type RegoErrorCode =
  | "rego_parse_error"
  | "rego_compile_error"
  | "rego_type_error"
  | "rego_unsafe_var_error"
  | "rego_recursion_error"
  | "eval_conflict_error"
  | "eval_type_error"
  | "eval_builtin_error"
  | "eval_internal_error"
  | "eval_cancel_error";

/** A position in a policy source: file name, 1-based row and column. */
export interface SourceLocation {
  /** The module name given to the compiler (or `query`). */
  readonly file: string;
  /** 1-based line. */
  readonly row: number;
  /** 1-based column (UTF-16 units). */
  readonly col: number;
}

const POLICY_CODE: Record<RegoErrorCode, PolicyErrorCode> = {
  rego_parse_error: "POLICY_PARSE_ERROR",
  rego_compile_error: "POLICY_COMPILE_ERROR",
  rego_type_error: "POLICY_COMPILE_ERROR",
  rego_unsafe_var_error: "POLICY_COMPILE_ERROR",
  rego_recursion_error: "POLICY_COMPILE_ERROR",
  eval_conflict_error: "POLICY_CONFLICT",
  eval_type_error: "POLICY_TYPE_ERROR",
  eval_builtin_error: "POLICY_BUILTIN_ERROR",
  eval_internal_error: "POLICY_EVAL_ERROR",
  eval_cancel_error: "POLICY_EVAL_LIMIT",
};

/** Options of {@link RegoError}. */
export interface RegoErrorOptions {
  /** The POLICY code, when it is not the one implied by the OPA code. */
  readonly policyCode?: PolicyErrorCode;
  /** Where in the source the error is. */
  readonly location?: SourceLocation | undefined;
  /** What caused it. */
  readonly cause?: unknown;
}

/**
 * A failure of the Rego engine: a `CosignError` with a POLICY code, plus OPA's code name in
 * `regoCode`, the bare message in `detail` and the source position in `location`.
 */
export class RegoError extends CosignError {
  /** OPA's error code name. */
  readonly regoCode: RegoErrorCode;
  /** The message without location and code prefix. */
  readonly detail: string;
  /** Where in the policy the error is, if known. */
  readonly location: SourceLocation | undefined;

  /** Create an error with OPA's code, a one-line message and options. */
  constructor(regoCode: RegoErrorCode, detail: string, options: RegoErrorOptions = {}) {
    const loc = options.location;
    const where = loc === undefined ? "" : `${loc.file}:${loc.row}: `;
    super(
      options.policyCode ?? POLICY_CODE[regoCode],
      `${where}${regoCode}: ${detail}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "RegoError";
    this.regoCode = regoCode;
    this.detail = detail;
    this.location = loc;
  }
}

/**
 * An error a built-in raises about its operands or its work; the evaluator adds the built-in's
 * name and location and, in non-strict mode, turns it into "undefined" (as OPA does).
 */
export class BuiltinError extends Error {
  /** `eval_type_error` for a wrong operand type, `eval_builtin_error` otherwise. */
  readonly kind: "eval_type_error" | "eval_builtin_error";

  /** Create a built-in error. */
  constructor(kind: "eval_type_error" | "eval_builtin_error", message: string) {
    super(message);
    this.name = "BuiltinError";
    this.kind = kind;
  }
}

/** A budget was exhausted; never turned into "undefined". */
export function limitError(detail: string, location?: SourceLocation): RegoError {
  return new RegoError("eval_cancel_error", detail, {
    policyCode: "POLICY_EVAL_LIMIT",
    location,
  });
}
