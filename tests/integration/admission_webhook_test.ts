/**
 * The admission webhook end to end: AdmissionReviews as the API server sends them, POSTed over
 * HTTPS to `dcosign admission`'s server, deciding over images in the embedded stack's registry
 * signed and attested by its Fulcio, Rekor and a key (issue 14's "Show" list): a signed Pod by
 * tag is patched to its digest and then admitted; an unsigned image is denied naming image and
 * policy; a keyless identity mismatch, a missing attestation and a failing CUE or Rego policy
 * are each denied with their reason; warn mode admits with warnings; a static fail denies; an
 * image no policy matches follows no-match-policy; a Deployment with three containers reports
 * each; and the parts around them (match selectors, spec-level policies, scale-down, deletes,
 * ClusterImagePolicy objects, probes, metrics, the cache).
 */

import assert from "node:assert/strict";
import { buildPredicate } from "../../lib/payload/predicate.ts";
import type { PolicyEngine } from "../../lib/admission/policy_engine.ts";
import {
  type AdmissionEnv,
  admissionReview,
  CLUSTER_ISSUER,
  decodePatch,
  DEFAULT_SA,
  deployment,
  openAdmissionEnv,
  OTHER_SA,
  pod,
  type ReviewBody,
  type TestImage,
} from "./_admission_env.ts";

function keylessPolicy(name: string, glob: string, extra = ""): string {
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: ${name}}
spec:
  images: [{glob: "${glob}"}]
${extra}  authorities:
  - keyless:
      identities: [{issuer: "${CLUSTER_ISSUER}", subject: "${DEFAULT_SA}"}]
`;
}

function keyPolicy(env: AdmissionEnv, name: string, glob: string, authority = ""): string {
  const pem = env.publicKeyPem.trim().split("\n").map((l) => `          ${l}`).join("\n");
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: ${name}}
spec:
  images: [{glob: "${glob}"}]
  authorities:
  - name: release-key
    key:
      data: |
${pem}
${authority}`;
}

function message(body: ReviewBody): string {
  return body.response.status?.message ?? "";
}

Deno.test("a signed Pod by tag is patched to its digest by /mutations, then admitted by /validations", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  await env.sign(image, { with: "keyless" });
  const webhook = await env.serve(
    env.controller(await env.policies(keylessPolicy("signed", "**demo**"))),
  );
  const object = pod([image.tag], { initImages: [image.digest] });
  const mutated = await webhook.post("/mutations", admissionReview(object));
  assert.equal(mutated.status, 200);
  assert.equal(mutated.body.response.allowed, true);
  assert.equal(mutated.body.response.patchType, "JSONPatch");
  // The tag is kept for people, the digest pins what runs; the digest reference is left alone.
  assert.deepEqual(decodePatch(mutated.body), [{
    op: "replace",
    path: "/spec/containers/0/image",
    value: `${image.tag}@${image.sha}`,
  }]);
  const patched = pod([`${image.tag}@${image.sha}`], { initImages: [image.digest] });
  const validated = await webhook.post("/validations", admissionReview(patched));
  assert.equal(validated.body.response.allowed, true, message(validated.body));
  assert.equal(validated.body.response.warnings, undefined);
  // Before the patch, the tag itself is refused: it could move after admission.
  const byTag = await webhook.post("/validations", admissionReview(object));
  assert.equal(byTag.body.response.allowed, false);
  assert.match(message(byTag.body), /must be an image digest: spec\.containers\[0\]\.image/);
});

Deno.test("an unsigned image is denied with a message naming the image and the policy", async () => {
  await using env = await openAdmissionEnv();
  const signed = await env.push("demo/app");
  const unsigned = await env.push("demo/other");
  await env.sign(signed, { with: "keyless" });
  const webhook = await env.serve(
    env.controller(await env.policies(keylessPolicy("keyless-demo", "**demo**"))),
  );
  const review = admissionReview(pod([signed.digest, unsigned.digest]));
  const { body } = await webhook.post("/validations", review);
  assert.equal(body.response.uid, (review.request as { uid: string }).uid);
  assert.equal(body.response.allowed, false);
  assert.equal(body.response.status?.code, 403);
  const text = message(body);
  assert.match(
    text,
    /^validation failed: failed policy: keyless-demo: spec\.containers\[1\]\.image\n/,
  );
  assert.ok(text.includes(unsigned.digest), text);
  assert.ok(text.includes("no signatures found"), text);
  assert.ok(!text.includes("containers[0]"), "the signed image is not reported");
});

