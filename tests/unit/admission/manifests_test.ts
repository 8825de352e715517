/**
 * The Kubernetes manifests (deploy/kubernetes/): they parse; every object has the fields its kind
 * requires; names that refer to each other resolve (ServiceAccount, Secret, ConfigMaps, Service,
 * Issuers); and what the cluster will call agrees with the server: the webhook paths are the
 * routes the server answers, the ports are the server's, the probes hit its probe routes, the
 * rules cover exactly the workload kinds it checks, the namespace opt-in label is
 * `policy.sigstore.dev/include`, and the server's deadline is inside the API server's timeout.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { parseYamlDocuments } from "../../../lib/util/yaml.ts";
import { isRecord } from "../../../lib/util/json.ts";
import { POLICY_API_VERSIONS, WORKLOAD_RESOURCES } from "../../../lib/admission/policy.ts";
import { isWorkloadKind } from "../../../lib/admission/workload.ts";
import { DEFAULT_ADMISSION_PORT } from "../../../server/admission/server.ts";
import { ROUTES } from "../../../server/admission/metrics.ts";
import { ADMISSION_COMMANDS } from "../../../cli/admission/spec.ts";
import { parseDuration } from "../../../cli/args.ts";
import { REPO_ROOT } from "../../_support.ts";

/** The parts of Kubernetes objects these checks read (the manifests are cast after parsing). */
interface Meta {
  readonly name: string;
  readonly namespace?: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}
interface Port {
  readonly name?: string;
  readonly port: number;
  readonly containerPort: number;
  readonly targetPort: string | number;
}
interface Probe {
  readonly httpGet: {
    readonly path: string;
    readonly port: string | number;
    readonly scheme: string;
  };
}
interface Container {
  readonly image: string;
  readonly args: string[];
  readonly ports: Port[];
  readonly readinessProbe: Probe;
  readonly livenessProbe: Probe;
  readonly volumeMounts: { readonly name: string; readonly mountPath: string }[];
}
interface Volume {
  readonly name: string;
  readonly secret?: { readonly secretName: string };
  readonly configMap?: { readonly name: string };
}
interface Rule {
  readonly apiGroups: string[];
  readonly apiVersions: string[];
  readonly operations: string[];
  readonly resources: string[];
}
interface Hook {
  readonly name: string;
  readonly admissionReviewVersions: string[];
  readonly sideEffects: string;
  readonly failurePolicy: string;
  readonly timeoutSeconds: number;
  readonly clientConfig: { readonly service: Record<string, unknown> };
  readonly rules: Rule[];
  readonly namespaceSelector?: unknown;
}
interface Spec {
  readonly [key: string]: unknown;
  readonly replicas: number;
  readonly selector: { readonly matchLabels: Record<string, string> } & Record<string, string>;
  readonly template: {
    readonly metadata: Meta;
    readonly spec: {
      readonly serviceAccountName: string;
      readonly containers: Container[];
      readonly volumes: Volume[];
    };
  };
  readonly ports: Port[];
  readonly group: string;
  readonly scope: string;
  readonly names: { readonly kind: string; readonly plural: string };
  readonly versions: {
    readonly name: string;
    readonly served: boolean;
    readonly storage: boolean;
    readonly schema: {
      readonly openAPIV3Schema: {
        readonly type: string;
        readonly properties: { readonly spec: { readonly type: string } };
      };
    };
  }[];
  readonly secretName: string;
  readonly dnsNames: string[];
  readonly issuerRef: { readonly name: string };
  readonly ca?: { readonly secretName: string };
}
interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: Meta;
  readonly spec: Spec;
  readonly rules: unknown;
  readonly roleRef: unknown;
  readonly subjects: unknown;
  readonly webhooks: Hook[];
}

const DIR = join(REPO_ROOT, "deploy", "kubernetes");
const NAMESPACE = "dcosign-system";

