/**
 * Turning a proposed entry into what the log commits, the CPU-heavy half of an append: the
 * canonical body (after every signature in it verified, lib/tlog/rekor/canonicalize.ts) and its
 * search terms. Pure and self-contained, so it runs on a worker thread (`_prepare_worker.ts`)
 * as well as in the log's own thread.
 *
 * @module
 */

import { type Bytes, sha256, toHex } from "../../lib/util/bytes.ts";
import {
  type CanonicalizeOptions,
  canonicalizeProposedEntry,
} from "../../lib/tlog/rekor/canonicalize.ts";
import type { EntryBody } from "../../lib/tlog/rekor/bodies.ts";
import { PublicKey } from "../../lib/keys/public_key.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";
import { openSslPrehashedVerifier } from "./_openssl_ecdsa.ts";

/** A validated entry, ready to commit. */
export interface PreparedEntry {
  /** The canonical body bytes (RFC 8785 JSON). */
  readonly body: Bytes;
  /** Hex RFC 6962 leaf hash of the body: the entry UUID. */
  readonly uuid: string;
  /** The entry kind, as the SET names it. */
  readonly kind: string;
  /** The kind's version, as the SET names it. */
  readonly apiVersion: string;
  /** Search terms: the digests the entry records and the fingerprints of its keys. */
  readonly terms: readonly string[];
}

/** The SPKI of a verifier (a key, or the key of a certificate). */
function spkiOf(verifier: Uint8Array, type: "publicKey" | "certificate"): Bytes {
  return type === "certificate"
    ? parseCertificate(verifier).publicKey.spki
    : PublicKey.fromSpki(verifier).spki;
}

/** Search terms of an entry: the digests it records and the fingerprints of its keys. */
export function searchTerms(entry: EntryBody): string[] {
  const terms = new Set<string>();
  for (const digest of [entry.digest, entry.payloadHash, entry.envelopeHash, entry.contentHash]) {
    if (digest) terms.add(`${digest.algorithm}:${toHex(digest.value)}`);
  }
  for (const signature of entry.signatures) {
    terms.add(`key:${toHex(sha256(spkiOf(signature.verifier, signature.verifierType)))}`);
  }
  return [...terms];
}

let checks: CanonicalizeOptions | undefined;

/** How this thread checks hashedrekord signatures: OpenSSL when bound, else pure JS. */
function signatureChecks(): CanonicalizeOptions {
  if (!checks) {
    const verifyPrehashed = openSslPrehashedVerifier();
    checks = verifyPrehashed ? { verifyPrehashed } : {};
  }
  return checks;
}

/** Validate and canonicalize a proposal (`REKOR_ENTRY_INVALID`, `REKOR_ENTRY_UNSUPPORTED`). */
export async function prepareEntry(proposed: unknown): Promise<PreparedEntry> {
  const canonical = await canonicalizeProposedEntry(proposed, signatureChecks());
  return {
    body: canonical.body,
    uuid: canonical.uuid,
    kind: canonical.entry.kind,
    apiVersion: canonical.entry.apiVersion,
    terms: searchTerms(canonical.entry),
  };
}
