/**
 * The Rekor v2 client (rekor-tiles): `POST /api/v2/log/entries` to log an entry, and the C2SP
 * tlog-tiles reads (`/checkpoint`, `/tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]`).
 *
 * Nothing the log answers is taken on trust. Every answer is read with a size cap; a new entry
 * must be about exactly the submitted content (kind `hashedrekord` or `dsse` 0.0.2, the same
 * digest, signatures and keys: rekor #2799), come from the expected log (its log ID, from the
 * trusted root), and carry an inclusion proof that leads from the body's leaf hash to the root
 * of a checkpoint the log's key signed for the same tree size. What it returns is the shared
 * `TlogEntry` a bundle carries (no SET, no integrated time: Rekor v2 issues neither, so a
 * keyless signature also needs an RFC 3161 timestamp).
 *
 * Submitting content the log already holds (a retry after a lost answer, or a deterministic
 * RSA PKCS#1 v1.5 or Ed25519ph signature made twice) is answered 409 with only the entry's index
 * (`x-log-index`).
 * The client then rebuilds that entry from the read API, as cosign does with Rekor v1's 409: the
 * body from its entry bundle, the inclusion proof from hash tiles (`tile_proof.ts`) up to the
 * latest checkpoint, all put through the checks of a fresh answer.
 *
 * @module
 */

import { type Bytes, equalBytes, toHex } from "../../util/bytes.ts";
import { parseJson } from "../../util/json.ts";
import {
  errorAnswerDetail,
  fetchFromRekor,
  readRekorAnswer,
  rekorBaseUrl,
} from "../_rekor_http.ts";
import { CosignError, errorMessage, isCosignError } from "../../errors.ts";
import { parseTlogEntry } from "../../bundle/model.ts";
import { type Checkpoint, MAX_CHECKPOINT_BYTES, verifyCheckpoint } from "../checkpoint.ts";
import type { TlogEntry } from "../entry.ts";
import { HASH_SIZE, hashLeaf, verifyInclusion } from "../merkle.ts";
import { parseEntryBody } from "../rekor/bodies.ts";
import { sameEntryContent } from "../rekor/entries.ts";
import type { TrustedLog } from "../../trust/trusted_root.ts";
import {
  canonicalizeRekorV2Request,
  encodeRekorV2Request,
  type RekorV2Request,
} from "./entries.ts";
import { inclusionProofFromTiles, tileWidth } from "./tile_proof.ts";
import {
  decodeEntryBundle,
  entryBundlePath,
  MAX_BUNDLE_ENTRY_BYTES,
  TILE_WIDTH,
  tilePath,
} from "./tiles.ts";

/** Default cap on an entry answer (a body with a certificate, a proof, a checkpoint). */
export const MAX_V2_RESPONSE_BYTES = 1 << 20;

/** Largest entry bundle read: 256 entries of at most 64 KiB each, with their lengths. */
const MAX_ENTRY_BUNDLE_BYTES = TILE_WIDTH * (MAX_BUNDLE_ENTRY_BYTES + 2);

/** The log a client talks to, as the trusted root names it. */
export type RekorV2Log = Pick<TrustedLog, "baseUrl" | "logId" | "key" | "checkpointKeyId">;

/** Options of `RekorV2Client`. */
export interface RekorV2ClientOptions {
  /** The log's base URL (its tlog-tiles prefix), for example `https://log2025-1.rekor.sigstore.dev`. */
  readonly baseUrl: string;
  /**
   * The log answers must come from: its log ID, its key (checkpoints are verified with it) and
   * its trusted-root URL (the checkpoint origin). Take it from the trusted root.
   */
  readonly log: RekorV2Log;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
  /** Cap on entry answers (default `MAX_V2_RESPONSE_BYTES`). */
  readonly maxResponseBytes?: number;
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_RESPONSE_MALFORMED", `Invalid Rekor v2 response: ${message}`, {
    cause,
  });
}

