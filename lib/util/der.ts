/**
 * A lean ASN.1 DER reader and writer (ITU-T X.690), enough for keys, X.509, SCTs and CMS.
 *
 * The reader never copies: nodes are views into the input. Every length is checked against the
 * bytes present before use, child counts and OID arcs are bounded (SECURITY.md rule 4), and any
 * malformed input throws `SyntaxError`. Only low tag numbers (< 31) and definite lengths exist in
 * the structures we read. It reads DER, not BER (X.690 sections 10.1 and 8.3.2): a length in
 * long form that fits the short form or has a leading zero octet, and an INTEGER with a
 * redundant leading octet, are refused, as Go's cryptobyte and encoding/asn1 refuse them, so one
 * value has one encoding (a malleable signature encoding defeats Rekor's duplicate detection).
 *
 * @module
 */

import { type Bytes, concat, fromUtf8, toBytes, utf8 } from "./bytes.ts";

/** Universal and common tags (identifier octet, X.690 section 8.1.2). */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Identifier octet of a context-specific tag `[n]`. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One TLV: views into the parsed input. */
export interface DerNode {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  /** The whole encoding: identifier, length and contents. */
  readonly raw: Bytes;
  /** The contents octets. */
  readonly value: Bytes;
}

/** Most children any constructed value we read may have. */
const MAX_CHILDREN = 100_000;
/** Most arcs an OID may have (cf. timestamp-authority GHSA-4qg8-fj49-pxjh). */
const MAX_OID_ARCS = 128;

function view(bytes: Uint8Array, start: number, end: number): Bytes {
  return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset + start, end - start);
}

/** Read one TLV at `offset`; returns the node and the offset after it. */
export function readTlv(bytes: Uint8Array, offset: number): { node: DerNode; next: number } {
  if (offset + 2 > bytes.length) throw new SyntaxError("Truncated DER: missing tag or length");
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new SyntaxError("Unsupported DER high tag number");
  let length = bytes[offset + 1]!;
  let cursor = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new SyntaxError("Indefinite DER length is not allowed");
    if (count > 4) throw new SyntaxError("DER length too large");
    if (cursor + count > bytes.length) throw new SyntaxError("Truncated DER length");
    if (bytes[cursor] === 0) throw new SyntaxError("Non-minimal DER length (leading zero)");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[cursor + i]!;
    if (length < 0x80) throw new SyntaxError("Non-minimal DER length (long form for a short one)");
    cursor += count;
  }
  const end = cursor + length;
  if (end > bytes.length) throw new SyntaxError("Truncated DER: length exceeds input");
  return {
    node: { tag, raw: view(bytes, offset, end), value: view(bytes, cursor, end) },
    next: end,
  };
}

/** Parse bytes that must hold exactly one TLV. */
export function parseDer(bytes: Uint8Array, expectedTag?: number): DerNode {
  const { node, next } = readTlv(bytes, 0);
  if (next !== bytes.length) throw new SyntaxError("Trailing bytes after DER value");
  if (expectedTag !== undefined) expectTag(node, expectedTag);
  return node;
}

/** The TLVs inside a constructed node (or any byte range of concatenated TLVs). */
export function children(node: DerNode | Uint8Array, expectedTag?: number): DerNode[] {
  if (expectedTag !== undefined && !(node instanceof Uint8Array)) expectTag(node, expectedTag);
  const bytes = node instanceof Uint8Array ? node : node.value;
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (out.length >= MAX_CHILDREN) throw new SyntaxError("Too many DER elements");
    const { node: child, next } = readTlv(bytes, offset);
    out.push(child);
    offset = next;
  }
  return out;
}

/** Throw `SyntaxError` unless the node has the tag. */
export function expectTag(node: DerNode, tag: number, what = "value"): void {
  if (node.tag !== tag) {
    throw new SyntaxError(
      `Unexpected DER tag 0x${node.tag.toString(16)} for ${what} (expected 0x${tag.toString(16)})`,
    );
  }
}

