/**
 * An admission environment for tests: the embedded stack over a socket, its OIDC issuer named
 * like a cluster's service-account issuer (`https://kubernetes.default.svc.cluster.local`, so
 * policy-controller's example identities match), a key pair, images pushed and signed or
 * attested on demand, and the webhook over HTTPS with AdmissionReviews built as the API server
 * sends them.
 *
 * @module
 */

import { attest, sign } from "../../lib/api.ts";
import { generateKeyPair, type PrivateKey } from "../../lib/keys/private_key.ts";
import { RegistryClient } from "../../lib/oci/client.ts";
import { buildExampleImage } from "../../lib/oci/example_image.ts";
import type { StorageFormat } from "../../lib/sign/image.ts";
import { parseClusterImagePolicies } from "../../lib/admission/policy.ts";
import { type CompiledPolicy, compilePolicy } from "../../lib/admission/authority.ts";
import {
  AdmissionController,
  type AdmissionControllerOptions,
  fetchWithTimeout,
} from "../../lib/admission/controller.ts";
import { defaultPolicyEngine, type PolicyEngine } from "../../lib/admission/policy_engine.ts";
import { type Stack, startStack } from "../../server/mod.ts";
import { type AdmissionServer, startAdmissionServer } from "../../server/admission/server.ts";
import { generateSelfSignedTls, type TlsMaterial } from "../../server/admission/tls.ts";

/** The issuer name of the test stack: a cluster's service-account token issuer. */
export const CLUSTER_ISSUER = "https://kubernetes.default.svc.cluster.local";
/** The default signer: the `default` service account of the `default` namespace. */
export const DEFAULT_SA = "https://kubernetes.io/namespaces/default/serviceaccounts/default";
/** Another identity, for mismatches. */
export const OTHER_SA = "https://kubernetes.io/namespaces/ci/serviceaccounts/builder";

/** An image pushed for a test. */
export interface TestImage {
  /** `host:port/repository:tag`. */
  readonly tag: string;
  /** `host:port/repository@sha256:...`. */
  readonly digest: string;
  /** The digest alone. */
  readonly sha: string;
}

/** How to sign or attest. */
export interface SignWith {
  /** `key` (the environment's key pair) or `keyless` with an identity (default the default SA). */
  readonly with: "key" | "keyless";
  readonly identity?: string;
  /** Storage format (default `bundle`). */
  readonly format?: StorageFormat;
  /** Record in the stack's Rekor (default true for keyless, false for key). */
  readonly log?: boolean;
}

/** The environment. */
export interface AdmissionEnv extends AsyncDisposable {
  readonly stack: Stack;
  readonly key: PrivateKey;
  /** The key's public PEM, for `key.data`. */
  readonly publicKeyPem: string;
  /** Push a fresh image (distinct content per call) to `repository:tag`. */
  push(repository: string, tag?: string): Promise<TestImage>;
  sign(image: TestImage, how: SignWith): Promise<void>;
  attest(image: TestImage, predicateType: string, predicate: unknown, how: SignWith): Promise<void>;
  /** Parse and compile policies (YAML) against the stack's trusted root. */
  policies(yaml: string, engine?: PolicyEngine): Promise<CompiledPolicy[]>;
  /** A controller over `policies` reaching the stack's registry. */
  controller(
    policies: CompiledPolicy[],
    options?: Partial<AdmissionControllerOptions>,
  ): AdmissionController;
  /** Serve `controller` over HTTPS; closed with the environment. */
  serve(controller: AdmissionController): Promise<Webhook>;
}

/** A webhook under test. */
export interface Webhook {
  readonly server: AdmissionServer;
  readonly tls: TlsMaterial;
  /** POST a review to `/validations` or `/mutations`; the HTTP status and parsed body. */
  post(path: string, body: unknown): Promise<{ status: number; body: ReviewBody }>;
  /** GET a path; status and text. */
  get(path: string): Promise<{ status: number; text: string }>;
  readonly client: Deno.HttpClient;
}

/** The AdmissionReview answer's shape. */
export interface ReviewBody {
  readonly response: {
    readonly uid: string;
    readonly allowed: boolean;
    readonly status?: { readonly code: number; readonly message: string };
    readonly warnings?: string[];
    readonly patchType?: string;
    readonly patch?: string;
  };
}

let counter = 0;

