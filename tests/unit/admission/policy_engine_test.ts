/**
 * The policy engine (lib/admission/policy_engine.ts): what this build cannot evaluate fails by
 * name and never passes; a Rego compiler is given cosign v3.0.5's module name, syntax and query,
 * and its result sets are read as `ValidateJSONWithModuleInput` reads them (a `true` binding, or
 * `{result, error, warning}` objects), with a warning failing as policy-controller treats it; a
 * module that does not compile fails when the policy is loaded. The compiler here is a stand-in
 * answering with the result sets OPA gives for cosign's test policies.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../../lib/errors.ts";
import {
  createPolicyEngine,
  defaultPolicyEngine,
  REGO_QUERY,
  type RegoSolution,
} from "../../../lib/admission/policy_engine.ts";

Deno.test("the default engine evaluates Rego and CUE as policy-controller does", async () => {
  const engine = defaultPolicyEngine();
  const cue = engine.compile("sbom", "cue", 'predicateType: "x"');
  assert.deepEqual(await cue.evaluate({ predicateType: "x" }), { pass: true });
  const wrongType = await cue.evaluate({ predicateType: "y" });
  assert.equal(wrongType.pass, false);
  assert.match(wrongType.error ?? "", /conflicting values/);
  const rego = engine.compile(
    "sbom",
    "rego",
    'package sigstore\ndefault isCompliant = false\nisCompliant { input.predicateType == "x" }',
  );
  assert.deepEqual(await rego.evaluate({ predicateType: "x" }), { pass: true });
  const refused = await rego.evaluate({ predicateType: "y" });
  assert.equal(refused.pass, false);
  assert.match(refused.error ?? "", /^failed evaluating rego policy for type sbom: /);
  // The engine without evaluators fails both by name, never admits.
  const bare = createPolicyEngine();
  assert.deepEqual(await bare.compile("sbom", "rego", "package sigstore").evaluate({}), {
    pass: false,
    error: "failed evaluating rego policy for type sbom: Rego policies are not supported yet",
  });
  assert.deepEqual(await bare.compile("sbom", "cue", 'predicateType: "x"').evaluate({}), {
    pass: false,
    error: "failed evaluating cue policy for sbom: CUE policies are not supported yet",
  });
  const { stopCueWorker } = await import("../../../lib/policy/cue.ts");
  await stopCueWorker();
});

Deno.test("a Rego compiler gets cosign's module and query; result sets are read as cosign reads them", async () => {
  const calls: unknown[] = [];
  let answer: RegoSolution[] = [];
  const engine = createPolicyEngine({
    rego: (modules, options) => {
      calls.push({ modules, options });
      return {
        evaluate(query, { input }) {
          calls.push({ query, input });
          return answer;
        },
      };
    },
  });
  const program = engine.compile("custom-match-predicate", "rego", "package sigstore");
  assert.deepEqual(calls[0], {
    modules: [{ name: "sigstore.rego", source: "package sigstore" }],
    options: { syntax: "v0" },
  });
  const cases: [RegoSolution[], string | true][] = [
    [[{ bindings: { isCompliant: true } }], true],
    [
      [{ bindings: { isCompliant: false } }],
      "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'",
    ],
    [[], "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'"],
    [[{ bindings: { isCompliant: [{ result: true, error: "", warning: "" }] } }], true],
    [
      [{
        bindings: {
          isCompliant: [{
            result: false,
            error: "attestationsKeylessATT is not equal to 1000",
            warning: "",
          }],
        },
      }],
      "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant' with errors: attestationsKeylessATT is not equal to 1000",
    ],
    [[{ bindings: { isCompliant: ["not an object"] } }], "due to parsing errors"],
  ];
  for (const [solutions, expected] of cases) {
    answer = solutions;
    const verdict = await program.evaluate({
      predicateType: "https://cosign.sigstore.dev/attestation/v1",
    });
    if (expected === true) assert.deepEqual(verdict, { pass: true }, JSON.stringify(solutions));
    else {
      assert.equal(verdict.pass, false);
      assert.ok(
        !verdict.pass &&
          verdict.error.startsWith(
            "failed evaluating rego policy for type custom-match-predicate: ",
          ),
      );
      assert.ok(
        !verdict.pass && verdict.error.includes(expected),
        `${!verdict.pass && verdict.error} lacks ${expected}`,
      );
    }
  }
  assert.deepEqual(calls[1], {
    query: REGO_QUERY,
    input: { predicateType: "https://cosign.sigstore.dev/attestation/v1" },
  });
  // A compliant result with a warning fails, as policy-controller's validator treats warnings.
  answer = [{
    bindings: {
      isCompliant: [{ result: true, error: "", warning: "Throw warning error even if succeeded" }],
    },
  }];
  assert.deepEqual(await program.evaluate({}), {
    pass: false,
    error: "warning: Throw warning error even if succeeded",
  });
});

Deno.test("a Rego module that does not compile fails when loaded; one that throws while evaluating fails that input", async () => {
  const failing = createPolicyEngine({
    rego: () => {
      throw new SyntaxError("rego_parse_error: unexpected eof token");
    },
  });
  assert.throws(
    () => failing.compile("att", "rego", "package"),
    (error) =>
      isCosignError(error, "ADMISSION_POLICY_INVALID") &&
      /The Rego policy for att does not compile: rego_parse_error/.test(error.message),
  );
  const throwing = createPolicyEngine({
    rego: () => ({
      evaluate() {
        throw new RangeError("evaluation exceeded 1000000 steps");
      },
    }),
  });
  const verdict = await throwing.compile("att", "rego", "package sigstore").evaluate({});
  assert.deepEqual(verdict, {
    pass: false,
    error: "failed evaluating rego policy for type att: evaluation exceeded 1000000 steps",
  });
  // CUE still fails by name with a Rego compiler present.
  const cue = await throwing.compile("att", "cue", "x: 1").evaluate({});
  assert.equal(cue.pass, false);
});
