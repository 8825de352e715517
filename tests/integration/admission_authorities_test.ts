/**
 * The authority options of a ClusterImagePolicy, each shown deciding both ways on the embedded
 * stack: `ctlog` (a key signature must be logged), `rfc3161timestamp` (it must carry a TSA
 * timestamp), `signatureFormat`, `source[].oci` (signatures kept in another repository),
 * `keyless.ca-cert` (the issuing CA given inline instead of the trust root's), `trustRootRef`
 * (a named trusted root), and the spec-level policy's `fetchConfigFile` input.
 */

import assert from "node:assert/strict";
import { encodePem } from "../../lib/util/pem.ts";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { parseImageReference, parseRepository } from "../../lib/oci/reference.ts";
import { signImage } from "../../lib/sign/image.ts";
import { timestampWitness, transparencyLogWitness } from "../../lib/sign/witnesses.ts";
import { parseClusterImagePolicies } from "../../lib/admission/policy.ts";
import { compilePolicy } from "../../lib/admission/authority.ts";
import { defaultPolicyEngine, type PolicyEngine } from "../../lib/admission/policy_engine.ts";
import { createRootCertificate } from "../../server/fulcio/certificate_builder.ts";
import {
  type AdmissionEnv,
  admissionReview,
  CLUSTER_ISSUER,
  DEFAULT_SA,
  openAdmissionEnv,
  pod,
  type TestImage,
} from "./_admission_env.ts";

function indent(text: string, spaces: number): string {
  return text.trim().split("\n").map((l) => `${" ".repeat(spaces)}${l}`).join("\n");
}

function keyAuthority(env: AdmissionEnv, extra = ""): string {
  return `  - key:
      data: |
${indent(env.publicKeyPem, 8)}
${extra}`;
}

function policy(authorities: string, spec = ""): string {
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: p}
spec:
  images: [{glob: "**demo**"}]
  authorities:
${authorities}
${spec}`;
}

async function allowed(env: AdmissionEnv, yaml: string, image: TestImage, engine?: PolicyEngine) {
  const webhook = await env.serve(env.controller(await env.policies(yaml, engine)));
  const { body } = await webhook.post("/validations", admissionReview(pod([image.digest])));
  return { allowed: body.response.allowed, message: body.response.status?.message ?? "" };
}

Deno.test("ctlog: a key authority with ctlog needs the signature in the log; without ctlog it does not", async () => {
  await using env = await openAdmissionEnv();
  const logged = await env.push("demo/logged");
  const unlogged = await env.push("demo/unlogged");
  await env.sign(logged, { with: "key", log: true });
  await env.sign(unlogged, { with: "key", log: false });
  const withLog = policy(keyAuthority(env, "    ctlog: {url: http://rekor.rekor-system.svc}"));
  assert.equal((await allowed(env, withLog, logged)).allowed, true);
  const refused = await allowed(env, withLog, unlogged);
  assert.equal(refused.allowed, false);
  assert.match(refused.message, /no matching signatures/);
  assert.equal((await allowed(env, policy(keyAuthority(env)), unlogged)).allowed, true);
});

Deno.test("rfc3161timestamp: a timestamped key signature is admitted, one without a timestamp is not", async () => {
  await using env = await openAdmissionEnv();
  const stamped = await env.push("demo/stamped");
  const plain = await env.push("demo/plain");
  const client = new RegistryClient();
  await signImage(parseImageReference(stamped.digest), {
    client,
    identity: { signer: env.key },
    services: { timestamp: timestampWitness(env.stack.ready.tsa!) },
  });
  await env.sign(plain, { with: "key" });
  const yaml = policy(keyAuthority(env, "    rfc3161timestamp: {}"));
  assert.equal((await allowed(env, yaml, stamped)).allowed, true);
  const refused = await allowed(env, yaml, plain);
  assert.equal(refused.allowed, false);
  assert.match(refused.message, /timestamp/i);
});

Deno.test("signatureFormat: bundle reads only referrers, legacy only .sig tags", async () => {
  await using env = await openAdmissionEnv();
  const legacy = await env.push("demo/legacy");
  await env.sign(legacy, { with: "key", format: "legacy" });
  assert.equal(
    (await allowed(env, policy(keyAuthority(env, "    signatureFormat: legacy")), legacy)).allowed,
    true,
  );
  const bundleOnly = await allowed(
    env,
    policy(keyAuthority(env, "    signatureFormat: bundle")),
    legacy,
  );
  assert.equal(bundleOnly.allowed, false);
  assert.match(bundleOnly.message, /no signatures found/);
});

Deno.test("source.oci: signatures stored in another repository are found there, and only there", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  const elsewhere = `${env.stack.registryHost}/signatures/demo`;
  await signImage(parseImageReference(image.digest), {
    client: new RegistryClient(),
    identity: { signer: env.key },
    services: { log: transparencyLogWitness(env.stack.url) },
    targetRepository: parseRepository(elsewhere),
    format: "legacy",
  });
  assert.equal(
    (await allowed(env, policy(keyAuthority(env, `    source: [{oci: "${elsewhere}"}]`)), image))
      .allowed,
    true,
  );
  assert.equal(
    (await allowed(env, policy(keyAuthority(env)), image)).allowed,
    false,
    "not beside the image",
  );
});

Deno.test("keyless ca-cert: the stack's CA given inline admits its certificates; another CA does not", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  await env.sign(image, { with: "keyless" });
  const chain = env.stack.trust.trustedRoot.certificateAuthorities[0]!.certificates
    .map((der) => encodePem("CERTIFICATE", der)).join("");
  const keyless = (pem: string) =>
    `  - keyless:
      ca-cert:
        data: |
