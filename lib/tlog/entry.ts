/**
 * The transparency-log entry as every container carries it: the protobuf
 * `TransparencyLogEntry` of Sigstore bundles (cosign-spec.md section 6.3). Rekor API responses,
 * legacy bundle annotations and bundle JSON all convert to this one shape, so verification has
 * one input type.
 *
 * @module
 */

import type { Bytes } from "../util/bytes.ts";

/** An RFC 6962 inclusion proof with the signed checkpoint it ends in. */
export interface InclusionProof {
  /** Tree-local index of the leaf (not the global log index). */
  readonly logIndex: bigint;
  /** Root hash of the tree the proof ends in (RFC 6962 section 2.1.1). */
  readonly rootHash: Bytes;
  /** Size of that tree. */
  readonly treeSize: bigint;
  /** Sibling hashes, leaf to root. */
  readonly hashes: readonly Bytes[];
  /** The signed note text (`checkpoint.envelope`). */
  readonly checkpoint: string;
}

/** One transparency-log entry about a signature. */
export interface TlogEntry {
  /** Global (virtual) log index. */
  readonly logIndex: bigint;
  /** SHA-256 of the log's public key (SPKI). */
  readonly logId: Bytes;
  /** The entry kind and its schema version (`hashedrekord` `0.0.1`, `dsse` `0.0.1`, ...). */
  readonly kindVersion: { readonly kind: string; readonly version: string };
  /** Seconds since the epoch; 0 when absent (Rekor v2). */
  readonly integratedTime: bigint;
  /** The SET (signed entry timestamp), when present. */
  readonly inclusionPromise?: { readonly signedEntryTimestamp: Bytes };
  /** The inclusion proof, when present (bundles v0.2 and later require it). */
  readonly inclusionProof?: InclusionProof;
  /** The canonical entry body exactly as logged. */
  readonly canonicalizedBody: Bytes;
}
