/**
 * Which images and workloads a policy applies to: image globs as policy-controller compiles
 * them (lib/admission/glob.ts), Kubernetes label selectors (lib/admission/labels.ts), and the
 * image references of each workload kind with their paths and JSON pointers
 * (lib/admission/workload.ts).
 */

import assert from "node:assert/strict";
import { compileImageGlob, matchImageGlob } from "../../../lib/admission/glob.ts";
import { matchesLabels, parseLabelSelector } from "../../../lib/admission/labels.ts";
import { formatProblems } from "../../../lib/admission/field_errors.ts";
import { readWorkload } from "../../../lib/admission/workload.ts";

const DIGEST = `sha256:${"ab".repeat(32)}`;

Deno.test("matchImageGlob(): * stops at /, ** crosses it, the whole name must match, names are fully qualified", () => {
  const table: [string, string, boolean][] = [
    ["ghcr.io/org/*", "ghcr.io/org/app:1.0", true],
    ["ghcr.io/org/*", "ghcr.io/org/team/app:1.0", false],
    ["ghcr.io/org/**", "ghcr.io/org/team/app:1.0", true],
    ["ghcr.io/org/**", `ghcr.io/org/app@${DIGEST}`, true],
    ["ghcr.io/org/app", "ghcr.io/org/app:1.0", false], // the tag is part of the name
    ["ghcr.io/org/app:*", "ghcr.io/org/app:1.0", true],
    ["ghcr.io/org/app*", "ghcr.io/org/app:1.0", true], // ":" is not a separator for *
    ["**demo**", "registry.local:5000/policy-controller/demo:v1", true],
    ["index.docker.io/library/*", "busybox", true],
    ["*", "busybox", true], // "*" means Docker Hub's library images
    ["*", "ghcr.io/busybox", false],
    ["*/*", "myuser/myapp", true],
    ["busybox", "busybox", true], // the text as written is tried when the full name fails
    ["ghcr.io/o.g/*", "ghcr.io/oxg/app:1", false], // "." is literal
  ];
  for (const [glob, image, expected] of table) {
    assert.equal(matchImageGlob(glob, image), expected, `${glob} vs ${image}`);
  }
});

Deno.test("compileImageGlob() refuses characters a glob may not hold, as policy-controller's validGlob does", () => {
  for (const bad of ["[", "a?b", "a b", "(x)", "x+", "^x$", "a\\b", "x".repeat(600)]) {
    assert.throws(() => compileImageGlob(bad), SyntaxError, bad);
  }
  assert.ok(compileImageGlob("a-b_c:d/e*f.g@h"));
});

Deno.test("label selectors: matchLabels and every operator, ANDed; malformed selectors are refused with their field", () => {
  const { selector, errors } = parseLabelSelector({
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["front", "edge"] },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "team", operator: "Exists" },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  });
  assert.equal(errors.hasErrors, false);
  assert.ok(matchesLabels(selector!, { app: "web", tier: "edge", team: "a" }));
  assert.ok(matchesLabels(selector!, { app: "web", tier: "front", team: "a", env: "prod" }));
  assert.ok(!matchesLabels(selector!, { app: "web", tier: "front", team: "a", env: "dev" }));
  assert.ok(!matchesLabels(selector!, { app: "web", tier: "front" }));
  assert.ok(!matchesLabels(selector!, { app: "web", tier: "front", team: "a", legacy: "" }));
  assert.ok(
    matchesLabels(parseLabelSelector({}).selector!, {}),
    "an empty selector matches everything",
  );
  const bad = parseLabelSelector({
    matchLabels: { "bad key!": "x" },
    matchExpressions: [{ key: "a", operator: "Near" }, { key: "b", operator: "In", values: [] }, {
      key: "c",
      operator: "Exists",
      values: ["x"],
    }],
  });
  assert.equal(bad.selector, undefined);
  const lines = formatProblems(bad.errors.problems).join("\n");
  assert.match(lines, /matchLabels\.bad key!/);
  assert.match(lines, /invalid value: Near: matchExpressions\[0\]\.operator/);
  assert.match(lines, /matchExpressions\[1\]\.values/);
  assert.match(lines, /matchExpressions\[2\]\.values/);
});

Deno.test("readWorkload(): each kind's images with their paths and JSON pointers, in policy-controller's order", () => {
  const containers = {
    initContainers: [{ name: "i", image: "init:1" }],
    containers: [{ name: "a", image: "app:1" }],
    ephemeralContainers: [{ name: "e", image: "debug:1" }],
    volumes: [{ name: "v", image: { reference: "data:1" } }, { name: "w", emptyDir: {} }],
  };
  const pod = readWorkload({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", labels: { a: "b" } },
    spec: containers,
  });
  assert.deepEqual(pod.images.map((i) => [i.path, i.pointer, i.image]), [
    ["spec.initContainers[0].image", "/spec/initContainers/0/image", "init:1"],
    ["spec.containers[0].image", "/spec/containers/0/image", "app:1"],
    ["spec.ephemeralContainers[0].image", "/spec/ephemeralContainers/0/image", "debug:1"],
    ["spec.volumes[0].image.reference", "/spec/volumes/0/image/reference", "data:1"],
  ]);
  assert.deepEqual(pod.labels, { a: "b" });
  const cron = readWorkload({
    apiVersion: "batch/v1",
    kind: "CronJob",
    spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: "x:1" }] } } } } },
  });
  assert.equal(cron.images[0]?.pointer, "/spec/jobTemplate/spec/template/spec/containers/0/image");
  assert.equal(cron.resource, "cronjobs");
  const deployment = readWorkload({
    apiVersion: "apps/v1",
    kind: "Deployment",
    spec: { replicas: 3, template: { spec: { containers: [] } } },
  });
  assert.equal(deployment.replicas, 3);
  assert.equal(deployment.group, "apps");
  for (
    const bad of [
      { apiVersion: "v1", kind: "ConfigMap" },
      { apiVersion: "apps/v2", kind: "Deployment", spec: {} },
      { apiVersion: "v1", kind: "Pod", spec: { containers: [{ image: 7 }] } },
      { apiVersion: "v1", kind: "Pod" },
      {
        apiVersion: "v1",
        kind: "Pod",
        spec: { containers: Array.from({ length: 1001 }, () => ({ image: "x" })) },
      },
    ]
  ) {
    assert.throws(() => readWorkload(bad), /Malformed workload/, JSON.stringify(bad).slice(0, 80));
  }
});
