/**
 * RFC 3161 timestamps: parsing `TimeStampResp` tokens (CMS SignedData, RFC 5652) and verifying
 * them against the trusted root (cosign-spec.md section 11). Requests and the TSA client live in
 * `lib/timestamp/client.ts`.
 *
 * Verification binds everything to the one signer the SignerInfo names by `sid` (SECURITY.md
 * row 27: never "the first non-CA certificate in the bag"): its key verifies the signature over
 * the signed attributes, the messageDigest attribute binds the TSTInfo bytes, the imprint binds
 * the artifact signature, and that certificate chains to a `timestampAuthorities` anchor with
 * EKU timeStamping, valid at genTime, inside the authority's `validFor` (closed interval).
 * Embedded certificates may supply the leaf and intermediates, never anchors. Thresholds count
 * distinct authorities (SECURITY.md rule 5).
 *
 * @module
 */

import { OID } from "../x509/oids.ts";
import { type Bytes, digest, equalBytes, type HashName, toHex } from "../util/bytes.ts";
import {
  at,
  children,
  contextTag,
  type DerNode,
  expectTag,
  parseDer,
  readBoolean,
  readInteger,
  readOctetString,
  readOid,
  readSmallInteger,
  readTime,
  TAG,
} from "../util/der.ts";
import { CosignError, errorMessage, isCosignError } from "../errors.ts";
import { isWithin, type TrustedAuthority, type TrustedRoot } from "../trust/trusted_root.ts";
import { type Certificate, parseCertificate, readAlgorithm } from "../x509/certificate.ts";
import { authorityCertificates, verifyCertificateChain } from "../x509/chain.ts";
import { hashFromOid } from "../x509/oids.ts";
import { verifyAlgorithmSignature } from "../x509/algorithms.ts";

/** Error codes raised here. */
export type TimestampErrorCode =
  | "TSA_MALFORMED"
  | "TSA_NOT_GRANTED"
  | "TSA_UNSUPPORTED_HASH"
  | "TSA_IMPRINT_MISMATCH"
  | "TSA_BAD_SIGNATURE"
  | "TSA_UNTRUSTED"
  | "TSA_OUTSIDE_VALIDITY"
  | "TSA_THRESHOLD";

/** Largest token or response we parse, and most embedded certificates. */
export const MAX_TIMESTAMP_BYTES = 64 * 1024;
const MAX_CERTIFICATES = 16;
const MAX_ATTRIBUTES = 32;
/** Most tokens one bundle may carry (sigstore-go's cap, SECURITY.md row 20). */
const MAX_TIMESTAMPS = 32;

/** The TSTInfo of a token (RFC 3161 section 2.4.2). */
export interface TstInfo {
  /** The DER TSTInfo (the eContent the messageDigest attribute covers). */
  readonly raw: Bytes;
  /** The TSA policy OID. */
  readonly policy: string;
  /** OID of the hash in the message imprint. */
  readonly hashAlgorithm: string;
  /** The message imprint: the hash of the timestamped data. */
  readonly hashedMessage: Bytes;
  /** The serial number the TSA gave the token. */
  readonly serial: bigint;
  /** When the TSA made the token. */
  readonly genTime: Date;
  /** How far `genTime` may be off, when the TSA says. */
  readonly accuracy?: {
    readonly seconds: number;
    readonly millis: number;
    readonly micros: number;
  };
  /** True when tokens of this TSA are strictly ordered by `genTime`. */
  readonly ordering: boolean;
  /** The request's nonce, echoed, when one was sent. */
  readonly nonce?: bigint;
}

/** The SignerInfo of a token (RFC 5652 section 5.3). */
export interface TimestampSigner {
  readonly sid:
    | { readonly issuer: Bytes; readonly serial: Bytes }
    | { readonly subjectKeyId: Bytes };
  readonly digestHash: HashName;
  /** The signed attributes re-tagged as the DER `SET OF` the signature covers. */
  readonly signedAttributes: Bytes;
  readonly contentType: string;
  readonly messageDigest: Bytes;
  readonly signatureAlgorithm: { readonly oid: string; readonly parameters?: Bytes };
  readonly signature: Bytes;
}

/** A parsed timestamp token (a CMS ContentInfo holding SignedData). */
export interface TimestampToken {
  readonly tstInfo: TstInfo;
  readonly certificates: readonly Certificate[];
  readonly signer: TimestampSigner;
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("TSA_MALFORMED", `Invalid timestamp: ${message}`, { cause });
}

