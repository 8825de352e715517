/**
 * Reading canonical Rekor entry bodies of every kind (cosign-spec.md section 5.2): what a logged
 * entry says was signed, by whom, over which digest. Building proposed entries and checking a
 * body against the signature being verified is `entries.ts`.
 *
 * @module
 */

import { type Bytes, digestLength, fromHex, fromUtf8, type HashName } from "../../util/bytes.ts";
import {
  asArray,
  asBase64,
  asNonEmptyString,
  asRecord,
  asString,
  type JsonRecord,
  parseJson,
} from "../../util/json.ts";
import { decodePem } from "../../util/pem.ts";
import { CosignError, errorMessage } from "../../errors.ts";

/** Largest canonical entry body read (real bodies are a few KiB; legacy intoto keeps payloads). */
export const MAX_ENTRY_BODY_BYTES = 1 << 20;

/** Most signatures one entry body may list. */
export const MAX_ENTRY_SIGNATURES = 16;

/** A digest with its algorithm. */
export interface EntryDigest {
  /** The hash function. */
  readonly algorithm: HashName;
  /** The digest bytes. */
  readonly value: Bytes;
}

/** One signature an entry records, with the key or certificate that verifies it. */
export interface LoggedSignature {
  /** The signature bytes; absent only for `intoto` 0.0.1, which logs no signature. */
  readonly signature?: Bytes;
  /** DER of the verifier: a SubjectPublicKeyInfo or an X.509 certificate. */
  readonly verifier: Bytes;
  /** Whether `verifier` is a bare key or a certificate. */
  readonly verifierType: "publicKey" | "certificate";
}

/** A parsed canonical entry body: what it commits to, whatever its kind. */
export interface EntryBody {
  /** The entry kind (`hashedrekord`, `dsse`, ...). */
  readonly kind: string;
  /** The kind's schema version (`0.0.1`, ...). */
  readonly apiVersion: string;
  /** hashedrekord and rekord: the signed artifact's digest (v2 DSSE: the digest of PAE). */
  readonly digest?: EntryDigest;
  /** dsse and intoto: the digest of the decoded DSSE payload. */
  readonly payloadHash?: EntryDigest;
  /** dsse 0.0.1: the digest of the envelope bytes as submitted. */
  readonly envelopeHash?: EntryDigest;
  /** intoto: the digest of the envelope JSON. */
  readonly contentHash?: EntryDigest;
  /** Logged signatures; never empty. */
  readonly signatures: readonly LoggedSignature[];
}

/** The kinds and versions this module reads, as `kind/version`. */
export const SUPPORTED_ENTRY_KINDS = [
  "hashedrekord/0.0.1",
  "hashedrekord/0.0.2",
  "dsse/0.0.1",
  "dsse/0.0.2",
  "intoto/0.0.2",
  "intoto/0.0.1",
  "rekord/0.0.1",
] as const;

const HASH_NAMES: Record<string, HashName> = {
  sha256: "sha256",
  sha384: "sha384",
  sha512: "sha512",
};
const V2_HASH_NAMES: Record<string, HashName> = {
  SHA2_256: "sha256",
  SHA2_384: "sha384",
  SHA2_512: "sha512",
};

// ---------------------------------------------------------------------------------------------
// Parsing

function readHexDigest(value: unknown, path: string): EntryDigest {
  const record = asRecord(value, path);
  const name = asString(record.algorithm, `${path}.algorithm`);
  const algorithm = HASH_NAMES[name];
  if (!algorithm) throw new SyntaxError(`${path}.algorithm: unsupported "${name.slice(0, 20)}"`);
  const hex = asString(record.value, `${path}.value`);
  if (hex.length !== 2 * digestLength(algorithm)) {
    throw new SyntaxError(`${path}.value: not a ${algorithm} digest`);
  }
  return { algorithm, value: fromHex(hex) };
}

