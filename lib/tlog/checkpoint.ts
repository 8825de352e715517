/**
 * Checkpoints: the signed tree heads of transparency logs, in the C2SP signed-note format
 * (cosign-spec.md section 5.5, gotcha 5).
 *
 * ```
 * <origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n...]\n
 * — <signer name> <base64(4-byte key ID || signature)>\n   (one or more)
 * ```
 *
 * The signature covers the body text including its final newline. Two styles exist:
 * Rekor v1 (origin `<host> - <tree ID>`, signer name `<host>`, key ID = SHA-256(SPKI)[:4]) and
 * Rekor v2 / C2SP (origin = signer name = the log's host name; Ed25519 key ID =
 * SHA-256(name || 0x0A || 0x01 || key)[:4]). Parsing bounds every count (SECURITY.md rule 4)
 * and uses no attacker text as a pattern (sigstore-js #1722). Witness cosignatures and other
 * unknown lines are ignored, but at least one line must be a valid signature by the log.
 *
 * @module
 */

import { type Bytes, concat, equalBytes, sha256, toBase64, utf8 } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";
import { type PublicKey, type Signer, verifySignature } from "../keys/public_key.ts";

/** Error codes raised here. */
export type CheckpointErrorCode = "REKOR_CHECKPOINT_MALFORMED" | "REKOR_CHECKPOINT_INVALID";

/** Largest checkpoint text accepted. Real ones are under 1 KiB even with several witnesses. */
export const MAX_CHECKPOINT_BYTES = 64 * 1024;

/** Most signature lines (the C2SP signed-note limit) and most extension lines accepted. */
export const MAX_NOTE_SIGNATURES = 100;
const MAX_EXTENSION_LINES = 100;

/** The em dash that starts a signature line (U+2014 and a space). */
const SIGNATURE_PREFIX = "\u2014 ";

/** One signature line of a note. */
export interface NoteSignature {
  /** Signer name (the key name, not verified by itself). */
  readonly name: string;
  /** The 4-byte key ID the line claims. */
  readonly keyId: Bytes;
  /** The signature over the note body. */
  readonly signature: Bytes;
}

/** A parsed checkpoint. */
export interface Checkpoint {
  /** The log's origin line. */
  readonly origin: string;
  /** Number of leaves the checkpoint commits to. */
  readonly treeSize: bigint;
  /** The RFC 6962 root hash of that tree. */
  readonly rootHash: Bytes;
  /** Lines after the root hash (Rekor v1 writes `Timestamp: <ns>`). */
  readonly extensions: readonly string[];
  /** The signed text: every body line with its newline. */
  readonly body: string;
  /** Every signature line, in order. */
  readonly signatures: readonly NoteSignature[];
}

/** What a checkpoint body says. */
export interface CheckpointBody {
  /** The origin line. */
  readonly origin: string;
  /** Number of leaves. */
  readonly treeSize: bigint;
  /** The RFC 6962 root hash (32 bytes). */
  readonly rootHash: Uint8Array;
  /** Further body lines (none by default). */
  readonly extensions?: readonly string[];
}

function malformed(message: string): CosignError {
  return new CosignError("REKOR_CHECKPOINT_MALFORMED", `Invalid checkpoint: ${message}`);
}

function invalid(message: string, cause?: unknown): CosignError {
  return new CosignError("REKOR_CHECKPOINT_INVALID", `Checkpoint not verified: ${message}`, {
    cause,
  });
}

const STANDARD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeStandardBase64(text: string, what: string): Bytes {
  if (text === "" || !STANDARD_BASE64.test(text)) throw malformed(`${what} is not base64`);
  return Uint8Array.fromBase64(text) as Bytes;
}

/** True when `text` has an ASCII control character other than newline. */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x0a) || c === 0x7f) return true;
  }
  return false;
}

/** A C2SP signer name: non-empty, no spaces or plus signs (they delimit key text). */
function isSignerName(name: string): boolean {
  return name !== "" && !/[\s+]/.test(name);
}

