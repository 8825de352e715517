/**
 * The embedded Rekor v2 log behind `dcosign serve`'s `/rekor-v2/` prefix: an append-only
 * RFC 6962 tree of canonical hashedrekord (and dsse) 0.0.2 bodies, each accepted only after
 * `canonicalizeRekorV2Request` checked its signatures, answered as a `TransparencyLogEntry`
 * with an inclusion proof and a C2SP checkpoint (rekor-tiles' answer: no SET, no integrated
 * time), and readable as C2SP tlog-tiles: the checkpoint, hash tiles and entry bundles. The
 * deprecated dsse request, which rekor-tiles dropped (#744), is still accepted so that a client
 * of an older deployment can be tested; dcosign logs envelopes as hashedrekord, as cosign v3.
 *
 * State lives in `node:sqlite` (WAL, synchronous=FULL), as the Rekor v1 log keeps it, rather
 * than as tile files: an entry and every tree node it completes commit in one transaction
 * before the caller is answered, so an acknowledged entry survives `kill -9`, where tile files
 * would need several files rewritten per append (the partial tiles of each level and the entry
 * bundle) and an ordering protocol to stay consistent with the checkpoint after a crash. The
 * stored nodes are exactly what tiles hold: the level-`l` tile `n` is the nodes of height `8l`
 * numbered `256n` to `256n + 255`, so a tile is one indexed range read, and a proof O(log n)
 * reads. Appends queue behind a single writer that commits whatever queued meanwhile as one
 * batch (one fsync for many concurrent entries).
 *
 * The log key is Ed25519 (C2SP tlog-tiles: a log that may meet witnesses signs with Ed25519);
 * checkpoints name the log by the host name of the URL it is served at, as sigstore-go expects
 * (Go's `url.Hostname()`), and the log ID is the C2SP key ID of that name and key in full
 * (SHA-256(name || 0x0A || 0x01 || key)), as rekor-tiles states it.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { type Bytes, concat, sha256, toHex, utf8 } from "../../lib/util/bytes.ts";
import { CosignError } from "../../lib/errors.ts";
import { signCheckpoint } from "../../lib/tlog/checkpoint.ts";
import type { TlogEntry } from "../../lib/tlog/entry.ts";
import { HASH_SIZE, hashLeaf } from "../../lib/tlog/merkle.ts";
import {
  inclusionProof,
  type MerkleNodeSource,
  nodesForAppend,
  rootHash,
} from "../../lib/tlog/merkle_tree.ts";
import type { CanonicalEntry } from "../../lib/tlog/rekor/canonicalize.ts";
import {
  canonicalizeRekorV2Request,
  parseRekorV2Request,
} from "../../lib/tlog/rekor_v2/entries.ts";
import {
  encodeEntryBundle,
  MAX_BUNDLE_ENTRY_BYTES,
  TILE_WIDTH,
} from "../../lib/tlog/rekor_v2/tiles.ts";
import { generateKeyPair, PrivateKey } from "../../lib/keys/private_key.ts";
import type { PublicKey } from "../../lib/keys/public_key.ts";
import type { TrustedLog } from "../../lib/trust/trusted_root.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  idx INTEGER PRIMARY KEY,
  leaf BLOB NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
`;

/** Most appends committed in one transaction. */
const MAX_COMMIT_BATCH = 256;

/** Levels between two tile levels: a tile is a subtree of height 8. */
const TILE_HEIGHT = 8;

/** Options of `RekorV2Log.open`. */
export interface RekorV2LogOptions {
  /**
   * The checkpoint origin and signer name (rekor-tiles' `--hostname`). Default: `localhost`
   * until `trustedLog(baseUrl)` names the host name the log is served at.
   */
  readonly origin?: string;
}

interface PendingAppend {
  readonly canonical: CanonicalEntry;
  readonly resolve: (result: { index: bigint; created: boolean }) => void;
  readonly reject: (error: unknown) => void;
}

