/**
 * cosign's encrypted private key file (cosign-spec.md section 4.1, section 12 gotcha 12).
 *
 * The file is a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (legacy: `ENCRYPTED COSIGN PRIVATE
 * KEY`) whose body is JSON text written by go-securesystemslib's `encrypted` package:
 *
 * ```json
 * {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64>"},
 *  "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},"ciphertext":"<b64>"}
 * ```
 *
 * with `key = scrypt(password, salt, N, r, p, 32)` and `ciphertext = NaCl secretbox`
 * (XSalsa20-Poly1305, 16-byte tag first) over the PKCS#8 DER key. Go's `encoding/json` writes
 * struct fields in declaration order, compact, `[]byte` as padded standard base64; we write the
 * same bytes (checked against go-securesystemslib's vectors).
 *
 * scrypt runs on node:crypto (OpenSSL): 1.4x faster than `@noble/hashes` at N=2^16
 * (bench/scrypt_bench.ts), and its async form leaves the event loop free while decrypting.
 *
 * scrypt keys HMAC-SHA256 with the password, and HMAC pads keys with zero bytes (RFC 2104
 * section 2): a password and the same password followed by NUL bytes open the same file, here
 * as in cosign.
 *
 * A decrypted plaintext in SEC1 form (`EC PRIVATE KEY` DER) is accepted too, although cosign's
 * loader refuses it: it is unambiguous, it is the user's own key, and cosign's own test data
 * holds such a file.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { scrypt, scryptSync } from "node:crypto";
import { xsalsa20poly1305 } from "../_deps/ciphers.ts";
import { type Bytes, fromBase64, toBase64, toBytes, utf8 } from "../util/bytes.ts";
import { children, parseDer, TAG } from "../util/der.ts";
import { asNonEmptyString, asRecord, asSafeInteger, parseJson } from "../util/json.ts";
import { decodePem, encodePem } from "../util/pem.ts";
import { MAX_KEY_FILE_SIZE, PrivateKey } from "./private_key.ts";
import { CosignError, errorMessage } from "../errors.ts";

/** The PEM type cosign writes (section 4.1). */
export const SIGSTORE_PRIVATE_KEY_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY";
/** The PEM type older cosign wrote; still read. */
export const COSIGN_PRIVATE_KEY_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY";

/** scrypt N cosign writes (go-securesystemslib "Standard"). */
export const DEFAULT_SCRYPT_N = 65536;
/** scrypt N values cosign reads, with r=8 and p=1: "Legacy", "Standard" and "OWASP". */
export const ACCEPTED_SCRYPT_N: readonly number[] = [32768, 65536, 131072];

const SCRYPT_R = 8;
const SCRYPT_P = 1;
const KEY_SIZE = 32;
const SALT_SIZE = 32;
const NONCE_SIZE = 24;
const TAG_SIZE = 16;
/** Largest N `encryptSecret` accepts (1 GiB of scrypt memory at r=8). */
const MAX_SCRYPT_N = 1 << 20;

/** A source of random bytes (default: `crypto.getRandomValues`). */
export type RandomSource = (length: number) => Uint8Array;

/** Options of `encryptSecret` and `encryptPrivateKey`. */
export interface EncryptOptions {
  /** Random bytes for the salt (first call, 32 bytes) and the nonce (second call, 24 bytes). */
  random?: RandomSource;
  /** scrypt cost; default 65536. Only 32768, 65536 and 131072 are readable by cosign. */
  scryptN?: number;
}

/** Options of `decryptSecret` and `decryptPrivateKey`. */
export interface DecryptOptions {
  /** scrypt N values to accept (r=8, p=1); default `ACCEPTED_SCRYPT_N`, as cosign. */
  acceptScryptN?: readonly number[];
}

/** A password: text is UTF-8 encoded (as Go's `[]byte(string)`); bytes are used as they are. */
export type Password = string | Uint8Array;

/** Error codes raised here (declared with the key codes in `public_key.ts`). */
export type KeyFileErrorCode = "KEY_MALFORMED" | "KEY_UNSUPPORTED" | "KEY_WRONG_PASSWORD";

/**
 * Encrypt `plaintext` as go-securesystemslib's `encrypted.Encrypt` does, returning the JSON text
 * (the PEM body of a cosign key file).
 */
