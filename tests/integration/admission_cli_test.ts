/**
 * The `dcosign admission` commands: `admission test` decides an image (by tag, resolved) against
 * policy files and directories as the webhook would, in text and JSON, exiting 1 on a denial and
 * using `--resource` for `match:` (policy-controller's own test resources); `admission serve`
 * runs as a real process with `--self-signed`, answers AdmissionReviews over HTTPS and stops on
 * SIGTERM; bad flags and invalid policies fail with one line naming the file and field.
 */

import assert from "node:assert/strict";
import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { dcosign } from "../_cli.ts";
import { exists, interopPath, REPO_ROOT, requireComponents, tempDir } from "../_support.ts";
import {
  admissionReview,
  CLUSTER_ISSUER,
  DEFAULT_SA,
  openAdmissionEnv,
  pod,
} from "./_admission_env.ts";

const KEYLESS = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: signed-by-default-sa}
spec:
  images: [{glob: "**demo**"}]
  authorities:
  - keyless:
      identities: [{issuer: "${CLUSTER_ISSUER}", subject: "${DEFAULT_SA}"}]
`;

const PODS_ONLY = `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata: {name: pods-only}
spec:
  images: [{glob: "**"}]
  match: [{group: "", version: v1, resource: pods}]
  authorities: [{static: {action: pass}}]
