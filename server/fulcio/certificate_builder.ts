/**
 * Building and signing X.509 certificates (RFC 5280) for the embedded CA and TSA: names,
 * validity, the extensions of the Fulcio profile (cosign-spec.md section 7.2), self-signed roots,
 * intermediates, leaves, and the RFC 6962 precertificate -> final certificate step.
 *
 * Pure functions over a `Signer` (lib/keys/public_key.ts): no key handling here. ECDSA signatures are DER
 * and the signature algorithm follows the issuer key (P-256 -> ecdsa-with-SHA256, P-384 ->
 * SHA-384, P-521 -> SHA-512, RSA -> sha256WithRSAEncryption, Ed25519). Serial numbers are 20
 * random bytes, positive (RFC 5280 section 4.1.2.2).
 *
 * @module
 */

import { type Bytes, concat, type HashName, sha256 } from "../../lib/util/bytes.ts";
import {
  children,
  derBitString,
  derBoolean,
  derContext,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derPrintableString,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
  encodeTlv,
  parseDer,
  readOid,
  TAG,
} from "../../lib/util/der.ts";
import { encodeSctList, type SignedCertificateTimestamp } from "../../lib/x509/sct.ts";
import type { PublicKey, Signer } from "../../lib/keys/public_key.ts";
import {
  type Certificate,
  KEY_USAGE_BITS,
  type KeyUsageName,
  parseCertificate,
} from "../../lib/x509/certificate.ts";
import { FULCIO_EXTENSIONS, NAME_ATTRIBUTE_OID, OID } from "../../lib/x509/oids.ts";

/** An extension to put in a certificate: `value` is the DER inside `extnValue`. */
export interface ExtensionInput {
  readonly oid: string;
  readonly critical?: boolean;
  readonly value: Uint8Array;
}

/** Name attributes, encoded one RDN each, in the order given (`{ O: "sigstore.dev", CN: ... }`). */
export type NameInput = Readonly<
  Partial<Record<"C" | "ST" | "L" | "O" | "OU" | "CN" | "SERIALNUMBER", string>>
>;

/** DER Name from attributes; PrintableString when the value allows it (as Go writes), else UTF8. */
export function encodeName(name: NameInput): Bytes {
  const rdns = Object.entries(name).map(([label, value]) => {
    const oid = NAME_ATTRIBUTE_OID[label as keyof NameInput];
    if (!oid || value === undefined) throw new TypeError(`Unknown name attribute "${label}"`);
    const encoded = /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
      ? derPrintableString(value)
      : derUtf8String(value);
    return derSet(derSequence(derOid(oid), encoded));
  });
  return derSequence(...rdns);
}

/** BasicConstraints, critical (RFC 5280 section 4.2.1.9). */
export function basicConstraintsExtension(cA: boolean, pathLen?: number): ExtensionInput {
  const fields = [
    ...(cA ? [derBoolean(true)] : []),
    ...(pathLen !== undefined ? [derInteger(pathLen)] : []),
  ];
  return { oid: OID.BASIC_CONSTRAINTS, critical: true, value: derSequence(...fields) };
}

/** KeyUsage as a DER named bit list, critical (RFC 5280 section 4.2.1.3). */
export function keyUsageExtension(usages: readonly KeyUsageName[]): ExtensionInput {
  const bits = usages.map((u) => KEY_USAGE_BITS.indexOf(u));
  if (bits.length === 0 || bits.some((b) => b < 0)) throw new TypeError("Invalid key usages");
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = 7 - (highest & 7);
  return {
    oid: OID.KEY_USAGE,
    critical: true,
    value: encodeTlv(TAG.BIT_STRING, Uint8Array.of(unused), bytes),
  };
}

/** ExtendedKeyUsage (RFC 5280 section 4.2.1.12); RFC 3161 wants timeStamping critical. */
export function extKeyUsageExtension(oids: readonly string[], critical = false): ExtensionInput {
  return {
    oid: OID.EXT_KEY_USAGE,
    critical,
    value: derSequence(...oids.map((oid) => derOid(oid))),
  };
}

