/**
 * `crypto.x509.parse_certificates(certs)`: certificates (a PEM string, or base64 of PEM or of
 * concatenated DER) parsed with dcosign's X.509 parser (`lib/x509.ts`) and returned in the
 * shape OPA returns: Go's `x509.Certificate` marshalled to JSON (field names as Go spells them,
 * byte fields base64, OIDs as integer arrays, names as `pkix.Name`), plus OPA's `URIStrings`.
 *
 * @module
 */

import { children, parseDer, readBitString, readInteger, readTlv, TAG } from "../../../util/der.ts";
import { decodePemBlocks } from "../../../util/pem.ts";
import { type Certificate, parseCertificate } from "../../../x509/certificate.ts";
import { limitError } from "../errors.ts";
import { normalizeNumber, RegoObject, type Value } from "../value.ts";
import { type Builtin, builtin, builtinError, str } from "./registry.ts";

/** Largest `certs` operand accepted, and most certificates in it. */
const MAX_INPUT = 1 << 20;
const MAX_CERTS = 100;

const SIGNATURE_ALGORITHMS: Record<string, number> = {
  "1.2.840.113549.1.1.2": 1,
  "1.2.840.113549.1.1.4": 2,
  "1.2.840.113549.1.1.5": 3,
  "1.2.840.113549.1.1.11": 4,
  "1.2.840.113549.1.1.12": 5,
  "1.2.840.113549.1.1.13": 6,
  "1.2.840.10040.4.3": 7,
  "2.16.840.1.101.3.4.3.2": 8,
  "1.2.840.10045.4.1": 9,
  "1.2.840.10045.4.3.2": 10,
  "1.2.840.10045.4.3.3": 11,
  "1.2.840.10045.4.3.4": 12,
  "1.2.840.113549.1.1.10": 13,
  "1.3.101.112": 16,
};

const EXT_KEY_USAGES: Record<string, number> = {
  "2.5.29.37.0": 0,
  "1.3.6.1.5.5.7.3.1": 1,
  "1.3.6.1.5.5.7.3.2": 2,
  "1.3.6.1.5.5.7.3.3": 3,
  "1.3.6.1.5.5.7.3.4": 4,
  "1.3.6.1.5.5.7.3.5": 5,
  "1.3.6.1.5.5.7.3.6": 6,
  "1.3.6.1.5.5.7.3.7": 7,
  "1.3.6.1.5.5.7.3.8": 8,
  "1.3.6.1.5.5.7.3.9": 9,
  "1.3.6.1.4.1.311.10.3.3": 10,
  "2.16.840.1.113730.4.1": 11,
  "1.3.6.1.4.1.311.2.1.22": 12,
  "1.3.6.1.4.1.311.61.1.1": 13,
};

const KEY_USAGE_BITS: Record<string, number> = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
};

const NAME_FIELDS: Record<string, string> = {
  "2.5.4.6": "Country",
  "2.5.4.10": "Organization",
  "2.5.4.11": "OrganizationalUnit",
  "2.5.4.7": "Locality",
  "2.5.4.8": "Province",
  "2.5.4.9": "StreetAddress",
  "2.5.4.17": "PostalCode",
};

function oidArray(oid: string): Value[] {
  return oid.split(".").map((p) => normalizeNumber(BigInt(p)));
}

function b64(bytes: Uint8Array | undefined): Value {
  return bytes === undefined ? null : bytes.toBase64();
}

function listOrNull(items: Value[]): Value {
  return items.length === 0 ? null : items;
}

/** Go's `pkix.Name` as JSON. */
function pkixName(dn: Certificate["subject"]): RegoObject {
  const lists = new Map<string, Value[]>();
  let cn = "";
  let serial = "";
  const names: Value[] = [];
  for (const rdn of dn.rdns) {
    for (const a of rdn) {
      names.push(new RegoObject([["Type", oidArray(a.oid)], ["Value", a.value]]));
      const field = NAME_FIELDS[a.oid];
      if (field !== undefined) lists.set(field, [...(lists.get(field) ?? []), a.value]);
      else if (a.oid === "2.5.4.3") cn = a.value;
      else if (a.oid === "2.5.4.5") serial = a.value;
    }
  }
  const o = new RegoObject();
  for (const f of Object.values(NAME_FIELDS)) o.set(f, listOrNull(lists.get(f) ?? []));
  o.set("SerialNumber", serial);
  o.set("CommonName", cn);
  o.set("Names", listOrNull(names));
  o.set("ExtraNames", null);
  return o;
}

/** Go's marshalled public key: RSA `{N, E}`, ECDSA `{Curve: {}, X, Y}`, Ed25519 bytes. */
function publicKey(cert: Certificate): [number, Value] {
  const spki = cert.publicKey.spki;
  const parts = children(parseDer(spki), TAG.SEQUENCE);
  const raw = readBitString(parts[1] as never);
  switch (cert.publicKey.kind) {
    case "rsa": {
      const [n, e] = children(parseDer(raw), TAG.SEQUENCE);
      return [
        1,
        new RegoObject([["N", normalizeNumber(readInteger(n as never))], [
          "E",
          normalizeNumber(readInteger(e as never)),
        ]]),
      ];
    }
    case "ed25519":
      return [4, raw.toBase64()];
    default: {
      const size = (raw.length - 1) / 2;
      const x = BigInt("0x" + raw.subarray(1, 1 + size).toHex());
      const y = BigInt("0x" + raw.subarray(1 + size).toHex());
      return [
        3,
        new RegoObject([["Curve", new RegoObject()], ["X", normalizeNumber(x)], [
          "Y",
          normalizeNumber(y),
        ]]),
      ];
    }
  }
}

