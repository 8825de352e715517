/**
 * Conformance of the Rego engine with OPA's own test cases (`opa-cases/v1/**`, 39 categories)
 * and microsoft/regorus's interpreter cases (`regorus-cases/**`), read from
 * `../shared/interop/policy/` at test time (formats: that folder's README.md).
 *
 * Both run through the library's case runner (`lib/policy/opa_cases.ts`, the one behind
 * `dcosign policy test`): OPA's cases as they are, with the exceptions file
 * `tests/testdata/policy/opa_cases_v1_exceptions.yaml` (the files written in Rego v0, the cases
 * skipped and why) that `dcosign policy test --exceptions` reads too; regorus's through the
 * adapter in `_rego_cases.ts`.
 *
 * One test per category asserts its pass rate against the floor recorded in `FLOORS` (so that
 * a regression fails); the last test prints the table (category, passed, failed, skipped) and
 * asserts the overall target: at least 95% of the cases that are not skipped, and that every
 * exception matched a case. Skips are listed in the exceptions file or in `REGORUS_SKIPS` with
 * their reason; nothing is skipped silently. `REGO_CASES_VERBOSE=1` prints every failure.
 */

import assert from "node:assert/strict";
import { exists, interopPath, requireComponents } from "../../_support.ts";
import { parseOpaCaseExceptions } from "../../../lib/policy/opa_case_exceptions.ts";
import { parseOpaCases, runOpaCase } from "../../../lib/policy/opa_cases.ts";
import { CASE_NOW, type CaseOutcome, readRegorusCases, runRegorusCase } from "./_rego_cases.ts";

const ROOT = interopPath("policy");
const VERBOSE = Deno.env.get("REGO_CASES_VERBOSE") === "1";

/** OPA's corpus: which files are Rego v0, which cases are skipped and why. */
const OPA_EXCEPTIONS = parseOpaCaseExceptions(
  Deno.readTextFileSync(
    new URL("../../testdata/policy/opa_cases_v1_exceptions.yaml", import.meta.url),
  ),
);

/** regorus cases not run, each with the reason (keys: file, or `file#note`). */
const REGORUS_SPECIFIC = "regorus-specific behaviour (OPA differs)";

