/**
 * The parties a signature needs besides its signer, as library calls: a keyless identity (an
 * ephemeral key certified by Fulcio for an OIDC token, checked against the trusted root before
 * use, cosign-spec.md section 7), the transparency log that records the signature, and the
 * timestamp authority that dates it. The CLI and `mod.ts` share these.
 *
 * @module
 */

import type { Bytes } from "../util/bytes.ts";
import {
  type CheckedCertificate,
  createProofOfPossession,
  FulcioClient,
  issuedCertificateTime,
  verifyIssuedCertificate,
} from "../keyless/fulcio.ts";
import { generateKeyPair } from "../keys/private_key.ts";
import { logEntryToTlogEntry, RekorClient } from "../tlog/rekor/client.ts";
import type { ProposedEntry } from "../tlog/rekor/entries.ts";
import { RekorV2Client } from "../tlog/rekor_v2/client.ts";
import { requestFromProposedEntry } from "../tlog/rekor_v2/entries.ts";
import type { LogWitness, SigningIdentity } from "./signature.ts";
import { requestTimestamp } from "../timestamp/client.ts";
import { isWithin, type TrustedLog, type TrustedRoot } from "../trust/trusted_root.ts";
import { CosignError } from "../errors.ts";

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
  /**
   * The local clock (default `() => new Date()`), read before and after the request: the
   * certificate is checked at its `notBefore`, which must fall in that window widened by
   * `maxClockSkewMs` (`issuedCertificateTime`).
   */
  readonly now?: () => Date;
  /** How far the CA's clock may be from the local one, either way (default 30 s). */
  readonly maxClockSkewMs?: number;
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
 * @example Get a certificate from the embedded stack's Fulcio and sign a blob with it
 * ```ts
 * import assert from "node:assert/strict";
 * import { keylessIdentity, signBlob } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * // In CI the token comes from the OIDC provider (GitHub Actions, ...); the stack mints one.
 * const { identity, certificate } = await keylessIdentity({
 *   token: stack.ready.idToken!,
 *   fulcioUrl: stack.url,
 *   trustedRoot: stack.trust.trustedRoot,
 * });
 * assert.equal(certificate.identity.san, stack.ready.identity);
 * assert.equal(certificate.identity.issuer, stack.ready.issuer);
 *
 * const signed = await signBlob(
 *   { kind: "bytes", bytes: new TextEncoder().encode("release v1.0") },
 *   { identity },
 * );
 * assert.equal(signed.bundle.verificationMaterial.key.kind, "certificate");
 * ```
 */