export function encryptSecret(
  plaintext: Uint8Array,
  password: Password,
  options: EncryptOptions = {},
): string {
  const n = options.scryptN ?? DEFAULT_SCRYPT_N;
  if (!Number.isSafeInteger(n) || n < 2 || n > MAX_SCRYPT_N || (n & (n - 1)) !== 0) {
    throw new RangeError(`scrypt N must be a power of two from 2 to ${MAX_SCRYPT_N}, got "${n}"`);
  }
  const random = options.random ?? ((length) => crypto.getRandomValues(new Uint8Array(length)));
  const salt = takeRandom(random, SALT_SIZE, "salt");
  const nonce = takeRandom(random, NONCE_SIZE, "nonce");
  const key = scryptSync(passwordBytes(password), salt, KEY_SIZE, scryptOptions(n));
  const ciphertext = xsalsa20poly1305(key, nonce).encrypt(plaintext);
  // Field order is Go's struct order (go-securesystemslib encrypted.go `data`, `scryptKDF`,
  // `secretBoxCipher`); JSON.stringify keeps insertion order and writes compact JSON.
  return JSON.stringify({
    kdf: {
      name: "scrypt",
      params: { N: n, r: SCRYPT_R, p: SCRYPT_P },
      salt: toBase64(salt),
    },
    cipher: { name: "nacl/secretbox", nonce: toBase64(nonce) },
    ciphertext: toBase64(ciphertext),
  });
}

/**
 * Decrypt go-securesystemslib JSON (`text`: the PEM body). Unreadable JSON, unknown scrypt
 * parameters or a bad nonce raise `KEY_MALFORMED`, another KDF or cipher `KEY_UNSUPPORTED`.
 * A failed secretbox authentication raises `KEY_WRONG_PASSWORD`: a wrong password and a
 * modified ciphertext cannot be told apart.
 */
export async function decryptSecret(
  text: string | Uint8Array,
  password: Password,
  options: DecryptOptions = {},
): Promise<Bytes> {
  const envelope = decodeEnvelope(text, options.acceptScryptN ?? ACCEPTED_SCRYPT_N);
  const key = await new Promise<Uint8Array>((resolve, reject) =>
    scrypt(
      passwordBytes(password),
      envelope.salt,
      KEY_SIZE,
      scryptOptions(envelope.n),
      (error, derived) => error ? reject(error) : resolve(derived),
    )
  );
  try {
    return toBytes(xsalsa20poly1305(key, envelope.nonce).decrypt(envelope.ciphertext));
  } catch (cause) {
    throw new CosignError(
      "KEY_WRONG_PASSWORD",
      "Cannot decrypt private key: wrong password (or a modified ciphertext)",
      { cause },
    );
  }
}

/**
 * Write `key` as a cosign key file: `ENCRYPTED SIGSTORE PRIVATE KEY` PEM over the encrypted
 * PKCS#8 (section 4.1). An empty password is valid and still goes through scrypt.
 *
 * @example Write a key file cosign can read
 * ```ts
 * import assert from "node:assert/strict";
 * import { decryptPrivateKey, encryptPrivateKey, generateKeyPair } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const file = encryptPrivateKey(key, "a strong password"); // scrypt N=65536, NaCl secretbox
 * const opened = await decryptPrivateKey(file, "a strong password");
 * assert.ok(opened.publicKey.equals(key.publicKey));
 * ```
 */
export function encryptPrivateKey(
  key: PrivateKey,
  password: Password,
  options: EncryptOptions = {},
): string {
  const json = encryptSecret(key.toPkcs8(), password, options);
  return encodePem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, utf8(json));
}

/**
 * Read a cosign key file (either PEM type) with its password. Besides `decryptSecret`'s errors:
 * a file over 64 KiB or without one PEM block raises `KEY_MALFORMED`, another PEM type
 * `KEY_UNSUPPORTED`, and a plaintext that is not a PKCS#8 (or SEC1) key `KEY_MALFORMED`.
 *
 * @example Open a key file; a wrong password is `KEY_WRONG_PASSWORD`
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   decryptPrivateKey,
 *   encryptPrivateKey,
 *   generateKeyPair,
 *   isCosignError,
 * } from "@dcosign/dcosign";
 *
 * // A real program reads the file: await Deno.readTextFile("cosign.key").
 * const file = encryptPrivateKey(await generateKeyPair(), "a strong password");
 * const key = await decryptPrivateKey(file, "a strong password");
 * assert.equal(key.kind, "ecdsa-p256");
 * await assert.rejects(
 *   decryptPrivateKey(file, "a wrong password"),
 *   (error) => isCosignError(error, "KEY_WRONG_PASSWORD"),
 * );
 * ```
 */
