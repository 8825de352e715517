/**
 * Comparison, membership, aggregates, arrays, sets and types: `==` and friends, `in`
 * (`internal.member_2`/`_3`), `count`, `sum`, `product`, `max`, `min`, `sort`, `all`/`any`
 * (v0 only), `array.*`, `intersection`, `union`, `|`, `&`, the `is_*` checks and `type_name`.
 *
 * @module
 */

import {
  compareValues,
  equalValues,
  isNumber,
  type RegoNumber,
  RegoObject,
  RegoSet,
  typeName,
  type Value,
} from "../value.ts";
import { addNumbers, mulNumbers } from "./numbers.ts";
import { arr, type Builtin, builtin, collection, int, operandError, set } from "./registry.ts";
import { BuiltinError } from "../errors.ts";

function compare(name: string, f: (c: number) => boolean): Builtin {
  return builtin(name, 2, (args) => f(compareValues(args[0] as Value, args[1] as Value)));
}

/** `x in coll`: an array element, set element or object value equal to `x`. */
function member(x: Value, coll: Value): boolean {
  if (Array.isArray(coll)) return coll.some((e) => equalValues(e, x));
  if (coll instanceof RegoSet) return coll.has(x);
  if (coll instanceof RegoObject) {
    for (const [, v] of coll.entries()) if (equalValues(v, x)) return true;
  }
  return false;
}

function numbersOf(args: readonly Value[]): RegoNumber[] {
  const items = collection(args, 1, "set", "array");
  return items.map((e) => {
    if (!isNumber(e)) {
      throw new BuiltinError(
        "eval_type_error",
        `operand 1 must be one of {set, array} containing numbers but got ${typeName(e)}`,
      );
    }
    return e;
  });
}

function countRunes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function isType(name: string, t: string): Builtin {
  return builtin(name, 1, (args) => typeName(args[0] as Value) === t);
}

/** The collection built-ins. */
export const COLLECTION_BUILTINS: readonly Builtin[] = [
  builtin("equal", 2, (args) => equalValues(args[0] as Value, args[1] as Value)),
  builtin("neq", 2, (args) => !equalValues(args[0] as Value, args[1] as Value)),
  compare("lt", (c) => c < 0),
  compare("gt", (c) => c > 0),
  compare("lte", (c) => c <= 0),
  compare("gte", (c) => c >= 0),
  builtin("internal.member_2", 2, (args) => member(args[0] as Value, args[1] as Value)),
  builtin("internal.member_3", 3, (args) => {
    const [k, v, coll] = args as [Value, Value, Value];
    if (coll === null || typeof coll !== "object") return false;
    let got: Value | undefined;
    if (Array.isArray(coll)) {
      got = typeof k === "number" && Number.isInteger(k) ? coll[k] : undefined;
    } else if (coll instanceof RegoObject) got = coll.get(k);
    else if (coll instanceof RegoSet) got = coll.has(k) ? k : undefined;
    return got !== undefined && equalValues(got, v);
  }),
  builtin("count", 1, (args) => {
    const v = args[0] as Value;
    if (typeof v === "string") return countRunes(v);
    if (Array.isArray(v)) return v.length;
    if (v instanceof RegoSet || v instanceof RegoObject) return v.size;
    throw operandError(1, v, "array", "object", "set", "string");
  }),
  builtin(
    "sum",
    1,
    (args) => numbersOf(args).reduce<RegoNumber>((a, b) => addNumbers(a, b), 0),
  ),
  builtin(
    "product",
    1,
    (args) => numbersOf(args).reduce<RegoNumber>((a, b) => mulNumbers(a, b), 1),
  ),
  builtin("max", 1, (args) => {
    const items = collection(args, 1, "set", "array");
    if (items.length === 0) return undefined;
    return items.reduce((a, b) => compareValues(a, b) >= 0 ? a : b);
  }),
  builtin("min", 1, (args) => {
    const items = collection(args, 1, "set", "array");
    if (items.length === 0) return undefined;
    return items.reduce((a, b) => compareValues(a, b) <= 0 ? a : b);
  }),
  builtin("sort", 1, (args, ctx) => {
    const items = collection(args, 1, "array", "set");
    ctx.charge(items.length);
    return [...items].sort(compareValues);
  }),
  builtin("all", 1, (args) => collection(args, 1, "array", "set").every((e) => e === true), {
    v0Only: true,
  }),
  builtin("any", 1, (args) => collection(args, 1, "array", "set").some((e) => e === true), {
    v0Only: true,
  }),
  builtin("array.concat", 2, (args, ctx) => {
    const a = arr(args, 1);
    const b = arr(args, 2);
    ctx.charge(a.length + b.length);
    return [...a, ...b];
  }),
  builtin("array.slice", 3, (args) => {
    const a = arr(args, 1);
    let start = Number(int(args, 2));
    let stop = Number(int(args, 3));
    if (start < 0) start = 0;
    if (stop > a.length) stop = a.length;
    if (start >= stop) return [];
    return a.slice(start, stop);
  }),
  builtin("array.reverse", 1, (args) => [...arr(args, 1)].reverse()),
  builtin("and", 2, (args) => {
    const a = set(args, 1);
    const b = set(args, 2);
    return new RegoSet([...a.values()].filter((x) => b.has(x)));
  }),
  builtin("or", 2, (args, ctx) => {
    const a = set(args, 1);
    const b = set(args, 2);
    ctx.charge(a.size + b.size);
    return new RegoSet([...a.values(), ...b.values()]);
  }),
  builtin("intersection", 1, (args) => {
    const sets = set(args, 1);
    let out: RegoSet | undefined;
    for (const s of sets.values()) {
      if (!(s instanceof RegoSet)) throw operandError(1, s, "set of sets");
      out = out === undefined ? s : new RegoSet([...out.values()].filter((x) => s.has(x)));
    }
    return out ?? new RegoSet();
  }),
  builtin("union", 1, (args, ctx) => {
    const sets = set(args, 1);
    const out = new RegoSet();
    for (const s of sets.values()) {
      if (!(s instanceof RegoSet)) throw operandError(1, s, "set of sets");
      ctx.charge(s.size);
      for (const x of s.values()) out.add(x);
    }
    return out;
  }),
  builtin("set_diff", 2, (args) => {
    const a = set(args, 1);
    const b = set(args, 2);
    return new RegoSet([...a.values()].filter((x) => !b.has(x)));
  }, { v0Only: true }),
  isType("is_number", "number"),
  isType("is_string", "string"),
  isType("is_boolean", "boolean"),
  isType("is_array", "array"),
  isType("is_set", "set"),
  isType("is_object", "object"),
  isType("is_null", "null"),
  builtin("type_name", 1, (args) => typeName(args[0] as Value)),
  builtin("trace", 1, (args) => {
    if (typeof args[0] !== "string") throw operandError(1, args[0] as Value, "string");
    return true;
  }),
  // `print` is evaluated by the evaluator itself (its operands may be undefined).
  builtin("print", -1, () => true),
];
