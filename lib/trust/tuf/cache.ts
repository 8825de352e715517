/**
 * The on-disk TUF cache: where the trusted root, the last verified timestamp, snapshot and
 * targets metadata, the target files and the time of the last timestamp fetch are kept between
 * runs, one directory per mirror.
 *
 * Location: `$TUF_ROOT`, else `$HOME/.sigstore/root` (cosign's), but always inside a
 * subdirectory of our own, `<root>/dcosign/<escaped mirror URL>/`, so a cosign or sigstore-go
 * cache beside it is never read, touched or corrupted. Names (the mirror URL, target names) are
 * escaped into a single safe path segment before joining, so no name can leave the directory
 * (sigstore GHSA-fcv2-xgw5-pqxf, go-tuf GHSA-jqc5-w2xx-5vq4; SECURITY.md rows 19 and 34).
 *
 * Writes are atomic: a temporary file in the same directory, then a rename, so a reader (or a
 * parallel `dcosign` process) sees a complete old file or a complete new one, never half of
 * one; parallel writers of the same state simply leave the last complete file. What is read
 * from here is checked again: the updater parses every cached file, checks expiry and
 * consistency, and verifies signatures unless a receipt shows these exact bytes verified
 * before (`_cached_set.ts` says why that trusts the directory no more than its `root.json`).
 *
 * A missing or read-only `$HOME`, an unset `TUF_ROOT`, a denied permission or a full disk never
 * fails verification (notation GHSA-qjh3-4j3h-vmwp, SECURITY.md row 41): the cache falls back to
 * memory, tells the injected `warn` callback once, and keeps reading whatever the directory
 * already holds (a read-only, pre-filled cache still serves).
 *
 * @module
 */

import { sha256, toBytes, toHex, utf8 } from "../../util/bytes.ts";

/** The subdirectory of the TUF root this client owns. */
export const DCOSIGN_CACHE_SUBDIR = "dcosign";

/** The file remembering the default mirror (`dcosign initialize --mirror`). */
const MIRROR_FILE = "mirror.json";

/** Longest escaped name used as is; longer ones become a digest. */
const MAX_SEGMENT = 200;

/** The environment lookups of this module (injectable for tests). */
export type EnvLookup = (name: string) => string | undefined;

function denoEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: as if unset
  }
}

/**
 * The TUF root directory cosign uses: `$TUF_ROOT`, else `$HOME/.sigstore/root`; undefined when
 * neither is set.
 */
export function defaultTufRoot(env: EnvLookup = denoEnv): string | undefined {
  const tufRoot = env("TUF_ROOT");
  if (tufRoot) return tufRoot;
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? `${home.replace(/[\\/]+$/, "")}/.sigstore/root` : undefined;
}

/**
 * One name as one safe path segment: every character but `A-Z a-z 0-9 _ - .` is
 * percent-encoded (UTF-8), a leading dot too, so the result never contains a separator, is
 * never `.` or `..`, never hidden, and distinct names stay distinct. Names that would escape to
 * more than 200 characters become `~` and their SHA-256 (`~` is always escaped otherwise).
 * Empty or ill-formed (lone surrogate) names are a `RangeError`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeCacheName } from "./cache.ts";
 *
 * assert.equal(escapeCacheName("https://tuf-repo-cdn.sigstore.dev"), "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev");
 * assert.equal(escapeCacheName("../../etc/passwd"), "%2E.%2F..%2Fetc%2Fpasswd");
 * ```
 */
export function escapeCacheName(name: string): string {
  if (name === "") throw new RangeError("Cannot escape an empty name");
  // Lone surrogates would all encode as U+FFFD and collide.
  if (!name.isWellFormed()) throw new RangeError("Cannot escape a name that is not well-formed");
  let out = "";
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_.-]/.test(c) && !(out === "" && c === ".")
      ? c
      : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out.length > MAX_SEGMENT ? `~${toHex(sha256(utf8(name)))}` : out;
}

/** The cache directory of one mirror under a TUF root. */
export function mirrorCacheDir(tufRoot: string, mirror: string): string {
  return `${tufRoot.replace(/[\\/]+$/, "")}/${DCOSIGN_CACHE_SUBDIR}/${escapeCacheName(mirror)}`;
}

/** Files up to this size are read synchronously (see `readFileAtMost`). */
const SYNC_READ_BYTES = 1 << 20;

/**
 * The file at `path` if it is a regular file of at most `maxBytes`, else undefined. Files of
 * at most 1 MiB (every metadata file and trusted root in practice) are read with synchronous
 * calls: each asynchronous file call is a round trip through the runtime's thread pool, and a
 * warm verify reads four cache files (~1 ms of a cold run, bench/tuf_bench.ts), while reading a
 * few KB blocks the event loop for microseconds. Larger files are read asynchronously.
 */
