/**
 * Online transparency-log checks (cosign-spec.md section 9.3, "No bundle"): complete log entries
 * that carry only a SET with an inclusion proof fetched from the log, and find the entry of a
 * signature that carries none. Whatever the log answers is then verified offline like any other
 * entry: the log is asked, never trusted (SECURITY.md rule 7, rekor #2799).
 *
 * @module
 */

import { type Bytes, digest, equalBytes, fromUtf8, toHex } from "../util/bytes.ts";
import { encodePem } from "../util/pem.ts";
import { CosignError } from "../errors.ts";
import { hashLeaf } from "../tlog/merkle.ts";
import { logEntryToTlogEntry, type RekorClient } from "../tlog/rekor/client.ts";
import {
  buildDsseEntry,
  buildHashedRekordEntry,
  type ProposedEntry,
} from "../tlog/rekor/entries.ts";
import type { TlogEntry } from "../tlog/entry.ts";
import type { Artifact, SignedEntity, VerificationPolicy } from "./entity.ts";

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

/** The PEM the log records as the verifier: the certificate, or the policy's key. */
function verifierPemOf(entity: SignedEntity, policy: VerificationPolicy): string | undefined {
  return entity.material.kind === "certificate"
    ? encodePem("CERTIFICATE", entity.material.certificate)
    : policy.key?.toPem();
}

/**
 * The entity with its log evidence completed online: inclusion proofs for SET-only entries, or,
 * for a signature stored without an entry, the log's entries for it (a hashedrekord over the
 * artifact digest, or a dsse entry over the exact envelope bytes). Everything found is then
 * verified offline by the pipeline like any other entry.
 */
export async function withOnlineEntries(
  entity: SignedEntity,
  artifact: Artifact | undefined,
  policy: VerificationPolicy,
  log: RekorClient,
): Promise<SignedEntity> {
  if (entity.tlogEntries.length > 0) {
    return {
      ...entity,
      tlogEntries: await withInclusionProofs(entity.tlogEntries, log),
      requireInclusionProof: true,
    };
  }
  const verifier = verifierPemOf(entity, policy);
  if (verifier === undefined || (policy.tlogThreshold ?? 1) === 0) return entity;
  let proposed;
  if (entity.content.kind === "dsse") {
    if (!entity.envelopeBytes) return entity;
    proposed = buildDsseEntry(fromUtf8(entity.envelopeBytes), [verifier]);
  } else {
    if (!artifact) return entity;
    const value = artifact.kind === "digest"
      ? { algorithm: artifact.algorithm, value: Uint8Array.from(artifact.digest) as Bytes }
      : { algorithm: "sha256" as const, value: digest("sha256", artifact.bytes) };
    proposed = buildHashedRekordEntry({
      digest: value,
      signature: entity.content.signature,
      verifierPem: verifier,
    });
  }
  return {
    ...entity,
    tlogEntries: await findTlogEntries(proposed, log),
    requireInclusionProof: true,
  };
}
