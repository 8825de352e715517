/**
 * Signed certificate timestamps embedded in Fulcio certificates (RFC 6962 sections 3.2-3.3,
 * cosign-spec.md section 7.3 and gotcha 16).
 *
 * An SCT in a certificate signs the *precertificate*: the leaf's TBSCertificate with the SCT-list
 * extension removed, plus SHA-256 of the issuer's SPKI taken from the verified chain. Thresholds
 * count distinct CT logs, never SCTs (SECURITY.md rule 5); an SCT counts only when its time lies
 * inside its log key's `validFor`. `createEmbeddedSct` is the log side, for the embedded CA.
 *
 * @module
 */

import { type Bytes, concat, equalBytes, sha256, toBase64 } from "../util/bytes.ts";
import { children, derSequence, encodeTlv, parseDer, readOid, TAG } from "../util/der.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { type Signer, verifySignature } from "../keys/public_key.ts";
import { isWithin, type TrustedLog } from "../trust/trusted_root.ts";
import type { Certificate } from "./certificate.ts";
import { OID } from "./oids.ts";

/** Error codes raised here. */
export type SctErrorCode = "X509_SCT_MALFORMED" | "X509_SCT_MISSING" | "X509_SCT_UNVERIFIED";

/** Most SCTs one list may hold. */
const MAX_SCTS = 64;

/** TLS `HashAlgorithm.sha256` and `SignatureAlgorithm` values (RFC 5246 section 7.4.1.4.1). */
const HASH_SHA256 = 4;
const SIG_RSA = 1;
const SIG_ECDSA = 3;

/** One SCT (RFC 6962 section 3.2). */
export interface SignedCertificateTimestamp {
  /** SCT version: 0 is v1 (RFC 6962 section 3.2). */
  readonly version: number;
  /** SHA-256 of the log key's SPKI. */
  readonly logId: Bytes;
  /** Milliseconds since the epoch. */
  readonly timestamp: bigint;
  /** The `CtExtensions` bytes; non-empty for static-CT logs. */
  readonly extensions: Bytes;
  /** TLS `HashAlgorithm` of the signature: 4 is SHA-256 (RFC 5246 section 7.4.1.4.1). */
  readonly hashAlgorithm: number;
  /** TLS `SignatureAlgorithm`: 1 is RSA, 3 is ECDSA (RFC 5246 section 7.4.1.4.1). */
  readonly signatureAlgorithm: number;
  /** The log's signature over the precertificate entry (`digitally-signed`). */
  readonly signature: Bytes;
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("X509_SCT_MALFORMED", `Invalid SCT list: ${message}`, { cause });
}