function load(): { file: string; object: K8sObject }[] {
  const out: { file: string; object: K8sObject }[] = [];
  for (const entry of [...Deno.readDirSync(DIR)].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!entry.name.endsWith(".yaml")) continue;
    for (const object of parseYamlDocuments(Deno.readTextFileSync(join(DIR, entry.name)))) {
      assert.ok(isRecord(object), `${entry.name}: every document is an object`);
      out.push({ file: entry.name, object: object as unknown as K8sObject });
    }
  }
  return out;
}

const objects = load();
function all(kind: string): K8sObject[] {
  return objects.filter((o) => o.object.kind === kind).map((o) => o.object);
}
function one(kind: string, name?: string): K8sObject {
  const found = all(kind).filter((o) => name === undefined || o.metadata.name === name);
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ""}`);
  return found[0]!;
}

/** Kinds that live in a namespace (the others are cluster-scoped). */
const NAMESPACED = new Set([
  "ServiceAccount",
  "ConfigMap",
  "Deployment",
  "Service",
  "Issuer",
  "Certificate",
]);

Deno.test("deploy/kubernetes: every document parses to an object with apiVersion, kind and a valid name", () => {
  assert.ok(objects.length >= 12, `found ${objects.length} objects`);
  const kinds = new Set(objects.map((o) => o.object.kind));
  for (
    const kind of [
      "Namespace",
      "CustomResourceDefinition",
      "ServiceAccount",
      "ClusterRole",
      "ClusterRoleBinding",
      "ConfigMap",
      "Deployment",
      "Service",
      "MutatingWebhookConfiguration",
      "ValidatingWebhookConfiguration",
      "Issuer",
      "Certificate",
    ]
  ) assert.ok(kinds.has(kind), `a ${kind} is there`);
  for (const { file, object } of objects) {
    assert.equal(typeof object.apiVersion, "string", `${file}: apiVersion`);
    assert.equal(typeof object.kind, "string", `${file}: kind`);
    assert.match(
      object.metadata?.name ?? "",
      /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
      `${file}: metadata.name`,
    );
    if (NAMESPACED.has(String(object.kind))) {
      assert.equal(object.metadata.namespace, NAMESPACE, `${file}: ${object.kind} namespace`);
    } else {
      assert.equal(
        object.metadata.namespace,
        undefined,
        `${file}: ${object.kind} is cluster-scoped`,
      );
    }
  }
  assert.equal(one("Namespace").metadata.name, NAMESPACE);
});

Deno.test("deploy/kubernetes: the CRD serves ClusterImagePolicy in both API versions, one stored, each with a schema", () => {
  const crd = one("CustomResourceDefinition");
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${crd.spec.group}`);
  assert.equal(crd.spec.group, "policy.sigstore.dev");
  assert.equal(crd.spec.names.kind, "ClusterImagePolicy");
  assert.equal(crd.spec.names.plural, "clusterimagepolicies");
  assert.equal(crd.spec.scope, "Cluster");
  const versions = crd.spec.versions.map((v) => `${crd.spec.group}/${v.name}`).sort();
  assert.deepEqual(versions, [...POLICY_API_VERSIONS].sort());
  assert.equal(crd.spec.versions.filter((v) => v.storage).length, 1);
  for (const version of crd.spec.versions) {
    assert.equal(version.served, true);
    assert.equal(version.schema.openAPIV3Schema.type, "object");
    assert.equal(version.schema.openAPIV3Schema.properties.spec.type, "object");
  }
});

Deno.test("deploy/kubernetes: RBAC lets the service account read ClusterImagePolicies and nothing else", () => {
  const account = one("ServiceAccount", "dcosign-admission");
  const role = one("ClusterRole");
  assert.deepEqual(role.rules, [{
    apiGroups: ["policy.sigstore.dev"],
    resources: ["clusterimagepolicies"],
    verbs: ["get", "list", "watch"],
  }]);
  const binding = one("ClusterRoleBinding");
  assert.deepEqual(binding.roleRef, {
    apiGroup: "rbac.authorization.k8s.io",
    kind: "ClusterRole",
    name: role.metadata.name,
  });
  assert.deepEqual(binding.subjects, [{
    kind: "ServiceAccount",
    name: account.metadata.name,
    namespace: NAMESPACE,
  }]);
});