/** Open the environment. */
export async function openAdmissionEnv(): Promise<AdmissionEnv> {
  const stack = await startStack({ port: 0, identities: [DEFAULT_SA, OTHER_SA] });
  stack.services.oidc.setIssuerUrl(CLUSTER_ISSUER);
  const key = await generateKeyPair();
  const registry = new RegistryClient();
  const trustedRoot = stack.trust.trustedRoot;
  const webhooks: { server: AdmissionServer; client: Deno.HttpClient }[] = [];
  const signOptions = async (how: SignWith) => {
    const log = how.log ?? how.with === "keyless";
    const token = how.with === "keyless"
      ? await stack.services.oidc.mintToken(how.identity ?? DEFAULT_SA)
      : undefined;
    return {
      ...(how.with === "key"
        ? { signer: key }
        : { keyless: { token: token!, fulcioUrl: stack.url, trustedRoot } }),
      ...(log ? { rekorUrl: stack.url } : {}),
      format: how.format ?? "bundle",
      registry,
    };
  };
  return {
    stack,
    key,
    publicKeyPem: key.publicKey.toPem(),
    async push(repository, tag = "v1") {
      const pushed = await buildExampleImage(
        registry,
        `${stack.registryHost}/${repository}:${tag}`,
        { message: `image ${counter++} ${crypto.randomUUID()}` },
      );
      return {
        tag: `${stack.registryHost}/${repository}:${tag}`,
        digest: `${stack.registryHost}/${repository}@${pushed.digest}`,
        sha: pushed.digest,
      };
    },
    async sign(image, how) {
      await sign(image.digest, await signOptions(how));
    },
    async attest(image, predicateType, predicate, how) {
      await attest(image.digest, { ...(await signOptions(how)), predicateType, predicate });
    },
    async policies(yaml, engine = defaultPolicyEngine()) {
      const parsed = parseClusterImagePolicies(yaml, { origin: "test.yaml" });
      return await Promise.all(
        parsed.map((policy) => compilePolicy(policy, { trust: { trustedRoot }, engine })),
      );
    },
    controller(policies, options = {}) {
      return new AdmissionController({
        policies,
        client: new RegistryClient({
          fetch: fetchWithTimeout(globalThis.fetch, 2000),
          retry: { attempts: 1 },
        }),
        // The apiserver's 10 s minus headroom: a full test run loads both cores, and the first
        // CUE or keyless decision of a process is slower than the rest.
        timeoutMs: 8000,
        ...options,
      });
    },
    async serve(controller) {
      const tls = await generateSelfSignedTls();
      const server = await startAdmissionServer({
        controller,
        tls,
        hostname: "127.0.0.1",
        port: 0,
      });
      const client = Deno.createHttpClient({ caCerts: [tls.ca] });
      webhooks.push({ server, client });
      return {
        server,
        tls,
        client,
        async post(path, body) {
          const response = await fetch(`https://localhost:${server.port}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: typeof body === "string" ? body : JSON.stringify(body),
            client,
          });
          const text = await response.text();
          return { status: response.status, body: JSON.parse(text) as ReviewBody };
        },
        async get(path) {
          const response = await fetch(`https://localhost:${server.port}${path}`, { client });
          return { status: response.status, text: await response.text() };
        },
      };
    },
    async [Symbol.asyncDispose]() {
      for (const { server, client } of webhooks) {
        await server.close();
        client.close();
      }
      await stack.close();
    },
  };
}

/** The GroupVersionKind and resource of the kinds tests send. */
const KINDS: Record<string, { group: string; version: string; resource: string }> = {
  Pod: { group: "", version: "v1", resource: "pods" },
  Deployment: { group: "apps", version: "v1", resource: "deployments" },
  ReplicaSet: { group: "apps", version: "v1", resource: "replicasets" },
  StatefulSet: { group: "apps", version: "v1", resource: "statefulsets" },
  DaemonSet: { group: "apps", version: "v1", resource: "daemonsets" },
  Job: { group: "batch", version: "v1", resource: "jobs" },
  CronJob: { group: "batch", version: "v1", resource: "cronjobs" },
  ClusterImagePolicy: {
    group: "policy.sigstore.dev",
    version: "v1beta1",
    resource: "clusterimagepolicies",
  },
};

/**
 * An AdmissionReview for `object` as the API server sends it (admission.k8s.io/v1): uid, kind,
 * resource, request kind and resource, name, namespace, operation, user info, the object, a
 * null oldObject on CREATE, dryRun and the operation's options.
 */
export function admissionReview(
  object: Record<string, unknown>,
  options: {
    operation?: "CREATE" | "UPDATE" | "DELETE";
    oldObject?: unknown;
    subResource?: string;
  } = {},
): Record<string, unknown> {
  const kind = String(object.kind);
  const gvr = KINDS[kind] ?? { group: "", version: "v1", resource: `${kind.toLowerCase()}s` };
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const operation = options.operation ?? "CREATE";
  const gvk = { group: gvr.group, version: gvr.version, kind };
  const resource = { group: gvr.group, version: gvr.version, resource: gvr.resource };
  return {
    kind: "AdmissionReview",
    apiVersion: "admission.k8s.io/v1",
    request: {
      uid: crypto.randomUUID(),
      kind: gvk,
      resource,
      ...(options.subResource ? { subResource: options.subResource } : {}),
      requestKind: gvk,
      requestResource: resource,
      name: metadata.name ?? "",
      ...(kind === "ClusterImagePolicy" ? {} : { namespace: metadata.namespace ?? "default" }),
      operation,
      userInfo: {
        username: "kubernetes-admin",
        groups: ["system:masters", "system:authenticated"],
      },
      object: operation === "DELETE" ? null : object,
      oldObject: options.oldObject ?? null,
      dryRun: false,
      options: {
        kind: operation === "UPDATE" ? "UpdateOptions" : "CreateOptions",
        apiVersion: "meta.k8s.io/v1",
        fieldManager: "kubectl-client-side-apply",
      },
    },
  };
}

/** A Pod with these container images (`app-0`, `app-1`, ...). */
export function pod(
  images: readonly string[],
  extra: { labels?: Record<string, string>; initImages?: readonly string[]; name?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: extra.name ?? "demo",
      namespace: "default",
      ...(extra.labels ? { labels: extra.labels } : {}),
    },
    spec: {
      ...(extra.initImages
        ? { initContainers: extra.initImages.map((image, i) => ({ name: `init-${i}`, image })) }
        : {}),
      containers: images.map((image, i) => ({ name: `app-${i}`, image })),
      serviceAccountName: "default",
    },
  };
}

/** A Deployment whose pod template has these container images. */
export function deployment(images: readonly string[], replicas = 2): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "demo", namespace: "default", labels: { app: "demo" } },
    spec: {
      replicas,
      selector: { matchLabels: { app: "demo" } },
      template: {
        metadata: { labels: { app: "demo" } },
        spec: { containers: images.map((image, i) => ({ name: `app-${i}`, image })) },
      },
    },
  };
}

/** The JSONPatch of a mutating answer. */
export function decodePatch(body: ReviewBody): { op: string; path: string; value: string }[] {
  if (!body.response.patch) return [];
  return JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(body.response.patch)));
}