/** The element at `index` of a children list, or a `SyntaxError` naming what was missing. */
export function at(nodes: DerNode[], index: number, what: string): DerNode {
  const node = nodes[index];
  if (!node) throw new SyntaxError(`Missing DER element: ${what}`);
  return node;
}

/** The contents of an INTEGER in its one DER form (X.690 section 8.3.2: no redundant octet). */
function integerContents(node: DerNode): Bytes {
  expectTag(node, TAG.INTEGER, "INTEGER");
  const bytes = node.value;
  if (bytes.length === 0) throw new SyntaxError("Empty DER INTEGER");
  if (
    bytes.length > 1 &&
    ((bytes[0] === 0 && !(bytes[1]! & 0x80)) || (bytes[0] === 0xff && bytes[1]! & 0x80))
  ) {
    throw new SyntaxError("Non-minimal DER INTEGER (redundant leading octet)");
  }
  return bytes;
}

/** INTEGER as a bigint (two's complement). */
export function readInteger(node: DerNode): bigint {
  const bytes = integerContents(node);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  if (bytes[0]! & 0x80) value -= 1n << BigInt(bytes.length * 8);
  return value;
}

/** INTEGER that must fit a safe non-negative JS number. */
export function readSmallInteger(node: DerNode): number {
  const value = readInteger(node);
  if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new SyntaxError("DER INTEGER out of range");
  }
  return Number(value);
}

/** The unsigned magnitude bytes of a non-negative INTEGER (its sign octet removed). */
export function readUnsignedIntegerBytes(node: DerNode): Bytes {
  const bytes = integerContents(node);
  if (bytes[0]! & 0x80) throw new SyntaxError("Expected a positive INTEGER");
  return bytes.length > 1 && bytes[0] === 0 ? bytes.subarray(1) : bytes;
}

/**
 * An ECDSA-Sig-Value (SEC 1 section C.5, `SEQUENCE { r INTEGER, s INTEGER }`) in strict DER, as
 * the fixed-width `r||s` WebCrypto and the curve code verify, for a field of `size` bytes. BER
 * lengths, redundant leading zeros in r or s, trailing bytes and a raw `r||s` are refused with
 * a `SyntaxError`: Go's `ecdsa.VerifyASN1` accepts DER only, and a second encoding of one
 * signature is a second "different" signature to Rekor's duplicate detection.
 */
export function ecdsaDerToRaw(signature: Uint8Array, size: number): Bytes {
  const parts = children(parseDer(signature, TAG.SEQUENCE));
  if (parts.length !== 2) throw new SyntaxError("ECDSA signature: expected SEQUENCE { r, s }");
  const out = new Uint8Array(2 * size);
  for (let i = 0; i < 2; i++) {
    const value = readUnsignedIntegerBytes(parts[i]!);
    if (value.length > size) throw new SyntaxError("ECDSA signature: integer wider than the curve");
    out.set(value, (i + 1) * size - value.length);
  }
  return out;
}

/** A raw `r||s` ECDSA signature (WebCrypto's form) as DER `SEQUENCE { r, s }`, cosign's form. */
export function ecdsaRawToDer(raw: Uint8Array): Bytes {
  if (raw.length === 0 || raw.length % 2) throw new RangeError("Invalid raw ECDSA signature");
  const half = raw.length / 2;
  return derSequence(derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half)));
}