export async function keylessIdentity(options: KeylessOptions): Promise<KeylessIdentity> {
  const clock = options.now ?? (() => new Date());
  const key = await generateKeyPair();
  const fulcio = new FulcioClient({
    baseUrl: options.fulcioUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const proofOfPossession = await createProofOfPossession(key, options.token);
  const requested = clock();
  const issued = await fulcio.signingCertificate({
    token: options.token,
    publicKey: key.publicKey,
    proofOfPossession,
  });
  // Checked at a time inside the validity it was issued for, never at one taken before the
  // request: the CA may have issued it in the next second (or with its clock a little ahead).
  const at = issuedCertificateTime(issued.leaf, requested, clock(), options.maxClockSkewMs);
  const certificate = await verifyIssuedCertificate(issued, options.trustedRoot, {
    publicKey: key.publicKey,
    now: at,
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

/** Options of `transparencyLogWitness`. */
export interface TransparencyLogWitnessOptions {
  /** The fetch used to reach the log (default the global one). */
  readonly fetch?: typeof fetch;
  /** Told the log index of each entry made. */
  readonly onEntry?: (logIndex: bigint) => void;
  /**
   * The Rekor API the log speaks, as the signing config's `majorApiVersion` says: 1 (the
   * default, `/api/v1/log/entries`) or 2 (Rekor v2, rekor-tiles: `/api/v2/log/entries`).
   */
  readonly majorApiVersion?: number;
  /**
   * Rekor v2: the trusted root that names the log at `rekorUrl` (same `baseUrl`); every answer
   * must come from that log and carry a checkpoint its key signed. Required for version 2.
   */
  readonly trustedRoot?: TrustedRoot;
  /** Rekor v2: the time the trusted root's log key must be valid at (default now). */
  readonly now?: Date;
}

/** The trusted-root entry of the Rekor v2 log at `url`: same base URL, usable and valid now. */
function rekorV2Log(url: string, root: TrustedRoot | undefined, now: Date): TrustedLog {
  if (!root) {
    throw new CosignError(
      "TRUST_MISSING",
      `Signing with the Rekor v2 log "${url}" checks its answers with the log's key from a trusted root: pass --trusted-root`,
    );
  }
  const trim = (u: string) => u.replace(/\/+$/, "");
  const logs = root.tlogs
    .filter((log) =>
      trim(log.baseUrl) === trim(url) && log.problem === undefined && isWithin(log.validFor, now)
    )
    .sort((a, b) => b.validFor.start.getTime() - a.validFor.start.getTime());
  if (logs.length === 0) {
    throw new CosignError(
      "REKOR_UNKNOWN_LOG",
      `The Rekor v2 log "${url}" is not in the trusted root (or its key is not valid now)`,
    );
  }
  return logs[0]!;
}

/**
 * The `log` witness of `SigningServices`: records proposed entries in the Rekor log at
 * `rekorUrl` and returns each entry as logged. A Rekor v1 log (the default) answers with a SET
 * and an inclusion proof; with `majorApiVersion: 2` the entry goes to Rekor v2 as cosign v3
 * logs it there (a hashedrekord 0.0.2, an envelope as a hashedrekord over its PAE digest,
 * `requestFromProposedEntry`), and comes back with an inclusion proof only: a keyless signature
 * then needs a timestamp witness too (`checkWitnesses` refuses to sign without one).
 *
 * @example Log a blob signature in the embedded stack's Rekor
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, signBlob, transparencyLogWitness } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const logged: bigint[] = [];
 * const log = transparencyLogWitness(stack.url, { onEntry: (index) => logged.push(index) });
 * const signed = await signBlob(
 *   { kind: "bytes", bytes: new TextEncoder().encode("release v1.0") },
 *   { identity: { signer: await generateKeyPair() }, services: { log } },
 * );
 * assert.deepEqual(logged, [signed.tlogEntry?.logIndex]);
 * assert.ok(signed.tlogEntry?.inclusionProof);
 * ```
 *
 * @example Keyless signing with the stack's Rekor v2 log, timestamped by its TSA
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   keylessIdentity,
 *   serializeBundle,
 *   signBlob,
 *   timestampWitness,
 *   transparencyLogWitness,
 *   verifyBlob,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const trustedRoot = stack.trust.trustedRoot;
 * // What a signing config says: the stack's signing_config_rekor_v2.json lists this log first.
 * const [rekor] = stack.trust.signingConfigRekorV2.rekorTlogUrls;
 * const { identity } = await keylessIdentity({
 *   token: stack.ready.idToken!,
 *   fulcioUrl: stack.url,
 *   trustedRoot,
 * });
 * const blob = { kind: "bytes", bytes: new TextEncoder().encode("release v2.0") } as const;
 * const signed = await signBlob(blob, {
 *   identity,
 *   services: {
 *     log: transparencyLogWitness(rekor!.url, {
 *       majorApiVersion: rekor!.majorApiVersion, // 2
 *       trustedRoot, // the answer must come from this log, proven under its signed checkpoint
 *     }),
 *     timestamp: timestampWitness(stack.ready.tsa!), // Rekor v2 states no time: required
 *   },
 * });
 * assert.deepEqual(signed.tlogEntry?.kindVersion, { kind: "hashedrekord", version: "0.0.2" });
 * await verifyBlob({ bundle: new TextEncoder().encode(serializeBundle(signed.bundle)) }, blob, {
 *   trustedRoot,
 *   identities: [{ subject: stack.ready.identity!, issuer: stack.ready.issuer! }],
 * });
 * ```
 */
export function transparencyLogWitness(
  rekorUrl: string,
  options: TransparencyLogWitnessOptions = {},
): LogWitness {
  const version = options.majorApiVersion ?? 1;
  const fetcher = options.fetch ? { fetch: options.fetch } : {};
  if (version === 2) {
    const log = rekorV2Log(rekorUrl, options.trustedRoot, options.now ?? new Date());
    const rekor = new RekorV2Client({ baseUrl: rekorUrl, log, ...fetcher });
    const witness = async (proposed: ProposedEntry) => {
      const entry = await rekor.createEntry(requestFromProposedEntry(proposed));
      options.onEntry?.(entry.logIndex);
      return entry;
    };
    return Object.assign(witness, { majorApiVersion: 2 });
  }
  if (version !== 1) throw new RangeError(`Unsupported Rekor API version ${version}`);
  const rekor = new RekorClient({ baseUrl: rekorUrl, ...fetcher });
  const witness = async (proposed: ProposedEntry) => {
    const entry = await rekor.createEntry(proposed);
    options.onEntry?.(entry.logIndex);
    return logEntryToTlogEntry(entry);
  };
  return Object.assign(witness, { majorApiVersion: 1 });
}

/**
 * The `timestamp` witness of `SigningServices`: an RFC 3161 timestamp from `tsaUrl`.
 *
 * @example Timestamp a signature with the embedded stack's TSA, require it when verifying
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   generateKeyPair,
 *   serializeBundle,
 *   signBlob,
 *   timestampWitness,
 *   verifyBlob,
 * } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const key = await generateKeyPair();
 * const blob = { kind: "bytes", bytes: new TextEncoder().encode("release v1.0") } as const;
 * const signed = await signBlob(blob, {
 *   identity: { signer: key },
 *   services: { timestamp: timestampWitness(stack.ready.tsa!) },
 * });
 *
 * const verified = await verifyBlob(
 *   { bundle: new TextEncoder().encode(serializeBundle(signed.bundle)) },
 *   blob,
 *   {
 *     key: key.publicKey,
 *     trustedRoot: stack.trust.trustedRoot,
 *     tlogThreshold: 0, // no log entry was made
 *     timestampThreshold: 1,
 *   },
 * );
 * assert.equal(verified.result.timestamps.length, 1);
 * ```
 */
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
