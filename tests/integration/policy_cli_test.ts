/**
 * `verify-attestation --policy` end to end on the embedded stack (in-process): an image attested
 * with a SLSA v0.2 provenance passes a Rego policy and a CUE policy on its builder, and fails
 * others with their messages (cosign's texts and the policy's `deny` messages); cosign's own CUE
 * files (`cue-works.cue`, `cue-fails.cue`) on a custom attestation; a policy-controller Rego v0
 * policy evaluating the stack's custom attestations as its README says; a policy that does not
 * parse failing before anything is fetched; and `verify-blob-attestation --policy`.
 */

import assert from "node:assert/strict";
import { fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import { parseYaml } from "../../lib/util/yaml.ts";
import { stopCueWorker } from "../../lib/policy/cue.ts";
import { evaluatePolicyControllerPolicy } from "../../lib/policy/policy_controller.ts";
import { exists, interopPath, readInteropText, requireComponents } from "../_support.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv } from "./_image_env.ts";

const BUILDER = "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main";

const PROVENANCE = {
  builder: { id: BUILDER },
  buildType: "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
  invocation: { configSource: { uri: "git+https://github.com/octo/app@refs/heads/main" } },
  materials: [{ uri: "git+https://github.com/octo/app", digest: { sha1: "0f".repeat(20) } }],
};

const REGO_PASS = `package signature

allow {
  input.predicateType == "https://slsa.dev/provenance/v0.2"
  startswith(input.predicate.builder.id, "https://github.com/octo/")
}
`;

const REGO_FAIL = `package signature

import future.keywords.contains
import future.keywords.if

default allow = false

allow if count(deny) == 0

deny contains msg if {
  not input.predicate.builder.id == "https://builder.example/trusted"
  msg := sprintf("builder %q is not trusted", [input.predicate.builder.id])
}
`;

const CUE_PASS = `predicateType: "https://slsa.dev/provenance/v0.2"
predicate: builder: id: =~"^https://github.com/octo/"
predicate: buildType: string
`;

const CUE_FAIL = `predicate: builder: id: "https://builder.example/trusted"\n`;

const CORPUS = {
  name: "policy corpus (../shared/interop/policy)",
  present: () => exists(interopPath("policy/policy-controller/README.md")),
};

async function write(env: ImageEnv, name: string, text: string): Promise<string> {
  await Deno.writeTextFile(`${env.dir}/${name}`, text);
  return name;
}

async function attestedImage(env: ImageEnv, type: string, predicate: string) {
  const image = await env.push("policy/app");
  const file = await write(env, `predicate-${type}.json`, predicate);
  const attested = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--rekor-url",
    env.url,
    "--type",
    type,
    "--predicate",
    file,
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  return image;
}

function verifyAttestation(env: ImageEnv, reference: string, type: string, policies: string[]) {
  return env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    "--type",
    type,
    ...policies.flatMap((p) => ["--policy", p]),
    reference,
  ]);
}

/** The in-toto statements verify-attestation printed (one DSSE envelope a line). */
function statementsOf(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l !== "").map((line) =>
    fromUtf8(fromBase64((JSON.parse(line) as { payload: string }).payload))
  );
}

Deno.test("verify-attestation --policy: a SLSA provenance passes a Rego policy, fails another with its deny message", async () => {
  await using env = await openImageEnv("in-process");
  const image = await attestedImage(env, "slsaprovenance", JSON.stringify(PROVENANCE));
  const pass = await write(env, "builder.rego", REGO_PASS);
  const fail = await write(env, "trusted.rego", REGO_FAIL);

  const passed = await verifyAttestation(env, image.reference, "slsaprovenance", [pass]);
  assert.equal(passed.code, 0, passed.stderr);
  assert.match(passed.stderr, /The attestations passed the policies builder\.rego/);
  assert.equal(statementsOf(passed.stdout).length, 1);

  // Rules of one package from several files are one rule: `allow` holds if either body does.
  const either = await verifyAttestation(env, image.reference, "slsaprovenance", [pass, fail]);
  assert.equal(either.code, 0, either.stderr);

  const failed = await verifyAttestation(env, image.reference, "slsaprovenance", [fail]);
  assert.equal(failed.code, 1);
  assert.equal(failed.stdout, "");
  const line = failed.stderr.trim();
  assert.equal(line.split("\n").length, 1, line);
  assert.match(line, /fail the policy: 1 validation error occurred/);
  assert.match(line, /expression value, false, is not true/);
  assert.ok(line.includes(`deny: builder "${BUILDER}" is not trusted`), line);
  assert.match(line, /\[POLICY_DENIED\]$/);
});

