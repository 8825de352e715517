/**
 * The few byte conversions the TUF client needs, kept private to this folder so the client
 * imports nothing of the library but `lib/errors.ts` and two readers every security-relevant
 * input shares (lib/util/strict_json.ts, lib/util/der.ts): the bytes type, UTF-8, strict hex, and
 * the SHA-2 digests TUF metadata names (`sha256`, `sha384`, `sha512`).
 *
 * @module
 */

import { createHash } from "node:crypto";

/** Bytes owned by an `ArrayBuffer`, as WebCrypto and `fetch` expect. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** The hash algorithms a TUF `hashes` object may name that this client can check. */
export const TUF_HASHES = ["sha256", "sha384", "sha512"] as const;

/** One of `TUF_HASHES`. */
export type TufHashName = typeof TUF_HASHES[number];

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** UTF-8 encode a string. */
export function utf8(text: string): Bytes {
  return encoder.encode(text) as Bytes;
}

/** UTF-8 decode bytes; invalid UTF-8 throws `SyntaxError`. */
export function fromUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (cause) {
    throw new SyntaxError("Invalid UTF-8 text", { cause });
  }
}

/** Copy any `Uint8Array` into fresh `Bytes`. */
export function toBytes(bytes: Uint8Array): Bytes {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** True for a non-empty string of an even number of hex digits (either case). */
export function isHex(text: string): boolean {
  return text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text);
}

/** Decode hex; anything but an even number of hex digits throws `SyntaxError`. */
export function fromHex(text: string): Bytes {
  if (!isHex(text) && text !== "") throw new SyntaxError("Invalid hex string");
  return Uint8Array.fromHex(text) as Bytes;
}

/** Decode standard base64 (padding optional); invalid text throws `SyntaxError`. */
export function fromBase64(text: string): Bytes {
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "loose" }) as Bytes;
  } catch (cause) {
    throw new SyntaxError("Invalid base64 text", { cause });
  }
}

/** The digest of `data` under a TUF hash name. */
export function digest(name: TufHashName, data: Uint8Array): Bytes {
  return toBytes(createHash(name).update(data).digest());
}

/** Hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Byte-wise equality (public values only). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenate byte arrays. */
export function concat(parts: readonly Uint8Array[]): Bytes {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