Deno.test("keys and both storage formats: a key authority admits legacy and bundle signatures, another key is no match", async () => {
  await using env = await openAdmissionEnv();
  const legacy = await env.push("demo/legacy");
  const bundle = await env.push("demo/bundle");
  const keyless = await env.push("demo/keyless-only");
  await env.sign(legacy, { with: "key", format: "legacy" });
  await env.sign(bundle, { with: "key", format: "bundle" });
  await env.sign(keyless, { with: "keyless" });
  const webhook = await env.serve(
    env.controller(await env.policies(keyPolicy(env, "by-key", "**demo**"))),
  );
  const ok = await webhook.post(
    "/validations",
    admissionReview(pod([legacy.digest, bundle.digest])),
  );
  assert.equal(ok.body.response.allowed, true, message(ok.body));
  const denied = await webhook.post("/validations", admissionReview(pod([keyless.digest])));
  assert.equal(denied.body.response.allowed, false);
  assert.match(message(denied.body), /signature key validation failed for authority release-key/);
  assert.match(message(denied.body), /no matching signatures/);
});

Deno.test("a keyless identity mismatch is denied with the reason", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  await env.sign(image, { with: "keyless", identity: OTHER_SA });
  const webhook = await env.serve(
    env.controller(await env.policies(keylessPolicy("from-default-sa", "**demo**"))),
  );
  const { body } = await webhook.post("/validations", admissionReview(pod([image.digest])));
  assert.equal(body.response.allowed, false);
  const text = message(body);
  assert.ok(
    text.includes("none of the expected identities matched what was in the certificate"),
    text,
  );
  assert.ok(text.includes(OTHER_SA), "the identity found is named");
});

function attestationPolicy(name: string, policy = ""): string {
  return `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: ${name}}
spec:
  images: [{glob: "**demo**"}]
  authorities:
  - name: attested
    keyless:
      identities: [{issuer: "${CLUSTER_ISSUER}", subject: "${DEFAULT_SA}"}]
    attestations:
    - name: custom-match-predicate
      predicateType: "https://cosign.sigstore.dev/attestation/v1"
${policy}`;
}

async function attestCustom(env: AdmissionEnv, image: TestImage, data: string) {
  // `cosign attest --type custom`: {"Data": <the file>, "Timestamp": <now>}.
  const built = buildPredicate("custom", new TextEncoder().encode(data), new Date());
  await env.attest(image, built.predicateType, built.predicate, { with: "keyless" });
}

Deno.test("attestations: present and verified admits, missing is denied with the reason", async () => {
  await using env = await openAdmissionEnv();
  const attested = await env.push("demo/attested");
  const signedOnly = await env.push("demo/signed-only");
  await env.sign(signedOnly, { with: "keyless" });
  await attestCustom(env, attested, "foobar e2e test");
  const webhook = await env.serve(
    env.controller(await env.policies(attestationPolicy("must-attest"))),
  );
  const ok = await webhook.post("/validations", admissionReview(pod([attested.digest])));
  assert.equal(ok.body.response.allowed, true, message(ok.body));
  const denied = await webhook.post("/validations", admissionReview(pod([signedOnly.digest])));
  assert.equal(denied.body.response.allowed, false);
  assert.match(message(denied.body), /failed policy: must-attest: spec\.containers\[0\]\.image/);
  assert.match(message(denied.body), /no matching attestations/);
});

