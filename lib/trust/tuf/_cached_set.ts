/**
 * The cached top-level state of the TUF client: the last verified timestamp, snapshot and
 * targets metadata, kept together in one file (`trusted_metadata.json`) with the time the
 * timestamp was fetched, written by one atomic rename so parallel processes that fetched
 * different repository states never leave a mix of them (last writer wins, whole).
 *
 * Every role is parsed again and checked under the current trusted root, and `readCachedSet`
 * accepts the three only when they are consistent with each other (the snapshot is the one the
 * timestamp names, the targets the one the snapshot names) and unexpired; otherwise it says, as
 * a `CacheMiss`, why the cache cannot serve.
 *
 * Signatures are checked again unless the set's receipt vouches for them. The receipt, written
 * with the set once all three verified, is a SHA-256 over the exact bytes of the root they
 * verified under and of the three roles (`setReceipt`). When the cached root and roles still
 * hash to it, their signatures verified before, and verifying them again could only repeat that
 * answer: a cold verify skips eight ECDSA verifications and the canonical JSON they cover
 * (bench/tuf_bench.ts). This trusts the cache directory no more than it is trusted already:
 * its `root.json` is the trust anchor (TUF specification 5.2 loads it as a "trusted copy", and
 * a root vouches only for itself), so whoever can write the directory can already choose what is
 * trusted, receipt or not. What the receipt still catches is what re-verifying caught: a
 * damaged or partly replaced file (any changed byte is a different hash), and a root that
 * changed under the set, by a rotation or a parallel process (TUF specification 5.3.11: what the
 * new root's keys no longer sign is dropped). Either way the roles are verified in full, as a
 * set without a receipt is.
 *
 * @module
 */

import { equalBytes } from "../../util/bytes.ts";
import { isExpired, matchesMeta } from "./_checks.ts";
import type { TufCache } from "./cache.ts";
import {
  parseTufMetadata,
  type RootMetadata,
  type TufMetadata,
  type TufSignedByRole,
} from "./metadata.ts";
import type { TrustedTufMetadata, TufLimits } from "./state.ts";

/** The cache file of the set. */
export const SET_FILE = "trusted_metadata.json";

/** The roles the set file holds. */
export type SetRole = "timestamp" | "snapshot" | "targets";

/** The parsed set file, each role's bytes still to be verified. */
export interface CachedSetFile {
  /** When the timestamp was fetched (ms since the epoch, by the injected clock). */
  readonly fetchedAt: number;
  /** The role files as they were received. */
  readonly bytes: Readonly<Record<SetRole, Uint8Array<ArrayBuffer>>>;
  /** `setReceipt` of the root the roles verified under and the roles, if the file has one. */
  readonly receipt: string | undefined;
}

/**
 * The receipt of `roles` verified under the root file `rootBytes`: hex SHA-256 over the root,
 * timestamp, snapshot and targets files, in that order, each after its length (8 bytes, big
 * endian), so no two sets of files share one. WebCrypto's digest, not the library's: a cold
 * process would spend ~2 ms compiling the JavaScript SHA-256 for these 15 KB.
 */
export async function setReceipt(
  rootBytes: Uint8Array,
  roles: Readonly<Record<SetRole, Uint8Array>>,
): Promise<string> {
  const parts = [rootBytes, roles.timestamp, roles.snapshot, roles.targets];
  const input = new Uint8Array(parts.reduce((sum, part) => sum + 8 + part.length, 0));
  const view = new DataView(input.buffer);
  let at = 0;
  for (const part of parts) {
    view.setBigUint64(at, BigInt(part.length));
    input.set(part, at + 8);
    at += 8 + part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input)).toHex();
}

/** The last receipt check of each set: one update asks several times under the same root. */
const receiptChecks = new WeakMap<
  CachedSetFile,
  { root: Uint8Array; vouched: Promise<boolean> }
>();

/**
 * True when `set`'s receipt vouches that its roles verified under the root file `rootBytes`,
 * so their signatures need no second check (see the module doc).
 */
export function vouchedBy(set: CachedSetFile, rootBytes: Uint8Array): Promise<boolean> {
  const last = receiptChecks.get(set);
  if (last !== undefined && (last.root === rootBytes || equalBytes(last.root, rootBytes))) {
    // The parsed root holds a copy of the bytes checked: remember the copy, compare once.
    receiptChecks.set(set, { root: rootBytes, vouched: last.vouched });
    return last.vouched;
  }
  const receipt = set.receipt;
  const vouched = receipt === undefined
    ? Promise.resolve(false)
    : setReceipt(rootBytes, set.bytes).then((actual) => actual === receipt);
  receiptChecks.set(set, { root: rootBytes, vouched });
  return vouched;
}

