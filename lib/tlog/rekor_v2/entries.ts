/**
 * Rekor v2 entries (rekor-tiles `api/proto/rekor/v2/*.proto`): the `CreateEntryRequest` a
 * client posts to `/api/v2/log/entries` (`hashedRekordRequestV002`, or the deprecated
 * `dsseRequestV002` that rekor-tiles dropped in #744), its protobuf JSON both ways, and the
 * canonical body a log stores for it: RFC 8785 JSON of the `Entry` message as protojson writes
 * it, for example
 *
 * ```
 * {"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":
 * "SHA2_256","digest":"<b64>"},"signature":{"content":"<b64>","verifier":{"keyDetails":
 * "PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"<b64 SPKI>"}}}}}}
 * ```
 *
 * which is also the body sigstore-go rebuilds from a bundle to check the leaf hash. As cosign v3
 * and sigstore-go do, a DSSE envelope is logged as a hashedrekord over the digest of its PAE
 * (`requestFromProposedEntry`), with the hash the key's `keyDetails` names. Canonicalizing checks
 * what rekor-tiles checks before logging: supported `keyDetails` matching the key, the digest
 * length of that hash, and every signature verifying. Reading bodies back is `rekor/bodies.ts`.
 *
 * @module
 */

import {
  type Bytes,
  digest,
  digestLength,
  fromHex,
  type HashName,
  toBase64,
  toHex,
} from "../../util/bytes.ts";
import {
  asArray,
  asNonEmptyString,
  asRecord,
  asString,
  asWrappedBase64,
  type JsonRecord,
} from "../../util/json.ts";
import { decodePem } from "../../util/pem.ts";
import { canonicalJsonBytes } from "../../util/canonical_json.ts";
import { decodeEnvelopeJson, type Envelope, pae, parseEnvelope } from "../../payload/dsse.ts";
import { CosignError, errorMessage, isCosignError } from "../../errors.ts";
import { hashLeaf } from "../merkle.ts";
import { parseEntryBody } from "../rekor/bodies.ts";
import type { CanonicalEntry } from "../rekor/canonicalize.ts";
import type { ProposedEntry } from "../rekor/entries.ts";
import {
  PublicKey,
  verifyEd25519ph,
  verifyPrehashed,
  verifySignature,
} from "../../keys/public_key.ts";
import { parseCertificate } from "../../x509/certificate.ts";

/** A signature's verifier, as Rekor v2 records it. */
export interface RekorV2Verifier {
  /** A bare key (`publicKey`, DER SubjectPublicKeyInfo) or a certificate (`x509Certificate`). */
  readonly type: "publicKey" | "x509Certificate";
  /** The DER bytes. */
  readonly rawBytes: Bytes;
  /** The signing algorithm (`PKIX_ECDSA_P256_SHA_256`, ...; `PublicKeyDetails` enum name). */
  readonly keyDetails: string;
}

/** A `hashedRekordRequestV002`: a signature over a digest. */
export interface RekorV2HashedRekordRequest {
  /** Which request this is. */
  readonly kind: "hashedrekord";
  /** The signed digest, of the hash `verifier.keyDetails` names. */
  readonly digest: Bytes;
  /** The signature over `digest` (ECDSA: DER). */
  readonly signature: Bytes;
  /** The key or certificate that verifies it. */
  readonly verifier: RekorV2Verifier;
}

/** A `dsseRequestV002` (deprecated upstream): an envelope and the verifiers of its signatures. */
export interface RekorV2DsseRequest {
  /** Which request this is. */
  readonly kind: "dsse";
  /** The envelope; each signature covers its PAE. */
  readonly envelope: Envelope;
  /** One key or certificate per signer. */
  readonly verifiers: readonly RekorV2Verifier[];
}

/** A Rekor v2 `CreateEntryRequest`. */
export type RekorV2Request = RekorV2HashedRekordRequest | RekorV2DsseRequest;

/** Most verifiers and envelope signatures a dsse request may carry (rekor-tiles' limits). */
export const MAX_V2_DSSE_ITEMS = 10;

/** Largest signature, key or certificate a request field may carry. */
const MAX_FIELD_BYTES = 64 * 1024;

interface Algorithm {
  readonly hash: HashName;
  readonly fits: (key: PublicKey) => boolean;
}

