/**
 * Names in X.509 certificates (RFC 5280): distinguished names (section 4.1.2.4) with their
 * RFC 4514 text, and the GeneralNames of a SubjectAltName (section 4.2.1.6). The DER of a name is
 * kept, since chains compare names as bytes; counts of attributes and entries are bounded before
 * use (SECURITY.md rule 4). Certificates themselves are parsed in `lib/x509/certificate.ts`.
 *
 * @module
 */

import { nameAttributeLabel } from "./oids.ts";
import { type Bytes, fromUtf8, toHex } from "../util/bytes.ts";
import {
  at,
  children,
  contextTag,
  type DerNode,
  expectTag,
  parseDer,
  readOid,
  readString,
  TAG,
} from "../util/der.ts";

/** Most name attributes and SAN entries one certificate may carry. */
const MAX_NAME_ATTRIBUTES = 64;
const MAX_SANS = 64;

/** One attribute of a distinguished name. */
export interface NameAttribute {
  /** The attribute type OID (`2.5.4.3` is commonName). */
  readonly oid: string;
  /** The attribute value as text. */
  readonly value: string;
}

/** A distinguished name: its DER (what chains compare), its RDNs, and RFC 4514 text. */
export interface DistinguishedName {
  /** The DER `Name`. */
  readonly raw: Bytes;
  /** The relative distinguished names in encoded order, each a set of attributes. */
  readonly rdns: readonly (readonly NameAttribute[])[];
  /** RFC 4514 form, last RDN first (`CN=sigstore-intermediate,O=sigstore.dev`). */
  readonly text: string;
}

/** A SubjectAlternativeName entry (RFC 5280 section 4.2.1.6). */
export interface GeneralName {
  /** The SAN choice: rfc822Name (`email`), dNSName, URI, iPAddress, otherName, or another. */
  readonly type: "email" | "dns" | "uri" | "ip" | "otherName" | "other";
  /** Text value; for `ip` the dotted or colon form; for `other` the hex of the raw entry. */
  readonly value: string;
  /** The type-id of an `otherName`. */
  readonly oid?: string;
}

/** Parse a Name (RFC 5280 section 4.1.2.4). */
export function parseName(node: DerNode): DistinguishedName {
  const rdns: NameAttribute[][] = [];
  let count = 0;
  for (const set of children(node, TAG.SEQUENCE)) {
    const rdn: NameAttribute[] = [];
    for (const atv of children(set, TAG.SET)) {
      if (++count > MAX_NAME_ATTRIBUTES) throw new SyntaxError("too many name attributes");
      const parts = children(atv, TAG.SEQUENCE);
      const oid = readOid(at(parts, 0, "attribute type"));
      const valueNode = at(parts, 1, "attribute value");
      let value: string;
      try {
        value = readString(valueNode);
      } catch {
        value = `#${toHex(valueNode.raw)}`;
      }
      rdn.push({ oid, value });
    }
    rdns.push(rdn);
  }
  const text = [...rdns].reverse().map((rdn) =>
    rdn.map((a) => `${nameAttributeLabel(a.oid) ?? a.oid}=${escapeDnValue(a.value)}`).join("+")
  ).join(",");
  return { raw: node.raw, rdns, text };
}

function escapeDnValue(value: string): string {
  if (value.startsWith("#") && /^#[0-9a-f]*$/.test(value)) return value;
  return value.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`).replace(/^[ #]|[ ]$/g, (c) => `\\${c}`);
}

/** Parse a GeneralNames SEQUENCE (SAN, RFC 5280 section 4.2.1.6). */
export function parseGeneralNames(node: DerNode): GeneralName[] {
  const names = children(node, TAG.SEQUENCE);
  if (names.length > MAX_SANS) throw new SyntaxError(`more than ${MAX_SANS} names`);
  if (names.length === 0) throw new SyntaxError("empty subject alternative name");
  return names.map((name): GeneralName => {
    switch (name.tag) {
      case contextTag(0, true): {
        const parts = children(name.value);
        const oid = readOid(at(parts, 0, "otherName type-id"));
        const wrapped = at(parts, 1, "otherName value");
        expectTag(wrapped, contextTag(0, true), "otherName value");
        let value: string;
        try {
          value = readString(parseDer(wrapped.value));
        } catch {
          value = toHex(wrapped.value);
        }
        return { type: "otherName", value, oid };
      }
      case 0x81:
        return { type: "email", value: fromUtf8(name.value) };
      case 0x82:
        return { type: "dns", value: fromUtf8(name.value) };
      case 0x86:
        return { type: "uri", value: fromUtf8(name.value) };
      case 0x87:
        return { type: "ip", value: formatIp(name.value) };
      default:
        return { type: "other", value: toHex(name.raw) };
    }
  });
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    return groups.join(":");
  }
  throw new SyntaxError("iPAddress is neither 4 nor 16 bytes");
}
