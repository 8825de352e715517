/**
 * The TLS side of the registry flags (cosign's `options/registry.go` `getTLSConfig`): the fetch
 * a `RegistryClient` uses when `--registry-cacert`, `--registry-client-cert`/`--registry-client-key`,
 * `--registry-server-name` or `--allow-insecure-registry` is given.
 *
 * Deno's fetch takes extra CA certificates and a client certificate through
 * `Deno.createHttpClient({caCerts, cert, key})`, which serves the first two flags. It has no
 * per-client way to verify the certificate for another name or not at all:
 * `--unsafely-ignore-certificate-errors` is a process flag, and a `tcp` proxy transport speaks
 * plain HTTP to its socket. Deno's `node:https` does both, per request (`servername`,
 * `rejectUnauthorized: false`), so requests that need either go through it instead; plain HTTP
 * requests always use the context's fetch. The CA certificates are added to the system's (Go's
 * `RootCAs` replaces them).
 *
 * @module
 */

import { request as httpsRequest } from "node:https";
import type { IncomingMessage } from "node:http";
import { fromUtf8 } from "../../lib/util/bytes.ts";
import { decodePemBlocks } from "../../lib/util/pem.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import type { CommandInput } from "../spec.ts";
import { loggingFetch } from "../http_log.ts";

/** The TLS settings the flags give. */
export interface RegistryTlsSettings {
  /** PEM CA certificates trusted besides the system's (`--registry-cacert`). */
  readonly caCertificates?: readonly string[];
  /** A PEM client certificate (chain) and its key, for mutual TLS. */
  readonly client?: { readonly cert: string; readonly key: string };
  /** Verify the server's certificate for this name, not the URL's host; also sent as SNI. */
  readonly serverName?: string;
  /** Do not verify the server's certificate (`--allow-insecure-registry`). */
  readonly skipVerify?: boolean;
}

/** Largest PEM file read for these flags. */
const MAX_PEM_BYTES = 1 << 20;

/** Whether any TLS flag is given (the registry client then tries HTTPS first, even for localhost). */
export function hasTlsFlags(input: CommandInput): boolean {
  const { flags } = input;
  return ["registry-cacert", "registry-client-cert", "registry-client-key", "registry-server-name"]
    .some((name) => flags.declares(name) && flags.string(name) !== undefined);
}

async function readPem(input: CommandInput, flag: string, type: RegExp): Promise<string> {
  const path = input.flags.string(flag)!;
  const text = fromUtf8(
    await input.ctx.readFile(path, { maxBytes: MAX_PEM_BYTES, what: `--${flag}` }),
  );
  let blocks;
  try {
    blocks = decodePemBlocks(text);
  } catch (cause) {
    throw new CosignError(
      "CLI_USAGE",
      `Invalid PEM in --${flag} "${path}": ${errorMessage(cause)}`,
      {
        cause,
      },
    );
  }
  if (!blocks.some((b) => type.test(b.type))) {
    throw new CosignError("CLI_USAGE", `No valid PEM block in --${flag} "${path}"`);
  }
  return text;
}

/** Read the PEM files the TLS flags name. */
export async function readTlsSettings(input: CommandInput): Promise<RegistryTlsSettings> {
  const { flags } = input;
  const declared = (name: string) => flags.declares(name) ? flags.string(name) : undefined;
  const caPath = declared("registry-cacert");
  const certPath = declared("registry-client-cert");
  const keyPath = declared("registry-client-key");
  const serverName = declared("registry-server-name");
  const ca = caPath === undefined
    ? undefined
    : await readPem(input, "registry-cacert", /^CERTIFICATE$/);
  const cert = certPath === undefined
    ? undefined
    : await readPem(input, "registry-client-cert", /^CERTIFICATE$/);
  const key = keyPath === undefined
    ? undefined
    : await readPem(input, "registry-client-key", /PRIVATE KEY$/);
  return {
    ...(ca !== undefined ? { caCertificates: [ca] } : {}),
    ...(cert !== undefined && key !== undefined ? { client: { cert, key } } : {}),
    ...(serverName !== undefined && serverName !== "" ? { serverName } : {}),
    ...(flags.boolean("allow-insecure-registry") ? { skipVerify: true } : {}),
  };
}

/** Check the TLS flags that go together (before any file is read or request made). */
export function checkTlsFlags(input: CommandInput): void {
  const { flags } = input;
  const cert = flags.declares("registry-client-cert") && flags.has("registry-client-cert");
  const key = flags.declares("registry-client-key") && flags.has("registry-client-key");
  if (cert !== key) {
    throw new CosignError(
      "CLI_USAGE",
      "Pass --registry-client-cert and --registry-client-key together (mutual TLS needs both)",
    );
  }
}

