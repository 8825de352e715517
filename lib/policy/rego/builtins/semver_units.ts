/**
 * `semver.is_valid` / `semver.compare` (Semantic Versioning 2.0.0: no `v` prefix, no leading
 * zeros, build metadata ignored in comparisons) and `units.parse` / `units.parse_bytes`
 * (OPA's decimal and binary SI suffixes; results exact where integral).
 *
 * @module
 */

import { normalizeNumber, type RegoNumber, type Value } from "../value.ts";
import { type Builtin, builtin, builtinError, str } from "./registry.ts";

interface SemVer {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: readonly string[];
}

const NUM = "(0|[1-9]\\d*)";
const PRE_ID = "(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)";
const SEMVER = new RegExp(
  `^${NUM}\\.${NUM}\\.${NUM}(?:-(${PRE_ID}(?:\\.${PRE_ID})*))?(?:\\+([0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*))?$`,
);

function parseSemver(s: string): SemVer | undefined {
  if (s.length > 1024) return undefined;
  const m = SEMVER.exec(s);
  if (m === null) return undefined;
  return {
    major: BigInt(m[1] as string),
    minor: BigInt(m[2] as string),
    patch: BigInt(m[3] as string),
    pre: m[4] === undefined ? [] : m[4].split("."),
  };
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Semantic Versioning 2.0.0 section 11 precedence. */
function compareSemver(a: SemVer, b: SemVer): number {
  const c = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (c !== 0) return c;
  if (a.pre.length === 0 || b.pre.length === 0) {
    return a.pre.length === b.pre.length ? 0 : a.pre.length === 0 ? 1 : -1;
  }
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i] as string;
    const y = b.pre[i] as string;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    let d: number;
    if (xn && yn) d = cmp(BigInt(x), BigInt(y));
    else if (xn) d = -1;
    else if (yn) d = 1;
    else d = x < y ? -1 : x > y ? 1 : 0;
    if (d !== 0) return d;
  }
  return a.pre.length < b.pre.length ? -1 : a.pre.length > b.pre.length ? 1 : 0;
}

/** `num` (digits and one dot) times `unit` (an exact multiplier `num/den`), exactly if integral. */
function scale(num: string, unitNum: bigint, unitDen: bigint, what: string): RegoNumber {
  if (!/^(\d+\.?\d*|\.\d+)$/.test(num)) throw builtinError(`could not parse ${what} to a number`);
  const [int = "", frac = ""] = num.split(".");
  const digits = BigInt((int + frac) === "" ? "0" : int + frac);
  const den = 10n ** BigInt(frac.length) * unitDen;
  const n = digits * unitNum;
  if (n % den === 0n) return normalizeNumber(n / den);
  return normalizeNumber(Number(n) / Number(den));
}

function split(s: string): [string, string] {
  const i = s.search(/[^0-9.]/);
  return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i)];
}

const DECIMAL: Record<string, bigint> = {
  k: 10n ** 3n,
  m: 10n ** 6n,
  g: 10n ** 9n,
  t: 10n ** 12n,
  p: 10n ** 15n,
  e: 10n ** 18n,
};
const BINARY: Record<string, bigint> = {
  k: 1n << 10n,
  m: 1n << 20n,
  g: 1n << 30n,
  t: 1n << 40n,
  p: 1n << 50n,
  e: 1n << 60n,
};

function parseUnits(raw: string): RegoNumber {
  const s = raw.replaceAll('"', "");
  if (s.includes(" ")) throw builtinError("spaces not allowed in resource strings");
  const [num, u] = split(s);
  if (num === "") throw builtinError("no amount provided");
  // OPA lower-cases all but the first letter, so that "m" (milli) and "M" (mega) differ.
  const unit = u.length > 1 ? u[0] + u.slice(1).toLowerCase() : u;
  if (unit === "") return scale(num, 1n, 1n, "amount");
  if (unit === "m") return scale(num, 1n, 1000n, "amount");
  const first = (unit[0] as string).toLowerCase();
  if (unit.length === 2 && unit[1] === "i" && BINARY[first] !== undefined) {
    return scale(num, BINARY[first] as bigint, 1n, "amount");
  }
  if (unit.length === 1 && DECIMAL[first] !== undefined && unit !== "m") {
    return scale(num, DECIMAL[first] as bigint, 1n, "amount");
  }
  throw builtinError(`unit ${unit} not recognized`);
}

function parseBytes(raw: string): RegoNumber {
  const s = raw.replaceAll('"', "").toLowerCase();
  if (s.includes(" ")) throw builtinError("spaces not allowed in resource strings");
  const [num, unit] = split(s);
  if (num === "") throw builtinError("no byte amount provided");
  let mult: bigint | undefined;
  if (unit === "" || unit === "b") mult = 1n;
  else {
    const m = /^([kmgtpe])(i?)(b?)$/.exec(unit);
    if (m !== null) mult = (m[2] === "i" ? BINARY : DECIMAL)[m[1] as string];
  }
  if (mult === undefined) throw builtinError(`byte unit ${unit} not recognized`);
  const v = scale(num, mult, 1n, "byte amount");
  // OPA truncates the product to an integer number of bytes.
  return typeof v === "number" && !Number.isInteger(v) ? normalizeNumber(Math.trunc(v)) : v;
}

/** The semver and units built-ins. */
export const SEMVER_UNITS_BUILTINS: readonly Builtin[] = [
  builtin("semver.is_valid", 1, (args) => {
    const v = args[0] as Value;
    return typeof v === "string" && parseSemver(v) !== undefined;
  }),
  builtin("semver.compare", 2, (args) => {
    const a = str(args, 1);
    const b = str(args, 2);
    const pa = parseSemver(a);
    if (pa === undefined) {
      throw builtinError(`operand 1: string ${JSON.stringify(a)} is not a valid SemVer`);
    }
    const pb = parseSemver(b);
    if (pb === undefined) {
      throw builtinError(`operand 2: string ${JSON.stringify(b)} is not a valid SemVer`);
    }
    return compareSemver(pa, pb);
  }),
  builtin("units.parse", 1, (args) => parseUnits(str(args, 1))),
  builtin("units.parse_bytes", 1, (args) => parseBytes(str(args, 1))),
];