/** The SHA-2 hash an imprint or digest algorithm OID names; others raise `TSA_UNSUPPORTED_HASH`. */
export function requireHash(oid: string): HashName {
  const hash = hashFromOid(oid);
  if (!hash) throw new CosignError("TSA_UNSUPPORTED_HASH", `Unsupported hash algorithm "${oid}"`);
  return hash;
}

/**
 * Parse a stored timestamp: a `TimeStampResp` (what TSAs return and bundles store), whose status
 * must be granted, or a bare `TimeStampToken`.
 */
export function parseSignedTimestamp(bytes: Uint8Array): TimestampToken {
  if (bytes.length > MAX_TIMESTAMP_BYTES) {
    throw malformed(`larger than ${MAX_TIMESTAMP_BYTES} bytes`);
  }
  let token: DerNode;
  try {
    const parts = children(parseDer(bytes, TAG.SEQUENCE));
    if (parts[0]?.tag === TAG.OID) {
      token = parseDer(bytes);
    } else {
      const status = children(at(parts, 0, "status"), TAG.SEQUENCE);
      const code = readSmallInteger(at(status, 0, "PKIStatus"));
      // RFC 3161 section 2.4.2: 0 granted, 1 grantedWithMods; anything else carries no token.
      if (code > 1) {
        throw new CosignError(
          "TSA_NOT_GRANTED",
          `Timestamp request was not granted (status ${code})`,
        );
      }
      token = at(parts, 1, "timeStampToken");
    }
    return parseToken(token);
  } catch (error) {
    if (error instanceof CosignError) throw error;
    throw malformed(errorMessage(error), error);
  }
}

function parseToken(contentInfo: DerNode): TimestampToken {
  const info = children(contentInfo, TAG.SEQUENCE);
  if (readOid(at(info, 0, "contentType")) !== OID.SIGNED_DATA) {
    throw new SyntaxError("token is not CMS SignedData");
  }
  const wrapper = at(info, 1, "content");
  expectTag(wrapper, contextTag(0, true), "content");
  const signedData = children(parseDer(wrapper.value), TAG.SEQUENCE);
  const encap = children(at(signedData, 2, "encapContentInfo"), TAG.SEQUENCE);
  if (readOid(at(encap, 0, "eContentType")) !== OID.TST_INFO) {
    throw new SyntaxError("encapsulated content is not a TSTInfo");
  }
  const eContent = at(encap, 1, "eContent");
  expectTag(eContent, contextTag(0, true), "eContent");
  const tstInfo = parseTstInfo(readOctetString(parseDer(eContent.value)));
  const certificates: Certificate[] = [];
  let index = 3;
  for (; index < signedData.length - 1; index++) {
    const field = signedData[index]!;
    if (field.tag === contextTag(0, true)) {
      const certs = children(field.value);
      if (certs.length > MAX_CERTIFICATES) throw new SyntaxError("too many certificates");
      for (const cert of certs) {
        expectTag(cert, TAG.SEQUENCE, "certificate");
        certificates.push(parseCertificate(cert.raw));
      }
    } else if (field.tag !== contextTag(1, true)) {
      throw new SyntaxError("unexpected SignedData field");
    }
  }
  const signerInfos = children(at(signedData, index, "signerInfos"), TAG.SET);
  // RFC 3161 section 2.4.2: the token carries the TSA's signature and no other.
  if (signerInfos.length !== 1) {
    throw new SyntaxError(`expected one SignerInfo, found ${signerInfos.length}`);
  }
  return { tstInfo, certificates, signer: parseSignerInfo(signerInfos[0]!) };
}

function parseTstInfo(raw: Bytes): TstInfo {
  const fields = children(parseDer(raw), TAG.SEQUENCE);
  if (readSmallInteger(at(fields, 0, "version")) !== 1) throw new SyntaxError("TSTInfo version");
  const imprint = children(at(fields, 2, "messageImprint"), TAG.SEQUENCE);
  const genTimeNode = at(fields, 4, "genTime");
  expectTag(genTimeNode, TAG.GENERALIZED_TIME, "genTime");
  let accuracy: TstInfo["accuracy"];
  let ordering = false;
  let nonce: bigint | undefined;
  for (const field of fields.slice(5)) {
    if (field.tag === TAG.SEQUENCE) {
      const parts = children(field);
      const value = (tag: number) => {
        const node = parts.find((p) => p.tag === tag);
        return node ? readSmallInteger({ ...node, tag: TAG.INTEGER }) : 0;
      };
      accuracy = { seconds: value(TAG.INTEGER), millis: value(0x80), micros: value(0x81) };
    } else if (field.tag === TAG.BOOLEAN) ordering = readBoolean(field);
    else if (field.tag === TAG.INTEGER) nonce = readInteger(field);
  }
  return {
    raw,
    policy: readOid(at(fields, 1, "policy")),
    hashAlgorithm: readAlgorithm(at(imprint, 0, "hashAlgorithm")).oid,
    hashedMessage: readOctetString(at(imprint, 1, "hashedMessage")),
    serial: readInteger(at(fields, 3, "serialNumber")),
    genTime: readTime(genTimeNode),
    ...(accuracy ? { accuracy } : {}),
    ordering,
    ...(nonce !== undefined ? { nonce } : {}),
  };
}