function corrupt(message: string): CosignError {
  return new CosignError("SERVER_LOG_CORRUPT", `Rekor v2 log storage is corrupt: ${message}`);
}

function asBytes(value: SQLOutputValue | undefined, what: string): Bytes {
  if (!(value instanceof Uint8Array)) throw corrupt(`${what} is not a blob`);
  return Uint8Array.from(value) as Bytes;
}

function asInteger(value: SQLOutputValue | undefined, what: string): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw corrupt(`${what} is not an integer`);
}

/** The full C2SP key ID of an Ed25519 key named `name`: rekor-tiles' log ID. */
function c2spLogId(name: string, key: PublicKey): Bytes {
  return sha256(concat(utf8(`${name}\n`), new Uint8Array([0x01]), key.rawKey));
}

/** True for a C2SP signer name: non-empty, no white space, no plus sign. */
function isNoteName(name: string): boolean {
  return name !== "" && !/[\s+]/.test(name);
}

/**
 * The Rekor v2 log's state.
 *
 * @example Append a hashedrekord request as `POST /api/v2/log/entries` receives it
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair } from "@dcosign/dcosign";
 * import { RekorV2Log } from "@dcosign/dcosign/server";
 *
 * await using log = await RekorV2Log.open(":memory:"); // or a node:sqlite file path
 * const key = await generateKeyPair();
 * const digest = new Uint8Array(
 *   await crypto.subtle.digest("SHA-256", new TextEncoder().encode("release v1.0")),
 * );
 * const request = {
 *   hashedRekordRequestV002: {
 *     digest: digest.toBase64(),
 *     signature: {
 *       content: key.signPrehashed(digest, "sha256").toBase64(),
 *       verifier: {
 *         publicKey: { rawBytes: key.publicKey.spki.toBase64() },
 *         keyDetails: "PKIX_ECDSA_P256_SHA_256",
 *       },
 *     },
 *   },
 * };
 * const { entry, created } = await log.append(request); // the signature is checked first
 * assert.ok(created);
 * assert.equal(entry.logIndex, 0n);
 * assert.equal(log.tile(0, 0n, 1)?.length, 32); // the partial level-0 tile: one leaf hash
 * assert.equal((await log.append(request)).created, false); // never appended twice
 * ```
 */
export class RekorV2Log implements MerkleNodeSource {
  /** The log's Ed25519 public key (the trusted root's `tlogs[].publicKey`). */
  readonly publicKey: PublicKey;
  /** When the log key was created (the start of its validity). */
  readonly createdAt: Date;

  readonly #db: DatabaseSync;
  readonly #key: PrivateKey;
  readonly #explicitOrigin: boolean;
  readonly #node: StatementSync;
  readonly #nodeRange: StatementSync;
  readonly #byLeaf: StatementSync;
  readonly #byIndex: StatementSync;
  readonly #bodyRange: StatementSync;
  readonly #insertEntry: StatementSync;
  readonly #insertNode: StatementSync;
  #origin: string;
  #logId: Bytes;
  #size: bigint;
  #checkpoint: { key: string; note: Promise<string> } | undefined;
  #pending: PendingAppend[] = [];
  #draining: Promise<void> | undefined;
  #closed = false;