const REGORUS_SKIPS = new Map<string, string>([
  [
    "regorus/builtins/comparison/tests.yaml#order",
    `${REGORUS_SPECIFIC}: regorus orders sets before objects; OPA's ast.Compare puts objects (7) before sets (8)`,
  ],
  // regorus cases where regorus and OPA disagree; each reason says what OPA does instead.
  [
    "regorus/builtins/arrays/slice.yaml#all",
    `${REGORUS_SPECIFIC}: a float index is undefined in regorus, a type error in strict OPA`,
  ],
  [
    "regorus/builtins/numbers/intn.yaml#undefined",
    `${REGORUS_SPECIFIC}: a float bound is undefined in regorus, a type error in strict OPA`,
  ],
  [
    "regorus/builtins/numbers/mod.yaml#integral float too large to convert",
    `${REGORUS_SPECIFIC}: OPA keeps number literal texts (1e16 written as 100000000000000000e-1 is a float); numbers here are values`,
  ],
  [
    "regorus/builtins/debugging/print.yaml#all",
    `${REGORUS_SPECIFIC}: regorus prints an empty set as {}, OPA as set()`,
  ],
  [
    "regorus/builtins/semver/is_valid.yaml#semver.compare wrong arg1 type",
    `${REGORUS_SPECIFIC}: OPA's semver.is_valid returns false for a non-string`,
  ],
  [
    "regorus/builtins/strings/indexof.yaml#base",
    `${REGORUS_SPECIFIC}: indexof("", "") is -1 in regorus, the error "empty search character" in OPA`,
  ],
  [
    "regorus/builtins/strings/sprintf.yaml#numeric formatting",
    `${REGORUS_SPECIFIC}: Go's fmt prints %f of 3.14 as 3.140000 and %o of 64 as 100`,
  ],
  [
    "regorus/builtins/strings/sprintf.yaml#error cases",
    `${REGORUS_SPECIFIC}: Go's fmt writes %!d(MISSING) for a missing argument`,
  ],
  [
    "regorus/builtins/time/add_date.yaml#adding-overflowing-years",
    `${REGORUS_SPECIFIC}: OPA fails with "time outside of valid range"`,
  ],
  [
    "regorus/builtins/time/add_date.yaml#subtracting-overflowing-years",
    `${REGORUS_SPECIFIC}: OPA fails with "time outside of valid range"`,
  ],
  [
    "regorus/builtins/time/format.yaml#without-timezone-and-format",
    `${REGORUS_SPECIFIC}: Go's RFC3339Nano drops trailing zeros of the fraction`,
  ],
  [
    "regorus/builtins/time/format.yaml#with-timezone-and-no-format",
    `${REGORUS_SPECIFIC}: Go's RFC3339Nano drops trailing zeros of the fraction`,
  ],
  [
    "regorus/builtins/units/parse.yaml#all",
    `${REGORUS_SPECIFIC}: units beyond OPA's (Q, R, Y, Z, h, da, Zi, Yi, ...)`,
  ],
  [
    "regorus/builtins/units/parse.yaml#b suffix not supported",
    `${REGORUS_SPECIFIC}: regorus rejects "mb" quietly; OPA fails with "unit mb not recognized"`,
  ],
  [
    "regorus/builtins/units/parse_bytes.yaml#all",
    `${REGORUS_SPECIFIC}: byte units beyond OPA's (Yi, Zi, ...)`,
  ],
  [
    "regorus/builtins/uuid/generate.yaml",
    "uuid.* built-ins are not implemented (not needed by cosign or policy-controller policies)",
  ],
  [
    "regorus/builtins/uuid/parse.yaml",
    "uuid.* built-ins are not implemented (not needed by cosign or policy-controller policies)",
  ],
  [
    "regorus/data/tests.yaml#numbers are converted to string as needed when indexing data",
    `${REGORUS_SPECIFIC}: regorus drops undefined array elements and converts 1.2 to "1.2"`,
  ],
  [
    "regorus/data/tests.yaml#overriding refs in data produces no error",
    `${REGORUS_SPECIFIC}: base data wins over a rule of the same path`,
  ],
  [
    "regorus/default/basic.yaml#basic",
    `${REGORUS_SPECIFIC}: default rules for object keys (default p[true] = ...)`,
  ],
  [
    "regorus/import/tests.yaml#import alias shadowed by rule",
    `${REGORUS_SPECIFIC}: the case's own comment says OPA keeps the import`,
  ],
  [
    "regorus/import/tests.yaml#overload error does not leak callee module imports",
    `${REGORUS_SPECIFIC}: OPA reports the conflict of m(_) := 1 and m(_) := 2`,
  ],
  [
    "regorus/limits/execution_timer.yaml",
    `${REGORUS_SPECIFIC}: regorus's injectable execution timer (this engine's time limit is tested in rego_engine_test.ts)`,
  ],
  [
    "regorus/rule/multiple_outputs.yaml#fn_single_output",
    `${REGORUS_SPECIFIC}: regorus reads zero-argument functions as documents`,
  ],
  [
    "regorus/rule/multiple_outputs.yaml#fn_identical_outputs_tolerated",
    `${REGORUS_SPECIFIC}: regorus reads zero-argument functions as documents`,
  ],
  [
    "regorus/rule/multiple_outputs.yaml#fn_toplevel_disjoint_conflict",
    `${REGORUS_SPECIFIC}: regorus reads zero-argument functions as documents`,
  ],
  [
    "regorus/rule/multiple_outputs.yaml#fn_nested_object_conflict_no_deep_merge",
    `${REGORUS_SPECIFIC}: regorus reads zero-argument functions as documents`,
  ],
  [
    "regorus/some/tests.yaml#array-length-mismatch",
    `${REGORUS_SPECIFIC}: a runtime error where OPA's some ... in is simply undefined`,
  ],
  [
    "regorus/some/tests.yaml#invalid-null",
    `${REGORUS_SPECIFIC}: some ... in a non-collection is an error in regorus, undefined in OPA`,
  ],
  [
    "regorus/some/tests.yaml#invalid-bool",
    `${REGORUS_SPECIFIC}: some ... in a non-collection is an error in regorus, undefined in OPA`,
  ],
  [
    "regorus/some/tests.yaml#invalid-number",
    `${REGORUS_SPECIFIC}: some ... in a non-collection is an error in regorus, undefined in OPA`,
  ],
  [
    "regorus/some/tests.yaml#invalid-string",
    `${REGORUS_SPECIFIC}: some ... in a non-collection is an error in regorus, undefined in OPA`,
  ],
  [
    "regorus/binding/bindings.yaml#some-in-array-length-mismatch-error",
    `${REGORUS_SPECIFIC}: a runtime error where OPA's some ... in is simply undefined`,
  ],
]);

/** Files the YAML 1.2 reader refuses (serde_yaml, regorus's reader, is more lenient). */
const UNREADABLE = new Map<string, string>([
  [
    "regorus/loop/chained.yaml",
    "not valid YAML 1.2: a flow sequence is not indented under its key (line 136); npm:yaml refuses it",
  ],
]);

