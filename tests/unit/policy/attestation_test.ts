/**
 * `checkAttestationPolicy` beyond cosign's own cases: the predicate type filter and cosign's
 * "none matched" text, every statement must pass, Go's `%v` in the "is not true" message, the
 * `deny` messages, exact integers (cosign decodes with `UseNumber`), CUE before Rego (and Rego
 * skipped after a CUE failure), budgets that throw instead of denying; and the
 * policy-controller evaluators' result-set forms, parse errors and compile errors.
 */

import assert from "node:assert/strict";
import {
  checkAttestationPolicy,
  compileAttestationPolicies,
  denialError,
  type PolicySource,
} from "../../../lib/policy/attestation.ts";
import { stopCueWorker } from "../../../lib/policy/cue.ts";
import {
  compilePolicyControllerPolicy,
  evaluatePolicyControllerPolicy,
} from "../../../lib/policy/policy_controller.ts";
import { isCosignError } from "../../../lib/errors.ts";

const SLSA = "https://slsa.dev/provenance/v0.2";
const SPDX = "https://spdx.dev/Document";

function statement(predicateType: string, predicate: unknown) {
  return { _type: "https://in-toto.io/Statement/v0.1", predicateType, subject: [], predicate };
}

function rego(source: string, name = "policy.rego"): PolicySource {
  return { name, language: "rego", source };
}

Deno.test("checkAttestationPolicy checks only statements of predicateType; none is cosign's denial", async () => {
  const policy = rego("package signature\n\nallow { input.predicate.ok }\n");
  const statements = [statement(SLSA, { ok: true }), statement(SPDX, { ok: false })];
  const decision = await checkAttestationPolicy(statements, [policy], { predicateType: SLSA });
  assert.equal(decision.allowed, true);
  assert.deepEqual(decision.statements.map((s) => s.index), [0]);
  const none = await checkAttestationPolicy(statements, [policy], {
    predicateType: "https://example.com/none",
  });
  assert.equal(none.allowed, false);
  assert.deepEqual(none.messages, [
    `none of the attestations matched the predicate type: https://example.com/none, found: ${SLSA},${SPDX}`,
  ]);
  const empty = await checkAttestationPolicy([], [policy]);
  assert.equal(empty.allowed, false);
});

Deno.test("checkAttestationPolicy: every statement must pass; failures read as cosign's", async () => {
  const allowIsObject = rego('package signature\n\nallow := {"k": [1, "a"]} if true\n');
  const decision = await checkAttestationPolicy([statement(SLSA, {}), statement(SLSA, {})], [
    allowIsObject,
  ]);
  assert.equal(decision.allowed, false);
  // OPA's ExpressionValue.String() is Go's fmt.Sprint of the decoded value.
  assert.deepEqual(decision.messages, [
    "expression value, map[k:[1 a]], is not true",
    "expression value, map[k:[1 a]], is not true",
  ]);
  assert.equal(
    denialError("reg/app@sha256:ab", decision).message,
    'The attestations of "reg/app@sha256:ab" fail the policy: 2 validation errors occurred: ' +
      "expression value, map[k:[1 a]], is not true; expression value, map[k:[1 a]], is not true",
  );
});

Deno.test("checkAttestationPolicy adds the policy's deny messages to a failure, never to a pass", async () => {
  const policy = rego(`package signature

import future.keywords.contains
import future.keywords.if

default allow = false

allow if count(deny) == 0

deny contains "no builder" if not input.predicate.builder
deny contains {"msg": "not reproducible"} if not input.predicate.reproducible
`);
  const failed = await checkAttestationPolicy(statement(SLSA, {}), [policy]);
  assert.deepEqual(failed.messages, [
    "expression value, false, is not true",
    "deny: no builder",
    "deny: not reproducible",
  ]);
  assert.match(denialError("x", failed).message, /: 1 validation error occurred: /);
  const passed = await checkAttestationPolicy(
    statement(SLSA, { builder: {}, reproducible: true }),
    [policy],
  );
  assert.deepEqual(passed.messages, []);
});

Deno.test("checkAttestationPolicy reads statement bytes with exact integers (cosign's UseNumber)", async () => {
  const policy = rego(
    "package signature\n\nallow { input.predicate.n == 12345678901234567891 }\n",
  );
  const bytes = new TextEncoder().encode(
    `{"predicateType": "${SLSA}", "predicate": {"n": 12345678901234567891}}`,
  );
  assert.equal((await checkAttestationPolicy(bytes, [policy])).allowed, true);
  // As a double the integer would be 12345678901234567000 and the policy would fail.
  assert.equal(
    (await checkAttestationPolicy(JSON.parse(new TextDecoder().decode(bytes)), [
      policy,
    ])).allowed,
    false,
  );
});

