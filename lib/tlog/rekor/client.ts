/**
 * The Rekor v1 REST client and the wire format of its answers (cosign-spec.md section 5.1).
 *
 * Every answer is read with a size cap, parsed through guards, and checked against what was
 * asked (rekor #2799): an entry's UUID must be the leaf hash of its body, an entry fetched by
 * UUID or index must be that one, and an entry returned for a proposal must log exactly the
 * proposed content. Integers are read exactly (indexes can pass 2^53), and `logEntryToTlogEntry`
 * turns Rekor's hex/JSON shapes into the shared `TlogEntry`. Nothing here trusts the server:
 * verification (SET, proofs) is `lib/tlog/verify.ts`'s job, with keys from the trusted root.
 *
 * @module
 */

import {
  errorAnswerDetail,
  fetchFromRekor,
  readRekorAnswer,
  rekorBaseUrl,
} from "../_rekor_http.ts";
import { asArray, asRecord, asString } from "../../util/json.ts";
import { decodePem } from "../../util/pem.ts";
import { CosignError, errorMessage } from "../../errors.ts";
import { MAX_PROOF_HASHES } from "../merkle.ts";
import { canonicalizeProposedEntry } from "./canonicalize.ts";
import { parseEntryBody } from "./bodies.ts";
import { type ProposedEntry, sameEntryContent } from "./entries.ts";
import {
  asHexBytes,
  decodeLogEntries,
  decodeLogInfo,
  encodeExactJson,
  ENTRY_ID,
  malformed,
  MAX_BATCH,
  MAX_RESPONSE_BYTES,
  MAX_SEARCH_RESULTS,
  mismatch,
  parseExactJson,
  type RekorConsistencyProof,
  type RekorLogEntry,
  type RekorLogInfo,
} from "./wire.ts";
import { PublicKey } from "../../keys/public_key.ts";

export {
  decodeLogEntries,
  decodeLogInfo,
  encodeExactJson,
  encodeLogEntry,
  logEntryToTlogEntry,
  MAX_BATCH,
  MAX_RESPONSE_BYTES,
  MAX_SEARCH_RESULTS,
  parseExactJson,
} from "./wire.ts";
export type {
  RekorClientErrorCode,
  RekorConsistencyProof,
  RekorInclusionProof,
  RekorLogEntry,
  RekorLogInfo,
} from "./wire.ts";

// ---------------------------------------------------------------------------------------------
// The client

/** Options of `RekorClient`. */
export interface RekorClientOptions {
  /** Base URL, for example `https://rekor.sigstore.dev`. */
  readonly baseUrl: string;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Cap on response bodies (default `MAX_RESPONSE_BYTES`). */
  readonly maxResponseBytes?: number;
}

/** Query of `/api/v1/index/retrieve`. */
export interface RekorSearchQuery {
  /** `sha256:<hex>` (also sha1/sha512 as Rekor allows). */
  readonly hash?: string;
  /** A key or certificate: `content` is its base64 (PEM or DER); never a URL. */
  readonly publicKey?: {
    readonly format: "x509" | "ssh" | "pgp" | "minisign";
    readonly content: string;
  };
  /** Signer e-mail (servers may not support it). */
  readonly email?: string;
  /** How to combine terms (default `or`). */
  readonly operator?: "and" | "or";
}

/** Query of `/api/v1/log/entries/retrieve`: one of the three forms. */
export type RekorRetrieveQuery =
  | { readonly entryUUIDs: readonly string[] }
  | { readonly logIndexes: readonly bigint[] }
  | { readonly entries: readonly ProposedEntry[] };

const SEARCH_HASH = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}|sha1:[0-9a-f]{40})$/;

async function readBounded(response: Response, max: number): Promise<string> {
  const bytes = await readRekorAnswer(response, max, "Rekor response");
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw malformed("not UTF-8", cause);
  }
}

/**
 * A Rekor v1 client. Every answer is checked against what was asked (the entry asked for, the
 * entry proposed); proofs and signatures are verified by the verification pipeline.
 *
 * @example Find a logged signature, and let `verifyBlob` look it up online
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   generateKeyPair,
 *   RekorClient,
 *   signBlob,
 *   transparencyLogWitness,
 *   verifyBlob,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack(); // its Rekor stands in for https://rekor.sigstore.dev
 * const key = await generateKeyPair();
 * const bytes = new TextEncoder().encode("release v1.0");
 * const signed = await signBlob({ kind: "bytes", bytes }, {
 *   identity: { signer: key },
 *   services: { log: transparencyLogWitness(stack.url) },
 * });
 *
 * const rekor = new RekorClient({ baseUrl: stack.url });
 * assert.equal((await rekor.getLogInfo()).treeSize, 1n);
 * const [uuid] = await rekor.searchByHash(`sha256:${signed.digest.digest.toHex()}`);
 * const entry = await rekor.getEntryByUuid(uuid!);
 * assert.equal(entry.logIndex, signed.tlogEntry?.logIndex);
 *
 * // A detached signature carries no entry: with `log`, verifyBlob finds and checks it.
 * const signature = new TextEncoder().encode(signed.signature.toBase64());
 * await verifyBlob(
 *   { signature },
 *   { kind: "bytes", bytes },
 *   { key: key.publicKey, trustedRoot: stack.trust.trustedRoot },
 *   { log: rekor },
 * );
 * ```
 */