/**
 * The signing algorithms rekor-tiles accepts in entries (`AllowedClientSigningAlgorithms`) and
 * the keys each fits. Pure Ed25519 is not among them: a hashedrekord needs a prehash.
 */
const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  PKIX_ECDSA_P256_SHA_256: { hash: "sha256", fits: (k) => k.kind === "ecdsa-p256" },
  PKIX_ECDSA_P384_SHA_384: { hash: "sha384", fits: (k) => k.kind === "ecdsa-p384" },
  PKIX_ECDSA_P521_SHA_512: { hash: "sha512", fits: (k) => k.kind === "ecdsa-p521" },
  PKIX_RSA_PKCS1V15_2048_SHA256: { hash: "sha256", fits: (k) => rsa(k, 2048) },
  PKIX_RSA_PKCS1V15_3072_SHA256: { hash: "sha256", fits: (k) => rsa(k, 3072) },
  PKIX_RSA_PKCS1V15_4096_SHA256: { hash: "sha256", fits: (k) => rsa(k, 4096) },
  PKIX_ED25519_PH: { hash: "sha512", fits: (k) => k.kind === "ed25519" },
};

function rsa(key: PublicKey, bits: number): boolean {
  return key.kind === "rsa" && key.rsaBits === bits;
}

const HASH_ENUM: Readonly<Record<HashName, string>> = {
  sha256: "SHA2_256",
  sha384: "SHA2_384",
  sha512: "SHA2_512",
};

function unsupported(message: string): CosignError {
  return new CosignError("REKOR_ENTRY_UNSUPPORTED", `Unsupported Rekor v2 entry: ${message}`);
}

function invalid(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_ENTRY_INVALID", `Invalid Rekor v2 entry: ${message}`, { cause });
}

/**
 * The `keyDetails` a key signs hashedrekord entries with (sigstore-go's default algorithm with
 * Ed25519ph): ECDSA by curve, RSA PKCS#1 v1.5 with SHA-256 for 2048, 3072 and 4096 bits,
 * `PKIX_ED25519_PH` for Ed25519. Other keys raise `REKOR_ENTRY_UNSUPPORTED`.
 */
export function rekorV2KeyDetails(key: PublicKey): string {
  for (const [name, algorithm] of Object.entries(ALGORITHMS)) {
    if (algorithm.fits(key)) return name;
  }
  throw unsupported(`no Rekor v2 signing algorithm for a ${key.kind} key of ${key.rsaBits} bits`);
}

/** The hash a `keyDetails` name signs with; `REKOR_ENTRY_UNSUPPORTED` for other names. */
export function rekorV2Hash(keyDetails: string): HashName {
  const algorithm = Object.hasOwn(ALGORITHMS, keyDetails) ? ALGORITHMS[keyDetails] : undefined;
  if (!algorithm) throw unsupported(`signing algorithm "${keyDetails.slice(0, 64)}"`);
  return algorithm.hash;
}

/** The key of a verifier (a certificate's key for `x509Certificate`). */
function keyOf(verifier: Pick<RekorV2Verifier, "type" | "rawBytes">): PublicKey {
  return verifier.type === "x509Certificate"
    ? parseCertificate(verifier.rawBytes).publicKey
    : PublicKey.fromSpki(verifier.rawBytes);
}

/** A verifier for DER of a key or certificate, with the `keyDetails` its key signs with. */
export function rekorV2Verifier(
  der: Uint8Array,
  type: RekorV2Verifier["type"],
): RekorV2Verifier {
  const rawBytes = Uint8Array.from(der) as Bytes;
  return { type, rawBytes, keyDetails: rekorV2KeyDetails(keyOf({ type, rawBytes })) };
}

function verifierFromPem(pem: string): RekorV2Verifier {
  const block = decodePem(pem, ["CERTIFICATE", "PUBLIC KEY"]);
  return rekorV2Verifier(
    block.bytes,
    block.type === "CERTIFICATE" ? "x509Certificate" : "publicKey",
  );
}

