/**
 * The embedded stack's TUF repository (`dcosign serve`): the state class behind
 * `server/tuf/routes.ts`. It generates role keys (Ed25519 or ECDSA P-256), writes root v1 and
 * later rotations, targets for the trust material (`trusted_root.json`,
 * `signing_config.v0.2.json`), snapshot and timestamp, with consistent snapshots by default
 * (`N.root.json`, `N.snapshot.json`, `N.targets.json`, `targets/<sha256>.<name>`), and re-signs
 * what is about to expire (`refreshTimestamp`, `refreshExpiring`; the timestamp lives one day).
 * The metadata is plain TUF 1.0 (OLPC canonical JSON signatures, securesystemslib key IDs):
 * dcosign's client verifies it, and so would tuf-js or go-tuf.
 *
 * State lives under `dataDir` when given (keys in `keys.json` mode 0600, versions and target
 * list in `state.json`, every served file under `files/`), written file-by-file atomically with
 * `state.json` last, so a restart keeps keys and versions; in memory otherwise.
 *
 * The attack tests generate repositories with it too, hence the knobs: per-role expiry and
 * version overrides on every write, root rotations that skip the old or new signatures,
 * `signMetadata` to sign any crafted `signed` object with any keys, and `setFile` to serve
 * other bytes at a path (not persisted).
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { writeFileAtomic } from "../../lib/trust/tuf/cache.ts";
import { encodeTufCanonicalJson } from "../../lib/trust/tuf/canonical_json.ts";
import type { TufRoleName } from "../../lib/trust/tuf/metadata.ts";
import { TufSigningKey, type TufSigningKeyType } from "./keys.ts";

/** Error codes raised here. */
export type TufRepositoryErrorCode = "SERVER_TUF_STATE";

/** The TUF specification version the metadata states. */
const SPEC_VERSION = "1.0.31";

const ROLES: readonly TufRoleName[] = ["root", "timestamp", "snapshot", "targets"];
const DAY = 24 * 60 * 60 * 1000;

/** Default lifetimes: root, targets and snapshot a year, the timestamp a day. */
export const DEFAULT_TUF_EXPIRY: Readonly<Record<TufRoleName, number>> = {
  root: 365 * DAY,
  targets: 365 * DAY,
  snapshot: 365 * DAY,
  timestamp: DAY,
};

/** Options of `TufRepository.create`. */
export interface TufRepositoryOptions {
  /** Directory for keys, state and files; memory when omitted. */
  readonly dataDir?: string;
  /** Type of generated keys (default `ed25519`). */
  readonly keyType?: TufSigningKeyType;
  /** Clock (default `() => new Date()`). */
  readonly now?: () => Date;
  /** Lifetime of each role's metadata in ms (defaults `DEFAULT_TUF_EXPIRY`). */
  readonly expiry?: Partial<Record<TufRoleName, number>>;
  /** Write consistent snapshots (default true). */
  readonly consistentSnapshot?: boolean;
  /** Keys generated per role (default 1). */
  readonly keysPerRole?: number;
  /** Threshold per role (default 1). */
  readonly thresholds?: Partial<Record<TufRoleName, number>>;
}

/** Per-write overrides, for tests that need odd metadata. */
export interface TufWriteOptions {
  /** Exact expiry of the roles this write signs. */
  readonly expires?: Partial<Record<TufRoleName, Date>>;
  /** Exact version of the roles this write signs (default: previous + 1). */
  readonly versions?: Partial<Record<TufRoleName, number>>;
}

/** Options of `rotateRoot`. */
export interface RotateRootOptions extends TufWriteOptions {
  /** Roles given fresh keys (default `["root"]`; `[]` only bumps the version). */
  readonly rotate?: readonly TufRoleName[];
  /** New thresholds. */
  readonly thresholds?: Partial<Record<TufRoleName, number>>;
  /** Sign with the previous root keys (default true; false makes an invalid rotation). */
  readonly signWithOld?: boolean;
  /** Sign with the new root keys (default true; false makes an invalid rotation). */
  readonly signWithNew?: boolean;
}