function mismatch(message: string): CosignError {
  return new CosignError(
    "REKOR_RESPONSE_MISMATCH",
    `Rekor v2 answered about something else: ${message}`,
  );
}

/**
 * `read(width)`, or, when that partial tile is gone (tlog-tiles lets a log delete a partial tile
 * once the full one exists, and asks clients to fall back to it), the first `width` of the full
 * tile.
 */
async function orFullTile<T>(
  width: number | undefined,
  read: (width: number | undefined) => Promise<T>,
  prefix: (full: T, width: number) => T,
): Promise<T> {
  try {
    return await read(width);
  } catch (error) {
    if (width === undefined || !isCosignError(error, "REKOR_NOT_FOUND")) throw error;
    return prefix(await read(undefined), width);
  }
}

/**
 * A Rekor v2 client. Entries are checked against what was submitted and against the log's key
 * before they are returned; tiles and entry bundles are checked for their exact size.
 *
 * @example Log a signature in the embedded stack's Rekor v2 and read its tiles back
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, RekorV2Client } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const baseUrl = stack.ready.rekorV2!;
 * const log = stack.trust.trustedRoot.tlogs.find((l) => l.baseUrl === baseUrl)!;
 * const rekor = new RekorV2Client({ baseUrl, log });
 *
 * const key = await generateKeyPair();
 * const digest = new Uint8Array(
 *   await crypto.subtle.digest("SHA-256", new TextEncoder().encode("release v1.0")),
 * );
 * const entry = await rekor.createEntry({
 *   kind: "hashedrekord",
 *   digest,
 *   signature: key.signPrehashed(digest, "sha256"),
 *   verifier: { type: "publicKey", rawBytes: key.publicKey.spki, keyDetails: "PKIX_ECDSA_P256_SHA_256" },
 * });
 * assert.deepEqual(entry.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
 * assert.equal(entry.integratedTime, 0n); // Rekor v2 states no time: timestamp with a TSA
 *
 * const checkpoint = await rekor.readCheckpoint(); // verified with the log's key
 * assert.equal(checkpoint.treeSize, 1n);
 * const [body] = await rekor.readEntryBundle(0n, 1); // the partial bundle of one entry
 * assert.deepEqual(body, entry.canonicalizedBody);
 * ```
 */
export class RekorV2Client {
  readonly #base: string;
  readonly #log: RekorV2Log;
  readonly #fetch: typeof fetch;
  readonly #max: number;

  /** A client for `options.baseUrl`; throws `TypeError` for a URL that is not http(s). */
  constructor(options: RekorV2ClientOptions) {
    const base = rekorBaseUrl(options.baseUrl, "Rekor v2");
    if (options.log.logId.length !== 32) throw new TypeError("A log ID is 32 bytes");
    this.#base = base;
    this.#log = options.log;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#max = options.maxResponseBytes ?? MAX_V2_RESPONSE_BYTES;
  }