`;

Deno.test("admission test: allowed and denied images by tag, in text and JSON; a directory of policies", async () => {
  await using env = await openAdmissionEnv();
  await using dir = await tempDir();
  const signed = await env.push("demo/signed");
  const unsigned = await env.push("demo/unsigned");
  await env.sign(signed, { with: "keyless" });
  await Deno.mkdir(`${dir.path}/policies`);
  await Deno.writeTextFile(`${dir.path}/policies/keyless.yaml`, KEYLESS);
  await Deno.writeTextFile(`${dir.path}/policies/.hidden.yaml`, "not: a policy");
  await Deno.writeTextFile(
    `${dir.path}/trusted_root.json`,
    JSON.stringify(encodeTrustedRoot(env.stack.trust.trustedRoot)),
  );
  const run = (args: string[]) =>
    dcosign([
      "admission",
      "test",
      "--policy",
      "policies",
      "--trusted-root",
      "trusted_root.json",
      ...args,
    ], {
      cwd: dir.path,
    });
  const ok = await run(["--image", signed.tag]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    new RegExp(`^Image: ${signed.tag.replace(/[.]/g, "\\.")} \\(.*@${signed.sha}\\)$`, "m"),
  );
  assert.match(ok.stdout, /^Policy "signed-by-default-sa": passed$/m);
  assert.match(ok.stdout, /^Decision: allowed$/m);
  const denied = await run(["--image", unsigned.tag]);
  assert.equal(denied.code, 1);
  assert.match(denied.stdout, /^Policy "signed-by-default-sa": failed$/m);
  assert.match(denied.stdout, /no signatures found/);
  assert.match(denied.stdout, /^Decision: denied$/m);
  const json = await run(["--image", unsigned.digest, "--output", "json"]);
  assert.equal(json.code, 1);
  const result = JSON.parse(json.stdout);
  assert.equal(result.allowed, false);
  assert.equal(result.digest, unsigned.sha);
  assert.equal(result.policies[0].name, "signed-by-default-sa");
  assert.match(result.errors[0], /^failed policy: signed-by-default-sa: image\n/);
});

const RESOURCES = "policy/policy-controller/test/testdata/resources";
const CORPUS = {
  name: "policy-controller test resources",
  present: () => exists(interopPath(`${RESOURCES}/pod.yaml`)),
};

if (requireComponents("admission test --resource", CORPUS)) {
  Deno.test("admission test --resource: policy-controller's pod.yaml selects a pods-only policy, job.yaml does not", async () => {
    await using env = await openAdmissionEnv();
    await using dir = await tempDir();
    const image = await env.push("demo/app");
    await Deno.writeTextFile(`${dir.path}/pods-only.yaml`, PODS_ONLY);
    const run = (resource: string) =>
      dcosign([
        "admission",
        "test",
        "--policy",
        "pods-only.yaml",
        "--image",
        image.digest,
        "--resource",
        interopPath(`${RESOURCES}/${resource}`),
      ], { cwd: dir.path });
    const onPod = await run("pod.yaml");
    assert.equal(onPod.code, 0, onPod.stdout + onPod.stderr);
    assert.match(onPod.stdout, /^Policy "pods-only": passed$/m);
    const onJob = await run("job.yaml");
    assert.equal(onJob.code, 1);
    assert.match(onJob.stdout, /^Policies: none matched$/m);
    assert.match(onJob.stdout, /no matching policies/);
  });
}

Deno.test("admission test and serve fail with one line on bad input: invalid policy, no --image, no TLS, unknown trust root", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(
    `${dir.path}/bad.yaml`,
    KEYLESS.replace('images: [{glob: "**demo**"}]', 'images: [{glob: "["}]'),
  );
  await Deno.writeTextFile(`${dir.path}/ok.yaml`, PODS_ONLY);
  await Deno.writeTextFile(
    `${dir.path}/ref.yaml`,
    PODS_ONLY.replace(
      "{static: {action: pass}}",
      "{keyless: {trustRootRef: corp, identities: [{issuer: i, subject: s}]}}",
    ),
  );
  const cases: [string[], RegExp][] = [
    [
      ["admission", "test", "--policy", "bad.yaml", "--image", "x@sha256:" + "a".repeat(64)],
      /"bad\.yaml": validation failed: invalid value: \[: spec\.images\[0\]\.glob/,
    ],
    [["admission", "test", "--policy", "ok.yaml"], /Give the image to check with --image/],
    [["admission", "test", "--image", "x"], /Give at least one --policy/],
    [
      ["admission", "test", "--policy", "missing.yaml", "--image", "x"],
      /Cannot read policy "missing\.yaml"/,
    ],
    [
      ["admission", "test", "--policy", "ref.yaml", "--image", "x"],
      /trust root "corp" is not configured/,
    ],
    [["admission", "serve", "--policy", "ok.yaml"], /give --cert and --key \(or --self-signed/],
    [
      ["admission", "serve", "--policy", "ok.yaml", "--self-signed", "--cert", "c.pem"],
      /cannot be combined/,
    ],
  ];
  for (const [argv, pattern] of cases) {
    const result = await dcosign(argv, { cwd: dir.path });
    assert.equal(result.code, 1, argv.join(" "));
    assert.match(result.stderr, pattern, argv.join(" "));
    assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
  }
});

Deno.test("admission serve: a real process with --self-signed answers over HTTPS, serves /metrics, stops on SIGTERM", async () => {
  await using env = await openAdmissionEnv();
  await using dir = await tempDir();
  const signed = await env.push("demo/signed");
  await env.sign(signed, { with: "keyless" });
  await Deno.writeTextFile(`${dir.path}/policy.yaml`, KEYLESS);
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
      "--policy",
      "policy.yaml",
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
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    let info: { url: string; port: number; ca: string } | undefined;
    for (let i = 0; i < 300 && !info; i++) {
      try {
        info = JSON.parse(await Deno.readTextFile(ready));
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    assert.ok(info, "the ready file appeared");
    using client = Deno.createHttpClient({ caCerts: [info.ca] });
    const post = async (object: Record<string, unknown>) => {
      const response = await fetch(`https://localhost:${info!.port}/validations`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(admissionReview(object)),
        client,
      });
      return (await response.json()).response;
    };
    assert.equal((await post(pod([signed.digest]))).allowed, true);
    const denied = await post(pod([signed.tag]));
    assert.equal(denied.allowed, false);
    assert.match(denied.status.message, /must be an image digest/);
    const metrics = await fetch(`https://localhost:${info.port}/metrics`, { client });
    assert.match(
      await metrics.text(),
      /dcosign_admission_reviews_total\{hook="validations",outcome="denied"\} 1/,
    );
  } finally {
    child.kill("SIGTERM");
    const [status, , stderr] = await Promise.all([
      child.status,
      child.stdout.cancel(),
      new Response(child.stderr).text(),
    ]);
    assert.equal(status.code, 0, stderr);
    assert.match(stderr, /dcosign admission: serving 1 policy on https:\/\/127\.0\.0\.1:\d+/);
    assert.equal(exists(ready), false, "the ready file is removed on exit");
  }
});
