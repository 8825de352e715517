/**
 * `admission serve`: the admission webhook over HTTPS until SIGINT/SIGTERM.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { AdmissionController, fetchWithTimeout } from "../../lib/admission/controller.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { parseDuration } from "../args.ts";
import { resolvePath } from "../context.ts";
import { createRegistryClient } from "../options/registry.ts";
import {
  loadPolicies,
  noMatchPolicy,
  parseOptions,
  policyCompiler,
  readTrust,
} from "./_policies.ts";

/** Most bytes of a TLS certificate or key file. */
const MAX_TLS_BYTES = 1 << 20;

/** The API server and credentials: in a pod, its service account (or the flags). */
async function clusterAccess(input: CommandInput) {
  const { flags, ctx } = input;
  let apiUrl = flags.string("kubernetes-api");
  if (apiUrl === undefined) {
    const host = ctx.env("KUBERNETES_SERVICE_HOST");
    const port = ctx.env("KUBERNETES_SERVICE_PORT") ?? "443";
    if (!host) {
      throw new CosignError(
        "CLI_USAGE",
        "--policies-from-kubernetes outside a pod needs --kubernetes-api (KUBERNETES_SERVICE_HOST is not set)",
      );
    }
    apiUrl = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  const tokenFile = flags.string("kubernetes-token-file")!;
  const caFile = flags.string("kubernetes-ca-file")!;
  const ca = new TextDecoder().decode(
    await ctx.readFile(caFile, { maxBytes: MAX_TLS_BYTES, what: "Kubernetes CA certificate" }),
  );
  const client = Deno.createHttpClient({ caCerts: [ca] });
  const token = async () =>
    new TextDecoder().decode(
      await ctx.readFile(tokenFile, { maxBytes: 64 * 1024, what: "Kubernetes token" }),
    ).trim();
  const apiFetch: typeof fetch = (request, init) => fetch(request, { ...init, client });
  return { apiUrl, token, fetch: apiFetch };
}

/** Run the webhook. */
export const admissionServe: CommandRun = async (input) => {
  const { flags, ctx, out } = input;
  const port = flags.integer("port") ?? 8443;
  if (port < 0 || port > 65535) throw new CosignError("CLI_USAGE", `Invalid --port ${port}`);
  const certPath = flags.string("cert");
  const keyPath = flags.string("key");
  const selfSigned = flags.boolean("self-signed");
  if (selfSigned && (certPath !== undefined || keyPath !== undefined)) {
    throw new CosignError("CLI_USAGE", "--self-signed cannot be combined with --cert or --key");
  }
  if (!selfSigned && (certPath === undefined || keyPath === undefined)) {
    throw new CosignError(
      "CLI_USAGE",
      "The webhook serves HTTPS: give --cert and --key (or --self-signed for a test certificate)",
    );
  }
  const reviewTimeout = parseDuration(flags.string("review-timeout") ?? "8s");
  const registryTimeout = parseDuration(flags.string("registry-timeout") ?? "5s");
  if (reviewTimeout <= 0 || registryTimeout <= 0) {
    throw new CosignError("CLI_USAGE", "--review-timeout and --registry-timeout must be positive");
  }
  if (reviewTimeout >= 10_000) {
    out.warn("--review-timeout is not below the API server's 10s webhook timeout");
  }
  const fromCluster = flags.boolean("policies-from-kubernetes");
  const trust = await readTrust(input);
  const filePolicies = await loadPolicies(input, { optional: fromCluster, trust });
  const policies = filePolicies;
  const { startAdmissionServer } = await import("../../server/admission/server.ts");
  let tls: { cert: string; key: string; ca?: string };
  if (selfSigned) {
    const { generateSelfSignedTls } = await import("../../server/admission/tls.ts");
    tls = await generateSelfSignedTls();
  } else {
    const read = async (path: string, what: string) =>
      new TextDecoder().decode(await ctx.readFile(path, { maxBytes: MAX_TLS_BYTES, what }));
    tls = { cert: await read(certPath!, "TLS certificate"), key: await read(keyPath!, "TLS key") };
  }
  // Every registry request is bounded in time, and not retried: the review's deadline is short.
  const client = createRegistryClient({ ...input, signal: ctx.signal }, {
    retry: { attempts: 1 },
    wrapFetch: (inner) => fetchWithTimeout(inner, registryTimeout),
  });
  const controller = new AdmissionController({
    policies,
    client,
    noMatchPolicy: noMatchPolicy(input),
    failOpen: flags.boolean("fail-open"),
    timeoutMs: reviewTimeout,
    cacheTtlMs: parseDuration(flags.string("cache-ttl") ?? "5m"),
    negativeCacheTtlMs: parseDuration(flags.string("negative-cache-ttl") ?? "30s"),
    cacheEntries: Math.max(1, flags.integer("cache-size") ?? 10000),
  });
  let source: { loaded: boolean; stop(): void } | undefined;
  if (fromCluster) {
    const { KubernetesPolicySource } = await import("../../server/admission/kubernetes.ts");
    const cluster = await clusterAccess(input);
    const compile = policyCompiler(input, trust);
    const kube = new KubernetesPolicySource({
      ...cluster,
      compile,
      parseOptions: parseOptions(input),
      pollMs: parseDuration(flags.string("kubernetes-poll") ?? "15s"),
      onPolicies: (fromApi) => {
        controller.setPolicies([...filePolicies, ...fromApi]);
        const n = fromApi.length;
        out.info(
          `dcosign admission: ${n} ClusterImagePolic${n === 1 ? "y" : "ies"} from the cluster`,
        );
      },
      onError: (error) => out.error(error),
    });
    // The first listing must succeed: serving without the cluster's policies would admit
    // what they forbid. Later failures keep the last set.
    await kube.start();
    source = kube;
  }
  const server = await startAdmissionServer({
    controller,
    tls,
    hostname: flags.string("host") ?? "0.0.0.0",
    port,
    onError: (error) => out.error(error),
    ready: () => source?.loaded ?? true,
  });
  const readyFile = flags.string("ready-file");
  if (readyFile !== undefined) {
    const ready = { url: server.url, port: server.port, ...(tls.ca ? { ca: tls.ca } : {}) };
    const path = resolvePath(ctx, readyFile);
    // Written atomically: a reader never sees half a file.
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(ready));
    await Deno.rename(`${path}.tmp`, path);
  }
  const count = controller.policies.length;
  out.info(
    `dcosign admission: serving ${count} polic${count === 1 ? "y" : "ies"} on ${server.url} ` +
      "(/validations, /mutations, /healthz, /readyz, /metrics)",
  );
  out.info("Stop with Ctrl-C (SIGINT) or SIGTERM");
  // Runs until a signal: the global --timeout does not apply.
  const stop = () => void server.close();
  ctx.signal.addEventListener("abort", stop, { once: true });
  Deno.addSignalListener("SIGTERM", stop);
  try {
    await server.finished;
  } finally {
    source?.stop();
    Deno.removeSignalListener("SIGTERM", stop);
    ctx.signal.removeEventListener("abort", stop);
    if (readyFile !== undefined) await Deno.remove(resolvePath(ctx, readyFile)).catch(() => {});
  }
};