/**
 * Parse a checkpoint. Malformed text raises `REKOR_CHECKPOINT_MALFORMED`: a missing origin,
 * size or root-hash line, a blank body line, control characters, a size that is not a
 * canonical decimal below 2^64, a root hash that is not 32 bytes of standard base64, a signature
 * line that is not `— <name> <base64>`, no signature at all, or more than the bounds allow.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (text.length > MAX_CHECKPOINT_BYTES) {
    throw malformed(`larger than ${MAX_CHECKPOINT_BYTES} bytes`);
  }
  // C2SP signed-note: UTF-8 text without control characters other than newline.
  if (hasControlCharacter(text) || !text.isWellFormed()) {
    throw malformed("contains control characters");
  }
  if (!text.endsWith("\n")) throw malformed("does not end with a newline");
  const split = text.lastIndexOf("\n\n");
  if (split < 0) throw malformed("no blank line before the signatures");
  const body = text.slice(0, split + 1);
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) throw malformed("too few lines before the signatures");
  if (lines.length > 3 + MAX_EXTENSION_LINES) throw malformed("too many extension lines");
  if (lines.some((line) => line === "")) throw malformed("blank line in the body");
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string];
  if (!/^(0|[1-9][0-9]{0,19})$/.test(sizeText)) {
    throw malformed(`tree size "${sizeText.slice(0, 40)}" is not a decimal number`);
  }
  const treeSize = BigInt(sizeText);
  if (treeSize >= 1n << 64n) throw malformed("tree size does not fit in 64 bits");
  const rootHash = decodeStandardBase64(rootText, "root hash");
  if (rootHash.length !== 32) throw malformed(`root hash is ${rootHash.length} bytes, not 32`);

  const signatureLines = text.slice(split + 2, -1).split("\n");
  if (signatureLines.length === 1 && signatureLines[0] === "") {
    throw malformed("no signatures");
  }
  if (signatureLines.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  }
  const signatures = signatureLines.map((line, i): NoteSignature => {
    if (!line.startsWith(SIGNATURE_PREFIX)) {
      throw malformed(`signature line ${i + 1} does not start with an em dash`);
    }
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? "" : rest.slice(0, space);
    if (!isSignerName(name)) throw malformed(`signature line ${i + 1} has no valid signer name`);
    const blob = decodeStandardBase64(rest.slice(space + 1), `signature ${i + 1}`);
    if (blob.length < 5) throw malformed(`signature ${i + 1} is too short`);
    return { name, keyId: blob.slice(0, 4), signature: blob.slice(4) };
  });
  return { origin, treeSize, rootHash, extensions, body, signatures };
}

/** The body text of a checkpoint, as it is signed. */
export function encodeCheckpointBody(checkpoint: CheckpointBody): string {
  const { origin, treeSize, rootHash } = checkpoint;
  const extensions = checkpoint.extensions ?? [];
  if (origin === "" || /\n/.test(origin) || extensions.some((e) => e === "" || /\n/.test(e))) {
    throw new RangeError("Checkpoint origin and extension lines must be non-empty single lines");
  }
  if (treeSize < 0n || treeSize >= 1n << 64n) throw new RangeError("Invalid tree size");
  if (rootHash.length !== 32) throw new RangeError("Root hash must be 32 bytes");
  return [origin, treeSize.toString(), toBase64(rootHash), ...extensions].join("\n") + "\n";
}

/** True for a Rekor v1 origin, `<host> - <tree ID>` (how sigstore-go tells the styles apart). */
export function isRekorV1Origin(origin: string): boolean {
  return /^.+ - [0-9]+$/.test(origin);
}

const ED25519_KEY_TYPE = 0x01;
const PKIX_KEY_TYPE = 0xff;

/**
 * The 4-byte key ID a signer named `name` puts on its signature lines (cosign-spec.md 5.5):
 * Rekor v1 uses SHA-256(SPKI)[:4] for every key; C2SP uses SHA-256(name || 0x0A || 0x01 ||
 * key)[:4] for Ed25519, SHA-256(name || 0x0A || 0xFF || "PKIX-RSA-PKCS#1v1.5" || SPKI)[:4]
 * for RSA, and SHA-256(SPKI)[:4] for ECDSA.
 */
export function noteKeyId(key: PublicKey, name: string, style: "rekor-v1" | "c2sp"): Bytes {
  if (style === "c2sp" && key.kind === "ed25519") {
    return sha256(concat(utf8(`${name}\n`), new Uint8Array([ED25519_KEY_TYPE]), key.rawKey))
      .slice(0, 4);
  }
  if (style === "c2sp" && key.kind === "rsa") {
    return sha256(
      concat(
        utf8(`${name}\n`),
        new Uint8Array([PKIX_KEY_TYPE]),
        utf8("PKIX-RSA-PKCS#1v1.5"),
        key.spki,
      ),
    ).slice(0, 4);
  }
  return sha256(key.spki).slice(0, 4);
}

/** The log a checkpoint must come from. */
export interface CheckpointLog {
  /** The log key from the trusted root. */
  readonly key: PublicKey;
  /** The log's base URL from the trusted root (Rekor v2 origins must equal its host). */
  readonly baseUrl: string;
  /** A checkpoint key ID the trusted root states (v0.2 roots); its first 4 bytes are accepted. */
  readonly checkpointKeyId?: Uint8Array;
}

