/**
 * The admission webhook served over HTTPS (`Deno.serve` with a certificate and key), what
 * `dcosign admission serve` runs: the API server only calls webhooks over TLS. One process
 * serves both hooks and the probes; replicas share nothing (each caches its own verdicts).
 *
 * @module
 */

import type { AdmissionController } from "../../lib/admission/controller.ts";
import { type AdmissionApp, admissionRoutes } from "./routes.ts";

/** Options of {@link startAdmissionServer}. */
export interface AdmissionServerOptions {
  /** The decisions. */
  readonly controller: AdmissionController;
  /** PEM certificate chain (the server's first) and PKCS#8 key. */
  readonly tls: { readonly cert: string; readonly key: string };
  /** Interface to listen on (default `0.0.0.0`: the Service forwards to the pod). */
  readonly hostname?: string;
  /** Port (default 8443; 0 picks a free one). */
  readonly port?: number;
  /** Aborting closes the server. */
  readonly signal?: AbortSignal;
  /** Told about unexpected errors. */
  readonly onError?: (error: unknown) => void;
  /** Whether `/readyz` answers 200 (default: always). */
  readonly ready?: () => boolean;
}

/** A running webhook. */
export interface AdmissionServer extends AsyncDisposable {
  /** `https://host:port`. */
  readonly url: string;
  /** The address listened on. */
  readonly hostname: string;
  /** The port listened on (the one picked when 0 was asked for). */
  readonly port: number;
  /** The routes, and their metrics. */
  readonly app: AdmissionApp;
  /** Resolves once closed. */
  readonly finished: Promise<void>;
  /** Stop listening; in-flight reviews finish. Idempotent. */
  close(): Promise<void>;
}

/** The default HTTPS port of the webhook (the Deployment's containerPort). */
export const DEFAULT_ADMISSION_PORT = 8443;

/**
 * Serve the webhook over HTTPS.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AdmissionController } from "../../lib/admission/controller.ts";
 * import { RegistryClient } from "../../lib/oci/client.ts";
 * import { startAdmissionServer } from "./server.ts";
 * import { generateSelfSignedTls } from "./tls.ts";
 *
 * const tls = await generateSelfSignedTls();
 * const controller = new AdmissionController({ policies: [], client: new RegistryClient() });
 * await using server = await startAdmissionServer({ controller, tls, hostname: "127.0.0.1", port: 0 });
 * using client = Deno.createHttpClient({ caCerts: [tls.ca] });
 * const response = await fetch(`${server.url}/healthz`, { client });
 * assert.equal(await response.text(), "ok\n");
 * ```
 */
export function startAdmissionServer(options: AdmissionServerOptions): Promise<AdmissionServer> {
  const port = options.port ?? DEFAULT_ADMISSION_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Port must be an integer from 0 to 65535, got "${port}"`);
  }
  const app = admissionRoutes(options.controller, {
    ...(options.onError ? { onError: options.onError } : {}),
    ...(options.ready ? { ready: options.ready } : {}),
  });
  const server = Deno.serve({
    hostname: options.hostname ?? "0.0.0.0",
    port,
    cert: options.tls.cert,
    key: options.tls.key,
    onListen: () => {},
  }, app.fetch);
  const address = server.addr;
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= server.shutdown());
  options.signal?.addEventListener("abort", () => void close(), { once: true });
  return Promise.resolve({
    url: `https://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`,
    hostname: address.hostname,
    port: address.port,
    app,
    finished: server.finished,
    close,
    [Symbol.asyncDispose]: close,
  });
}
