/**
 * The parties a signature needs besides its signer, as library calls: a keyless identity (an
 * ephemeral key certified by Fulcio for an OIDC token, checked against the trusted root before
 * use, cosign-spec.md section 7), the transparency log that records the signature, and the
 * timestamp authority that dates it. The CLI and `mod.ts` share these.
 *
 * @module
 */

import type { Bytes } from "./_bytes.ts";
import {
  type CheckedCertificate,
  createProofOfPossession,
  FulcioClient,
  verifyIssuedCertificate,
} from "./fulcio.ts";
import { generateKeyPair } from "./keys.ts";
import { logEntryToTlogEntry, RekorClient } from "./rekor.ts";
import type { ProposedEntry } from "./rekor_entries.ts";
import type { SigningIdentity } from "./sign.ts";
import { requestTimestamp } from "./timestamp.ts";
import type { TlogEntry } from "./tlog_entry.ts";
import type { TrustedRoot } from "./trust.ts";

/** Options of `keylessIdentity`. */
export interface KeylessOptions {
  /** The OIDC identity token (audience `sigstore`). */
  readonly token: string;
  /** Fulcio's base URL. */
  readonly fulcioUrl: string;
  /** Trust material the issued certificate must chain to (with its SCT). */
  readonly trustedRoot: TrustedRoot;
  /** The fetch used to reach Fulcio (default the global one). */
  readonly fetch?: typeof fetch;
  /** Time the certificate must be valid at (default now). */
  readonly now?: Date;
  /** Distinct CT logs whose SCTs must verify (default 1; 0 accepts a certificate without). */
  readonly sctThreshold?: number;
}

/** A keyless signing identity and what its certificate says. */
export interface KeylessIdentity {
  /** The ephemeral signer with its certificate and chain, ready to sign with. */
  readonly identity: SigningIdentity;
  /** The issued certificate, checked against the trusted root, and its identity. */
  readonly certificate: CheckedCertificate;
}

/**
 * A keyless signing identity: a fresh ECDSA P-256 key, certified by Fulcio for `token` (proof of
 * possession over the token's email or subject), the certificate checked against `trustedRoot`
 * (chain, SCT, the key it certifies) before anything is signed with it.
 *
 * @example
 * ```ts ignore
 * const { identity, certificate } = await keylessIdentity({ token, fulcioUrl, trustedRoot });
 * console.log(certificate.identity.san); // "signer@example.com"
 * ```
 */
export async function keylessIdentity(options: KeylessOptions): Promise<KeylessIdentity> {
  const key = await generateKeyPair();
  const fulcio = new FulcioClient({
    baseUrl: options.fulcioUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const issued = await fulcio.signingCertificate({
    token: options.token,
    publicKey: key.publicKey,
    proofOfPossession: await createProofOfPossession(key, options.token),
  });
  const certificate = await verifyIssuedCertificate(issued, options.trustedRoot, {
    publicKey: key.publicKey,
    now: options.now ?? new Date(),
    sctThreshold: options.sctThreshold ?? 1,
  });
  return {
    identity: {
      signer: key,
      certificate: issued.leaf.raw,
      chain: issued.chain.slice(1).map((c) => c.raw),
    },
    certificate,
  };
}

/**
 * The `log` witness of `SigningServices`: records proposed entries in the Rekor v1 log at
 * `rekorUrl` and returns each entry as logged (with its SET and inclusion proof).
 */
export function transparencyLogWitness(
  rekorUrl: string,
  options: { fetch?: typeof fetch; onEntry?: (logIndex: bigint) => void } = {},
): (entry: ProposedEntry) => Promise<TlogEntry> {
  const rekor = new RekorClient({
    baseUrl: rekorUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return async (proposed) => {
    const entry = await rekor.createEntry(proposed);
    options.onEntry?.(entry.logIndex);
    return logEntryToTlogEntry(entry);
  };
}

/** The `timestamp` witness of `SigningServices`: an RFC 3161 timestamp from `tsaUrl`. */
export function timestampWitness(
  tsaUrl: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal } = {},
): (signature: Bytes) => Promise<Bytes> {
  return (signature) =>
    requestTimestamp(tsaUrl, signature, {
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
}
