/**
 * `dcosign policy eval` and `dcosign policy test`, in-process: OPA's output shapes (`json` with
 * the result set or `{}`, `values`, `bindings`, `raw`), exit codes (0 when evaluated, `--fail`,
 * `--fail-defined`), input and data from JSON and YAML files, data merged (conflicts refused),
 * errors as one line; a folder of OPA YAML cases reported case by case, failing on any failure;
 * an exceptions file giving files in Rego v0 and skipped cases with their reasons; and OPA's own
 * v1 cases from the corpus run through it, agreeing with the conformance test when given that
 * test's exceptions file.
 */

import assert from "node:assert/strict";
import { dcosign } from "../../_cli.ts";
import { exists, interopPath, REPO_ROOT, requireComponents, tempDir } from "../../_support.ts";

const POLICY = `package example

allow if input.user == "alice"

roles contains "admin" if input.user == "alice"
roles contains "dev"

banner := "<ok>"
`;

async function withFiles(files: Record<string, string>) {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(files)) {
    const path = `${dir.path}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  return dir;
}

Deno.test("policy eval prints OPA's JSON result set, indented as Go's encoder does", async () => {
  await using dir = await withFiles({ "p.rego": POLICY, "in.json": '{"user": "alice"}' });
  const run = (argv: string[]) => dcosign(["policy", "eval", ...argv], { cwd: dir.path });
  const result = await run(["--policy", "p.rego", "--input", "in.json", "data.example.allow"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(
    result.stdout,
    `{
  "result": [
    {
      "expressions": [
        {
          "value": true,
          "text": "data.example.allow",
          "location": {
            "row": 1,
            "col": 1
          }
        }
      ]
    }
  ]
}
`,
  );
  // Undefined is {} and still exit 0; --fail makes it 1, --fail-defined a defined one.
  const undefinedQuery = ["--policy", "p.rego", "data.example.allow"];
  assert.deepEqual(await run(undefinedQuery), { code: 0, stdout: "{}\n", stderr: "" });
  assert.equal((await run(["--fail", ...undefinedQuery])).code, 1);
  const defined = ["--policy", "p.rego", "--input", "in.json", "data.example.allow"];
  assert.equal((await run(["--fail-defined", ...defined])).code, 1);
  // Go's encoder escapes <, > and & in strings.
  const banner = await run(["--policy", "p.rego", "data.example.banner"]);
  assert.match(banner.stdout, /"value": "\\u003cok\\u003e"/);
});

Deno.test("policy eval --format values, bindings and raw print what opa eval prints", async () => {
  await using dir = await withFiles({ "p.rego": POLICY, "in.yaml": "user: alice\n" });
  const run = (argv: string[]) =>
    dcosign(["policy", "eval", "--policy", "p.rego", "--input", "in.yaml", ...argv], {
      cwd: dir.path,
    });
  const values = await run(["--format", "values", "data.example.roles"]);
  assert.deepEqual(JSON.parse(values.stdout), [["admin", "dev"]]);
  const bindings = await run(["-f", "bindings", "x := data.example.roles[_]"]);
  assert.deepEqual(
    bindings.stdout.split("\n}\n").filter((s) => s.trim() !== "").map((s) => JSON.parse(`${s}}`)),
    [{ x: "admin" }, { x: "dev" }],
  );
  const raw = await run(["--format", "raw", 'concat(",", data.example.roles)']);
  assert.equal(raw.stdout, "admin,dev\n");
  const bad = await run(["--format", "pretty", "1"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /format/);
});

Deno.test("policy eval merges --data files under data; a path in two files is refused", async () => {
  await using dir = await withFiles({
    "a.json": '{"limits": {"max": 12345678901234567890}}',
    "b.yaml": "limits:\n  min: 1\n",
    "c.json": '{"limits": {"min": 2}}',
  });
  const run = (argv: string[]) => dcosign(["policy", "eval", ...argv], { cwd: dir.path });
  const merged = await run(["--data", "a.json", "--data", "b.yaml", "-f", "values", "data.limits"]);
  assert.equal(merged.code, 0, merged.stderr);
  // Integers beyond 2^53 stay exact, as opa keeps them.
  assert.match(merged.stdout, /"max": 12345678901234567890/);
  assert.match(merged.stdout, /"min": 1/);
  const conflict = await run(["--data", "b.yaml", "--data", "c.json", "data.limits"]);
  assert.equal(conflict.code, 1);
  assert.match(conflict.stderr, /Conflicting data at data\.limits\.min/);
});

Deno.test("policy eval fails with one line on a parse error, a missing file, a v0 policy in v1 mode", async () => {
  await using dir = await withFiles({
    "broken.rego": "package x\n\nallow if {\n",
    "v0.rego": "package x\n\nallow { true }\n",
  });
  const run = (argv: string[]) => dcosign(["policy", "eval", ...argv], { cwd: dir.path });
  for (
    const [argv, expect] of [
      [["--policy", "broken.rego", "data.x.allow"], /broken\.rego:\d+: rego_parse_error/],
      [["--policy", "missing.rego", "data.x"], /Cannot read policy "missing\.rego"/],
      [["--policy", "v0.rego", "data.x.allow"], /v0\.rego:3: rego_parse_error/],
    ] as const
  ) {
    const result = await run([...argv]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assert.match(result.stderr, expect);
  }
  const v0 = await run(["--v0-compatible", "--policy", "v0.rego", "-f", "raw", "data.x.allow"]);
  assert.equal(v0.stdout, "true\n");
});

const PASSING = `cases:
- note: demo/allow
  modules:
  - |
    package demo

    allow if input.ok
  query: data.demo.allow = x
  input: {ok: true}
  want_result:
  - x: true
