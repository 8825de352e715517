/**
 * ClusterImagePolicies from the cluster: `KubernetesPolicySource` lists them from an API
 * server (here a stand-in answering as the real one does: bearer token, `limit`/`continue`
 * pages, list items), compiles them, fails closed on one it cannot enforce, leaves out one that
 * no longer validates, and hands over a new set only when a resource version changed;
 * `admission serve --policies-from-kubernetes` enforces them over HTTPS, reading the token and
 * CA files a pod's service account provides.
 */

import assert from "node:assert/strict";
import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { compilePolicy } from "../../lib/admission/authority.ts";
import type { CompiledPolicy } from "../../lib/admission/authority.ts";
import { defaultPolicyEngine } from "../../lib/admission/policy_engine.ts";
import { KubernetesPolicySource } from "../../server/admission/kubernetes.ts";
import { generateSelfSignedTls } from "../../server/admission/tls.ts";
import { REPO_ROOT, tempDir } from "../_support.ts";
import { admissionReview, openAdmissionEnv, pod } from "./_admission_env.ts";

function cip(name: string, spec: Record<string, unknown>, resourceVersion = "1") {
  // As the API server lists custom resources: no apiVersion/kind needed per item, metadata full.
  return {
    metadata: { name, uid: crypto.randomUUID(), resourceVersion, generation: 1 },
    spec,
  };
}

/** An API server stand-in for the clusterimagepolicies list, two items per page. */
function fakeApi(items: () => Record<string, unknown>[], token: string) {
  const seen: string[] = [];
  const handler = (request: Request): Response => {
    const url = new URL(request.url);
    seen.push(`${request.method} ${url.pathname}?${url.searchParams}`);
    if (request.headers.get("authorization") !== `Bearer ${token}`) {
      return Response.json({ kind: "Status", code: 401 }, { status: 401 });
    }
    if (url.pathname !== "/apis/policy.sigstore.dev/v1beta1/clusterimagepolicies") {
      return Response.json({ kind: "Status", code: 404 }, { status: 404 });
    }
    const start = Number(url.searchParams.get("continue") ?? "0");
    const all = items();
    const page = all.slice(start, start + 2);
    const more = start + 2 < all.length;
    return Response.json({
      apiVersion: "policy.sigstore.dev/v1beta1",
      kind: "ClusterImagePolicyList",
      metadata: { resourceVersion: "42", ...(more ? { continue: String(start + 2) } : {}) },
      items: page,
    });
  };
  return { handler, seen };
}

const STATIC_PASS = { images: [{ glob: "**" }], authorities: [{ static: { action: "pass" } }] };

