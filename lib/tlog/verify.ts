/**
 * Offline verification of transparency-log entries against a trusted root (cosign-spec.md
 * sections 5.3-5.6 and 9.2 step 1; SECURITY.md rows 1, 3, 7, 21).
 *
 * One entry passes when: its log is in the trusted root (and that root entry is usable); its
 * body parses and its kind/version is the one the container declares; its SignedEntryTimestamp
 * verifies over the RFC 8785 payload `{body, integratedTime, logID, logIndex}` with the log key
 * valid at that time; its inclusion proof leads from the body's leaf hash to a root hash that a
 * checkpoint signed by the log states for the same tree size; and its body describes exactly
 * the signature, key or certificate and artifact being verified. An entry with neither a SET nor
 * a proof proves nothing and fails. The integrated time is returned only when a SET covers it.
 *
 * @module
 */

import { type Bytes, equalBytes, toBase64, toHex } from "../util/bytes.ts";
import { verifyCheckpoint } from "./checkpoint.ts";
import { CosignError, isCosignError } from "../errors.ts";
import { hashLeaf, verifyInclusion } from "./merkle.ts";
import { checkEntryBinding, type ExpectedContent } from "./rekor/entries.ts";
import { type EntryBody, parseEntryBody } from "./rekor/bodies.ts";
import { verifySignature } from "../keys/public_key.ts";
import type { TlogEntry } from "./entry.ts";
import { findLogs, isWithin, type TrustedLog, type TrustedRoot } from "../trust/trusted_root.ts";

/** Error codes raised here (besides those of checkpoints, proofs and entry bodies). */
export type TlogVerifyErrorCode =
  | "REKOR_ENTRY_MALFORMED"
  | "REKOR_UNKNOWN_LOG"
  | "REKOR_LOG_NOT_VALID"
  | "REKOR_SET_INVALID"
  | "REKOR_INTEGRATED_TIME_INVALID"
  | "REKOR_PROOF_INVALID"
  | "REKOR_PROOF_MISSING"
  | "REKOR_NO_EVIDENCE"
  | "REKOR_BODY_MISMATCH"
  | "REKOR_DUPLICATE_ENTRY"
  | "REKOR_TOO_MANY_ENTRIES"
  | "VERIFY_TLOG_THRESHOLD";

/** Most entries `verifyTlogEntries` reads (sigstore-go's cap; SECURITY.md row 20). */
export const MAX_TLOG_ENTRIES = 32;

/** How far in the future an integrated time may lie before it is refused. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** Options of `verifyTlogEntry`. */
export interface VerifyTlogOptions {
  /** What the entry must describe (signature, key or certificate, artifact or envelope). */
  readonly expected: ExpectedContent;
  /** Require an inclusion proof with a checkpoint (bundles v0.2 and later). */
  readonly requireProof?: boolean;
  /** The current time, for refusing integrated times in the future; default now. */
  readonly now?: Date;
  /** Require this exact checkpoint origin (for example a known Rekor v1 tree). */
  readonly checkpointOrigin?: string;
  /**
   * Times established otherwise (RFC 3161) at which the log key must be valid when no SET
   * gives an integrated time (Rekor v2).
   */
  readonly trustedTimes?: readonly Date[];
}

/** The outcome of a verified entry. */
export interface TlogVerification {
  /** The trusted-root log that vouched for the entry. */
  readonly log: TrustedLog;
  /** The integrated time, only when a verified SET covers it. */
  readonly integratedTime?: Date;
  /** Whether a SET was present and verified. */
  readonly setVerified: boolean;
  /** Whether an inclusion proof with its checkpoint was present and verified. */
  readonly proofVerified: boolean;
  /** The parsed body. */
  readonly body: EntryBody;
}

function fail(code: TlogVerifyErrorCode, message: string, cause?: unknown): never {
  throw new CosignError(code, message, { cause });
}

/** Kinds whose 0.0.2 versions come from Rekor v2, which issues no SETs. */
function isRekorV2(body: EntryBody): boolean {
  return body.apiVersion === "0.0.2" && (body.kind === "hashedrekord" || body.kind === "dsse");
}

/**
 * The bytes a SignedEntryTimestamp signs (section 5.3, gotcha 4): RFC 8785 JSON of exactly
 * `{body, integratedTime, logID, logIndex}`. Written by hand because the integers are int64:
 * a JSON number built from a double would round indexes above 2^53.
 */
export function setPayload(entry: TlogEntry): Bytes {
  // Keys are already in RFC 8785 order; base64 and hex need no escaping.
  return new TextEncoder().encode(
    `{"body":"${toBase64(entry.canonicalizedBody)}","integratedTime":${entry.integratedTime},` +
      `"logID":"${toHex(entry.logId)}","logIndex":${entry.logIndex}}`,
  ) as Bytes;
}