function goTime(d: Date): string {
  return d.toISOString().replace(/\.000Z$/, "Z");
}

function certificateValue(cert: Certificate): RegoObject {
  const [pkAlg, pk] = publicKey(cert);
  const san = (t: string) =>
    cert.subjectAltNames.filter((n) => n.type === t).map((n) => n.value as Value);
  let keyUsage = 0;
  for (const k of cert.keyUsage ?? []) keyUsage |= KEY_USAGE_BITS[k] ?? 0;
  const eku: Value[] = [];
  const unknownEku: Value[] = [];
  for (const oid of cert.extKeyUsage ?? []) {
    const known = EXT_KEY_USAGES[oid];
    if (known === undefined) unknownEku.push(oidArray(oid));
    else eku.push(known);
  }
  const bc = cert.basicConstraints;
  const uris = san("uri");
  const entries: [string, Value][] = [
    ["Raw", b64(cert.raw)],
    ["RawTBSCertificate", b64(cert.tbs)],
    ["RawSubjectPublicKeyInfo", b64(cert.publicKey.spki)],
    ["RawSubject", b64(cert.subject.raw)],
    ["RawIssuer", b64(cert.issuer.raw)],
    ["Signature", b64(cert.signature)],
    ["SignatureAlgorithm", SIGNATURE_ALGORITHMS[cert.signatureAlgorithm] ?? 0],
    ["PublicKeyAlgorithm", pkAlg],
    ["PublicKey", pk],
    ["Version", cert.version],
    ["SerialNumber", normalizeNumber(cert.serial)],
    ["Issuer", pkixName(cert.issuer)],
    ["Subject", pkixName(cert.subject)],
    ["NotBefore", goTime(cert.notBefore)],
    ["NotAfter", goTime(cert.notAfter)],
    ["KeyUsage", keyUsage],
    [
      "Extensions",
      listOrNull(
        cert.extensions.map((e) =>
          new RegoObject([["Id", oidArray(e.oid)], ["Critical", e.critical], [
            "Value",
            b64(e.value),
          ]])
        ),
      ),
    ],
    ["ExtraExtensions", null],
    ["UnhandledCriticalExtensions", null],
    ["ExtKeyUsage", listOrNull(eku)],
    ["UnknownExtKeyUsage", listOrNull(unknownEku)],
    ["BasicConstraintsValid", bc !== undefined],
    ["IsCA", bc?.cA ?? false],
    ["MaxPathLen", bc === undefined ? 0 : bc.pathLen ?? -1],
    ["MaxPathLenZero", bc?.pathLen === 0],
    ["SubjectKeyId", b64(cert.subjectKeyId)],
    ["AuthorityKeyId", b64(cert.authorityKeyId)],
    ["DNSNames", listOrNull(san("dns"))],
    ["EmailAddresses", listOrNull(san("email"))],
    ["IPAddresses", listOrNull(san("ip"))],
    ["URIs", listOrNull(uris.map((u) => new RegoObject([["Raw", u]])))],
    ["URIStrings", listOrNull(uris)],
  ];
  return new RegoObject(entries);
}

/** Split concatenated DER certificates (Go's `x509.ParseCertificates`). */
function splitDer(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (out.length >= MAX_CERTS) throw new SyntaxError(`more than ${MAX_CERTS} certificates`);
    const { node, next } = readTlv(bytes, offset);
    out.push(node.raw);
    offset = next;
  }
  return out;
}

function parseAll(input: string): Certificate[] {
  let ders: Uint8Array[];
  const fromPem = (text: string) =>
    decodePemBlocks(text).filter((b) => b.type === "CERTIFICATE").map((b) => b.bytes as Uint8Array);
  if (input.includes("-----BEGIN")) ders = fromPem(input);
  else {
    const bytes = Uint8Array.fromBase64(input.replace(/\s+/g, ""));
    const text = new TextDecoder().decode(bytes);
    ders = text.includes("-----BEGIN") ? fromPem(text) : splitDer(bytes);
  }
  if (ders.length > MAX_CERTS) throw new SyntaxError(`more than ${MAX_CERTS} certificates`);
  // Reading certificates is not trusting them: weak keys are shown, as Go's parser shows them.
  return ders.map((d) => parseCertificate(d, { inspectOnly: true }));
}

/** The X.509 built-ins. */
export const X509_BUILTINS: readonly Builtin[] = [
  builtin("crypto.x509.parse_certificates", 1, (args) => {
    const input = str(args, 1);
    if (input.length > MAX_INPUT) {
      throw limitError(`crypto.x509.parse_certificates: input is larger than ${MAX_INPUT} bytes`);
    }
    let certs: Certificate[];
    try {
      certs = parseAll(input);
    } catch (e) {
      throw builtinError(e instanceof Error ? e.message : String(e));
    }
    return certs.map(certificateValue);
  }),
];