Deno.test("a CUE attestation policy: its verdict decides, with policy-controller's message when it fails", async () => {
  await using env = await openAdmissionEnv();
  const good = await env.push("demo/good");
  const bad = await env.push("demo/bad");
  await attestCustom(env, good, "foobar e2e test");
  await attestCustom(env, bad, "barfoo e2e test");
  const cue = `      policy:
        type: cue
        data: |
          predicateType: "https://cosign.sigstore.dev/attestation/v1"
          predicate: Data: "foobar e2e test"
`;
  const webhook = await env.serve(
    env.controller(await env.policies(attestationPolicy("cue-policy", cue))),
  );
  const admitted = await webhook.post("/validations", admissionReview(pod([good.digest])));
  assert.equal(admitted.body.response.allowed, true, message(admitted.body));
  const denied = await webhook.post("/validations", admissionReview(pod([bad.digest])));
  assert.equal(denied.body.response.allowed, false);
  assert.match(message(denied.body), /failed evaluating cue policy for custom-match-predicate: /);
  assert.match(message(denied.body), /conflicting values/);
});

Deno.test("a Rego attestation policy: its verdict decides, with policy-controller's message when it fails", async () => {
  await using env = await openAdmissionEnv();
  const good = await env.push("demo/good");
  const bad = await env.push("demo/bad");
  await attestCustom(env, good, "foobar e2e test");
  await attestCustom(env, bad, "barfoo e2e test");
  const rego = `      policy:
        type: rego
        data: |
          package sigstore
          default isCompliant = false
          isCompliant {
            input.predicateType == "https://cosign.sigstore.dev/attestation/v1"
            input.predicate.Data == "foobar e2e test"
          }
`;
  const webhook = await env.serve(
    env.controller(await env.policies(attestationPolicy("rego-policy", rego))),
  );
  const denied = await webhook.post("/validations", admissionReview(pod([bad.digest])));
  assert.equal(denied.body.response.allowed, false);
  assert.match(
    message(denied.body),
    /failed evaluating rego policy for type custom-match-predicate: /,
  );
  const admitted = await webhook.post("/validations", admissionReview(pod([good.digest])));
  assert.equal(admitted.body.response.allowed, true, message(admitted.body));
});

Deno.test("an injected policy engine: its verdicts on attestations and on the spec-level PolicyResult decide", async () => {
  await using env = await openAdmissionEnv();
  const good = await env.push("demo/good");
  const bad = await env.push("demo/bad");
  await attestCustom(env, good, "foobar e2e test");
  await attestCustom(env, bad, "barfoo e2e test");
  const seen: unknown[] = [];
  // A stand-in engine with a fixed rule: the attestation's Data must be "foobar e2e test",
  // and the spec-level input must carry the matches, the metadata and the type.
  const engine: PolicyEngine = {
    compile: (name, language, source) => ({
      evaluate(input) {
        seen.push({ name, language, source, input });
        const record = input as Record<string, Record<string, unknown>>;
        if (name === "ClusterImagePolicy") {
          const ok = record.authorityMatches?.attested !== undefined &&
            record.typemeta?.kind === "Pod" &&
            (record.metadata?.labels as Record<string, string> | undefined)?.team === "web";
          return Promise.resolve(
            ok ? { pass: true } : { pass: false, error: "spec-level refused" },
          );
        }
        return Promise.resolve(
          record.predicate?.Data === "foobar e2e test"
            ? { pass: true }
            : { pass: false, error: `${name}: not foobar` },
        );
      },
    }),
  };
  const yaml =
    attestationPolicy("engine", '      policy: {type: rego, data: "package sigstore"}\n') +
    '  policy:\n    type: rego\n    data: "package sigstore"\n    includeObjectMeta: true\n    includeTypeMeta: true\n';
  const webhook = await env.serve(env.controller(await env.policies(yaml, engine)));
  const admitted = await webhook.post(
    "/validations",
    admissionReview(pod([good.digest], { labels: { team: "web" } })),
  );
  assert.equal(admitted.body.response.allowed, true, message(admitted.body));
  const wrongLabel = await webhook.post("/validations", admissionReview(pod([good.digest])));
  assert.equal(wrongLabel.body.response.allowed, false);
  assert.match(message(wrongLabel.body), /spec-level refused/);
  const badData = await webhook.post(
    "/validations",
    admissionReview(pod([bad.digest], { labels: { team: "web" } })),
  );
  assert.equal(badData.body.response.allowed, false);
  assert.match(message(badData.body), /custom-match-predicate: not foobar/);
  const statement = seen.find((s) => (s as { name: string }).name === "custom-match-predicate") as {
    input: { _type: string; subject: { digest: { sha256: string } }[] };
  };
  // The policy sees the whole in-toto statement, about the image's digest.
  assert.match(statement.input._type, /^https:\/\/in-toto\.io\/Statement\/v/);
  assert.equal(`sha256:${statement.input.subject[0]?.digest.sha256}`, good.sha);
  const cip = seen.find((s) => (s as { name: string }).name === "ClusterImagePolicy") as {
    input: {
      authorityMatches: {
        attested: { attestations: Record<string, { subject: string; issuer: string }[]> };
      };
    };
  };
  const [match] = cip.input.authorityMatches.attested.attestations["custom-match-predicate"]!;
  assert.equal(match?.subject, DEFAULT_SA);
  assert.equal(match?.issuer, CLUSTER_ISSUER);
});

