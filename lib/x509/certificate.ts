/**
 * X.509 certificates (RFC 5280), parsed lean over `lib/util/der.ts`, with the Fulcio extensions they
 * carry decoded (cosign-spec.md section 7.2).
 *
 * Parsing keeps the raw bytes (`raw`, `tbs`, names) so every later check binds to exactly what was
 * signed. Known extensions get typed fields; a malformed known extension makes the whole
 * certificate malformed (as Go's `x509.ParseCertificate` does), unknown ones are kept raw. Counts
 * of extensions, names and SAN entries are bounded before use (SECURITY.md rule 4). Names and
 * SAN entries are parsed in `lib/x509/names.ts`, the Fulcio identity is read in
 * `lib/x509/identity.ts`, and chain verification lives in `lib/x509/chain.ts`.
 *
 * @module
 */

import { FULCIO_ARC, FULCIO_EXTENSIONS, OID } from "./oids.ts";
import { type Bytes, toHex } from "../util/bytes.ts";
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
  readString,
  readTime,
  TAG,
} from "../util/der.ts";
import { decodePemBlocks } from "../util/pem.ts";
import { CosignError, errorMessage, isCosignError } from "../errors.ts";
import { PublicKey } from "../keys/public_key.ts";
import { type DistinguishedName, type GeneralName, parseGeneralNames, parseName } from "./names.ts";

/** Error codes raised while parsing certificates. */
export type X509ParseErrorCode = "X509_MALFORMED" | "X509_UNSUPPORTED";

/** Most extensions and EKU OIDs one certificate may carry. */
const MAX_EXTENSIONS = 64;
const MAX_EKUS = 32;
/** Largest certificate we parse (Fulcio leaves are ~2-4 KiB). */
const MAX_CERT_BYTES = 64 * 1024;

/** One extension as found in the certificate. */
export interface Extension {
  /** The extension OID. */
  readonly oid: string;
  /** True when the extension is marked critical. */
  readonly critical: boolean;
  /** The contents of `extnValue` (the DER of the extension's own structure). */
  readonly value: Bytes;
}

/** Key usage bit names, in bit order (RFC 5280 section 4.2.1.3). */
export const KEY_USAGE_BITS = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
] as const;

/** A key usage bit name. */
export type KeyUsageName = (typeof KEY_USAGE_BITS)[number];

/** A parsed certificate. Every field is derived from `raw`. */
export interface Certificate {
  /** The whole DER certificate. */
  readonly raw: Bytes;
  /** The DER TBSCertificate: the signed bytes. */
  readonly tbs: Bytes;
  /** 1, 2 or 3. */
  readonly version: number;
  /** The serial number. */
  readonly serial: bigint;
  /** The contents of the serial INTEGER, as CMS issuerAndSerialNumber compares it. */
  readonly serialBytes: Bytes;
  /** Who issued the certificate. */
  readonly issuer: DistinguishedName;
  /** Who the certificate is for (empty for Fulcio leaves, which name the SAN). */
  readonly subject: DistinguishedName;
  /** Start of validity. */
  readonly notBefore: Date;
  /** End of validity. */
  readonly notAfter: Date;
  /** The subject's public key. */
  readonly publicKey: PublicKey;
  /** The outer signature algorithm OID. */
  readonly signatureAlgorithm: string;
  /** DER of the algorithm parameters when present (RSA-PSS needs them). */
  readonly signatureParameters?: Bytes;
  /** The signature bytes (DER for ECDSA). */
  readonly signature: Bytes;
  /** Every extension, in certificate order. */
  readonly extensions: readonly Extension[];
  /** BasicConstraints (RFC 5280 section 4.2.1.9), when present. */
  readonly basicConstraints?: { readonly cA: boolean; readonly pathLen?: number };
  /** KeyUsage bits set (RFC 5280 section 4.2.1.3), when present. */
  readonly keyUsage?: readonly KeyUsageName[];
  /** ExtendedKeyUsage OIDs (RFC 5280 section 4.2.1.12), when present. */
  readonly extKeyUsage?: readonly string[];
  /** SubjectKeyIdentifier (RFC 5280 section 4.2.1.2), when present. */
  readonly subjectKeyId?: Bytes;
  /** The keyIdentifier of AuthorityKeyIdentifier (RFC 5280 section 4.2.1.1), when present. */
  readonly authorityKeyId?: Bytes;
  /** SubjectAltName entries (RFC 5280 section 4.2.1.6); empty without the extension. */
  readonly subjectAltNames: readonly GeneralName[];
  /** Fulcio extensions present, by OID, decoded to text (.1-.6 raw, .8+ UTF8String). */
  readonly fulcio: Readonly<Record<string, string>>;
  /** The TLS-encoded SCT list of extension 1.3.6.1.4.1.11129.2.4.2, when present. */
  readonly sctList?: Bytes;
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("X509_MALFORMED", `Invalid certificate: ${message}`, { cause });
}

