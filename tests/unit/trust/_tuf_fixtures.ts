/**
 * A TUF repository (server/tuf) served in-process through its Hono routes, a controllable
 * clock, a request log and per-path interceptors, and clients pointed at it. The attack, cache
 * and repository tests build on it.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { TufClient, type TufClientOptions } from "../../../lib/trust/tuf/client.ts";
import { TufRepository, type TufRepositoryOptions } from "../../../server/tuf/repository.ts";
import { tufRoutes } from "../../../server/tuf/routes.ts";

/** Where the fixture's repository is "served". */
export const MIRROR = "http://tuf.test/tuf";

/** The default start of the fixture's clock. */
export const T0 = new Date("2030-01-01T00:00:00Z");

export const TRUSTED_ROOT = new TextEncoder().encode('{"mediaType":"trusted-root-v1"}\n');
export const SIGNING_CONFIG = new TextEncoder().encode('{"mediaType":"signing-config"}\n');

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A repository, its clock, and the fetch clients use. */
export interface TufFixture {
  readonly repo: TufRepository;
  /** Request paths (`/tuf/2.root.json`) in order. */
  readonly requests: string[];
  /** Answer a path (`/tuf/timestamp.json`) with this instead of the routes. */
  readonly intercept: Map<string, () => Response | Promise<Response>>;
  readonly fetch: typeof fetch;
  /** Move the shared clock. */
  setNow(date: Date): void;
  now(): Date;
  /** A client of this repository, bootstrapped from its 1.root.json. */
  client(options?: TufClientOptions): TufClient;
}

/** A repository with `trusted_root.json` and `signing_config.v0.2.json` published. */
export async function tufFixture(options: TufRepositoryOptions = {}): Promise<TufFixture> {
  let clock = T0;
  const now = () => clock;
  const repo = await TufRepository.create({ now, ...options });
  await repo.setTargets({
    "trusted_root.json": TRUSTED_ROOT,
    "signing_config.v0.2.json": SIGNING_CONFIG,
  });
  const app = tufRoutes(repo);
  const requests: string[] = [];
  const intercept = new Map<string, () => Response | Promise<Response>>();
  const fetchImpl = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    requests.push(url.pathname);
    const override = intercept.get(url.pathname);
    if (override) return await override();
    return await app.request(url.href, init);
  };
  return {
    repo,
    requests,
    intercept,
    fetch: fetchImpl as typeof fetch,
    setNow(date) {
      clock = date;
    },
    now,
    client(clientOptions = {}) {
      return new TufClient({
        mirror: MIRROR,
        rootBytes: repo.rootBytes(1),
        // In memory unless the test gives a directory or an environment to find one in.
        ...(clientOptions.env ? {} : { cacheDir: null }),
        fetch: fetchImpl as typeof fetch,
        now,
        ...clientOptions,
      });
    },
  };
}

/** Every file under `dir` (relative path -> sha256), to compare cache states. */
export async function listFiles(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(path: string, prefix: string) {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(full, `${prefix}${entry.name}/`);
      else out.set(`${prefix}${entry.name}`, sha256(await Deno.readFile(full)));
    }
  }
  try {
    await walk(dir, "");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out;
}

/** A body that never ends (counts the bytes it handed out). */
export function endlessBody(counter: { bytes: number }): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  return new ReadableStream({
    pull(controller) {
      counter.bytes += chunk.length;
      controller.enqueue(chunk);
    },
  });
}
