/**
 * The embedded transparency log behind `dcosign serve`'s Rekor v1 API: an append-only RFC 6962
 * tree of canonical entries, each accepted only after its signature verifies against the key or
 * certificate it names, with SETs and signed checkpoints from a persistent ECDSA P-256 log key.
 *
 * State lives in `node:sqlite` (WAL): an entry, its search keys and every tree node it completes
 * commit in one transaction, and the WAL file is flushed (`fdatasync`) before the caller is
 * answered or the entry is visible to any read, so an acknowledged entry survives `kill -9` and
 * power loss. The flush is ours, not SQLite's (synchronous=NORMAL, the WAL file opened beside
 * the connection): SQLite's own would block the thread that serves HTTP for the whole fsync,
 * while `FsFile.syncData()` runs on a blocking-pool thread and requests go on meanwhile. Where
 * the WAL file cannot be opened, SQLite flushes (synchronous=FULL). Storing the hash of every complete subtree (about 2n
 * rows) lets proofs read O(log n) nodes. Appends go through a single writer that commits
 * whatever queued meanwhile as one batch (group commit: one fsync, one checkpoint for many
 * concurrent appends), so concurrent requests see one consistent order; reads are synchronous
 * and see committed state only.
 *
 * Throughput (bench/rekor_http_bench.ts): a proposal is verified and canonicalized on worker
 * threads (`_prepare_pool.ts`), where hashedrekord signatures over a digest are checked by the
 * system's OpenSSL when it is bound (`_openssl_ecdsa.ts`; pure JS otherwise); SETs and
 * checkpoints are signed by OpenSSL too (else WebCrypto, concurrently for a batch); the
 * checkpoint a batch's answers carry is signed while its flush runs; complete-subtree hashes
 * are cached (they never change), so proofs for recent entries read no SQLite.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync, type SQLOutputValue, type StatementSync } from "node:sqlite";
import { type Bytes, fromHex, sha256, toHex } from "../../lib/util/bytes.ts";
import { encodePem } from "../../lib/util/pem.ts";
import { signCheckpoint } from "../../lib/tlog/checkpoint.ts";
import { CosignError } from "../../lib/errors.ts";
import { generateKeyPair, PrivateKey } from "../../lib/keys/private_key.ts";
import { hashLeaf } from "../../lib/tlog/merkle.ts";
import {
  consistencyProof,
  inclusionProof,
  type MerkleNodeSource,
  nodesForAppend,
  rootHash,
} from "../../lib/tlog/merkle_tree.ts";
import { type PreparedEntry, prepareEntry } from "./_prepare.ts";
import { PreparePool } from "./_prepare_pool.ts";
import type { RekorLogEntry } from "../../lib/tlog/rekor/client.ts";
import { PublicKey, type Signer } from "../../lib/keys/public_key.ts";
import { type OpenSslSigner, openSslSigner } from "./_openssl_ecdsa.ts";
import { setPayload } from "../../lib/tlog/verify.ts";
import { keyDetailsOf, type TrustedLog } from "../../lib/trust/trusted_root.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";

/** Error codes raised here (besides the entry validation codes). */
export type TransparencyLogErrorCode = "SERVER_LOG_CORRUPT" | "SERVER_LOG_CLOSED";

/** Options of `TransparencyLog.open`. */
export interface TransparencyLogOptions {
  /**
   * The host name in checkpoint origins (`<hostname> - <tree ID>`) and signer names, as Rekor's
   * `--rekor_server.hostname`. Default: `localhost` until `trustedLog(baseUrl)` names the
   * host the log is served at; can be changed later (`hostname`).
   */
  readonly hostname?: string;
  /** Clock for integrated times (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Worker threads that verify and canonicalize proposals. Default: none for a `:memory:` log
   * (tests and demos, where starting a worker does not pay back), else the cores less one,
   * 1 to 4. With 0, proposals are prepared in the log's thread.
   */
  readonly workers?: number;
}

