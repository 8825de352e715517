/**
 * The embedded Sigstore stack behind `dcosign serve`: one Hono app with every service on its own
 * path prefix, served on one port, state under one data directory (memory without one).
 *
 * Today it carries the OCI registry (`/v2/...`). Rekor (`/api/v1/log/...`), Fulcio
 * (`/api/v2/...`), the OIDC issuer and the TSA mount in `createStackApp` and open their state in
 * `openStackServices` (the seams are marked), and add their keys to the ready file.
 *
 * @example
 * ```ts
 * import { startStack } from "./mod.ts";
 * await using stack = await startStack({ port: 0 });
 * console.log(stack.registryHost); // "127.0.0.1:40123"
 * ```
 *
 * @module
 */

import { join } from "node:path";
import { Hono } from "./_deps.ts";
import { type BasicCredentials, registryRoutes } from "./registry.ts";
import { RegistryStore } from "./registry_store.ts";

export { type BasicCredentials, registryRoutes, type RegistryRoutesOptions } from "./registry.ts";
export type { Bytes } from "../lib/_bytes.ts";
export { CosignError, type ErrorArea, type ErrorCode } from "../lib/errors.ts";
export * from "./registry_store.ts";

/**
 * The ready file (`--ready-file`), written once the stack listens. Keys other than `registry`
 * appear as their services land (DESIGN.md "The embedded stack").
 */
export interface ReadyInfo {
  /** The registry as `host:port` (what image references start with). */
  readonly registry: string;
  /** Rekor base URL. */
  readonly rekor?: string;
  /** Fulcio base URL. */
  readonly fulcio?: string;
  /** Timestamp authority base URL. */
  readonly tsa?: string;
  /** OIDC issuer URL. */
  readonly oidcIssuer?: string;
  /** Path of the trusted_root.json the stack wrote. */
  readonly trustedRoot?: string;
  /** Path of the signing_config.json the stack wrote. */
  readonly signingConfig?: string;
  /** An identity token valid for one hour. */
  readonly idToken?: string;
  /** The identity (subject) of `idToken`. */
  readonly identity?: string;
  /** The issuer of `idToken`. */
  readonly issuer?: string;
}

/** Options of `openStackServices`. */
export interface StackServicesOptions {
  /** State directory; each service keeps a subdirectory. Memory when omitted. */
  readonly dataDir?: string;
  /** Largest blob the registry accepts, in bytes. */
  readonly maxBlobSize?: number;
  /** Most concurrent registry upload sessions. */
  readonly maxUploadSessions?: number;
}

/** The stateful services of the stack. */
export interface StackServices extends AsyncDisposable {
  /** The OCI registry's state. */
  readonly registry: RegistryStore;
  // Seam: `log: TransparencyLog` (server/rekor.ts), the Fulcio CA, the OIDC issuer, the TSA.
  /** Close every service. Idempotent. */
  close(): Promise<void>;
}

/** Options of `createStackApp`. */
export interface StackAppOptions {
  /** Require HTTP Basic credentials on the registry. */
  readonly registryAuth?: BasicCredentials;
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
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
  /** The composed app, also usable in-process. */
  readonly app: Hono;
  /** The services' state. */
  readonly services: StackServices;
  /** Resolves once the stack is closed. */
  readonly finished: Promise<void>;
  /** Stop listening (in-flight requests finish), then close the services. Idempotent. */
  close(): Promise<void>;
}

/** Open the state of every service, under `dataDir` or in memory. */
export async function openStackServices(
  options: StackServicesOptions = {},
): Promise<StackServices> {
  const registry = await RegistryStore.open({
    ...(options.dataDir === undefined ? {} : { directory: join(options.dataDir, "registry") }),
    ...(options.maxBlobSize === undefined ? {} : { maxBlobSize: options.maxBlobSize }),
    ...(options.maxUploadSessions === undefined
      ? {}
      : { maxUploadSessions: options.maxUploadSessions }),
  });
  // Seam: open the transparency log, CA, token issuer and TSA here, closing `registry` if one
  // of them fails.
  let closing: Promise<void> | undefined;
  const close = () => closing ??= registry.close();
  return { registry, close, [Symbol.asyncDispose]: close };
}

/**
 * The stack as one Hono app, each service on its path prefix. Tests pass
 * `(input, init) => app.fetch(new Request(input, init))` as the `fetch` of library clients.
 */
export function createStackApp(services: StackServices, options: StackAppOptions = {}): Hono {
  const app = new Hono();
  app.route(
    "/",
    registryRoutes(services.registry, {
      ...(options.registryAuth === undefined ? {} : { auth: options.registryAuth }),
      ...(options.onError === undefined ? {} : { onError: options.onError }),
    }),
  );
  // Seam: app.route("/", rekorRoutes(services.log)); fulcio, oidc and tsaRoutes(services.tsa).
  return app;
}

/**
 * Open the services, serve them on `host:port` (port 0 picks a free port) and, once listening,
 * write the ready file atomically. Close with `close()`, `await using`, or `signal`.
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
  const ready: ReadyInfo = { registry: registryHost };

  let closing: Promise<void> | undefined;
  let markFinished = () => {};
  const finished = new Promise<void>((resolve) => markFinished = resolve);
  const close = () =>
    closing ??= (async () => {
      options.signal?.removeEventListener("abort", onAbort);
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

  try {
    if (options.readyFile !== undefined) await writeReadyFile(options.readyFile, ready);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    url: `http://${registryHost}`,
    registryHost,
    hostname: address.hostname,
    port: address.port,
    ready,
    app,
    services,
    finished,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * Run the stack until SIGINT or SIGTERM (or `options.signal`), then close it cleanly. This is
 * `dcosign serve`; the CLI prints and exits, this only serves.
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

/** Write the ready file atomically: a temp file in the same directory, fsync, rename. */
export async function writeReadyFile(path: string, info: ReadyInfo): Promise<void> {
  const temp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    const file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    try {
      await file.write(new TextEncoder().encode(`${JSON.stringify(info, null, 2)}\n`));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await removeIfPresent(temp);
    throw error;
  }
}

/** The host clients should dial: wildcard listens are reached on loopback; IPv6 in brackets. */
function connectHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