function readV2Digest(record: JsonRecord, path: string, field: string): EntryDigest {
  const name = asString(record.algorithm, `${path}.algorithm`);
  const algorithm = V2_HASH_NAMES[name];
  if (!algorithm) throw new SyntaxError(`${path}.algorithm: unsupported "${name.slice(0, 20)}"`);
  const value = asBase64(record[field], `${path}.${field}`);
  if (value.length !== digestLength(algorithm)) {
    throw new SyntaxError(`${path}.${field}: not a ${algorithm} digest`);
  }
  return { algorithm, value };
}

/** A verifier given as base64 of a PEM `CERTIFICATE` or `PUBLIC KEY` (Rekor v1 bodies). */
function readPemVerifier(value: unknown, path: string): Omit<LoggedSignature, "signature"> {
  const pemBytes = asBase64(value, path);
  const block = decodePem(fromUtf8(pemBytes), ["CERTIFICATE", "PUBLIC KEY"]);
  return {
    verifier: block.bytes,
    verifierType: block.type === "CERTIFICATE" ? "certificate" : "publicKey",
  };
}

/** A v2 verifier: `{publicKey: {rawBytes}} | {x509Certificate: {rawBytes}}`. */
function readV2Verifier(value: unknown, path: string): Omit<LoggedSignature, "signature"> {
  const record = asRecord(value, path);
  if ((record.publicKey === undefined) === (record.x509Certificate === undefined)) {
    throw new SyntaxError(`${path}: needs exactly one of publicKey and x509Certificate`);
  }
  const certificate = record.x509Certificate !== undefined;
  const field = certificate ? "x509Certificate" : "publicKey";
  const raw = asRecord(record[field], `${path}.${field}`).rawBytes;
  return {
    verifier: asBase64(raw, `${path}.${field}.rawBytes`),
    verifierType: certificate ? "certificate" : "publicKey",
  };
}

function nonEmptyBase64(value: unknown, path: string): Bytes {
  const bytes = asBase64(value, path);
  if (bytes.length === 0) throw new SyntaxError(`${path}: must not be empty`);
  return bytes;
}

function readSignatureList<T>(
  value: unknown,
  path: string,
  read: (item: JsonRecord, where: string) => T,
): T[] {
  const items = asArray(value, path, MAX_ENTRY_SIGNATURES);
  if (items.length === 0) throw new SyntaxError(`${path}: no signatures`);
  return items.map((item, i) => read(asRecord(item, `${path}[${i}]`), `${path}[${i}]`));
}

type BodyReader = (spec: JsonRecord) => Omit<EntryBody, "kind" | "apiVersion">;

/**
 * What `hashedrekord` and `rekord` both carry at the same paths: `spec.data.hash`, and one
 * signature `spec.signature.content` by the PEM key or certificate `spec.signature.publicKey`.
 */
const readSignedDigest: BodyReader = (spec) => {
  const signature = asRecord(spec.signature, "spec.signature");
  const key = asRecord(signature.publicKey, "spec.signature.publicKey");
  return {
    digest: readHexDigest(asRecord(spec.data, "spec.data").hash, "spec.data.hash"),
    signatures: [{
      signature: nonEmptyBase64(signature.content, "spec.signature.content"),
      ...readPemVerifier(key.content, "spec.signature.publicKey.content"),
    }],
  };
};