- note: demo/conflict
  modules:
  - |
    package demo

    p := 1
    p := 2 if true
  query: data.demo.p = x
  want_error_code: eval_conflict_error
`;

const FAILING = `---
cases:
- note: demo/wrong
  query: x = 1 + 1
  want_result:
  - x: 3
`;

Deno.test("policy test runs a folder of OPA YAML cases, reports each, exits 1 on a failure", async () => {
  await using dir = await withFiles({
    "cases/a/pass.yaml": PASSING,
    "cases/b/fail.yml": FAILING,
    "cases/notes.txt": "not a case file",
  });
  const run = (argv: string[]) => dcosign(["policy", "test", ...argv], { cwd: dir.path });
  const passing = await run(["cases/a"]);
  assert.equal(passing.code, 0, passing.stderr);
  assert.equal(
    passing.stdout,
    "ok   cases/a/pass.yaml demo/allow\nok   cases/a/pass.yaml demo/conflict\n" +
      "1 file, 2 cases: 2 passed, 0 failed\n",
  );
  const all = await run(["--quiet", "cases"]);
  assert.equal(all.code, 1);
  assert.equal(
    all.stdout,
    'FAIL cases/b/fail.yml demo/wrong: got [{"x":2}], want [{"x":3}]\n' +
      "2 files, 3 cases: 2 passed, 1 failed\n",
  );
  assert.match(all.stderr, /1 of 3 cases failed \[POLICY_TEST_FAILED\]/);
  const empty = await run(["cases/missing"]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /Cannot read "cases\/missing"/);
});

Deno.test("policy test reports a file that does not parse as a failure", async () => {
  await using dir = await withFiles({ "bad.yaml": "cases: [\n", "none.yaml": "x: 1\n" });
  const result = await dcosign(["policy", "test", "."], { cwd: dir.path });
  assert.equal(result.code, 1);
  assert.match(result.stdout, /^FAIL \.\/bad\.yaml: Invalid YAML/m);
  assert.match(result.stdout, /^FAIL \.\/none\.yaml: Not an OPA case file/m);
});

const V0_CASE = `cases:
- note: legacy/allow
  modules:
  - |
    package legacy

    allow { input.ok }
  query: data.legacy.allow = x
  input: {ok: true}
  want_result:
  - x: true
