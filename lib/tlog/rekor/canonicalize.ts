/**
 * Turning a proposed Rekor v1 entry into the canonical body a log stores, after checking that
 * every signature in it verifies against the key or certificate it names (cosign-spec.md
 * section 5.2). The embedded log accepts entries only through here; the client uses it to check
 * that what a server logged is what it proposed (rekor #2799).
 *
 * Kinds: `hashedrekord` 0.0.1 (ECDSA / RSA over the logged digest), `dsse` 0.0.1 (each envelope
 * signature over PAE, matched to a verifier, signatures sorted) and `intoto` 0.0.2 (double
 * base64, payload dropped, `hash` = SHA-256 of the canonical envelope JSON). Keys and
 * certificates are re-encoded as PEM, as Rekor does; bodies are RFC 8785 canonical JSON.
 *
 * @module
 */

import {
  type Bytes,
  digestLength,
  fromBase64,
  fromHex,
  fromUtf8,
  type HashName,
  sha256,
  toBase64,
  toHex,
  utf8,
} from "../../util/bytes.ts";
import {
  asArray,
  asNonEmptyString,
  asOptionalString,
  asRecord,
  asString,
  type JsonRecord,
  parseJson,
} from "../../util/json.ts";
import { decodePem, encodePem } from "../../util/pem.ts";
import { canonicalizeJson, canonicalJsonBytes } from "../../util/canonical_json.ts";
import { pae } from "../../payload/dsse.ts";
import { CosignError, errorMessage, isCosignError } from "../../errors.ts";
import { hashLeaf } from "../merkle.ts";
import {
  type EntryBody,
  MAX_ENTRY_BODY_BYTES,
  MAX_ENTRY_SIGNATURES,
  parseEntryBody,
} from "./bodies.ts";
import { parseProposedEntry } from "./entries.ts";
import { PublicKey, verifyPrehashed, verifySignature } from "../../keys/public_key.ts";
import { parseCertificate } from "../../x509/certificate.ts";

/** Error codes raised here. */
export type RekorCanonicalizeErrorCode = "REKOR_ENTRY_INVALID" | "REKOR_ENTRY_UNSUPPORTED";

/** Largest DSSE envelope a dsse or intoto proposal may carry. */
export const MAX_PROPOSED_ENVELOPE_BYTES = 4 << 20;

/**
 * Checks an ECDSA or RSA signature over a precomputed digest, as `verifyPrehashed` in
 * `lib/keys/public_key.ts` does (its contract: false, never a throw, for any bad input). A log
 * may bring a faster one for the same math (the embedded Rekor's OpenSSL binding).
 */
export type PrehashedVerifier = (
  key: PublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
  hash: HashName,
) => Promise<boolean> | boolean;

/** Options of {@link canonicalizeProposedEntry}. */
export interface CanonicalizeOptions {
  /** How hashedrekord signatures are checked (default: `verifyPrehashed`, pure JS). */
  readonly verifyPrehashed?: PrehashedVerifier;
}

/** A proposal turned into what a log stores. */
export interface CanonicalEntry {
  /** The canonical body bytes (RFC 8785 JSON). */
  readonly body: Bytes;
  /** The body, parsed. */
  readonly entry: EntryBody;
  /** Hex RFC 6962 leaf hash of the body: the entry UUID. */
  readonly uuid: string;
}

function invalid(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_ENTRY_INVALID", `Invalid proposed entry: ${message}`, { cause });
}

interface Verifier {
  readonly key: PublicKey;
  /** The canonical PEM (certificate or public key) as Rekor re-encodes it. */
  readonly pem: string;
}

/** A verifier given as base64 of a PEM certificate or public key. */
function readVerifier(value: unknown, path: string): Verifier {
  const pem = fromUtf8(fromBase64(asString(value, path)));
  const block = decodePem(pem, ["CERTIFICATE", "PUBLIC KEY"]);
  if (block.type === "CERTIFICATE") {
    const certificate = parseCertificate(block.bytes);
    return { key: certificate.publicKey, pem: encodePem("CERTIFICATE", certificate.raw) };
  }
  const key = PublicKey.fromSpki(block.bytes);
  return { key, pem: encodePem("PUBLIC KEY", key.spki) };
}

function nonEmpty(bytes: Bytes, path: string): Bytes {
  if (bytes.length === 0) throw new SyntaxError(`${path}: must not be empty`);
  return bytes;
}

const HASHES: Record<string, HashName> = { sha256: "sha256", sha384: "sha384", sha512: "sha512" };