/** OBJECT IDENTIFIER in dotted form. */
export function readOid(node: DerNode): string {
  expectTag(node, TAG.OID, "OBJECT IDENTIFIER");
  const bytes = node.value;
  if (bytes.length === 0) throw new SyntaxError("Empty OID");
  const arcs: bigint[] = [];
  let value = 0n;
  let inArc = false;
  for (const byte of bytes) {
    if (!inArc && byte === 0x80) throw new SyntaxError("Non-minimal OID arc");
    value = (value << 7n) | BigInt(byte & 0x7f);
    inArc = (byte & 0x80) !== 0;
    if (!inArc) {
      arcs.push(value);
      if (arcs.length > MAX_OID_ARCS) throw new SyntaxError("OID has too many arcs");
      value = 0n;
    }
  }
  if (inArc) throw new SyntaxError("Truncated OID");
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

/** BOOLEAN. */
export function readBoolean(node: DerNode): boolean {
  expectTag(node, TAG.BOOLEAN, "BOOLEAN");
  if (node.value.length !== 1) throw new SyntaxError("Invalid DER BOOLEAN");
  return node.value[0] !== 0;
}

/** BIT STRING contents; the unused-bits count must be 0 (keys and signatures). */
export function readBitString(node: DerNode): Bytes {
  expectTag(node, TAG.BIT_STRING, "BIT STRING");
  if (node.value.length === 0 || node.value[0] !== 0) {
    throw new SyntaxError("Unsupported BIT STRING padding");
  }
  return node.value.subarray(1);
}

/** OCTET STRING contents. */
export function readOctetString(node: DerNode): Bytes {
  expectTag(node, TAG.OCTET_STRING, "OCTET STRING");
  return node.value;
}

/** Any ASN.1 character string type, as text. */
export function readString(node: DerNode): string {
  switch (node.tag) {
    case TAG.UTF8_STRING:
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
      return fromUtf8(node.value);
    case TAG.T61_STRING:
      return String.fromCharCode(...node.value);
    case TAG.BMP_STRING: {
      if (node.value.length % 2) throw new SyntaxError("Invalid BMPString");
      let text = "";
      for (let i = 0; i < node.value.length; i += 2) {
        text += String.fromCharCode((node.value[i]! << 8) | node.value[i + 1]!);
      }
      return text;
    }
    case TAG.UNIVERSAL_STRING: {
      if (node.value.length % 4) throw new SyntaxError("Invalid UniversalString");
      let text = "";
      for (let i = 0; i < node.value.length; i += 4) {
        const view = new DataView(node.value.buffer, node.value.byteOffset + i, 4);
        text += String.fromCodePoint(view.getUint32(0));
      }
      return text;
    }
    default:
      throw new SyntaxError(`Unexpected DER tag 0x${node.tag.toString(16)} for a string`);
  }
}

/** UTCTime or GeneralizedTime (RFC 5280 section 4.1.2.5) as a Date. */
export function readTime(node: DerNode): Date {
  const text = fromUtf8(node.value);
  let match: RegExpMatchArray | null;
  let year: number;
  if (node.tag === TAG.UTC_TIME) {
    match = text.match(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/);
    if (!match) throw new SyntaxError(`Invalid UTCTime "${text}"`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (node.tag === TAG.GENERALIZED_TIME) {
    match = text.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/);
    if (!match) throw new SyntaxError(`Invalid GeneralizedTime "${text}"`);
    year = Number(match[1]);
  } else {
    throw new SyntaxError(`Unexpected DER tag 0x${node.tag.toString(16)} for a time`);
  }
  const fraction = node.tag === TAG.GENERALIZED_TIME && match[7]
    ? Number(`0.${match[7]}`) * 1000
    : 0;
  const ms = Date.UTC(
    year,
    Number(match[2]) - 1,
    Number(match[3]),
    Number(match[4]),
    Number(match[5]),
    Number(match[6] ?? 0),
  ) + Math.floor(fraction);
  const date = new Date(ms);
  if (Number.isNaN(ms) || date.getUTCMonth() !== Number(match[2]) - 1) {
    throw new SyntaxError(`Invalid time "${text}"`);
  }
  return date;
}

// ---------------------------------------------------------------------------------------------
// Writer

function encodeLength(length: number): Bytes {
  if (length < 0x80) return Uint8Array.of(length);
  const out: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) out.unshift(n & 0xff);
  return Uint8Array.of(0x80 | out.length, ...out);
}

/** Encode a TLV from a tag and its contents. */
export function encodeTlv(tag: number, ...contents: Uint8Array[]): Bytes {
  const value = concat(...contents);
  return concat(Uint8Array.of(tag), encodeLength(value.length), value);
}

/** SEQUENCE of already-encoded elements. */
export function derSequence(...elements: Uint8Array[]): Bytes {
  return encodeTlv(TAG.SEQUENCE, ...elements);
}

/** SET of already-encoded elements, sorted as DER requires (X.690 section 11.6). */
export function derSet(...elements: Uint8Array[]): Bytes {
  const sorted = [...elements].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (a[i] !== b[i]) return a[i]! - b[i]!;
    }
    return a.length - b.length;
  });
  return encodeTlv(TAG.SET, ...sorted);
}