async function readFileAtMost(
  path: string,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  let file: Deno.FsFile;
  try {
    // Only a regular file is opened: opening a FIFO would block the event loop until a writer
    // came (a path check first, as the open call cannot be told not to wait).
    if (!Deno.statSync(path).isFile) return undefined;
    file = Deno.openSync(path, { read: true });
  } catch {
    return undefined;
  }
  try {
    const info = file.statSync();
    if (!info.isFile || info.size > maxBytes) return undefined;
    const out = new Uint8Array(info.size);
    const sync = info.size <= SYNC_READ_BYTES;
    let at = 0;
    while (at < out.length) {
      const n = sync ? file.readSync(out.subarray(at)) : await file.read(out.subarray(at));
      if (n === null) break;
      at += n;
    }
    return at === out.length ? out : undefined;
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

/**
 * Write `bytes` to `path` atomically: a temporary file in the same directory (created with
 * `mode`, default 0644), then a rename over the old file.
 */
export async function writeFileAtomic(
  path: string,
  bytes: Uint8Array,
  mode = 0o644,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash);
  const base = path.slice(slash + 1);
  const temp = `${dir}/.${base}.${crypto.getRandomValues(new Uint8Array(8)).toHex()}.tmp`;
  await Deno.mkdir(dir, { recursive: true });
  try {
    await Deno.writeFile(temp, bytes, { mode, createNew: true });
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** The mirror `initialize --mirror` remembered under a TUF root, if any. */
export async function readRememberedMirror(tufRoot: string): Promise<string | undefined> {
  const bytes = await readFileAtMost(
    `${tufRoot.replace(/[\\/]+$/, "")}/${DCOSIGN_CACHE_SUBDIR}/${MIRROR_FILE}`,
    64 * 1024,
  );
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value === "object" && value !== null && "mirror" in value) {
      const mirror = (value as { mirror: unknown }).mirror;
      if (typeof mirror === "string" && /^https?:\/\//.test(mirror)) return mirror;
    }
  } catch {
    // a damaged file remembers nothing
  }
  return undefined;
}

/** Remember `mirror` as the default under a TUF root (atomic). Throws on a write failure. */
export async function rememberMirror(tufRoot: string, mirror: string): Promise<void> {
  await writeFileAtomic(
    `${tufRoot.replace(/[\\/]+$/, "")}/${DCOSIGN_CACHE_SUBDIR}/${MIRROR_FILE}`,
    new TextEncoder().encode(`${JSON.stringify({ mirror })}\n`),
  );
}

/** Options of `TufCache`. */
export interface TufCacheOptions {
  /** The mirror's cache directory; undefined keeps everything in memory from the start. */
  readonly dir?: string;
  /** Told once when the cache falls back to memory. */
  readonly warn?: (message: string) => void;
}

/**
 * One mirror's cache: named files (the updater keeps `root.json`, `trusted_metadata.json` and
 * `targets/<escaped name>`), on disk when it can be, in memory when not (see the module doc).
 */
export class TufCache {
  readonly #dir: string | undefined;
  readonly #warn: (message: string) => void;
  readonly #memory = new Map<string, Uint8Array<ArrayBuffer>>();
  #inMemory: boolean;
  #warned = false;
  /** Set by `reset()` in memory mode: what the directory holds is no longer read. */
  #ignoreDisk = false;

  /** A cache over `options.dir` (memory only without one). */
  constructor(options: TufCacheOptions = {}) {
    this.#dir = options.dir;
    this.#warn = options.warn ?? (() => {});
    this.#inMemory = options.dir === undefined;
  }

  /** `"disk"` while writes reach the directory, `"memory"` after the fallback. */
  get mode(): "disk" | "memory" {
    return this.#inMemory ? "memory" : "disk";
  }

  /** The directory, if any. */
  get dir(): string | undefined {
    return this.#dir;
  }

  #fallBack(reason: string): void {
    this.#inMemory = true;
    if (this.#warned) return;
    this.#warned = true;
    this.#warn(
      this.#dir === undefined
        ? `No TUF cache directory (${reason}): TUF metadata is kept in memory for this run`
        : `Cannot write the TUF cache "${this.#dir}" (${reason}): TUF metadata is kept in memory for this run`,
    );
  }

  /** Call once when the cache is memory-only from the start, to give its one warning. */
  noteNoDirectory(reason: string): void {
    this.#fallBack(reason);
  }

  #path(name: string): string {
    return `${this.#dir}/${name}`;
  }

  /** A cached file of at most `maxBytes`, or undefined. */
  async read(name: string, maxBytes: number): Promise<Uint8Array<ArrayBuffer> | undefined> {
    const held = this.#memory.get(name);
    if (held !== undefined) return held.length <= maxBytes ? toBytes(held) : undefined;
    if (this.#dir === undefined || this.#ignoreDisk) return undefined;
    return await readFileAtMost(this.#path(name), maxBytes);
  }

  /** Store a file; a failing disk switches to memory (one warning), never throws. */
  async write(name: string, bytes: Uint8Array): Promise<void> {
    if (!this.#inMemory) {
      try {
        await writeFileAtomic(this.#path(name), bytes);
        return;
      } catch (error) {
        this.#fallBack(error instanceof Error ? error.message : String(error));
      }
    }
    this.#memory.set(name, toBytes(bytes));
  }

  /** Forget a file. */
  async remove(name: string): Promise<void> {
    this.#memory.delete(name);
    if (this.#inMemory || this.#dir === undefined) return;
    await Deno.remove(this.#path(name)).catch(() => {});
  }

  /** Empty the cache (`initialize`): the directory is removed, or, in memory, ignored. */
  async reset(): Promise<void> {
    this.#memory.clear();
    if (this.#dir === undefined) return;
    if (!this.#inMemory) {
      try {
        await Deno.remove(this.#dir, { recursive: true });
        return;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return;
        this.#fallBack(error instanceof Error ? error.message : String(error));
      }
    }
    this.#ignoreDisk = true;
  }
}

/** The cache file name of a target. */
export function targetCacheName(target: string): string {
  return `targets/${escapeCacheName(target)}`;
}