Deno.test("warn mode admits a failing image with warnings; a static fail policy denies", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/unsigned");
  const warn = keylessPolicy("warn-only", "**demo**", "  mode: warn\n");
  const webhook = await env.serve(env.controller(await env.policies(warn)));
  const { body } = await webhook.post("/validations", admissionReview(pod([image.digest])));
  assert.equal(body.response.allowed, true);
  assert.equal(body.response.warnings?.length, 1);
  assert.match(
    body.response.warnings![0]!,
    /^failed policy: warn-only: spec\.containers\[0\]\.image\n/,
  );
  assert.match(body.response.warnings![0]!, /no signatures found/);

  const staticFail = `apiVersion: policy.sigstore.dev/v1alpha1
kind: ClusterImagePolicy
metadata: {name: nothing-from-demo}
spec:
  images: [{glob: "**demo**"}]
  authorities: [{static: {action: fail, message: "demo images are not allowed"}}]
`;
  const strict = await env.serve(env.controller(await env.policies(staticFail)));
  const denied = await strict.post("/validations", admissionReview(pod([image.digest])));
  assert.equal(denied.body.response.allowed, false);
  assert.match(message(denied.body), /disallowed by static policy: demo images are not allowed/);
});

Deno.test("an image no policy matches follows no-match-policy: deny (default), warn, allow", async () => {
  await using env = await openAdmissionEnv();
  const other = await env.push("elsewhere/app");
  const policies = await env.policies(keylessPolicy("demo-only", "**demo**"));
  const review = () => admissionReview(pod([other.digest]));
  const deny = await (await env.serve(env.controller(policies))).post("/validations", review());
  assert.equal(deny.body.response.allowed, false);
  assert.equal(
    message(deny.body),
    `validation failed: no matching policies: spec.containers[0].image\n${other.digest}`,
  );
  const warn = await (await env.serve(env.controller(policies, { noMatchPolicy: "warn" }))).post(
    "/validations",
    review(),
  );
  assert.equal(warn.body.response.allowed, true);
  assert.deepEqual(warn.body.response.warnings, [
    `no matching policies: spec.containers[0].image\n${other.digest}`,
  ]);
  const allow = await (await env.serve(env.controller(policies, { noMatchPolicy: "allow" }))).post(
    "/validations",
    review(),
  );
  assert.equal(allow.body.response.allowed, true);
  assert.equal(allow.body.response.warnings, undefined);
});