function serveFlag(args: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

Deno.test("deploy/kubernetes: the Deployment runs 2 replicas of `admission serve` with flags the command has, probes, mounts and the server's port", () => {
  const deployment = one("Deployment", "dcosign-admission");
  assert.equal(deployment.apiVersion, "apps/v1");
  assert.equal(deployment.spec.replicas, 2);
  const template = deployment.spec.template;
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) {
    assert.equal(template.metadata.labels?.[key], value, "the selector selects the pods");
  }
  assert.equal(template.spec.serviceAccountName, one("ServiceAccount").metadata.name);
  const container = template.spec.containers[0]!;
  assert.equal(template.spec.containers.length, 1);
  assert.equal(typeof container.image, "string");
  const args: string[] = container.args;
  assert.deepEqual(args.slice(0, 2), ["admission", "serve"]);
  // Every flag is one `admission serve` declares.
  const serve = ADMISSION_COMMANDS[0]!.subcommands!.find((c) => c.name === "serve")!;
  const known = new Set(serve.flags!.map((f) => f.name));
  for (const arg of args.slice(2)) {
    const name = arg.replace(/^--/, "").split("=")[0]!;
    assert.ok(known.has(name), `admission serve has --${name}`);
  }
  const port = Number(serveFlag(args, "port"));
  assert.equal(port, DEFAULT_ADMISSION_PORT);
  const https = container.ports.find((p) => p.name === "https");
  assert.equal(https?.containerPort, port);
  const probes: [Probe, string][] = [[container.readinessProbe, "/readyz"], [
    container.livenessProbe,
    "/healthz",
  ]];
  for (const [probe, path] of probes) {
    const get = probe.httpGet;
    assert.equal(get.path, path);
    assert.ok((ROUTES as readonly string[]).includes(get.path));
    assert.equal(get.scheme, "HTTPS");
    assert.ok(get.port === "https" || get.port === port);
  }
  // Every mount has its volume, and the files the flags name are under a mount.
  const volumes = new Map(template.spec.volumes.map((v) => [v.name, v]));
  const mounts = container.volumeMounts;
  for (const mount of mounts) assert.ok(volumes.has(mount.name), `volume ${mount.name}`);
  for (const flag of ["cert", "key", "policy", "trusted-root"]) {
    const path = serveFlag(args, flag)!;
    assert.ok(
      mounts.some((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`)),
      `--${flag}=${path} is mounted`,
    );
  }
  const tls = volumes.get(
    mounts.find((m) => serveFlag(args, "cert")!.startsWith(m.mountPath))!.name,
  );
  const certificate = one("Certificate", "dcosign-admission-tls");
  assert.equal(tls?.secret?.secretName, certificate.spec.secretName);
  const policies = volumes.get("policies");
  assert.equal(policies?.configMap?.name, one("ConfigMap", "dcosign-policies").metadata.name);
  // The server's deadline is inside the API server's webhook timeout.
  const review = parseDuration(serveFlag(args, "review-timeout")!);
  for (const kind of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) {
    for (const hook of one(kind).webhooks) {
      assert.ok(review < hook.timeoutSeconds * 1000, `${kind} ${hook.name}`);
    }
  }
  assert.ok(args.includes("--policies-from-kubernetes"));
});

Deno.test("deploy/kubernetes: the Service forwards 443 to the container's port", () => {
  const service = one("Service", "dcosign-admission");
  const template = one("Deployment").spec.template;
  for (const [key, value] of Object.entries(service.spec.selector)) {
    assert.equal(template.metadata.labels?.[key], value);
  }
  const port = service.spec.ports[0]!;
  assert.equal(port.port, 443);
  const container = template.spec.containers[0]!;
  const target = container.ports.find((p) =>
    p.name === port.targetPort || p.containerPort === port.targetPort
  );
  assert.ok(target, "targetPort names the container's port");
});

Deno.test("deploy/kubernetes: the webhooks call the server's paths and port, for exactly the workloads it checks, in opted-in namespaces", () => {
  const service = one("Service");
  const mutating = one("MutatingWebhookConfiguration");
  const validating = one("ValidatingWebhookConfiguration");
  const expectedResources = [...WORKLOAD_RESOURCES, "pods/ephemeralcontainers"].sort();
  for (
    const [configuration, path] of [[mutating, "/mutations"], [validating, "/validations"]] as const
  ) {
    assert.equal(configuration.apiVersion, "admissionregistration.k8s.io/v1");
    assert.ok(
      configuration.metadata.annotations?.["cert-manager.io/inject-ca-from"]?.endsWith(
        "/dcosign-admission-tls",
      ),
    );
    for (const hook of configuration.webhooks) {
      assert.match(
        hook.name,
        /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/,
        "a qualified name of three or more segments",
      );
      assert.deepEqual(hook.admissionReviewVersions, ["v1"]);
      assert.ok(["None", "NoneOnDryRun"].includes(hook.sideEffects));
      assert.equal(hook.failurePolicy, "Fail");
      assert.ok(hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 30);
      assert.deepEqual(hook.clientConfig.service, {
        name: service.metadata.name,
        namespace: NAMESPACE,
        path,
        port: service.spec.ports[0]!.port,
      });
      assert.ok((ROUTES as readonly string[]).includes(path));
      for (const rule of hook.rules) {
        assert.deepEqual(rule.operations, ["CREATE", "UPDATE"]);
        assert.ok(
          rule.apiGroups.length > 0 && rule.apiVersions.length > 0 && rule.resources.length > 0,
        );
      }
    }
    const workloads = configuration.webhooks.filter((h) =>
      h.rules.some((r) => r.resources.includes("pods"))
    );
    assert.equal(workloads.length, 1);
    const hook = workloads[0]!;
    const resources = hook.rules.flatMap((r) => r.resources).sort();
    assert.deepEqual(resources, expectedResources);
    for (const rule of hook.rules) {
      for (const group of rule.apiGroups) {
        for (const version of rule.apiVersions) {
          for (const resource of rule.resources) {
            const kind = {
              pods: "Pod",
              "pods/ephemeralcontainers": "Pod",
              deployments: "Deployment",
              replicasets: "ReplicaSet",
              statefulsets: "StatefulSet",
              daemonsets: "DaemonSet",
              jobs: "Job",
              cronjobs: "CronJob",
            }[resource as string]!;
            assert.ok(
              isWorkloadKind(group ? `${group}/${version}` : version, kind),
              `${group}/${version} ${resource}`,
            );
          }
        }
      }
    }
    assert.deepEqual(hook.namespaceSelector, {
      matchExpressions: [{ key: "policy.sigstore.dev/include", operator: "In", values: ["true"] }],
    });
  }
  const policyHook = validating.webhooks.find((h) =>
    h.rules[0]!.resources.includes("clusterimagepolicies")
  );
  assert.deepEqual(
    policyHook!.rules[0]!.apiVersions.map((v: string) => `policy.sigstore.dev/${v}`).sort(),
    [...POLICY_API_VERSIONS].sort(),
  );
  assert.equal(policyHook!.clientConfig.service.path, "/validations");
});

Deno.test("deploy/kubernetes: the certificate names the Service's DNS names and its issuers exist", () => {
  const service = one("Service");
  const certificate = one("Certificate", "dcosign-admission-tls");
  assert.ok(certificate.spec.dnsNames.includes(`${service.metadata.name}.${NAMESPACE}.svc`));
  const issuers = new Set(all("Issuer").map((i) => i.metadata.name));
  for (const cert of all("Certificate")) {
    assert.ok(issuers.has(cert.spec.issuerRef.name), cert.metadata.name);
    assert.equal(typeof cert.spec.secretName, "string");
  }
  const caIssuer = all("Issuer").find((i) => i.spec.ca);
  assert.equal(
    caIssuer?.spec.ca?.secretName,
    one("Certificate", "dcosign-admission-ca").spec.secretName,
  );
  const dockerfile = Deno.readTextFileSync(join(DIR, "Dockerfile"));
  assert.match(
    dockerfile,
    /COPY dist\/dcosign-x86_64-unknown-linux-gnu /,
    "the image holds what `deno task compile` writes",
  );
});
