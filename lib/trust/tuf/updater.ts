/**
 * The TUF client workflow (TUF specification 1.0, section 5 "Detailed client workflow"): from
 * a trusted root, update the root through every `N+1.root.json`, then timestamp, snapshot and
 * top-level targets, each verified against the keys the trusted root names, and download target
 * files by exact length and hashes. Written for dcosign instead of using tuf-js because the
 * client needs three things tuf-js does not give: an injected clock (`now`) for every expiry
 * check, a cache that serves verified, unexpired metadata with no network at all (`offline`,
 * `cacheValidity`), and bounded reads with a per-request deadline on every download.
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
 * when the cache cannot serve. Timestamp, snapshot and targets are written to the cache
 * together, in one file by one atomic rename, once all three verified: a failed update leaves
 * the last good state, and parallel processes never leave a mix of two updates (roots are
 * persisted per rotation, as 5.3.7 asks: each is verified on its own). The specification
 * persists each file as soon as it verifies; keeping the previous set until the whole update
 * verified gives the same rollback floor for every complete update.
 *
 * @module
 */

import { digest, TUF_HASHES, type TufHashName } from "./_bytes.ts";
import { download, type DownloadTransport } from "./_download.ts";
import { targetCacheName, type TufCache } from "./cache.ts";
import { TUF_FIX, tufError } from "./errors.ts";
import {
  parseTufMetadata,
  type RootMetadata,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata,
  type TufMetadata,
  type TufMetaFile,
  type TufRoleName,
  type TufSignedByRole,
  type TufTargetFile,
} from "./metadata.ts";
import { verifyThreshold } from "./verify.ts";

/** Size, count and time bounds of an update. */
export interface TufLimits {
  /** Largest `N.root.json` (default 512 KiB). */
  readonly rootBytes: number;
  /** Largest `timestamp.json` (default 16 KiB). */
  readonly timestampBytes: number;
  /** Largest snapshot when the timestamp declares no length (default 2 MiB). */
  readonly snapshotBytes: number;
  /** Largest targets metadata when the snapshot declares no length (default 512 KiB). */
  readonly targetsBytes: number;
  /** Largest target file accepted at all; each is read up to its declared length (32 MiB). */
  readonly targetFileBytes: number;
  /** Most root versions taken in one update (default 256, as python-tuf). */
  readonly maxRootRotations: number;
  /** Deadline of one request, headers and body (default 30 s). */
  readonly requestTimeoutMs: number;
}

/** The default `TufLimits`. */
export const DEFAULT_TUF_LIMITS: TufLimits = {
  rootBytes: 512 * 1024,
  timestampBytes: 16 * 1024,
  snapshotBytes: 2 * 1024 * 1024,
  targetsBytes: 512 * 1024,
  targetFileBytes: 32 * 1024 * 1024,
  maxRootRotations: 256,
  requestTimeoutMs: 30_000,
};

/** Default cache validity: one day, as sigstore-go. */
export const DEFAULT_CACHE_VALIDITY_MS = 24 * 60 * 60 * 1000;

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
}

/** The verified top-level metadata an update ends with. */
export interface TrustedTufMetadata {
  /** The trusted root after the update. */
  readonly root: RootMetadata;
  /** The trusted timestamp. */
  readonly timestamp: TimestampMetadata;
  /** The trusted snapshot. */
  readonly snapshot: SnapshotMetadata;
  /** The trusted top-level targets. */
  readonly targets: TargetsMetadata;
  /** `"cache"` when served without network, `"network"` after an online update. */
  readonly source: "cache" | "network";
}

/**
 * The cache file holding the last verified timestamp, snapshot and targets together, with the
 * time the timestamp was fetched: one file written by one atomic rename, so parallel processes
 * that fetched different repository states never leave a mix of them (last writer wins, whole).
 */
const SET_FILE = "trusted_metadata.json";

/** The parsed set file, each role's bytes still to be verified. */
interface CachedSetFile {
  /** When the timestamp was fetched (ms since the epoch, by the injected clock). */
  readonly fetchedAt: number;
  readonly bytes: Readonly<Record<"timestamp" | "snapshot" | "targets", Uint8Array<ArrayBuffer>>>;
}