/**
 * Minimum pass rate per category, recorded from the last full run (every counted case passes;
 * a regression below it fails the category's test). A category missing here must pass fully.
 */
const FLOORS: Record<string, number> = {
  "opa/aggregates": 1,
  "opa/all": 1,
  "opa/any": 1,
  "opa/array": 1,
  "opa/assignments": 1,
  "opa/base64builtins": 1,
  "opa/base64urlbuiltins": 1,
  "opa/comparisonexpr": 1,
  "opa/completedoc": 1,
  "opa/comprehensions": 1,
  "opa/containskeyword": 1,
  "opa/cryptox509parsecertificates": 1,
  "opa/dataderef": 1,
  "opa/defaultkeyword": 1,
  "opa/disjunction": 1,
  "opa/elsekeyword": 1,
  "opa/embeddedvirtualdoc": 1,
  "opa/every": 1,
  "opa/functionerrors": 1,
  "opa/functions": 1,
  "opa/helloworld": 1,
  "opa/jsonbuiltins": 1,
  "opa/negation": 1,
  "opa/objectget": 1,
  "opa/objectkeys": 1,
  "opa/objectunion": 1,
  "opa/regexfind": 1,
  "opa/regexmatch": 1,
  "opa/regexreplace": 1,
  "opa/regexsplit": 1,
  "opa/semvercompare": 1,
  "opa/sets": 1,
  "opa/sprintf": 1,
  "opa/strings": 1,
  "opa/time": 1,
  "opa/trim": 1,
  "opa/type": 1,
  "opa/union": 1,
  "opa/units": 1,
  "regorus/arithmetic": 1,
  "regorus/assign": 1,
  "regorus/basic": 1,
  "regorus/binding": 1,
  "regorus/builtins/aggregates": 1,
  "regorus/builtins/arrays": 1,
  "regorus/builtins/bitwise": 1,
  "regorus/builtins/comparison": 1,
  "regorus/builtins/debugging": 1,
  "regorus/builtins/glob": 1,
  "regorus/builtins/numbers": 1,
  "regorus/builtins/objects": 1,
  "regorus/builtins/semver": 1,
  "regorus/builtins/strings": 1,
  "regorus/builtins/time": 1,
  "regorus/builtins/types": 1,
  "regorus/builtins/units": 1,
  "regorus/builtins/uuid": 1,
  "regorus/call": 1,
  "regorus/compr": 1,
  "regorus/data": 1,
  "regorus/default": 1,
  "regorus/engine": 1,
  "regorus/every": 1,
  "regorus/import": 1,
  "regorus/input": 1,
  "regorus/limits": 1,
  "regorus/loop": 1,
  "regorus/multi": 1,
  "regorus/negation": 1,
  "regorus/nonstrict": 1,
  "regorus/query": 1,
  "regorus/refr": 1,
  "regorus/rego.v1": 1,
  "regorus/rule": 1,
  "regorus/scheduler": 1,
  "regorus/snippets": 1,
  "regorus/some": 1,
  "regorus/unary": 1,
  "regorus/variables": 1,
};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...walk(p));
    else if (e.name.endsWith(".yaml")) out.push(p);
  }
  return out;
}

interface CaseFile {
  readonly path: string;
  /** The path under the corpus root (`opa-cases/v1`, `regorus-cases`). */
  readonly rel: string;
}

interface Category {
  readonly name: string;
  readonly files: CaseFile[];
  readonly kind: "opa" | "regorus";
}

function categories(): Category[] {
  const cats = new Map<string, Category>();
  const add = (kind: "opa" | "regorus", name: string, path: string, rel: string) => {
    let c = cats.get(name);
    if (c === undefined) cats.set(name, c = { name, files: [], kind });
    c.files.push({ path, rel });
  };
  const opaRoot = `${ROOT}/opa-cases/v1`;
  for (const p of walk(opaRoot)) {
    const rel = p.slice(opaRoot.length + 1);
    add("opa", `opa/${rel.split("/")[0]}`, p, rel);
  }
  const regRoot = `${ROOT}/regorus-cases`;
  for (const p of walk(regRoot)) {
    const rel = p.slice(regRoot.length + 1);
    const parts = rel.split("/");
    const name = parts.length === 1
      ? "regorus/basic"
      : parts[0] === "builtins"
      ? `regorus/builtins/${parts[1]}`
      : `regorus/${parts[0]}`;
    add("regorus", name, p, rel);
  }
  return [...cats.values()];
}

