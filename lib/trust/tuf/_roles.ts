/**
 * The four role steps of the TUF client workflow (TUF specification 1.0, sections 5.3-5.6),
 * each a function over one update's context: download the role's file within its bound, check
 * its signatures against the trusted root's keys for the role, its version against the file
 * that names it and against the cached copy (rollback), and its expiry at the update's start.
 * `updater.ts` runs them in order and owns the cache policy around them.
 *
 * @module
 */

import { checkHashes, expiredError, isExpired, matchesMeta } from "./_checks.ts";
import { type CachedSetFile, loadCachedRole } from "./_cached_set.ts";
import { download, type DownloadTransport } from "./_download.ts";
import type { TufCache } from "./cache.ts";
import { tufError } from "./errors.ts";
import {
  parseTufMetadata,
  type RootMetadata,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata,
  type TufMetaFile,
} from "./metadata.ts";
import type { TufLimits } from "./state.ts";
import { verifyThreshold } from "./verify.ts";

/** What every step of one update shares. */
export interface RoleUpdateContext {
  /** Base URL of the metadata, no trailing slash. */
  readonly mirror: string;
  readonly cache: TufCache;
  readonly limits: TufLimits;
  readonly transport: DownloadTransport;
  /** The set file as read at the start of the update. */
  readonly set: CachedSetFile | undefined;
  /** 5.1: the update's fixed start time (ms), for every expiry check. */
  readonly start: number;
}

/** A role step's result: the metadata, and whether it was downloaded (false: the cached copy). */
export interface RoleUpdate<T> {
  readonly metadata: T;
  readonly fresh: boolean;
}

/**
 * 5.3: take every newer root (each persisted as it verifies, 5.3.7; `onRoot` told), then check
 * the final one's expiry.
 */
export async function updateRoot(
  ctx: RoleUpdateContext,
  trusted: RootMetadata,
  onRoot: (root: RootMetadata) => void = () => {},
): Promise<RootMetadata> {
  let root = trusted;
  for (let i = 0; i < ctx.limits.maxRootRotations; i++) {
    const expected = root.signed.version + 1;
    const file = `${expected}.root.json`;
    const bytes = await download({
      url: `${ctx.mirror}/${file}`,
      maxBytes: ctx.limits.rootBytes,
      missingOn: [403, 404],
      what: "TUF root metadata",
    }, ctx.transport);
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
    await ctx.cache.write("root.json", bytes); // 5.3.7
    onRoot(root);
  }
  // 5.3.10: a freeze attack shows as an expired final root.
  if (isExpired(root, ctx.start)) throw expiredError("root", root, ctx.start);
  return root;
}

/** 5.4. */
export async function updateTimestamp(
  ctx: RoleUpdateContext,
  root: RootMetadata,
): Promise<RoleUpdate<TimestampMetadata>> {
  const trusted = await loadCachedRole(ctx.set, "timestamp", root, ctx.limits);
  const bytes = (await download({
    url: `${ctx.mirror}/timestamp.json`,
    maxBytes: ctx.limits.timestampBytes,
    what: "TUF timestamp metadata",
  }, ctx.transport))!;
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
  if (isExpired(chosen, ctx.start)) throw expiredError("timestamp", chosen, ctx.start);
  return { metadata: chosen, fresh };
}

/** 5.5. */
export async function updateSnapshot(
  ctx: RoleUpdateContext,
  root: RootMetadata,
  timestamp: TimestampMetadata,
): Promise<RoleUpdate<SnapshotMetadata>> {
  const meta = timestamp.signed.snapshot;
  const previous = await loadCachedRole(ctx.set, "snapshot", root, ctx.limits);
  if (
    previous !== undefined && await matchesMeta(previous.bytes, meta, previous.signed.version) &&
    !isExpired(previous, ctx.start)
  ) {
    return { metadata: previous, fresh: false };
  }
  const file = root.signed.consistentSnapshot ? `${meta.version}.snapshot.json` : "snapshot.json";
  const bytes = await downloadMeta(ctx, file, meta, ctx.limits.snapshotBytes, "snapshot");
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
  if (isExpired(next, ctx.start)) throw expiredError("snapshot", next, ctx.start);
  return { metadata: next, fresh: true };
}

/** 5.6 (top-level targets only: delegations are checked for form, never followed). */
export async function updateTargets(
  ctx: RoleUpdateContext,
  root: RootMetadata,
  snapshot: SnapshotMetadata,
): Promise<RoleUpdate<TargetsMetadata>> {
  const meta = snapshot.signed.meta.get("targets.json");
  if (meta === undefined) {
    throw tufError(
      "TRUST_TUF_METADATA_INVALID",
      `TUF snapshot version ${snapshot.signed.version} does not list "targets.json"`,
    );
  }
  const previous = await loadCachedRole(ctx.set, "targets", root, ctx.limits);
  if (
    previous !== undefined && await matchesMeta(previous.bytes, meta, previous.signed.version) &&
    !isExpired(previous, ctx.start)
  ) {
    return { metadata: previous, fresh: false };
  }
  const file = root.signed.consistentSnapshot ? `${meta.version}.targets.json` : "targets.json";
  const bytes = await downloadMeta(ctx, file, meta, ctx.limits.targetsBytes, "targets");
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
  if (isExpired(next, ctx.start)) throw expiredError("targets", next, ctx.start);
  return { metadata: next, fresh: true };
}

/** A snapshot or targets file, bounded by its declared length and checked by its hashes. */
async function downloadMeta(
  ctx: RoleUpdateContext,
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
    url: `${ctx.mirror}/${file}`,
    maxBytes: max,
    ...(meta.length !== undefined ? { exactLength: meta.length } : {}),
    what: `TUF ${role} metadata`,
  }, ctx.transport))!;
  if (meta.hashes !== undefined) await checkHashes(bytes, meta.hashes, `TUF ${role} "${file}"`);
  return bytes;
}
