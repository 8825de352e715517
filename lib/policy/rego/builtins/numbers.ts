/**
 * Arithmetic and number built-ins: the operators `+ - * / %` (OPA `plus`, `minus`, `mul`, `div`,
 * `rem`; `-` is also set difference), `abs`, `round`, `ceil`, `floor`, `numbers.range`,
 * `numbers.range_step`, `to_number`, `rand.intn` and the `bits.*` family.
 *
 * OPA computes with arbitrary-precision numbers; here integer operands stay exact (bigint when
 * beyond 2^53) and anything with a fraction is a double. Division of integers is exact when it
 * divides evenly (`1e109 / 1e100` is `1000000000`), otherwise a double.
 *
 * @module
 */

import {
  isInteger,
  isNumber,
  normalizeNumber,
  parseNumberLiteral,
  type RegoNumber,
  RegoSet,
  toBigInt,
  toDouble,
  type Value,
} from "../value.ts";
import { limitError } from "../errors.ts";
import { type Builtin, builtin, builtinError, int, num, operandError } from "./registry.ts";

function finite(n: number): RegoNumber {
  if (!Number.isFinite(n)) throw builtinError("arithmetic result is out of range");
  return normalizeNumber(n);
}

/** `a + b`. */
export function addNumbers(a: RegoNumber, b: RegoNumber): RegoNumber {
  if (typeof a === "number" && typeof b === "number") {
    const r = a + b;
    if (!Number.isInteger(a) || !Number.isInteger(b) || Number.isSafeInteger(r)) return finite(r);
  }
  const x = toBigInt(a);
  const y = toBigInt(b);
  if (x !== undefined && y !== undefined) return normalizeNumber(x + y);
  return finite(toDouble(a) + toDouble(b));
}

/** `a - b`. */
export function subNumbers(a: RegoNumber, b: RegoNumber): RegoNumber {
  return addNumbers(a, typeof b === "bigint" ? -b : -b);
}

/** `a * b`. */
export function mulNumbers(a: RegoNumber, b: RegoNumber): RegoNumber {
  if (typeof a === "number" && typeof b === "number") {
    const r = a * b;
    if (!Number.isInteger(a) || !Number.isInteger(b) || Number.isSafeInteger(r)) return finite(r);
  }
  const x = toBigInt(a);
  const y = toBigInt(b);
  if (x !== undefined && y !== undefined) return normalizeNumber(x * y);
  return finite(toDouble(a) * toDouble(b));
}

/** `a / b` (throws on division by zero). */
export function divNumbers(a: RegoNumber, b: RegoNumber): RegoNumber {
  if (b === 0 || b === 0n) throw builtinError("divide by zero");
  const x = toBigInt(a);
  const y = toBigInt(b);
  if (x !== undefined && y !== undefined && x % y === 0n) return normalizeNumber(x / y);
  return finite(toDouble(a) / toDouble(b));
}

/** `a % b` on integers (Go's truncated remainder). */
export function remNumbers(a: RegoNumber, b: RegoNumber): RegoNumber {
  const x = toBigInt(a);
  const y = toBigInt(b);
  if (x === undefined || y === undefined) throw builtinError("modulo on floating-point number");
  if (y === 0n) throw builtinError("modulo by zero");
  return normalizeNumber(x % y);
}

function numbersOrSets(args: readonly Value[]): void {
  const [a, b] = args as [Value, Value];
  if (!isNumber(a) && !(a instanceof RegoSet)) throw operandError(1, a, "number", "set");
  if (!isNumber(b) && !(b instanceof RegoSet)) throw operandError(2, b, "number", "set");
}

/** Go's `math.Round`: half away from zero. */
function roundHalfAway(n: number): number {
  return Math.sign(n) * Math.round(Math.abs(n));
}

function unaryRound(name: string, f: (n: number) => number): Builtin {
  return builtin(name, 1, (args) => {
    const n = num(args, 1);
    return typeof n === "bigint" ? n : finite(f(n));
  });
}

/** The largest range `numbers.range` may build, checked before allocating. */
const MAX_RANGE = 10_000_000n;

