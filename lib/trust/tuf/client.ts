/**
 * The entry point the rest of dcosign uses for trust material over TUF: `TufClient` answers the
 * bytes of `trusted_root.json` and `signing_config.v0.2.json` from a TUF repository (default
 * the Sigstore public-good one, bootstrapped from the embedded root), and `initializeTuf` is
 * `cosign initialize --mirror --root --root-checksum`: it resets this client's cache for the
 * mirror, remembers the mirror as the default and pre-fetches the targets.
 *
 * The TUF client under it is dcosign's own (`updater.ts`), not tuf-js: it needs an injected
 * clock, a cache that serves verified metadata with no network, and bounded reads with a
 * deadline on every request. The bytes are returned as verified, unparsed: turning them into
 * the trusted-root model happens elsewhere. The client runs one update per instance (later calls
 * reuse it) and follows the cache policy of `updater.ts`: no request at all while the cache is
 * fresh (`cacheValidity`, default one day) or when `offline`, and the unexpired cache (with one
 * warning) when the mirror cannot be reached.
 *
 * @module
 */

import { sha256, toHex } from "../../util/bytes.ts";
import {
  defaultTufRoot,
  type EnvLookup,
  mirrorCacheDir,
  readRememberedMirror,
  rememberMirror,
  TufCache,
} from "./cache.ts";
import { tufError } from "./errors.ts";
import { parseTufMetadata } from "./metadata.ts";
import { PUBLIC_GOOD_MIRROR, publicGoodRootBytes } from "./public_good.ts";
import type { TrustedTufMetadata, TufLimits } from "./state.ts";
import { TufUpdater, type TufUpdaterOptions } from "./updater.ts";

/** The target holding the Sigstore trusted root. */
export const TRUSTED_ROOT_TARGET = "trusted_root.json";

/** The target holding the Sigstore signing config (v0.2). */
export const SIGNING_CONFIG_TARGET = "signing_config.v0.2.json";

/** Options of `TufClient` and `initializeTuf`. */
export interface TufClientOptions {
  /**
   * The repository URL. Default: the mirror `initializeTuf` remembered, else
   * `PUBLIC_GOOD_MIRROR`.
   */
  readonly mirror?: string;
  /**
   * A root to trust for this mirror (the newer of it and the cached root is used). Default: the
   * cached root, else the embedded public-good root.
   */
  readonly rootBytes?: Uint8Array;
  /**
   * The TUF cache root (like `$TUF_ROOT`); this client keeps its files under
   * `<cacheDir>/dcosign/<escaped mirror>/`. Default `$TUF_ROOT`, else `$HOME/.sigstore/root`;
   * `null` keeps everything in memory.
   */
  readonly cacheDir?: string | null;
  /** Transport (default global `fetch`). */
  readonly fetch?: typeof fetch;
  /** Clock for every expiry and freshness check (default `() => new Date()`). */
  readonly now?: () => Date;
  /** Serve the cache with no request when its timestamp was fetched this recently (ms). */
  readonly cacheValidity?: number;
  /** Never use the network: serve the cache or fail with `TRUST_TUF_OFFLINE`. */
  readonly offline?: boolean;
  /**
   * Told once when the cache cannot be written and falls back to memory, and once when the
   * mirror cannot be reached and unexpired cached metadata is served instead.
   */
  readonly warn?: (message: string) => void;
  /** Download bounds. */
  readonly limits?: Partial<TufLimits>;
  /** Told about each request URL before it is sent. */
  readonly onRequest?: (url: string) => void;
  /** Environment lookup for `TUF_ROOT`/`HOME` (default `Deno.env.get`; tests inject). */
  readonly env?: EnvLookup;
}

interface Setup {
  readonly mirror: string;
  readonly tufRoot: string | undefined;
  readonly cache: TufCache;
  readonly updater: TufUpdater;
}

function normalizeMirror(mirror: string): string {
  let url: URL;
  try {
    url = new URL(mirror);
  } catch (cause) {
    throw new TypeError(`Invalid TUF mirror URL "${mirror}"`, { cause });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new TypeError(`TUF mirror URL "${mirror}" is not http(s)`);
  }
  return mirror.replace(/\/+$/, "");
}

/**
 * Why the default TUF root cannot be used, if it cannot: one under `$HOME` is only used when
 * `$HOME` is an existing directory (a home directory is never created; `TUF_ROOT` is).
 */
async function defaultRootProblem(env: EnvLookup | undefined): Promise<string | undefined> {
  const lookup = env ?? ((name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  });
  if (lookup("TUF_ROOT")) return undefined;
  const home = lookup("HOME") ?? lookup("USERPROFILE");
  if (!home) return "neither TUF_ROOT nor HOME is set";
  try {
    if ((await Deno.stat(home)).isDirectory) return undefined;
  } catch {
    // missing or unreadable: as not a directory
  }
  return `HOME "${home}" is not a directory`;
}

