/**
 * Debian's real `docker-registry` (distribution 2.8) for tests: a temp config that listens on
 * 127.0.0.1 only, stores under a temp directory and allows deletes (DESIGN.md "Testing"; the
 * packaged config listens everywhere and enables auth, so it is never used), optionally over
 * TLS with client certificates required. Ready when `GET /v2/` answers (with TLS: when it
 * accepts connections), stopped and cleaned on dispose.
 *
 * @example
 * ```ts
 * await using registry = await startDockerRegistry();
 * await fetch(`${registry.url}/v2/`);
 * ```
 *
 * @module
 */

import { join } from "node:path";

/** A running docker-registry. */
export interface DockerRegistry extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** `http://127.0.0.1:PORT` (`https://` with `tls`). */
  readonly url: string;
  /** Its storage root. */
  readonly storage: string;
  /** What it printed so far (bounded), for failure messages. */
  log(): string;
}

/** TLS for the registry (distribution's `http.tls`). */
export interface DockerRegistryTls {
  /** The PEM certificate and key files it serves (`http.tls.certificate`, `http.tls.key`). */
  readonly certificate: string;
  readonly key: string;
  /** CA files whose client certificates it requires (`http.tls.clientcas`: mutual TLS). */
  readonly clientCas?: readonly string[];
}

/** Options of `startDockerRegistry`. */
export interface DockerRegistryOptions {
  /** Give up waiting for `GET /v2/` after this many milliseconds (default 15000). */
  readonly readyTimeoutMs?: number;
  /** Serve TLS (distribution's `http.tls`), optionally requiring client certificates. */
  readonly tls?: DockerRegistryTls;
}

const LOG_LIMIT = 64 * 1024;

/** Start `docker-registry serve CONFIG.yml` on a free loopback port. */
export async function startDockerRegistry(
  options: DockerRegistryOptions = {},
): Promise<DockerRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "dcosign-docker-registry-" });
  const storage = join(dir, "storage");
  await Deno.mkdir(storage);
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, "config.yml");
  // distribution "Configuring a registry": version 0.1, filesystem storage, delete enabled.
  await Deno.writeTextFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog:",
      "    disabled: true",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${storage}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
      ...(options.tls
        ? [
          "  tls:",
          `    certificate: ${options.tls.certificate}`,
          `    key: ${options.tls.key}`,
          ...(options.tls.clientCas?.length
            ? ["    clientcas:", ...options.tls.clientCas.map((ca) => `      - ${ca}`)]
            : []),
        ]
        : []),
      "",
    ].join("\n"),
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", config],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      if (output.length < LOG_LIMIT) output += decoder.decode(chunk, { stream: true });
    }
  };
  const draining = Promise.all([drain(child.stdout), drain(child.stderr)]);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await draining;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  let exited = false;
  child.status.then(() => exited = true);
  const scheme = options.tls ? "https" : "http";
  for (;;) {
    try {
      if (options.tls) {
        // Ready when it accepts connections: the probe holds no certificate to check or present.
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        conn.close();
        break;
      }
      const res = await fetch(`${scheme}://${host}/v2/`);
      await res.body?.cancel();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not become ready on ${host}: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host,
    url: `${scheme}://${host}`,
    storage,
    log: () => output,
    [Symbol.asyncDispose]: stop,
  };
}

/** A port that was free a moment ago (the registry binds it right after). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
