/**
 * String built-ins, with Go's semantics where OPA delegates to Go's `strings` package: indices
 * and lengths count Unicode code points (Go runes), `split`/`replace` with an empty separator
 * work rune by rune, `trim*` take a cutset of runes, `trim_space` uses Unicode White_Space.
 *
 * @module
 */

import { BuiltinError } from "../errors.ts";
import { isNumber, type RegoObject, type Value } from "../value.ts";
import {
  arr,
  type Builtin,
  builtin,
  builtinError,
  int,
  num,
  obj,
  operandError,
  str,
  stringList,
} from "./registry.ts";
import { goSprintf } from "./sprintf.ts";

/** The code points of a string (Go's `[]rune(s)`). */
export function runes(s: string): string[] {
  return Array.from(s);
}

/** The rune index of a UTF-16 index. */
function runeIndex(s: string, utf16: number): number {
  let n = 0;
  for (let i = 0; i < utf16; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < utf16) i++;
    n++;
  }
  return n;
}

/** Go's `strings.Split`. */
export function goSplit(s: string, sep: string, charge: (n: number) => void): string[] {
  if (sep === "") {
    const r = runes(s);
    charge(r.length);
    return r;
  }
  const parts = s.split(sep);
  charge(parts.length);
  return parts;
}

/** Go's `strings.ReplaceAll`. */
function goReplaceAll(s: string, old: string, rep: string, charge: (n: number) => void): string {
  if (old === "") {
    const r = runes(s);
    charge((r.length + 1) * (rep.length + 1));
    return rep + r.map((c) => c + rep).join("");
  }
  const parts = s.split(old);
  charge(parts.length * (rep.length + 1));
  return parts.join(rep);
}

function trimSet(cutset: string): Set<string> {
  return new Set(runes(cutset));
}

function trimLeft(s: string, cut: Set<string>): string {
  const r = runes(s);
  let i = 0;
  while (i < r.length && cut.has(r[i] as string)) i++;
  return r.slice(i).join("");
}

function trimRight(s: string, cut: Set<string>): string {
  const r = runes(s);
  let j = r.length;
  while (j > 0 && cut.has(r[j - 1] as string)) j--;
  return r.slice(0, j).join("");
}

const WHITE = /^[\p{White_Space}]+|[\p{White_Space}]+$/gu;

function anyMatch(args: readonly Value[], test: (s: string, b: string) => boolean): boolean {
  const search = stringList(args, 1, true);
  const bases = stringList(args, 2, true);
  return search.some((s) => bases.some((b) => test(s, b)));
}

/** Go's `strings.NewReplacer(old1, new1, ...).Replace(s)`: leftmost match, first pair wins. */
function replaceN(patterns: RegoObject, s: string, charge: (n: number) => void): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of patterns.sorted()) {
    if (typeof k !== "string") throw operandError(1, k, "object[string: string]");
    if (typeof v !== "string") {
      throw new BuiltinError(
        "eval_type_error",
        `operand 1 must be object[string: string] but got object containing ${
          typeof v === "object" ? "composite" : typeof v
        }`,
      );
    }
    pairs.push([k, v]);
  }
  charge(s.length * Math.max(1, pairs.length));
  let out = "";
  let i = 0;
  outer: while (i < s.length) {
    for (const [o, n] of pairs) {
      if (o !== "" && s.startsWith(o, i)) {
        out += n;
        i += o.length;
        continue outer;
      }
    }
    out += s[i];
    i++;
  }
  return out;
}

