/**
 * The Rego engine's own edge cases: lexer and parser (both syntax versions, locations), the
 * evaluator's semantics (undefined vs false, unification, conflicts, `with`, strictness), the
 * result shape, and the hostile inputs: unbounded recursion, huge ranges, catastrophic regexes,
 * oversized policies, deep nesting. Each hostile case must fail in bounded time with a one-line
 * POLICY_* error.
 */

import assert from "node:assert/strict";
import {
  compileRego,
  type EvaluateOptions,
  evaluateRego,
  RegoError,
  type RegoResultSet,
  RegoSet,
  stringifyJson,
  toJson,
} from "../../../lib/policy/rego/mod.ts";
import { compileRe2 } from "../../../lib/policy/rego/re2.ts";

/** The first expression value of each result. */
function values(rs: RegoResultSet): unknown[] {
  return rs.map((r) => r.expressions[0]?.value);
}

function ev(
  source: string,
  query: string,
  options: EvaluateOptions & { syntax?: "v0" | "v1" } = {},
): unknown[] {
  return values(evaluateRego([{ name: "test.rego", source }], query, options));
}

/** Assert that `f` throws a RegoError with the given codes, a one-line message, within `ms`. */
/** How far past an evaluation's own deadline a test still counts it as bounded. */
const TIME_SLACK = 4;

