/**
 * Online transparency-log checks (cosign-spec.md section 9.3, "No bundle"): complete log entries
 * that carry only a SET with an inclusion proof fetched from the log, and find the entry of a
 * signature that carries none. Whatever the log answers is then verified offline like any other
 * entry: the log is asked, never trusted (SECURITY.md rule 7, rekor #2799).
 *
 * @module
 */

import { equalBytes, toHex } from "./_bytes.ts";
import { CosignError } from "./errors.ts";
import { hashLeaf } from "./merkle.ts";
import { logEntryToTlogEntry, type RekorClient } from "./rekor.ts";
import type { ProposedEntry } from "./rekor_entries.ts";
import type { TlogEntry } from "./tlog_entry.ts";

/**
 * The same entries, each with an inclusion proof from `client` when it had none. The log must
 * answer with exactly the entry asked for (same body, index and log); otherwise
 * `REKOR_BODY_MISMATCH`.
 */
export async function withInclusionProofs(
  entries: readonly TlogEntry[],
  client: RekorClient,
): Promise<TlogEntry[]> {
  return await Promise.all(entries.map(async (entry) => {
    if (entry.inclusionProof) return entry;
    const uuid = toHex(hashLeaf(entry.canonicalizedBody));
    const fetched = logEntryToTlogEntry(await client.getEntryByUuid(uuid));
    if (
      !equalBytes(fetched.canonicalizedBody, entry.canonicalizedBody) ||
      fetched.logIndex !== entry.logIndex || !equalBytes(fetched.logId, entry.logId)
    ) {
      throw new CosignError(
        "REKOR_BODY_MISMATCH",
        `The log answered with another entry than ${entry.logIndex} ("${uuid}")`,
      );
    }
    if (!fetched.inclusionProof) {
      throw new CosignError(
        "REKOR_PROOF_MISSING",
        `The log gave no inclusion proof for entry ${entry.logIndex}`,
      );
    }
    return { ...entry, inclusionProof: fetched.inclusionProof };
  }));
}

/** The log's entries for `proposed` (a signature stored without its entry), with proofs. */
export async function findTlogEntries(
  proposed: ProposedEntry,
  client: RekorClient,
): Promise<TlogEntry[]> {
  const found = await client.retrieveEntries({ entries: [proposed] });
  return found.map(logEntryToTlogEntry);
}
