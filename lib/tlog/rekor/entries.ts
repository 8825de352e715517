/**
 * Rekor entry kinds (cosign-spec.md section 5.2): parsing canonical entry bodies, building
 * proposed entries, and checking that a logged body describes exactly the signature, key or
 * certificate and artifact being verified (section 5.6; SECURITY.md rows 1, 3, 7).
 *
 * Kinds read: `hashedrekord` 0.0.1, `dsse` 0.0.1, `intoto` 0.0.2 (double base64), the legacy
 * `rekord` 0.0.1 (x509) and `intoto` 0.0.1, and Rekor v2's `hashedrekord` / `dsse` 0.0.2.
 * Every body is bounded in size and signature count, and every failure is a typed error, never
 * an uncaught `SyntaxError` from JSON or base64 (sigstore-js #1722, rekor GHSA-843x-px86-vq42).
 *
 * @module
 */

import {
  digest as hashWith,
  digestLength,
  equalBytes,
  type HashName,
  toBase64,
  toHex,
  utf8,
} from "../../util/bytes.ts";
import { asNonEmptyString, asRecord, type JsonRecord } from "../../util/json.ts";
import type { EntryBody, EntryDigest, LoggedSignature } from "./bodies.ts";
import { pae } from "../../payload/dsse.ts";
import { CosignError, errorMessage } from "../../errors.ts";
import { PublicKey } from "../../keys/public_key.ts";
import { parseCertificate } from "../../x509/certificate.ts";

/** Error codes raised here. */
export type RekorEntryErrorCode = "REKOR_BODY_MALFORMED" | "REKOR_BODY_MISMATCH";

// ---------------------------------------------------------------------------------------------
// Binding checks (section 5.6)

/** What the verifier holds and the entry must describe exactly. */
export interface ExpectedContent {
  /** The signature being verified: a message signature, or the DSSE envelope's signature. */
  readonly signature?: Uint8Array;
  /** DER of the verifying key (SubjectPublicKeyInfo) or certificate. */
  readonly publicKeyOrCertificateDer?: Uint8Array;
  /** Message signatures: the signed artifact's digest. */
  readonly artifactDigest?: { readonly algorithm: HashName; readonly digest: Uint8Array };
  /** DSSE: the envelope being verified (its payload type and decoded payload). */
  readonly dsseEnvelope?: { readonly payloadType: string; readonly payload: Uint8Array };
  /** DSSE without the envelope at hand: SHA-256 of the decoded payload. */
  readonly payloadHash?: Uint8Array;
  /** Legacy layers: SHA-256 of the envelope bytes as stored; checked against dsse 0.0.1's. */
  readonly envelopeHash?: Uint8Array;
}

/** The SPKI of a verifier DER (a key, or a certificate's key), and which of the two it was. */
function spkiOf(der: Uint8Array): { spki: Uint8Array; certificate: boolean } | undefined {
  try {
    return { spki: PublicKey.fromSpki(der).spki, certificate: false };
  } catch {
    try {
      return { spki: parseCertificate(der).publicKey.spki, certificate: true };
    } catch {
      return undefined;
    }
  }
}

function loggedSpki(logged: LoggedSignature): Uint8Array | undefined {
  try {
    return logged.verifierType === "certificate"
      ? parseCertificate(logged.verifier).publicKey.spki
      : PublicKey.fromSpki(logged.verifier).spki;
  } catch {
    return undefined;
  }
}

function mismatch(message: string): CosignError {
  return new CosignError("REKOR_BODY_MISMATCH", `Log entry does not match: ${message}`);
}

function checkDigest(
  logged: EntryDigest | undefined,
  algorithm: HashName,
  value: Uint8Array,
  what: string,
) {
  if (!logged) throw mismatch(`the entry records no ${what}`);
  if (logged.algorithm !== algorithm || !equalBytes(logged.value, value)) {
    throw mismatch(
      `its ${what} is ${logged.algorithm}:${toHex(logged.value)}, not ${algorithm}:${toHex(value)}`,
    );
  }
}

function checkPayloadHash(body: EntryBody, expected: ExpectedContent): void {
  const logged = body.payloadHash;
  if (!logged) throw mismatch("the entry records no payload hash");
  if (expected.dsseEnvelope) {
    checkDigest(
      logged,
      logged.algorithm,
      hashWith(logged.algorithm, expected.dsseEnvelope.payload),
      "payload hash",
    );
  } else if (expected.payloadHash) {
    checkDigest(logged, "sha256", expected.payloadHash, "payload hash");
  } else {
    throw new TypeError(
      `Checking a ${body.kind} entry needs the DSSE envelope or its payload hash`,
    );
  }
}