Deno.test("a Deployment with three containers reports each failing one; an image must satisfy every matching policy", async () => {
  await using env = await openAdmissionEnv();
  const a = await env.push("demo/a");
  const b = await env.push("demo/b");
  const c = await env.push("demo/c");
  await env.sign(b, { with: "keyless" });
  await env.sign(c, { with: "key" });
  const policies = await env.policies(
    keylessPolicy("keyless-demo", "**demo**") + "---\n" + keyPolicy(env, "key-for-c", "**demo/c**"),
  );
  const webhook = await env.serve(env.controller(policies));
  const { body } = await webhook.post(
    "/validations",
    admissionReview(deployment([a.digest, b.digest, c.digest])),
  );
  assert.equal(body.response.allowed, false);
  const lines = message(body).replace(/^validation failed: /, "").split("\n");
  const heads = lines.filter((l) => l.startsWith("failed policy"));
  // a: unsigned, fails keyless-demo; b: passes; c: key-signed passes key-for-c but not keyless-demo.
  assert.deepEqual(heads.sort(), [
    "failed policy: keyless-demo: spec.template.spec.containers[0].image",
    "failed policy: keyless-demo: spec.template.spec.containers[2].image",
  ]);
  // Three containers, three verdicts: fix c with a keyless signature and only a remains.
  await env.sign(c, { with: "keyless" });
  // The cache keeps c's failure for the negative TTL: a fresh controller sees the new signature.
  const fresh = await env.serve(env.controller(policies));
  const again = await fresh.post(
    "/validations",
    admissionReview(deployment([a.digest, b.digest, c.digest])),
  );
  const remaining = message(again.body).split("\n").filter((l) => l.includes("failed policy"));
  assert.deepEqual(remaining, [
    "validation failed: failed policy: keyless-demo: spec.template.spec.containers[0].image",
  ]);
});

Deno.test("match: a policy with a resource and label selector applies only to the workloads it selects", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  const selective = keylessPolicy(
    "labelled-pods",
    "**demo**",
    '  match:\n  - {group: "", version: "*", resource: pods, selector: {matchLabels: {match: match}}}\n',
  );
  const webhook = await env.serve(
    env.controller(await env.policies(selective), { noMatchPolicy: "allow" }),
  );
  const labelled = await webhook.post(
    "/validations",
    admissionReview(pod([image.digest], { labels: { match: "match" } })),
  );
  assert.equal(labelled.body.response.allowed, false, "the selected Pod is checked (and unsigned)");
  const unlabelled = await webhook.post("/validations", admissionReview(pod([image.digest])));
  assert.equal(unlabelled.body.response.allowed, true, "an unselected Pod matches no policy");
  const deploy = await webhook.post("/validations", admissionReview(deployment([image.digest])));
  assert.equal(deploy.body.response.allowed, true, "a Deployment is another resource");
});

Deno.test("nothing is checked on DELETE, on status updates, while deleting, or when scaling down", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/unsigned");
  const webhook = await env.serve(
    env.controller(await env.policies(keylessPolicy("p", "**demo**"))),
  );
  const object = deployment([image.digest], 3);
  const checked = await webhook.post("/validations", admissionReview(object));
  assert.equal(checked.body.response.allowed, false, "the unsigned image is refused on CREATE");
  const skipped = [
    admissionReview(object, { operation: "DELETE" }),
    admissionReview(object, { operation: "UPDATE", subResource: "status", oldObject: object }),
    admissionReview(
      { ...object, metadata: { name: "demo", deletionTimestamp: "2026-01-01T00:00:00Z" } },
      { operation: "UPDATE", oldObject: object },
    ),
    admissionReview(deployment([image.digest], 1), { operation: "UPDATE", oldObject: object }),
  ];
  for (const review of skipped) {
    const { body } = await webhook.post("/validations", review);
    assert.equal(body.response.allowed, true, JSON.stringify(review).slice(0, 200));
  }
  const scaleUp = await webhook.post(
    "/validations",
    admissionReview(deployment([image.digest], 5), { operation: "UPDATE", oldObject: object }),
  );
  assert.equal(scaleUp.body.response.allowed, false, "scaling up is checked");
});

