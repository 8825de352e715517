/**
 * `sprintf(format, values)` with Go's `fmt` semantics, as OPA calls `fmt.Sprintf`.
 *
 * OPA hands Go one argument per value: integral numbers as integers (`int`, or `*big.Int` past
 * 64 bits), other numbers as `float64`, strings as strings, and every other value as its Rego
 * text (`true`, `null`, `["a", 1]`, `{1, 2}`). So the verb meets Go's type rules:
 * `sprintf("%s", [5])` is `%!s(int=5)` and `sprintf("%d", ["5"])` is `%!d(string=5)`, exactly as
 * OPA prints them. Supported verbs: `%v %s %q %d %b %o %O %x %X %c %U %e %E %f %F %g %G %t %%`,
 * with flags `+ - # 0 space`, width and precision (`*` is not supported).
 *
 * @module
 */

import { formatValue, isNumber, toBigInt, type Value } from "../value.ts";

type Arg =
  | { readonly kind: "int"; readonly value: bigint; readonly big: boolean }
  | { readonly kind: "float"; readonly value: number }
  | { readonly kind: "string"; readonly value: string };

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** The Go value OPA passes for a Rego value. */
function toArg(v: Value): Arg {
  if (isNumber(v)) {
    const i = toBigInt(v);
    if (i !== undefined) return { kind: "int", value: i, big: i > INT64_MAX || i < INT64_MIN };
    return { kind: "float", value: v as number };
  }
  if (typeof v === "string") return { kind: "string", value: v };
  return { kind: "string", value: formatValue(v) };
}

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
}

function pad(s: string, spec: Spec, numeric: boolean): string {
  const w = spec.width;
  if (w === undefined || [...s].length >= w) return s;
  const fill = w - [...s].length;
  if (spec.minus) return s + " ".repeat(fill);
  if (spec.zero && numeric) {
    // Zeros go after the sign (and after a 0x prefix).
    const m = /^([+\- ]?(?:0[xXbo])?)(.*)$/s.exec(s);
    const prefix = m?.[1] ?? "";
    return prefix + "0".repeat(fill) + (m?.[2] ?? s);
  }
  return " ".repeat(fill) + s;
}

function goTypeName(a: Arg): string {
  if (a.kind === "int") return a.big ? "*big.Int" : "int";
  return a.kind === "float" ? "float64" : "string";
}

function goDefault(a: Arg): string {
  if (a.kind === "int") return a.value.toString();
  if (a.kind === "float") return formatG(a.value, undefined, false);
  return a.value;
}

function badVerb(verb: string, a: Arg): string {
  return `%!${verb}(${goTypeName(a)}=${goDefault(a)})`;
}

function sign(neg: boolean, spec: Spec): string {
  return neg ? "-" : spec.plus ? "+" : spec.space ? " " : "";
}

function formatInt(a: bigint, verb: string, spec: Spec): string {
  const neg = a < 0n;
  const abs = neg ? -a : a;
  let digits: string;
  let prefix = "";
  switch (verb) {
    case "b":
      digits = abs.toString(2);
      if (spec.sharp) prefix = "0b";
      break;
    case "o":
      digits = abs.toString(8);
      if (spec.sharp) prefix = "0";
      break;
    case "O":
      digits = abs.toString(8);
      prefix = "0o";
      break;
    case "x":
      digits = abs.toString(16);
      if (spec.sharp) prefix = "0x";
      break;
    case "X":
      digits = abs.toString(16).toUpperCase();
      if (spec.sharp) prefix = "0X";
      break;
    default:
      digits = abs.toString(10);
  }
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && abs === 0n) digits = "";
    digits = digits.padStart(spec.prec, "0");
  }
  const zeroSpec = spec.prec === undefined ? spec : { ...spec, zero: false };
  return pad(sign(neg, spec) + prefix + digits, zeroSpec, true);
}

/** Go's two-digit exponent: `e+06`, `e-07`. */
function goExponent(s: string): string {
  return s.replace(/e([+-])(\d+)$/, (_, sgn: string, d: string) => `e${sgn}${d.padStart(2, "0")}`);
}

/** `%e` with precision `p` (default 6). */
function formatE(x: number, p: number | undefined, upper: boolean): string {
  let s = goExponent(Math.abs(x).toExponential(Math.min(p ?? 6, 100)));
  if (upper) s = s.toUpperCase();
  return s;
}

/** `%f` with precision `p` (default 6). */
function formatF(x: number, p: number | undefined): string {
  const prec = Math.min(p ?? 6, 100);
  const abs = Math.abs(x);
  if (abs < 1e21) return abs.toFixed(prec);
  // toFixed switches to exponent form past 1e21: write the integer digits out.
  const int = BigInt(Math.trunc(abs)).toString();
  return prec > 0 ? `${int}.${"0".repeat(prec)}` : int;
}

/** `%g` (and `%v` of floats): shortest digits, exponent form below 1e-4 or from 1e6 (Go). */
function formatG(x: number, p: number | undefined, upper: boolean): string {
  const abs = Math.abs(x);
  let out: string;
  if (abs === 0) out = "0";
  else if (p === undefined) {
    // Shortest representation; Go's strconv 'g' with precision -1 decides with precision 6.
    const [mant = "", expText = "0"] = abs.toExponential().split("e");
    const exp = Number(expText);
    if (exp < -4 || exp >= 6) out = goExponent(`${mant}e${exp >= 0 ? "+" : ""}${exp}`);
    else out = String(abs);
  } else {
    const prec = p === 0 ? 1 : p;
    const e = abs.toExponential(prec - 1);
    const exp = Number(e.split("e")[1]);
    if (exp < -4 || exp >= prec) {
      out = goExponent(e.replace(/\.?0+e/, "e"));
    } else {
      out = abs.toFixed(Math.max(0, prec - 1 - exp)).replace(/(\.\d*?)0+$/, "$1").replace(
        /\.$/,
        "",
      );
    }
  }
  return upper ? out.toUpperCase() : out;
}