async function canonicalHashedRekord(
  spec: JsonRecord,
  options: CanonicalizeOptions,
): Promise<JsonRecord> {
  const hash = asRecord(asRecord(spec.data, "spec.data").hash, "spec.data.hash");
  const name = asString(hash.algorithm, "spec.data.hash.algorithm");
  const algorithm = HASHES[name];
  if (!algorithm) throw new SyntaxError(`spec.data.hash.algorithm: unsupported "${name}"`);
  const hex = asString(hash.value, "spec.data.hash.value");
  if (hex.length !== 2 * digestLength(algorithm)) {
    throw new SyntaxError(`spec.data.hash.value: not a ${algorithm} digest`);
  }
  const digest = fromHex(hex);
  const signature = asRecord(spec.signature, "spec.signature");
  const sig = nonEmpty(fromBase64(asString(signature.content, "spec.signature.content")), "sig");
  const verifier = readVerifier(
    asRecord(signature.publicKey, "spec.signature.publicKey").content,
    "spec.signature.publicKey.content",
  );
  if (verifier.key.kind === "ed25519") {
    throw new CosignError(
      "REKOR_ENTRY_UNSUPPORTED",
      "Unsupported proposed entry: an Ed25519 hashedrekord signature needs the message, not its digest",
    );
  }
  const verify = options.verifyPrehashed ?? verifyPrehashed;
  if (!(await verify(verifier.key, digest, sig, algorithm))) {
    throw invalid("the signature does not verify with the key or certificate over the digest");
  }
  return {
    data: { hash: { algorithm, value: toHex(digest) } },
    signature: {
      content: toBase64(sig),
      publicKey: { content: toBase64(utf8(verifier.pem)) },
    },
  };
}

interface ParsedEnvelope {
  readonly payloadType: string;
  readonly payload: Bytes;
  readonly signatures: readonly { sigText: string; sig: Bytes; keyid?: string }[];
}

function readEnvelope(text: string): ParsedEnvelope {
  const record = asRecord(parseJson(text, "DSSE envelope"), "envelope");
  const payloadType = asNonEmptyString(record.payloadType, "envelope.payloadType");
  const payload = fromBase64(asString(record.payload, "envelope.payload"));
  const items = asArray(record.signatures, "envelope.signatures", MAX_ENTRY_SIGNATURES);
  if (items.length === 0) throw new SyntaxError("envelope.signatures: no signatures");
  const signatures = items.map((item, i) => {
    const entry = asRecord(item, `envelope.signatures[${i}]`);
    const sigText = asString(entry.sig, `envelope.signatures[${i}].sig`);
    const keyid = asOptionalString(entry.keyid, `envelope.signatures[${i}].keyid`);
    const sig = nonEmpty(fromBase64(sigText), `envelope.signatures[${i}].sig`);
    return keyid ? { sigText, sig, keyid } : { sigText, sig };
  });
  return { payloadType, payload, signatures };
}

async function canonicalDsse(spec: JsonRecord): Promise<JsonRecord> {
  const content = asRecord(spec.proposedContent, "spec.proposedContent");
  const envelopeText = asString(content.envelope, "spec.proposedContent.envelope");
  if (envelopeText.length > MAX_PROPOSED_ENVELOPE_BYTES) {
    throw new SyntaxError(
      `spec.proposedContent.envelope: larger than ${MAX_PROPOSED_ENVELOPE_BYTES} bytes`,
    );
  }
  const envelope = readEnvelope(envelopeText);
  const verifiers = asArray(
    content.verifiers,
    "spec.proposedContent.verifiers",
    MAX_ENTRY_SIGNATURES,
  )
    .map((v, i) => readVerifier(v, `spec.proposedContent.verifiers[${i}]`));
  if (verifiers.length === 0) throw new SyntaxError("spec.proposedContent.verifiers: none given");
  const message = pae(envelope.payloadType, envelope.payload);
  const signatures: { signature: string; verifier: string }[] = [];
  for (const [i, { sigText, sig }] of envelope.signatures.entries()) {
    let verifier: Verifier | undefined;
    for (const candidate of verifiers) {
      if (await verifySignature(candidate.key, message, sig)) {
        verifier = candidate;
        break;
      }
    }
    if (!verifier) throw invalid(`envelope signature ${i} verifies with none of the verifiers`);
    signatures.push({ signature: sigText, verifier: toBase64(utf8(verifier.pem)) });
  }
  // Rekor sorts the logged signatures by their text.
  signatures.sort((a, b) => (a.signature < b.signature ? -1 : a.signature > b.signature ? 1 : 0));
  return {
    envelopeHash: { algorithm: "sha256", value: toHex(sha256(utf8(envelopeText))) },
    payloadHash: { algorithm: "sha256", value: toHex(sha256(envelope.payload)) },
    signatures,
  };
}

/** Decode intoto 0.0.2's double base64: base64 of the base64 text. */
function fromDoubleBase64(value: unknown, path: string): { inner: string; bytes: Bytes } {
  const inner = fromUtf8(fromBase64(asString(value, path)));
  return { inner, bytes: fromBase64(inner) };
}

