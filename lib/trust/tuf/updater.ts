/**
 * The TUF client workflow (TUF specification 1.0, section 5 "Detailed client workflow"): from
 * a trusted root, update the root through every `N+1.root.json`, then timestamp, snapshot and
 * top-level targets, each verified against the keys the trusted root names (the role steps are
 * `_roles.ts`), and download target files by exact length and hashes (5.7). Written for
 * dcosign instead of using tuf-js because the client needs three things tuf-js does not give:
 * an injected clock (`now`) for every expiry check, a cache that serves verified, unexpired
 * metadata with no network at all (`offline`, `cacheValidity`), and bounded reads with a
 * per-request deadline on every download.
 *
 * What it checks, by step:
 * - 5.2 the trusted root is the newer of the bootstrap root and the cached one, each verified by
 *   its own root threshold;
 * - 5.3 each new root is signed by a threshold of the old root's root keys AND of its own, has
 *   version exactly N+1 (lower: `TRUST_TUF_ROLLBACK`), at most `maxRootRotations` are taken, and
 *   only then is the final root's expiry checked; cached timestamp/snapshot metadata that no
 *   longer verifies under the new root is dropped (5.3.11, fast-forward recovery);
 * - 5.4 timestamp: timestamp keys' threshold, version and snapshot version never below the
 *   cached ones, not expired;
 * - 5.5 snapshot: length and hashes from the timestamp when given, snapshot keys' threshold,
 *   version equal to the timestamp's (`TRUST_TUF_VERSION_MISMATCH`, mix-and-match), no targets
 *   file listed before missing or going back, not expired;
 * - 5.6 targets: the same against the snapshot's entry; delegations are parsed and checked for
 *   form but never fetched: dcosign's targets are all top-level, and Sigstore's
 *   `registry.npmjs.org` delegation is ignored;
 * - 5.7 target files: consistent-snapshot names (`<hash>.<name>`) or plain names, exact length,
 *   every listed sha256/sha384/sha512 digest.
 *
 * Cache policy (sigstore-go's CacheValidity idea): when the cached timestamp was fetched less
 * than `cacheValidity` ago and every cached role is unexpired and consistent, the targets are
 * served with no request at all; `offline` never sends one and fails with `TRUST_TUF_OFFLINE`
 * when the cache cannot serve. Past its validity the cache is refreshed online; when the
 * mirror cannot be reached then (`TRUST_TUF_FETCH`: no connection, a deadline, an HTTP error)
 * and the cached metadata is still unexpired, it is served with one warning, as sigstore-go
 * does: the cache is as trustworthy as it was an hour ago, only older. Metadata that arrives
 * and fails a check (a rollback, a bad signature, an expired freeze) is never papered over
 * this way: that failure is the attack TUF exists to report. Timestamp, snapshot and targets
 * are written to the cache together (`_cached_set.ts`), by one atomic rename, once all three
 * verified: a failed update leaves the last good state, and parallel processes never leave a
 * mix of two updates (roots are persisted per rotation, as 5.3.7 asks: each is verified on its
 * own). The specification persists each file as soon as it verifies; keeping the previous set
 * until the whole update verified gives the same rollback floor for every complete update.
 *
 * @module
 */

import { checkHashes, supportedHashes } from "./_checks.ts";
import {
  type CachedSetFile,
  CacheMiss,
  encodeSetFile,
  readCachedSet,
  readSetFile,
  SET_FILE,
  vouchedBy,
} from "./_cached_set.ts";
// The role steps, the downloads and the signature checks load on first use: a cold command
// served by a cache its receipt vouches for needs none of them (bench/tuf_bench.ts).
import type { DownloadTransport } from "./_download.ts";
import type { RoleUpdateContext } from "./_roles.ts";
import { targetCacheName, type TufCache } from "./cache.ts";
import { isCosignError } from "../../errors.ts";
import { tufError } from "./errors.ts";
import { parseTufMetadata, type RootMetadata, type TufTargetFile } from "./metadata.ts";
import {
  DEFAULT_CACHE_VALIDITY_MS,
  DEFAULT_TUF_LIMITS,
  type TrustedTufMetadata,
  type TufLimits,
} from "./state.ts";