/**
 * Check that `body` describes exactly `expected`; throws `REKOR_BODY_MISMATCH` naming the
 * first difference. Signature and key/certificate are required (a `TypeError` when missing:
 * binding to nothing would succeed vacuously), and must appear together in one logged
 * signature, compared byte for byte (DER after PEM decoding). A logged bare key and a
 * verifying certificate (or the reverse) match when the certificate's key is that key, as
 * Rekor v2 entries may log either; two certificates must be identical. hashedrekord 0.0.1 and rekord
 * must record the artifact digest and cannot carry a DSSE envelope; v2 hashedrekord records the
 * artifact digest, or for DSSE the digest of PAE(envelope); dsse and intoto record the payload
 * hash (and `envelopeHash`, when expected, must match the envelope hash dsse 0.0.1 records;
 * intoto records a hash of Rekor's re-serialized envelope instead, not comparable to bytes).
 */
export function checkEntryBinding(body: EntryBody, expected: ExpectedContent): void {
  const key = expected.publicKeyOrCertificateDer;
  if (!key) throw new TypeError("Checking a log entry needs the verifying key or certificate");
  const needsSignature = !(body.kind === "intoto" && body.apiVersion === "0.0.1");
  if (needsSignature && !expected.signature) {
    throw new TypeError("Checking a log entry needs the signature being verified");
  }
  const expectedKey = spkiOf(key);
  // Unparseable keys never match by key: only the byte-equal comparison applies to them.
  const sameVerifier = (logged: LoggedSignature) => {
    if (equalBytes(logged.verifier, key)) return true;
    if (!expectedKey || expectedKey.certificate === (logged.verifierType === "certificate")) {
      return false;
    }
    const spki = loggedSpki(logged);
    return spki !== undefined && equalBytes(spki, expectedKey.spki);
  };
  const match = body.signatures.find((logged) =>
    sameVerifier(logged) &&
    (!needsSignature || (logged.signature !== undefined &&
      equalBytes(logged.signature, expected.signature!)))
  );
  if (!match) {
    const keyLogged = body.signatures.some(sameVerifier);
    throw mismatch(
      keyLogged
        ? "the logged signature is not the one being verified"
        : "the logged key or certificate is not the verifying one",
    );
  }
  const kindVersion = `${body.kind}/${body.apiVersion}`;
  switch (kindVersion) {
    case "hashedrekord/0.0.1":
    case "rekord/0.0.1": {
      if (expected.dsseEnvelope) {
        throw mismatch(`a DSSE envelope cannot be logged as ${body.kind} ${body.apiVersion}`);
      }
      const artifact = expected.artifactDigest;
      if (!artifact) throw new TypeError(`Checking a ${body.kind} entry needs the artifact digest`);
      checkDigest(body.digest, artifact.algorithm, artifact.digest, "artifact digest");
      break;
    }
    case "hashedrekord/0.0.2": {
      const logged = body.digest!;
      if (expected.dsseEnvelope) {
        const { payloadType, payload } = expected.dsseEnvelope;
        checkDigest(
          logged,
          logged.algorithm,
          hashWith(logged.algorithm, pae(payloadType, payload)),
          "digest of the DSSE envelope",
        );
      } else if (expected.artifactDigest) {
        checkDigest(
          logged,
          expected.artifactDigest.algorithm,
          expected.artifactDigest.digest,
          "artifact digest",
        );
      } else {
        throw new TypeError("Checking a hashedrekord entry needs the artifact digest or envelope");
      }
      break;
    }
    case "dsse/0.0.1":
    case "dsse/0.0.2":
    case "intoto/0.0.2":
    case "intoto/0.0.1":
      if (expected.artifactDigest && !expected.dsseEnvelope && !expected.payloadHash) {
        throw mismatch(`a message signature cannot be logged as ${body.kind} ${body.apiVersion}`);
      }
      checkPayloadHash(body, expected);
      // Only dsse 0.0.1 hashes the envelope bytes as submitted; intoto hashes Rekor's own
      // re-serialization, which stored layer bytes need not reproduce.
      if (expected.envelopeHash && body.envelopeHash) {
        checkDigest(body.envelopeHash, "sha256", expected.envelopeHash, "envelope hash");
      }
      break;
    default:
      throw mismatch(`unsupported kind ${body.kind} ${body.apiVersion}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Proposed entries (what clients POST to /api/v1/log/entries)

/** A Rekor v1 proposed entry. */
export interface ProposedEntry {
  /** The kind's schema version. */
  readonly apiVersion: string;
  /** The entry kind. */
  readonly kind: string;
  /** The kind-specific content. */
  readonly spec: JsonRecord;
}

/** Inputs of a hashedrekord 0.0.1 entry (message signatures). */
export interface HashedRekordInput {
  /** The artifact digest the signature covers. */
  readonly digest: { readonly algorithm: HashName; readonly value: Uint8Array };
  /** The signature (ECDSA: DER). */
  readonly signature: Uint8Array;
  /** PEM of the verifying certificate or `PUBLIC KEY`, as cosign sends it. */
  readonly verifierPem: string;
}

/** A hashedrekord 0.0.1 proposed entry, as cosign builds it. */
export function buildHashedRekordEntry(input: HashedRekordInput): ProposedEntry {
  if (input.digest.value.length !== digestLength(input.digest.algorithm)) {
    throw new RangeError(`Not a ${input.digest.algorithm} digest`);
  }
  return {
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: input.digest.algorithm, value: toHex(input.digest.value) } },
      signature: {
        content: toBase64(input.signature),
        publicKey: { content: toBase64(utf8(input.verifierPem)) },
      },
    },
  };
}

/** A dsse 0.0.1 proposed entry: the envelope text exactly as stored, and verifier PEMs. */
export function buildDsseEntry(
  envelopeJson: string,
  verifierPems: readonly string[],
): ProposedEntry {
  if (verifierPems.length === 0) throw new RangeError("A dsse entry needs a verifier");
  return {
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      proposedContent: {
        envelope: envelopeJson,
        verifiers: verifierPems.map((pem) => toBase64(utf8(pem))),
      },
    },
  };
}

/** Inputs of an intoto 0.0.2 entry. */
export interface IntotoInput {
  /** The DSSE payload type. */
  readonly payloadType: string;
  /** The decoded DSSE payload. */
  readonly payload: Uint8Array;
  /** Each envelope signature with the PEM that verifies it. */
  readonly signatures: readonly { sig: Uint8Array; keyid?: string; verifierPem: string }[];
}

/** An intoto 0.0.2 proposed entry (cosign `--rekor-entry-type intoto`): double base64. */
export function buildIntotoEntry(input: IntotoInput): ProposedEntry {
  if (input.signatures.length === 0) throw new RangeError("An intoto entry needs a signature");
  return {
    apiVersion: "0.0.2",
    kind: "intoto",
    spec: {
      content: {
        envelope: {
          payloadType: input.payloadType,
          payload: toBase64(utf8(toBase64(input.payload))),
          signatures: input.signatures.map((s) => ({
            ...(s.keyid ? { keyid: s.keyid } : {}),
            sig: toBase64(utf8(toBase64(s.sig))),
            publicKey: toBase64(utf8(s.verifierPem)),
          })),
        },
      },
    },
  };
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_BODY_MALFORMED", `Invalid Rekor entry body: ${message}`, {
    cause,
  });
}

/** Read a proposed entry from JSON; `REKOR_BODY_MALFORMED` when it has no kind or spec. */
export function parseProposedEntry(value: unknown): ProposedEntry {
  try {
    const record = asRecord(value, "entry");
    return {
      apiVersion: asNonEmptyString(record.apiVersion, "apiVersion"),
      kind: asNonEmptyString(record.kind, "kind"),
      spec: asRecord(record.spec, "spec"),
    };
  } catch (error) {
    throw malformed(errorMessage(error), error);
  }
}

function sameDigest(a: EntryDigest | undefined, b: EntryDigest | undefined): boolean {
  if (!a || !b) return a === b;
  return a.algorithm === b.algorithm && equalBytes(a.value, b.value);
}

/**
 * True when two parsed bodies commit to the same content: kind, version, every digest, and the
 * same set of (signature, verifier) pairs. Used to check that what a log returns is what was
 * proposed (rekor #2799), whatever the byte-level differences of two canonicalizers.
 */
export function sameEntryContent(a: EntryBody, b: EntryBody): boolean {
  if (a.kind !== b.kind || a.apiVersion !== b.apiVersion) return false;
  if (!sameDigest(a.digest, b.digest) || !sameDigest(a.payloadHash, b.payloadHash)) return false;
  if (!sameDigest(a.envelopeHash, b.envelopeHash) || !sameDigest(a.contentHash, b.contentHash)) {
    return false;
  }
  if (a.signatures.length !== b.signatures.length) return false;
  const same = (x: LoggedSignature, y: LoggedSignature) =>
    x.verifierType === y.verifierType && equalBytes(x.verifier, y.verifier) &&
    (x.signature === undefined
      ? y.signature === undefined
      : y.signature !== undefined && equalBytes(x.signature, y.signature));
  return a.signatures.every((x) => b.signatures.some((y) => same(x, y))) &&
    b.signatures.every((y) => a.signatures.some((x) => same(x, y)));
}
