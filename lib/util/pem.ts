/**
 * PEM armour (RFC 7468) as Go's `pem.EncodeToMemory` writes it: 64 columns, trailing newline.
 *
 * @module
 */

import { type Bytes, fromBase64, toBase64 } from "./bytes.ts";

/** One decoded PEM block. */
export interface PemBlock {
  /** The label, for example `PUBLIC KEY`. */
  readonly type: string;
  /** Header lines (`Key: value`) if any; cosign key files have none. */
  readonly headers: Readonly<Record<string, string>>;
  /** The decoded body. */
  readonly bytes: Bytes;
}

/** Most PEM blocks one input may hold (a chain annotation or trusted-root bundle). */
const MAX_BLOCKS = 64;

const BLOCK =
  /-----BEGIN ([A-Z0-9 #-]{1,64})-----\r?\n([\s\S]*?)\r?\n?-----END ([A-Z0-9 #-]{1,64})-----/g;

/** Decode every PEM block in `text`, in order; malformed armour throws `SyntaxError`. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    if (blocks.length >= MAX_BLOCKS) throw new SyntaxError("Too many PEM blocks");
    const [, type, body, endType] = match;
    if (type !== endType) throw new SyntaxError(`PEM block "${type}" ends as "${endType}"`);
    const headers: Record<string, string> = {};
    const lines = body!.split(/\r?\n/);
    let index = 0;
    for (; index < lines.length && lines[index]!.includes(":"); index++) {
      const line = lines[index]!;
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    if (index > 0 && lines[index]?.trim() === "") index++;
    const base64 = lines.slice(index).join("").replace(/\s+/g, "");
    let bytes: Bytes;
    try {
      bytes = fromBase64(base64);
    } catch (cause) {
      throw new SyntaxError(`Invalid base64 in PEM block "${type}"`, { cause });
    }
    blocks.push({ type: type!, headers, bytes });
  }
  return blocks;
}

/** Decode the single PEM block in `text`, optionally requiring one of `types`. */
export function decodePem(text: string, types?: readonly string[]): PemBlock {
  const blocks = decodePemBlocks(text);
  if (blocks.length === 0) throw new SyntaxError("Invalid PEM: no PEM block found");
  if (blocks.length > 1) throw new SyntaxError("Invalid PEM: expected one block");
  const block = blocks[0]!;
  if (types && !types.includes(block.type)) {
    throw new SyntaxError(
      `Unexpected PEM type "${block.type}" (expected ${types.map((t) => `"${t}"`).join(" or ")})`,
    );
  }
  return block;
}

/** Encode bytes as a PEM block. */
export function encodePem(type: string, bytes: Uint8Array): string {
  const base64 = toBase64(bytes);
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join("\n")}${
    lines.length ? "\n" : ""
  }-----END ${type}-----\n`;
}