/** Options of `TufUpdater`. */
export interface TufUpdaterOptions {
  /** Base URL of the metadata (`<mirror>/N.root.json`, `<mirror>/timestamp.json`, ...). */
  readonly mirror: string;
  /** Base URL of target files (default `<mirror>/targets`). */
  readonly targetsUrl?: string;
  /**
   * A root the caller trusts (given to `initialize`, or chosen by the caller): the newer of it
   * and the cached root is used.
   */
  readonly rootBytes?: Uint8Array;
  /**
   * The root used only when neither `rootBytes` is given nor a root is cached (the embedded
   * public-good root). With neither, an empty cache fails with `TRUST_TUF_ROOT_MISSING`.
   */
  readonly fallbackRootBytes?: Uint8Array;
  /** Where verified metadata is kept between runs. */
  readonly cache: TufCache;
  /** Transport (default global `fetch`). */
  readonly fetch?: typeof fetch;
  /** Clock for every expiry check (default `() => new Date()`). */
  readonly now?: () => Date;
  /** Bounds (defaults `DEFAULT_TUF_LIMITS`). */
  readonly limits?: Partial<TufLimits>;
  /** Serve the cache without network when its timestamp was fetched this recently (ms; 0 never). */
  readonly cacheValidity?: number;
  /** Never use the network. */
  readonly offline?: boolean;
  /** Told about each request URL before it is sent. */
  readonly onRequest?: (url: string) => void;
  /** Told once when an unreachable mirror makes the update serve the cached metadata. */
  readonly warn?: (message: string) => void;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, "");
}

/**
 * One TUF repository's client: `refresh()` runs the workflow (or serves the cache),
 * `targetBytes()` downloads a verified target. One instance per update; the `TufClient`
 * facade in `client.ts` is what the rest of dcosign uses.
 */
export class TufUpdater {
  readonly #mirror: string;
  readonly #targetsUrl: string;
  readonly #bootstrap: Uint8Array<ArrayBuffer> | undefined;
  readonly #fallback: Uint8Array<ArrayBuffer> | undefined;
  readonly #cache: TufCache;
  readonly #now: () => Date;
  readonly #limits: TufLimits;
  readonly #cacheValidity: number;
  readonly #offline: boolean;
  readonly #transport: DownloadTransport;
  readonly #warn: (message: string) => void;