class Reader {
  #offset = 0;
  constructor(readonly bytes: Uint8Array) {}
  get done(): boolean {
    return this.#offset === this.bytes.length;
  }
  take(length: number): Bytes {
    if (this.#offset + length > this.bytes.length) throw malformed("truncated");
    const out = Uint8Array.from(this.bytes.subarray(this.#offset, this.#offset + length)) as Bytes;
    this.#offset += length;
    return out;
  }
  uint(bytes: number): number {
    return this.take(bytes).reduce((n, b) => n * 256 + b, 0);
  }
  vector(lengthBytes: number): Bytes {
    return this.take(this.uint(lengthBytes));
  }
}

/** Parse a TLS-encoded `SignedCertificateTimestampList` (the contents of the extension). */
export function parseSctList(bytes: Uint8Array): SignedCertificateTimestamp[] {
  const outer = new Reader(bytes);
  const list = new Reader(outer.vector(2));
  if (!outer.done) throw malformed("trailing bytes after the list");
  const scts: SignedCertificateTimestamp[] = [];
  while (!list.done) {
    if (scts.length >= MAX_SCTS) throw malformed(`more than ${MAX_SCTS} SCTs`);
    scts.push(parseSct(list.vector(2)));
  }
  return scts;
}

/** Parse one serialized SCT. */
export function parseSct(bytes: Uint8Array): SignedCertificateTimestamp {
  const r = new Reader(bytes);
  const version = r.uint(1);
  if (version !== 0) throw malformed(`unsupported SCT version ${version}`);
  const logId = r.take(32);
  const time = r.take(8);
  const timestamp = new DataView(time.buffer).getBigUint64(0);
  const extensions = r.vector(2);
  const hashAlgorithm = r.uint(1);
  const signatureAlgorithm = r.uint(1);
  const signature = r.vector(2);
  if (!r.done) throw malformed("trailing bytes after an SCT");
  return { version, logId, timestamp, extensions, hashAlgorithm, signatureAlgorithm, signature };
}

function u16(n: number): Bytes {
  if (n > 0xffff) throw new RangeError("TLS vector longer than 65535 bytes");
  return Uint8Array.of(n >> 8, n & 0xff);
}

/** Serialize one SCT. */
export function encodeSct(sct: SignedCertificateTimestamp): Bytes {
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, sct.timestamp);
  return concat(
    Uint8Array.of(sct.version),
    sct.logId,
    time,
    u16(sct.extensions.length),
    sct.extensions,
    Uint8Array.of(sct.hashAlgorithm, sct.signatureAlgorithm),
    u16(sct.signature.length),
    sct.signature,
  );
}

/** Serialize SCTs as a `SignedCertificateTimestampList`. */
export function encodeSctList(scts: readonly SignedCertificateTimestamp[]): Bytes {
  const body = concat(...scts.map((sct) => {
    const encoded = encodeSct(sct);
    return concat(u16(encoded.length), encoded);
  }));
  return concat(u16(body.length), body);
}

/** The SCTs embedded in a certificate; `X509_SCT_MISSING` when it has none. */
export function embeddedScts(cert: Certificate): SignedCertificateTimestamp[] {
  if (!cert.sctList) {
    throw new CosignError("X509_SCT_MISSING", "Certificate has no embedded SCT list");
  }
  return parseSctList(cert.sctList);
}

/**
 * A TBSCertificate with the CT extensions (SCT list and precertificate poison) removed: the
 * `tbs_certificate` an SCT signs (RFC 6962 section 3.2). Other bytes are kept as they are.
 */
export function removeCtExtensions(tbs: Uint8Array): Bytes {
  const fields = children(parseDer(tbs, TAG.SEQUENCE));
  const rebuilt = fields.map((field) => {
    if (field.tag !== 0xa3) return field.raw;
    const kept = children(parseDer(field.value, TAG.SEQUENCE)).filter((ext) => {
      const oid = readOid(children(ext, TAG.SEQUENCE)[0]!);
      return oid !== OID.SCT_LIST && oid !== OID.PRECERT_POISON;
    });
    return encodeTlv(0xa3, derSequence(...kept.map((ext) => ext.raw)));
  });
  return encodeTlv(TAG.SEQUENCE, ...rebuilt);
}

/** The bytes an embedded SCT signs (RFC 6962 section 3.2, `precert_entry`). */
export function precertSignedData(
  sct: Pick<SignedCertificateTimestamp, "timestamp" | "extensions">,
  issuerKeyHash: Uint8Array,
  precertTbs: Uint8Array,
): Bytes {
  if (issuerKeyHash.length !== 32) throw new RangeError("Issuer key hash must be 32 bytes");
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, sct.timestamp);
  const n = precertTbs.length;
  if (n >= 1 << 24) throw new RangeError("TBSCertificate too long for a precert entry");
  return concat(
    Uint8Array.of(0, 0), // version v1, signature_type certificate_timestamp
    time,
    Uint8Array.of(0, 1), // entry_type precert_entry
    issuerKeyHash,
    Uint8Array.of(n >> 16, (n >> 8) & 0xff, n & 0xff),
    precertTbs,
    u16(sct.extensions.length),
    sct.extensions,
  );
}

/** A verified SCT and the CT log that signed it. */
export interface VerifiedSct {
  /** The SCT as embedded in the certificate. */
  readonly sct: SignedCertificateTimestamp;
  /** The trusted-root CT log whose key verified it. */
  readonly log: TrustedLog;
}

/** Options of `verifyEmbeddedScts`. */
export interface SctVerifyOptions {
  /** Distinct CT logs that must have verified SCTs (default 1). */
  readonly threshold?: number;
}

/**
 * Verify the SCTs embedded in `leaf`, whose issuer is `issuer` (the next certificate of the
 * verified chain), against the trusted root's CT logs. Returns one verified SCT per distinct log;
 * fewer than `threshold` logs raises `X509_SCT_UNVERIFIED` with each SCT's reason.
 */
export async function verifyEmbeddedScts(
  leaf: Certificate,
  issuer: Certificate,
  ctlogs: readonly TrustedLog[],
  options: SctVerifyOptions = {},
): Promise<VerifiedSct[]> {
  const threshold = options.threshold ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw new RangeError("SCT threshold must be a positive integer");
  }
  const scts = embeddedScts(leaf);
  let tbs: Bytes;
  try {
    tbs = removeCtExtensions(leaf.tbs);
  } catch (cause) {
    throw malformed(`cannot rebuild the precertificate: ${errorMessage(cause)}`, cause);
  }
  const issuerKeyHash = sha256(issuer.publicKey.spki);
  const verified = new Map<string, VerifiedSct>();
  const reasons: string[] = [];
  for (const sct of scts) {
    const id = toBase64(sct.logId);
    if (verified.has(id)) continue;
    const reason = await checkSct(sct, ctlogs, issuerKeyHash, tbs, verified);
    if (reason) reasons.push(`SCT from log "${id}": ${reason}`);
  }
  if (verified.size < threshold) {
    throw new CosignError(
      "X509_SCT_UNVERIFIED",
      `Verified SCTs from ${verified.size} CT log(s), ${threshold} required: ${
        reasons.join("; ") || "the certificate has no SCT"
      }`,
    );
  }
  return [...verified.values()];
}