function encodeSetFile(
  fetchedAt: number,
  set: Record<"timestamp" | "snapshot" | "targets", TufMetadata>,
): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${
    JSON.stringify({
      fetched_at: fetchedAt,
      timestamp: set.timestamp.bytes.toBase64(),
      snapshot: set.snapshot.bytes.toBase64(),
      targets: set.targets.bytes.toBase64(),
    })
  }\n`) as Uint8Array<ArrayBuffer>;
}

function decodeSetFile(bytes: Uint8Array): CachedSetFile | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value !== "object" || value === null) return undefined;
    const record = value as Record<string, unknown>;
    const { fetched_at: fetchedAt, timestamp, snapshot, targets } = record;
    if (
      typeof fetchedAt !== "number" || typeof timestamp !== "string" ||
      typeof snapshot !== "string" || typeof targets !== "string"
    ) {
      return undefined;
    }
    const decode = (text: string) => Uint8Array.fromBase64(text) as Uint8Array<ArrayBuffer>;
    return {
      fetchedAt,
      bytes: { timestamp: decode(timestamp), snapshot: decode(snapshot), targets: decode(targets) },
    };
  } catch {
    return undefined; // a damaged file caches nothing
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function isExpired(metadata: TufMetadata, now: number): boolean {
  // python-tuf `is_expired`: expired from the instant of `expires` on.
  return now >= metadata.signed.expiresAt;
}

function expiredError(role: TufRoleName, metadata: TufMetadata, now: number): Error {
  return tufError(
    "TRUST_TUF_EXPIRED",
    `TUF ${role} metadata version ${metadata.signed.version} expired at ` +
      `"${metadata.signed.expires}" (now "${iso(now)}"); ${TUF_FIX}`,
  );
}

/** The hash names of `hashes` this client can compute, in preference order. */
function supportedHashes(hashes: Readonly<Record<string, string>>): TufHashName[] {
  return TUF_HASHES.filter((name) => Object.hasOwn(hashes, name));
}

/**
 * Throw `TRUST_TUF_HASH_MISMATCH` unless every supported digest in `hashes` matches `bytes`;
 * a `hashes` naming no supported algorithm is `TRUST_TUF_METADATA_INVALID`.
 */
export function checkHashes(
  bytes: Uint8Array,
  hashes: Readonly<Record<string, string>>,
  what: string,
): void {
  const names = supportedHashes(hashes);
  if (names.length === 0) {
    throw tufError(
      "TRUST_TUF_METADATA_INVALID",
      `The trusted metadata names no supported hash (${TUF_HASHES.join(", ")}) for ${what}`,
    );
  }
  for (const name of names) {
    const actual = digest(name, bytes).toHex();
    if (actual !== hashes[name]) {
      throw tufError(
        "TRUST_TUF_HASH_MISMATCH",
        `The ${name} of ${what} is "${actual}", its trusted metadata says "${hashes[name]}"`,
      );
    }
  }
}

function matchesMeta(bytes: Uint8Array, meta: TufMetaFile, version: number): boolean {
  if (version !== meta.version) return false;
  if (meta.length !== undefined && bytes.length !== meta.length) return false;
  if (meta.hashes !== undefined) {
    try {
      checkHashes(bytes, meta.hashes, "cached metadata");
    } catch {
      return false;
    }
  }
  return true;
}

function trimSlashes(url: string): string {
  return url.replace(/\/+$/, "");
}

/** A reason the cache cannot serve, for `TRUST_TUF_OFFLINE` messages. */
class CacheMiss {
  constructor(readonly reason: string) {}
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
  /** The set file as read at the start of the current refresh. */
  #setFile: CachedSetFile | undefined;

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
    const { root, fromCache } = await this.#loadTrustedRoot();
    this.#setFile = await this.#readSetFile();
    if (this.#offline || this.#cacheValidity > 0) {
      const cached = await this.#cachedSet(root, start);
      if (!(cached instanceof CacheMiss)) {
        if (this.#offline || this.#isFresh(start)) return cached;
      } else if (this.#offline) {
        throw tufError(
          "TRUST_TUF_OFFLINE",
          `Offline, and the TUF cache for "${this.#mirror}" cannot serve: ${cached.reason}; ` +
            "run `dcosign initialize` while online",
        );
      }
    }
    if (!fromCache) await this.#cache.write("root.json", root.bytes);
    const newRoot = await this.#updateRoot(root, start);
    const timestamp = await this.#updateTimestamp(newRoot, start);
    const snapshot = await this.#updateSnapshot(newRoot, timestamp.metadata, start);
    const targets = await this.#updateTargets(newRoot, snapshot.metadata, start);
    // Persist the three together, after all verified: the cache never holds a half update.
    await this.#cache.write(
      SET_FILE,
      encodeSetFile(start, {
        timestamp: timestamp.metadata,
        snapshot: snapshot.metadata,
        targets: targets.metadata,
      }),
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
        checkHashes(cached, info.hashes, `the cached target "${name}"`);
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
    const bytes = (await download({
      url: this.#targetUrl(name, info, trusted.root.signed.consistentSnapshot),
      maxBytes: info.length,
      exactLength: info.length,
      what: `TUF target "${name}"`,
    }, this.#transport))!;
    checkHashes(bytes, info.hashes, `the TUF target "${name}"`);
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
    await verifyThreshold(root, root.signed.roles.root, root.signed.keys, `root (${label})`);
    return root;
  }

  /**
   * 5.2: the trusted root. With `rootBytes`, the newer of it and a cached root that verifies
   * itself; without, the cached root, else `fallbackRootBytes`.
   */
  async #loadTrustedRoot(): Promise<{ root: RootMetadata; fromCache: boolean }> {
    const given = this.#bootstrap &&
      await this.#parseVerifiedRoot(this.#bootstrap, "given root");
    const bytes = await this.#cache.read("root.json", this.#limits.rootBytes);
    if (bytes !== undefined) {
      try {
        const cached = await this.#parseVerifiedRoot(bytes, "cached root.json");
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

  /**
   * The cached metadata of `role` if it verifies under `root`, else undefined (5.3.11: what
   * the new root's keys no longer sign is dropped).
   */
  async #loadCached<R extends "timestamp" | "snapshot" | "targets">(
    role: R,
    root: RootMetadata,
  ): Promise<TufMetadata<TufSignedByRole[R]> | undefined> {
    const max: number = role === "timestamp"
      ? this.#limits.timestampBytes
      : role === "snapshot"
      ? this.#limits.snapshotBytes
      : this.#limits.targetsBytes;
    const bytes = this.#setFile?.bytes[role];
    if (bytes === undefined || bytes.length > max) return undefined;
    try {
      const metadata = parseTufMetadata(bytes, role, `cached ${role}.json`);
      await verifyThreshold(metadata, root.signed.roles[role], root.signed.keys, role);
      return metadata;
    } catch {
      return undefined;
    }
  }

  /** The cached top-level set if it is complete, consistent and unexpired at `now`. */
  async #cachedSet(root: RootMetadata, now: number): Promise<TrustedTufMetadata | CacheMiss> {
    if (isExpired(root, now)) {
      return new CacheMiss(
        `the trusted root (version ${root.signed.version}) expired at "${root.signed.expires}"`,
      );
    }
    const timestamp = await this.#loadCached("timestamp", root);
    if (timestamp === undefined) return new CacheMiss("no verified timestamp metadata is cached");
    if (isExpired(timestamp, now)) {
      return new CacheMiss(
        `the cached timestamp metadata (version ${timestamp.signed.version}) expired at "${timestamp.signed.expires}"`,
      );
    }
    const snapshot = await this.#loadCached("snapshot", root);
    if (
      snapshot === undefined ||
      !matchesMeta(snapshot.bytes, timestamp.signed.snapshot, snapshot.signed.version)
    ) {
      return new CacheMiss("no cached snapshot metadata matches the cached timestamp");
    }
    if (isExpired(snapshot, now)) {
      return new CacheMiss(
        `the cached snapshot metadata (version ${snapshot.signed.version}) expired at "${snapshot.signed.expires}"`,
      );
    }
    const targetsMeta = snapshot.signed.meta.get("targets.json");
    const targets = await this.#loadCached("targets", root);
    if (
      targetsMeta === undefined || targets === undefined ||
      !matchesMeta(targets.bytes, targetsMeta, targets.signed.version)
    ) {
      return new CacheMiss("no cached targets metadata matches the cached snapshot");
    }
    if (isExpired(targets, now)) {
      return new CacheMiss(
        `the cached targets metadata (version ${targets.signed.version}) expired at "${targets.signed.expires}"`,
      );
    }
    return { root, timestamp, snapshot, targets, source: "cache" };
  }

  async #readSetFile(): Promise<CachedSetFile | undefined> {
    const limit = 2 * (this.#limits.timestampBytes + this.#limits.snapshotBytes +
      this.#limits.targetsBytes);
    const bytes = await this.#cache.read(SET_FILE, limit);
    return bytes === undefined ? undefined : decodeSetFile(bytes);
  }

  /** True when the cached timestamp was fetched less than `cacheValidity` before `now`. */
  #isFresh(now: number): boolean {
    const fetchedAt = this.#setFile?.fetchedAt;
    return this.#cacheValidity > 0 && fetchedAt !== undefined && fetchedAt <= now &&
      now - fetchedAt < this.#cacheValidity;
  }

  /** 5.3: take every newer root, then check the final one's expiry. */
  async #updateRoot(trusted: RootMetadata, start: number): Promise<RootMetadata> {
    let root = trusted;
    for (let i = 0; i < this.#limits.maxRootRotations; i++) {
      const expected = root.signed.version + 1;
      const file = `${expected}.root.json`;
      const bytes = await download({
        url: `${this.#mirror}/${file}`,
        maxBytes: this.#limits.rootBytes,
        missingOn: [403, 404],
        what: "TUF root metadata",
      }, this.#transport);
      if (bytes === undefined) break; // 5.3.2: no newer root
      const next = parseTufMetadata(bytes, "root", file);
      // 5.3.3: signed by a threshold of the trusted root's root keys AND of the new root's own.
      await verifyThreshold(
        next,
        root.signed.roles.root,
        root.signed.keys,
        `root (${file}, checked with the keys of root version ${root.signed.version})`,
      );
      await verifyThreshold(next, next.signed.roles.root, next.signed.keys, `root (${file})`);
      // 5.3.4: exactly N+1.
      if (next.signed.version <= root.signed.version) {
        throw tufError(
          "TRUST_TUF_ROLLBACK",
          `TUF root "${file}" has version ${next.signed.version}, not newer than the trusted ` +
            `version ${root.signed.version}: refusing a rollback`,
        );
      }
      if (next.signed.version !== expected) {
        throw tufError(
          "TRUST_TUF_VERSION_MISMATCH",
          `TUF root "${file}" has version ${next.signed.version}, expected ${expected}`,
        );
      }
      root = next;
      await this.#cache.write("root.json", bytes); // 5.3.7
    }
    // 5.3.10: a freeze attack shows as an expired final root.
    if (isExpired(root, start)) throw expiredError("root", root, start);
    return root;
  }

  /** 5.4. */
  async #updateTimestamp(
    root: RootMetadata,
    start: number,
  ): Promise<{ metadata: TimestampMetadata; fresh: boolean }> {
    const trusted = await this.#loadCached("timestamp", root);
    const bytes = (await download({
      url: `${this.#mirror}/timestamp.json`,
      maxBytes: this.#limits.timestampBytes,
      what: "TUF timestamp metadata",
    }, this.#transport))!;
    const next = parseTufMetadata(bytes, "timestamp", "timestamp.json");
    await verifyThreshold(next, root.signed.roles.timestamp, root.signed.keys, "timestamp");
    let chosen = next;
    let fresh = true;
    if (trusted !== undefined) {
      if (next.signed.version < trusted.signed.version) {
        throw tufError(
          "TRUST_TUF_ROLLBACK",
          `TUF timestamp version ${next.signed.version} is older than the trusted version ` +
            `${trusted.signed.version}: refusing a rollback`,
        );
      }
      if (next.signed.snapshot.version < trusted.signed.snapshot.version) {
        throw tufError(
          "TRUST_TUF_ROLLBACK",
          `TUF timestamp names snapshot version ${next.signed.snapshot.version}, older than the ` +
            `trusted ${trusted.signed.snapshot.version}: refusing a rollback`,
        );
      }
      // An equal version changes nothing (python-tuf keeps the trusted copy).
      if (next.signed.version === trusted.signed.version) {
        chosen = trusted;
        fresh = false;
      }
    }
    if (isExpired(chosen, start)) throw expiredError("timestamp", chosen, start);
    return { metadata: chosen, fresh };
  }

  /** 5.5. */
  async #updateSnapshot(
    root: RootMetadata,
    timestamp: TimestampMetadata,
    start: number,
  ): Promise<{ metadata: SnapshotMetadata; fresh: boolean }> {
    const meta = timestamp.signed.snapshot;
    const previous = await this.#loadCached("snapshot", root);
    if (
      previous !== undefined && matchesMeta(previous.bytes, meta, previous.signed.version) &&
      !isExpired(previous, start)
    ) {
      return { metadata: previous, fresh: false };
    }
    const file = root.signed.consistentSnapshot ? `${meta.version}.snapshot.json` : "snapshot.json";
    const bytes = await this.#downloadMeta(file, meta, this.#limits.snapshotBytes, "snapshot");
    const next = parseTufMetadata(bytes, "snapshot", file);
    await verifyThreshold(next, root.signed.roles.snapshot, root.signed.keys, "snapshot");
    if (next.signed.version !== meta.version) {
      throw tufError(
        "TRUST_TUF_VERSION_MISMATCH",
        `TUF snapshot "${file}" has version ${next.signed.version}, the timestamp names ` +
          `${meta.version}: refusing mix-and-match metadata`,
      );
    }
    if (previous !== undefined) {
      if (next.signed.version < previous.signed.version) {
        throw tufError(
          "TRUST_TUF_ROLLBACK",
          `TUF snapshot version ${next.signed.version} is older than the trusted version ` +
            `${previous.signed.version}: refusing a rollback`,
        );
      }
      // 5.5.5: every targets file the trusted snapshot listed stays, at no lower version.
      for (const [name, old] of previous.signed.meta) {
        const now = next.signed.meta.get(name);
        if (now === undefined || now.version < old.version) {
          throw tufError(
            "TRUST_TUF_ROLLBACK",
            `TUF snapshot version ${next.signed.version} ${
              now === undefined
                ? `no longer lists "${name}"`
                : `names "${name}" version ${now.version}, older than the trusted ${old.version}`
            }: refusing a rollback`,
          );
        }
      }
    }
    if (isExpired(next, start)) throw expiredError("snapshot", next, start);
    return { metadata: next, fresh: true };
  }

  /** 5.6 (top-level targets only). */
  async #updateTargets(
    root: RootMetadata,
    snapshot: SnapshotMetadata,
    start: number,
  ): Promise<{ metadata: TargetsMetadata; fresh: boolean }> {
    const meta = snapshot.signed.meta.get("targets.json");
    if (meta === undefined) {
      throw tufError(
        "TRUST_TUF_METADATA_INVALID",
        `TUF snapshot version ${snapshot.signed.version} does not list "targets.json"`,
      );
    }
    const previous = await this.#loadCached("targets", root);
    if (
      previous !== undefined && matchesMeta(previous.bytes, meta, previous.signed.version) &&
      !isExpired(previous, start)
    ) {
      return { metadata: previous, fresh: false };
    }
    const file = root.signed.consistentSnapshot ? `${meta.version}.targets.json` : "targets.json";
    const bytes = await this.#downloadMeta(file, meta, this.#limits.targetsBytes, "targets");
    const next = parseTufMetadata(bytes, "targets", file);
    await verifyThreshold(next, root.signed.roles.targets, root.signed.keys, "targets");
    if (next.signed.version !== meta.version) {
      throw tufError(
        "TRUST_TUF_VERSION_MISMATCH",
        `TUF targets "${file}" has version ${next.signed.version}, the snapshot names ` +
          `${meta.version}: refusing mix-and-match metadata`,
      );
    }
    if (previous !== undefined && next.signed.version < previous.signed.version) {
      throw tufError(
        "TRUST_TUF_ROLLBACK",
        `TUF targets version ${next.signed.version} is older than the trusted version ` +
          `${previous.signed.version}: refusing a rollback`,
      );
    }
    if (isExpired(next, start)) throw expiredError("targets", next, start);
    return { metadata: next, fresh: true };
  }

  /** A snapshot or targets file, bounded by its declared length and checked by its hashes. */
  async #downloadMeta(
    file: string,
    meta: TufMetaFile,
    max: number,
    role: "snapshot" | "targets",
  ): Promise<Uint8Array<ArrayBuffer>> {
    if (meta.length !== undefined && meta.length > max) {
      throw tufError(
        "TRUST_TUF_TOO_LARGE",
        `TUF ${role} "${file}" is declared ${meta.length} bytes long, more than the ${max} accepted`,
      );
    }
    const bytes = (await download({
      url: `${this.#mirror}/${file}`,
      maxBytes: max,
      ...(meta.length !== undefined ? { exactLength: meta.length } : {}),
      what: `TUF ${role} metadata`,
    }, this.#transport))!;
    if (meta.hashes !== undefined) checkHashes(bytes, meta.hashes, `TUF ${role} "${file}"`);
    return bytes;
  }
}
