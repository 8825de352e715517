/**
 * The 29 cases of cosign's own tests (`../shared/interop/policy/cosign/extracted-cases.json`:
 * `pkg/cosign/cue`, `pkg/cosign/rego`, v3.0.5 `pkg/policy` and the e2e `attestVerify` tests)
 * run through dcosign's policy API, each expected to pass or fail as cosign's test says, with
 * cosign's error text where the test names one.
 *
 * - `cue.ValidateJSON` and the e2e cases: `compileCue` + `validate` (cosign CLI semantics), the
 *   e2e ones through `checkAttestationPolicy` on the statement `cosign attest --type` builds.
 * - `rego.ValidateJSON`: `checkAttestationPolicy` (query `data.signature.allow`, Rego v0).
 * - `ValidateJSONWithModuleInput` and `EvaluatePolicyAgainstJSON` (policy-controller):
 *   `evaluatePolicyControllerPolicy`.
 *
 * One difference is stated where it applies: the evaluator is CUE v0.4, whose `list.MinItems`
 * message stops before the `: len(list) < MinItems(2) (1 < 2)` detail newer CUE appends; the
 * test checks the rest of the text exactly.
 */

import assert from "node:assert/strict";
import { exists, interopPath, readInteropText, requireComponents } from "../../_support.ts";
import { checkAttestationPolicy } from "../../../lib/policy/attestation.ts";
import { compileCue, stopCueWorker } from "../../../lib/policy/cue.ts";
import { evaluatePolicyControllerPolicy } from "../../../lib/policy/policy_controller.ts";
import { buildStatement } from "../../../lib/payload/statement.ts";
import { predicateTypeFor } from "../../../lib/payload/predicate.ts";

interface Case {
  readonly id: string;
  readonly engine: "cue" | "rego";
  readonly policy: string;
  readonly input: string;
  readonly name_arg?: string;
  readonly predicate_type_flag?: string;
  readonly predicate?: { readonly inline?: string; readonly file?: string };
  readonly expect: {
    readonly pass: boolean;
    readonly error_exact?: string | null;
    readonly errors_exact?: string[] | null;
    readonly error_substring?: string | null;
    readonly warning_substring?: string | null;
  };
}

const CORPUS = {
  name: "policy corpus (../shared/interop/policy/cosign)",
  present: () => exists(interopPath("policy/cosign/extracted-cases.json")),
};

/** newer CUE's extra detail after a list.MinItems failure (not printed by CUE v0.4). */
const NEWER_CUE_DETAIL = ": len(list) < MinItems(2) (1 < 2)";

function cases(): Case[] {
  const doc = JSON.parse(readInteropText("policy/cosign/extracted-cases.json")) as {
    cases: Case[];
  };
  return doc.cases;
}

/** The statement `cosign attest --type <flag> --predicate <file>` signs (in-toto v0.1). */
function attestedStatement(c: Case): Uint8Array {
  const text = c.predicate?.inline ??
    readInteropText(`policy/cosign/${c.predicate?.file ?? "missing predicate"}`);
  return buildStatement({
    version: "v0.1",
    predicateType: predicateTypeFor(c.predicate_type_flag ?? "custom"),
    predicate: JSON.parse(text),
    subjects: [{ name: "registry.local/e2e", digest: { sha256: "ab".repeat(32) } }],
  });
}

if (requireComponents("cosign policy cases", CORPUS)) {
  Deno.test("the corpus holds cosign's 29 policy cases", () => {
    assert.equal(cases().length, 29);
  });

  Deno.test("cue.ValidateJSON cases pass and fail as cosign's cue_test.go says", async () => {
    try {
      for (const c of cases().filter((c) => c.id.startsWith("cue.ValidateJSON/"))) {
        const policy = await compileCue([{ name: "policy.cue", source: c.policy }]);
        const outcome = await policy.validate(c.input);
        assert.equal(outcome.ok, c.expect.pass, `${c.id}: ${JSON.stringify(outcome)}`);
        const want = c.expect.error_exact;
        if (!outcome.ok && want) {
          // CUE v0.4 prints the list.MinItems failure without newer CUE's trailing detail.
          assert.equal(outcome.message, want.replace(NEWER_CUE_DETAIL, ""), c.id);
          assert.ok(want.endsWith(NEWER_CUE_DETAIL), c.id);
        }
      }
    } finally {
      await stopCueWorker();
    }
  });

  Deno.test("rego.ValidateJSON cases give cosign's decision and error texts", async () => {
    for (const c of cases().filter((c) => c.id.startsWith("rego.ValidateJSON/"))) {
      const decision = await checkAttestationPolicy(c.input, [
        { name: "tmp-policy.rego", language: "rego", source: c.policy },
      ]);
      assert.equal(decision.allowed, c.expect.pass, c.id);
      assert.deepEqual(decision.messages, c.expect.errors_exact ?? [], c.id);
    }
  });

  Deno.test("ValidateJSONWithModuleInput cases (policy-controller Rego) as cosign v3.0.5 says", async () => {
    for (const c of cases().filter((c) => c.id.startsWith("rego.ValidateJSONWithModuleInput/"))) {
      const verdict = await evaluatePolicyControllerPolicy("t", "rego", c.policy, c.input);
      assert.equal(verdict.pass, c.expect.pass, `${c.id}: ${JSON.stringify(verdict)}`);
      if (!verdict.pass) {
        assert.equal(
          verdict.error,
          `failed evaluating rego policy for type t: ${c.expect.error_exact}`,
        );
      }
    }
  });

  Deno.test("EvaluatePolicyAgainstJSON cases (policy-controller CUE and Rego) as cosign v3.0.5 says", async () => {
    try {
      const selected = cases().filter((c) => c.id.startsWith("policy.EvaluatePolicyAgainstJSON/"));
      assert.equal(selected.length, 12);
      for (const c of selected) {
        const verdict = await evaluatePolicyControllerPolicy(
          c.name_arg ?? "",
          c.engine,
          c.policy,
          c.input,
        );
        assert.equal(verdict.pass, c.expect.pass, `${c.id}: ${JSON.stringify(verdict)}`);
        if (!verdict.pass && c.expect.error_substring) {
          assert.ok(verdict.error.includes(c.expect.error_substring), `${c.id}: ${verdict.error}`);
        }
        if (c.expect.warning_substring) {
          assert.ok(verdict.warning?.includes(c.expect.warning_substring), c.id);
        }
      }
    } finally {
      await stopCueWorker();
    }
  });

  Deno.test("e2e attestVerify cases: verify-attestation --type T --policy policy.cue", async () => {
    try {
      const selected = cases().filter((c) => c.id.startsWith("e2e.attestVerify/"));
      assert.equal(selected.length, 8);
      for (const c of selected) {
        const type = predicateTypeFor(c.predicate_type_flag ?? "custom");
        let allowed: boolean;
        try {
          const decision = await checkAttestationPolicy(attestedStatement(c), [
            { name: "policy.cue", language: "cue", source: c.policy },
          ], { predicateType: type });
          allowed = decision.allowed;
          if (!c.expect.pass) assert.ok(decision.messages.length > 0, c.id);
        } catch (error) {
          // The URI case's bad policy has a stray quote: it fails by not compiling, as in cosign.
          assert.ok(!c.expect.pass, `${c.id}: ${error}`);
          assert.match(String(error), /does not compile: string literal not terminated/);
          allowed = false;
        }
        assert.equal(allowed, c.expect.pass, c.id);
      }
    } finally {
      await stopCueWorker();
    }
  });
}