/** Options of `verifyCheckpoint`. */
export interface VerifyCheckpointOptions {
  /** Require exactly this origin (for example `rekor.sigstore.dev - 1193050959916656506`). */
  readonly origin?: string;
}

/**
 * The names a log at `baseUrl` may sign as: its host name as Go's `url.Hostname()` gives it (an
 * IPv6 address without brackets), the bracketed form, and its host with the port.
 */
function hostNamesOf(baseUrl: string): string[] {
  try {
    const url = new URL(baseUrl);
    if (url.host === "") return [];
    return [url.hostname.replace(/^\[(.*)\]$/, "$1"), url.hostname, url.host];
  } catch {
    return [];
  }
}

/**
 * Parse a checkpoint and check that the log signed it. A Rekor v1 checkpoint needs a signature
 * line named after its origin's host with the key ID SHA-256(SPKI)[:4] (that host is not
 * compared with `log.baseUrl`, as sigstore-go does not; sigstore-js does, so logs should sign
 * with their served host); a v2 (C2SP) checkpoint must name the host name of `log.baseUrl`
 * (with or without its port) as origin and signer. Lines by other signers (witnesses)
 * are ignored; a matching line whose signature fails does not stop the search, but at least one
 * must verify. Failures raise `REKOR_CHECKPOINT_INVALID` (or `_MALFORMED` from parsing).
 */
export async function verifyCheckpoint(
  text: string,
  log: CheckpointLog,
  options: VerifyCheckpointOptions = {},
): Promise<Checkpoint> {
  const checkpoint = parseCheckpoint(text);
  const { origin } = checkpoint;
  if (options.origin !== undefined && origin !== options.origin) {
    throw invalid(`origin "${origin}" is not the expected "${options.origin}"`);
  }
  let name: string;
  let keyId: Bytes;
  if (isRekorV1Origin(origin)) {
    // Rekor v1 signs with its hostname as signer name and prefixes the origin with it.
    name = origin.slice(0, origin.lastIndexOf(" - "));
    keyId = noteKeyId(log.key, name, "rekor-v1");
  } else {
    // sigstore-go names a Rekor v2 log by its URL's host name without the port (Go's
    // `url.Hostname()`); a log served on a non-default port may also sign with the port.
    const hosts = hostNamesOf(log.baseUrl);
    if (!hosts.includes(origin)) {
      throw invalid(`origin "${origin}" is not the log's host "${hosts[0] ?? ""}"`);
    }
    name = origin;
    keyId = noteKeyId(log.key, name, "c2sp");
  }
  const stated = log.checkpointKeyId?.subarray(0, 4);
  const candidates = checkpoint.signatures.filter((s) =>
    s.name === name && (equalBytes(s.keyId, keyId) || (stated && equalBytes(s.keyId, stated)))
  );
  if (candidates.length === 0) {
    throw invalid(`no signature by "${name}" with the log's key ID "${keyId.toHex()}"`);
  }
  const message = utf8(checkpoint.body);
  for (const candidate of candidates) {
    if (await verifySignature(log.key, message, candidate.signature)) return checkpoint;
  }
  throw invalid(`the signature by "${name}" does not verify with the log key`);
}

/** Options of `signCheckpoint`. */
export interface SignCheckpointOptions {
  /** Signer name; default: the host part of a Rekor v1 origin, else the origin. */
  readonly name?: string;
  /** Key ID style; default `rekor-v1` for a v1 origin, else `c2sp`. */
  readonly style?: "rekor-v1" | "c2sp";
}

/** Sign a checkpoint body with a log key; returns the full note text. */
export async function signCheckpoint(
  checkpoint: CheckpointBody,
  signer: Signer,
  options: SignCheckpointOptions = {},
): Promise<string> {
  const body = encodeCheckpointBody(checkpoint);
  const v1 = isRekorV1Origin(checkpoint.origin);
  const name = options.name ??
    (v1 ? checkpoint.origin.slice(0, checkpoint.origin.lastIndexOf(" - ")) : checkpoint.origin);
  if (!isSignerName(name)) throw new RangeError(`Invalid signer name "${name}"`);
  const style = options.style ?? (v1 ? "rekor-v1" : "c2sp");
  const keyId = noteKeyId(signer.publicKey, name, style);
  const signature = await signer.sign(utf8(body));
  return `${body}\n${SIGNATURE_PREFIX}${name} ${toBase64(concat(keyId, signature))}\n`;
}
