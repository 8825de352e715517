/**
 * Image attestations through the CLI on the embedded stack, in-process and over a socket, in
 * both storage formats (bundle referrers, the default, and legacy `.att` tags), with a key and
 * keyless: sign + `attest --type slsaprovenance` -> `verify` sees only the signature ->
 * `verify-attestation --type slsaprovenance` prints the envelope; `--type spdx` (and the default
 * `custom`) fail listing the types found; an attestation alone is never a signature.
 */

import assert from "node:assert/strict";
import { fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import { dcosign } from "../_cli.ts";
import { type ImageEnv, openImageEnv, TEST_IDENTITIES } from "./_image_env.ts";

const SLSA_V02 = "https://slsa.dev/provenance/v0.2";
const SPDX = "https://spdx.dev/Document";
const CUSTOM = "https://cosign.sigstore.dev/attestation/v1";
const COSIGN_SIGN = "https://sigstore.dev/cosign/sign/v1";

/** A SLSA v0.2 provenance predicate with the fields cosign requires (builder, buildType). */
const PROVENANCE = {
  builder: { id: "https://github.com/octo/app/.github/workflows/release.yml@refs/heads/main" },
  buildType: "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
  invocation: {
    configSource: {
      uri: "git+https://github.com/octo/app@refs/heads/main",
      digest: { sha1: "0f6b2b7e5f1e0c7c2b8a9d8e7f6a5b4c3d2e1f00" },
      entryPoint: ".github/workflows/release.yml",
    },
  },
  metadata: { buildInvocationID: "1234-1", reproducible: false },
  materials: [{
    uri: "git+https://github.com/octo/app",
    digest: { sha1: "0f6b2b7e5f1e0c7c2b8a9d8e7f6a5b4c3d2e1f00" },
  }],
};

interface EnvelopeJson {
  payloadType: string;
  payload: string;
  signatures: { sig: string }[];
}

/** The statements of verify-attestation's output: one envelope JSON per line. */
function statementsOf(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split("\n").filter((line) => line !== "");
  return lines.map((line) => {
    const envelope = JSON.parse(line) as EnvelopeJson;
    assert.equal(envelope.payloadType, "application/vnd.in-toto+json");
    assert.equal(envelope.signatures.length, 1);
    return JSON.parse(fromUtf8(fromBase64(envelope.payload)));
  });
}

async function writeProvenance(env: ImageEnv, predicate: unknown = PROVENANCE): Promise<string> {
  const path = `${env.dir}/provenance.json`;
  await Deno.writeTextFile(path, JSON.stringify(predicate));
  return path;
}

/** How each test signs: with the key pair, or keyless with the stack's issuer. */
async function signerFlags(env: ImageEnv, keyless: boolean): Promise<string[]> {
  return keyless
    ? [
      "--signing-config",
      env.signingConfig,
      "--trusted-root",
      env.trustedRoot,
      "--identity-token",
      await env.idToken(),
      "-y",
    ]
    : ["--key", "cosign.key", "--rekor-url", env.url];
}

function policyFlags(env: ImageEnv, keyless: boolean): string[] {
  return [
    ...(keyless
      ? ["--certificate-identity", TEST_IDENTITIES[0], "--certificate-oidc-issuer", env.url]
      : ["--key", "cosign.pub"]),
    "--trusted-root",
    env.trustedRoot,
  ];
}

async function signAttestVerify(mode: "in-process" | "socket", format: string, keyless: boolean) {
  await using env = await openImageEnv(mode);
  const image = await env.push("attest/app");
  const formatFlag = `--new-bundle-format=${format === "bundle"}`;
  const provenance = await writeProvenance(env);

  const signed = await env.run([
    "sign",
    ...await signerFlags(env, keyless),
    formatFlag,
    image.reference,
  ]);
  assert.equal(signed.code, 0, signed.stderr);
  const attested = await env.run([
    "attest",
    ...await signerFlags(env, keyless),
    formatFlag,
    "--type",
    "slsaprovenance",
    "--predicate",
    provenance,
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  assert.match(attested.stderr, new RegExp(`Pushing attestation of type "${SLSA_V02}"`));
  assert.equal(attested.stdout, "");

  // verify: exactly the signature; the attestation stored beside it is not counted.
  const verified = await env.run(["verify", ...policyFlags(env, keyless), image.reference]);
  assert.equal(verified.code, 0, verified.stderr);
  const signatures = JSON.parse(verified.stdout);
  assert.equal(signatures.length, 1);
  assert.equal(signatures[0].critical.image["docker-manifest-digest"], image.digest);
  if (format === "bundle") assert.equal(signatures[0].critical.type, COSIGN_SIGN);

  // verify-attestation --type slsaprovenance: the one statement, about this image.
  const attestations = await env.run([
    "verify-attestation",
    ...policyFlags(env, keyless),
    "--type",
    "slsaprovenance",
    image.reference,
  ]);
  assert.equal(attestations.code, 0, attestations.stderr);
  assert.match(attestations.stderr, /Verification for .* --/);
  const [statement, ...more] = statementsOf(attestations.stdout);
  assert.equal(more.length, 0);
  assert.equal(statement!._type, "https://in-toto.io/Statement/v0.1");
  assert.equal(statement!.predicateType, SLSA_V02);
  assert.deepEqual(statement!.subject, [{
    name: `${env.registry}/attest/app`,
    digest: { sha256: image.digest.slice("sha256:".length) },
  }]);
  assert.deepEqual((statement!.predicate as typeof PROVENANCE).builder, PROVENANCE.builder);
  // The full predicate type URI selects the same attestation.
  const byUri = await env.run([
    "verify-attestation",
    ...policyFlags(env, keyless),
    "--type",
    SLSA_V02,
    image.reference,
  ]);
  assert.equal(byUri.code, 0, byUri.stderr);
  assert.equal(byUri.stdout, attestations.stdout);

  // --type spdx, and the default custom, find nothing of their type: a failure naming what
  // was found, never a vacuous pass (SECURITY.md row 2).
  for (const typeArgs of [["--type", "spdx"], []]) {
    const missing = await env.run([
      "verify-attestation",
      ...policyFlags(env, keyless),
      ...typeArgs,
      image.reference,
    ]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.equal(missing.stdout, "");
    assert.match(missing.stderr, /VERIFY_NO_MATCHING_ATTESTATION/);
    assert.match(
      missing.stderr,
      new RegExp(`No attestation of type "${typeArgs.length ? SPDX : CUSTOM}"`),
    );
    assert.ok(missing.stderr.includes(`"${SLSA_V02}"`), missing.stderr);
  }

  // Another signer: the attestation is there but does not verify (exit 12).
  const wrongSigner = await env.run([
    "verify-attestation",
    ...(keyless
      ? [
        "--certificate-identity",
        TEST_IDENTITIES[1],
        "--certificate-oidc-issuer",
        env.url,
        "--trusted-root",
        env.trustedRoot,
      ]
      : await otherKey(env)),
    "--type",
    "slsaprovenance",
    image.reference,
  ]);
  assert.equal(wrongSigner.code, 12, wrongSigner.stderr);
  assert.equal(wrongSigner.stdout, "");
}

async function otherKey(env: ImageEnv): Promise<string[]> {
  const generated = await env.run(["generate-key-pair", "--output-key-prefix", "other"]);
  assert.equal(generated.code, 0, generated.stderr);
  return ["--key", "other.pub", "--trusted-root", env.trustedRoot];
}

for (const mode of ["in-process", "socket"] as const) {
  for (const format of ["bundle", "legacy"] as const) {
    Deno.test(`[${mode}, ${format}] sign + attest --type slsaprovenance: verify sees the signature, verify-attestation the provenance, --type spdx fails`, async () => {
      await signAttestVerify(mode, format, false);
    });

    Deno.test(`[${mode}, ${format}] an image with only an attestation has no signature for verify`, async () => {
      await using env = await openImageEnv(mode);
      const image = await env.push("attest/only");
      const attested = await env.run([
        "attest",
        "--key",
        "cosign.key",
        "--tlog-upload=false",
        `--new-bundle-format=${format === "bundle"}`,
        "--type",
        "slsaprovenance",
        "--predicate",
        await writeProvenance(env),
        image.reference,
      ]);
      assert.equal(attested.code, 0, attested.stderr);
      const verified = await env.run([
        "verify",
        "--key",
        "cosign.pub",
        "--insecure-ignore-tlog",
        image.reference,
      ]);
      assert.equal(verified.stdout, "");
      if (format === "bundle") {
        // The attestation is a referrer like a signature bundle, and is refused as one.
        assert.equal(verified.code, 12, verified.stderr);
        assert.match(
          verified.stderr,
          new RegExp(`it is an attestation of type "${SLSA_V02}", not a signature`),
        );
      } else {
        // Legacy attestations live under .att, signatures under .sig: there are none.
        assert.equal(verified.code, 10, verified.stderr);
        assert.match(verified.stderr, /No signatures found/);
      }
      const attestation = await env.run([
        "verify-attestation",
        "--key",
        "cosign.pub",
        "--insecure-ignore-tlog",
        "--type",
        "slsaprovenance",
        image.reference,
      ]);
      assert.equal(attestation.code, 0, attestation.stderr);
    });
  }

  Deno.test(`[${mode}, bundle] keyless attest, then verify-attestation by identity and issuer`, async () => {
    await signAttestVerify(mode, "bundle", true);
  });
}

Deno.test("[in-process, legacy] keyless attest, then verify-attestation by identity and issuer", async () => {
  await signAttestVerify("in-process", "legacy", true);
});

Deno.test("attest --type custom wraps the file and --type spdx embeds standard input; verify-attestation finds each by type", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attest/custom");
  await Deno.writeTextFile(`${env.dir}/notes.txt`, "reviewed by the release team\n");
  const attested = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--predicate",
    "notes.txt",
    image.reference,
  ]);
  assert.equal(attested.code, 0, attested.stderr);
  const verified = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    image.reference,
  ]);
  assert.equal(verified.code, 0, verified.stderr);
  const [statement] = statementsOf(verified.stdout);
  assert.equal(statement!.predicateType, CUSTOM);
  const predicate = statement!.predicate as { Data: string; Timestamp: string };
  assert.equal(predicate.Data, "reviewed by the release team\n");
  assert.match(predicate.Timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

  // --predicate - reads standard input.
  const fromStdin = await dcosign([
    "attest",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--type",
    "spdx",
    "--predicate",
    "-",
    image.reference,
  ], {
    cwd: env.dir,
    fetch: env.fetch,
    env: { COSIGN_PASSWORD: "pw" },
    stdin: "SPDXVersion: SPDX-2.3\n",
  });
  assert.equal(fromStdin.code, 0, fromStdin.stderr);
  const spdx = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    "--type",
    "spdx",
    image.reference,
  ]);
  assert.equal(spdx.code, 0, spdx.stderr);
  const [document] = statementsOf(spdx.stdout);
  assert.equal(document!.predicateType, SPDX);
  assert.equal(document!.predicate, "SPDXVersion: SPDX-2.3\n");
});