function range(from: bigint, to: bigint, step: bigint, charge: (n: number) => void): Value[] {
  const count = (from <= to ? to - from : from - to) / step + 1n;
  // Charge first: a range beyond the step budget fails by the budget, before any allocation.
  charge(Number(count));
  if (count > MAX_RANGE) throw limitError(`numbers.range: range of ${count} numbers is too large`);
  const out: Value[] = [];
  if (from <= to) { for (let i = from; i <= to; i += step) out.push(normalizeNumber(i)); }
  else for (let i = from; i >= to; i -= step) out.push(normalizeNumber(i));
  return out;
}

function bitsOp(name: string, f: (a: bigint, b: bigint) => bigint): Builtin {
  return builtin(name, 2, (args) => normalizeNumber(f(int(args, 1), int(args, 2))));
}

/** The number built-ins. */
export const NUMBER_BUILTINS: readonly Builtin[] = [
  builtin("plus", 2, (args) => addNumbers(num(args, 1), num(args, 2))),
  builtin("minus", 2, (args) => {
    numbersOrSets(args);
    const [a, b] = args as [Value, Value];
    if (isNumber(a) && isNumber(b)) return subNumbers(a, b);
    if (a instanceof RegoSet && b instanceof RegoSet) {
      return new RegoSet([...a.values()].filter((x) => !b.has(x)));
    }
    throw isNumber(a) ? operandError(2, b, "number") : operandError(2, b, "set");
  }),
  builtin("mul", 2, (args) => mulNumbers(num(args, 1), num(args, 2))),
  builtin("div", 2, (args) => divNumbers(num(args, 1), num(args, 2))),
  builtin("rem", 2, (args) => remNumbers(num(args, 1), num(args, 2))),
  builtin("abs", 1, (args) => {
    const n = num(args, 1);
    return typeof n === "bigint" ? (n < 0n ? -n : n) : normalizeNumber(Math.abs(n));
  }),
  unaryRound("round", roundHalfAway),
  unaryRound("ceil", Math.ceil),
  unaryRound("floor", Math.floor),
  builtin("numbers.range", 2, (args, ctx) => range(int(args, 1), int(args, 2), 1n, ctx.charge)),
  builtin("numbers.range_step", 3, (args, ctx) => {
    const step = int(args, 3);
    if (step <= 0n) throw builtinError("step must be a positive number above zero");
    return range(int(args, 1), int(args, 2), step, ctx.charge);
  }),
  builtin("to_number", 1, (args) => {
    const v = args[0] as Value;
    if (v === null) return 0;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (isNumber(v)) return v;
    if (typeof v !== "string") throw operandError(1, v, "null", "boolean", "number", "string");
    const exact = parseNumberLiteral(v.startsWith("+") ? v.slice(1) : v);
    if (exact !== undefined) return exact;
    // Go's strconv.ParseFloat also takes ".5", "5.", "1_000" is not accepted.
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) {
      const d = Number(v);
      if (Number.isFinite(d)) return normalizeNumber(d);
    }
    throw builtinError(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
  }),
  builtin("rand.intn", 2, (args, ctx) => {
    if (typeof args[0] !== "string") throw operandError(1, args[0] as Value, "string");
    const n = int(args, 2);
    if (n === 0n) return 0;
    const bound = n < 0n ? -n : n;
    if (bound > BigInt(Number.MAX_SAFE_INTEGER)) throw builtinError("operand 2 is too large");
    const key = `rand.intn\u0000${args[0]}\u0000${n}`;
    const seen = ctx.memo.get(key);
    if (seen !== undefined) return seen;
    const r = Math.floor(ctx.random() * Number(bound));
    ctx.memo.set(key, r);
    return r;
  }, { volatile: true }),
  bitsOp("bits.and", (a, b) => a & b),
  bitsOp("bits.or", (a, b) => a | b),
  bitsOp("bits.xor", (a, b) => a ^ b),
  bitsOp("bits.lsh", (a, b) => {
    if (b < 0n) throw builtinError("shift count must be non-negative");
    if (b > 4096n) throw builtinError("shift count is too large");
    return a << b;
  }),
  bitsOp("bits.rsh", (a, b) => {
    if (b < 0n) throw builtinError("shift count must be non-negative");
    return a >> b;
  }),
  builtin("bits.negate", 1, (args) => normalizeNumber(~int(args, 1))),
];

/** Whether a number operand is integral (for built-ins that round). */
export function isIntegral(n: RegoNumber): boolean {
  return isInteger(n);
}
