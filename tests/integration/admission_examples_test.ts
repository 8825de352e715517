/**
 * policy-controller's own ClusterImagePolicies (../shared/interop/policy/policy-controller/,
 * read at test time, unchanged) enforced by the webhook against the embedded stack, deciding as
 * the README there says for those that need nothing beyond it. The stack's OIDC issuer is named
 * like a cluster's (`https://kubernetes.default.svc.cluster.local`) and signs as the `default`
 * service account, so the examples' `.*kubernetes.default.*` identities apply as in their e2e
 * scripts; images are pushed to `demo` repositories so `**demo**` matches.
 *
 * Left out, because they need more than the embedded stack: `ghcr.io/sigstore/timestamp-server`
 * images (config file, include* and allow-only-pods examples), KMS keys, Kubernetes secrets,
 * ConfigMaps, remote URLs, TrustRoot resources, the public-good keyless example, and key
 * examples whose private key the scripts generate (only their "not signed by this key" half runs).
 */

import assert from "node:assert/strict";
import { buildPredicate } from "../../lib/payload/predicate.ts";
import { exists, interopPath, requireComponents } from "../_support.ts";
import {
  type AdmissionEnv,
  admissionReview,
  openAdmissionEnv,
  OTHER_SA,
  pod,
  type ReviewBody,
  type TestImage,
} from "./_admission_env.ts";

const E2E = "policy/policy-controller/test/testdata/policy-controller/e2e";
const CORPUS = {
  name: "policy-controller corpus",
  present: () => exists(interopPath("policy/policy-controller/README.md")),
};

function example(name: string): string {
  return Deno.readTextFileSync(interopPath(`${E2E}/${name}`));
}

async function webhookFor(env: AdmissionEnv, ...files: string[]) {
  const policies = await env.policies(files.map(example).join("\n---\n"));
  return await env.serve(env.controller(policies));
}

async function decide(
  webhook: Awaited<ReturnType<typeof webhookFor>>,
  object: Record<string, unknown>,
) {
  const { body } = await webhook.post("/validations", admissionReview(object));
  return body;
}

function text(body: ReviewBody): string {
  return [body.response.status?.message ?? "", ...(body.response.warnings ?? [])].join("\n");
}

async function attestCustom(env: AdmissionEnv, image: TestImage, data: string) {
  const built = buildPredicate("custom", new TextEncoder().encode(data), new Date());
  await env.attest(image, built.predicateType, built.predicate, { with: "keyless" });
}