/** Parse a DER certificate; malformed input raises `X509_MALFORMED`. */
export function parseCertificate(
  der: Uint8Array,
  options: { readonly inspectOnly?: boolean } = {},
): Certificate {
  if (der.length > MAX_CERT_BYTES) throw malformed(`larger than ${MAX_CERT_BYTES} bytes`);
  const raw = Uint8Array.from(der) as Bytes;
  try {
    return parseCertificateDer(raw, options);
  } catch (error) {
    if (isCosignError(error, "X509_MALFORMED") || isCosignError(error, "X509_UNSUPPORTED")) {
      throw error;
    }
    if (isCosignError(error, "KEY_UNSUPPORTED") || isCosignError(error, "KEY_WEAK")) {
      throw new CosignError("X509_UNSUPPORTED", `Unsupported certificate: ${error.message}`, {
        cause: error,
      });
    }
    throw malformed(errorMessage(error), error);
  }
}

function parseCertificateDer(raw: Bytes, options: { readonly inspectOnly?: boolean }): Certificate {
  const [tbsNode, algNode, sigNode, extra] = children(parseDer(raw), TAG.SEQUENCE);
  if (!tbsNode || !algNode || !sigNode || extra) throw new SyntaxError("expected 3 elements");
  expectTag(tbsNode, TAG.SEQUENCE, "tbsCertificate");
  const algorithm = readAlgorithm(algNode);
  const signature = readBitStringBytes(sigNode);
  const fields = children(tbsNode);
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === contextTag(0, true)) {
    version = readSmallInteger(parseDer(fields[0].value)) + 1;
    if (version < 1 || version > 3) throw new SyntaxError(`unknown version ${version}`);
    i = 1;
  }
  const serialNode = at(fields, i++, "serialNumber");
  const serial = readInteger(serialNode);
  const innerAlgorithm = at(fields, i++, "signature");
  // RFC 5280 section 4.1.1.2: both algorithm fields must be identical.
  if (toHex(innerAlgorithm.raw) !== toHex(algNode.raw)) {
    throw new SyntaxError("signature algorithm differs from the TBS signature algorithm");
  }
  const issuer = parseName(at(fields, i++, "issuer"));
  const validity = children(at(fields, i++, "validity"), TAG.SEQUENCE);
  const notBefore = readTime(at(validity, 0, "notBefore"));
  const notAfter = readTime(at(validity, 1, "notAfter"));
  const subject = parseName(at(fields, i++, "subject"));
  const spki = at(fields, i++, "subjectPublicKeyInfo");
  expectTag(spki, TAG.SEQUENCE, "subjectPublicKeyInfo");
  const publicKey = PublicKey.fromSpki(spki.raw, options);
  let extensions: Extension[] = [];
  for (; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.tag === 0x81 || field.tag === 0x82) continue; // unique IDs (obsolete)
    if (field.tag !== contextTag(3, true)) throw new SyntaxError("unexpected TBS field");
    if (version !== 3) throw new SyntaxError("extensions in a certificate before v3");
    extensions = parseExtensions(parseDer(field.value));
  }
  return {
    raw,
    tbs: tbsNode.raw,
    version,
    serial,
    serialBytes: serialNode.value,
    issuer,
    subject,
    notBefore,
    notAfter,
    publicKey,
    signatureAlgorithm: algorithm.oid,
    ...(algorithm.parameters ? { signatureParameters: algorithm.parameters } : {}),
    signature,
    extensions,
    ...decodeKnownExtensions(extensions),
  };
}

/** An AlgorithmIdentifier: OID and the DER of its parameters (absent or NULL -> undefined). */
export function readAlgorithm(node: DerNode): { oid: string; parameters?: Bytes } {
  const parts = children(node, TAG.SEQUENCE);
  if (parts.length > 2) throw new SyntaxError("AlgorithmIdentifier has extra elements");
  const oid = readOid(at(parts, 0, "algorithm"));
  const parameters = parts[1];
  return parameters && parameters.tag !== TAG.NULL ? { oid, parameters: parameters.raw } : { oid };
}

/** BIT STRING contents with the unused-bits octet checked (signatures need 0). */
function readBitStringBytes(node: DerNode): Bytes {
  const { bytes, unused } = readNamedBits(node);
  if (unused !== 0) throw new SyntaxError("signature BIT STRING has unused bits");
  return bytes;
}

function readNamedBits(node: DerNode): { bytes: Bytes; unused: number } {
  expectTag(node, TAG.BIT_STRING, "BIT STRING");
  const unused = node.value[0];
  if (unused === undefined || unused > 7 || (unused > 0 && node.value.length === 1)) {
    throw new SyntaxError("invalid BIT STRING");
  }
  return { bytes: node.value.subarray(1), unused };
}