function parseSignerInfo(node: DerNode): TimestampSigner {
  const fields = children(node, TAG.SEQUENCE);
  const sidNode = at(fields, 1, "sid");
  let sid: TimestampSigner["sid"];
  if (sidNode.tag === TAG.SEQUENCE) {
    const parts = children(sidNode);
    const serial = at(parts, 1, "serialNumber");
    expectTag(serial, TAG.INTEGER, "serialNumber");
    sid = { issuer: at(parts, 0, "issuer").raw, serial: serial.value };
  } else if (sidNode.tag === 0x80) {
    sid = { subjectKeyId: sidNode.value };
  } else throw new SyntaxError("unknown SignerIdentifier");
  const digestHash = requireHash(readAlgorithm(at(fields, 2, "digestAlgorithm")).oid);
  const attrsNode = at(fields, 3, "signedAttrs");
  // RFC 5652 section 5.4: the signature covers the attributes DER-encoded with a SET tag.
  if (attrsNode.tag !== contextTag(0, true)) throw new SyntaxError("missing signed attributes");
  const signedAttributes = Uint8Array.from(attrsNode.raw) as Bytes;
  signedAttributes[0] = TAG.SET;
  const attributes = children(attrsNode.value);
  if (attributes.length > MAX_ATTRIBUTES) throw new SyntaxError("too many signed attributes");
  const single = (oid: string): DerNode => {
    const matches = attributes.filter((a) => readOid(at(children(a, TAG.SEQUENCE), 0, "")) === oid);
    if (matches.length !== 1) throw new SyntaxError(`expected one attribute "${oid}"`);
    const values = children(at(children(matches[0]!), 1, "attrValues"), TAG.SET);
    if (values.length !== 1) throw new SyntaxError(`attribute "${oid}" needs one value`);
    return values[0]!;
  };
  return {
    sid,
    digestHash,
    signedAttributes,
    contentType: readOid(single(OID.CONTENT_TYPE)),
    messageDigest: readOctetString(single(OID.MESSAGE_DIGEST)),
    signatureAlgorithm: readAlgorithm(at(fields, 4, "signatureAlgorithm")),
    signature: readOctetString(at(fields, 5, "signature")),
  };
}

function isSigner(cert: Certificate, sid: TimestampSigner["sid"]): boolean {
  if ("subjectKeyId" in sid) {
    return cert.subjectKeyId !== undefined && equalBytes(cert.subjectKeyId, sid.subjectKeyId);
  }
  return equalBytes(cert.issuer.raw, sid.issuer) && equalBytes(cert.serialBytes, sid.serial);
}

/** A timestamp that verified, and the authority that vouches for it. */
export interface VerifiedTimestamp {
  /** The time the token vouches for. */
  readonly genTime: Date;
  /** The trusted-root timestamp authority whose chain verified the token. */
  readonly authority: TrustedAuthority;
  /** The signer's verified path, signer first. */
  readonly chain: readonly Certificate[];
  /** The token's TSTInfo. */
  readonly tstInfo: TstInfo;
}

// How far a candidate authority got, to name the most telling reason when none verifies.
const STAGE_CODES: readonly TimestampErrorCode[] = [
  "TSA_OUTSIDE_VALIDITY",
  "TSA_UNTRUSTED",
  "TSA_BAD_SIGNATURE",
  "TSA_UNTRUSTED",
];

/**
 * Verify one RFC 3161 timestamp over `signatureBytes` (the artifact signature, or for DSSE the
 * envelope signature) against the trusted root's timestamp authorities; returns genTime and the
 * authority. Failures raise a `TSA_*` code naming the reason.
 */