/** An OPA file through the library runner, with the exceptions file's syntax and skips. */
function runOpaFile(f: CaseFile, key: string): CaseOutcome[] {
  let cases;
  try {
    cases = parseOpaCases(Deno.readTextFileSync(f.path));
  } catch (e) {
    return [{ file: key, note: "(file)", status: "fail", reason: `unreadable: ${e}` }];
  }
  const syntax = OPA_EXCEPTIONS.syntaxOf(f.rel, "v1");
  return cases.map((c) => {
    const skip = OPA_EXCEPTIONS.skipOf(f.rel, c.note);
    return { file: key, ...runOpaCase(c, { syntax, now: CASE_NOW, ...(skip ? { skip } : {}) }) };
  });
}

/** A regorus file through the adapter: every file is v0 but `binding/bindings.yaml`. */
function runRegorusFile(f: CaseFile, key: string): CaseOutcome[] {
  let cases;
  try {
    cases = readRegorusCases(f.path);
  } catch (e) {
    return [{ file: key, note: "(file)", status: "fail", reason: `unreadable: ${e}` }];
  }
  const syntax = f.rel.endsWith("binding/bindings.yaml") ? "v1" : "v0";
  return cases.map((c) => runRegorusCase(key, c, syntax, REGORUS_SKIPS));
}

const results = new Map<string, CaseOutcome[]>();

if (
  requireComponents("rego conformance", {
    name: "policy corpus (../shared/interop/policy)",
    present: () => exists(`${ROOT}/README.md`),
  })
) {
  for (const cat of categories()) {
    Deno.test(`rego conformance: ${cat.name}`, () => {
      const outcomes: CaseOutcome[] = [];
      for (const f of cat.files) {
        const key = `${cat.kind}/${f.rel}`;
        const fileSkip = UNREADABLE.get(key);
        if (fileSkip !== undefined) {
          outcomes.push({ file: key, note: "(file)", status: "skip", reason: fileSkip });
          continue;
        }
        for (const o of cat.kind === "opa" ? runOpaFile(f, key) : runRegorusFile(f, key)) {
          outcomes.push(o);
          if (VERBOSE && o.status === "fail") {
            console.log(`FAIL ${key} :: ${o.note}\n     ${o.reason}`);
          }
          if (VERBOSE && o.errorTextMatched === false) {
            console.log(`ERROR TEXT ${key} :: ${o.note}\n     ${o.reason}`);
          }
        }
      }
      results.set(cat.name, outcomes);
      const passed = outcomes.filter((o) => o.status === "pass").length;
      const counted = outcomes.filter((o) => o.status !== "skip").length;
      const rate = counted === 0 ? 1 : passed / counted;
      const floor = FLOORS[cat.name] ?? 1;
      assert.ok(
        rate >= floor,
        `${cat.name}: pass rate ${(rate * 100).toFixed(1)}% is below the floor ${
          (floor * 100).toFixed(1)
        }%`,
      );
    });
  }

  Deno.test("rego conformance: summary table and overall target", () => {
    const rows: string[][] = [["category", "passed", "failed", "skipped", "error text"]];
    let pass = 0;
    let fail = 0;
    let skip = 0;
    let errText = 0;
    let errCases = 0;
    const reasons = new Map<string, number>();
    for (const [name, outcomes] of results) {
      const p = outcomes.filter((o) => o.status === "pass").length;
      const f = outcomes.filter((o) => o.status === "fail").length;
      const s = outcomes.filter((o) => o.status === "skip").length;
      // regorus error cases pass on any RegoError; this column counts regorus's own wording.
      const withText = outcomes.filter((o) => o.errorTextMatched !== undefined);
      const matched = withText.filter((o) => o.errorTextMatched === true).length;
      for (const o of outcomes) {
        if (o.status === "skip") {
          reasons.set(o.reason ?? "", (reasons.get(o.reason ?? "") ?? 0) + 1);
        }
      }
      rows.push([
        name,
        String(p),
        String(f),
        String(s),
        withText.length === 0 ? "" : `${matched}/${withText.length}`,
      ]);
      pass += p;
      fail += f;
      skip += s;
      errText += matched;
      errCases += withText.length;
    }
    rows.push(["TOTAL", String(pass), String(fail), String(skip), `${errText}/${errCases}`]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    console.log(rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")).join("\n"));
    for (const [r, n] of reasons) console.log(`skipped ${n}: ${r}`);
    const rate = pass + fail === 0 ? 0 : pass / (pass + fail);
    console.log(`pass rate (skips excluded): ${(rate * 100).toFixed(2)}%`);
    assert.ok(rate >= 0.95, `overall pass rate ${(rate * 100).toFixed(2)}% is below 95%`);
    if (results.size === categories().length) {
      // A stale exception (a renamed case, a fixed file) must not linger unnoticed.
      assert.deepEqual(OPA_EXCEPTIONS.unused(), { v0: [], skip: [] });
    }
  });
}
