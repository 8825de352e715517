/**
 * Signing: what a signature is made of, and the witnesses that vouch for it.
 *
 * A `SigningIdentity` is a signer plus, for keyless signing, its Fulcio certificate. Witnesses
 * are injected functions: `log` records a proposed entry in a transparency log and returns the
 * entry as logged; `timestamp` returns an RFC 3161 response over the signature bytes. A log
 * that states no signing time (Rekor v2) makes a timestamp necessary for a certificate, as
 * cosign v3 requires (`checkWitnesses`). Image,
 * blob and attestation signing (lib/sign/image.ts, lib/sign/blob.ts) build on these helpers, so
 * every product writes the same annotations and bundles.
 *
 * @module
 */

import { type Bytes, toBase64 } from "../util/bytes.ts";
import { encodePem } from "../util/pem.ts";
import { type Bundle, BUNDLE_V03_MEDIA_TYPE } from "../bundle/model.ts";
import { publicKeyHint } from "../bundle/serialize.ts";
import type { Envelope } from "../payload/dsse.ts";
import { pae, serializeEnvelope } from "../payload/dsse.ts";
import { encodeRfc3161Annotation, tlogEntryToLegacyBundle } from "../bundle/legacy.ts";
import { ANNOTATION } from "../storage/signatures.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "../payload/statement.ts";
import type { ProposedEntry } from "../tlog/rekor/entries.ts";
import { buildDsseEntry, buildHashedRekordEntry } from "../tlog/rekor/entries.ts";
import type { Signer } from "../keys/public_key.ts";
import type { TlogEntry } from "../tlog/entry.ts";
import type { HashName } from "../util/bytes.ts";
import { digest } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";

/** Who signs: a signer, and for keyless signing its certificate (DER) and chain. */
export interface SigningIdentity {
  /** Makes the signature: a `PrivateKey`, or the ephemeral key of a keyless identity. */
  readonly signer: Signer;
  /** The Fulcio leaf certificate (DER), for keyless signing. */
  readonly certificate?: Bytes;
  /** Its issuers (DER), leaf-most first; written to the legacy chain annotation. */
  readonly chain?: readonly Bytes[];
}

/**
 * Records a proposed entry in a transparency log and returns it as logged. A plain function
 * will do; `transparencyLogWitness` also says which Rekor API it speaks.
 */
export interface LogWitness {
  (entry: ProposedEntry): Promise<TlogEntry>;
  /**
   * The log's Rekor API major version (absent: 1). Rekor v2 issues neither a SET nor an
   * integrated time, so its entries date nothing.
   */
  readonly majorApiVersion?: number;
}

/** The witnesses of a signature. */
export interface SigningServices {
  /** Record an entry in a transparency log; returns it as logged (with SET and proof). */
  readonly log?: LogWitness;
  /** Get an RFC 3161 timestamp response over `signature`. */
  readonly timestamp?: (signature: Bytes) => Promise<Bytes>;
}

/** The PEM the log records as the verifier: the certificate, or the public key. */
export function verifierPem(identity: SigningIdentity): string {
  return identity.certificate
    ? encodePem("CERTIFICATE", identity.certificate)
    : identity.signer.publicKey.toPem();
}

/** Hash cosign uses to sign with this identity: the key's default (section 4.3). */
export function signingHash(identity: SigningIdentity): HashName {
  return identity.signer.publicKey.defaultHash;
}

/**
 * Refuse witnesses that cannot vouch for this identity before anything is signed: a certificate
 * is valid for minutes, so its signature needs a trusted time, which a Rekor v2 entry does not
 * give; without a timestamp authority it raises `REKOR_TIMESTAMP_REQUIRED` (cosign v3: "a
 * timestamp authority must be provided ..."). A key needs no time and signs as it is. With
 * `legacy` (the `.sig` / `.att` tag formats, whose annotation holds a SET), a Rekor v2 log
 * raises `REKOR_LEGACY_UNSUPPORTED`.
 */
export function checkWitnesses(
  identity: SigningIdentity,
  services: SigningServices,
  options: { readonly legacy?: boolean } = {},
): void {
  if (options.legacy && services.log?.majorApiVersion === 2) {
    throw new CosignError(
      "REKOR_LEGACY_UNSUPPORTED",
      "A legacy signature (--new-bundle-format=false) carries its log entry as a SET, which Rekor v2 does not issue: sign in the bundle format or with Rekor v1",
    );
  }
  if (
    services.log?.majorApiVersion === 2 && identity.certificate !== undefined &&
    services.timestamp === undefined
  ) {
    throw new CosignError(
      "REKOR_TIMESTAMP_REQUIRED",
      "Rekor v2 states no signing time: a keyless signature logged there needs a timestamp authority (a signing config with a TSA, or --timestamp-server-url)",
    );
  }
}