function assertRegoError(
  f: () => unknown,
  code: string,
  regoCode?: string,
  match?: RegExp,
  ms = 2000,
): RegoError {
  const t0 = performance.now();
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  const elapsed = performance.now() - t0;
  assert.ok(caught instanceof RegoError, `expected a RegoError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  if (regoCode !== undefined) assert.equal(caught.regoCode, regoCode, caught.message);
  if (match !== undefined) assert.match(caught.message, match);
  assert.ok(!caught.message.includes("\n"), `one-line message: ${JSON.stringify(caught.message)}`);
  // A bound on termination, not a speed target: loose enough for a loaded 2-core machine.
  const bound = ms * TIME_SLACK;
  assert.ok(elapsed < bound, `failed after ${Math.round(elapsed)} ms (bound ${bound} ms)`);
  return caught;
}

// ---- lexer and parser ----

Deno.test("parser: v1 requires if before a body and reports file:row", () => {
  const e = assertRegoError(
    () => compileRego([{ name: "test.rego", source: "package t\n\np {\n  true\n}\n" }]),
    "POLICY_PARSE_ERROR",
    "rego_parse_error",
    /^test\.rego:3: rego_parse_error: `if` keyword is required before rule body$/,
  );
  assert.deepEqual(e.location, { file: "test.rego", row: 3, col: 3 });
});

Deno.test("parser: v0 reads p[x] {} as a partial set, v1 reads p[x] if {} as an object of true", () => {
  assert.deepEqual(ev("package t\np[x] { x := [1, 2][_] }\n", "data.t.p", { syntax: "v0" }), [[
    1,
    2,
  ]]);
  assert.deepEqual(ev('package t\np[x] if { x := ["a", "b"][_] }\n', "data.t.p"), [{
    a: true,
    b: true,
  }]);
});

Deno.test("parser: import rego.v1 makes a v0 module follow v1 rules", () => {
  assertRegoError(
    () => compileRego(["package t\nimport rego.v1\np { true }\n"], { syntax: "v0" }),
    "POLICY_PARSE_ERROR",
    "rego_parse_error",
    /`if` keyword is required/,
  );
  assert.deepEqual(
    ev("package t\nimport rego.v1\ns contains x if some x in [1]\n", "data.t.s", { syntax: "v0" }),
    [[1]],
  );
});

Deno.test("lexer: escapes, raw strings across lines, numbers beyond 2^53 stay exact", () => {
  const src =
    'package t\na := "\\u00e9\\t\\"x\\""\nb := `line1\nline2`\nc := 123456789012345678901234\n';
  assert.deepEqual(ev(src, "[data.t.a, data.t.b]"), [['é\t"x"', "line1\nline2"]]);
  const rs = evaluateRego([src], "data.t.c");
  assert.equal(rs[0]?.expressions[0]?.value, 123456789012345678901234n);
  assert.equal(
    stringifyJson(toJson(compileRego([src]).evaluateValues("data.t.c")[0]?.expressions[0] ?? null)),
    "123456789012345678901234",
  );
});

Deno.test("lexer: an unterminated string is a parse error at its position", () => {
  const e = assertRegoError(
    () => compileRego([{ name: "m.rego", source: 'package t\n\nx := "abc\n' }]),
    "POLICY_PARSE_ERROR",
    "rego_parse_error",
    /non-terminated string/,
  );
  assert.deepEqual(e.location, { file: "m.rego", row: 3, col: 6 });
});

Deno.test("parser: membership, comprehension priority and operator precedence follow OPA", () => {
  assert.deepEqual(ev("package t\nx if { 1, 2 in [2] in [false, true] }\n", "data.t.x"), [true]);
  assert.deepEqual(ev("package t\nx := {1 | true}\n", "data.t.x"), [[1]]);
  assert.deepEqual(ev("package t\nx := 1 + 2 * 3 == 7\n", "data.t.x"), [true]);
});

// ---- evaluation ----

Deno.test("eval: undefined is no result, false is a value, default fills in", () => {
  const src =
    'package t\ndefault allow := false\nallow if input.user == "alice"\nq if input.nope\n';
  assert.deepEqual(ev(src, "data.t.allow", { input: { user: "bob" } }), [false]);
  assert.deepEqual(ev(src, "data.t.allow", { input: { user: "alice" } }), [true]);
  assert.deepEqual(ev(src, "data.t.q"), []);
  assert.deepEqual(ev(src, "not data.t.q"), [true]);
});

Deno.test("eval: a one-expression query reports false; with more expressions false is no solution (OPA)", () => {
  assert.deepEqual(ev("package t\n", "1 == 2"), [false]);
  assert.deepEqual(ev("package t\n", "1 == 2; true"), []);
  assert.deepEqual(ev("package t\n", "x := [1, 2][_]; x > 1").length, 1);
});

Deno.test("eval: unification binds both sides, := declares, == compares", () => {
  const rs = evaluateRego(["package t\n"], "[x, 2] = [1, y]; z := x + y; z == 3");
  assert.deepEqual(rs[0]?.bindings, { x: 1, y: 2, z: 3 });
  assertRegoError(
    () => compileRego(["package t\np if {\n  x := 1\n  x := 2\n}\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_compile_error",
    /var x assigned above/,
  );
  assertRegoError(
    () => compileRego(["package t\np if { [a, b] = [1, 2, 3] }\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_type_error",
    /match error/,
  );
});

Deno.test("eval: conflicts are eval_conflict_error (complete rules, functions, object keys)", () => {
  assertRegoError(
    () => ev("package t\np := 1\np := 2\n", "data.t.p"),
    "POLICY_CONFLICT",
    "eval_conflict_error",
    /complete rules must not produce multiple outputs/,
  );
  assertRegoError(
    () => ev("package t\nf(x) := 1\nf(x) := 2\ny := f(0)\n", "data.t.y"),
    "POLICY_CONFLICT",
    "eval_conflict_error",
    /functions must not produce multiple outputs for same inputs/,
  );
  assertRegoError(
    () =>
      ev(
        'package t\no[k] := v if { some k, v in {"a": 1}; true }\no[k] := 2 if k := "a"\n',
        "data.t.o",
      ),
    "POLICY_CONFLICT",
    "eval_conflict_error",
    /object keys must be unique/,
  );
});

Deno.test("eval: functions with several definitions, else chains and defaults", () => {
  const src = [
    "package t",
    'f(x) := "neg" if x < 0',
    'f(x) := "pos" if x > 0',
    'default f(_) := "zero"',
    "g(x) := 1 if x == 1 else := 2 if x == 2 else := 3",
    "out := [f(-1), f(1), f(0), g(1), g(2), g(5)]",
  ].join("\n");
  assert.deepEqual(ev(src, "data.t.out"), [["neg", "pos", "zero", 1, 2, 3]]);
});

Deno.test("eval: rules build the data document with base data, ref heads and partial rules", () => {
  const src = [
    "package t",
    "a.b.c := 1",
    "s contains x if some x in input.xs",
    "o[k] := count(v) if some k, v in input.m",
  ].join("\n");
  const rs = ev(src, "data.t", {
    input: { xs: [2, 1, 2], m: { q: [1, 2] } },
    data: { t: { base: true } },
  });
  assert.deepEqual(rs, [{ a: { b: { c: 1 } }, base: true, o: { q: 2 }, s: [1, 2] }]);
});

Deno.test("eval: with replaces input, data and functions for one expression", () => {
  const src = [
    "package t",
    'p if input.role == "admin"',
    "q := data.cfg.level",
    "r := count([1, 2, 3])",
    "f(x) := x",
    "g(x) := x * 10",
    "h := f(2)",
    "checks := [a, b, c, d] if {",
    '  a := p with input as {"role": "admin"}',
    "  b := q with data.cfg.level as 7",
    "  c := r with count as 99",
    "  d := h with f as g",
    "}",
  ].join("\n");
  assert.deepEqual(ev(src, "data.t.checks"), [[true, 7, 99, 20]]);
  assert.deepEqual(ev(src, "data.t.p"), []);
});

Deno.test("eval: every, some ... in and comprehensions", () => {
  const src = [
    "package t",
    "all_pos if every x in input.xs { x > 0 }",
    "pairs := {k: v | some k, v in input.o}",
    "evens := [x | some x in input.xs; x % 2 == 0]",
  ].join("\n");
  assert.deepEqual(
    ev(src, "[data.t.all_pos, data.t.pairs, data.t.evens]", {
      input: { xs: [1, 2, 4], o: { a: 1 } },
    }),
    [[
      true,
      { a: 1 },
      [2, 4],
    ]],
  );
  assert.deepEqual(ev(src, "data.t.all_pos", { input: { xs: [1, -2] } }), []);
});

Deno.test("eval: built-in errors are undefined by default and errors with strict", () => {
  const src = "package t\nn := count(input.x)\nd := 1 / input.z\n";
  assert.deepEqual(ev(src, "data.t.n", { input: { x: 5 } }), []);
  assertRegoError(
    () => ev(src, "data.t.n", { input: { x: 5 }, strict: true }),
    "POLICY_TYPE_ERROR",
    "eval_type_error",
    /^test\.rego:2: eval_type_error: count: operand 1 must be one of \{array, object, set, string\} but got number$/,
  );
  assertRegoError(
    () => ev(src, "data.t.d", { input: { z: 0 }, strict: true }),
    "POLICY_BUILTIN_ERROR",
    "eval_builtin_error",
    /div: divide by zero/,
  );
});

Deno.test("compile: unsupported and unknown built-ins fail by name, never as undefined", () => {
  assertRegoError(
    () => compileRego(['package t\nr := http.send({"method": "get", "url": "http://x"})\n']),
    "POLICY_BUILTIN_UNSUPPORTED",
    "rego_type_error",
    /built-in "http\.send" is not supported/,
  );
  assertRegoError(
    () => compileRego(["package t\nr := no_such_fn(1)\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_type_error",
    /undefined function no_such_fn/,
  );
  assertRegoError(
    () => compileRego(["package t\nr := any([true])\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_type_error",
    /undefined function any/,
  );
  assert.deepEqual(ev("package t\nr := any([true])\n", "data.t.r", { syntax: "v0" }), [true]);
});

Deno.test("compile: unsafe variables are reported with their name", () => {
  assertRegoError(
    () => compileRego(["package t\np if { x > 1 }\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_unsafe_var_error",
    /var x is unsafe/,
  );
});

Deno.test("eval: print writes to the injected sink with its location; time.now_ns reads the injected clock", () => {
  const lines: string[] = [];
  const src =
    'package t\np if {\n  print("n =", count(input), {"b", "a"}, input.missing)\n}\nt := time.now_ns()\n';
  assert.deepEqual(
    ev(src, "data.t.p", { input: [1, 2], print: (m, loc) => lines.push(`${loc.row}: ${m}`) }),
    [true],
  );
  assert.deepEqual(lines, ['3: n = 2 {"a", "b"} <undefined>']);
  assert.deepEqual(ev(src, "data.t.t", { now: new Date("2024-01-02T03:04:05.006Z") }), [
    1704164645006000000n,
  ]);
});

Deno.test("results: sets become sorted arrays, non-string keys become JSON text", () => {
  const rs = evaluateRego(
    ['package t\ns := {3, 1, 2}\no := {1: "a", [2]: "b"}\n'],
    "x := data.t.s; y := data.t.o",
  );
  assert.deepEqual(rs[0]?.bindings, { x: [1, 2, 3], y: { "1": "a", "[2]": "b" } });
  const raw = compileRego(["package t\ns := {3, 1}\n"]).evaluateValues("data.t.s");
  assert.ok(raw[0]?.expressions[0] instanceof RegoSet);
});

Deno.test("a rule or function whose value is null is defined: its default does not apply", () => {
  const policy = "package p\ndefault a := 1\na := null if true\n" +
    "default f(_) := 2\nf(x) := null if x > 0\nb := f(1)\nc := f(0)\n";
  assert.deepEqual(ev(policy, "data.p"), [{ a: null, b: null, c: 2 }]);
});

// ---- hostile inputs ----

Deno.test("hostile: a rule depending on itself is rego_recursion_error at compile time", () => {
  assertRegoError(
    () => compileRego(["package t\np := q\nq := r\nr := p\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_recursion_error",
    /rule data\.t\.\w is recursive/,
  );
  assertRegoError(
    () => compileRego(["package t\nf(x) := f(x - 1) if x > 0\n"]),
    "POLICY_COMPILE_ERROR",
    "rego_recursion_error",
  );
});

Deno.test("a function calling itself is rego_recursion_error, as OPA says, not an undefined function", () => {
  // The function's own body is compiled before the function is indexed: its arity is recorded
  // first, so the call resolves and the recursion check (not the call check) rejects it.
  const cases: [string[], RegExp][] = [
    [
      ["package p\nf(x) := y if { y := f(x) }\nz := f(1)\n"],
      /module-0\.rego:2: rego_recursion_error: rule data\.p\.f is recursive: data\.p\.f -> data\.p\.f$/,
    ],
    [
      ["package p\nz := f(1)\nf(x) := y if { y := [v | v := f(x)][0] }\n"],
      /module-0\.rego:3: .*rule data\.p\.f is recursive: data\.p\.f -> data\.p\.f$/,
    ],
    [
      ["package p\nf(x) := y if { y := data.q.g(x) }\n", "package q\ng(x) := data.p.f(x)\n"],
      /rule data\.p\.f is recursive: data\.p\.f -> data\.q\.g -> data\.p\.f$/,
    ],
  ];
  for (const [modules, message] of cases) {
    for (const syntax of ["v1", "v0"] as const) {
      // v0 modules read the same rules with `import rego.v1`.
      const sources = syntax === "v1"
        ? modules
        : modules.map((m) => m.replace(/^(package \S+\n)/, "$1import rego.v1\n"));
      assertRegoError(
        () => evaluateRego(sources, "data.p.z", { syntax }),
        "POLICY_COMPILE_ERROR",
        "rego_recursion_error",
        syntax === "v1" ? message : /rule data\.p\.f is recursive/,
      );
    }
  }
});

Deno.test("hostile: a deep chain of rules stops at the depth limit, or at the stack", () => {
  const chain = (n: number) =>
    ["package t", ...Array.from({ length: n }, (_, i) => `p${i} := p${i + 1} + 1`), `p${n} := 0`]
      .join("\n");
  assert.deepEqual(ev(chain(150), "data.t.p0"), [150]);
  assertRegoError(
    () => ev(chain(500), "data.t.p0"),
    "POLICY_EVAL_LIMIT",
    "eval_cancel_error",
    /call depth limit \(200\)/,
  );
  // Raising the depth limit past what the JS stack holds still fails cleanly.
  assertRegoError(
    () => ev(chain(5000), "data.t.p0", { limits: { maxDepth: 100_000 } }),
    "POLICY_EVAL_LIMIT",
    "eval_cancel_error",
    /stack depth/,
    5000,
  );
});

Deno.test("hostile: a comprehension over numbers.range(1, 1e9) fails by the step bound before allocating", () => {
  for (const strict of [false, true]) {
    assertRegoError(
      () => ev("package t\nx := [i | some i in numbers.range(1, 1e9)]\n", "data.t.x", { strict }),
      "POLICY_EVAL_LIMIT",
      "eval_cancel_error",
      /step limit/,
      500,
    );
  }
});

Deno.test("hostile: a long loop fails by the wall-clock bound", () => {
  assertRegoError(
    () =>
      ev(
        "package t\nx := count([i | some i in numbers.range(1, 5000000); i * 2 > 0])\n",
        "data.t.x",
        {
          limits: { maxSteps: 1e12, timeoutMs: 100 },
        },
      ),
    "POLICY_EVAL_LIMIT",
    "eval_cancel_error",
    /time limit \(100 ms\)/,
    1500,
  );
});

Deno.test("hostile: catastrophic-backtracking regexes run in linear time (RE2 semantics)", () => {
  const input = "a".repeat(50_000) + "b";
  const t0 = performance.now();
  assert.deepEqual(
    ev("package t\nx := regex.match(`^(a+)+$`, input.s)\n", "data.t.x", { input: { s: input } }),
    [false],
  );
  assert.deepEqual(
    ev("package t\nx := regex.match(`(a|aa)*c`, input.s)\n", "data.t.x", { input: { s: input } }),
    [false],
  );
  assert.ok(performance.now() - t0 < 2000);
  // A big program over a 1 MiB input is cut by the deadline, not left running.
  assertRegoError(
    () =>
      ev("package t\nx := regex.match(`(x+x+x+)+y`, input.s)\n", "data.t.x", {
        input: { s: "x".repeat(1 << 20) },
        limits: { timeoutMs: 150 },
      }),
    "POLICY_EVAL_LIMIT",
    "eval_cancel_error",
    /time limit/,
    1500,
  );
});

Deno.test("re2: constructs RE2 lacks are refused with Go's error text", () => {
  assert.throws(() => compileRe2("(a)\\1"), /invalid escape sequence: `\\1`/);
  assert.throws(() => compileRe2("a(?=b)"), /invalid or unsupported Perl syntax: `\(\?=`/);
  assert.throws(() => compileRe2("(?<!a)b"), /invalid or unsupported Perl syntax/);
  assert.throws(() => compileRe2("a**"), /invalid nested repetition operator: `\*\*`/);
  assert.throws(() => compileRe2("(a{1000}){1000}"), /expression too large/);
  assertRegoError(
    () => ev('package t\nx := regex.match("[", "a")\n', "data.t.x", { strict: true }),
    "POLICY_BUILTIN_ERROR",
    "eval_builtin_error",
    /regex\.match: error parsing regexp: missing closing \]: `\[`/,
  );
});

Deno.test("re2: leftmost-first matching, submatches, replace and split as Go does", () => {
  const src = [
    "package t",
    'a := regex.find_all_string_submatch_n(`(\\w+)@(\\w+)`, "x@y and p@q", -1)',
    'b := regex.replace("John Smith", `(?P<f>\\w+) (?P<l>\\w+)`, "${l}, $f")',
    'c := regex.split(`,\\s*`, "a, b,c")',
    'd := regex.find_n(`a|ab`, "abab", -1)',
  ].join("\n");
  assert.deepEqual(ev(src, "[data.t.a, data.t.b, data.t.c, data.t.d]"), [[
    [["x@y", "x", "y"], ["p@q", "p", "q"]],
    "Smith, John",
    ["a", "b", "c"],
    ["a", "a"],
  ]]);
});

Deno.test("hostile: a 10 MB policy is refused before lexing", () => {
  const big = "package t\n" + "x := 1\n".repeat(1_500_000);
  assertRegoError(
    () => compileRego([big]),
    "POLICY_TOO_LARGE",
    undefined,
    /larger than 1048576 bytes/,
    200,
  );
  assertRegoError(
    () => compileRego([big], { maxSourceBytes: 1024 }),
    "POLICY_TOO_LARGE",
    undefined,
    /1024 bytes/,
    200,
  );
});

Deno.test("hostile: deep nesting is a parse error, not a stack overflow", () => {
  assertRegoError(
    () => compileRego(["package t\nx := " + "[".repeat(100_000) + "]".repeat(100_000) + "\n"]),
    "POLICY_PARSE_ERROR",
    "rego_parse_error",
    /nesting deeper than/,
  );
});

Deno.test("hostile: a body too long for the stack fails with POLICY_EVAL_LIMIT", () => {
  const body = [
    "package t",
    "x if {",
    ...Array.from({ length: 30_000 }, (_, i) => `  a${i} := ${i}`),
    "}",
  ];
  assertRegoError(
    () => ev(body.join("\n"), "data.t.x"),
    "POLICY_EVAL_LIMIT",
    "eval_cancel_error",
    /stack depth/,
    5000,
  );
});

Deno.test("hostile: CIDR expansion and oversized regex inputs fail by their bounds", () => {
  assertRegoError(
    () => ev('package t\nx := net.cidr_expand("10.0.0.0/8")\n', "data.t.x"),
    "POLICY_EVAL_LIMIT",
    "eval_cancel_error",
  );
  assert.deepEqual(ev('package t\nx := count(net.cidr_expand("10.0.0.0/30"))\n', "data.t.x"), [4]);
  assertRegoError(
    () =>
      ev('package t\nx := regex.match("a", input.s)\n', "data.t.x", {
        input: { s: "a".repeat((1 << 20) + 1) },
      }),
    "POLICY_EVAL_LIMIT",
  );
});