Deno.test("verify-attestation --policy: the same with CUE (pass, and fail with CUE's conflict)", async () => {
  await using env = await openImageEnv("in-process");
  try {
    const image = await attestedImage(env, "slsaprovenance", JSON.stringify(PROVENANCE));
    const pass = await write(env, "builder.cue", CUE_PASS);
    const fail = await write(env, "trusted.cue", CUE_FAIL);
    const passed = await verifyAttestation(env, image.reference, "slsaprovenance", [pass]);
    assert.equal(passed.code, 0, passed.stderr);
    assert.match(passed.stderr, /The attestations passed the policies builder\.cue/);

    // Both CUE files load as one instance (as cosign's load.Instances): these two conflict.
    const both = await verifyAttestation(env, image.reference, "slsaprovenance", [pass, fail]);
    assert.match(both.stderr, /do not compile: predicate\.builder\.id: invalid value/);
    const failed = await verifyAttestation(env, image.reference, "slsaprovenance", [fail]);
    assert.equal(failed.code, 1);
    assert.ok(
      failed.stderr.includes(
        `predicate.builder.id: conflicting values "${BUILDER}" and "https://builder.example/trusted"`,
      ),
      failed.stderr,
    );
    assert.match(failed.stderr, /\[POLICY_DENIED\]/);

    // A Rego policy is not evaluated for a statement its CUE policies already failed (cosign).
    const mixed = await verifyAttestation(env, image.reference, "slsaprovenance", [
      fail,
      await write(env, "also.rego", REGO_FAIL),
    ]);
    assert.match(mixed.stderr, /1 validation error occurred/);
  } finally {
    await stopCueWorker();
  }
});

if (requireComponents("verify-attestation with the corpus policies", CORPUS)) {
  Deno.test("verify-attestation --policy: cosign's cue-works.cue passes and cue-fails.cue fails on a custom attestation", async () => {
    await using env = await openImageEnv("in-process");
    try {
      const image = await attestedImage(env, "custom", "foobar e2e test");
      const works = await write(
        env,
        "cue-works.cue",
        readInteropText("policy/cosign/test/testdata/policies/cue-works.cue"),
      );
      const fails = await write(
        env,
        "cue-fails.cue",
        readInteropText("policy/cosign/test/testdata/policies/cue-fails.cue"),
      );
      const passed = await verifyAttestation(env, image.reference, "custom", [works]);
      assert.equal(passed.code, 0, passed.stderr);
      const failed = await verifyAttestation(env, image.reference, "custom", [fails]);
      assert.equal(failed.code, 1);
      assert.match(failed.stderr, /predicateType: conflicting values/);
    } finally {
      await stopCueWorker();
    }
  });

  Deno.test("a policy-controller Rego v0 policy (cip-keyless-with-attestations-rego.yaml) judges the stack's attestations as its README says", async () => {
    await using env = await openImageEnv("in-process");
    const cip = parseYaml(
      readInteropText(
        "policy/policy-controller/test/testdata/policy-controller/e2e/cip-keyless-with-attestations-rego.yaml",
      ),
    ) as {
      spec: { authorities: { attestations: { name: string; policy: { data: string } }[] }[] };
    };
    const attestation = cip.spec.authorities[0]!.attestations[0]!;
    assert.equal(attestation.name, "custom-match-predicate");

    // The e2e script attests "barfoo e2e test" first: rejected with the README's text.
    const image = await attestedImage(env, "custom", "barfoo e2e test");
    const first = await verifyAttestation(env, image.reference, "custom", []);
    assert.equal(first.code, 0, first.stderr);
    const judge = (statement: string) =>
      evaluatePolicyControllerPolicy(attestation.name, "rego", attestation.policy.data, statement);
    const rejected = await Promise.all(statementsOf(first.stdout).map(judge));
    assert.deepEqual(rejected.map((v) => v.pass), [false]);
    assert.ok(
      !rejected[0]!.pass && rejected[0]!.error.startsWith(
        "failed evaluating rego policy for type custom-match-predicate: policy is not compliant for query",
      ),
    );

    // Then a second attestation with "foobar e2e test": one matching attestation passes, so the
    // authority does (policy-controller ORs an authority's attestations).
    const file = await write(env, "works.txt", "foobar e2e test");
    const again = await env.run([
      "attest",
      "--key",
      "cosign.key",
      "--rekor-url",
      env.url,
      "--predicate",
      file,
      image.reference,
    ]);
    assert.equal(again.code, 0, again.stderr);
    const second = await verifyAttestation(env, image.reference, "custom", []);
    const verdicts = await Promise.all(statementsOf(second.stdout).map(judge));
    assert.deepEqual(verdicts.map((v) => v.pass).sort(), [false, true]);

    // The same policy through the CLI: policy eval --v0-compatible, OPA's result shape.
    const policy = await write(env, "sigstore.rego", attestation.policy.data);
    const statements = statementsOf(second.stdout);
    const results = [];
    for (const [i, statement] of statements.entries()) {
      const input = await write(env, `statement-${i}.json`, statement);
      const evaluated = await env.run([
        "policy",
        "eval",
        "--v0-compatible",
        "--policy",
        policy,
        "--input",
        input,
        "--format",
        "bindings",
        "isCompliant = data.sigstore.isCompliant",
      ]);
      assert.equal(evaluated.code, 0, evaluated.stderr);
      results.push(JSON.parse(evaluated.stdout).isCompliant);
    }
    assert.deepEqual(results.sort(), [false, true]);
  });
}