/**
 * The Rekor v2 request for a Rekor v1 proposal, as cosign v3 and sigstore-go log to Rekor v2:
 * a hashedrekord 0.0.1 becomes a hashedrekord request over the same digest, signature and key
 * or certificate; a dsse 0.0.1 becomes a hashedrekord request over the digest of the
 * envelope's PAE (the hash the key signs with), its one signature and its one verifier. So every
 * signing path (blobs, images, attestations) logs to Rekor v2 from the proposal it already makes.
 * A pure Ed25519 envelope signature covers no digest and raises `REKOR_ENTRY_UNSUPPORTED`;
 * a proposal that does not read raises `REKOR_ENTRY_INVALID`.
 */
export function requestFromProposedEntry(proposed: ProposedEntry): RekorV2HashedRekordRequest {
  const kindVersion = `${proposed.kind}/${proposed.apiVersion}`;
  try {
    if (kindVersion === "hashedrekord/0.0.1") {
      const hash = asRecord(asRecord(proposed.spec.data, "spec.data").hash, "spec.data.hash");
      const signature = asRecord(proposed.spec.signature, "spec.signature");
      const key = asRecord(signature.publicKey, "spec.signature.publicKey");
      const verifier = verifierFromPem(
        new TextDecoder().decode(asWrappedBase64(key.content, "spec.signature.publicKey.content")),
      );
      const algorithm = asString(hash.algorithm, "spec.data.hash.algorithm");
      if (algorithm !== rekorV2Hash(verifier.keyDetails)) {
        throw unsupported(
          `a ${verifier.keyDetails} signature over a ${algorithm.slice(0, 20)} digest`,
        );
      }
      return {
        kind: "hashedrekord",
        digest: fromHex(asString(hash.value, "spec.data.hash.value")),
        signature: asWrappedBase64(signature.content, "spec.signature.content"),
        verifier,
      };
    }
    if (kindVersion === "dsse/0.0.1") {
      const content = asRecord(proposed.spec.proposedContent, "spec.proposedContent");
      const envelope = parseEnvelope(
        asString(content.envelope, "spec.proposedContent.envelope"),
        { exactlyOneSignature: true },
      );
      const verifiers = asArray(content.verifiers, "spec.proposedContent.verifiers", 1);
      if (verifiers.length !== 1) throw new SyntaxError("spec.proposedContent.verifiers: need one");
      const verifier = verifierFromPem(
        new TextDecoder().decode(
          asWrappedBase64(verifiers[0], "spec.proposedContent.verifiers[0]"),
        ),
      );
      if (verifier.keyDetails === "PKIX_ED25519_PH") {
        throw unsupported(
          "an Ed25519 envelope signature covers the PAE, not the digest a hashedrekord logs",
        );
      }
      const hash = rekorV2Hash(verifier.keyDetails);
      return {
        kind: "hashedrekord",
        digest: digest(hash, pae(envelope.payloadType, envelope.payload)),
        signature: envelope.signatures[0]!.sig,
        verifier,
      };
    }
  } catch (error) {
    if (isCosignError(error, "REKOR_ENTRY_UNSUPPORTED")) throw error;
    throw invalid(errorMessage(error), error);
  }
  throw unsupported(`Rekor v2 logs no ${proposed.kind.slice(0, 40)} ${proposed.apiVersion}`);
}

// ---------------------------------------------------------------------------------------------
// Protobuf JSON of a CreateEntryRequest

function encodeVerifier(verifier: RekorV2Verifier): JsonRecord {
  return {
    [verifier.type]: { rawBytes: toBase64(verifier.rawBytes) },
    keyDetails: verifier.keyDetails,
  };
}

/** The protobuf JSON of a `CreateEntryRequest`, as a client posts it. */
export function encodeRekorV2Request(request: RekorV2Request): JsonRecord {
  if (request.kind === "hashedrekord") {
    return {
      hashedRekordRequestV002: {
        digest: toBase64(request.digest),
        signature: {
          content: toBase64(request.signature),
          verifier: encodeVerifier(request.verifier),
        },
      },
    };
  }
  return {
    dsseRequestV002: {
      envelope: {
        payload: toBase64(request.envelope.payload),
        payloadType: request.envelope.payloadType,
        signatures: request.envelope.signatures.map((s) => ({
          sig: toBase64(s.sig),
          ...(s.keyid ? { keyid: s.keyid } : {}),
        })),
      },
      verifiers: request.verifiers.map(encodeVerifier),
    },
  };
}

