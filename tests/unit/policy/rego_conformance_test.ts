/**
 * Conformance of the Rego engine with OPA's own test cases (`opa-cases/v1/**`, 39 categories)
 * and microsoft/regorus's interpreter cases (`regorus-cases/**`), read from
 * `../shared/interop/policy/` at test time (formats: that folder's README.md).
 *
 * One test per category asserts its pass rate against the floor recorded in `FLOORS` (so that
 * a regression fails); the last test prints the table (category, passed, failed, skipped) and
 * asserts the overall target: at least 95% of the cases in the categories in scope. Skips are
 * listed in `SKIPS` with their reason; nothing is skipped silently. `REGO_CASES_VERBOSE=1`
 * prints every failure.
 */

import assert from "node:assert/strict";
import { exists, interopPath, requireComponents } from "../../_support.ts";
import { type CaseOutcome, readCases, runOpaCase, runRegorusCase } from "./_rego_cases.ts";

const ROOT = interopPath("policy");
const VERBOSE = Deno.env.get("REGO_CASES_VERBOSE") === "1";

/** Files the corpus README marks as written in v0 syntax (run in v0 mode). */
function opaSyntax(rel: string): "v0" | "v1" {
  if (rel.startsWith("all/") || rel.startsWith("any/")) return "v0";
  const m = /regexmatch\/test-regexmatch-(\d+)\.yaml$/.exec(rel);
  if (m !== null && Number(m[1]) >= 855 && Number(m[1]) <= 860) return "v0";
  return "v1";
}

/** Cases not run, each with the reason (keys: file, or `file#note`). */
const SKIPS = new Map<string, string>([
  [
    "opa/regexmatch/test-regexmatch-0858.yaml",
    "corpus README: expectation is wrong (array indices as strings)",
  ],
]);

/** Minimum pass rate per category (a regression below it fails the category's test). */
const FLOORS: Record<string, number> = {};

/** Categories outside the built-ins this engine covers (reported, not counted in the target). */
const OUT_OF_SCOPE: Record<string, string> = {};

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...walk(p));
    else if (e.name.endsWith(".yaml")) out.push(p);
  }
  return out;
}

interface Category {
  readonly name: string;
  readonly files: { readonly path: string; readonly rel: string }[];
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
        let cases: Record<string, unknown>[];
        try {
          cases = readCases(f.path);
        } catch (e) {
          outcomes.push({ file: key, note: "(file)", status: "fail", reason: `unreadable: ${e}` });
          continue;
        }
        for (const c of cases) {
          const o = cat.kind === "opa"
            ? runOpaCase(key, c, opaSyntax(f.rel), SKIPS)
            : runRegorusCase(key, c, f.rel.endsWith("binding/bindings.yaml") ? "v1" : "v0", SKIPS);
          outcomes.push(o);
          if (VERBOSE && o.status === "fail") {
            console.log(`FAIL ${key} :: ${o.note}\n     ${o.reason}`);
          }
        }
      }
      results.set(cat.name, outcomes);
      const passed = outcomes.filter((o) => o.status === "pass").length;
      const counted = outcomes.filter((o) => o.status !== "skip").length;
      const rate = counted === 0 ? 1 : passed / counted;
      const floor = FLOORS[cat.name] ?? 0;
      assert.ok(
        rate >= floor,
        `${cat.name}: pass rate ${(rate * 100).toFixed(1)}% is below the floor ${
          (floor * 100).toFixed(1)
        }%`,
      );
    });
  }

  Deno.test("rego conformance: summary table and overall target", () => {
    const rows: string[][] = [["category", "passed", "failed", "skipped", "in scope"]];
    let pass = 0;
    let fail = 0;
    let skip = 0;
    let scopePass = 0;
    let scopeCount = 0;
    const reasons = new Map<string, number>();
    for (const [name, outcomes] of results) {
      const p = outcomes.filter((o) => o.status === "pass").length;
      const f = outcomes.filter((o) => o.status === "fail").length;
      const s = outcomes.filter((o) => o.status === "skip").length;
      for (const o of outcomes) {
        if (o.status === "skip") {
          reasons.set(o.reason ?? "", (reasons.get(o.reason ?? "") ?? 0) + 1);
        }
      }
      const inScope = OUT_OF_SCOPE[name] === undefined;
      rows.push([
        name,
        String(p),
        String(f),
        String(s),
        inScope ? "yes" : `no: ${OUT_OF_SCOPE[name]}`,
      ]);
      pass += p;
      fail += f;
      skip += s;
      if (inScope) {
        scopePass += p;
        scopeCount += p + f;
      }
    }
    rows.push([
      "TOTAL",
      String(pass),
      String(fail),
      String(skip),
      `${scopePass}/${scopeCount} in scope`,
    ]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
    console.log(rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")).join("\n"));
    for (const [r, n] of reasons) console.log(`skipped ${n}: ${r}`);
    const rate = scopeCount === 0 ? 0 : scopePass / scopeCount;
    console.log(`in-scope pass rate: ${(rate * 100).toFixed(2)}%`);
    assert.ok(rate >= 0.95, `overall in-scope pass rate ${(rate * 100).toFixed(2)}% is below 95%`);
  });
}
