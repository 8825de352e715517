/**
 * The stack composed and served: one Hono app with every service on its own path prefix
 * (`createStackApp`), listening on one port (`startStack`), until a signal stops it
 * (`serveStack`, what `dcosign serve` runs). Once listening it knows its URL, so it names itself:
 * the trust files and the ready file (`files.ts`) are written then, and its TUF repository
 * (`/tuf/`) publishes the trusted root and signing config, re-signed before they expire.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { Hono } from "../_deps.ts";
import { fulcioRoutes } from "../fulcio/routes.ts";
import { oidcRoutes } from "../oidc/routes.ts";
import { identityName } from "../oidc/identities.ts";
import { type BasicCredentials, registryRoutes } from "../registry/routes.ts";
import { rekorRoutes } from "../rekor/routes.ts";
import { REKOR_V2_PREFIX, rekorV2Routes } from "../rekor_v2/routes.ts";
import { removeIfPresent } from "../_files.ts";
import { writeFileAtomically } from "../_files.ts";
import { type ReadyInfo, trustFileTexts, writeReadyFile, writeTrustFiles } from "./files.ts";
import {
  bindStack,
  openStackServices,
  rotateTimestampAuthority,
  type StackServices,
  type StackServicesOptions,
  type StackTrust,
} from "./services.ts";
import { tsaRoutes } from "../tsa/routes.ts";
import type { TufRepository } from "../tuf/repository.ts";
import { tufRoutes } from "../tuf/routes.ts";
import { SIGNING_CONFIG_TARGET, TRUSTED_ROOT_TARGET } from "../../lib/trust/tuf/client.ts";

/** Options of `createStackApp`. */
export interface StackAppOptions {
  /** Require HTTP Basic credentials on the registry. */
  readonly registryAuth?: BasicCredentials;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The composed stack as a request handler: the Hono app `createStackApp` builds, narrowed to the
 * two calls callers make, so the public type does not depend on Hono's generics.
 */
export interface StackApp {
  /** Answer one request; a `Deno.serve` handler, safe to pass unbound. */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** Answer a request given as a URL (or path) and init, in-process. */
  readonly request: (
    input: RequestInfo | URL,
    init?: RequestInit,
  ) => Response | Promise<Response>;
}

/** Options of `startStack`. */
export interface StackOptions extends StackServicesOptions, StackAppOptions {
  /** Interface to listen on (default `127.0.0.1`). */
  readonly host?: string;
  /** Port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Write the ready file here (atomically) once listening; removed again on close. */
  readonly readyFile?: string;
  /** Aborting closes the stack. */
  readonly signal?: AbortSignal;
  /**
   * How often the TUF repository re-signs what is due (default one hour; the timestamp lives a
   * day and is re-signed past half its life, also whenever a client asks for it).
   */
  readonly tufRefreshIntervalMs?: number;
}

/** A running stack. */
export interface Stack extends AsyncDisposable {
  /** Base URL, `http://host:port`. */
  readonly url: string;
  /** The registry as `host:port`. */
  readonly registryHost: string;
  /** The address listened on. */
  readonly hostname: string;
  /** The port listened on (the one picked when 0 was asked for). */
  readonly port: number;
  /** What the ready file says. */
  readonly ready: ReadyInfo;
  /** The trusted root and signing config naming this stack's services (current after a rotation). */
  readonly trust: StackTrust;
  /** The composed app, also usable in-process. */
  readonly app: StackApp;
  /** The services' state. */
  readonly services: StackServices;
  /** Resolves once the stack is closed. */
  readonly finished: Promise<void>;
  /** Stop listening (in-flight requests finish), then close the services. Idempotent. */
  close(): Promise<void>;
  /**
   * Rotate the stack's trusted root, as a Sigstore deployment rotates a key: the TSA signs with
   * a new key and chain from now on (the old chain stays trusted for what it signed before),
   * the TUF root rotates to new keys for every role, and TUF publishes the new
   * `trusted_root.json` (the trust files are rewritten too). TUF clients pick it up at their
   * next update; an offline cache keeps the old one until its metadata expires. Returns the
   * new trust material.
   */
  rotateTrustedRoot(): Promise<StackTrust>;
}

/**
 * Publish the trust material as the TUF targets `trusted_root.json` and
 * `signing_config.v0.2.json`, unless the repository already serves exactly these bytes (a
 * restart on the same URL publishes nothing new).
 */
async function publishTrust(repository: TufRepository, trust: StackTrust): Promise<void> {
  const texts = trustFileTexts(trust);
  const files: Record<string, Uint8Array> = {
    [TRUSTED_ROOT_TARGET]: new TextEncoder().encode(texts.trustedRoot),
    [SIGNING_CONFIG_TARGET]: new TextEncoder().encode(texts.signingConfig),
  };
  const published = repository.signedJson("targets").targets;
  const listed = typeof published === "object" && published !== null
    ? published as Record<string, { hashes?: { sha256?: unknown } }>
    : {};
  let same = Object.keys(listed).length === Object.keys(files).length;
  for (const [name, bytes] of Object.entries(files)) {
    const sha256 = new Uint8Array(await crypto.subtle.digest("SHA-256", Uint8Array.from(bytes)))
      .toHex();
    if (listed[name]?.hashes?.sha256 !== sha256) same = false;
  }
  if (!same) await repository.setTargets(files);
}

/**
 * The stack as one Hono app, each service on its path prefix. Tests pass
 * `(input, init) => app.fetch(new Request(input, init))` as the `fetch` of library clients.
 *
 * @example The whole stack in-process: no port, no socket
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   generateKeyPair,
 *   serializeBundle,
 *   signBlob,
 *   transparencyLogWitness,
 *   verifyBlob,
 * } from "@dcosign/dcosign";
 * import { bindStack, createStackApp, openStackServices } from "@dcosign/dcosign/server";
 *
 * await using services = await openStackServices();
 * const app = createStackApp(services);
 * const base = "http://sigstore.test"; // any name: requests never leave the process
 * const trust = bindStack(services, base);
 * const fetch = async (input: RequestInfo | URL, init?: RequestInit) =>
 *   await app.fetch(new Request(input, init));
 *
 * const key = await generateKeyPair();
 * const blob = { kind: "bytes", bytes: new TextEncoder().encode("release v1.0") } as const;
 * const signed = await signBlob(blob, {
 *   identity: { signer: key },
 *   services: { log: transparencyLogWitness(base, { fetch }) },
 * });
 * await verifyBlob(
 *   { bundle: new TextEncoder().encode(serializeBundle(signed.bundle)) },
 *   blob,
 *   { key: key.publicKey, trustedRoot: trust.trustedRoot },
 * );
 * assert.equal(services.log.size, 1n);
 * ```
 */
export function createStackApp(services: StackServices, options: StackAppOptions = {}): StackApp {
  const app = new Hono();
  app.route(
    "/",
    registryRoutes(services.registry, {
      ...(options.registryAuth === undefined ? {} : { auth: options.registryAuth }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    }),
  );
  const onError = options.onError === undefined ? {} : { onError: options.onError };
  app.route("/", rekorRoutes(services.log, onError));
  app.route("/", rekorV2Routes(services.rekorV2, onError));
  app.route("/", fulcioRoutes(services.ca, { issuers: [services.oidc], ...onError }));
  app.route("/", oidcRoutes(services.oidc, onError));
  app.route("/", tsaRoutes(services.tsa));
  app.route("/", tufRoutes(services.tuf, onError));
  return app;
}

/**
 * Open the services, serve them on `host:port` (port 0 picks a free port) and, once listening,
 * write the ready file atomically. Close with `close()`, `await using`, or `signal`.
 *
 * @example A ready file for other processes, and closing through a signal
 * ```ts
 * import assert from "node:assert/strict";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * const dir = await Deno.makeTempDir();
 * const controller = new AbortController();
 * const stack = await startStack({ readyFile: `${dir}/ready.json`, signal: controller.signal });
 * const ready = JSON.parse(await Deno.readTextFile(`${dir}/ready.json`));
 * assert.equal(ready.rekor, stack.url); // also fulcio, tsa, oidcIssuer, idToken, trustedRoot...
 *
 * const response = await fetch(`${stack.url}/v2/`); // the OCI registry answers
 * await response.body?.cancel();
 * assert.equal(response.status, 200);
 *
 * controller.abort();
 * await stack.finished; // closed; the ready file is gone
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const hostname = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Port must be an integer from 0 to 65535, got "${port}"`);
  }
  options.signal?.throwIfAborted();
  // A stale ready file from an earlier run must not be mistaken for this one.
  if (options.readyFile !== undefined) await removeIfPresent(options.readyFile);
  const services = await openStackServices(options);
  let server: Deno.HttpServer<Deno.NetAddr>;
  const app = createStackApp(services, {
    ...options,
    onError: options.onError ?? ((error) => console.error("dcosign serve: internal error:", error)),
  });
  try {
    server = Deno.serve({ hostname, port, onListen: () => {} }, app.fetch);
  } catch (error) {
    await services.close();
    throw error;
  }
  const address = server.addr;
  const host = connectHost(address.hostname);
  const registryHost = `${host}:${address.port}`;
  const url = `http://${registryHost}`;
  let trust = bindStack(services, url);
  // The trust files go beside the state, or beside the ready file; nowhere without either.
  const filesDir = options.dataDir ??
    (options.readyFile !== undefined ? dirname(options.readyFile) : undefined);
  const ready: ReadyInfo = {
    registry: registryHost,
    rekor: url,
    rekorV2: `${url}${REKOR_V2_PREFIX}`,
    fulcio: url,
    tsa: `${url}/api/v1/timestamp`,
    oidcIssuer: url,
    ...(filesDir !== undefined
      ? {
        trustedRoot: join(filesDir, "trusted_root.json"),
        signingConfig: join(filesDir, "signing_config.json"),
        signingConfigRekorV2: join(filesDir, "signing_config_rekor_v2.json"),
      }
      : {}),
    tufMirror: `${url}/tuf`,
    ...(filesDir !== undefined ? { tufRoot: join(filesDir, "1.root.json") } : {}),
    idToken: await services.oidc.mintToken(),
    identity: identityName(services.oidc.defaultIdentity),
    issuer: url,
    pid: Deno.pid,
  };

  const onError = options.onError ??
    ((error: unknown) => console.error("dcosign serve: internal error:", error));
  // Re-sign TUF metadata before it expires even when no client asks for the timestamp.
  const refresher = setInterval(() => {
    services.tuf.refreshExpiring().catch(onError);
  }, options.tufRefreshIntervalMs ?? 60 * 60 * 1000);
  let closing: Promise<void> | undefined;
  let markFinished = () => {};
  const finished = new Promise<void>((resolve) => markFinished = resolve);
  const close = () =>
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
      clearInterval(refresher);
      try {
        await server.shutdown();
      } finally {
        await services.close();
        if (options.readyFile !== undefined) await removeIfPresent(options.readyFile);
        markFinished();
      }
    })();
  const onAbort = () => void close();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const writeTrust = async () => {
    if (ready.trustedRoot !== undefined && ready.signingConfig !== undefined) {
      await writeTrustFiles({
        trustedRoot: ready.trustedRoot,
        signingConfig: ready.signingConfig,
        ...(ready.signingConfigRekorV2 ? { signingConfigRekorV2: ready.signingConfigRekorV2 } : {}),
      }, trust);
    }
    await publishTrust(services.tuf, trust);
  };
  try {
    await writeTrust();
    if (ready.tufRoot !== undefined) {
      await writeFileAtomically(ready.tufRoot, new TextDecoder().decode(services.tuf.rootBytes(1)));
    }
    if (options.readyFile !== undefined) await writeReadyFile(options.readyFile, ready);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url,
    registryHost,
    hostname: address.hostname,
    port: address.port,
    ready,
    get trust() {
      return trust;
    },
    app,
    services,
    finished,
    close,
    async rotateTrustedRoot() {
      await rotateTimestampAuthority(services);
      await services.tuf.rotateRoot({ rotate: ["root", "timestamp", "snapshot", "targets"] });
      trust = bindStack(services, url);
      await writeTrust();
      return trust;
    },
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Run the stack until SIGINT or SIGTERM (or `options.signal`), then close it cleanly. This is
 * `dcosign serve`; the CLI prints and exits, this only serves.
 *
 * @example Serve until stopped; other processes wait for the ready file
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveStack } from "@dcosign/dcosign/server";
 *
 * const dir = await Deno.makeTempDir();
 * const readyFile = `${dir}/ready.json`;
 * const controller = new AbortController();
 * // `dcosign serve --port 8080 --data-dir DIR` is serveStack({ port: 8080, dataDir: DIR }).
 * const serving = serveStack({ readyFile, signal: controller.signal });
 * while (!(await Deno.stat(readyFile).then(() => true, () => false))) {
 *   await new Promise((resolve) => setTimeout(resolve, 10));
 * }
 * const ready = JSON.parse(await Deno.readTextFile(readyFile));
 * const response = await fetch(`http://${ready.registry}/v2/`);
 * await response.body?.cancel();
 * assert.equal(response.status, 200);
 *
 * controller.abort(); // as SIGINT or SIGTERM would
 * await serving;
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function serveStack(options: StackOptions = {}): Promise<void> {
  const stack = await startStack(options);
  const stop = () => void stack.close();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    await stack.finished;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}

/** The host clients should dial: wildcard listens are reached on loopback; IPv6 in brackets. */
function connectHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