if (requireComponents("admission policy-controller e2e examples", CORPUS)) {
  Deno.test("cip-keyless.yaml: a keyless-signed image is admitted, an unsigned one denied with 'no signatures found'", async () => {
    await using env = await openAdmissionEnv();
    const signed = await env.push("demo/signed");
    const unsigned = await env.push("demo/unsigned");
    await env.sign(signed, { with: "keyless", format: "legacy" });
    const webhook = await webhookFor(env, "cip-keyless.yaml");
    assert.equal((await decide(webhook, pod([signed.digest]))).response.allowed, true);
    const denied = await decide(webhook, pod([unsigned.digest]));
    assert.equal(denied.response.allowed, false);
    assert.ok(text(denied).includes("no signatures found"), text(denied));
    assert.ok(text(denied).includes("failed policy: image-policy-keyless"), text(denied));
  });

  Deno.test("cip-keyless-with-identities.yaml admits; -mismatch.yaml denies with policy-controller's words", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    await env.sign(image, { with: "keyless" });
    const matching = await webhookFor(env, "cip-keyless-with-identities.yaml");
    assert.equal((await decide(matching, pod([image.digest]))).response.allowed, true);
    const mismatch = await webhookFor(env, "cip-keyless-with-identities-mismatch.yaml");
    const denied = await decide(mismatch, pod([image.digest]));
    assert.equal(denied.response.allowed, false);
    assert.ok(
      text(denied).includes("none of the expected identities matched what was in the certificate"),
      text(denied),
    );
  });

  Deno.test("cip-static-fail.yaml denies with 'disallowed by static policy' and wins over cip-static-pass.yaml", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/anything");
    const pass = await webhookFor(env, "cip-static-pass.yaml");
    assert.equal((await decide(pass, pod([image.digest]))).response.allowed, true);
    const both = await webhookFor(env, "cip-static-pass.yaml", "cip-static-fail.yaml");
    const denied = await decide(both, pod([image.digest]));
    assert.equal(denied.response.allowed, false);
    assert.ok(text(denied).includes("disallowed by static policy"), text(denied));
    assert.ok(text(denied).includes("failed policy: image-policy-static-fail"));
    assert.ok(!text(denied).includes("image-policy-static-pass"));
  });

  Deno.test("cip-key.yaml and cip-key-no-rekor.yaml: an image signed by another key is denied with 'no matching signatures'", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    await env.sign(image, { with: "key", log: true });
    for (const file of ["cip-key.yaml", "cip-key-no-rekor.yaml"]) {
      const denied = await decide(await webhookFor(env, file), pod([image.digest]));
      assert.equal(denied.response.allowed, false, file);
      assert.ok(text(denied).includes("no matching signatures"), `${file}: ${text(denied)}`);
    }
  });

  Deno.test("cip-key-and-keyless.yaml: authorities are OR-ed, a keyless signature is enough", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    await env.sign(image, { with: "keyless" });
    for (const file of ["cip-key-and-keyless.yaml", "cip-key-and-keyless-ignore-sct.yaml"]) {
      const body = await decide(await webhookFor(env, file), pod([image.digest]));
      assert.equal(body.response.allowed, true, `${file}: ${text(body)}`);
    }
  });

  Deno.test("cip-keyless-warn.yaml: an unsigned image is admitted with a warning", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/unsigned");
    const body = await decide(await webhookFor(env, "cip-keyless-warn.yaml"), pod([image.digest]));
    assert.equal(body.response.allowed, true);
    assert.equal(body.response.warnings?.length, 1);
    assert.ok(body.response.warnings![0]!.includes("failed policy: image-policy-keyless-warn"));
  });

  Deno.test("cip-match-resource-label.yaml applies only to Pods labelled match=match", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    await env.sign(image, { with: "key", log: true });
    const webhook = await webhookFor(env, "cip-match-resource-label.yaml");
    const labelled = await decide(webhook, pod([image.digest], { labels: { match: "match" } }));
    assert.equal(labelled.response.allowed, false);
    assert.ok(text(labelled).includes("failed policy: image-policy-match-label"), text(labelled));
    const unlabelled = await decide(webhook, pod([image.digest]));
    assert.equal(unlabelled.response.allowed, false);
    assert.ok(
      text(unlabelled).startsWith("validation failed: no matching policies"),
      text(unlabelled),
    );
  });

  Deno.test("cip-keyless-with-attestations.yaml: signed but not attested is 'no matching attestations'; attested, its CUE policy admits", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    await env.sign(image, { with: "keyless" });
    const webhook = await webhookFor(env, "cip-keyless-with-attestations.yaml");
    const before = await decide(webhook, pod([image.digest]));
    assert.equal(before.response.allowed, false);
    assert.ok(text(before).includes("no matching attestations"), text(before));
    await attestCustom(env, image, "foobar e2e test");
    const after = await decide(
      await webhookFor(env, "cip-keyless-with-attestations.yaml"),
      pod([image.digest]),
    );
    assert.equal(after.response.allowed, true, text(after));
  });

  Deno.test("cip-keyless-with-attestations-rego.yaml: an attestation of 'barfoo e2e test' is denied by the Rego policy's name", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    await attestCustom(env, image, "barfoo e2e test");
    const body = await decide(
      await webhookFor(env, "cip-keyless-with-attestations-rego.yaml"),
      pod([image.digest]),
    );
    assert.equal(body.response.allowed, false);
    assert.ok(
      text(body).includes("failed evaluating rego policy for type custom-match-predicate"),
      text(body),
    );
  });

  Deno.test("an attestation signed by another identity does not satisfy cip-keyless-with-attestations-rego.yaml", async () => {
    await using env = await openAdmissionEnv();
    const image = await env.push("demo/app");
    const built = buildPredicate("custom", new TextEncoder().encode("foobar e2e test"), new Date());
    await env.attest(image, built.predicateType, built.predicate, {
      with: "keyless",
      identity: OTHER_SA,
    });
    const body = await decide(
      await webhookFor(env, "cip-keyless-with-attestations-rego.yaml"),
      pod([image.digest]),
    );
    assert.equal(body.response.allowed, false);
    assert.ok(
      text(body).includes("attestation keyless validation failed for authority attestation"),
      text(body),
    );
  });
}