  /** An updater for one repository; nothing is read or fetched before `refresh()`. */
  constructor(options: TufUpdaterOptions) {
    this.#mirror = trimSlashes(options.mirror);
    this.#targetsUrl = trimSlashes(options.targetsUrl ?? `${this.#mirror}/targets`);
    this.#bootstrap = options.rootBytes &&
      (Uint8Array.from(options.rootBytes) as Uint8Array<ArrayBuffer>);
    this.#fallback = options.fallbackRootBytes &&
      (Uint8Array.from(options.fallbackRootBytes) as Uint8Array<ArrayBuffer>);
    this.#cache = options.cache;
    this.#now = options.now ?? (() => new Date());
    this.#limits = { ...DEFAULT_TUF_LIMITS, ...options.limits };
    this.#cacheValidity = options.cacheValidity ?? DEFAULT_CACHE_VALIDITY_MS;
    this.#offline = options.offline ?? false;
    this.#warn = options.warn ?? (() => {});
    this.#transport = {
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: this.#limits.requestTimeoutMs,
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    };
  }

  /**
   * Bring the trusted metadata up to date (or serve it from the cache, see the module doc) and
   * return it. Every failure is a `CosignError` with a `TufErrorCode`.
   */
  async refresh(): Promise<TrustedTufMetadata> {
    // 5.1: one fixed update start time for every expiry check of this update.
    const start = this.#now().getTime();
    const set = await readSetFile(this.#cache, this.#limits);
    const { root, fromCache } = await this.#loadTrustedRoot(set);
    if (this.#offline || this.#cacheValidity > 0) {
      const cached = await readCachedSet(set, root, start, this.#limits);
      if (!(cached instanceof CacheMiss)) {
        if (this.#offline || this.#isFresh(set, start)) return cached;
      } else if (this.#offline) {
        throw tufError(
          "TRUST_TUF_OFFLINE",
          `Offline, and the TUF cache for "${this.#mirror}" cannot serve: ${cached.reason}; ` +
            "run `dcosign initialize` while online",
        );
      }
    }
    let latestRoot = root;
    try {
      return await this.#update(root, fromCache, set, start, (next) => latestRoot = next);
    } catch (error) {
      if (!isCosignError(error, "TRUST_TUF_FETCH") || set === undefined) throw error;
      // The mirror is out of reach: unexpired cached metadata (under the newest root this
      // update verified) still serves, with one warning; anything less fails as it was.
      const cached = await readCachedSet(set, latestRoot, start, this.#limits);
      if (cached instanceof CacheMiss) throw error;
      this.#warn(
        `Cannot refresh the TUF metadata from "${this.#mirror}" (${error.message}): using the ` +
          `cached metadata (timestamp version ${cached.timestamp.signed.version}, expires ` +
          `"${cached.timestamp.signed.expires}")`,
      );
      return cached;
    }
  }

  async #update(
    root: RootMetadata,
    rootFromCache: boolean,
    set: CachedSetFile | undefined,
    start: number,
    onRoot: (root: RootMetadata) => void,
  ): Promise<TrustedTufMetadata> {
    const ctx: RoleUpdateContext = {
      mirror: this.#mirror,
      cache: this.#cache,
      limits: this.#limits,
      transport: this.#transport,
      set,
      start,
    };
    if (!rootFromCache) await this.#cache.write("root.json", root.bytes);
    const { updateRoot, updateSnapshot, updateTargets, updateTimestamp } = await import(
      "./_roles.ts"
    );
    const newRoot = await updateRoot(ctx, root, onRoot);
    const timestamp = await updateTimestamp(ctx, newRoot);
    const snapshot = await updateSnapshot(ctx, newRoot, timestamp.metadata);
    const targets = await updateTargets(ctx, newRoot, snapshot.metadata);
    // Persist the three together, after all verified: the cache never holds a half update.
    // Its receipt vouches for them and for `newRoot`, the cached root.json now.
    await this.#cache.write(
      SET_FILE,
      await encodeSetFile(start, {
        timestamp: timestamp.metadata,
        snapshot: snapshot.metadata,
        targets: targets.metadata,
      }, newRoot),
    );
    return {
      root: newRoot,
      timestamp: timestamp.metadata,
      snapshot: snapshot.metadata,
      targets: targets.metadata,
      source: "network",
    };
  }

  /**
   * The bytes of target `name`, checked against `trusted.targets` (length and hashes): from
   * the cache when a verified copy is there, else downloaded (never when offline).
   */
  async targetBytes(trusted: TrustedTufMetadata, name: string): Promise<Uint8Array<ArrayBuffer>> {
    // URL resolution removes "." and ".." segments, even percent-encoded ones (WHATWG URL),
    // so such a name could not be fetched from where it claims to live.
    if (name.split("/").some((s) => s === "" || s === "." || s === "..")) {
      throw new RangeError(`Invalid TUF target name "${name}": empty or dot path segment`);
    }
    const info = trusted.targets.signed.targets.get(name);
    if (info === undefined) {
      throw tufError(
        "TRUST_TUF_TARGET_NOT_FOUND",
        `The TUF targets metadata (version ${trusted.targets.signed.version}) of ` +
          `"${this.#mirror}" lists no target "${name}"`,
      );
    }
    if (info.length > this.#limits.targetFileBytes) {
      throw tufError(
        "TRUST_TUF_TOO_LARGE",
        `The TUF target "${name}" is declared ${info.length} bytes long, more than the ` +
          `${this.#limits.targetFileBytes} accepted`,
      );
    }
    const cacheName = targetCacheName(name);
    const cached = await this.#cache.read(cacheName, info.length);
    if (cached !== undefined && cached.length === info.length) {
      try {
        await checkHashes(cached, info.hashes, `the cached target "${name}"`);
        return cached;
      } catch {
        // a stale or damaged copy: fetch it again
      }
    }
    if (this.#offline) {
      throw tufError(
        "TRUST_TUF_OFFLINE",
        `Offline, and the TUF cache for "${this.#mirror}" holds no verified copy of "${name}"; ` +
          "run `dcosign initialize` while online",
      );
    }
    const { download } = await import("./_download.ts");
    const bytes = (await download({
      url: this.#targetUrl(name, info, trusted.root.signed.consistentSnapshot),
      maxBytes: info.length,
      exactLength: info.length,
      what: `TUF target "${name}"`,
    }, this.#transport))!;
    await checkHashes(bytes, info.hashes, `the TUF target "${name}"`);
    await this.#cache.write(cacheName, bytes);
    return bytes;
  }

  /** 5.7.3: `<dir>/<hash>.<basename>` with consistent snapshots, else the name itself. */
  #targetUrl(name: string, info: TufTargetFile, consistent: boolean): string {
    const segments = name.split("/");
    if (consistent) {
      const hashName = supportedHashes(info.hashes)[0] ?? Object.keys(info.hashes)[0]!;
      segments[segments.length - 1] = `${info.hashes[hashName]}.${segments.at(-1)}`;
    }
    return `${this.#targetsUrl}/${segments.map(encodeURIComponent).join("/")}`;
  }

  async #parseVerifiedRoot(bytes: Uint8Array, label: string): Promise<RootMetadata> {
    const root = parseTufMetadata(bytes, "root", label);
    const { verifyThreshold } = await import("./verify.ts");
    await verifyThreshold(root, root.signed.roles.root, root.signed.keys, `root (${label})`);
    return root;
  }

  /**
   * 5.2: the trusted root. With `rootBytes`, the newer of it and a cached root that verifies
   * itself; without, the cached root, else `fallbackRootBytes`. A cached root that the cached
   * set's receipt vouches for verified when the set was written (`_cached_set.ts`).
   */
  async #loadTrustedRoot(
    set: CachedSetFile | undefined,
  ): Promise<{ root: RootMetadata; fromCache: boolean }> {
    const given = this.#bootstrap &&
      await this.#parseVerifiedRoot(this.#bootstrap, "given root");
    const bytes = await this.#cache.read("root.json", this.#limits.rootBytes);
    if (bytes !== undefined) {
      try {
        const cached = set !== undefined && await vouchedBy(set, bytes)
          ? parseTufMetadata(bytes, "root", "cached root.json", { vouched: true })
          : await this.#parseVerifiedRoot(bytes, "cached root.json");
        if (given === undefined || cached.signed.version >= given.signed.version) {
          return { root: cached, fromCache: true };
        }
      } catch {
        // a damaged cached root is ignored; the given or fallback root replaces it
      }
    }
    if (given !== undefined) return { root: given, fromCache: false };
    if (this.#fallback !== undefined) {
      return {
        root: await this.#parseVerifiedRoot(this.#fallback, "embedded root"),
        fromCache: false,
      };
    }
    throw tufError(
      "TRUST_TUF_ROOT_MISSING",
      `No trusted TUF root for "${this.#mirror}": run \`dcosign initialize --mirror ` +
        `${this.#mirror} --root <root.json>\``,
    );
  }

  /** True when the cached timestamp was fetched less than `cacheValidity` before `now`. */
  #isFresh(set: CachedSetFile | undefined, now: number): boolean {
    const fetchedAt = set?.fetchedAt;
    return this.#cacheValidity > 0 && fetchedAt !== undefined && fetchedAt <= now &&
      now - fetchedAt < this.#cacheValidity;
  }
}