function checkOptionalHash(value: unknown, computed: Bytes, path: string): void {
  if (value === undefined || value === null) return;
  const hash = asRecord(value, path);
  if (asString(hash.algorithm, `${path}.algorithm`) !== "sha256") {
    throw new SyntaxError(`${path}.algorithm: must be "sha256"`);
  }
  if (asString(hash.value, `${path}.value`).toLowerCase() !== toHex(computed)) {
    throw invalid(`${path} does not match the envelope`);
  }
}

async function canonicalIntoto(spec: JsonRecord): Promise<JsonRecord> {
  const content = asRecord(spec.content, "spec.content");
  const envelope = asRecord(content.envelope, "spec.content.envelope");
  const payloadType = asNonEmptyString(envelope.payloadType, "spec.content.envelope.payloadType");
  const payload = fromDoubleBase64(envelope.payload, "spec.content.envelope.payload");
  const items = asArray(
    envelope.signatures,
    "spec.content.envelope.signatures",
    MAX_ENTRY_SIGNATURES,
  );
  if (items.length === 0) throw new SyntaxError("spec.content.envelope.signatures: no signatures");
  const message = pae(payloadType, payload.bytes);
  const logged: JsonRecord[] = [];
  const hashed: JsonRecord[] = [];
  for (const [i, item] of items.entries()) {
    const where = `spec.content.envelope.signatures[${i}]`;
    const entry = asRecord(item, where);
    const sig = fromDoubleBase64(entry.sig, `${where}.sig`);
    nonEmpty(sig.bytes, `${where}.sig`);
    const keyid = asOptionalString(entry.keyid, `${where}.keyid`);
    const verifier = readVerifier(entry.publicKey, `${where}.publicKey`);
    if (!(await verifySignature(verifier.key, message, sig.bytes))) {
      throw invalid(`envelope signature ${i} does not verify with its public key`);
    }
    // Unlike hashedrekord, Rekor keeps intoto keys and signatures as submitted (re-encoded
    // base64 of the same bytes), not re-armoured.
    logged.push({
      ...(keyid ? { keyid } : {}),
      publicKey: toBase64(fromBase64(asString(entry.publicKey, `${where}.publicKey`))),
      sig: toBase64(utf8(sig.inner)),
    });
    hashed.push({ ...(keyid ? { keyid } : {}), sig: sig.inner });
  }
  // `hash` covers the envelope as JSON with single-base64 fields, canonicalized.
  const envelopeJson = canonicalizeJson({
    payload: payload.inner,
    payloadType,
    signatures: hashed,
  });
  const contentHash = sha256(utf8(envelopeJson));
  const payloadHash = sha256(payload.bytes);
  checkOptionalHash(content.hash, contentHash, "spec.content.hash");
  checkOptionalHash(content.payloadHash, payloadHash, "spec.content.payloadHash");
  return {
    content: {
      envelope: { payloadType, signatures: logged },
      hash: { algorithm: "sha256", value: toHex(contentHash) },
      payloadHash: { algorithm: "sha256", value: toHex(payloadHash) },
    },
  };
}

const CANONICALIZERS: Record<
  string,
  (spec: JsonRecord, options: CanonicalizeOptions) => Promise<JsonRecord>
> = {
  "hashedrekord/0.0.1": canonicalHashedRekord,
  "dsse/0.0.1": canonicalDsse,
  "intoto/0.0.2": canonicalIntoto,
};

/**
 * Validate a proposed entry and produce its canonical body. Raises `REKOR_ENTRY_UNSUPPORTED`
 * for kinds other than hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2, and
 * `REKOR_ENTRY_INVALID` for malformed content or a signature that does not verify against the
 * key or certificate the entry names.
 */
export async function canonicalizeProposedEntry(
  value: unknown,
  options: CanonicalizeOptions = {},
): Promise<CanonicalEntry> {
  let proposed;
  try {
    proposed = parseProposedEntry(value);
  } catch (cause) {
    throw invalid(errorMessage(cause), cause);
  }
  const { kind, apiVersion } = proposed;
  const canonicalize = CANONICALIZERS[`${kind}/${apiVersion}`];
  if (!canonicalize) {
    throw new CosignError(
      "REKOR_ENTRY_UNSUPPORTED",
      `Unsupported proposed entry: kind "${kind.slice(0, 40)}" version "${
        apiVersion.slice(0, 20)
      }"`,
    );
  }
  let spec: JsonRecord;
  try {
    spec = await canonicalize(proposed.spec, options);
  } catch (error) {
    if (
      isCosignError(error, "REKOR_ENTRY_INVALID") || isCosignError(error, "REKOR_ENTRY_UNSUPPORTED")
    ) {
      throw error;
    }
    throw invalid(errorMessage(error), error);
  }
  const body = canonicalJsonBytes({ apiVersion, kind, spec });
  if (body.length > MAX_ENTRY_BODY_BYTES) {
    throw invalid(`the canonical body is larger than ${MAX_ENTRY_BODY_BYTES} bytes`);
  }
  return { body, entry: parseEntryBody(body), uuid: toHex(hashLeaf(body)) };
}