`;

Deno.test("policy test --exceptions runs listed files as Rego v0 and skips listed cases with their reason", async () => {
  await using dir = await withFiles({
    "cases/old/legacy.yaml": V0_CASE,
    "cases/new/pass.yaml": PASSING,
    "cases/new/fail.yaml": FAILING,
    "known.yaml": `v0: [old/]
skip:
  "new/fail.yaml#demo/wrong": the expectation is wrong
  "new/gone.yaml": a file that no longer exists
`,
  });
  const run = (argv: string[]) => dcosign(["policy", "test", ...argv], { cwd: dir.path });
  const plain = await run(["--quiet", "cases"]);
  assert.equal(plain.code, 1);
  assert.match(plain.stdout, /^FAIL cases\/old\/legacy\.yaml legacy\/allow: .*rego_parse_error/m);

  const known = await run(["--quiet", "--exceptions", "known.yaml", "cases"]);
  assert.equal(known.code, 0, known.stderr);
  assert.equal(
    known.stdout,
    "skip cases/new/fail.yaml demo/wrong: the expectation is wrong\n" +
      "3 files, 4 cases: 3 passed, 0 failed, 1 skipped\n",
  );
  // An entry that matched nothing is said, so that a stale file does not hide a change.
  assert.match(known.stderr, /Exception skip "new\/gone\.yaml" matched no case/);

  await Deno.writeTextFile(`${dir.path}/bad.yaml`, 'skip: {"new/fail.yaml": ""}\n');
  const bad = await run(["--exceptions", "bad.yaml", "cases"]);
  assert.equal(bad.code, 1);
  assert.match(
    bad.stderr,
    /Cannot read the exceptions file "bad\.yaml": "skip": "new\/fail\.yaml" has no reason/,
  );
});

const OPA_CASES = interopPath("policy/opa-cases/v1");

if (
  requireComponents("policy test on OPA's cases", {
    name: "OPA cases (../shared/interop/policy/opa-cases)",
    present: () => exists(OPA_CASES),
  })
) {
  Deno.test("policy test runs OPA's own v1 cases from the corpus, one line per case", async () => {
    const result = await dcosign(["policy", "test", "--quiet", OPA_CASES]);
    const summary = result.stdout.trimEnd().split("\n").at(-1) ?? "";
    const match = /^319 files, 537 cases: (\d+) passed, (\d+) failed$/.exec(summary);
    assert.ok(match, summary);
    const [passed, failed] = [Number(match[1]), Number(match[2])];
    // Every failure is reported on its own line (the conformance runner owns the pass rate).
    assert.equal(result.stdout.split("\n").filter((l) => l.startsWith("FAIL ")).length, failed);
    assert.ok(passed > 400, summary);
    assert.equal(result.code, failed === 0 ? 0 : 1);
  });

  Deno.test("policy test with the conformance test's exceptions file passes every case it does not skip", async () => {
    const exceptions = `${REPO_ROOT}tests/testdata/policy/opa_cases_v1_exceptions.yaml`;
    const result = await dcosign([
      "policy",
      "test",
      "--quiet",
      "--exceptions",
      exceptions,
      OPA_CASES,
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    const skips = lines.filter((l) => l.startsWith("skip "));
    // The same numbers as rego_conformance_test.ts's opa/* rows: 533 passed, 4 skipped.
    assert.equal(lines.at(-1), "319 files, 537 cases: 533 passed, 0 failed, 4 skipped");
    assert.equal(skips.length, 4);
    assert.ok(skips.every((l) => /^skip \S+\.yaml .+: \S.*/.test(l)), skips.join("\n"));
    assert.equal(result.stderr, "");
  });
}