Deno.test("attest refuses a missing --predicate, an unknown --type and a provenance without builder, storing nothing", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attest/refused");
  const base = ["attest", "--key", "cosign.key", "--tlog-upload=false"];
  const noPredicate = await env.run([...base, image.reference]);
  assert.equal(noPredicate.code, 1);
  assert.match(noPredicate.stderr, /attest needs --predicate FILE/);
  const badType = await env.run([
    ...base,
    "--type",
    "not a type",
    "--predicate",
    await writeProvenance(env),
    image.reference,
  ]);
  assert.equal(badType.code, 1);
  assert.match(badType.stderr, /Invalid --type "not a type"/);
  const { builder: _, ...withoutBuilder } = PROVENANCE;
  const incomplete = await env.run([
    ...base,
    "--type",
    "slsaprovenance",
    "--predicate",
    await writeProvenance(env, withoutBuilder),
    image.reference,
  ]);
  assert.equal(incomplete.code, 1);
  assert.match(incomplete.stderr, /required field "builder" missing/);
  const missingFile = await env.run([...base, "--predicate", "nope.json", image.reference]);
  assert.equal(missingFile.code, 1);
  assert.match(missingFile.stderr, /Cannot read predicate "nope.json"/);
  // Nothing was stored by any of them.
  const none = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    "--type",
    "slsaprovenance",
    image.reference,
  ]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No attestations found/);
});

Deno.test("attest --no-upload prints the signed envelope and stores nothing", async () => {
  await using env = await openImageEnv("in-process");
  const image = await env.push("attest/print");
  const printed = await env.run([
    "attest",
    "--key",
    "cosign.key",
    "--tlog-upload=false",
    "--no-upload",
    "--type",
    "slsaprovenance",
    "--predicate",
    await writeProvenance(env),
    image.reference,
  ]);
  assert.equal(printed.code, 0, printed.stderr);
  const [statement] = statementsOf(printed.stdout);
  assert.equal(statement!.predicateType, SLSA_V02);
  const none = await env.run([
    "verify-attestation",
    "--key",
    "cosign.pub",
    "--insecure-ignore-tlog",
    "--type",
    "slsaprovenance",
    image.reference,
  ]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /No attestations found/);
});