Deno.test("verify-attestation --policy: a policy that does not parse fails before anything is fetched", async () => {
  await using env = await openImageEnv("in-process");
  const broken = await write(env, "broken.rego", "package signature\n\nallow {\n");
  let requests = 0;
  const counting: typeof fetch = (input, init) => {
    requests++;
    return env.fetch(input, init);
  };
  const image = await env.push("policy/app");
  const run = (argv: string[]) => dcosign(argv, { cwd: env.dir, fetch: counting });
  const result = await run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--policy",
    broken,
    image.reference,
  ]);
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^Error: broken\.rego:\d+: rego_parse_error: .* \[POLICY_PARSE_ERROR\]\n$/,
  );
  const wrong = await run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--policy",
    "p.json",
    image.reference,
  ]);
  assert.match(wrong.stderr, /Invalid policy format "p\.json": expected \.cue or \.rego/);
  assert.equal(requests, 0);
  // The same image with a policy that parses: the registry is asked.
  const ok = await write(env, "ok.rego", REGO_PASS);
  const fetched = await run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--trusted-root",
    env.trustedRoot,
    "--policy",
    ok,
    image.reference,
  ]);
  assert.match(fetched.stderr, /No attestations found/);
  assert.ok(requests > 0);
});

Deno.test("verify-blob-attestation --policy: the statement passes or fails the policy", async () => {
  await using env = await openImageEnv("in-process");
  await write(env, "app.bin", "binary");
  const predicate = await write(env, "provenance.json", JSON.stringify(PROVENANCE));
  const attested = await env.run([
    "attest-blob",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--type",
    "slsaprovenance",
    "--predicate",
    predicate,
    "--bundle",
    "app.att.json",
    "app.bin",
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  const verify = (policy: string) =>
    env.run([
      "verify-blob-attestation",
      "--key",
      "cosign.pub",
      "--insecure-ignore-tlog",
      "--type",
      "slsaprovenance",
      "--bundle",
      "app.att.json",
      "--policy",
      policy,
      "app.bin",
    ]);
  const passed = await verify(await write(env, "builder.rego", REGO_PASS));
  assert.equal(passed.code, 0, passed.stderr);
  assert.match(passed.stderr, /Verified OK/);
  const failed = await verify(await write(env, "trusted.rego", REGO_FAIL));
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /The attestations of "app\.bin" fail the policy/);
  assert.ok(failed.stderr.includes(`deny: builder "${BUILDER}" is not trusted`));
});