function boundedBytes(value: unknown, path: string, max = MAX_FIELD_BYTES): Bytes {
  const bytes = asWrappedBase64(value, path);
  if (bytes.length === 0) throw new SyntaxError(`${path}: must not be empty`);
  if (bytes.length > max) throw new SyntaxError(`${path}: larger than ${max} bytes`);
  return bytes;
}

function onlyFields(record: JsonRecord, fields: readonly string[], path: string): void {
  for (const key of Object.keys(record)) {
    if (!fields.includes(key)) {
      throw new SyntaxError(`${path}: unknown field "${key.slice(0, 40)}"`);
    }
  }
}

function readVerifier(value: unknown, path: string): RekorV2Verifier {
  const record = asRecord(value, path);
  onlyFields(record, ["publicKey", "x509Certificate", "keyDetails"], path);
  if ((record.publicKey === undefined) === (record.x509Certificate === undefined)) {
    throw new SyntaxError(`${path}: needs exactly one of publicKey and x509Certificate`);
  }
  const type = record.publicKey === undefined ? "x509Certificate" : "publicKey";
  const holder = asRecord(record[type], `${path}.${type}`);
  onlyFields(holder, ["rawBytes"], `${path}.${type}`);
  const keyDetails = asNonEmptyString(record.keyDetails, `${path}.keyDetails`);
  if (keyDetails.length > 64) throw new SyntaxError(`${path}.keyDetails: too long`);
  return { type, rawBytes: boundedBytes(holder.rawBytes, `${path}.${type}.rawBytes`), keyDetails };
}

/**
 * Read a `CreateEntryRequest` from its protobuf JSON (what the embedded log receives). Exactly
 * one of `hashedRekordRequestV002` and `dsseRequestV002`, no unknown fields, every byte field
 * non-empty and bounded, at most `MAX_V2_DSSE_ITEMS` verifiers and envelope signatures;
 * anything else raises `REKOR_ENTRY_INVALID` naming the JSON path.
 */
export function parseRekorV2Request(value: unknown): RekorV2Request {
  try {
    const record = asRecord(value, "request");
    onlyFields(record, ["hashedRekordRequestV002", "dsseRequestV002"], "request");
    if (record.hashedRekordRequestV002 !== undefined && record.dsseRequestV002 === undefined) {
      const path = "hashedRekordRequestV002";
      const hr = asRecord(record.hashedRekordRequestV002, path);
      onlyFields(hr, ["digest", "signature"], path);
      const signature = asRecord(hr.signature, `${path}.signature`);
      onlyFields(signature, ["content", "verifier"], `${path}.signature`);
      return {
        kind: "hashedrekord",
        digest: boundedBytes(hr.digest, `${path}.digest`, 64),
        signature: boundedBytes(signature.content, `${path}.signature.content`),
        verifier: readVerifier(signature.verifier, `${path}.signature.verifier`),
      };
    }
    if (record.dsseRequestV002 !== undefined && record.hashedRekordRequestV002 === undefined) {
      const path = "dsseRequestV002";
      const ds = asRecord(record.dsseRequestV002, path);
      onlyFields(ds, ["envelope", "verifiers"], path);
      const envelope = decodeEnvelopeJson(ds.envelope, `${path}.envelope`);
      if (envelope.signatures.length > MAX_V2_DSSE_ITEMS) {
        throw new SyntaxError(`${path}.envelope.signatures: more than ${MAX_V2_DSSE_ITEMS}`);
      }
      const verifiers = asArray(ds.verifiers, `${path}.verifiers`, MAX_V2_DSSE_ITEMS)
        .map((v, i) => readVerifier(v, `${path}.verifiers[${i}]`));
      if (verifiers.length === 0) throw new SyntaxError(`${path}.verifiers: none given`);
      return { kind: "dsse", envelope, verifiers };
    }
    throw new SyntaxError(
      "request: needs exactly one of hashedRekordRequestV002 and dsseRequestV002",
    );
  } catch (error) {
    throw invalid(errorMessage(error), error);
  }
}

// ---------------------------------------------------------------------------------------------
// Checking a request and its canonical body

interface CheckedVerifier {
  readonly verifier: RekorV2Verifier;
  readonly key: PublicKey;
  readonly hash: HashName;
}