export async function decryptPrivateKey(
  pem: string,
  password: Password,
  options: DecryptOptions = {},
): Promise<PrivateKey> {
  if (pem.length > MAX_KEY_FILE_SIZE) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid encrypted private key: larger than ${MAX_KEY_FILE_SIZE} bytes`,
    );
  }
  let block;
  try {
    block = decodePem(pem);
  } catch (cause) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid encrypted private key: ${errorMessage(cause)}`,
      {
        cause,
      },
    );
  }
  if (block.type !== SIGSTORE_PRIVATE_KEY_PEM_TYPE && block.type !== COSIGN_PRIVATE_KEY_PEM_TYPE) {
    throw new CosignError(
      "KEY_UNSUPPORTED",
      `Unsupported PEM type "${block.type}" for an encrypted private key (expected "${SIGSTORE_PRIVATE_KEY_PEM_TYPE}" or "${COSIGN_PRIVATE_KEY_PEM_TYPE}")`,
    );
  }
  const plaintext = await decryptSecret(block.bytes, password, options);
  try {
    return await PrivateKey.fromDer(plaintext, isSec1(plaintext) ? "sec1" : "pkcs8");
  } catch (cause) {
    const reason = errorMessage(cause);
    throw new CosignError("KEY_MALFORMED", `Invalid encrypted private key: ${reason}`, { cause });
  } finally {
    plaintext.fill(0);
  }
}

// ---------------------------------------------------------------------------------------------

interface Envelope {
  n: number;
  salt: Bytes;
  nonce: Bytes;
  ciphertext: Bytes;
}

function decodeEnvelope(text: string | Uint8Array, acceptN: readonly number[]): Envelope {
  if (text.length > MAX_KEY_FILE_SIZE) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid encrypted private key: larger than ${MAX_KEY_FILE_SIZE} bytes`,
    );
  }
  let kdfName: string, cipherName: string;
  let n: number, r: number, p: number;
  let salt: Bytes, nonce: Bytes, ciphertext: Bytes;
  try {
    const root = asRecord(parseJson(text, "encrypted private key"), "$");
    const kdf = asRecord(root.kdf, "$.kdf");
    const params = asRecord(kdf.params, "$.kdf.params");
    const cipher = asRecord(root.cipher, "$.cipher");
    kdfName = asNonEmptyString(kdf.name, "$.kdf.name");
    cipherName = asNonEmptyString(cipher.name, "$.cipher.name");
    n = asSafeInteger(params.N, "$.kdf.params.N");
    r = asSafeInteger(params.r, "$.kdf.params.r");
    p = asSafeInteger(params.p, "$.kdf.params.p");
    salt = fromBase64(asNonEmptyString(kdf.salt, "$.kdf.salt"));
    nonce = fromBase64(asNonEmptyString(cipher.nonce, "$.cipher.nonce"));
    ciphertext = fromBase64(asNonEmptyString(root.ciphertext, "$.ciphertext"));
  } catch (cause) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid encrypted private key: ${errorMessage(cause)}`,
      {
        cause,
      },
    );
  }
  if (kdfName !== "scrypt") {
    throw new CosignError("KEY_UNSUPPORTED", `Unsupported key derivation function "${kdfName}"`);
  }
  if (cipherName !== "nacl/secretbox") {
    throw new CosignError("KEY_UNSUPPORTED", `Unsupported cipher "${cipherName}"`);
  }
  // Only known parameter sets: they bound scrypt's time and memory (SECURITY.md rule 4).
  if (r !== SCRYPT_R || p !== SCRYPT_P || !acceptN.includes(n)) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid encrypted private key: unsupported scrypt parameters "N=${n}, r=${r}, p=${p}"`,
    );
  }
  if (nonce.length !== NONCE_SIZE) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid encrypted private key: the nonce is ${nonce.length} bytes, not ${NONCE_SIZE}`,
    );
  }
  if (ciphertext.length < TAG_SIZE) {
    throw new CosignError(
      "KEY_MALFORMED",
      "Invalid encrypted private key: the ciphertext is shorter than its authentication tag",
    );
  }
  return { n, salt, nonce, ciphertext };
}

function scryptOptions(n: number) {
  // OpenSSL refuses more than 32 MiB by default; scrypt needs about 128*N*r*p bytes.
  return { N: n, r: SCRYPT_R, p: SCRYPT_P, maxmem: 2 * 128 * n * SCRYPT_R * SCRYPT_P };
}

function passwordBytes(password: Password): Buffer {
  return Buffer.from(typeof password === "string" ? utf8(password) : password);
}

function takeRandom(random: RandomSource, length: number, what: string): Bytes {
  const bytes = random(length);
  if (bytes.length !== length) {
    throw new RangeError(
      `The random source gave ${bytes.length} bytes for the ${what}, not ${length}`,
    );
  }
  return toBytes(bytes);
}

/** SEC1 `ECPrivateKey` starts with version 1 then an OCTET STRING; PKCS#8 with 0 or 1 then a
 * SEQUENCE (RFC 5915 section 3, RFC 5958 section 2). */
function isSec1(der: Uint8Array): boolean {
  try {
    const [version, second] = children(parseDer(der), TAG.SEQUENCE);
    return version?.tag === TAG.INTEGER && version.value.length === 1 &&
      version.value[0] === 1 && second?.tag === TAG.OCTET_STRING;
  } catch {
    return false;
  }
}