interface TargetEntry {
  readonly length: number;
  readonly sha256: string;
}

interface State {
  readonly keyType: TufSigningKeyType;
  readonly consistentSnapshot: boolean;
  readonly expiry: Record<TufRoleName, number>;
  readonly thresholds: Record<TufRoleName, number>;
  readonly versions: Record<TufRoleName, number>;
  readonly targets: Record<string, TargetEntry>;
  /** Expiry (ms) of each role's current metadata. */
  readonly expiresAt: Record<TufRoleName, number>;
}

function stateError(message: string, cause?: unknown): CosignError {
  return new CosignError("SERVER_TUF_STATE", message, cause === undefined ? {} : { cause });
}

function tufTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", Uint8Array.from(data))).toHex();
}

function checkTargetName(name: string): void {
  const segments = name.split("/");
  if (
    name.length > 200 ||
    !segments.every((s) => /^[A-Za-z0-9_.-]+$/.test(s) && s !== "." && s !== "..")
  ) {
    throw new RangeError(`Invalid TUF target name "${name}"`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function roleNumbers(value: unknown, what: string, min: number): Record<TufRoleName, number> {
  if (!isRecord(value)) throw new SyntaxError(`${what}: expected an object`);
  const out = {} as Record<TufRoleName, number>;
  for (const role of ROLES) {
    const n = value[role];
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min) {
      throw new SyntaxError(`${what}.${role}: expected an integer >= ${min}`);
    }
    out[role] = n;
  }
  return out;
}

/** The persisted `state.json`, checked field by field. */
function parseState(value: unknown): State {
  if (!isRecord(value)) throw new SyntaxError("state: expected an object");
  const { keyType, consistentSnapshot, targets } = value;
  if (keyType !== "ed25519" && keyType !== "ecdsa-p256") {
    throw new SyntaxError("state.keyType: unknown");
  }
  if (typeof consistentSnapshot !== "boolean") {
    throw new SyntaxError("state.consistentSnapshot: expected a boolean");
  }
  if (!isRecord(targets)) throw new SyntaxError("state.targets: expected an object");
  const parsedTargets: Record<string, TargetEntry> = {};
  for (const [name, entry] of Object.entries(targets)) {
    checkTargetName(name);
    if (
      !isRecord(entry) || typeof entry.length !== "number" ||
      !Number.isSafeInteger(entry.length) || entry.length < 0 ||
      typeof entry.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(entry.sha256)
    ) {
      throw new SyntaxError(`state.targets["${name}"]: invalid`);
    }
    parsedTargets[name] = { length: entry.length, sha256: entry.sha256 };
  }
  return {
    keyType,
    consistentSnapshot,
    expiry: roleNumbers(value.expiry, "state.expiry", 1),
    thresholds: roleNumbers(value.thresholds, "state.thresholds", 1),
    versions: roleNumbers(value.versions, "state.versions", 1),
    targets: parsedTargets,
    expiresAt: roleNumbers(value.expiresAt, "state.expiresAt", Number.MIN_SAFE_INTEGER),
  };
}

/**
 * The embedded TUF repository (see the module doc).
 *
 * @example Publish a target, rotate the root, and read what a client would fetch
 * ```ts
 * import assert from "node:assert/strict";
 * import { TufRepository } from "@dcosign/dcosign/server";
 *
 * const repo = await TufRepository.create();
 * await repo.setTargets({ "trusted_root.json": new TextEncoder().encode("{}") });
 * assert.equal(await repo.rotateRoot(), 2);
 * assert.ok(repo.file("2.root.json")); // signed by the old root keys and the new ones
 * assert.ok(repo.file("timestamp.json"));
 * ```
 */
export class TufRepository {
  readonly #dataDir: string | undefined;
  readonly #now: () => Date;
  #state: State;
  #keys: Record<TufRoleName, TufSigningKey[]>;
  readonly #files = new Map<string, Uint8Array<ArrayBuffer>>();
  readonly #overrides = new Map<string, Uint8Array<ArrayBuffer> | null>();
  /** The current `signed` object of each role, for derived writes. */
  readonly #signed = new Map<TufRoleName, Record<string, unknown>>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    dataDir: string | undefined,
    now: () => Date,
    state: State,
    keys: Record<TufRoleName, TufSigningKey[]>,
  ) {
    this.#dataDir = dataDir;
    this.#now = now;
    this.#state = state;
    this.#keys = keys;
  }

  /**
   * Open the repository in `dataDir` (keys, versions and files as the last run left them), or
   * create one: fresh keys, root v1, empty targets v1, snapshot v1, timestamp v1.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TufRepository } from "./repository.ts";
   *
   * const repo = await TufRepository.create();
   * await repo.setTargets({ "trusted_root.json": new TextEncoder().encode("{}") });
   * assert.deepEqual(repo.versions, { root: 1, timestamp: 2, snapshot: 2, targets: 2 });
   * ```
   */
  static async create(options: TufRepositoryOptions = {}): Promise<TufRepository> {
    const now = options.now ?? (() => new Date());
    if (options.dataDir !== undefined) {
      const loaded = await TufRepository.#load(options.dataDir, now);
      if (loaded !== undefined) return loaded;
    }
    const keyType = options.keyType ?? "ed25519";
    const perRole = options.keysPerRole ?? 1;
    if (!Number.isInteger(perRole) || perRole < 1 || perRole > 16) {
      throw new RangeError("keysPerRole must be 1 to 16");
    }
    const keys = {} as Record<TufRoleName, TufSigningKey[]>;
    for (const role of ROLES) {
      keys[role] = [];
      for (let i = 0; i < perRole; i++) keys[role].push(await TufSigningKey.generate(keyType));
    }
    const state: State = {
      keyType,
      consistentSnapshot: options.consistentSnapshot ?? true,
      expiry: { ...DEFAULT_TUF_EXPIRY, ...options.expiry },
      thresholds: { root: 1, timestamp: 1, snapshot: 1, targets: 1, ...options.thresholds },
      versions: { root: 0, timestamp: 0, snapshot: 0, targets: 0 },
      targets: {},
      expiresAt: { root: 0, timestamp: 0, snapshot: 0, targets: 0 },
    };
    const repo = new TufRepository(options.dataDir, now, state, keys);
    if (options.dataDir !== undefined) await repo.#saveKeys();
    await repo.#writeRoot({}, { signWithOld: false });
    await repo.#writeTargets({});
    return repo;
  }

  static async #load(dir: string, now: () => Date): Promise<TufRepository | undefined> {
    let keysText: string;
    let stateText: string;
    try {
      stateText = await Deno.readTextFile(`${dir}/state.json`);
      keysText = await Deno.readTextFile(`${dir}/keys.json`);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw stateError(`Cannot read the TUF repository in "${dir}"`, error);
    }
    let state: State;
    const keys = {} as Record<TufRoleName, TufSigningKey[]>;
    try {
      const parsedState: unknown = JSON.parse(stateText);
      const parsedKeys: unknown = JSON.parse(keysText);
      if (!isRecord(parsedState) || !isRecord(parsedKeys) || !isRecord(parsedKeys.roles)) {
        throw new SyntaxError("not an object");
      }
      state = parseState(parsedState);
      for (const role of ROLES) {
        const list = parsedKeys.roles[role];
        if (!Array.isArray(list)) throw new SyntaxError(`no keys for ${role}`);
        keys[role] = await Promise.all(
          list.map((pkcs8) =>
            TufSigningKey.fromPkcs8(state.keyType, Uint8Array.fromBase64(String(pkcs8)))
          ),
        );
      }
    } catch (cause) {
      throw stateError(`Invalid TUF repository state in "${dir}"`, cause);
    }
    const repo = new TufRepository(dir, now, state, keys);
    try {
      for await (const entry of Deno.readDir(`${dir}/files`)) {
        if (!entry.isFile || entry.name.startsWith(".")) continue;
        const path = decodeURIComponent(entry.name);
        repo.#files.set(
          path,
          await Deno.readFile(`${dir}/files/${entry.name}`) as Uint8Array<ArrayBuffer>,
        );
      }
    } catch (cause) {
      throw stateError(`Cannot read the TUF repository files in "${dir}/files"`, cause);
    }
    for (const role of ROLES) {
      const file = role === "timestamp"
        ? "timestamp.json"
        : role === "root" || state.consistentSnapshot
        ? `${state.versions[role]}.${role}.json`
        : `${role}.json`;
      const bytes = repo.#files.get(file);
      if (bytes === undefined) throw stateError(`The TUF repository in "${dir}" lacks "${file}"`);
      let envelope: unknown;
      try {
        envelope = JSON.parse(new TextDecoder().decode(bytes));
      } catch (cause) {
        throw stateError(`Invalid "${file}" in "${dir}"`, cause);
      }
      if (!isRecord(envelope) || !isRecord(envelope.signed)) {
        throw stateError(`Invalid "${file}" in "${dir}"`);
      }
      repo.#signed.set(role, envelope.signed);
    }
    return repo;
  }

  /** Current version of each role. */
  get versions(): Readonly<Record<TufRoleName, number>> {
    return { ...this.#state.versions };
  }

  /** Whether the repository writes consistent snapshots. */
  get consistentSnapshot(): boolean {
    return this.#state.consistentSnapshot;
  }

  /** The current keys of `role`. */
  roleKeys(role: TufRoleName): readonly TufSigningKey[] {
    return [...this.#keys[role]];
  }

  /** A copy of the current `signed` object of `role`, to derive crafted variants from. */
  signedJson(role: TufRoleName): Record<string, unknown> {
    return structuredClone(this.#signed.get(role)!);
  }

  /** The bytes of `N.root.json` (default version 1: what clients bootstrap from). */
  rootBytes(version = 1): Uint8Array<ArrayBuffer> {
    const bytes = this.#files.get(`${version}.root.json`);
    if (bytes === undefined) throw new RangeError(`No root version ${version}`);
    return Uint8Array.from(bytes) as Uint8Array<ArrayBuffer>;
  }

  /**
   * The served bytes at `path` (relative to the repository base: `2.root.json`,
   * `timestamp.json`, `targets/<sha256>.trusted_root.json`, ...), or undefined.
   */
  file(path: string): Uint8Array<ArrayBuffer> | undefined {
    if (this.#overrides.has(path)) return this.#overrides.get(path) ?? undefined;
    return this.#files.get(path);
  }

  /** Serve `bytes` at `path` instead (null: answer 404; undefined: drop the override). */
  setFile(path: string, bytes: Uint8Array | null | undefined): void {
    if (bytes === undefined) this.#overrides.delete(path);
    else {this.#overrides.set(
        path,
        bytes === null ? null : Uint8Array.from(bytes) as Uint8Array<ArrayBuffer>,
      );}
  }

  /** Sign a crafted `signed` object with `keys` (default: the role's current keys). */
  async signMetadata(
    role: TufRoleName,
    signed: Record<string, unknown>,
    keys: readonly TufSigningKey[] = this.#keys[role],
  ): Promise<Uint8Array<ArrayBuffer>> {
    return await TufRepository.#envelope(signed, keys);
  }

  static async #envelope(
    signed: Record<string, unknown>,
    keys: readonly TufSigningKey[],
  ): Promise<Uint8Array<ArrayBuffer>> {
    const canonical = encodeTufCanonicalJson(signed);
    const signatures: { keyid: string; sig: string }[] = [];
    for (const key of keys) {
      if (signatures.some((s) => s.keyid === key.keyid)) continue;
      signatures.push({ keyid: key.keyid, sig: await key.sign(canonical) });
    }
    return new TextEncoder().encode(
      `${JSON.stringify({ signatures, signed }, null, 1)}\n`,
    ) as Uint8Array<ArrayBuffer>;
  }

  /** Replace the target files (any names) and publish new targets, snapshot and timestamp. */
  setTargets(
    files: Readonly<Record<string, Uint8Array>>,
    options: TufWriteOptions = {},
  ): Promise<void> {
    for (const name of Object.keys(files)) checkTargetName(name);
    return this.#exclusive(async () => {
      const targets: Record<string, TargetEntry> = {};
      for (const [name, bytes] of Object.entries(files)) {
        const sha256 = await sha256Hex(bytes);
        targets[name] = { length: bytes.length, sha256 };
        await this.#put(
          this.#targetPath(name, sha256),
          Uint8Array.from(bytes) as Uint8Array<ArrayBuffer>,
        );
      }
      this.#state = { ...this.#state, targets };
      await this.#writeTargets(options);
    });
  }

  /**
   * Publish root version N+1: fresh keys for `rotate` (default the root role), signed by the
   * old root keys and the new ones; when timestamp, snapshot or targets keys change, those
   * roles are re-signed too. Returns the new root version.
   */
  rotateRoot(options: RotateRootOptions = {}): Promise<number> {
    return this.#exclusive(async () => {
      const oldRootKeys = this.#keys.root;
      const rotate = options.rotate ?? ["root"];
      const keys = { ...this.#keys };
      for (const role of rotate) {
        keys[role] = await Promise.all(
          keys[role].map(() => TufSigningKey.generate(this.#state.keyType)),
        );
      }
      this.#keys = keys;
      this.#state = {
        ...this.#state,
        thresholds: { ...this.#state.thresholds, ...options.thresholds },
      };
      if (this.#dataDir !== undefined) await this.#saveKeys();
      await this.#writeRoot(options, { oldRootKeys, ...options });
      if (rotate.includes("targets")) await this.#writeTargets(options);
      else if (rotate.includes("snapshot")) await this.#writeSnapshot(options);
      else if (rotate.includes("timestamp")) await this.#writeTimestamp(options);
      return this.#state.versions.root;
    });
  }

  /**
   * Re-sign the timestamp (version + 1, same snapshot) when it expires within half its
   * lifetime of `now`; true when it did. Cheap when nothing is due: routes call it per request.
   */
  refreshTimestamp(now: Date = this.#now()): Promise<boolean> {
    return this.#exclusive(async () => {
      if (!this.#due("timestamp", now.getTime())) return false;
      await this.#writeTimestamp({});
      return true;
    });
  }

  /** `refreshTimestamp` for every role: re-sign each role due (root by a same-key rotation). */
  refreshExpiring(now: Date = this.#now()): Promise<TufRoleName[]> {
    return this.#exclusive(async () => {
      const at = now.getTime();
      const done: TufRoleName[] = [];
      if (this.#due("root", at)) {
        await this.#writeRoot({}, { oldRootKeys: this.#keys.root });
        done.push("root");
      }
      if (this.#due("targets", at)) {
        await this.#writeTargets({});
        done.push("targets", "snapshot", "timestamp");
      } else if (this.#due("snapshot", at)) {
        await this.#writeSnapshot({});
        done.push("snapshot", "timestamp");
      } else if (this.#due("timestamp", at)) {
        await this.#writeTimestamp({});
        done.push("timestamp");
      }
      return done;
    });
  }

  #due(role: TufRoleName, now: number): boolean {
    return this.#state.expiresAt[role] - now < this.#state.expiry[role] / 2;
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }

  #targetPath(name: string, sha256: string): string {
    if (!this.#state.consistentSnapshot) return `targets/${name}`;
    const slash = name.lastIndexOf("/");
    return `targets/${name.slice(0, slash + 1)}${sha256}.${name.slice(slash + 1)}`;
  }

  /**
   * The next version of `role`'s metadata: its version and expiry advanced (or as `options`
   * say), `fields` signed under the common header (`_type`, `spec_version`, `version`,
   * `expires`) with `keys`, kept as the role's current `signed`.
   */
  async #sign(
    role: TufRoleName,
    options: TufWriteOptions,
    fields: Record<string, unknown>,
    keys: readonly TufSigningKey[],
  ): Promise<{ version: number; bytes: Uint8Array<ArrayBuffer> }> {
    const version = options.versions?.[role] ?? this.#state.versions[role] + 1;
    const expiresAt = options.expires?.[role]?.getTime() ??
      this.#now().getTime() + this.#state.expiry[role];
    this.#state = {
      ...this.#state,
      versions: { ...this.#state.versions, [role]: version },
      expiresAt: { ...this.#state.expiresAt, [role]: expiresAt },
    };
    const signed = {
      _type: role,
      spec_version: SPEC_VERSION,
      version,
      expires: tufTime(expiresAt),
      ...fields,
    };
    const bytes = await TufRepository.#envelope(signed, keys);
    this.#signed.set(role, signed);
    return { version, bytes };
  }

  /** Where a role's metadata is published: version-prefixed under consistent snapshots. */
  #metadataPath(role: "targets" | "snapshot", version: number): string {
    return this.#state.consistentSnapshot ? `${version}.${role}.json` : `${role}.json`;
  }

  async #writeRoot(
    options: TufWriteOptions,
    signing: {
      oldRootKeys?: readonly TufSigningKey[];
      signWithOld?: boolean;
      signWithNew?: boolean;
    },
  ): Promise<void> {
    const keys: Record<string, unknown> = {};
    const roles: Record<string, unknown> = {};
    for (const role of ROLES) {
      for (const key of this.#keys[role]) keys[key.keyid] = key.publicKey;
      roles[role] = {
        keyids: this.#keys[role].map((key) => key.keyid),
        threshold: this.#state.thresholds[role],
      };
    }
    const signers = [
      ...(signing.signWithOld !== false ? signing.oldRootKeys ?? [] : []),
      ...(signing.signWithNew !== false ? this.#keys.root : []),
    ];
    const { version, bytes } = await this.#sign("root", options, {
      consistent_snapshot: this.#state.consistentSnapshot,
      keys,
      roles,
    }, signers);
    // Every root is kept by version (clients walk the chain), the latest also as root.json.
    await this.#put(`${version}.root.json`, bytes);
    await this.#put("root.json", bytes);
    await this.#saveState();
  }

  async #writeTargets(options: TufWriteOptions): Promise<void> {
    const targets: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(this.#state.targets)) {
      targets[name] = { length: entry.length, hashes: { sha256: entry.sha256 } };
    }
    const { version, bytes } = await this.#sign(
      "targets",
      options,
      { targets },
      this.#keys.targets,
    );
    await this.#put(this.#metadataPath("targets", version), bytes);
    await this.#writeSnapshot(options);
  }

  async #writeSnapshot(options: TufWriteOptions): Promise<void> {
    const { version, bytes } = await this.#sign("snapshot", options, {
      meta: { "targets.json": { version: this.#state.versions.targets } },
    }, this.#keys.snapshot);
    await this.#put(this.#metadataPath("snapshot", version), bytes);
    await this.#writeTimestamp(options);
  }

  async #writeTimestamp(options: TufWriteOptions): Promise<void> {
    const snapshot = this.#files.get(
      this.#metadataPath("snapshot", this.#state.versions.snapshot),
    )!;
    const { bytes } = await this.#sign("timestamp", options, {
      meta: {
        "snapshot.json": {
          version: this.#state.versions.snapshot,
          length: snapshot.length,
          hashes: { sha256: await sha256Hex(snapshot) },
        },
      },
    }, this.#keys.timestamp);
    await this.#put("timestamp.json", bytes);
    await this.#saveState();
  }

  async #put(path: string, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    this.#files.set(path, bytes);
    if (this.#dataDir === undefined) return;
    await writeFileAtomic(`${this.#dataDir}/files/${encodeURIComponent(path)}`, bytes);
  }

  async #saveState(): Promise<void> {
    if (this.#dataDir === undefined) return;
    await writeFileAtomic(
      `${this.#dataDir}/state.json`,
      new TextEncoder().encode(`${JSON.stringify(this.#state, null, 1)}\n`),
    );
  }

  async #saveKeys(): Promise<void> {
    const roles: Record<string, string[]> = {};
    for (const role of ROLES) roles[role] = this.#keys[role].map((key) => key.pkcs8.toBase64());
    const path = `${this.#dataDir}/keys.json`;
    // Private keys: created 0600, never readable by others even for a moment.
    await writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify({ roles })}\n`), 0o600);
  }
}