/** Non-negative INTEGER from a bigint/number, or from unsigned big-endian magnitude bytes. */
export function derInteger(value: bigint | number | Uint8Array): Bytes {
  if (value instanceof Uint8Array) {
    let start = 0;
    while (start < value.length - 1 && value[start] === 0) start++;
    const magnitude = value.subarray(start);
    const body = magnitude.length === 0
      ? Uint8Array.of(0)
      : magnitude[0]! & 0x80
      ? concat(Uint8Array.of(0), magnitude)
      : magnitude;
    return encodeTlv(TAG.INTEGER, body);
  }
  const n = BigInt(value);
  if (n < 0n) throw new RangeError("Negative DER INTEGER encoding is not supported");
  const hex = n.toString(16);
  return derInteger(Uint8Array.fromHex(hex.length % 2 ? `0${hex}` : hex));
}

/** OBJECT IDENTIFIER from dotted form. */
export function derOid(oid: string): Bytes {
  const arcs = oid.split(".").map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new TypeError(`Invalid OID "${oid}"`);
  const body: number[] = [];
  const encodeArc = (arc: bigint) => {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (arc >>= 7n; arc > 0n; arc >>= 7n) chunk.unshift(Number(arc & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  encodeArc(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) encodeArc(arc);
  return encodeTlv(TAG.OID, Uint8Array.from(body));
}

/** OCTET STRING. */
export function derOctetString(bytes: Uint8Array): Bytes {
  return encodeTlv(TAG.OCTET_STRING, bytes);
}

/** BIT STRING with no unused bits. */
export function derBitString(bytes: Uint8Array): Bytes {
  return encodeTlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
}

/** UTF8String. */
export function derUtf8String(text: string): Bytes {
  return encodeTlv(TAG.UTF8_STRING, utf8(text));
}

/** PrintableString (caller ensures the character set). */
export function derPrintableString(text: string): Bytes {
  return encodeTlv(TAG.PRINTABLE_STRING, utf8(text));
}

/** IA5String. */
export function derIa5String(text: string): Bytes {
  return encodeTlv(TAG.IA5_STRING, utf8(text));
}

/** BOOLEAN. */
export function derBoolean(value: boolean): Bytes {
  return encodeTlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0));
}

/** NULL. */
export function derNull(): Bytes {
  return Uint8Array.of(TAG.NULL, 0) as Bytes;
}

/** Time as RFC 5280 wants it: UTCTime through 2049, GeneralizedTime after. */
export function derTime(date: Date): Bytes {
  const iso = date.toISOString();
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  return date.getUTCFullYear() < 2050
    ? encodeTlv(TAG.UTC_TIME, utf8(`${digits.slice(2)}Z`))
    : encodeTlv(TAG.GENERALIZED_TIME, utf8(`${digits}Z`));
}

/** GeneralizedTime, optionally with milliseconds (RFC 3161 genTime). */
export function derGeneralizedTime(date: Date, withMillis = false): Bytes {
  const iso = date.toISOString();
  let text = iso.slice(0, 19).replace(/[-:T]/g, "");
  if (withMillis && date.getUTCMilliseconds() !== 0) {
    text += `.${iso.slice(20, 23).replace(/0+$/, "")}`;
  }
  return encodeTlv(TAG.GENERALIZED_TIME, utf8(`${text}Z`));
}

/** Context-specific `[n]` wrapper: explicit (constructed) or implicit over raw contents. */
export function derContext(n: number, constructed: boolean, ...contents: Uint8Array[]): Bytes {
  return encodeTlv(contextTag(n, constructed), ...contents);
}

/** A copy of a node's full encoding, detached from its input. */
export function copyRaw(node: DerNode): Bytes {
  return toBytes(node.raw);
}