async function setUp(options: TufClientOptions, overrides: Partial<TufUpdaterOptions> = {}) {
  const problem = options.cacheDir === undefined
    ? await defaultRootProblem(options.env)
    : undefined;
  const tufRoot = options.cacheDir === null || problem !== undefined
    ? undefined
    : options.cacheDir ?? defaultTufRoot(options.env);
  const mirror = normalizeMirror(
    options.mirror ??
      (tufRoot === undefined ? undefined : await readRememberedMirror(tufRoot)) ??
      PUBLIC_GOOD_MIRROR,
  );
  const cache = new TufCache({
    ...(tufRoot !== undefined ? { dir: mirrorCacheDir(tufRoot, mirror) } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
  });
  if (tufRoot === undefined && options.cacheDir !== null) {
    cache.noteNoDirectory(problem ?? "neither TUF_ROOT nor HOME is set");
  }
  const updater = new TufUpdater({
    mirror,
    cache,
    fallbackRootBytes: publicGoodRootBytes(),
    ...(options.rootBytes ? { rootBytes: options.rootBytes } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.cacheValidity !== undefined ? { cacheValidity: options.cacheValidity } : {}),
    ...(options.offline !== undefined ? { offline: options.offline } : {}),
    ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
    ...overrides,
  });
  return { mirror, tufRoot, cache, updater };
}

/**
 * A TUF client for one repository (see the module doc).
 *
 * @example Read the trusted root through TUF from the embedded stack's repository
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseTrustedRoot, TufClient } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack(); // its TUF repository is served under /tuf/
 * const client = new TufClient({
 *   mirror: stack.ready.tufMirror!,
 *   rootBytes: stack.services.tuf.rootBytes(1), // the root to trust, as `initialize --root`
 *   cacheDir: null, // in memory; by default $TUF_ROOT or ~/.sigstore/root
 * });
 * const trustedRoot = parseTrustedRoot(await client.trustedRootBytes()); // verified bytes
 * assert.equal(trustedRoot.tlogs[0]?.baseUrl, stack.url);
 * ```
 */
export class TufClient {
  readonly #options: TufClientOptions;
  #setup: Promise<Setup> | undefined;
  #trusted: Promise<TrustedTufMetadata> | undefined;

  /** A client; nothing is read or fetched before the first call. Bad mirror URLs: `TypeError`. */
  constructor(options: TufClientOptions = {}) {
    if (options.mirror !== undefined) normalizeMirror(options.mirror);
    this.#options = options;
  }

  #ready(): Promise<Setup> {
    this.#setup ??= setUp(this.#options);
    return this.#setup;
  }

  /** The mirror this client reads. */
  async mirror(): Promise<string> {
    return (await this.#ready()).mirror;
  }

  /** `"disk"` or `"memory"` (after a fallback); known once the client has been used. */
  async cacheMode(): Promise<"disk" | "memory"> {
    return (await this.#ready()).cache.mode;
  }

  /** The verified top-level metadata: one update per client, retried after a failure. */
  refresh(): Promise<TrustedTufMetadata> {
    this.#trusted ??= this.#ready().then((setup) => setup.updater.refresh());
    this.#trusted.catch(() => {
      this.#trusted = undefined;
    });
    return this.#trusted;
  }

  /** The verified bytes of target `name` (`TRUST_TUF_TARGET_NOT_FOUND` when unlisted). */
  async targetBytes(name: string): Promise<Uint8Array<ArrayBuffer>> {
    const trusted = await this.refresh();
    return await (await this.#ready()).updater.targetBytes(trusted, name);
  }

  /** The verified bytes of `trusted_root.json`. */
  async trustedRootBytes(): Promise<Uint8Array<ArrayBuffer>> {
    return await this.targetBytes(TRUSTED_ROOT_TARGET);
  }

  /** The verified bytes of `signing_config.v0.2.json`, or undefined when the repository has none. */
  async signingConfigBytes(): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const trusted = await this.refresh();
    if (!trusted.targets.signed.targets.has(SIGNING_CONFIG_TARGET)) return undefined;
    return await this.targetBytes(SIGNING_CONFIG_TARGET);
  }

  /** `initializeTuf` with this client's options (and `root`/`rootChecksum` if given). */
  async initialize(
    options: { readonly root?: Uint8Array; readonly rootChecksum?: string } = {},
  ): Promise<TufInitializeResult> {
    this.#trusted = undefined;
    this.#setup = undefined;
    return await initializeTuf({ ...this.#options, ...options });
  }
}

/**
 * Options of `initializeTuf`. Unlike `TufClient`, `mirror` defaults to `PUBLIC_GOOD_MIRROR`
 * (as cosign's `--mirror`), not to the remembered one.
 */
export interface InitializeTufOptions extends Omit<TufClientOptions, "rootBytes" | "offline"> {
  /** The root to trust from now on (cosign `--root`); default the embedded public-good root. */
  readonly root?: Uint8Array;
  /** Hex SHA-256 the `root` bytes must have (cosign `--root-checksum`). */
  readonly rootChecksum?: string;
}

/** What `initializeTuf` did. */
export interface TufInitializeResult {
  /** The mirror initialized (now the remembered default). */
  readonly mirror: string;
  /** The mirror's cache directory, or undefined in memory. */
  readonly cacheDir: string | undefined;
  /** Whether the cache could be written (`"memory"` after a fallback). */
  readonly cacheMode: "disk" | "memory";
  /** Version of the trusted root after the update. */
  readonly rootVersion: number;
  /** Version of the trusted timestamp. */
  readonly timestampVersion: number;
  /** Version of the trusted targets. */
  readonly targetsVersion: number;
  /** The targets fetched and cached. */
  readonly targets: readonly string[];
}

/**
 * `cosign initialize`: reset this client's cache for the mirror, trust `root` (checked against
 * `rootChecksum`, then by its own threshold), remember the mirror as the default, run a full
 * online update and pre-fetch `trusted_root.json` and `signing_config.v0.2.json`.
 *
 * @example Initialize a cache from the embedded stack; later clients need no mirror or root
 * ```ts
 * import assert from "node:assert/strict";
 * import { initializeTuf, TufClient } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * const cacheDir = await Deno.makeTempDir();
 * {
 *   await using stack = await startStack();
 *   const result = await initializeTuf({
 *     mirror: stack.ready.tufMirror!,
 *     root: stack.services.tuf.rootBytes(1),
 *     cacheDir,
 *   });
 *   assert.deepEqual(result.targets, ["trusted_root.json", "signing_config.v0.2.json"]);
 *   const later = new TufClient({ cacheDir, offline: true }); // the remembered mirror, cached
 *   assert.equal(await later.mirror(), stack.ready.tufMirror);
 *   assert.ok(await later.signingConfigBytes());
 * }
 * await Deno.remove(cacheDir, { recursive: true });
 * ```
 */
export async function initializeTuf(
  options: InitializeTufOptions = {},
): Promise<TufInitializeResult> {
  if (options.rootChecksum !== undefined) {
    if (options.root === undefined) throw new TypeError("rootChecksum needs root");
    const actual = toHex(sha256(options.root));
    if (actual !== options.rootChecksum.toLowerCase()) {
      throw tufError(
        "TRUST_TUF_HASH_MISMATCH",
        `The TUF root has sha256 "${actual}", not the expected "${options.rootChecksum}"`,
      );
    }
  }
  if (options.root !== undefined) {
    // Refuse a bad root before the cache is reset.
    const root = parseTufMetadata(options.root, "root", "given root");
    const { verifyThreshold } = await import("./verify.ts");
    await verifyThreshold(root, root.signed.roles.root, root.signed.keys, "root (given root)");
  }
  const { root: _root, rootChecksum: _checksum, ...clientOptions } = options;
  const setup = await setUp(
    {
      ...clientOptions,
      mirror: options.mirror ?? PUBLIC_GOOD_MIRROR,
      rootBytes: options.root ?? publicGoodRootBytes(),
    },
    { cacheValidity: 0, offline: false },
  );
  await setup.cache.reset();
  if (setup.tufRoot !== undefined && setup.cache.mode === "disk") {
    try {
      await rememberMirror(setup.tufRoot, setup.mirror);
    } catch (error) {
      setup.cache.noteNoDirectory(error instanceof Error ? error.message : String(error));
    }
  }
  const trusted = await setup.updater.refresh();
  const targets: string[] = [];
  for (const name of [TRUSTED_ROOT_TARGET, SIGNING_CONFIG_TARGET]) {
    if (!trusted.targets.signed.targets.has(name)) continue;
    await setup.updater.targetBytes(trusted, name);
    targets.push(name);
  }
  return {
    mirror: setup.mirror,
    cacheDir: setup.cache.dir,
    cacheMode: setup.cache.mode,
    rootVersion: trusted.root.signed.version,
    timestampVersion: trusted.timestamp.signed.version,
    targetsVersion: trusted.targets.signed.version,
    targets,
  };
}