/** A checkpoint and the tree state it signs. */
export interface LogInfo {
  /** Number of entries. */
  readonly treeSize: bigint;
  /** RFC 6962 root hash of the tree. */
  readonly rootHash: Bytes;
  /** The signed checkpoint for this size. */
  readonly signedTreeHead: string;
  /** Decimal tree ID. */
  readonly treeId: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS entries (
  idx INTEGER PRIMARY KEY,
  uuid BLOB NOT NULL UNIQUE,
  body BLOB NOT NULL,
  integrated_time INTEGER NOT NULL,
  set_signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS search (
  term TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (term, idx)
) WITHOUT ROWID;
`;

/** Most appends committed in one transaction. */
const MAX_COMMIT_BATCH = 256;

interface Appended {
  readonly index: bigint;
  readonly created: boolean;
}

interface PendingAppend {
  readonly canonical: PreparedEntry;
  readonly resolve: (result: Appended) => void;
  readonly reject: (error: unknown) => void;
}

/** Most entries one search answer lists. */
export const MAX_SEARCH_ANSWER = 1000;

/** Most signed checkpoints kept in memory (one per recent tree size). */
const CHECKPOINT_CACHE = 64;

/** Most complete-subtree hashes kept in memory (32 bytes each, plus the map's overhead). */
const NODE_CACHE = 1 << 16;

/** The connection's WAL file, for our own flushes; undefined when it is not there to open. */
async function openWal(path: string): Promise<Deno.FsFile | undefined> {
  try {
    return await Deno.open(`${path}-wal`, { read: true });
  } catch {
    return undefined;
  }
}

function corrupt(message: string): CosignError {
  return new CosignError("SERVER_LOG_CORRUPT", `Transparency log storage is corrupt: ${message}`);
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

/**
 * The transparency log's state.
 *
 * @example Append a hashedrekord entry as Rekor's `POST /api/v1/log/entries` receives it
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair } from "@dcosign/dcosign";
 * import { TransparencyLog } from "@dcosign/dcosign/server";
 *
 * await using log = await TransparencyLog.open(":memory:"); // or a node:sqlite file path
 * const key = await generateKeyPair();
 * const data = new TextEncoder().encode("release v1.0");
 * const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
 * const proposed = {
 *   apiVersion: "0.0.1",
 *   kind: "hashedrekord",
 *   spec: {
 *     data: { hash: { algorithm: "sha256", value: digest.toHex() } },
 *     signature: {
 *       content: (await key.sign(data)).toBase64(),
 *       publicKey: { content: btoa(key.publicKey.toPem()) },
 *     },
 *   },
 * };
 * const { entry, created } = await log.append(proposed); // the signature is checked first
 * assert.ok(created);
 * assert.equal(entry.logIndex, 0n);
 * assert.deepEqual(log.searchByHash(`sha256:${digest.toHex()}`), [entry.uuid]);
 * assert.equal((await log.append(proposed)).created, false); // never appended twice
 * ```
 */
export class TransparencyLog implements MerkleNodeSource {
  /** The log's public key (the trusted root's `tlogs[].publicKey`). */
  readonly publicKey: PublicKey;
  /** SHA-256 of the log key's SPKI. */
  readonly logId: Bytes;
  /** Rekor tree ID. */
  readonly treeId: bigint;
  /** When the log key was created (the start of its validity). */
  readonly createdAt: Date;
  /** Checkpoint host name (see `TransparencyLogOptions.hostname`). */
  hostname: string;

  readonly #db: DatabaseSync;
  /** Signs SETs and checkpoints: the log key, through OpenSSL when it is bound. */
  readonly #key: Signer;
  readonly #openSsl: OpenSslSigner | undefined;
  readonly #now: () => number;
  readonly #node: StatementSync;
  readonly #byUuid: StatementSync;
  readonly #byIndex: StatementSync;
  readonly #insertEntry: StatementSync;
  readonly #insertNode: StatementSync;
  readonly #insertTerm: StatementSync;
  readonly #search: StatementSync;
  readonly #checkpoints = new Map<string, Promise<string>>();
  readonly #nodes = new Map<string, Bytes>();
  readonly #workers: number;
  #pool: PreparePool | undefined;
  /** Entries durable and visible to reads. */
  #size: bigint;
  /** Entries committed: `#size` plus those whose flush is under way (or failed). */
  #committed: bigint;
  /** The WAL file, flushed before an append is answered (undefined: SQLite flushes). */
  readonly #wal: Deno.FsFile | undefined;
  #pending: PendingAppend[] = [];
  #draining: Promise<void> | undefined;
  #closed = false;
  readonly #explicitHostname: boolean;

  private constructor(
    db: DatabaseSync,
    key: PrivateKey,
    treeId: bigint,
    createdAt: Date,
    options: TransparencyLogOptions,
    wal: Deno.FsFile | undefined,
  ) {
    this.#db = db;
    this.#wal = wal;
    this.#openSsl = openSslSigner(key);
    this.#key = this.#openSsl ?? key;
    this.publicKey = key.publicKey;
    this.logId = sha256(key.publicKey.spki);
    this.treeId = treeId;
    this.createdAt = createdAt;
    this.hostname = options.hostname ?? "localhost";
    this.#explicitHostname = options.hostname !== undefined;
    this.#now = options.now ?? Date.now;
    this.#workers = options.workers ?? 0;
    this.#node = db.prepare("SELECT hash FROM nodes WHERE level = ? AND idx = ?");
    this.#byUuid = db.prepare(
      "SELECT idx, body, integrated_time, set_signature FROM entries WHERE uuid = ?",
    );
    this.#byIndex = db.prepare(
      "SELECT idx, body, integrated_time, set_signature FROM entries WHERE idx = ?",
    );
    for (const statement of [this.#node, this.#byUuid, this.#byIndex]) {
      statement.setReadBigInts(true);
    }
    this.#insertEntry = db.prepare(
      "INSERT INTO entries (idx, uuid, body, integrated_time, set_signature) VALUES (?, ?, ?, ?, ?)",
    );
    this.#insertNode = db.prepare("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)");
    this.#insertTerm = db.prepare("INSERT OR IGNORE INTO search (term, idx) VALUES (?, ?)");
    this.#search = db.prepare("SELECT idx FROM search WHERE term = ? ORDER BY idx LIMIT ?");
    this.#search.setReadBigInts(true);
    const count = db.prepare("SELECT COUNT(*) AS n, MAX(idx) AS top FROM entries");
    count.setReadBigInts(true);
    const row = count.get()!;
    const n = asInteger(row.n, "entry count");
    if (n > 0n && asInteger(row.top, "last index") !== n - 1n) {
      throw corrupt("entry indexes are not contiguous");
    }
    this.#size = n;
    this.#committed = n;
    if (n > 0n) {
      // Every committed leaf must have its node: entries and nodes commit together.
      const leaves = db.prepare("SELECT COUNT(*) AS n FROM nodes WHERE level = 0");
      leaves.setReadBigInts(true);
      if (asInteger(leaves.get()!.n, "leaf count") !== n) throw corrupt("leaf count differs");
    }
  }