const READERS: Record<string, BodyReader> = {
  "hashedrekord/0.0.1": readSignedDigest,
  "rekord/0.0.1": (spec) => {
    const signature = asRecord(spec.signature, "spec.signature");
    const format = asString(signature.format, "spec.signature.format");
    if (format !== "x509") throw new SyntaxError(`spec.signature.format: "${format}" unsupported`);
    return readSignedDigest(spec);
  },
  "dsse/0.0.1": (spec) => ({
    envelopeHash: readHexDigest(spec.envelopeHash, "spec.envelopeHash"),
    payloadHash: readHexDigest(spec.payloadHash, "spec.payloadHash"),
    signatures: readSignatureList(spec.signatures, "spec.signatures", (item, where) => ({
      signature: nonEmptyBase64(item.signature, `${where}.signature`),
      ...readPemVerifier(item.verifier, `${where}.verifier`),
    })),
  }),
  "intoto/0.0.2": (spec) => {
    const content = asRecord(spec.content, "spec.content");
    const envelope = asRecord(content.envelope, "spec.content.envelope");
    asNonEmptyString(envelope.payloadType, "spec.content.envelope.payloadType");
    return {
      contentHash: readHexDigest(content.hash, "spec.content.hash"),
      payloadHash: readHexDigest(content.payloadHash, "spec.content.payloadHash"),
      signatures: readSignatureList(
        envelope.signatures,
        "spec.content.envelope.signatures",
        (item, where) => ({
          // intoto 0.0.2 stores base64 of the envelope's base64 signature string.
          signature: nonEmptyBase64(
            fromUtf8(nonEmptyBase64(item.sig, `${where}.sig`)),
            `${where}.sig (inner)`,
          ),
          ...readPemVerifier(item.publicKey, `${where}.publicKey`),
        }),
      ),
    };
  },
  "intoto/0.0.1": (spec) => {
    const content = asRecord(spec.content, "spec.content");
    return {
      contentHash: readHexDigest(content.hash, "spec.content.hash"),
      ...(content.payloadHash === undefined
        ? {}
        : { payloadHash: readHexDigest(content.payloadHash, "spec.content.payloadHash") }),
      signatures: [readPemVerifier(spec.publicKey, "spec.publicKey")],
    };
  },
  "hashedrekord/0.0.2": (spec) => {
    const v2 = asRecord(spec.hashedRekordV002, "spec.hashedRekordV002");
    const signature = asRecord(v2.signature, "spec.hashedRekordV002.signature");
    return {
      digest: readV2Digest(
        asRecord(v2.data, "spec.hashedRekordV002.data"),
        "spec.hashedRekordV002.data",
        "digest",
      ),
      signatures: [{
        signature: nonEmptyBase64(signature.content, "spec.hashedRekordV002.signature.content"),
        ...readV2Verifier(signature.verifier, "spec.hashedRekordV002.signature.verifier"),
      }],
    };
  },
  "dsse/0.0.2": (spec) => {
    const v2 = asRecord(spec.dsseV002, "spec.dsseV002");
    return {
      payloadHash: readV2Digest(
        asRecord(v2.payloadHash, "spec.dsseV002.payloadHash"),
        "spec.dsseV002.payloadHash",
        "digest",
      ),
      signatures: readSignatureList(v2.signatures, "spec.dsseV002.signatures", (item, where) => ({
        signature: nonEmptyBase64(item.content, `${where}.content`),
        ...readV2Verifier(item.verifier, `${where}.verifier`),
      })),
    };
  },
};

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_BODY_MALFORMED", `Invalid Rekor entry body: ${message}`, {
    cause,
  });
}

/**
 * Parse a canonical entry body (the bytes that were logged). Bodies that are not UTF-8 JSON,
 * exceed `MAX_ENTRY_BODY_BYTES`, are of an unknown kind or lack a field raise
 * `REKOR_BODY_MALFORMED` with the JSON path.
 */
export function parseEntryBody(body: Uint8Array): EntryBody {
  if (body.length > MAX_ENTRY_BODY_BYTES) {
    throw malformed(`${body.length} bytes exceeds the limit of ${MAX_ENTRY_BODY_BYTES}`);
  }
  try {
    const record = asRecord(parseJson(body, "entry body"), "body");
    const kind = asNonEmptyString(record.kind, "kind");
    const apiVersion = asNonEmptyString(record.apiVersion, "apiVersion");
    const reader = READERS[`${kind}/${apiVersion}`];
    if (!reader) {
      throw new SyntaxError(`unsupported kind "${kind.slice(0, 40)}" ${apiVersion.slice(0, 20)}`);
    }
    return { kind, apiVersion, ...reader(asRecord(record.spec, "spec")) };
  } catch (error) {
    if (error instanceof CosignError) throw error;
    throw malformed(errorMessage(error), error);
  }
}
