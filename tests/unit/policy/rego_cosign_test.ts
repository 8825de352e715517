/**
 * cosign's and policy-controller's Rego policies evaluate as cosign does.
 *
 * Cases: the Rego cases of `../shared/interop/policy/cosign/extracted-cases.json` (Go test
 * literals of cosign's `pkg/cosign/rego` and v3.0.5 `pkg/policy`), and the Rego
 * ClusterImagePolicy of `policy-controller/` (README: an attestation of "barfoo e2e test" is
 * rejected, one of "foobar e2e test" admitted). CUE cases belong to the CUE engine and are not
 * run here (they are counted, so that a new Rego case cannot be missed).
 *
 * The decision functions below restate cosign's (read from cosign's sources, described in
 * `cosign/README.md`): `rego.ValidateJSON` (query `data.signature.allow`, v0, pass iff exactly
 * one result with one expression whose value is `true`) and v3.0.5
 * `rego.ValidateJSONWithModuleInput` (query `isCompliant = data.sigstore.isCompliant`, v0,
 * boolean `true` or a set of `{result, error, warning}` objects).
 */

import assert from "node:assert/strict";
import { compileRego, type JsonValue } from "../../../lib/policy/rego/mod.ts";
import { parseYaml } from "../../../lib/util/yaml.ts";
import { exists, interopPath, requireComponents } from "../../_support.ts";

const COSIGN = interopPath("policy/cosign");
const PC = interopPath("policy/policy-controller");

/** cosign `rego.ValidateJSON`: the errors, empty when the policy passes. */
function validateJson(policy: string, input: unknown): string[] {
  const query = "data.signature.allow";
  const rs = compileRego([{ name: "policy.rego", source: policy }], { syntax: "v0" })
    .evaluate(query, { input });
  const allowed = rs.length === 1 && rs[0]?.expressions.length === 1 &&
    rs[0].expressions[0]?.value === true && rs[0].bindings === undefined;
  if (allowed) return [];
  if (rs.length === 0) return [`result is undefined for query '${query}'`];
  const errors: string[] = [];
  for (const r of rs) {
    for (const e of r.expressions) {
      if (e.value !== true) errors.push(`expression value, ${goValue(e.value)}, is not true`);
    }
  }
  return errors;
}

/** Go's `%v` of a decoded JSON value, as far as these messages need it. */
function goValue(v: JsonValue): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** cosign v3.0.5 `rego.ValidateJSONWithModuleInput`: the warning and the error (either may be absent). */
function validateJsonWithModuleInput(
  policy: string,
  input: unknown,
): { warning?: string; error?: string } {
  const query = "isCompliant = data.sigstore.isCompliant";
  const rs = compileRego([{ name: "sigstore.rego", source: policy }], { syntax: "v0" })
    .evaluate(query, { input });
  for (const r of rs) {
    const v = r.bindings?.isCompliant;
    if (Array.isArray(v)) {
      let error = `policy is not compliant for query "${query}"`;
      let warning: string | undefined;
      for (const item of v) {
        if (item === null || typeof item !== "object" || Array.isArray(item)) {
          return { error: `policy is not compliant for query '${query}': unexpected result type` };
        }
        const obj = item as Record<string, JsonValue>;
        const warn = typeof obj.warning === "string" ? obj.warning : "";
        if (obj.result === true) return warn === "" ? {} : { warning: `warning: ${warn}` };
        warning = warn;
        error = `policy is not compliant for query '${query}' with errors: ${
          typeof obj.error === "string" ? obj.error : ""
        }`;
      }
      return warning === undefined || warning === "" ? { error } : { warning, error };
    }
    if (v === true) return {};
  }
  return { error: `policy is not compliant for query '${query}'` };
}

interface ExtractedCase {
  readonly id: string;
  readonly engine: string;
  readonly evaluator: string;
  readonly policy: string;
  readonly input: string;
  readonly name_arg?: string;
  readonly expect: Record<string, unknown>;
}

function readCases(): ExtractedCase[] {
  const doc = JSON.parse(Deno.readTextFileSync(`${COSIGN}/extracted-cases.json`)) as unknown;
  if (
    doc === null || typeof doc !== "object" || !Array.isArray((doc as { cases?: unknown }).cases)
  ) {
    throw new SyntaxError("extracted-cases.json: no cases array");
  }
  return (doc as { cases: ExtractedCase[] }).cases;
}

