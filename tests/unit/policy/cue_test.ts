/**
 * The CUE evaluator (`lib/policy/cue.ts`, CUE v0.4 in wasm on a worker thread): unification
 * without concreteness unless asked for, several files as one instance, the policy's package
 * clause given to the document, names and messages without positions or the worker's paths,
 * inputs that are not JSON, size caps; and the budgets: a runaway policy is stopped at its time
 * limit and at its memory limit (the thread terminated), and the next run works again.
 */

import assert from "node:assert/strict";
import { compileCue, stopCueWorker } from "../../../lib/policy/cue.ts";
import { isCosignError } from "../../../lib/errors.ts";

Deno.test("CUE: unify without concreteness; concrete: true is cue vet -c", async () => {
  try {
    const policy = await compileCue([{
      name: "builder.cue",
      source: 'predicate: builder: id: string\npredicate: buildType?: =~"^https://"\n',
    }]);
    assert.deepEqual(await policy.validate('{"predicate": {"builder": {"id": "x"}}}'), {
      ok: true,
    });
    assert.deepEqual(await policy.validate('{"predicate": {}}'), { ok: true });
    const incomplete = await policy.validate('{"predicate": {}}', { concrete: true });
    assert.deepEqual(incomplete, {
      ok: false,
      message: "predicate.builder.id: incomplete value string",
      messages: ["predicate.builder.id: incomplete value string"],
    });
    const bad = await policy.validate('{"predicate": {"builder": {"id": 1}, "buildType": "x"}}');
    assert.equal(bad.ok, false);
    assert.ok(!bad.ok && bad.messages.length === 2, JSON.stringify(bad));
    assert.ok(!bad.ok && !/dcosign-cue|\.cue:\d+/.test(bad.message), JSON.stringify(bad));
  } finally {
    await stopCueWorker();
  }
});

Deno.test("CUE: files of one package are one instance; the document joins their package", async () => {
  try {
    const policy = await compileCue([
      { name: "a.cue", source: "package policy\n\nlimit: 3\n" },
      { name: "b.cue", source: "// a comment\npackage policy\n\nitems: [...int] & [...<=limit]\n" },
    ]);
    assert.deepEqual(await policy.validate('{"items": [1, 2, 3]}'), { ok: true });
    const over = await policy.validate('{"items": [1, 9]}');
    assert.ok(!over.ok && /items\.1: invalid value 9 \(out of bound <=3\)/.test(over.message));
    await assert.rejects(
      compileCue([
        { name: "a.cue", source: "package one\n" },
        { name: "b.cue", source: "package two\n" },
      ]),
      (error) =>
        isCosignError(error, "POLICY_COMPILE_ERROR") && /"a\.cue", "b\.cue"/.test(error.message),
    );
  } finally {
    await stopCueWorker();
  }
});

Deno.test("CUE: a document that is not JSON fails as encoding/json.Validate; size caps throw", async () => {
  try {
    const policy = await compileCue([{ name: "p.cue", source: "a: 1" }], {
      limits: { maxInputBytes: 64 },
    });
    assert.deepEqual(await policy.validate("a: 1"), {
      ok: false,
      message: "json: invalid JSON",
      messages: ["json: invalid JSON"],
    });
    await assert.rejects(
      policy.validate(`{"a": 1, "pad": "${"x".repeat(100)}"}`),
      (error) => isCosignError(error, "POLICY_TOO_LARGE"),
    );
    await assert.rejects(
      compileCue([{ name: "big.cue", source: `a: "${"x".repeat(2 << 20)}"` }]),
      (error) => isCosignError(error, "POLICY_TOO_LARGE") && /big\.cue/.test(error.message),
    );
  } finally {
    await stopCueWorker();
  }
});

Deno.test("CUE: a runaway policy is stopped at its time limit, and the next run works", async () => {
  try {
    const policy = await compileCue([{ name: "p.cue", source: 'import "list"\nn: int\n' }]);
    const runaway = await compileCue([{
      name: "runaway.cue",
      source: 'import "list"\n\nx: [for i in list.Range(0, 100000000, 1) {i}] & [...int]\n',
    }], { limits: { timeoutMs: 5_000 } }).then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(isCosignError(runaway, "POLICY_EVAL_LIMIT"), String(runaway));
    assert.match(String(runaway), /stopped after 5000 ms/);
    assert.deepEqual(await policy.validate('{"n": 1}'), { ok: true });
  } finally {
    await stopCueWorker();
  }
});

Deno.test("CUE: a policy that allocates without bound is stopped at its memory limit", async () => {
  try {
    const started = performance.now();
    const error = await compileCue([{
      name: "hungry.cue",
      source: 'import "list"\nimport "strings"\n\n' +
        'x: [for i in list.Range(0, 100000000, 1) {strings.Repeat("x", 1000)}]\n',
    }], { limits: { maxMemoryBytes: 300 << 20, timeoutMs: 60_000 } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isCosignError(error, "POLICY_EVAL_LIMIT"), String(error));
    assert.match(String(error), /used more than 300 MiB/);
    assert.ok(performance.now() - started < 60_000);
  } finally {
    await stopCueWorker();
  }
});