/** A message signature with its witnesses. */
export interface WitnessedSignature {
  readonly signature: Bytes;
  readonly tlogEntry?: TlogEntry;
  readonly timestamp?: Bytes;
}

/**
 * Sign `message` (a payload or blob) and collect witnesses: a hashedrekord entry over its
 * digest, and a timestamp over the signature. Ed25519 keys sign with Ed25519ph when the entry
 * needs a prehash, as cosign does.
 */
export async function signMessage(
  message: Uint8Array,
  identity: SigningIdentity,
  services: SigningServices,
): Promise<WitnessedSignature> {
  checkWitnesses(identity, services);
  const hash = signingHash(identity);
  const prehash = identity.signer.publicKey.kind === "ed25519" && services.log !== undefined;
  const signature = await identity.signer.sign(message, { hash, prehash });
  const tlogEntry = services.log
    ? await services.log(buildHashedRekordEntry({
      digest: { algorithm: hash, value: digest(hash, message) },
      signature,
      verifierPem: verifierPem(identity),
    }))
    : undefined;
  const timestamp = services.timestamp ? await services.timestamp(signature) : undefined;
  return {
    signature,
    ...(tlogEntry ? { tlogEntry } : {}),
    ...(timestamp ? { timestamp } : {}),
  };
}

/** A signed DSSE envelope with its witnesses. */
export interface WitnessedEnvelope {
  readonly envelope: Envelope;
  /** The envelope JSON exactly as logged (and stored). */
  readonly envelopeJson: string;
  readonly tlogEntry?: TlogEntry;
  readonly timestamp?: Bytes;
}

/** Sign an in-toto statement as a DSSE envelope and collect witnesses (a dsse 0.0.1 entry). */
export async function signEnvelope(
  statement: Uint8Array,
  identity: SigningIdentity,
  services: SigningServices,
  options: { payloadType?: string; style?: "v3" | "legacy" } = {},
): Promise<WitnessedEnvelope> {
  checkWitnesses(identity, services);
  const payloadType = options.payloadType ?? IN_TOTO_PAYLOAD_TYPE;
  const payload = Uint8Array.from(statement) as Bytes;
  const sig = await identity.signer.sign(pae(payloadType, payload), {
    hash: signingHash(identity),
  });
  const envelope: Envelope = { payloadType, payload, signatures: [{ sig }] };
  const envelopeJson = serializeEnvelope(envelope, { style: options.style ?? "v3" });
  const tlogEntry = services.log
    ? await services.log(buildDsseEntry(envelopeJson, [verifierPem(identity)]))
    : undefined;
  const timestamp = services.timestamp ? await services.timestamp(sig) : undefined;
  return {
    envelope,
    envelopeJson,
    ...(tlogEntry ? { tlogEntry } : {}),
    ...(timestamp ? { timestamp } : {}),
  };
}

/**
 * The layer annotations of a legacy signature or attestation (section 1.4). Attestations carry
 * an empty signature annotation: their signature lives in the envelope.
 */
export function legacyAnnotations(
  identity: SigningIdentity,
  witnessed: { signature?: Bytes; tlogEntry?: TlogEntry; timestamp?: Bytes },
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const annotations: Record<string, string> = {
    [ANNOTATION.SIGNATURE]: witnessed.signature ? toBase64(witnessed.signature) : "",
    ...extra,
  };
  if (identity.certificate) {
    annotations[ANNOTATION.CERTIFICATE] = encodePem("CERTIFICATE", identity.certificate);
    annotations[ANNOTATION.CHAIN] = (identity.chain ?? []).map((der) =>
      encodePem("CERTIFICATE", der)
    ).join("");
  }
  if (witnessed.tlogEntry) {
    annotations[ANNOTATION.BUNDLE] = tlogEntryToLegacyBundle(witnessed.tlogEntry);
  }
  if (witnessed.timestamp) {
    annotations[ANNOTATION.RFC3161_TIMESTAMP] = encodeRfc3161Annotation(witnessed.timestamp);
  }
  return annotations;
}

/** A v0.3 Sigstore bundle as cosign v3 writes it (section 6.3). */
export function buildBundle(
  identity: SigningIdentity,
  content: Bundle["content"],
  witnesses: { tlogEntry?: TlogEntry; timestamp?: Bytes },
): Bundle {
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    version: "0.3",
    verificationMaterial: {
      key: identity.certificate
        ? { kind: "certificate", certificate: identity.certificate }
        : { kind: "publicKey", hint: publicKeyHint(identity.signer.publicKey) },
      tlogEntries: witnesses.tlogEntry ? [witnesses.tlogEntry] : [],
      rfc3161Timestamps: witnesses.timestamp ? [witnesses.timestamp] : [],
    },
    content,
  };
}