function usableLogs(entry: TlogEntry, root: TrustedRoot): TrustedLog[] {
  const logs = findLogs(root.tlogs, entry.logId);
  if (logs.length === 0) {
    fail("REKOR_UNKNOWN_LOG", `Log "${toHex(entry.logId)}" is not in the trusted root`);
  }
  const usable = logs.filter((log) => log.problem === undefined);
  if (usable.length === 0) {
    fail(
      "REKOR_UNKNOWN_LOG",
      `Log "${toHex(entry.logId)}" has an unusable trusted root entry: ${logs[0]!.problem}`,
    );
  }
  return usable;
}

function checkEntryFields(entry: TlogEntry): void {
  if (entry.logIndex < 0n) fail("REKOR_ENTRY_MALFORMED", `Negative log index ${entry.logIndex}`);
  if (entry.logId.length !== 32) fail("REKOR_ENTRY_MALFORMED", "Log ID is not 32 bytes");
  if (entry.integratedTime < 0n || entry.integratedTime > 253402300799n) {
    fail("REKOR_ENTRY_MALFORMED", `Integrated time ${entry.integratedTime} is out of range`);
  }
}

async function verifyWithLog(
  entry: TlogEntry,
  body: EntryBody,
  log: TrustedLog,
  options: VerifyTlogOptions,
): Promise<TlogVerification> {
  let integratedTime: Date | undefined;
  const promise = entry.inclusionPromise;
  const proof = entry.inclusionProof;
  // The two signature checks are independent: run them together, report in a fixed order.
  const [setResult, checkpointResult] = await Promise.allSettled([
    promise
      ? verifySignature(log.key, setPayload(entry), promise.signedEntryTimestamp)
      : Promise.resolve(true),
    proof
      ? verifyCheckpoint(
        proof.checkpoint,
        log,
        options.checkpointOrigin === undefined ? {} : { origin: options.checkpointOrigin },
      )
      : Promise.resolve(undefined),
  ]);
  if (promise) {
    if (setResult.status === "rejected") throw setResult.reason;
    if (!setResult.value) {
      fail(
        "REKOR_SET_INVALID",
        `Signed entry timestamp of entry ${entry.logIndex} does not verify`,
      );
    }
    integratedTime = new Date(Number(entry.integratedTime) * 1000);
    const now = options.now ?? new Date();
    if (integratedTime.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
      fail(
        "REKOR_INTEGRATED_TIME_INVALID",
        `Integrated time ${integratedTime.toISOString()} is in the future`,
      );
    }
    if (!isWithin(log.validFor, integratedTime)) {
      fail(
        "REKOR_LOG_NOT_VALID",
        `Log "${log.baseUrl}" key is not valid at ${integratedTime.toISOString()}`,
      );
    }
  }
  for (const time of options.trustedTimes ?? []) {
    if (!isWithin(log.validFor, time)) {
      fail("REKOR_LOG_NOT_VALID", `Log "${log.baseUrl}" key is not valid at ${time.toISOString()}`);
    }
  }

  if (proof) {
    if (checkpointResult.status === "rejected") throw checkpointResult.reason;
    const checkpoint = checkpointResult.value!;
    if (checkpoint.treeSize !== proof.treeSize) {
      fail(
        "REKOR_PROOF_INVALID",
        `Checkpoint is for tree size ${checkpoint.treeSize}, the proof for ${proof.treeSize}`,
      );
    }
    // Exact bytes: never a case-insensitive comparison (rekor #2861).
    if (!equalBytes(checkpoint.rootHash, proof.rootHash)) {
      fail("REKOR_PROOF_INVALID", "Checkpoint root hash differs from the proof's root hash");
    }
    // The proof uses the tree-local index, the entry the global one (gotcha 2; rekor #1599).
    if (proof.logIndex > entry.logIndex || (isRekorV2(body) && proof.logIndex !== entry.logIndex)) {
      fail(
        "REKOR_PROOF_INVALID",
        `Proof index ${proof.logIndex} does not belong to log index ${entry.logIndex}`,
      );
    }
    verifyInclusion({
      index: proof.logIndex,
      size: proof.treeSize,
      leafHash: hashLeaf(entry.canonicalizedBody),
      proof: proof.hashes,
      root: proof.rootHash,
    });
  } else if (options.requireProof || isRekorV2(body)) {
    fail("REKOR_PROOF_MISSING", `Entry ${entry.logIndex} has no inclusion proof`);
  } else if (!promise) {
    fail("REKOR_NO_EVIDENCE", `Entry ${entry.logIndex} has neither a SET nor an inclusion proof`);
  }

  checkEntryBinding(body, options.expected);
  return {
    log,
    ...(integratedTime ? { integratedTime } : {}),
    setVerified: promise !== undefined,
    proofVerified: proof !== undefined,
    body,
  };
}