  /**
   * Open (or create) a log stored at `path` (a SQLite file; `:memory:` for an ephemeral log).
   * A new log gets a fresh ECDSA P-256 key and tree ID, both kept for later opens.
   */
  static async open(path: string, options: TransparencyLogOptions = {}): Promise<TransparencyLog> {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path);
    try {
      db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
      db.exec(SCHEMA);
      const meta = (name: string) =>
        db.prepare("SELECT value FROM meta WHERE name = ?").get(name)?.value;
      if (meta("private_key") === undefined) {
        const key = await generateKeyPair({ kind: "ecdsa-p256" });
        const random = crypto.getRandomValues(new Uint8Array(8));
        random[0]! &= 0x7f; // a positive int64, as Trillian tree IDs are
        const insert = db.prepare("INSERT INTO meta (name, value) VALUES (?, ?)");
        db.exec("BEGIN IMMEDIATE");
        try {
          insert.run("private_key", key.toPkcs8());
          insert.run("tree_id", BigInt(`0x${toHex(random)}`).toString());
          // Whole seconds: integrated times are whole seconds and must not precede the key.
          const created = Math.floor((options.now?.() ?? Date.now()) / 1000) * 1000;
          insert.run("created_at", new Date(created).toISOString());
          db.exec("COMMIT");
        } catch (error) {
          db.exec("ROLLBACK");
          throw error;
        }
      }
      const key = await PrivateKey.fromDer(asBytes(meta("private_key"), "private key"), "pkcs8");
      const treeId = BigInt(String(meta("tree_id")));
      const createdAt = new Date(String(meta("created_at")));
      const workers = options.workers ??
        (path === ":memory:" ? 0 : Math.max(1, Math.min(4, navigator.hardwareConcurrency - 1)));
      const wal = path === ":memory:" ? undefined : await openWal(path);
      if (wal) db.exec("PRAGMA synchronous = NORMAL");
      return new TransparencyLog(db, key, treeId, createdAt, { ...options, workers }, wal);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Number of entries. */
  get size(): bigint {
    return this.#size;
  }

  /** The Rekor v1 checkpoint origin. */
  get origin(): string {
    return `${this.hostname} - ${this.treeId}`;
  }

  /** `MerkleNodeSource`: a stored complete-subtree hash (cached: they never change). */
  nodeHash(level: number, index: bigint): Uint8Array {
    const key = `${level}/${index}`;
    const cached = this.#nodes.get(key);
    if (cached) return cached;
    const row = this.#node.get(level, index);
    if (!row) throw corrupt(`node ${level}/${index} is missing`);
    const hash = asBytes(row.hash, "node hash");
    this.#cacheNode(key, hash);
    return hash;
  }

  #cacheNode(key: string, hash: Bytes): void {
    if (this.#nodes.size >= NODE_CACHE) this.#nodes.delete(this.#nodes.keys().next().value!);
    this.#nodes.set(key, hash);
  }

  #checkOpen(): void {
    if (this.#closed) throw new CosignError("SERVER_LOG_CLOSED", "The transparency log is closed");
  }

  /**
   * Validate, canonicalize and append a proposed entry. Returns the entry (with an inclusion
   * proof) and whether it was created; an entry already in the log is returned as it is
   * (`created: false`), never appended twice. Invalid proposals raise `REKOR_ENTRY_INVALID` or
   * `REKOR_ENTRY_UNSUPPORTED`. Resolves only after the entry is durably committed.
   */
  async append(proposed: unknown): Promise<{ entry: RekorLogEntry; created: boolean }> {
    this.#checkOpen();
    if (this.#workers > 0) this.#pool ??= new PreparePool(this.#workers);
    const canonical = this.#pool
      ? await this.#pool.prepare(proposed)
      : await prepareEntry(proposed);
    this.#checkOpen();
    const result = new Promise<Appended>((resolve, reject) =>
      this.#pending.push({ canonical, resolve, reject })
    );
    this.#drain();
    const { index, created } = await result;
    return { entry: await this.#entry(index), created };
  }

  /**
   * Commit pending appends, a batch at a time, until none is left (the single writer). A batch
   * is answered when its flush is done; the next batch commits while that flush runs, and waits
   * only for the flush before it (at most two in flight).
   */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = (async () => {
      let previous: Promise<void> = Promise.resolve();
      while (this.#pending.length > 0) {
        const batch = this.#pending.splice(0, MAX_COMMIT_BATCH);
        let results: Appended[];
        try {
          results = await this.#commit(batch.map((p) => p.canonical));
        } catch (error) {
          for (const p of batch) p.reject(error);
          continue;
        }
        // Sign the checkpoint the answers will carry while the flush runs (private until that
        // size is durable: reads see only `#size`).
        const committed = this.#committed;
        this.#checkpoint(committed, rootHash(this, committed)).catch(() => {});
        const flushed = this.#publish().then(
          () => batch.forEach((p, i) => p.resolve(results[i]!)),
          (error) => batch.forEach((p) => p.reject(error)),
        );
        await previous;
        previous = flushed;
      }
      await previous;
    })().finally(() => {
      this.#draining = undefined;
      // An append may have queued after the loop's last check.
      if (this.#pending.length > 0 && !this.#closed) this.#drain();
    });
  }

  /**
   * Append a batch in one transaction (group commit: one flush for every entry that queued
   * while the previous batch was committing); `#publish` makes it durable and visible. Entries
   * already logged, or repeated within the batch, resolve to their existing index.
   */
  async #commit(batch: readonly PreparedEntry[]): Promise<Appended[]> {
    this.#checkOpen();
    const results: Appended[] = [];
    const fresh: { canonical: PreparedEntry; index: bigint; uuid: Bytes }[] = [];
    const inBatch = new Map<string, bigint>();
    let next = this.#committed;
    for (const canonical of batch) {
      const uuid = fromHex(canonical.uuid);
      const existing = this.#byUuid.get(uuid);
      const earlier = inBatch.get(canonical.uuid);
      if (existing) {
        results.push({ index: asInteger(existing.idx, "index"), created: false });
      } else if (earlier !== undefined) {
        results.push({ index: earlier, created: false });
      } else {
        inBatch.set(canonical.uuid, next);
        fresh.push({ canonical, index: next, uuid });
        results.push({ index: next, created: true });
        next++;
      }
    }
    if (fresh.length === 0) return results;
    const integratedTime = BigInt(Math.floor(this.#now() / 1000));
    const sets = await Promise.all(fresh.map(({ canonical, index }) =>
      this.#key.sign(setPayload({
        logIndex: index,
        logId: this.logId,
        kindVersion: { kind: canonical.kind, version: canonical.apiVersion },
        integratedTime,
        canonicalizedBody: canonical.body,
      }))
    ));
    this.#checkOpen();
    // Nodes completed by earlier entries of this batch are not stored yet: read them here.
    const staged = new Map<string, Uint8Array>();
    const source: MerkleNodeSource = {
      nodeHash: (level, index) => staged.get(`${level}/${index}`) ?? this.nodeHash(level, index),
    };
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      fresh.forEach(({ canonical, index, uuid }, i) => {
        this.#insertEntry.run(index, uuid, canonical.body, integratedTime, sets[i]!);
        for (const [level, at, hash] of nodesForAppend(source, index, hashLeaf(canonical.body))) {
          this.#insertNode.run(level, at, hash);
          staged.set(`${level}/${at}`, hash);
        }
        for (const term of canonical.terms) this.#insertTerm.run(term, index);
      });
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
    for (const [key, hash] of staged) this.#cacheNode(key, hash as Bytes);
    this.#committed = next;
    return results;
  }