export class RekorClient {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #max: number;

  /** A client for `options.baseUrl`; throws `TypeError` for a URL that is not http(s). */
  constructor(options: RekorClientOptions) {
    this.#base = rekorBaseUrl(options.baseUrl, "Rekor");
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#max = options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
  }

  async #request(
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown; location: string | null }> {
    const response = await fetchFromRekor(this.#fetch, `${this.#base}${path}`, {
      method,
      headers: {
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: encodeExactJson(body) }),
    }, { log: "Rekor", base: this.#base });
    const text = await readBounded(response, this.#max);
    let json: unknown;
    try {
      json = text === "" ? undefined : parseExactJson(text, "Rekor response");
    } catch (cause) {
      if (response.ok) throw malformed(errorMessage(cause), cause);
    }
    const ok = response.ok || (response.status === 409 && method === "POST");
    if (!ok) {
      throw new CosignError(
        response.status === 404 ? "REKOR_NOT_FOUND" : "REKOR_HTTP_ERROR",
        `Rekor ${method} ${path.split("?")[0]} answered ${response.status}${
          errorAnswerDetail(json)
        }`,
      );
    }
    return { status: response.status, json, location: response.headers.get("location") };
  }

  async #single(path: string): Promise<RekorLogEntry> {
    const { json } = await this.#request("GET", path);
    const entries = decodeLogEntries(json);
    if (entries.length !== 1) throw malformed(`expected one entry, got ${entries.length}`);
    return entries[0]!;
  }

  /**
   * Submit a proposed entry. Answers 201 with the new entry, or 409 when it exists (then the
   * existing entry is fetched by the ID in `Location`). Either way the logged body must commit
   * to exactly the proposed content (rekor #2799), checked after canonicalizing the proposal
   * locally (which also checks its signatures).
   */
  async createEntry(proposed: ProposedEntry): Promise<RekorLogEntry> {
    const expected = await canonicalizeProposedEntry(proposed);
    const { status, json, location } = await this.#request("POST", "/api/v1/log/entries", proposed);
    let entry: RekorLogEntry;
    if (status === 409) {
      const id = location?.split("/").pop() ?? "";
      if (!ENTRY_ID.test(id)) throw malformed("409 without a usable Location header");
      entry = await this.getEntryByUuid(id);
    } else {
      const entries = decodeLogEntries(json);
      if (entries.length !== 1) throw malformed(`expected one entry, got ${entries.length}`);
      entry = entries[0]!;
    }
    if (
      entry.uuid !== expected.uuid && !sameEntryContent(parseEntryBody(entry.body), expected.entry)
    ) {
      throw mismatch(`the logged entry "${entry.uuid}" is not the proposed content`);
    }
    return entry;
  }

  /** Fetch an entry by its 64-hex UUID or 80-hex entry ID; the answer must be that entry. */
  async getEntryByUuid(id: string): Promise<RekorLogEntry> {
    const match = ENTRY_ID.exec(id);
    if (!match) throw new RangeError(`Invalid Rekor entry UUID "${id.slice(0, 100)}"`);
    const entry = await this.#single(`/api/v1/log/entries/${id.toLowerCase()}`);
    if (entry.uuid !== match[1]!.toLowerCase()) {
      throw mismatch(`asked for "${match[1]}", got "${entry.uuid}"`);
    }
    return entry;
  }

  /** Fetch an entry by global log index; the answer must carry that index. */
  async getEntryByIndex(index: bigint | number): Promise<RekorLogEntry> {
    const wanted = BigInt(index);
    if (wanted < 0n) throw new RangeError(`Invalid log index ${wanted}`);
    const entry = await this.#single(`/api/v1/log/entries?logIndex=${wanted}`);
    if (entry.logIndex !== wanted) {
      throw mismatch(`asked for index ${wanted}, got ${entry.logIndex}`);
    }
    return entry;
  }

  /** `POST /api/v1/index/retrieve`: UUIDs of entries matching the query (unverified hints). */
  async searchIndex(query: RekorSearchQuery): Promise<string[]> {
    if (query.hash !== undefined && !SEARCH_HASH.test(query.hash)) {
      throw new RangeError(`Invalid search hash "${query.hash.slice(0, 100)}"`);
    }
    const { json } = await this.#request("POST", "/api/v1/index/retrieve", query);
    try {
      return asArray(json, "uuids", MAX_SEARCH_RESULTS).map((value, i) => {
        const id = asString(value, `uuids[${i}]`);
        if (!ENTRY_ID.test(id)) throw new SyntaxError(`uuids[${i}]: not an entry UUID`);
        return id.toLowerCase();
      });
    } catch (error) {
      throw malformed(errorMessage(error), error);
    }
  }

  /** UUIDs of entries about an artifact digest (`sha256:<hex>`). */
  searchByHash(hash: string): Promise<string[]> {
    return this.searchIndex({ hash });
  }

  /**
   * `POST /api/v1/log/entries/retrieve` for at most `MAX_BATCH` UUIDs, indexes or proposed
   * entries. Every returned entry must be one that was asked for.
   */
  async retrieveEntries(query: RekorRetrieveQuery): Promise<RekorLogEntry[]> {
    let accept: (entry: RekorLogEntry) => boolean;
    let body: unknown;
    if ("entryUUIDs" in query) {
      const wanted = new Set(query.entryUUIDs.map((id) => {
        const match = ENTRY_ID.exec(id);
        if (!match) throw new RangeError(`Invalid Rekor entry UUID "${id.slice(0, 100)}"`);
        return match[1]!.toLowerCase();
      }));
      checkBatch(wanted.size);
      accept = (entry) => wanted.has(entry.uuid);
      body = { entryUUIDs: query.entryUUIDs };
    } else if ("logIndexes" in query) {
      checkBatch(query.logIndexes.length);
      const wanted = new Set(query.logIndexes.map(String));
      accept = (entry) => wanted.has(String(entry.logIndex));
      body = { logIndexes: query.logIndexes };
    } else {
      checkBatch(query.entries.length);
      const expected = await Promise.all(query.entries.map((e) => canonicalizeProposedEntry(e)));
      const uuids = new Set(expected.map((e) => e.uuid));
      accept = (entry) =>
        uuids.has(entry.uuid) ||
        expected.some((e) => sameEntryContent(parseEntryBody(entry.body), e.entry));
      body = { entries: query.entries };
    }
    const { json } = await this.#request("POST", "/api/v1/log/entries/retrieve", body);
    const entries = decodeLogEntries(json ?? []);
    for (const entry of entries) {
      if (!accept(entry)) throw mismatch(`entry "${entry.uuid}" was not asked for`);
    }
    return entries;
  }

  /** `GET /api/v1/log`. */
  async getLogInfo(): Promise<RekorLogInfo> {
    const { json } = await this.#request("GET", "/api/v1/log");
    return decodeLogInfo(json);
  }

  /**
   * `GET /api/v1/log/publicKey`. For display and bootstrapping only: verification keys come
   * from the trusted root, never from the log itself (SECURITY.md row 42).
   */
  async getPublicKey(treeId?: string): Promise<PublicKey> {
    const query = treeId === undefined ? "" : `?treeID=${encodeURIComponent(treeId)}`;
    let response: Response;
    try {
      response = await this.#fetch(`${this.#base}/api/v1/log/publicKey${query}`, {
        redirect: "error",
        headers: { accept: "application/x-pem-file" },
      });
    } catch (cause) {
      throw new CosignError(
        "REKOR_HTTP_ERROR",
        `Cannot reach Rekor at "${this.#base}": ${errorMessage(cause)}`,
        {
          cause,
        },
      );
    }
    const text = await readBounded(response, 64 * 1024);
    if (!response.ok) {
      throw new CosignError(
        "REKOR_HTTP_ERROR",
        `Rekor GET /api/v1/log/publicKey answered ${response.status}`,
      );
    }
    try {
      return PublicKey.fromSpki(decodePem(text, ["PUBLIC KEY"]).bytes);
    } catch (error) {
      throw malformed(`public key: ${errorMessage(error)}`, error);
    }
  }

  /** `GET /api/v1/log/proof`: consistency proof between two tree sizes (verify it yourself). */
  async getConsistencyProof(
    options: { firstSize: bigint; lastSize?: bigint; treeId?: string },
  ): Promise<RekorConsistencyProof> {
    if (options.firstSize < 1n) throw new RangeError("A consistency proof needs firstSize >= 1");
    const params = new URLSearchParams({ firstSize: String(options.firstSize) });
    if (options.lastSize !== undefined) params.set("lastSize", String(options.lastSize));
    if (options.treeId !== undefined) params.set("treeID", options.treeId);
    const { json } = await this.#request("GET", `/api/v1/log/proof?${params}`);
    try {
      const record = asRecord(json, "proof");
      return {
        rootHash: asHexBytes(record.rootHash, "rootHash", 32),
        hashes: asArray(record.hashes ?? [], "hashes", MAX_PROOF_HASHES + 1)
          .map((h, i) => asHexBytes(h, `hashes[${i}]`, 32)),
      };
    } catch (error) {
      throw malformed(errorMessage(error), error);
    }
  }
}

function checkBatch(count: number): void {
  if (count === 0 || count > MAX_BATCH) {
    throw new RangeError(`A retrieve request takes 1 to ${MAX_BATCH} items, not ${count}`);
  }
}