/** The key identifier of a key: leftmost 160 bits of SHA-256 of its key bits (RFC 7093 §2). */
export function keyIdentifier(key: PublicKey): Bytes {
  const bits = children(parseDer(key.spki))[1]!.value.subarray(1);
  return sha256(bits).subarray(0, 20);
}

/** SubjectKeyIdentifier (RFC 5280 section 4.2.1.2). */
export function subjectKeyIdExtension(key: PublicKey): ExtensionInput {
  return { oid: OID.SUBJECT_KEY_ID, value: derOctetString(keyIdentifier(key)) };
}

/** AuthorityKeyIdentifier with a keyIdentifier (RFC 5280 section 4.2.1.1). */
export function authorityKeyIdExtension(keyId: Uint8Array): ExtensionInput {
  return { oid: OID.AUTHORITY_KEY_ID, value: derSequence(derContext(0, false, keyId)) };
}

/** A SAN entry to encode. */
export type SanInput =
  | { readonly type: "email" | "uri" | "dns"; readonly value: string }
  | { readonly type: "otherName"; readonly value: string; readonly oid?: string };

/**
 * SubjectAltName (RFC 5280 section 4.2.1.6). Critical when the subject is empty, as Fulcio's
 * leaves are; `otherName` defaults to Fulcio's `user!domain` type-id with an explicit UTF8String.
 */
export function subjectAltNameExtension(
  names: readonly SanInput[],
  critical = true,
): ExtensionInput {
  if (names.length === 0) throw new TypeError("A SAN extension needs at least one name");
  const encoded = names.map((name) => {
    switch (name.type) {
      case "email":
        return derContext(1, false, new TextEncoder().encode(name.value));
      case "dns":
        return derContext(2, false, new TextEncoder().encode(name.value));
      case "uri":
        return derContext(6, false, new TextEncoder().encode(name.value));
      case "otherName":
        return derContext(
          0,
          true,
          derOid(name.oid ?? OID.FULCIO_OTHERNAME),
          derContext(0, true, derUtf8String(name.value)),
        );
    }
  });
  return { oid: OID.SUBJECT_ALT_NAME, critical, value: derSequence(...encoded) };
}

/**
 * A Fulcio extension 1.3.6.1.4.1.57264.1.x: .1-.6 hold the raw string, .8 and later a DER
 * UTF8String (cosign-spec.md section 7.2).
 */
export function fulcioExtension(oid: string, value: string): ExtensionInput {
  if (!FULCIO_EXTENSIONS[oid]) throw new TypeError(`Unknown Fulcio extension "${oid}"`);
  const arc = Number(oid.split(".").at(-1));
  const bytes = arc <= 6 ? new TextEncoder().encode(value) : derUtf8String(value);
  return { oid, value: bytes };
}

/** Any extension: raw DER contents, or a string encoded as a UTF8String. */
export function customExtension(
  oid: string,
  value: Uint8Array | string,
  critical = false,
): ExtensionInput {
  return { oid, critical, value: typeof value === "string" ? derUtf8String(value) : value };
}

/** The RFC 6962 precertificate poison, critical, NULL contents. */
export function precertPoisonExtension(): ExtensionInput {
  return { oid: OID.PRECERT_POISON, critical: true, value: derNull() };
}

/** The embedded SCT list (RFC 6962 section 3.3): an OCTET STRING of the TLS list. */
export function sctListExtension(scts: readonly SignedCertificateTimestamp[]): ExtensionInput {
  return { oid: OID.SCT_LIST, value: derOctetString(encodeSctList(scts)) };
}

function encodeExtension(ext: ExtensionInput): Bytes {
  return derSequence(
    derOid(ext.oid),
    ...(ext.critical ? [derBoolean(true)] : []),
    derOctetString(ext.value),
  );
}