/**
 * Verify one entry offline (see the module doc). Throws `CosignError` whose code names the
 * failed check: `REKOR_UNKNOWN_LOG`, `REKOR_BODY_MALFORMED`, `REKOR_BODY_MISMATCH` (including a
 * `kindVersion` that differs from the body), `REKOR_SET_INVALID`, `REKOR_LOG_NOT_VALID`,
 * `REKOR_CHECKPOINT_INVALID` / `_MALFORMED`, `REKOR_PROOF_INVALID`, `REKOR_PROOF_MISSING`,
 * `REKOR_NO_EVIDENCE`, `REKOR_ENTRY_MALFORMED`.
 */
export async function verifyTlogEntry(
  entry: TlogEntry,
  trustedRoot: TrustedRoot,
  options: VerifyTlogOptions,
): Promise<TlogVerification> {
  checkEntryFields(entry);
  const logs = usableLogs(entry, trustedRoot);
  const body = parseEntryBody(entry.canonicalizedBody);
  if (body.kind !== entry.kindVersion.kind || body.apiVersion !== entry.kindVersion.version) {
    fail(
      "REKOR_BODY_MISMATCH",
      `Entry says ${entry.kindVersion.kind} ${entry.kindVersion.version} but its body is ${body.kind} ${body.apiVersion}`,
    );
  }
  // Several root entries may share a log ID (one key, successive validity windows).
  let firstError: unknown;
  for (const log of logs) {
    try {
      return await verifyWithLog(entry, body, log, options);
    } catch (error) {
      if (!isCosignError(error)) throw error;
      firstError ??= error;
    }
  }
  throw firstError;
}

/** Options of `verifyTlogEntries`. */
export interface VerifyTlogEntriesOptions extends VerifyTlogOptions {
  /** Distinct logs that must vouch for the signature (at least 1). */
  readonly threshold: number;
}

/** The outcome of `verifyTlogEntries`. */
export interface TlogEntriesVerification {
  /** Each entry's outcome, in input order. */
  readonly entries: readonly TlogVerification[];
  /** Number of distinct logs among them. */
  readonly logCount: number;
  /** SET-covered integrated times, earliest first. */
  readonly integratedTimes: readonly Date[];
}

/**
 * Verify every entry (each must pass) and count the distinct logs that vouch (SECURITY.md
 * row 21: one log counts once, however many entries it issued). Duplicate (log ID, log index)
 * pairs are refused (`REKOR_DUPLICATE_ENTRY`), more than `MAX_TLOG_ENTRIES` entries too, and
 * fewer distinct logs than `threshold` raises `VERIFY_TLOG_THRESHOLD`.
 */
export async function verifyTlogEntries(
  entries: readonly TlogEntry[],
  trustedRoot: TrustedRoot,
  options: VerifyTlogEntriesOptions,
): Promise<TlogEntriesVerification> {
  if (!Number.isSafeInteger(options.threshold) || options.threshold < 1) {
    throw new RangeError(`Invalid transparency log threshold ${options.threshold}`);
  }
  if (entries.length > MAX_TLOG_ENTRIES) {
    fail("REKOR_TOO_MANY_ENTRIES", `${entries.length} log entries, more than ${MAX_TLOG_ENTRIES}`);
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = `${toHex(entry.logId)}:${entry.logIndex}`;
    if (seen.has(key)) {
      fail(
        "REKOR_DUPLICATE_ENTRY",
        `Log entry ${entry.logIndex} of "${toHex(entry.logId)}" appears twice`,
      );
    }
    seen.add(key);
  }
  const verified: TlogVerification[] = [];
  for (const entry of entries) verified.push(await verifyTlogEntry(entry, trustedRoot, options));
  const logCount = new Set(verified.map((v) => toHex(v.log.logId))).size;
  if (logCount < options.threshold) {
    fail(
      "VERIFY_TLOG_THRESHOLD",
      `${logCount} transparency log${
        logCount === 1 ? "" : "s"
      } vouched, ${options.threshold} required`,
    );
  }
  const integratedTimes = verified.flatMap((v) => (v.integratedTime ? [v.integratedTime] : []))
    .sort((a, b) => a.getTime() - b.getTime());
  return { entries: verified, logCount, integratedTimes };
}
