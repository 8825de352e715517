/**
 * The one bytes type of the library, and the small conversions every module needs.
 *
 * Functions return `Bytes` (`Uint8Array<ArrayBuffer>`, what WebCrypto and `fetch` accept) and take
 * any `Uint8Array`. Decoders of attacker-supplied text throw `SyntaxError`, never crash.
 *
 * @module
 */

import { sha2 } from "./sha2.ts";

/** Bytes owned by an `ArrayBuffer` (not a `SharedArrayBuffer`), as WebCrypto expects. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** SHA-2 hash names as used on the wire by cosign and Rekor. */
export type HashName = "sha256" | "sha384" | "sha512";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

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

/** Copy any `Uint8Array` (or view) into fresh `Bytes`. */
export function toBytes(bytes: Uint8Array): Bytes {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

/** Concatenate byte arrays. */
export function concat(...parts: Uint8Array[]): Bytes {
  return concatAll(parts);
}

/**
 * The bytes of `parts` one after another, for a list of any length: chunks read from a stream
 * are counted by whoever sends them, and spreading a few hundred thousand of them into
 * `concat(...chunks)` would overflow the call stack (a `RangeError` no caller expects).
 */
export function concatAll(parts: readonly Uint8Array[]): Bytes {
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

/**
 * Equality of bytes (not constant time: only for public values). Four bytes a step when both
 * views are 4-aligned (fresh arrays are): a quarter of the steps, which counts while the loop
 * still runs cold in the interpreter (a 6 KB TUF root in a one-shot command).
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset, words);
    for (let w = 0; w < words; w++) if (wa[w] !== wb[w]) return false;
    i = words * 4;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lowercase hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  return bytes.toHex();
}

/** Decode hex (either case); anything else throws `SyntaxError`. */
export function fromHex(hex: string): Bytes {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new SyntaxError(`Invalid hex string "${preview(hex)}"`);
  }
  return Uint8Array.fromHex(hex) as Bytes;
}

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/**
 * Decode base64. Accepts the standard and URL-safe alphabets, with or without padding
 * (DSSE readers must accept both, cosign-spec.md section 3.3); whitespace and other characters
 * throw `SyntaxError`.
 */
export function fromBase64(text: string): Bytes {
  if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(text)) {
    throw new SyntaxError(`Invalid base64 "${preview(text)}"`);
  }
  const alphabet = /[-_]/.test(text) ? "base64url" : "base64";
  try {
    return Uint8Array.fromBase64(text, { alphabet, lastChunkHandling: "loose" }) as Bytes;
  } catch (cause) {
    throw new SyntaxError(`Invalid base64 "${preview(text)}"`, { cause });
  }
}

/**
 * Hash bytes with a SHA-2 function, synchronously (lib/util/sha2.ts: pure JS for small inputs
 * until `node:crypto` is needed, which is about twice WebCrypto's speed in Deno).
 */
export function digest(hash: HashName, data: Uint8Array): Bytes {
  return sha2(hash, data);
}

/** SHA-256 of bytes. */
export function sha256(data: Uint8Array): Bytes {
  return digest("sha256", data);
}

/** `sha256:<hex>` of bytes, the OCI digest form. */
export function sha256Digest(data: Uint8Array): string {
  return `sha256:${toHex(sha256(data))}`;
}

/** Digest length in bytes of a SHA-2 function. */
export function digestLength(hash: HashName): number {
  return hash === "sha256" ? 32 : hash === "sha384" ? 48 : 64;
}

/** Shorten untrusted text for an error message. */
export function preview(text: string, max = 40): string {
  return text.length > max ? `${text.slice(0, max)}..` : text;
}