/** The string built-ins. */
export const STRING_BUILTINS: readonly Builtin[] = [
  builtin("concat", 2, (args, ctx) => {
    const sep = str(args, 1);
    const items = stringList(args, 2);
    ctx.charge(items.length);
    return items.join(sep);
  }),
  builtin("contains", 2, (args) => str(args, 1).includes(str(args, 2))),
  builtin("startswith", 2, (args) => str(args, 1).startsWith(str(args, 2))),
  builtin("endswith", 2, (args) => str(args, 1).endsWith(str(args, 2))),
  builtin("lower", 1, (args) => str(args, 1).toLowerCase()),
  builtin("upper", 1, (args) => str(args, 1).toUpperCase()),
  builtin("format_int", 2, (args) => {
    const n = num(args, 1);
    const base = args[1] as Value;
    if (!isNumber(base) || ![2, 8, 10, 16].includes(Number(base))) {
      throw new BuiltinError("eval_type_error", "operand 2 must be one of {2, 8, 10, 16}");
    }
    const i = typeof n === "bigint" ? n : BigInt(Math.trunc(n));
    return i.toString(Number(base));
  }),
  builtin("indexof", 2, (args) => {
    const s = str(args, 1);
    const sub = str(args, 2);
    if (sub === "") throw builtinError("empty search character");
    const i = s.indexOf(sub);
    return i < 0 ? -1 : runeIndex(s, i);
  }),
  builtin("indexof_n", 2, (args, ctx) => {
    const s = str(args, 1);
    const sub = str(args, 2);
    if (sub === "") throw builtinError("empty search character");
    const out: Value[] = [];
    let i = s.indexOf(sub);
    while (i >= 0) {
      ctx.charge(1);
      out.push(runeIndex(s, i));
      i = s.indexOf(sub, i + 1);
    }
    return out;
  }),
  builtin(
    "replace",
    3,
    (args, ctx) => goReplaceAll(str(args, 1), str(args, 2), str(args, 3), ctx.charge),
  ),
  builtin("split", 2, (args, ctx) => goSplit(str(args, 1), str(args, 2), ctx.charge)),
  builtin("strings.replace_n", 2, (args, ctx) => replaceN(obj(args, 1), str(args, 2), ctx.charge)),
  builtin("strings.reverse", 1, (args) => runes(str(args, 1)).reverse().join("")),
  builtin("strings.any_prefix_match", 2, (args) => anyMatch(args, (s, b) => s.startsWith(b))),
  builtin("strings.any_suffix_match", 2, (args) => anyMatch(args, (s, b) => s.endsWith(b))),
  builtin("strings.count", 2, (args) => {
    const s = str(args, 1);
    const sub = str(args, 2);
    if (sub === "") return runes(s).length + 1;
    return s.split(sub).length - 1;
  }),
  builtin("substring", 3, (args) => {
    const s = str(args, 1);
    const start = int(args, 2);
    const length = int(args, 3);
    if (start < 0n) throw builtinError("negative offset");
    const r = runes(s);
    if (start >= BigInt(r.length)) return "";
    const from = Number(start);
    if (length < 0n) return r.slice(from).join("");
    const upto = BigInt(from) + length > BigInt(r.length) ? r.length : from + Number(length);
    return r.slice(from, upto).join("");
  }),
  builtin("trim", 2, (args) => {
    const cut = trimSet(str(args, 2));
    return trimRight(trimLeft(str(args, 1), cut), cut);
  }),
  builtin("trim_left", 2, (args) => trimLeft(str(args, 1), trimSet(str(args, 2)))),
  builtin("trim_right", 2, (args) => trimRight(str(args, 1), trimSet(str(args, 2)))),
  builtin("trim_prefix", 2, (args) => {
    const s = str(args, 1);
    const p = str(args, 2);
    return s.startsWith(p) ? s.slice(p.length) : s;
  }),
  builtin("trim_suffix", 2, (args) => {
    const s = str(args, 1);
    const p = str(args, 2);
    return p !== "" && s.endsWith(p) ? s.slice(0, s.length - p.length) : s;
  }),
  builtin("trim_space", 1, (args) => str(args, 1).replace(WHITE, "")),
  builtin("sprintf", 2, (args, ctx) => {
    const format = str(args, 1);
    const values = arr(args, 2);
    ctx.charge(values.length);
    return goSprintf(format, values);
  }),
];
