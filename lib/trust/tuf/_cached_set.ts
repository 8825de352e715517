/**
 * The cached top-level state of the TUF client: the last verified timestamp, snapshot and
 * targets metadata, kept together in one file (`trusted_metadata.json`) with the time the
 * timestamp was fetched, written by one atomic rename so parallel processes that fetched
 * different repository states never leave a mix of them (last writer wins, whole).
 *
 * Nothing here is trusted for being cached: every role is parsed and verified again under the
 * current trusted root (TUF specification 5.3.11: what the new root's keys no longer sign is
 * dropped), and `readCachedSet` accepts the three only when they are consistent with each other
 * (the snapshot is the one the timestamp names, the targets the one the snapshot names) and
 * unexpired; otherwise it says, as a `CacheMiss`, why the cache cannot serve.
 *
 * @module
 */

import { isExpired, matchesMeta } from "./_checks.ts";
import type { TufCache } from "./cache.ts";
import {
  parseTufMetadata,
  type RootMetadata,
  type TufMetadata,
  type TufSignedByRole,
} from "./metadata.ts";
import type { TrustedTufMetadata, TufLimits } from "./state.ts";
import { verifyThreshold } from "./verify.ts";

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
}

/** A reason the cache cannot serve, for `TRUST_TUF_OFFLINE` messages. */
export class CacheMiss {
  /** Why the cache cannot serve. */
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

/** The set file's bytes for `set`, fetched at `fetchedAt`. */
export function encodeSetFile(
  fetchedAt: number,
  set: Record<SetRole, TufMetadata>,
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

/** The cached metadata of `role` if it verifies under `root`, else undefined. */
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
  if (bytes === undefined || bytes.length > max) return undefined;
  try {
    const metadata = parseTufMetadata(bytes, role, `cached ${role}.json`);
    await verifyThreshold(metadata, root.signed.roles[role], root.signed.keys, role);
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
    !matchesMeta(snapshot.bytes, timestamp.signed.snapshot, snapshot.signed.version)
  ) {
    return new CacheMiss("no cached snapshot metadata matches the cached timestamp");
  }
  if (isExpired(snapshot, now)) return expiredMiss("cached snapshot metadata", snapshot);
  const targetsMeta = snapshot.signed.meta.get("targets.json");
  const targets = await loadCachedRole(set, "targets", root, limits);
  if (
    targetsMeta === undefined || targets === undefined ||
    !matchesMeta(targets.bytes, targetsMeta, targets.signed.version)
  ) {
    return new CacheMiss("no cached targets metadata matches the cached snapshot");
  }
  if (isExpired(targets, now)) return expiredMiss("cached targets metadata", targets);
  return { root, timestamp, snapshot, targets, source: "cache" };
}
