/**
 * Regex and glob built-ins: `regex.match` (and v0 `re_match`), `regex.is_valid`,
 * `regex.find_n`, `regex.find_all_string_submatch_n`, `regex.replace`, `regex.split`,
 * `glob.match` and `glob.quote_meta`.
 *
 * Patterns are Go RE2 syntax, run by the linear-time matcher of `../re2.ts` (never by
 * JavaScript's backtracking `RegExp`). Inputs are bounded by {@link MAX_INPUT}; the matcher
 * checks the evaluation deadline while it runs. Globs follow `gobwas/glob` (which OPA uses):
 * `*` stops at delimiters, `**` does not, `?`, `[abc]`, `[!a-z]`, `{a,b}`, `\` escapes; they are
 * translated to RE2 and matched the same way.
 *
 * @module
 */

import { limitError } from "../errors.ts";
import { compileRe2, type Re2, RegexSyntaxError } from "../re2.ts";
import type { Value } from "../value.ts";
import {
  type Builtin,
  builtin,
  type BuiltinContext,
  builtinError,
  int,
  operandError,
  str,
} from "./registry.ts";

/** Longest string a regex or glob built-in matches against (1 MiB). */
export const MAX_INPUT = 1 << 20;

function re(pattern: string): Re2 {
  try {
    return compileRe2(pattern);
  } catch (e) {
    if (e instanceof RegexSyntaxError) throw builtinError(`error parsing regexp: ${e.message}`);
    throw e;
  }
}

function input(args: readonly Value[], pos: number): string {
  const s = str(args, pos);
  if (s.length > MAX_INPUT) throw limitError(`regex input is longer than ${MAX_INPUT} characters`);
  return s;
}

function tick(ctx: BuiltinContext): () => void {
  return () => {
    ctx.charge(64);
    ctx.checkDeadline();
  };
}

/** Go's `Regexp.Expand` template: `$1`, `${1}`, `$name`, `${name}`, `$$`. */
function expand(template: string, s: string, m: number[], r: Re2): string {
  return template.replace(
    /\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g,
    (_all, d: string, braced?: string, bare?: string) => {
      if (d === "$") return "$";
      const name = braced ?? bare ?? "";
      let idx = /^\d+$/.test(name) ? Number(name) : r.names.indexOf(name);
      if (idx < 0 || idx > r.groups) idx = -1;
      if (idx < 0) return "";
      const a = m[2 * idx] as number;
      const b = m[2 * idx + 1] as number;
      return a < 0 ? "" : s.slice(a, b);
    },
  );
}

/** Translate a glob to RE2 (gobwas/glob semantics). */
export function globToRe2(pattern: string, delimiters: readonly string[]): string {
  const delim = delimiters.map((d) => d.replace(/[\\\]\[^-]/g, "\\$&")).join("");
  const notDelim = delim === "" ? "(?s:.)" : `[^${delim}]`;
  let out = "";
  let i = 0;
  const chars = Array.from(pattern);
  const meta = (c: string) => c.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
  let depth = 0;
  while (i < chars.length) {
    const c = chars[i] as string;
    if (c === "\\") {
      const n = chars[i + 1];
      if (n === undefined) throw builtinError("unexpected end of input");
      out += meta(n);
      i += 2;
    } else if (c === "*") {
      if (chars[i + 1] === "*") {
        out += "(?s:.)*";
        i += 2;
      } else {
        out += `${notDelim}*`;
        i++;
      }
    } else if (c === "?") {
      out += notDelim;
      i++;
    } else if (c === "[") {
      const end = chars.indexOf("]", i + 1);
      if (end < 0) throw builtinError("unexpected end of input");
      let body = chars.slice(i + 1, end).join("");
      let neg = false;
      if (body.startsWith("!")) {
        neg = true;
        body = body.slice(1);
      }
      out += `[${neg ? "^" : ""}${body.replace(/[\\\]\[^]/g, "\\$&")}]`;
      i = end + 1;
    } else if (c === "{") {
      out += "(?:";
      depth++;
      i++;
    } else if (c === "}" && depth > 0) {
      out += ")";
      depth--;
      i++;
    } else if (c === "," && depth > 0) {
      out += "|";
      i++;
    } else {
      out += meta(c);
      i++;
    }
  }
  if (depth > 0) throw builtinError("unexpected end of input");
  return `^(?:${out})$`;
}

/** The regex and glob built-ins. */
export const REGEX_BUILTINS: readonly Builtin[] = [
  builtin("regex.match", 2, (args, ctx) => re(str(args, 1)).test(input(args, 2), tick(ctx))),
  builtin("re_match", 2, (args, ctx) => re(str(args, 1)).test(input(args, 2), tick(ctx)), {
    v0Only: true,
  }),
  builtin("regex.is_valid", 1, (args) => {
    const p = args[0];
    if (typeof p !== "string") return false;
    try {
      compileRe2(p);
      return true;
    } catch {
      return false;
    }
  }),
  builtin("regex.find_n", 3, (args, ctx) => {
    const r = re(str(args, 1));
    const s = input(args, 2);
    const n = Number(int(args, 3));
    return r.findAll(s, n, tick(ctx)).map((m) => s.slice(m[0], m[1]));
  }),
  builtin("regex.find_all_string_submatch_n", 3, (args, ctx) => {
    const r = re(str(args, 1));
    const s = input(args, 2);
    const n = Number(int(args, 3));
    return r.findAll(s, n, tick(ctx)).map((m) => {
      const groups: Value[] = [];
      for (let g = 0; g <= r.groups; g++) {
        const a = m[2 * g] as number;
        groups.push(a < 0 ? "" : s.slice(a, m[2 * g + 1]));
      }
      return groups;
    });
  }),
  builtin("regex.replace", 3, (args, ctx) => {
    const s = input(args, 1);
    const r = re(str(args, 2));
    const repl = str(args, 3);
    let out = "";
    let last = 0;
    for (const m of r.findAll(s, -1, tick(ctx))) {
      out += s.slice(last, m[0]) + expand(repl, s, m, r);
      last = m[1] as number;
      ctx.charge(1);
    }
    return out + s.slice(last);
  }),
  builtin("regex.split", 2, (args, ctx) => {
    const r = re(str(args, 1));
    const s = input(args, 2);
    // Go's Regexp.Split(s, -1).
    if (s === "") return [""];
    const out: Value[] = [];
    let beg = 0;
    for (const m of r.findAll(s, -1, tick(ctx))) {
      const [a, b] = m as [number, number];
      if (b === 0) continue;
      out.push(s.slice(beg, a));
      beg = b;
    }
    out.push(s.slice(beg));
    return out;
  }),
  builtin("glob.match", 3, (args, ctx) => {
    const pattern = str(args, 1);
    const d = args[1] as Value;
    let delimiters: string[];
    if (d === null) delimiters = [];
    else if (Array.isArray(d)) {
      delimiters = d.map((x) => {
        if (typeof x !== "string") throw operandError(2, x, "string");
        return x;
      });
      if (delimiters.length === 0) delimiters = ["."];
    } else throw operandError(2, d, "array", "null");
    const chars = delimiters.flatMap((x) => Array.from(x));
    return re(globToRe2(pattern, chars)).test(input(args, 3), tick(ctx));
  }),
  builtin("glob.quote_meta", 1, (args) => str(args, 1).replace(/[*?\\[\]{}]/g, "\\$&")),
];
