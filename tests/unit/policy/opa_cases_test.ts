/**
 * The OPA YAML case runner (`lib/policy/opa_cases.ts`) and its exceptions file
 * (`lib/policy/opa_case_exceptions.ts`) on small cases: expectations compared as OPA's runner
 * compares them (a multiset of binding maps, arrays sorted with `sort_bindings`, error code and
 * message), `input_term`, `strict_error`, module names, skips; and the exceptions file's
 * matching (folders, `file#note` before `file`), its refusals, and its unused entries.
 */

import assert from "node:assert/strict";
import {
  OpaCaseExceptions,
  parseOpaCaseExceptions,
} from "../../../lib/policy/opa_case_exceptions.ts";
import { evaluateOpaCase, parseOpaCases, runOpaCase } from "../../../lib/policy/opa_cases.ts";

const CASES = `cases:
- note: t/set
  modules: ["package t\\n\\ns contains x if some x in [3, 1, 2]\\n"]
  query: data.t.s = s
  sort_bindings: true
  want_result: [{s: [2, 3, 1]}]
- note: t/unsorted
  modules: ["package t\\n\\na := [3, 1]\\n"]
  query: data.t.a = a
  want_result: [{a: [1, 3]}]
- note: t/multiset
  query: x := [1, 2][_]
  want_result: [{x: 2}, {x: 1}]
- note: t/input_term
  modules: ["package t\\n\\nk := object.keys(input)\\n"]
  query: data.t.k = k
  input_term: '{"a": 1, "b": {1, 2}}'
  sort_bindings: true
  want_result: [{k: [b, a]}]
- note: t/code
  modules: ["package t\\n\\np := 1\\np := 2 if true\\n"]
  query: data.t.p = x
  want_error_code: eval_conflict_error
  want_error: "test-0.rego:4:"
- note: t/wrong code
  modules: ["package t\\n\\np := 1\\np := 2 if true\\n"]
  query: data.t.p = x
  want_error_code: eval_type_error
- note: t/strict
  query: x := startswith(1, "a")
  strict_error: true
  want_error_code: eval_type_error
- note: t/not strict
  query: x := startswith(1, "a")
  want_result: []
`;

Deno.test("runOpaCase() compares results as OPA's runner does and checks error codes and texts", () => {
  const outcomes = parseOpaCases(CASES).map((c) => runOpaCase(c));
  assert.deepEqual(outcomes.map((o) => [o.note, o.status]), [
    ["t/set", "pass"],
    ["t/unsorted", "fail"],
    ["t/multiset", "pass"],
    ["t/input_term", "pass"],
    ["t/code", "pass"],
    ["t/wrong code", "fail"],
    ["t/strict", "pass"],
    ["t/not strict", "pass"],
  ]);
  const wrong = outcomes[5];
  assert.match(
    wrong && "reason" in wrong ? wrong.reason : "",
    /eval_conflict_error, want eval_type_error/,
  );
});

Deno.test("runOpaCase() skips a case with its reason, and evaluateOpaCase() names modules as asked", () => {
  const [c] = parseOpaCases(CASES);
  assert.deepEqual(runOpaCase(c!, { skip: "known bad" }), {
    note: "t/set",
    status: "skip",
    reason: "known bad",
  });
  const [conflict] = parseOpaCases(CASES).filter((x) => x.note === "t/code");
  assert.throws(
    () => evaluateOpaCase(conflict!, { moduleName: (i) => `rego_${i}` }),
    /rego_0:4:/,
  );
  // v0 syntax only when asked.
  const [v0] = parseOpaCases(`cases:
- note: t/v0
  modules: ["package t\\n\\nallow { true }\\n"]
  query: data.t.allow = x
  want_result: [{x: true}]
`);
  assert.equal(runOpaCase(v0!).status, "fail");
  assert.equal(runOpaCase(v0!, { syntax: "v0" }).status, "pass");
});

Deno.test("OpaCaseExceptions matches folders and files, a case's own entry first, and lists unused entries", () => {
  const exceptions = parseOpaCaseExceptions(`
v0: [all/, regexmatch/test-0855.yaml, gone/]
skip:
  "time/t.yaml#time/one": just this case
  "time/t.yaml": the whole file
  "never.yaml": unused
`);
  assert.equal(exceptions.syntaxOf("all/a.yaml", "v1"), "v0");
  assert.equal(exceptions.syntaxOf("regexmatch/test-0855.yaml", "v1"), "v0");
  assert.equal(exceptions.syntaxOf("regexmatch/test-0856.yaml", "v1"), "v1");
  assert.equal(exceptions.syntaxOf("allx/a.yaml", "v1"), "v1");
  assert.equal(exceptions.skipOf("time/t.yaml", "time/one"), "just this case");
  assert.equal(exceptions.skipOf("time/t.yaml", "time/two"), "the whole file");
  assert.equal(exceptions.skipOf("time/u.yaml", "time/one"), undefined);
  assert.deepEqual(exceptions.unused(), { v0: ["gone/"], skip: ["never.yaml"] });
  assert.deepEqual(new OpaCaseExceptions().unused(), { v0: [], skip: [] });
  assert.equal(new OpaCaseExceptions().syntaxOf("x.yaml", "v0"), "v0");
});

Deno.test("parseOpaCaseExceptions() refuses unknown keys, skips without a reason, paths outside the root", () => {
  for (
    const [text, message] of [
      ["v1: [a/]\n", /Unknown key "v1"/],
      ["v0: a/\n", /"v0" is not a list/],
      ['skip: {"a.yaml": ""}\n', /"a\.yaml" has no reason/],
      ['skip: {"a.yaml": 1}\n', /"a\.yaml" has no reason/],
      ["skip: [a.yaml]\n", /"skip" is not a map/],
      ["v0: [../x/]\n", /not a path relative to the corpus root/],
      ['skip: {"/etc/x.yaml#n": r}\n', /not a path relative to the corpus root/],
      ["- a\n", /is a map/],
    ] as const
  ) {
    assert.throws(() => parseOpaCaseExceptions(text), message, text);
  }
  assert.throws(() => parseOpaCaseExceptions("v0: [a, b]\n", { maxEntries: 1 }), RangeError);
  assert.deepEqual(parseOpaCaseExceptions("").unused(), { v0: [], skip: [] });
});