Deno.test("KubernetesPolicySource: pages, compiles, refuses the unenforceable, skips the invalid, reloads on change only", async () => {
  let items = [
    cip("pass-all", STATIC_PASS),
    cip("kms", {
      images: [{ glob: "**kms**" }],
      authorities: [{ key: { kms: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k" } }],
    }),
    cip("broken", { images: [{ glob: "[" }], authorities: [{ static: { action: "pass" } }] }),
  ];
  const api = fakeApi(() => items, "secret-token");
  const sets: CompiledPolicy[][] = [];
  const errors: string[] = [];
  const source = new KubernetesPolicySource({
    apiUrl: "https://kubernetes.test:443",
    token: () => Promise.resolve("secret-token"),
    fetch: (input, init) => Promise.resolve(api.handler(new Request(input, init))),
    compile: (policy) => compilePolicy(policy, { trust: {}, engine: defaultPolicyEngine() }),
    onPolicies: (policies) => sets.push(policies),
    onError: (error) => errors.push((error as Error).message),
  });
  assert.equal(source.loaded, false);
  await source.refresh();
  assert.equal(source.loaded, true);
  assert.equal(api.seen.length, 2, "two pages");
  assert.match(api.seen[1]!, /continue=2/);
  assert.deepEqual(sets[0]?.map((p) => p.policy.name), ["pass-all", "kms"]);
  // The KMS policy validates but cannot be enforced: it denies what it matches.
  const kms = sets[0]![1]!;
  assert.equal(kms.authorities[0]?.static?.action, "fail");
  assert.match(
    kms.authorities[0]!.static!.message!,
    /cannot be enforced: .*KMS keys are not supported yet/,
  );
  assert.ok(
    errors.some((e) =>
      /"cluster: ClusterImagePolicy broken".*invalid value: \[: spec\.images\[0\]\.glob/.test(e)
    ),
  );
  await source.refresh();
  assert.equal(sets.length, 1, "nothing changed: no new set");
  items = [cip("pass-all", { ...STATIC_PASS, mode: "warn" }, "2")];
  await source.refresh();
  assert.equal(sets.length, 2);
  assert.equal(sets[1]?.[0]?.policy.mode, "warn");
  const denied = new KubernetesPolicySource({
    apiUrl: "https://kubernetes.test:443",
    token: () => Promise.resolve("wrong"),
    fetch: (input, init) => Promise.resolve(api.handler(new Request(input, init))),
    compile: () => Promise.reject(new Error("not reached")),
    onPolicies: () => assert.fail("no policies without a listing"),
  });
  await assert.rejects(denied.refresh(), /the API server answered 401/);
});

Deno.test("admission serve --policies-from-kubernetes enforces the cluster's policies, with the service account's token and CA", async () => {
  await using env = await openAdmissionEnv();
  await using dir = await tempDir();
  const image = await env.push("demo/app");
  const apiTls = await generateSelfSignedTls();
  const api = fakeApi(
    () => [
      cip("no-demo", {
        images: [{ glob: "**demo**" }],
        authorities: [{ static: { action: "fail", message: "not from the cluster" } }],
      }),
    ],
    "sa-token",
  );
  const apiServer = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: apiTls.cert,
    key: apiTls.key,
    onListen() {},
  }, api.handler);
  await Deno.writeTextFile(`${dir.path}/token`, "sa-token\n");
  await Deno.writeTextFile(`${dir.path}/ca.crt`, apiTls.ca);
  await Deno.writeTextFile(
    `${dir.path}/trusted_root.json`,
    JSON.stringify(encodeTrustedRoot(env.stack.trust.trustedRoot)),
  );
  const ready = `${dir.path}/ready.json`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO_ROOT}main.ts`,
      "admission",
      "serve",
      "--policies-from-kubernetes",
      "--kubernetes-api",
      `https://localhost:${apiServer.addr.port}`,
      "--kubernetes-token-file",
      "token",
      "--kubernetes-ca-file",
      "ca.crt",
      "--trusted-root",
      "trusted_root.json",
      "--self-signed",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--ready-file",
      ready,
    ],
    cwd: dir.path,
    env: { NO_COLOR: "1" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    let info: { port: number; ca: string } | undefined;
    for (let i = 0; i < 300 && !info; i++) {
      try {
        info = JSON.parse(await Deno.readTextFile(ready));
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.ok(info, "the webhook started");
    using client = Deno.createHttpClient({ caCerts: [info.ca] });
    const response = await fetch(`https://localhost:${info.port}/validations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(admissionReview(pod([image.digest]))),
      client,
    });
    const review = await response.json();
    assert.equal(review.response.allowed, false);
    assert.match(
      review.response.status.message,
      /failed policy: no-demo: .*disallowed by static policy: not from the cluster/s,
    );
    const readyz = await fetch(`https://localhost:${info.port}/readyz`, { client });
    assert.equal(await readyz.text(), "ok\n");
  } finally {
    child.kill("SIGTERM");
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    await apiServer.shutdown();
    assert.equal(status.code, 0, stderr);
    assert.match(stderr, /1 ClusterImagePolicy from the cluster/);
  }
});
