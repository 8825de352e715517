/**
 * Hostile input to the admission webhook, over HTTPS: malformed AdmissionReviews, a 10 MB
 * request, 1,000 containers in one Pod, and a registry that accepts connections and never
 * answers. Each gets a bounded answer within the review's deadline, and what could not be
 * decided is denied unless the operator chose to fail open.
 */

import assert from "node:assert/strict";
import {
  admissionReview,
  CLUSTER_ISSUER,
  DEFAULT_SA,
  openAdmissionEnv,
  pod,
} from "./_admission_env.ts";

const POLICY = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: signed}
spec:
  images: [{glob: "**"}]
  authorities:
  - keyless:
      identities: [{issuer: "${CLUSTER_ISSUER}", subject: "${DEFAULT_SA}"}]
`;

function randomDigest(): string {
  return `sha256:${crypto.getRandomValues(new Uint8Array(32)).toHex()}`;
}

Deno.test("a malformed AdmissionReview is a 400 with the reason; one with a uid but no usable object is denied", async () => {
  await using env = await openAdmissionEnv();
  const webhook = await env.serve(env.controller(await env.policies(POLICY)));
  const url = `https://localhost:${webhook.server.port}/validations`;
  const bodies = [
    "not json",
    "[]",
    JSON.stringify({
      apiVersion: "admission.k8s.io/v1beta1",
      kind: "AdmissionReview",
      request: {},
    }),
    JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }),
    JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: { kind: {} },
    }),
    JSON.stringify({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: { uid: "u", kind: { group: "", version: "v1", kind: "Pod" }, operation: "EXPLODE" },
    }),
    "\u00ff\u00fe",
  ];
  for (const body of bodies) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      client: webhook.client,
    });
    const answer = await response.json();
    assert.equal(response.status, 400, body);
    assert.match(answer.error, /^Malformed AdmissionReview: /);
  }
  const wrongType = await fetch(url, { method: "POST", body: "{}", client: webhook.client });
  await wrongType.body?.cancel();
  assert.equal(wrongType.status, 415);
  const malformedObjects = [
    { apiVersion: "v1", kind: "Pod", spec: { containers: "nope" } },
    { apiVersion: "v1", kind: "Pod", spec: { containers: [{ name: "x", image: 42 }] } },
    { apiVersion: "v1", kind: "Pod", metadata: { labels: { a: 1 } }, spec: { containers: [] } },
    { kind: "Pod", spec: { containers: [] } },
  ];
  for (const object of malformedObjects) {
    const { status, body } = await webhook.post("/validations", admissionReview(object));
    assert.equal(status, 200);
    assert.equal(body.response.allowed, false, JSON.stringify(object));
    assert.match(body.response.status!.message, /^validation failed: /);
  }
});

Deno.test("a 10 MB request is refused with 413 before it is read, with or without Content-Length", async () => {
  await using env = await openAdmissionEnv();
  const webhook = await env.serve(env.controller(await env.policies(POLICY)));
  const big = new Uint8Array(10 * 1024 * 1024).fill(0x20);
  const started = performance.now();
  const sized = await fetch(`https://localhost:${webhook.server.port}/validations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: big,
    client: webhook.client,
  });
  assert.equal(sized.status, 413);
  await sized.body?.cancel();
  // A stream has no length: the body is read against the same budget and cut off.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 10; i++) controller.enqueue(big.subarray(i << 20, (i + 1) << 20));
      controller.close();
    },
  });
  const chunked = await fetch(`https://localhost:${webhook.server.port}/mutations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: stream,
    client: webhook.client,
  });
  assert.equal(chunked.status, 413);
  await chunked.body?.cancel();
  assert.ok(performance.now() - started < 4000);
});

Deno.test("1,000 containers in one Pod: a bounded denial within the deadline; 1,001 is refused outright", async () => {
  await using env = await openAdmissionEnv();
  const webhook = await env.serve(env.controller(await env.policies(POLICY)));
  const images = Array.from(
    { length: 1000 },
    () => `${env.stack.registryHost}/demo/app@${randomDigest()}`,
  );
  const started = performance.now();
  const { status, body } = await webhook.post("/validations", admissionReview(pod(images)));
  const elapsed = performance.now() - started;
  assert.equal(status, 200);
  assert.equal(body.response.allowed, false);
  assert.ok(elapsed < 4500, `answered in ${elapsed.toFixed(0)} ms, the deadline is 4000`);
  const lines = body.response.status!.message.split("\n");
  // Twenty reported, the rest counted: the message stays small whatever the Pod holds.
  assert.ok(body.response.status!.message.length <= 16 * 1024);
  assert.match(lines.at(-1)!, /^\.\.\. and \d+ more$/);
  const tooMany = await webhook.post(
    "/validations",
    admissionReview(pod([...images, `${env.stack.registryHost}/demo/app@${randomDigest()}`])),
  );
  assert.equal(tooMany.body.response.allowed, false);
  assert.match(tooMany.body.response.status!.message, /more than 1000 containers/);
});

/** A TCP server that accepts connections and never answers. */
function hangingRegistry(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    close() {
      listener.close();
      for (const conn of held) {
        try {
          conn.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

Deno.test("a registry that hangs: undecided within the deadline, denied by default, admitted with a warning when failing open", async () => {
  await using env = await openAdmissionEnv();
  const hanging = hangingRegistry();
  try {
    const image = `127.0.0.1:${hanging.port}/demo/app@${randomDigest()}`;
    const policies = await env.policies(POLICY);
    const closed = await env.serve(env.controller(policies));
    let started = performance.now();
    const denied = await closed.post("/validations", admissionReview(pod([image])));
    assert.ok(performance.now() - started < 4500);
    assert.equal(denied.body.response.allowed, false);
    assert.match(denied.body.response.status!.message, /did not answer within 2\.0s/);
    const open = await env.serve(env.controller(policies, { failOpen: true }));
    started = performance.now();
    const admitted = await open.post("/validations", admissionReview(pod([image])));
    assert.ok(performance.now() - started < 4500);
    assert.equal(admitted.body.response.allowed, true);
    assert.match(
      admitted.body.response.warnings![0]!,
      /^failed policy: signed: spec\.containers\[0\]\.image\n/,
    );
    // A review deadline shorter than the registry's: the image is reported as not decided.
    const hasty = await env.serve(env.controller(policies, { timeoutMs: 500 }));
    started = performance.now();
    const late = await hasty.post("/validations", admissionReview(pod([image])));
    assert.ok(performance.now() - started < 1500);
    assert.equal(late.body.response.allowed, false);
    assert.match(
      late.body.response.status!.message,
      /could not decide within 0\.5s: spec\.containers\[0\]\.image/,
    );
    // The mutating hook leaves what it cannot resolve in time alone (the validating hook refuses it).
    const mutated = await hasty.post(
      "/mutations",
      admissionReview(pod([`127.0.0.1:${hanging.port}/demo/app:v1`])),
    );
    assert.equal(mutated.body.response.allowed, true);
    assert.equal(mutated.body.response.patch, undefined);
    // Let the abandoned registry requests run out before the sanitizers look.
    await new Promise((resolve) => setTimeout(resolve, 2100));
  } finally {
    hanging.close();
  }
});