  private constructor(
    db: DatabaseSync,
    key: PrivateKey,
    createdAt: Date,
    options: RekorV2LogOptions,
  ) {
    this.#db = db;
    this.#key = key;
    this.publicKey = key.publicKey;
    this.createdAt = createdAt;
    this.#explicitOrigin = options.origin !== undefined;
    this.#origin = options.origin ?? "localhost";
    if (!isNoteName(this.#origin)) throw new RangeError(`Invalid origin "${this.#origin}"`);
    this.#logId = c2spLogId(this.#origin, this.publicKey);
    this.#node = db.prepare("SELECT hash FROM nodes WHERE level = ? AND idx = ?");
    this.#nodeRange = db.prepare(
      "SELECT hash FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx",
    );
    this.#byLeaf = db.prepare("SELECT idx FROM entries WHERE leaf = ?");
    this.#byIndex = db.prepare("SELECT kind, body FROM entries WHERE idx = ?");
    this.#bodyRange = db.prepare(
      "SELECT body FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
    );
    for (const statement of [this.#node, this.#byLeaf]) statement.setReadBigInts(true);
    this.#insertEntry = db.prepare(
      "INSERT INTO entries (idx, leaf, kind, body) VALUES (?, ?, ?, ?)",
    );
    this.#insertNode = db.prepare("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)");
    const count = db.prepare("SELECT COUNT(*) AS n, MAX(idx) AS top FROM entries");
    count.setReadBigInts(true);
    const row = count.get()!;
    const n = asInteger(row.n, "entry count");
    if (n > 0n && asInteger(row.top, "last index") !== n - 1n) {
      throw corrupt("entry indexes are not contiguous");
    }
    const leaves = db.prepare("SELECT COUNT(*) AS n FROM nodes WHERE level = 0");
    leaves.setReadBigInts(true);
    // Entries and their nodes commit together: a leaf count that differs is damage.
    if (asInteger(leaves.get()!.n, "leaf count") !== n) throw corrupt("leaf count differs");
    this.#size = n;
  }

  /**
   * Open (or create) a log stored at `path` (a SQLite file; `:memory:` for an ephemeral log).
   * A new log gets a fresh Ed25519 key, kept for later opens.
   */
  static async open(path: string, options: RekorV2LogOptions = {}): Promise<RekorV2Log> {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
      db.exec(SCHEMA);
      const meta = (name: string) =>
        db.prepare("SELECT value FROM meta WHERE name = ?").get(name)?.value;
      if (meta("private_key") === undefined) {
        const key = await generateKeyPair({ kind: "ed25519" });
        const insert = db.prepare("INSERT INTO meta (name, value) VALUES (?, ?)");
        db.exec("BEGIN IMMEDIATE");
        try {
          insert.run("private_key", key.toPkcs8());
          // Whole seconds, as trusted roots state validity.
          insert.run("created_at", new Date(Math.floor(Date.now() / 1000) * 1000).toISOString());
          db.exec("COMMIT");
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
      }
      const key = await PrivateKey.fromDer(asBytes(meta("private_key"), "private key"), "pkcs8");
      if (key.kind !== "ed25519") throw corrupt("the log key is not Ed25519");
      const createdAt = new Date(String(meta("created_at")));
      if (Number.isNaN(createdAt.getTime())) throw corrupt("the creation time is not a date");
      return new RekorV2Log(db, key, createdAt, options);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Number of entries. */
  get size(): bigint {
    return this.#size;
  }

  /** The checkpoint origin and signer name. */
  get origin(): string {
    return this.#origin;
  }

  /** The log ID: the full C2SP key ID of the origin and key (rekor-tiles' `logId`). */
  get logId(): Bytes {
    return this.#logId;
  }

  /** `MerkleNodeSource`: a stored complete-subtree hash. */
  nodeHash(level: number, index: bigint): Uint8Array {
    const row = this.#node.get(level, index);
    if (!row) throw corrupt(`node ${level}/${index} is missing`);
    return asBytes(row.hash, "node hash");
  }

  #checkOpen(): void {
    if (this.#closed) throw new CosignError("SERVER_LOG_CLOSED", "The Rekor v2 log is closed");
  }

  /**
   * Read, check and append a `CreateEntryRequest` (its protobuf JSON). Returns the entry with
   * an inclusion proof and checkpoint for the current tree, and whether it was created; an
   * entry already logged is returned as it is (`created: false`), never appended twice. Invalid
   * requests raise `REKOR_ENTRY_INVALID` or `REKOR_ENTRY_UNSUPPORTED`. Resolves only after the
   * entry is durably committed.
   */
  async append(request: unknown): Promise<{ entry: TlogEntry; created: boolean }> {
    this.#checkOpen();
    const canonical = await canonicalizeRekorV2Request(parseRekorV2Request(request));
    if (canonical.body.length > MAX_BUNDLE_ENTRY_BYTES) {
      // An entry bundle states each length in 16 bits (C2SP tlog-tiles).
      throw new CosignError(
        "REKOR_ENTRY_INVALID",
        `Invalid Rekor v2 entry: its body is larger than ${MAX_BUNDLE_ENTRY_BYTES} bytes`,
      );
    }
    const appended = new Promise<{ index: bigint; created: boolean }>((resolve, reject) =>
      this.#pending.push({ canonical, resolve, reject })
    );
    this.#drain();
    const { index, created } = await appended;
    return { entry: (await this.entry(index))!, created };
  }

  /** Commit pending appends, a batch at a time, until none is left (the single writer). */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = (async () => {
      // Let appends that arrive in the same turn join the first batch.
      await Promise.resolve();
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, MAX_COMMIT_BATCH);
        try {
          const results = this.#commit(batch.map((p) => p.canonical));
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    })().finally(() => {
      this.#draining = undefined;
      if (this.#pending.length > 0 && !this.#closed) this.#drain();
    });
  }

  /** Append a batch in one transaction; entries already logged resolve to their index. */
  #commit(batch: readonly CanonicalEntry[]): { index: bigint; created: boolean }[] {
    this.#checkOpen();
    const results: { index: bigint; created: boolean }[] = [];
    const fresh: { body: Bytes; kind: string; leaf: Bytes; index: bigint }[] = [];
    const inBatch = new Map<string, bigint>();
    let next = this.#size;
    for (const { body, entry } of batch) {
      const leaf = hashLeaf(body);
      const id = toHex(leaf);
      const existing = this.#byLeaf.get(leaf);
      const earlier = inBatch.get(id);
      if (existing) results.push({ index: asInteger(existing.idx, "index"), created: false });
      else if (earlier !== undefined) results.push({ index: earlier, created: false });
      else {
        inBatch.set(id, next);
        fresh.push({ body, kind: entry.kind, leaf, index: next });
        results.push({ index: next, created: true });
        next++;
      }
    }
    if (fresh.length === 0) return results;
    // Nodes completed by earlier entries of this batch are not stored yet: read them here.
    const staged = new Map<string, Uint8Array>();
    const source: MerkleNodeSource = {
      nodeHash: (level, index) => staged.get(`${level}/${index}`) ?? this.nodeHash(level, index),
    };
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const { body, kind, leaf, index } of fresh) {
        this.#insertEntry.run(index, leaf, kind, body);
        for (const [level, at, hash] of nodesForAppend(source, index, leaf)) {
          this.#insertNode.run(level, at, hash);
          staged.set(`${level}/${at}`, hash);
        }
      }
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    this.#size = next;
    return results;
  }

  /** The signed checkpoint of a tree size, signed once per origin and size. */
  #signedCheckpoint(size: bigint, root: Bytes): Promise<string> {
    const key = `${this.#origin}/${size}`;
    if (this.#checkpoint?.key !== key) {
      const note = signCheckpoint(
        { origin: this.#origin, treeSize: size, rootHash: root },
        this.#key,
      );
      this.#checkpoint = { key, note };
      note.catch(() => {
        if (this.#checkpoint?.key === key) this.#checkpoint = undefined;
      });
    }
    return this.#checkpoint.note;
  }

  /** The latest checkpoint (`GET <prefix>/checkpoint`). */
  checkpoint(): Promise<string> {
    this.#checkOpen();
    const size = this.#size;
    return this.#signedCheckpoint(size, rootHash(this, size));
  }

  /**
   * The entry at `index` as Rekor v2 answers it: log index, log ID, kind and version, the
   * canonical body, and an inclusion proof for the current tree with its checkpoint.
   */
  async entry(index: bigint): Promise<TlogEntry | undefined> {
    this.#checkOpen();
    if (index < 0n || index >= this.#size) return undefined;
    const row = this.#byIndex.get(index);
    if (!row) throw corrupt(`entry ${index} is missing`);
    const body = asBytes(row.body, "body");
    const kind = row.kind;
    if (kind !== "hashedrekord" && kind !== "dsse") {
      throw corrupt(`entry ${index} has kind ${kind}`);
    }
    const size = this.#size;
    const root = rootHash(this, size);
    return {
      logIndex: index,
      logId: this.#logId,
      kindVersion: { kind, version: "0.0.2" },
      integratedTime: 0n,
      inclusionProof: {
        logIndex: index,
        rootHash: root,
        treeSize: size,
        hashes: inclusionProof(this, index, size),
        checkpoint: await this.#signedCheckpoint(size, root),
      },
      canonicalizedBody: body,
    };
  }

  /**
   * A hash tile (C2SP tlog-tiles): level `level`, tile `index`, `width` hashes (default 256),
   * the node hashes of height `8 * level` numbered from `256 * index`. `undefined` when the
   * tree does not (yet) hold every one of them.
   */
  tile(level: number, index: bigint, width: number = TILE_WIDTH): Bytes | undefined {
    this.#checkOpen();
    const first = index * BigInt(TILE_WIDTH);
    const end = first + BigInt(width);
    const height = TILE_HEIGHT * level;
    // The last hash covers leaves up to end * 2^height: all must be in the tree.
    if (height > 64 || end << BigInt(height) > this.#size) return undefined;
    const rows = this.#nodeRange.all(height, first, end);
    if (rows.length !== width) throw corrupt(`tile ${level}/${index} misses nodes`);
    const hashes = rows.map((row) => asBytes(row.hash, "node hash"));
    if (hashes.some((h) => h.length !== HASH_SIZE)) throw corrupt("a node hash is not 32 bytes");
    return concat(...hashes);
  }

  /**
   * An entry bundle (C2SP tlog-tiles): the canonical bodies of entries `256 * index` to
   * `256 * index + width - 1` (default a full bundle), each with its big-endian uint16 length.
   * `undefined` when the log does not hold them all.
   */
  entryBundle(index: bigint, width: number = TILE_WIDTH): Bytes | undefined {
    this.#checkOpen();
    const first = index * BigInt(TILE_WIDTH);
    const end = first + BigInt(width);
    if (end > this.#size) return undefined;
    const rows = this.#bodyRange.all(first, end);
    if (rows.length !== width) throw corrupt(`entries ${first} to ${end - 1n} are missing`);
    return encodeEntryBundle(rows.map((row) => asBytes(row.body, "body")));
  }

  /**
   * The log as the trusted root lists it, for a log served at `baseUrl`. Unless an `origin`
   * was given to `open`, checkpoints from now on name the host name of `baseUrl` (without a
   * port, as sigstore-go expects), and the log ID follows.
   */
  trustedLog(baseUrl: string): TrustedLog {
    let hostname: string;
    try {
      // Go's `url.Hostname()`: an IPv6 address without its brackets.
      hostname = new URL(baseUrl).hostname.replace(/^\[(.*)\]$/, "$1");
    } catch (cause) {
      throw new TypeError(`Invalid Rekor v2 URL "${baseUrl}"`, { cause });
    }
    if (!this.#explicitOrigin && isNoteName(hostname)) {
      this.#origin = hostname;
      this.#logId = c2spLogId(hostname, this.publicKey);
    }
    return {
      baseUrl,
      logId: this.#logId,
      key: this.publicKey,
      keyDetails: "PKIX_ED25519",
      validFor: { start: this.createdAt },
    };
  }

  /** Wait for queued appends, then close the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#draining) await this.#draining;
    this.#closed = true;
    this.#db.close();
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