/** A reason the cache cannot serve, for `TRUST_TUF_OFFLINE` messages. */
export class CacheMiss {
  /** Why the cache cannot serve. */
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/** The set file's bytes for `set`, fetched at `fetchedAt` and verified under `root`. */
export async function encodeSetFile(
  fetchedAt: number,
  set: Record<SetRole, TufMetadata>,
  root: RootMetadata,
): Promise<Uint8Array<ArrayBuffer>> {
  const roles = {
    timestamp: set.timestamp.bytes,
    snapshot: set.snapshot.bytes,
    targets: set.targets.bytes,
  };
  return new TextEncoder().encode(`${
    JSON.stringify({
      fetched_at: fetchedAt,
      receipt: await setReceipt(root.bytes, roles),
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
    const { fetched_at: fetchedAt, receipt, timestamp, snapshot, targets } = record;
    if (
      typeof fetchedAt !== "number" || typeof timestamp !== "string" ||
      typeof snapshot !== "string" || typeof targets !== "string" ||
      (receipt !== undefined && typeof receipt !== "string")
    ) {
      return undefined;
    }
    const decode = (text: string) => Uint8Array.fromBase64(text) as Uint8Array<ArrayBuffer>;
    return {
      fetchedAt,
      bytes: { timestamp: decode(timestamp), snapshot: decode(snapshot), targets: decode(targets) },
      receipt,
    };
  } catch {
    return undefined; // a damaged file caches nothing
  }
}

/** The set file of `cache`, or undefined when absent or damaged. */
export async function readSetFile(
  cache: TufCache,
  limits: TufLimits,
): Promise<CachedSetFile | undefined> {
  // Base64 grows each role by a third: twice the sum of the role bounds covers it.
  const limit = 2 * (limits.timestampBytes + limits.snapshotBytes + limits.targetsBytes);
  const bytes = await cache.read(SET_FILE, limit);
  return bytes === undefined ? undefined : decodeSetFile(bytes);
}

/**
 * The cached metadata of `role` if it verifies under `root` (or the set's receipt vouches that
 * it did), else undefined.
 */
export async function loadCachedRole<R extends SetRole>(
  set: CachedSetFile | undefined,
  role: R,
  root: RootMetadata,
  limits: TufLimits,
): Promise<TufMetadata<TufSignedByRole[R]> | undefined> {
  const max: number = role === "timestamp"
    ? limits.timestampBytes
    : role === "snapshot"
    ? limits.snapshotBytes
    : limits.targetsBytes;
  const bytes = set?.bytes[role];
  if (set === undefined || bytes === undefined || bytes.length > max) return undefined;
  try {
    const vouched = await vouchedBy(set, root.bytes);
    const metadata = parseTufMetadata(bytes, role, `cached ${role}.json`, { vouched });
    if (!vouched) {
      const { verifyThreshold } = await import("./verify.ts");
      await verifyThreshold(metadata, root.signed.roles[role], root.signed.keys, role);
    }
    return metadata;
  } catch {
    return undefined;
  }
}

function expiredMiss(what: string, metadata: TufMetadata): CacheMiss {
  return new CacheMiss(
    `the ${what} (version ${metadata.signed.version}) expired at "${metadata.signed.expires}"`,
  );
}

/** The cached top-level set if it is complete, consistent and unexpired at `now`. */
export async function readCachedSet(
  set: CachedSetFile | undefined,
  root: RootMetadata,
  now: number,
  limits: TufLimits,
): Promise<TrustedTufMetadata | CacheMiss> {
  if (isExpired(root, now)) return expiredMiss("trusted root", root);
  const timestamp = await loadCachedRole(set, "timestamp", root, limits);
  if (timestamp === undefined) return new CacheMiss("no verified timestamp metadata is cached");
  if (isExpired(timestamp, now)) return expiredMiss("cached timestamp metadata", timestamp);
  const snapshot = await loadCachedRole(set, "snapshot", root, limits);
  if (
    snapshot === undefined ||
    !(await matchesMeta(snapshot.bytes, timestamp.signed.snapshot, snapshot.signed.version))
  ) {
    return new CacheMiss("no cached snapshot metadata matches the cached timestamp");
  }
  if (isExpired(snapshot, now)) return expiredMiss("cached snapshot metadata", snapshot);
  const targetsMeta = snapshot.signed.meta.get("targets.json");
  const targets = await loadCachedRole(set, "targets", root, limits);
  if (
    targetsMeta === undefined || targets === undefined ||
    !(await matchesMeta(targets.bytes, targetsMeta, targets.signed.version))
  ) {
    return new CacheMiss("no cached targets metadata matches the cached snapshot");
  }
  if (isExpired(targets, now)) return expiredMiss("cached targets metadata", targets);
  return { root, timestamp, snapshot, targets, source: "cache" };
}