export async function verifyTimestamp(
  timestamp: Uint8Array,
  signatureBytes: Uint8Array,
  trustedRoot: Pick<TrustedRoot, "timestampAuthorities">,
): Promise<VerifiedTimestamp> {
  const token = parseSignedTimestamp(timestamp);
  const { tstInfo, signer } = token;
  const imprintHash = requireHash(tstInfo.hashAlgorithm);
  if (!equalBytes(digest(imprintHash, signatureBytes), tstInfo.hashedMessage)) {
    throw new CosignError(
      "TSA_IMPRINT_MISMATCH",
      "Timestamp message imprint does not match the hash of the signature",
    );
  }
  if (signer.contentType !== OID.TST_INFO) {
    throw malformed(`signed contentType is "${signer.contentType}", not TSTInfo`);
  }
  if (!equalBytes(digest(signer.digestHash, tstInfo.raw), signer.messageDigest)) {
    throw new CosignError(
      "TSA_BAD_SIGNATURE",
      "Timestamp messageDigest attribute does not match the TSTInfo",
    );
  }
  const genTime = tstInfo.genTime;
  const reasons: string[] = [];
  let stage = 0;
  let chainCode: TimestampErrorCode = "TSA_UNTRUSTED";
  for (const authority of trustedRoot.timestampAuthorities) {
    const label = `"${authority.uri || authority.subject.commonName || "TSA"}"`;
    if (authority.problem) {
      reasons.push(`${label} is unusable: ${authority.problem}`);
      continue;
    }
    if (!isWithin(authority.validFor, genTime)) {
      reasons.push(`${label} is not valid at genTime "${genTime.toISOString()}"`);
      continue;
    }
    stage = Math.max(stage, 1);
    const trusted = authorityCertificates(authority);
    const seen = new Set<string>();
    const candidates = [...trusted, ...token.certificates].filter((cert) => {
      const key = toHex(cert.raw);
      if (seen.has(key) || !isSigner(cert, signer.sid)) return false;
      seen.add(key);
      return true;
    });
    if (candidates.length === 0) reasons.push(`${label}: no certificate matches the signer`);
    for (const candidate of candidates) {
      let ok = false;
      try {
        ok = await verifyAlgorithmSignature(
          candidate.publicKey,
          signer.signedAttributes,
          signer.signature,
          { ...signer.signatureAlgorithm, digestHash: signer.digestHash },
        );
      } catch (error) {
        reasons.push(`${label}: ${errorMessage(error)}`);
        continue;
      }
      if (!ok) {
        stage = Math.max(stage, 2);
        reasons.push(`${label}: the signature does not verify with the signer's key`);
        continue;
      }
      try {
        const chain = await verifyCertificateChain(candidate, {
          roots: trusted.slice(-1),
          intermediates: [...trusted.slice(0, -1), ...token.certificates],
          time: genTime,
          requireTimeStamping: true,
        });
        return { genTime, authority, chain, tstInfo };
      } catch (error) {
        stage = 3;
        if (isCosignError(error, "X509_OUTSIDE_VALIDITY")) chainCode = "TSA_OUTSIDE_VALIDITY";
        reasons.push(`${label}: ${errorMessage(error)}`);
      }
    }
  }
  throw new CosignError(
    stage === 3 ? chainCode : STAGE_CODES[stage]!,
    `Timestamp is not verified by a trusted timestamp authority: ${
      reasons.join("; ") || "the trusted root lists none"
    }`,
  );
}

/**
 * Verify several timestamps over the same signature and return one per distinct authority
 * (SECURITY.md rule 5); fewer than `threshold` authorities raises `TSA_THRESHOLD`.
 */
export async function verifyTimestamps(
  timestamps: readonly Uint8Array[],
  signatureBytes: Uint8Array,
  trustedRoot: Pick<TrustedRoot, "timestampAuthorities">,
  options: { readonly threshold?: number } = {},
): Promise<VerifiedTimestamp[]> {
  const threshold = options.threshold ?? 1;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new RangeError("Timestamp threshold must be a non-negative integer");
  }
  if (timestamps.length > MAX_TIMESTAMPS) {
    throw malformed(`more than ${MAX_TIMESTAMPS} timestamps`);
  }
  const verified = new Map<TrustedAuthority, VerifiedTimestamp>();
  const reasons: string[] = [];
  for (const timestamp of timestamps) {
    try {
      const result = await verifyTimestamp(timestamp, signatureBytes, trustedRoot);
      if (!verified.has(result.authority)) verified.set(result.authority, result);
    } catch (error) {
      reasons.push(errorMessage(error));
    }
  }
  if (verified.size < threshold) {
    throw new CosignError(
      "TSA_THRESHOLD",
      `Verified timestamps from ${verified.size} authorities, ${threshold} required${
        reasons.length ? `: ${reasons.join("; ")}` : ""
      }`,
    );
  }
  return [...verified.values()];
}
