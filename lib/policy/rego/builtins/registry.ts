/**
 * The built-in function table: what a built-in is, the context it runs in, and the operand
 * checks that produce OPA's error messages (`operand 1 must be string but got number`).
 *
 * Built-ins are grouped by family in the files of this folder; `index.ts` assembles the table.
 *
 * @module
 */

import { BuiltinError } from "../errors.ts";
import {
  isNumber,
  type RegoNumber,
  RegoObject,
  RegoSet,
  type TypeName,
  typeName,
  type Value,
} from "../value.ts";

/** What a built-in may use besides its operands. */
export interface BuiltinContext {
  /** The evaluation's clock, in nanoseconds since the epoch (one value per evaluation). */
  readonly nowNs: () => bigint;
  /**
   * Charge `n` steps of work against the evaluation budget before doing it (throws a
   * POLICY_EVAL_LIMIT error when exhausted), so that outputs proportional to an operand
   * (`numbers.range`, `strings.repeat`) fail by the bound instead of by running out of memory.
   */
  readonly charge: (n: number) => void;
  /** Milliseconds left before the wall-clock deadline (for loops inside built-ins). */
  readonly checkDeadline: () => void;
  /** A random source in [0, 1) (injectable for tests). */
  readonly random: () => number;
  /**
   * Per-evaluation memory for non-deterministic built-ins: OPA returns the same `rand.intn`
   * result for the same operands within one query.
   */
  readonly memo: Map<string, Value>;
}

/** One built-in function. */
export interface Builtin {
  /** The dotted name (`array.concat`). */
  readonly name: string;
  /** The number of operands. */
  readonly arity: number;
  /** Compute the result; undefined means the call is undefined. Throws {@link BuiltinError}. */
  readonly fn: (args: readonly Value[], ctx: BuiltinContext) => Value | undefined;
  /** Removed in OPA 1.0: only available in v0 syntax. */
  readonly v0Only?: boolean;
  /** A relation: `fn` returns an array of alternative results (e.g. `walk`). */
  readonly relation?: boolean;
  /** Non-deterministic or time-dependent (never constant-folded). */
  readonly volatile?: boolean;
}

/** Define a built-in. */
export function builtin(
  name: string,
  arity: number,
  fn: (args: readonly Value[], ctx: BuiltinContext) => Value | undefined,
  flags: { v0Only?: boolean; relation?: boolean; volatile?: boolean } = {},
): Builtin {
  return { name, arity, fn, ...flags };
}

/** An operand type error, worded as OPA's `builtins.NewOperandTypeErr`. */
export function operandError(pos: number, got: Value, ...expected: string[]): BuiltinError {
  const want = expected.length === 1 ? expected[0] : `one of {${expected.join(", ")}}`;
  return new BuiltinError(
    "eval_type_error",
    `operand ${pos} must be ${want} but got ${typeName(got)}`,
  );
}

/** A built-in failure that is not about operand types. */
export function builtinError(message: string): BuiltinError {
  return new BuiltinError("eval_builtin_error", message);
}

/** Operand `pos` (1-based) as a string. */
export function str(args: readonly Value[], pos: number): string {
  const v = args[pos - 1] as Value;
  if (typeof v !== "string") throw operandError(pos, v, "string");
  return v;
}

/** Operand `pos` as a number. */
export function num(args: readonly Value[], pos: number): RegoNumber {
  const v = args[pos - 1] as Value;
  if (!isNumber(v)) throw operandError(pos, v, "number");
  return v;
}

/** Operand `pos` as a boolean. */
export function bool(args: readonly Value[], pos: number): boolean {
  const v = args[pos - 1] as Value;
  if (typeof v !== "boolean") throw operandError(pos, v, "boolean");
  return v;
}

/** Operand `pos` as an array. */
export function arr(args: readonly Value[], pos: number): readonly Value[] {
  const v = args[pos - 1] as Value;
  if (!Array.isArray(v)) throw operandError(pos, v, "array");
  return v;
}

/** Operand `pos` as a set. */
export function set(args: readonly Value[], pos: number): RegoSet {
  const v = args[pos - 1] as Value;
  if (!(v instanceof RegoSet)) throw operandError(pos, v, "set");
  return v;
}

/** Operand `pos` as an object. */
export function obj(args: readonly Value[], pos: number): RegoObject {
  const v = args[pos - 1] as Value;
  if (!(v instanceof RegoObject)) throw operandError(pos, v, "object");
  return v;
}

/** Operand `pos` as an integer (OPA: "operand N must be integer number but got floating-point number"). */
export function int(args: readonly Value[], pos: number): bigint {
  const n = num(args, pos);
  if (typeof n === "bigint") return n;
  if (!Number.isInteger(n)) {
    throw new BuiltinError(
      "eval_type_error",
      `operand ${pos} must be integer number but got floating-point number`,
    );
  }
  return BigInt(n);
}

/** Operand `pos` as a safe JS integer. */
export function smallInt(args: readonly Value[], pos: number): number {
  const n = int(args, pos);
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw builtinError(`operand ${pos} is out of range`);
  }
  return Number(n);
}

/** The elements of an array or set operand (for aggregates). */
export function collection(
  args: readonly Value[],
  pos: number,
  ...expected: TypeName[]
): readonly Value[] {
  const v = args[pos - 1] as Value;
  if (Array.isArray(v)) return v;
  if (v instanceof RegoSet) return v.sorted();
  throw operandError(pos, v, ...(expected.length > 0 ? expected : ["array", "set"]));
}

/** An array or set of strings, as a list (OPA's "must be array of strings" wording). */
export function stringList(args: readonly Value[], pos: number, allowString = false): string[] {
  const v = args[pos - 1] as Value;
  if (allowString && typeof v === "string") return [v];
  const items = Array.isArray(v) ? v : v instanceof RegoSet ? v.sorted() : undefined;
  if (items === undefined) {
    throw allowString
      ? operandError(pos, v, "string", "set", "array")
      : operandError(pos, v, "set", "array");
  }
  const out: string[] = [];
  for (const e of items) {
    if (typeof e !== "string") {
      throw new BuiltinError(
        "eval_type_error",
        `operand ${pos} must be ${Array.isArray(v) ? "array" : "set"} of strings but got ${
          Array.isArray(v) ? "array" : "set"
        } containing ${typeName(e)}`,
      );
    }
    out.push(e);
  }
  return out;
}

/** A table of built-ins by name. */
export type BuiltinTable = ReadonlyMap<string, Builtin>;