/** The AlgorithmIdentifier and hash a signer's key signs certificates with. */
export function signatureAlgorithmFor(key: PublicKey): { algorithm: Bytes; hash: HashName } {
  switch (key.kind) {
    case "ecdsa-p256":
      return { algorithm: derSequence(derOid(OID.ECDSA_SHA256)), hash: "sha256" };
    case "ecdsa-p384":
      return { algorithm: derSequence(derOid(OID.ECDSA_SHA384)), hash: "sha384" };
    case "ecdsa-p521":
      return { algorithm: derSequence(derOid(OID.ECDSA_SHA512)), hash: "sha512" };
    case "rsa":
      return {
        algorithm: derSequence(derOid(OID.RSA_SHA256), derNull()),
        hash: "sha256",
      };
    case "ed25519":
      return { algorithm: derSequence(derOid(OID.ED25519)), hash: "sha512" };
  }
}

/** A random positive 20-byte serial number. */
export function randomSerial(random: (n: number) => Uint8Array = randomBytes): Bytes {
  const bytes = Uint8Array.from(random(20)) as Bytes;
  if (bytes.length !== 20) throw new RangeError("Serial randomness must be 20 bytes");
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, and exactly 20 bytes long
  return bytes;
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** What goes into a TBSCertificate. */
export interface CertificateTemplate {
  /** DER Name, or attributes. An empty `{}` makes an empty subject. */
  readonly subject: NameInput | Uint8Array;
  /** DER Name of the issuer (its certificate's `subject.raw`), or attributes. */
  readonly issuer: NameInput | Uint8Array;
  readonly publicKey: PublicKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly extensions?: readonly ExtensionInput[];
  /** Default: `randomSerial()`. */
  readonly serial?: Uint8Array | bigint;
}

/** The DER TBSCertificate (v3) of a template, for a given issuer key. */
export function encodeTbsCertificate(template: CertificateTemplate, issuerKey: PublicKey): Bytes {
  if (template.notAfter < template.notBefore) throw new RangeError("notAfter is before notBefore");
  const name = (n: NameInput | Uint8Array) => n instanceof Uint8Array ? n : encodeName(n);
  const extensions = template.extensions ?? [];
  return derSequence(
    derContext(0, true, derInteger(2)),
    derInteger(template.serial ?? randomSerial()),
    signatureAlgorithmFor(issuerKey).algorithm,
    name(template.issuer),
    derSequence(derTime(template.notBefore), derTime(template.notAfter)),
    name(template.subject),
    template.publicKey.spki,
    ...(extensions.length
      ? [derContext(3, true, derSequence(...extensions.map(encodeExtension)))]
      : []),
  );
}

/** Sign a DER TBSCertificate with `issuer` and return the parsed certificate. */
export async function signTbsCertificate(tbs: Uint8Array, issuer: Signer): Promise<Certificate> {
  const { algorithm, hash } = signatureAlgorithmFor(issuer.publicKey);
  const signature = await issuer.sign(tbs, { hash });
  return parseCertificate(derSequence(tbs, algorithm, derBitString(signature)));
}

/** Build and sign a certificate. */
export function buildCertificate(
  template: CertificateTemplate,
  issuer: Signer,
): Promise<Certificate> {
  return signTbsCertificate(encodeTbsCertificate(template, issuer.publicKey), issuer);
}

/** Validity and naming shared by the helpers below. */
export interface IssueOptions {
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serial?: Uint8Array | bigint;
  /** Extensions appended after the profile's own. */
  readonly extensions?: readonly ExtensionInput[];
}

/** A self-signed CA root: BasicConstraints cA, keyCertSign + cRLSign, SKI. */
export function createRootCertificate(
  signer: Signer,
  options: IssueOptions & { readonly subject: NameInput; readonly pathLen?: number },
): Promise<Certificate> {
  const key = signer.publicKey;
  return buildCertificate({
    ...options,
    issuer: options.subject,
    publicKey: key,
    extensions: [
      keyUsageExtension(["keyCertSign", "cRLSign"]),
      basicConstraintsExtension(true, options.pathLen),
      subjectKeyIdExtension(key),
      ...(options.extensions ?? []),
    ],
  }, signer);
}

/** An intermediate CA under `issuerCert` (pathLen 0 by default, EKUs optional). */
export function createIntermediateCertificate(
  issuer: Signer,
  issuerCert: Certificate,
  options: IssueOptions & {
    readonly subject: NameInput;
    readonly publicKey: PublicKey;
    readonly pathLen?: number;
    readonly extKeyUsage?: readonly string[];
  },
): Promise<Certificate> {
  return buildCertificate({
    ...options,
    issuer: issuerCert.subject.raw,
    extensions: [
      keyUsageExtension(["keyCertSign", "cRLSign"]),
      basicConstraintsExtension(true, options.pathLen ?? 0),
      ...(options.extKeyUsage ? [extKeyUsageExtension(options.extKeyUsage)] : []),
      subjectKeyIdExtension(options.publicKey),
      ...authorityKeyId(issuerCert),
      ...(options.extensions ?? []),
    ],
  }, issuer);
}

function authorityKeyId(issuerCert: Certificate): ExtensionInput[] {
  return issuerCert.subjectKeyId ? [authorityKeyIdExtension(issuerCert.subjectKeyId)] : [];
}

/** Options of `createLeafCertificate`. */
export interface LeafOptions extends IssueOptions {
  readonly publicKey: PublicKey;
  /** Default empty (the Fulcio profile), which makes the SAN critical. */
  readonly subject?: NameInput;
  readonly sans?: readonly SanInput[];
  /** Default `[codeSigning]`. */
  readonly extKeyUsage?: readonly string[];
  /** Mark the EKU critical (RFC 3161 TSA leaves). */
  readonly criticalExtKeyUsage?: boolean;
  /** Add the RFC 6962 poison last, making a precertificate for a CT log to sign. */
  readonly precertificate?: boolean;
}

/**
 * An end-entity certificate: digitalSignature (critical), EKU, SKI, AKI, SAN, then `extensions`
 * (Fulcio OIDs, ...), then the poison when `precertificate` is set.
 */
export function createLeafCertificate(
  issuer: Signer,
  issuerCert: Certificate,
  options: LeafOptions,
): Promise<Certificate> {
  const subject = options.subject ?? {};
  const sans = options.sans ?? [];
  return buildCertificate({
    ...options,
    subject,
    issuer: issuerCert.subject.raw,
    extensions: [
      keyUsageExtension(["digitalSignature"]),
      extKeyUsageExtension(
        options.extKeyUsage ?? [OID.EKU_CODE_SIGNING],
        options.criticalExtKeyUsage ?? false,
      ),
      subjectKeyIdExtension(options.publicKey),
      ...authorityKeyId(issuerCert),
      ...(sans.length ? [subjectAltNameExtension(sans, Object.keys(subject).length === 0)] : []),
      ...(options.extensions ?? []),
      ...(options.precertificate ? [precertPoisonExtension()] : []),
    ],
  }, issuer);
}

/**
 * The final certificate of a precertificate: the same TBSCertificate with the poison replaced,
 * in place, by the SCT list, signed again (RFC 6962 section 3.1). Because only that extension
 * changes, the SCTs' signed precertificate data still matches the final certificate.
 */
export async function finalizePrecertificate(
  issuer: Signer,
  precertificate: Certificate,
  scts: readonly SignedCertificateTimestamp[],
): Promise<Certificate> {
  let replaced = false;
  const fields = children(parseDer(precertificate.tbs, TAG.SEQUENCE)).map((field) => {
    if (field.tag !== 0xa3) return field.raw;
    const extensions = children(parseDer(field.value, TAG.SEQUENCE)).map((ext) => {
      if (readOid(children(ext, TAG.SEQUENCE)[0]!) !== OID.PRECERT_POISON) return ext.raw;
      replaced = true;
      return encodeExtension(sctListExtension(scts));
    });
    return derContext(3, true, derSequence(...extensions));
  });
  if (!replaced) throw new TypeError("The certificate is not a precertificate (no poison)");
  return await signTbsCertificate(encodeTlv(TAG.SEQUENCE, concat(...fields)), issuer);
}