Deno.test("every workload kind is checked at its pod spec path: ReplicaSet, StatefulSet, DaemonSet, Job, CronJob", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/unsigned");
  const webhook = await env.serve(
    env.controller(await env.policies(keylessPolicy("p", "**demo**"))),
  );
  const template = { metadata: {}, spec: { containers: [{ name: "c", image: image.digest }] } };
  const cases: [Record<string, unknown>, string][] = [
    [
      { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "r" }, spec: { template } },
      "spec.template.spec.containers[0].image",
    ],
    [
      { apiVersion: "apps/v1", kind: "StatefulSet", metadata: { name: "s" }, spec: { template } },
      "spec.template.spec.containers[0].image",
    ],
    [
      { apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "d" }, spec: { template } },
      "spec.template.spec.containers[0].image",
    ],
    [
      { apiVersion: "batch/v1", kind: "Job", metadata: { name: "j" }, spec: { template } },
      "spec.template.spec.containers[0].image",
    ],
    [
      {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "c" },
        spec: { schedule: "* * * * *", jobTemplate: { spec: { template } } },
      },
      "spec.jobTemplate.spec.template.spec.containers[0].image",
    ],
    [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: { containers: [], ephemeralContainers: [{ name: "debug", image: image.digest }] },
      },
      "spec.ephemeralContainers[0].image",
    ],
  ];
  for (const [object, path] of cases) {
    const { body } = await webhook.post("/validations", admissionReview(object));
    assert.equal(body.response.allowed, false, String(object.kind));
    assert.ok(
      message(body).includes(`failed policy: p: ${path}\n`),
      `${object.kind}: ${message(body)}`,
    );
  }
});

Deno.test("ClusterImagePolicy objects sent to /validations are validated as the CRD's webhook does", async () => {
  await using env = await openAdmissionEnv();
  const webhook = await env.serve(env.controller([]));
  const valid = {
    apiVersion: "policy.sigstore.dev/v1beta1",
    kind: "ClusterImagePolicy",
    metadata: { name: "ok" },
    spec: { images: [{ glob: "**" }], authorities: [{ static: { action: "pass" } }] },
  };
  const ok = await webhook.post("/validations", admissionReview(valid));
  assert.equal(ok.body.response.allowed, true);
  const invalid = { ...valid, spec: { ...valid.spec, mode: "garbage" } };
  const bad = await webhook.post("/validations", admissionReview(invalid));
  assert.equal(bad.body.response.allowed, false);
  assert.match(message(bad.body), /validation failed: invalid value: garbage: spec\.mode/);
});

Deno.test("probes, metrics and the cache: /healthz, /readyz, /metrics with hits and coalesced checks", async () => {
  await using env = await openAdmissionEnv();
  const image = await env.push("demo/app");
  await env.sign(image, { with: "keyless" });
  const controller = env.controller(await env.policies(keylessPolicy("p", "**demo**")));
  const webhook = await env.serve(controller);
  assert.deepEqual(await webhook.get("/healthz"), { status: 200, text: "ok\n" });
  assert.deepEqual(await webhook.get("/readyz"), { status: 200, text: "ok\n" });
  // Ten concurrent reviews of one image: one verification, nine joined it.
  const answers = await Promise.all(
    Array.from(
      { length: 10 },
      () => webhook.post("/validations", admissionReview(pod([image.digest]))),
    ),
  );
  assert.ok(answers.every((a) => a.body.response.allowed));
  const again = await webhook.post("/validations", admissionReview(pod([image.digest])));
  assert.equal(again.body.response.allowed, true);
  assert.deepEqual(controller.cache.stats, { hits: 1, misses: 1, coalesced: 9, evictions: 0 });
  const metrics = await webhook.get("/metrics");
  assert.equal(metrics.status, 200);
  assert.match(
    metrics.text,
    /^dcosign_admission_reviews_total\{hook="validations",outcome="allowed"\} 11$/m,
  );
  assert.match(metrics.text, /^dcosign_admission_cache_coalesced_total 9$/m);
  assert.match(metrics.text, /^dcosign_admission_cache_hits_total 1$/m);
  assert.match(
    metrics.text,
    /^dcosign_admission_review_duration_seconds_count\{hook="validations"\} 11$/m,
  );
  // Unknown paths and methods do not make new series (SECURITY.md row 28).
  for (let i = 0; i < 20; i++) await webhook.get(`/random-${i}`);
  const after = await webhook.get("/metrics");
  const series = after.text.split("\n").filter((l) =>
    l.startsWith("dcosign_admission_http_requests_total{")
  );
  assert.ok(
    series.some((l) => l.includes('path="other",method="GET",code="404"} 20')),
    series.join("\n"),
  );
  assert.ok(series.every((l) => !l.includes("random")));
});
