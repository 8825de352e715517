/**
 * What each registry said about the OCI referrers API (distribution spec v1.1): a registry that
 * has it answers `GET /v2/<name>/referrers/<digest>` with an image index, one that has not
 * answers 404 (or 400/405/406), and then the fallback tag `sha256-<hex>` is read instead. The
 * answer does not depend on the image, so it is remembered per registry host and the API is
 * not asked again for every image: saving one request per image on registries without it.
 *
 * `ReferrersSupport` keeps the answers in memory (each `RegistryClient` has one unless given
 * one to share), optionally backed by a small JSON file with a time to live, so a new process
 * starts with what the last one learned. Loopback registries (`localhost`, `127.*`, `[::1]`)
 * are remembered in memory only: they are development and test servers that come and go on
 * reused ports, and a stale "no API" would hide referrers stored through the API. The file is bounded (at most `MAX_HOSTS`
 * hosts, `MAX_FILE_BYTES` read), written atomically (a temporary file renamed over it), and
 * every file error is ignored: an unreadable, corrupt or unwritable cache only costs the probe.
 *
 * @module
 */

/** Most registries remembered. */
export const MAX_HOSTS = 256;

/** Largest cache file read. */
export const MAX_FILE_BYTES = 64 * 1024;

/** How long a remembered answer holds (default 24 hours). */
export const DEFAULT_TTL_MS = 24 * 3600 * 1000;

/** The cache file's name inside its directory. */
export const CACHE_FILE = "referrers-api.json";

interface Known {
  readonly supported: boolean;
  /** Epoch milliseconds when it was learned. */
  readonly at: number;
}

/** Options of `ReferrersSupport`. */
export interface ReferrersSupportOptions {
  /** Directory of the cache file (created when needed); memory only when absent. */
  readonly dir?: string;
  /** Time to live of an answer (default `DEFAULT_TTL_MS`). */
  readonly ttlMs?: number;
  /** Clock (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * Per-registry memory of the referrers API answer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReferrersSupport } from "@dcosign/dcosign";
 *
 * const support = new ReferrersSupport();
 * assert.equal(support.get("registry.example"), undefined); // unknown: ask the API
 * support.set("registry.example", false); // it answered 404
 * assert.equal(support.get("registry.example"), false); // go to the fallback tag directly
 * ```
 */
export class ReferrersSupport {
  readonly #known = new Map<string, Known>();
  readonly #dir: string | undefined;
  readonly #ttl: number;
  readonly #now: () => number;
  #loaded = false;

  /** A memory (and, with `dir`, file-backed) store. */
  constructor(options: ReferrersSupportOptions = {}) {
    this.#dir = options.dir;
    this.#ttl = options.ttlMs ?? DEFAULT_TTL_MS;
    this.#now = options.now ?? Date.now;
    if (!(this.#ttl >= 0)) throw new RangeError("ttlMs must not be negative");
  }

  /** Whether `host` has the referrers API, if known and not older than the time to live. */
  get(host: string): boolean | undefined {
    this.#load();
    const known = this.#known.get(host.toLowerCase());
    if (!known) return undefined;
    const age = this.#now() - known.at;
    return age >= 0 && age <= this.#ttl ? known.supported : undefined;
  }

  /** Remember what `host` answered (and write the file when the answer is new). */
  set(host: string, supported: boolean): void {
    this.#load();
    const key = host.toLowerCase();
    const before = this.#known.get(key);
    if (before?.supported === supported && this.#now() - before.at < this.#ttl / 2) return;
    this.#known.delete(key);
    this.#known.set(key, { supported, at: this.#now() });
    while (this.#known.size > MAX_HOSTS) this.#known.delete(this.#known.keys().next().value!);
    if (!isLoopback(key)) this.#save();
  }

  #path(): string | undefined {
    return this.#dir === undefined ? undefined : `${this.#dir}/${CACHE_FILE}`;
  }

  /** Read the file once, keeping only well-formed entries (anything else is ignored). */
  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    const path = this.#path();
    if (path === undefined) return;
    let parsed: unknown;
    try {
      using file = Deno.openSync(path, { read: true });
      const buffer = new Uint8Array(MAX_FILE_BYTES + 1);
      let length = 0;
      for (;;) {
        const n = file.readSync(buffer.subarray(length));
        if (n === null || n === 0) break;
        length += n;
        if (length > MAX_FILE_BYTES) return; // not ours, or corrupt: start empty
      }
      parsed = JSON.parse(new TextDecoder().decode(buffer.subarray(0, length)));
    } catch {
      return; // absent, unreadable or not JSON
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return;
    const hosts = (parsed as Record<string, unknown>).hosts;
    if (typeof hosts !== "object" || hosts === null || Array.isArray(hosts)) return;
    for (const [host, value] of Object.entries(hosts).slice(0, MAX_HOSTS)) {
      if (typeof value !== "object" || value === null) continue;
      const { supported, at } = value as Record<string, unknown>;
      const fine = typeof supported === "boolean" && typeof at === "number" && Number.isFinite(at);
      if (fine && !isLoopback(host)) {
        this.#known.set(host.toLowerCase(), { supported, at });
      }
    }
  }

  /** Write the whole map atomically; failures (read-only home, full disk) are ignored. */
  #save(): void {
    const path = this.#path();
    if (path === undefined) return;
    const temporary = `${path}.${crypto.randomUUID()}.tmp`;
    try {
      Deno.mkdirSync(this.#dir!, { recursive: true });
      const hosts = Object.fromEntries([...this.#known].filter(([host]) => !isLoopback(host)));
      Deno.writeTextFileSync(temporary, `${JSON.stringify({ hosts })}\n`, { mode: 0o600 });
      Deno.renameSync(temporary, path);
    } catch {
      try {
        Deno.removeSync(temporary);
      } catch {
        // nothing was written
      }
    }
  }
}

/**
 * The cache directory of dcosign: `$XDG_CACHE_HOME/dcosign`, else `$HOME/.cache/dcosign`.
 *
 * @example Remember referrers API answers across runs, as the CLI does
 * ```ts
 * import { defaultCacheDir, ReferrersSupport, RegistryClient } from "@dcosign/dcosign";
 *
 * const dir = defaultCacheDir((name) => Deno.env.get(name));
 * const client = new RegistryClient({
 *   referrersSupport: new ReferrersSupport(dir === undefined ? {} : { dir }),
 * });
 * ```
 */
export function defaultCacheDir(env: (name: string) => string | undefined): string | undefined {
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/dcosign`;
  const home = env("HOME");
  return home ? `${home}/.cache/dcosign` : undefined;
}

/** A loopback registry host (with or without a port). */
function isLoopback(host: string): boolean {
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  return name === "localhost" || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}