  #send(path: string, init: RequestInit): Promise<Response> {
    return fetchFromRekor(this.#fetch, `${this.#base}/${path}`, init, {
      log: "Rekor v2",
      base: this.#base,
    });
  }

  #read(response: Response, max: number, what: string): Promise<Bytes> {
    return readRekorAnswer(response, max, `Rekor v2 ${what}`);
  }

  async #get(path: string, max: number, what: string): Promise<Bytes> {
    const response = await this.#send(path, { method: "GET" });
    if (!response.ok) {
      await response.body?.cancel();
      throw new CosignError(
        response.status === 404 ? "REKOR_NOT_FOUND" : "REKOR_HTTP_ERROR",
        `Rekor v2 GET /${path} answered ${response.status}`,
      );
    }
    return await this.#read(response, max, what);
  }

  /**
   * Submit an entry: `POST /api/v2/log/entries`. The request is checked (and its canonical body
   * computed) locally first; the answer must log exactly that content, come from the expected
   * log, and prove inclusion under a checkpoint signed by its key. Content the log already
   * holds is answered 409 by rekor-tiles with only its index: the entry at that index is then
   * rebuilt from the log's tiles and checked the same way (see the module doc).
   * `REKOR_DUPLICATE_ENTRY` when it cannot be: no index given, or none the latest checkpoint
   * covers yet.
   */
  async createEntry(request: RekorV2Request): Promise<TlogEntry> {
    const expected = await canonicalizeRekorV2Request(request);
    const response = await this.#send("api/v2/log/entries", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(encodeRekorV2Request(request)),
    });
    const bytes = await this.#read(response, this.#max, "answer");
    if (response.status === 409) {
      const index = response.headers.get("x-log-index");
      if (index === null || !/^\d{1,20}$/.test(index) || BigInt(index) >= 1n << 63n) {
        throw new CosignError(
          "REKOR_DUPLICATE_ENTRY",
          "Rekor v2 already holds this entry but gave no valid x-log-index to find it by",
        );
      }
      return await this.#existingEntry(BigInt(index), expected.body);
    }
    if (response.status !== 201 && response.status !== 200) {
      let detail = "";
      try {
        detail = errorAnswerDetail(parseJson(bytes, "error"));
      } catch {
        // not JSON: the status says enough
      }
      throw new CosignError(
        "REKOR_HTTP_ERROR",
        `Rekor v2 POST /api/v2/log/entries answered ${response.status}${detail}`,
      );
    }
    let entry: TlogEntry;
    try {
      entry = parseTlogEntry(parseJson(bytes, "Rekor v2 answer"), "entry");
    } catch (error) {
      throw malformed(errorMessage(error), error);
    }
    await this.#checkEntry(entry, expected.body);
    return entry;
  }

  /**
   * The entry at `index` that a 409 named, rebuilt from the read API: its body from the entry
   * bundle, an inclusion proof from hash tiles up to the latest checkpoint, then the checks of
   * a fresh answer (the submitted content, this log, a proof to the signed checkpoint's root).
   */
  async #existingEntry(index: bigint, body: Bytes): Promise<TlogEntry> {
    const { text, checkpoint } = await this.#latestCheckpoint();
    const size = checkpoint.treeSize;
    if (index >= size) {
      throw new CosignError(
        "REKOR_DUPLICATE_ENTRY",
        `Rekor v2 already holds this entry at index ${index}, which its latest checkpoint ` +
          `(tree size ${size}) does not cover yet: try again shortly`,
      );
    }
    const bundle = index / BigInt(TILE_WIDTH);
    const bodies = await orFullTile(
      tileWidth(size, bundle),
      (width) => this.readEntryBundle(bundle, width),
      (full, width) => full.slice(0, width),
    );
    const logged = bodies[Number(index % BigInt(TILE_WIDTH))]!;
    let hashes: Bytes[];
    try {
      hashes = await inclusionProofFromTiles(index, size, (level, tile, width) =>
        orFullTile(
          width,
          (w) => this.readTile(level, tile, w),
          (full, w) => full.subarray(0, w * HASH_SIZE),
        ));
    } catch (error) {
      if (error instanceof RangeError) throw malformed(errorMessage(error), error);
      throw error;
    }
    const { kind, apiVersion } = parseEntryBody(body);
    const entry: TlogEntry = {
      logIndex: index,
      logId: this.#log.logId,
      kindVersion: { kind, version: apiVersion },
      integratedTime: 0n,
      inclusionProof: {
        logIndex: index,
        rootHash: checkpoint.rootHash,
        treeSize: size,
        hashes,
        checkpoint: text,
      },
      canonicalizedBody: logged,
    };
    await this.#checkEntry(entry, body);
    return entry;
  }

  /** The checks of `createEntry` on an answer; `body` is the canonical body expected. */
  async #checkEntry(entry: TlogEntry, body: Bytes): Promise<void> {
    const expected = parseEntryBody(body);
    if (
      entry.kindVersion.kind !== expected.kind || entry.kindVersion.version !== expected.apiVersion
    ) {
      throw mismatch(
        `logged as ${entry.kindVersion.kind.slice(0, 40)} ${
          entry.kindVersion.version.slice(0, 20)
        }, submitted as ${expected.kind} ${expected.apiVersion}`,
      );
    }
    let logged;
    try {
      logged = parseEntryBody(entry.canonicalizedBody);
    } catch (error) {
      throw malformed(errorMessage(error), error);
    }
    if (!equalBytes(entry.canonicalizedBody, body) && !sameEntryContent(logged, expected)) {
      throw mismatch("the logged body is not the submitted content");
    }
    if (!equalBytes(entry.logId, this.#log.logId)) {
      throw mismatch(`log ID ${toHex(entry.logId)} is not the expected ${toHex(this.#log.logId)}`);
    }
    if (entry.inclusionPromise !== undefined || entry.integratedTime !== 0n) {
      throw malformed("a Rekor v2 entry carries no SET and no integrated time");
    }
    const proof = entry.inclusionProof!;
    if (proof.logIndex !== entry.logIndex) {
      throw malformed(`proof index ${proof.logIndex} is not the entry's ${entry.logIndex}`);
    }
    const checkpoint = await verifyCheckpoint(proof.checkpoint, this.#log);
    if (
      checkpoint.treeSize !== proof.treeSize || !equalBytes(checkpoint.rootHash, proof.rootHash)
    ) {
      throw new CosignError(
        "REKOR_PROOF_INVALID",
        "The checkpoint does not state the proof's tree size and root hash",
      );
    }
    verifyInclusion({
      index: proof.logIndex,
      size: proof.treeSize,
      leafHash: hashLeaf(entry.canonicalizedBody),
      proof: proof.hashes,
      root: proof.rootHash,
    });
  }

  /** `GET <prefix>/checkpoint`: the latest checkpoint, verified with the log's key. */
  async readCheckpoint(): Promise<Checkpoint> {
    return (await this.#latestCheckpoint()).checkpoint;
  }

  /** The latest checkpoint, verified, and its signed note text. */
  async #latestCheckpoint(): Promise<{ text: string; checkpoint: Checkpoint }> {
    const bytes = await this.#get("checkpoint", MAX_CHECKPOINT_BYTES, "checkpoint");
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (cause) {
      throw malformed("the checkpoint is not UTF-8", cause);
    }
    return { text, checkpoint: await verifyCheckpoint(text, this.#log) };
  }

  /**
   * `GET <prefix>/tile/<level>/<index>[.p/<width>]`: a hash tile of `width` hashes (default a
   * full tile of 256), which must be exactly that many bytes. Verify it against a checkpoint.
   */
  async readTile(level: number, index: bigint, width?: number): Promise<Bytes> {
    const path = tilePath(level, index, width);
    const size = (width ?? TILE_WIDTH) * HASH_SIZE;
    const bytes = await this.#get(path, size, "tile");
    if (bytes.length !== size) {
      throw malformed(`tile ${path} is ${bytes.length} bytes, not ${size}`);
    }
    return bytes;
  }

  /**
   * `GET <prefix>/tile/entries/<index>[.p/<width>]`: the canonical bodies of an entry bundle
   * (`width` entries, default 256). Verify them against the level-0 tile of the same index.
   */
  async readEntryBundle(index: bigint, width?: number): Promise<Bytes[]> {
    const path = entryBundlePath(index, width);
    const bytes = await this.#get(path, MAX_ENTRY_BUNDLE_BYTES, "entry bundle");
    try {
      return decodeEntryBundle(bytes, width ?? TILE_WIDTH);
    } catch (error) {
      throw malformed(`${path}: ${errorMessage(error)}`, error);
    }
  }
}