${indent(pem, 10)}
      identities: [{issuer: "${CLUSTER_ISSUER}", subject: "${DEFAULT_SA}"}]`;
  assert.equal((await allowed(env, policy(keyless(chain)), image)).allowed, true);
  const otherKey = await generateKeyPair();
  const other = await createRootCertificate(otherKey, {
    subject: { O: "elsewhere", CN: "another CA" },
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 3600_000),
  });
  const refused = await allowed(env, policy(keyless(encodePem("CERTIFICATE", other.raw))), image);
  assert.equal(refused.allowed, false);
  assert.match(refused.message, /no matching signatures/);
});

Deno.test("trustRootRef: a keyless authority checks against the named trusted root, not the default", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  await env.sign(image, { with: "keyless" });
  const yaml = policy(`  - keyless:
      trustRootRef: cluster-sigstore
      identities: [{issuer: "${CLUSTER_ISSUER}", subject: "${DEFAULT_SA}"}]
    ctlog: {trustRootRef: cluster-sigstore}`);
  const [parsed] = parseClusterImagePolicies(yaml);
  // The default root is empty: only the named one can vouch.
  const empty = {
    ...env.stack.trust.trustedRoot,
    certificateAuthorities: [],
    tlogs: [],
    ctlogs: [],
  };
  const compiled = await compilePolicy(parsed!, {
    trust: { trustedRoot: empty, trustRoots: { "cluster-sigstore": env.stack.trust.trustedRoot } },
    engine: defaultPolicyEngine(),
  });
  const webhook = await env.serve(env.controller([compiled]));
  const { body } = await webhook.post("/validations", admissionReview(pod([image.digest])));
  assert.equal(body.response.allowed, true, body.response.status?.message);
  const misnamed = await compilePolicy(parsed!, {
    trust: { trustedRoot: env.stack.trust.trustedRoot, trustRoots: { "cluster-sigstore": empty } },
    engine: defaultPolicyEngine(),
  });
  const denied = await (await env.serve(env.controller([misnamed]))).post(
    "/validations",
    admissionReview(pod([image.digest])),
  );
  assert.equal(denied.body.response.allowed, false);
});

Deno.test("fetchConfigFile: the spec-level policy sees the image's OCI config by platform", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  const seen: unknown[] = [];
  const engine: PolicyEngine = {
    compile: () => ({
      evaluate(input) {
        seen.push(input);
        const config =
          (input as { config?: Record<string, { config?: { Cmd?: string[] } }> }).config;
        const cmd = config?.["linux/amd64"]?.config?.Cmd;
        return Promise.resolve(
          cmd?.[0] === "cat" ? { pass: true } : { pass: false, error: "unexpected command" },
        );
      },
    }),
  };
  const yaml = policy(
    "  - static: {action: pass}",
    '  policy: {type: cue, data: "x", fetchConfigFile: true}\n',
  );
  const result = await allowed(env, yaml, image, engine);
  assert.equal(result.allowed, true, result.message);
  const input = seen[0] as {
    authorityMatches: Record<string, unknown>;
    config: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(input.config), ["linux/amd64"]);
  assert.deepEqual(input.authorityMatches, { "authority-0": { static: true } });
});
