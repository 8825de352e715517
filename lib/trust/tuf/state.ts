/**
 * What a TUF update runs under and ends with: the size, count and time bounds of every
 * download (`TufLimits`, TUF specification 5.3.2, 5.4.1, 5.5.1, 5.6.1, 5.7.3: every file is
 * fetched "up to" a number of bytes), the cache validity default, and the verified top-level
 * metadata an update returns (`TrustedTufMetadata`).
 *
 * @module
 */

import type {
  RootMetadata,
  SnapshotMetadata,
  TargetsMetadata,
  TimestampMetadata,
} from "./metadata.ts";

/** Size, count and time bounds of an update. */
export interface TufLimits {
  /** Largest `N.root.json` (default 512 KiB). */
  readonly rootBytes: number;
  /** Largest `timestamp.json` (default 16 KiB). */
  readonly timestampBytes: number;
  /** Largest snapshot when the timestamp declares no length (default 2 MiB). */
  readonly snapshotBytes: number;
  /** Largest targets metadata when the snapshot declares no length (default 512 KiB). */
  readonly targetsBytes: number;
  /** Largest target file accepted at all; each is read up to its declared length (32 MiB). */
  readonly targetFileBytes: number;
  /** Most root versions taken in one update (default 256, as python-tuf). */
  readonly maxRootRotations: number;
  /** Deadline of one request, headers and body (default 30 s). */
  readonly requestTimeoutMs: number;
}

/** The default `TufLimits`. */
export const DEFAULT_TUF_LIMITS: TufLimits = {
  rootBytes: 512 * 1024,
  timestampBytes: 16 * 1024,
  snapshotBytes: 2 * 1024 * 1024,
  targetsBytes: 512 * 1024,
  targetFileBytes: 32 * 1024 * 1024,
  maxRootRotations: 256,
  requestTimeoutMs: 30_000,
};

/** Default cache validity: one day, as sigstore-go. */
export const DEFAULT_CACHE_VALIDITY_MS = 24 * 60 * 60 * 1000;

/** The verified top-level metadata an update ends with. */
export interface TrustedTufMetadata {
  /** The trusted root after the update. */
  readonly root: RootMetadata;
  /** The trusted timestamp. */
  readonly timestamp: TimestampMetadata;
  /** The trusted snapshot. */
  readonly snapshot: SnapshotMetadata;
  /** The trusted top-level targets. */
  readonly targets: TargetsMetadata;
  /**
   * `"cache"` when served without network (fresh, offline, or the mirror unreachable),
   * `"network"` after an online update.
   */
  readonly source: "cache" | "network";
}