function formatFloat(x: number, verb: string, spec: Spec): string {
  if (!Number.isFinite(x)) {
    const s = Number.isNaN(x) ? "NaN" : (x < 0 ? "-Inf" : spec.plus ? "+Inf" : "+Inf".slice(1));
    return pad(s, { ...spec, zero: false }, false);
  }
  let body: string;
  switch (verb) {
    case "e":
    case "E":
      body = formatE(x, spec.prec, verb === "E");
      break;
    case "f":
    case "F":
      body = formatF(x, spec.prec);
      break;
    default:
      body = formatG(x, spec.prec, verb === "G");
  }
  return pad(sign(x < 0 || Object.is(x, -0), spec) + body, spec, true);
}

/** Go's `strconv.Quote`. */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c === 0x07) out += "\\a";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x0b) out += "\\v";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}

function formatArg(verb: string, a: Arg, spec: Spec): string {
  if (a.kind === "string") return formatStringArg(verb, a, spec);
  if (a.kind === "int") return formatIntArg(verb, a, spec);
  return formatFloatArg(verb, a, spec);
}

function formatStringArg(verb: string, a: Arg & { kind: "string" }, spec: Spec): string {
  switch (verb) {
    case "v":
    case "s": {
      const s = spec.prec === undefined ? a.value : [...a.value].slice(0, spec.prec).join("");
      return pad(s, spec, false);
    }
    case "q":
      return pad(goQuote(a.value), spec, false);
    case "x":
    case "X": {
      let hex = [...new TextEncoder().encode(a.value)].map((b) => b.toString(16).padStart(2, "0"))
        .join(spec.space ? " " : "");
      if (verb === "X") hex = hex.toUpperCase();
      return pad(hex, spec, false);
    }
    default:
      return badVerb(verb, a);
  }
}

function formatIntArg(verb: string, a: Arg & { kind: "int" }, spec: Spec): string {
  switch (verb) {
    case "v":
    case "d":
    case "b":
    case "o":
    case "O":
    case "x":
    case "X":
      return formatInt(a.value, verb, spec);
    case "s":
      // *big.Int formats %s as decimal; a plain int does not take %s.
      return a.big ? formatInt(a.value, "d", spec) : badVerb(verb, a);
    case "c":
      return a.big
        ? badVerb(verb, a)
        : pad(String.fromCodePoint(Number(a.value) & 0x10ffff), spec, false);
    case "q":
      return a.big
        ? badVerb(verb, a)
        : pad(`'${String.fromCodePoint(Number(a.value) & 0x10ffff)}'`, spec, false);
    case "U":
      return a.big
        ? badVerb(verb, a)
        : pad("U+" + a.value.toString(16).toUpperCase().padStart(4, "0"), spec, false);
    default:
      return badVerb(verb, a);
  }
}

function formatFloatArg(verb: string, a: Arg & { kind: "float" }, spec: Spec): string {
  switch (verb) {
    case "v":
    case "e":
    case "E":
    case "f":
    case "F":
    case "g":
    case "G":
      return formatFloat(a.value, verb, spec);
    default:
      return badVerb(verb, a);
  }
}

/** Format `values` by `format` as Go's `fmt.Sprintf` would with OPA's argument conversion. */
export function goSprintf(format: string, values: readonly Value[]): string {
  const args = values.map(toArg);
  let out = "";
  let argi = 0;
  let i = 0;
  while (i < format.length) {
    const c = format[i] as string;
    if (c !== "%") {
      const next = format.indexOf("%", i);
      const end = next < 0 ? format.length : next;
      out += format.slice(i, end);
      i = end;
      continue;
    }
    i++;
    const spec: Spec = {
      minus: false,
      plus: false,
      sharp: false,
      space: false,
      zero: false,
      width: undefined,
      prec: undefined,
    };
    for (; i < format.length; i++) {
      const f = format[i];
      if (f === "-") spec.minus = true;
      else if (f === "+") spec.plus = true;
      else if (f === "#") spec.sharp = true;
      else if (f === " ") spec.space = true;
      else if (f === "0") spec.zero = !spec.minus;
      else break;
    }
    let w = "";
    while (i < format.length && /\d/.test(format[i] as string)) w += format[i++];
    if (w !== "") spec.width = Math.min(Number(w), 10_000);
    if (format[i] === ".") {
      i++;
      let p = "";
      while (i < format.length && /\d/.test(format[i] as string)) p += format[i++];
      spec.prec = Math.min(Number(p === "" ? "0" : p), 10_000);
    }
    if (i >= format.length) {
      out += "%!(NOVERB)";
      break;
    }
    const verb = [...format.slice(i, i + 2)][0] as string;
    i += verb.length;
    if (verb === "%") {
      out += "%";
      continue;
    }
    const a = args[argi++];
    if (a === undefined) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    if (verb === "t") {
      out += badVerb(verb, a);
      continue;
    }
    out += formatArg(verb, a, spec);
  }
  if (argi < args.length) {
    out += "%!(EXTRA " + args.slice(argi).map((a) =>
      `${goTypeName(a)}=${goDefault(a)}`
    ).join(", ") + ")";
  }
  return out;
}