/** A fetch with TLS settings, and how to release what it holds. */
export interface TlsFetch {
  readonly fetch: typeof fetch;
  /** Close the HTTP client it made (if any). */
  close(): void;
}

/**
 * A fetch applying `settings` to `https:` requests: `Deno.createHttpClient` for extra CAs and a
 * client certificate, `node:https` when the server name is overridden or verification skipped;
 * plain HTTP goes to `base`. `log` wraps what goes through `node:https` (for `--verbose`).
 */
export function createTlsFetch(
  settings: RegistryTlsSettings,
  base: typeof fetch,
  log: (fetcher: typeof fetch) => typeof fetch = (fetcher) => fetcher,
): TlsFetch {
  if (settings.serverName !== undefined || settings.skipVerify) {
    const viaNode = log(nodeHttpsFetch(settings));
    return {
      fetch: (request, init) =>
        new URL(request instanceof Request ? request.url : String(request)).protocol === "https:"
          ? viaNode(request, init)
          : base(request, init),
      close() {},
    };
  }
  let client: Deno.HttpClient;
  try {
    client = Deno.createHttpClient({
      ...(settings.caCertificates ? { caCerts: [...settings.caCertificates] } : {}),
      ...(settings.client ?? {}),
    });
  } catch (cause) {
    throw new CosignError(
      "CLI_USAGE",
      `Cannot use the registry TLS settings (--registry-cacert, --registry-client-cert, --registry-client-key): ${
        errorMessage(cause)
      }`,
      { cause },
    );
  }
  return {
    fetch: (request, init) => base(request, { ...init, client }),
    close: () => client.close(),
  };
}

/**
 * A fetch for registry requests with the flags' TLS settings, reading the files on first use;
 * what it holds is released through `defer` when the command ends.
 */
export function registryTlsFetch(input: CommandInput): typeof fetch {
  let ready: Promise<typeof fetch> | undefined;
  const build = async (): Promise<typeof fetch> => {
    const made = createTlsFetch(
      await readTlsSettings(input),
      input.ctx.fetch,
      (fetcher) => input.out.verbose ? loggingFetch(fetcher, input.out) : fetcher,
    );
    input.defer(() => made.close());
    return made.fetch;
  };
  return async (request, init) => {
    ready ??= build();
    return (await ready)(request, init);
  };
}

/** The node `https` options of the settings. */
function nodeOptions(settings: RegistryTlsSettings) {
  return {
    ...(settings.caCertificates ? { ca: [...settings.caCertificates] } : {}),
    ...(settings.client ? { cert: settings.client.cert, key: settings.client.key } : {}),
    ...(settings.serverName !== undefined ? { servername: settings.serverName } : {}),
    rejectUnauthorized: !settings.skipVerify,
    // A connection per request, closed when the answer is read: nothing outlives the command.
    agent: false as const,
  };
}

/**
 * A fetch over `node:https` (for `https:` URLs) with the settings applied. Redirects are never
 * followed (the registry transport asks `redirect: "manual"` and follows them itself); the
 * answer body streams as it is read.
 */
function nodeHttpsFetch(settings: RegistryTlsSettings): typeof fetch {
  const tls = nodeOptions(settings);
  return async (input, init) => {
    const request = new Request(input, init);
    const body = request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => headers[name] = value);
    if (body !== undefined) headers["content-length"] = String(body.length);
    const signal = init?.signal ?? undefined;
    signal?.throwIfAborted();
    return await new Promise<Response>((resolve, reject) => {
      const outgoing = httpsRequest(request.url, {
        method: request.method,
        headers,
        ...tls,
      }, (incoming: IncomingMessage) => resolve(toResponse(incoming, request.method)));
      outgoing.on(
        "error",
        (error: Error) => reject(new TypeError("fetch failed", { cause: error })),
      );
      signal?.addEventListener("abort", () => outgoing.destroy(signal.reason), { once: true });
      if (body !== undefined) outgoing.end(body);
      else outgoing.end();
    });
  };
}

function toResponse(incoming: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, String(item));
  }
  const status = incoming.statusCode ?? 502;
  if (method === "HEAD" || status === 204 || status === 304) {
    incoming.resume();
    return new Response(null, { status, statusText: incoming.statusMessage ?? "", headers });
  }
  const chunks = incoming[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await chunks.next();
        if (done) controller.close();
        else controller.enqueue(new Uint8Array(value as Uint8Array));
      } catch (error) {
        controller.error(error);
      }
    },
    cancel() {
      incoming.destroy();
    },
  });
  return new Response(body, { status, statusText: incoming.statusMessage ?? "", headers });
}