async function checkSct(
  sct: SignedCertificateTimestamp,
  ctlogs: readonly TrustedLog[],
  issuerKeyHash: Bytes,
  tbs: Bytes,
  verified: Map<string, VerifiedSct>,
): Promise<string | undefined> {
  if (sct.hashAlgorithm !== HASH_SHA256) return `unsupported hash algorithm ${sct.hashAlgorithm}`;
  const logs = ctlogs.filter((log) => equalBytes(log.logId, sct.logId));
  if (logs.length === 0) return "no CT log in the trusted root has this log ID";
  const time = new Date(Number(sct.timestamp));
  const data = precertSignedData(sct, issuerKeyHash, tbs);
  const reasons: string[] = [];
  for (const log of logs) {
    if (log.problem) {
      reasons.push(`the CT log entry is unusable: ${log.problem}`);
      continue;
    }
    if (!isWithin(log.validFor, time)) {
      reasons.push(`SCT time "${time.toISOString()}" is outside the CT log key validity`);
      continue;
    }
    const wanted = log.key.kind === "rsa" ? SIG_RSA : SIG_ECDSA;
    if (sct.signatureAlgorithm !== wanted || log.key.kind === "ed25519") {
      reasons.push(`signature algorithm ${sct.signatureAlgorithm} does not fit the log key`);
      continue;
    }
    if (await verifySignature(log.key, data, sct.signature, { hash: "sha256" })) {
      verified.set(toBase64(sct.logId), { sct, log });
      return undefined;
    }
    reasons.push("signature does not verify");
  }
  return reasons.join(", ");
}

/** Options of `createEmbeddedSct`. */
export interface CreateSctOptions {
  /** SCT time (default now). */
  readonly timestamp?: Date;
  /** `CtExtensions` bytes (default empty). */
  readonly extensions?: Uint8Array;
}

/**
 * Sign a precertificate as a CT log would (RFC 6962 section 3.2): `precertificate` is the DER
 * precertificate (poison included), `issuerSpki` the DER SPKI of its issuing CA. The log key's
 * SHA-256 SPKI hash becomes the log ID. Returns the SCT to embed with `encodeSctList`.
 */
export async function createEmbeddedSct(
  logSigner: Signer,
  precertificate: Certificate,
  issuerSpki: Uint8Array,
  options: CreateSctOptions & { readonly now?: () => Date } = {},
): Promise<SignedCertificateTimestamp> {
  const kind = logSigner.publicKey.kind;
  if (kind === "ed25519") throw new TypeError("CT logs sign with ECDSA or RSA keys");
  const time = options.timestamp ?? options.now?.() ?? new Date();
  const unsigned = {
    version: 0,
    logId: logSigner.publicKey.fingerprint(),
    timestamp: BigInt(time.getTime()),
    extensions: Uint8Array.from(options.extensions ?? []) as Bytes,
    hashAlgorithm: HASH_SHA256,
    signatureAlgorithm: kind === "rsa" ? SIG_RSA : SIG_ECDSA,
  };
  const data = precertSignedData(
    unsigned,
    sha256(issuerSpki),
    removeCtExtensions(precertificate.tbs),
  );
  const signature = await logSigner.sign(data, { hash: "sha256" });
  return { ...unsigned, signature };
}