Deno.test("checkAttestationPolicy: CUE first, Rego skipped for a statement CUE failed", async () => {
  try {
    const policies = await compileAttestationPolicies([
      { name: "type.cue", language: "cue", source: `predicateType: "${SLSA}"` },
      rego("package signature\n\ndefault allow = false\n"),
    ]);
    assert.deepEqual(policies.names, ["type.cue", "policy.rego"]);
    const decision = await checkAttestationPolicy(
      [statement(SPDX, {}), statement(SLSA, {})],
      policies,
    );
    assert.deepEqual(decision.statements.map((s) => s.messages), [
      [`predicateType: conflicting values "${SPDX}" and "${SLSA}"`],
      ["expression value, false, is not true"],
    ]);
  } finally {
    await stopCueWorker();
  }
});

Deno.test("checkAttestationPolicy throws POLICY_EVAL_LIMIT past the step budget (no decision)", async () => {
  const policy = rego(
    "package signature\n\nallow { count([1 | numbers.range(1, 2000)[_]; numbers.range(1, 2000)[_]]) > 0 }\n",
  );
  await assert.rejects(
    checkAttestationPolicy(statement(SLSA, {}), [policy], { regoLimits: { maxSteps: 10_000 } }),
    (error) => isCosignError(error, "POLICY_EVAL_LIMIT"),
  );
});

Deno.test("compileAttestationPolicies fails on what does not compile, naming the file", async () => {
  await assert.rejects(
    compileAttestationPolicies([rego("package signature\n\nallow { x }\n", "unsafe.rego")]),
    (error) => isCosignError(error, "POLICY_COMPILE_ERROR") && /unsafe\.rego/.test(error.message),
  );
  await assert.rejects(compileAttestationPolicies([]), RangeError);
});

const INPUT = { authorityMatches: { a: { signatures: [{ subject: "s" }] } } };

Deno.test("policy-controller Rego: bool, set of results, parse errors, eval errors", async () => {
  const judge = (source: string) =>
    evaluatePolicyControllerPolicy("att", "rego", `package sigstore\n${source}`, INPUT);
  assert.deepEqual(await judge("isCompliant = true"), { pass: true });
  assert.deepEqual(await judge("isCompliant = 1"), {
    pass: false,
    error:
      "failed evaluating rego policy for type att: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'",
  });
  // The last non-compliant member's error (and warning) are reported.
  const failed = await judge(
    'isCompliant[r] { r := {"result": false, "error": "too few", "warning": "w"} }',
  );
  assert.deepEqual(failed, {
    pass: false,
    error:
      "failed evaluating rego policy for type att: policy is not compliant for query 'isCompliant = data.sigstore.isCompliant' with errors: too few",
    warning: "w",
  });
  const malformed = await judge('isCompliant[r] { r := {"result": "yes"} }');
  assert.ok(
    !malformed.pass && /due to parsing errors: json: cannot unmarshal string/.test(malformed.error),
  );
  const notCompiling = await judge("isCompliant {");
  assert.ok(!notCompiling.pass && /rego_parse_error/.test(notCompiling.error));
  await assert.rejects(
    compilePolicyControllerPolicy("att", "rego", "package sigstore\nisCompliant {"),
    (error) => isCosignError(error, "POLICY_PARSE_ERROR"),
  );
});

Deno.test("policy-controller CUE: cosign's texts for a failure and for a policy that does not compile", async () => {
  try {
    const program = await compilePolicyControllerPolicy(
      "ClusterImagePolicy",
      "cue",
      'typemeta: kind: "Pod"',
    );
    assert.deepEqual(await program.evaluate({ typemeta: { kind: "Pod" } }), { pass: true });
    assert.deepEqual(await program.evaluate('{"typemeta": {"kind": "Job"}}'), {
      pass: false,
      error:
        'failed evaluating cue policy for ClusterImagePolicy: failed to evaluate the policy with error: typemeta.kind: conflicting values "Job" and "Pod"',
    });
    const broken = await evaluatePolicyControllerPolicy("x", "cue", "a: {", {});
    assert.deepEqual(broken, {
      pass: false,
      error:
        "failed evaluating cue policy for x: failed to compile the cue policy with error: expected '}', found 'EOF'",
    });
  } finally {
    await stopCueWorker();
  }
});
