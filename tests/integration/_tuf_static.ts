/**
 * A static-file mirror for TUF tests: serves a directory on 127.0.0.1 (port 0), records every
 * request path, and lets a test answer chosen paths differently (attacks, missing files).
 *
 * @module
 */

/** A running mirror; `await using` closes it. */
export interface StaticMirror extends AsyncDisposable {
  /** Base URL, no trailing slash. */
  readonly url: string;
  /** Paths requested so far (`/1.root.json`, ...), in order. */
  readonly requests: string[];
  /** Answer a path (`/17.root.json`) with this instead of the file. */
  readonly overrides: Map<string, () => Response>;
}

/** Serve `dir` as a TUF mirror. */
export function serveStaticMirror(dir: string): StaticMirror {
  const requests: string[] = [];
  const overrides = new Map<string, () => Response>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    const override = overrides.get(path);
    if (override) return override();
    const name = decodeURIComponent(path).replace(/^\/+/, "");
    if (name.split("/").some((s) => s === ".." || s === "")) {
      return new Response("not found", { status: 404 });
    }
    try {
      return new Response(await Deno.readFile(`${dir}/${name}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    overrides,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