  /**
   * Flush the WAL, then make every committed entry visible. A failed flush leaves them
   * committed but unseen (their appends fail); the next flush that succeeds covers them too.
   */
  async #publish(): Promise<void> {
    if (this.#committed === this.#size) return;
    const target = this.#committed;
    await this.#wal?.syncData();
    if (target > this.#size) this.#size = target;
  }

  /** The checkpoint for the current tree, signed once per size. */
  #checkpoint(size: bigint, root: Bytes): Promise<string> {
    const cacheKey = `${this.hostname}/${size}`;
    let note = this.#checkpoints.get(cacheKey);
    if (!note) {
      note = signCheckpoint({
        origin: this.origin,
        treeSize: size,
        rootHash: root,
        extensions: [`Timestamp: ${BigInt(this.#now()) * 1_000_000n}`],
      }, this.#key);
      this.#checkpoints.set(cacheKey, note);
      note.catch(() => this.#checkpoints.delete(cacheKey));
      if (this.#checkpoints.size > CHECKPOINT_CACHE) {
        this.#checkpoints.delete(this.#checkpoints.keys().next().value!);
      }
    }
    return note;
  }

  async #entry(index: bigint): Promise<RekorLogEntry> {
    const row = this.#byIndex.get(index);
    if (!row) throw corrupt(`entry ${index} is missing`);
    const body = asBytes(row.body, "body");
    const uuid = toHex(hashLeaf(body));
    const size = this.#size;
    const root = rootHash(this, size);
    return {
      uuid,
      entryId: `${this.treeId.toString(16).padStart(16, "0")}${uuid}`,
      body,
      integratedTime: asInteger(row.integrated_time, "integrated time"),
      logId: this.logId,
      logIndex: index,
      signedEntryTimestamp: asBytes(row.set_signature, "SET"),
      inclusionProof: {
        logIndex: index,
        rootHash: root,
        treeSize: size,
        hashes: inclusionProof(this, index, size),
        checkpoint: await this.#checkpoint(size, root),
      },
    };
  }

  /** The entry with this 64-hex UUID, with an inclusion proof for the current tree. */
  getByUuid(uuid: string): Promise<RekorLogEntry | undefined> {
    this.#checkOpen();
    if (!/^[0-9a-f]{64}$/.test(uuid)) return Promise.resolve(undefined);
    const row = this.#byUuid.get(fromHex(uuid));
    const index = row ? asInteger(row.idx, "index") : undefined;
    // A row whose flush is still under way is not in the log yet.
    return index !== undefined && index < this.#size
      ? this.#entry(index)
      : Promise.resolve(undefined);
  }

  /** The entry at a log index, with an inclusion proof for the current tree. */
  getByIndex(index: bigint): Promise<RekorLogEntry | undefined> {
    this.#checkOpen();
    if (index < 0n || index >= this.#size) return Promise.resolve(undefined);
    return this.#entry(index);
  }

  #searchTerm(term: string): bigint[] {
    return this.#search.all(term, MAX_SEARCH_ANSWER)
      .map((row) => asInteger(row.idx, "index"))
      .filter((index) => index < this.#size);
  }

  #uuidsAt(indexes: Iterable<bigint>): string[] {
    const uuids: string[] = [];
    for (const index of indexes) {
      const row = this.#byIndex.get(index);
      if (row) uuids.push(toHex(hashLeaf(asBytes(row.body, "body"))));
    }
    return uuids;
  }

  /** UUIDs of entries recording a digest (`sha256:<hex>`, also sha384/sha512). */
  searchByHash(hash: string): string[] {
    this.#checkOpen();
    if (!/^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$/.test(hash)) return [];
    return this.#uuidsAt(this.#searchTerm(hash));
  }

  /**
   * UUIDs of entries signed by a key: DER of a SubjectPublicKeyInfo or of a certificate (which
   * matches by its key). Content only, never a URL (SECURITY.md row 13).
   */
  searchByPublicKey(keyOrCertificate: Uint8Array): string[] {
    this.#checkOpen();
    let spki: Bytes;
    try {
      spki = PublicKey.fromSpki(keyOrCertificate).spki;
    } catch {
      spki = parseCertificate(keyOrCertificate).publicKey.spki;
    }
    return this.#uuidsAt(this.#searchTerm(`key:${toHex(sha256(spki))}`));
  }

  /** A combined search: `or` unions, `and` intersects, in log order. */
  searchIndexes(
    terms: { hash?: string; publicKey?: Uint8Array },
    operator: "and" | "or",
  ): string[] {
    const sets: string[][] = [];
    if (terms.hash !== undefined) sets.push(this.searchByHash(terms.hash));
    if (terms.publicKey !== undefined) sets.push(this.searchByPublicKey(terms.publicKey));
    if (sets.length === 0) return [];
    if (operator === "or") return [...new Set(sets.flat())];
    return sets.reduce((a, b) => a.filter((uuid) => b.includes(uuid)));
  }

  /** The current tree size, root hash and signed checkpoint. */
  async logInfo(): Promise<LogInfo> {
    this.#checkOpen();
    const size = this.#size;
    const root = rootHash(this, size);
    return {
      treeSize: size,
      rootHash: root,
      signedTreeHead: await this.#checkpoint(size, root),
      treeId: this.treeId.toString(),
    };
  }

  /** Consistency proof from `firstSize` to `lastSize` (default: the current size). */
  consistencyProof(
    firstSize: bigint,
    lastSize: bigint = this.#size,
  ): { rootHash: Bytes; hashes: Bytes[] } {
    this.#checkOpen();
    if (firstSize < 1n || firstSize > lastSize || lastSize > this.#size) {
      throw new RangeError(
        `No consistency proof from ${firstSize} to ${lastSize} in a tree of ${this.#size}`,
      );
    }
    return {
      rootHash: rootHash(this, lastSize),
      hashes: consistencyProof(this, firstSize, lastSize),
    };
  }

  /** Inclusion proof of an index in a tree of `size` entries (default: the current size). */
  inclusionProof(index: bigint, size: bigint = this.#size): Bytes[] {
    this.#checkOpen();
    if (size > this.#size) throw new RangeError(`The tree has ${this.#size} entries, not ${size}`);
    return inclusionProof(this, index, size);
  }

  /**
   * The log key as the trusted root lists it, for a log served at `baseUrl`. Unless a
   * `hostname` was given to `open`, checkpoints from now on name the host of `baseUrl`, as
   * verifiers that compare the checkpoint signer with the trusted root's URL expect.
   */
  trustedLog(baseUrl: string): TrustedLog {
    if (!this.#explicitHostname) {
      try {
        this.hostname = new URL(baseUrl).host || this.hostname;
      } catch {
        throw new TypeError(`Invalid transparency log URL "${baseUrl}"`);
      }
    }
    return {
      baseUrl,
      logId: this.logId,
      key: this.publicKey,
      keyDetails: keyDetailsOf(this.publicKey),
      validFor: { start: this.createdAt },
    };
  }

  /** The log key as PEM (`GET /api/v1/log/publicKey`). */
  publicKeyPem(): string {
    return encodePem("PUBLIC KEY", this.publicKey.spki);
  }

  /** Wait for queued appends, then close the database. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while (this.#draining) await this.#draining;
    this.#closed = true;
    this.#pool?.close();
    this.#wal?.close();
    this.#openSsl?.[Symbol.dispose]();
    this.#db.close();
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