/** The verifier's key, which must fit its supported `keyDetails`. */
function checkVerifier(verifier: RekorV2Verifier, path: string): CheckedVerifier {
  const hash = rekorV2Hash(verifier.keyDetails);
  let key: PublicKey;
  try {
    key = keyOf(verifier);
  } catch (cause) {
    throw invalid(`${path}: ${errorMessage(cause)}`, cause);
  }
  if (!ALGORITHMS[verifier.keyDetails]!.fits(key)) {
    throw invalid(`${path}: a ${key.kind} key does not sign with ${verifier.keyDetails}`);
  }
  return { verifier, key, hash };
}

function sortBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * Check a request as rekor-tiles does before logging it and produce the canonical body: the
 * `keyDetails` must be supported and fit the key, a hashedrekord digest must have that hash's
 * length and its signature verify over it (Ed25519ph needs the message, so it raises
 * `REKOR_ENTRY_UNSUPPORTED` here as in the Rekor v1 log), every dsse signature must verify over
 * the PAE with one of distinct verifiers (logged sorted by signature bytes, with the SHA-256 of
 * the payload). Failures raise `REKOR_ENTRY_INVALID` or `REKOR_ENTRY_UNSUPPORTED`.
 */
export async function canonicalizeRekorV2Request(request: RekorV2Request): Promise<CanonicalEntry> {
  let spec: JsonRecord;
  if (request.kind === "hashedrekord") {
    const { key, hash } = checkVerifier(request.verifier, "verifier");
    if (request.digest.length !== digestLength(hash)) {
      throw invalid(`a ${request.verifier.keyDetails} entry needs a ${hash} digest`);
    }
    if (key.kind === "ed25519") {
      throw unsupported("an Ed25519ph signature is checked against its message, not a digest");
    }
    if (!(await verifyPrehashed(key, request.digest, request.signature, hash))) {
      throw invalid("the signature does not verify with the key or certificate over the digest");
    }
    spec = {
      hashedRekordV002: {
        data: { algorithm: HASH_ENUM[hash], digest: toBase64(request.digest) },
        signature: {
          content: toBase64(request.signature),
          verifier: encodeVerifier(request.verifier),
        },
      },
    };
  } else {
    if (request.verifiers.length === 0 || request.verifiers.length > MAX_V2_DSSE_ITEMS) {
      throw invalid(`a dsse entry takes 1 to ${MAX_V2_DSSE_ITEMS} verifiers`);
    }
    const signatures = request.envelope.signatures;
    if (signatures.length === 0 || signatures.length > MAX_V2_DSSE_ITEMS) {
      throw invalid(`a dsse entry takes 1 to ${MAX_V2_DSSE_ITEMS} envelope signatures`);
    }
    const seen = new Set<string>();
    const verifiers = request.verifiers.map((v, i) => {
      const id = toHex(v.rawBytes);
      if (seen.has(id)) throw invalid(`verifier ${i} is listed twice`);
      seen.add(id);
      return checkVerifier(v, `verifiers[${i}]`);
    });
    const message = pae(request.envelope.payloadType, request.envelope.payload);
    const logged: { content: Bytes; verifier: RekorV2Verifier }[] = [];
    for (const [i, { sig }] of signatures.entries()) {
      let match: CheckedVerifier | undefined;
      for (const candidate of verifiers) {
        const ok = candidate.key.kind === "ed25519"
          ? await verifyEd25519ph(candidate.key, message, sig)
          : await verifySignature(candidate.key, message, sig, { hash: candidate.hash });
        if (ok) {
          match = candidate;
          break;
        }
      }
      if (!match) throw invalid(`envelope signature ${i} verifies with none of the verifiers`);
      logged.push({ content: sig, verifier: match.verifier });
    }
    logged.sort((a, b) => sortBytes(a.content, b.content));
    spec = {
      dsseV002: {
        payloadHash: {
          algorithm: HASH_ENUM.sha256,
          digest: toBase64(digest("sha256", request.envelope.payload)),
        },
        signatures: logged.map((s) => ({
          content: toBase64(s.content),
          verifier: encodeVerifier(s.verifier),
        })),
      },
    };
  }
  const body = canonicalJsonBytes({ apiVersion: "0.0.2", kind: request.kind, spec });
  return { body, entry: parseEntryBody(body), uuid: toHex(hashLeaf(body)) };
}