function parseExtensions(node: DerNode): Extension[] {
  const list = children(node, TAG.SEQUENCE);
  if (list.length > MAX_EXTENSIONS) throw new SyntaxError(`more than ${MAX_EXTENSIONS} extensions`);
  const seen = new Set<string>();
  return list.map((ext) => {
    const parts = children(ext, TAG.SEQUENCE);
    const oid = readOid(at(parts, 0, "extnID"));
    // RFC 5280 section 4.2: a certificate must not include an extension more than once.
    if (seen.has(oid)) throw new SyntaxError(`duplicate extension "${oid}"`);
    seen.add(oid);
    let critical = false;
    let index = 1;
    if (parts[1]?.tag === TAG.BOOLEAN) {
      critical = readBoolean(parts[1]);
      index = 2;
    }
    const value = readOctetString(at(parts, index, "extnValue"));
    if (parts.length > index + 1) throw new SyntaxError("extension has extra elements");
    return { oid, critical, value };
  });
}

type KnownExtensions = Pick<
  Certificate,
  | "basicConstraints"
  | "keyUsage"
  | "extKeyUsage"
  | "subjectKeyId"
  | "authorityKeyId"
  | "subjectAltNames"
  | "fulcio"
  | "sctList"
>;

function decodeKnownExtensions(extensions: readonly Extension[]): KnownExtensions {
  const out: {
    -readonly [K in keyof KnownExtensions]: KnownExtensions[K];
  } = { subjectAltNames: [], fulcio: {} };
  const fulcio: Record<string, string> = {};
  for (const ext of extensions) {
    try {
      decodeExtension(ext, out, fulcio);
    } catch (cause) {
      throw new SyntaxError(`extension "${ext.oid}": ${errorMessage(cause)}`, { cause });
    }
  }
  out.fulcio = fulcio;
  return out;
}

function decodeExtension(
  ext: Extension,
  out: { -readonly [K in keyof KnownExtensions]: KnownExtensions[K] },
  fulcio: Record<string, string>,
): void {
  switch (ext.oid) {
    case OID.BASIC_CONSTRAINTS: {
      const parts = children(parseDer(ext.value), TAG.SEQUENCE);
      let index = 0;
      let cA = false;
      if (parts[0]?.tag === TAG.BOOLEAN) {
        cA = readBoolean(parts[0]);
        index = 1;
      }
      const pathNode = parts[index];
      if (pathNode && parts.length > index + 1) throw new SyntaxError("extra elements");
      out.basicConstraints = pathNode ? { cA, pathLen: readSmallInteger(pathNode) } : { cA };
      return;
    }
    case OID.KEY_USAGE: {
      // DER leaves the unused trailing bits zero, so reading them as unset is exact.
      const { bytes } = readNamedBits(parseDer(ext.value));
      out.keyUsage = KEY_USAGE_BITS.filter((_, bit) =>
        ((bytes[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0
      );
      return;
    }
    case OID.EXT_KEY_USAGE: {
      const oids = children(parseDer(ext.value), TAG.SEQUENCE);
      if (oids.length > MAX_EKUS) throw new SyntaxError("too many key purposes");
      out.extKeyUsage = oids.map(readOid);
      return;
    }
    case OID.SUBJECT_KEY_ID:
      out.subjectKeyId = readOctetString(parseDer(ext.value));
      return;
    case OID.AUTHORITY_KEY_ID: {
      const keyId = children(parseDer(ext.value), TAG.SEQUENCE).find((n) => n.tag === 0x80);
      if (keyId) out.authorityKeyId = keyId.value;
      return;
    }
    case OID.SUBJECT_ALT_NAME:
      out.subjectAltNames = parseGeneralNames(parseDer(ext.value));
      return;
    case OID.SCT_LIST:
      out.sctList = readOctetString(parseDer(ext.value));
      return;
  }
  if (ext.oid.startsWith(FULCIO_ARC) && FULCIO_EXTENSIONS[ext.oid]) {
    const arc = Number(ext.oid.slice(FULCIO_ARC.length));
    // .1-.6 hold the raw string bytes; .8 and later a DER UTF8String (section 7.2, gotcha 14).
    fulcio[ext.oid] = arc <= 6
      ? new TextDecoder().decode(ext.value)
      : readString(parseDer(ext.value));
  }
}

/** The extension with `oid`, if present. */
export function findExtension(cert: Certificate, oid: string): Extension | undefined {
  return cert.extensions.find((ext) => ext.oid === oid);
}

/** Parse the single `CERTIFICATE` PEM block in `pem`. */
export function parseCertificatePem(pem: string): Certificate {
  const certs = parseCertificatesPem(pem);
  if (certs.length !== 1) throw malformed(`expected one PEM certificate, found ${certs.length}`);
  return certs[0]!;
}

/**
 * Parse every `CERTIFICATE` block of a PEM bundle, in order (a cosign chain annotation: leaf
 * first). An empty input, or a block of another type, raises `X509_MALFORMED`.
 */
export function parseCertificatesPem(pem: string): Certificate[] {
  let blocks;
  try {
    blocks = decodePemBlocks(pem);
  } catch (cause) {
    throw malformed(`bad PEM: ${errorMessage(cause)}`, cause);
  }
  if (blocks.length === 0) throw malformed("no PEM certificate found");
  return blocks.map((block) => {
    if (block.type !== "CERTIFICATE") throw malformed(`unexpected PEM type "${block.type}"`);
    return parseCertificate(block.bytes);
  });
}