if (
  requireComponents("rego cosign policies", {
    name: "policy corpus (../shared/interop/policy)",
    present: () => exists(`${COSIGN}/extracted-cases.json`) && exists(`${PC}/README.md`),
  })
) {
  Deno.test("cosign extracted cases: every Rego case is run, the CUE ones are left to CUE", () => {
    const cases = readCases();
    const rego = cases.filter((c) => c.engine === "rego");
    const cue = cases.filter((c) => c.engine === "cue");
    assert.equal(cases.length, 29);
    assert.equal(rego.length + cue.length, cases.length, "every case is Rego or CUE");
    assert.equal(rego.length, 11);
  });

  Deno.test("cosign rego.ValidateJSON cases (verify-attestation --policy x.rego) decide as cosign", () => {
    const cases = readCases().filter((c) =>
      c.engine === "rego" && c.id.startsWith("rego.ValidateJSON/")
    );
    assert.equal(cases.length, 3);
    for (const c of cases) {
      const errors = validateJson(c.policy, JSON.parse(c.input));
      assert.equal(errors.length === 0, c.expect.pass, `${c.id}: ${errors.join("; ")}`);
      if (Array.isArray(c.expect.errors_exact)) {
        assert.deepEqual(errors, c.expect.errors_exact, c.id);
      }
    }
  });

  Deno.test("cosign v3.0.5 rego.ValidateJSONWithModuleInput cases decide as cosign", () => {
    const cases = readCases().filter((c) =>
      c.engine === "rego" && c.id.startsWith("rego.ValidateJSONWithModuleInput/")
    );
    assert.equal(cases.length, 3);
    for (const c of cases) {
      const r = validateJsonWithModuleInput(c.policy, JSON.parse(c.input));
      assert.equal(r.error === undefined, c.expect.pass, `${c.id}: ${r.error}`);
      if (typeof c.expect.error_exact === "string") {
        assert.equal(r.error, c.expect.error_exact, c.id);
      }
      if (typeof c.expect.warning_exact === "string") {
        assert.equal(r.warning, c.expect.warning_exact, c.id);
      }
    }
  });

  Deno.test("cosign v3.0.5 policy.EvaluatePolicyAgainstJSON Rego cases decide as policy-controller", () => {
    const cases = readCases().filter((c) =>
      c.engine === "rego" && c.id.startsWith("policy.EvaluatePolicyAgainstJSON/")
    );
    assert.equal(cases.length, 5);
    for (const c of cases) {
      const r = validateJsonWithModuleInput(c.policy, JSON.parse(c.input));
      // EvaluatePolicyAgainstJSON wraps the error with the policy name.
      const error = r.error === undefined
        ? undefined
        : `failed evaluating rego policy for type ${c.name_arg}: ${r.error}`;
      assert.equal(error === undefined, c.expect.pass, `${c.id}: ${error}`);
      if (typeof c.expect.error_substring === "string") {
        assert.ok(error?.includes(c.expect.error_substring), `${c.id}: ${error}`);
      }
      if (typeof c.expect.warning_substring === "string") {
        assert.ok(r.warning?.includes(c.expect.warning_substring), `${c.id}: ${r.warning}`);
      }
    }
  });

  Deno.test("policy-controller: the Rego attestation policy rejects 'barfoo e2e test' and admits 'foobar e2e test'", () => {
    const file =
      `${PC}/test/testdata/policy-controller/e2e/cip-keyless-with-attestations-rego.yaml`;
    const cip = parseYaml(Deno.readTextFileSync(file)) as {
      spec: {
        authorities: {
          attestations?: {
            name: string;
            predicateType: string;
            policy: { type: string; data: string };
          }[];
        }[];
      };
    };
    const attestations = cip.spec.authorities.flatMap((a) => a.attestations ?? []);
    const rego = attestations.filter((a) => a.policy.type === "rego");
    assert.equal(rego.length, 1);
    const [att] = rego as [(typeof rego)[number]];
    // What `cosign attest --type custom` produces (cosign README: generateCustomPredicate).
    const statement = (data: string) => ({
      _type: "https://in-toto.io/Statement/v0.1",
      predicateType: "https://cosign.sigstore.dev/attestation/v1",
      subject: [{
        name: "registry.local:5000/policy-controller/demo",
        digest: { sha256: "00".repeat(32) },
      }],
      predicate: { Data: data, Timestamp: "2026-12-02T10:00:00Z" },
    });
    const bad = validateJsonWithModuleInput(att.policy.data, statement("barfoo e2e test"));
    assert.ok(bad.error !== undefined);
    assert.ok(
      `failed evaluating rego policy for type ${att.name}: ${bad.error}`.includes(
        "failed evaluating rego policy for type custom-match-predicate: policy is not compliant for query",
      ),
    );
    assert.deepEqual(
      validateJsonWithModuleInput(att.policy.data, statement("foobar e2e test")),
      {},
    );
  });

  Deno.test("cosign's DSSE test envelopes decode to statements the Rego engine takes as input", () => {
    for (const type of ["custom", "vuln"]) {
      const envelope = JSON.parse(
        Deno.readTextFileSync(`${COSIGN}/pkg/policy/testdata/valid/${type}`),
      ) as { payload: string };
      const statement = JSON.parse(
        new TextDecoder().decode(Uint8Array.fromBase64(envelope.payload)),
      );
      const errors = validateJson(
        'package signature\n\nallow {\n  startswith(input.predicateType, "https://cosign.sigstore.dev/attestation/")\n  count(input.subject) > 0\n}\n',
        statement,
      );
      assert.deepEqual(errors, [], type);
    }
  });
}
