/**
 * Private keys: generate, import and export them, and sign with them (cosign-spec.md section 4).
 *
 * Import accepts what `cosign import-key-pair` accepts (section 4.2): PEM `RSA PRIVATE KEY`
 * (PKCS#1), `EC PRIVATE KEY` (SEC1) and `PRIVATE KEY` (PKCS#8, including the RFC 8410 v2
 * `OneAsymmetricKey` form with the public key attached), for RSA 2048 to 4096 bits, ECDSA
 * P-256/384/521 and Ed25519, and refuses the rest with cosign's reasons. Keys are parsed here
 * rather than by WebCrypto, so the public key is always derived from the private one (and an
 * attached public key that does not match is refused), and every key is re-encoded as the
 * PKCS#8 Go's `x509.MarshalPKCS8PrivateKey` writes, which is what cosign encrypts.
 *
 * Signing uses WebCrypto (ECDSA output converted to DER, section 4.3); digest-only inputs use
 * `@noble/curves` for ECDSA and OpenSSL's raw RSA operation for PKCS#1 v1.5, since WebCrypto
 * cannot sign a precomputed digest.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { constants, createPrivateKey, type KeyObject, privateEncrypt } from "node:crypto";
import { ed25519ph } from "../_deps/curves.ts";
import { type Bytes, concat, digestLength, type HashName, toBytes } from "../util/bytes.ts";
import {
  type Curve,
  CURVES,
  type ParsedKey,
  parseKey,
  type PrivateKeyFormat,
} from "./_private_key_der.ts";
import { decodePem, encodePem } from "../util/pem.ts";
import { ecdsaRawToDer, type KeyKind, PublicKey, type Signer } from "./public_key.ts";
import { CosignError, errorMessage } from "../errors.ts";

/** DER encodings of a private key: `pkcs8`, `sec1` (`EC PRIVATE KEY`), `pkcs1` (RSA). */
export type { PrivateKeyFormat };

/** Largest key file or key PEM we read (SECURITY.md rule 4); real keys are under 5 KiB. */
export const MAX_KEY_FILE_SIZE = 64 * 1024;

const WEBCRYPTO_HASH: Record<HashName, string> = {
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

// DigestInfo prefixes for PKCS#1 v1.5 (RFC 8017 section 9.2, note 1).
const DIGEST_INFO_PREFIX: Record<HashName, string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

/** Options of `PrivateKey.sign`. */
export interface SignOptions {
  /** Hash for ECDSA and RSA; default the key's default hash (section 4.3); pure Ed25519 has none. */
  hash?: HashName;
  /** Ed25519 only: sign as Ed25519ph (RFC 8032 section 5.1, SHA-512 prehash) instead of pure. */
  prehash?: boolean;
}

/**
 * A private key in memory: a `Signer` for cosign signatures. Get one from `generateKeyPair`,
 * `importPrivateKeyPem` or `decryptPrivateKey`.
 *
 * @example Sign bytes and check the signature with the public key
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, verifySignature } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair({ kind: "ecdsa-p384" });
 * const data = new TextEncoder().encode("payload");
 * const signature = await key.sign(data); // DER ECDSA over SHA-384, the P-384 default
 * assert.ok(await verifySignature(key.publicKey, data, signature));
 * assert.match(key.toPem(), /^-----BEGIN PRIVATE KEY-----/); // unencrypted PKCS#8
 * ```
 */
export class PrivateKey implements Signer {
  /** The key type. */
  readonly kind: KeyKind;
  /** The matching public key, derived from the private key. */
  readonly publicKey: PublicKey;
  readonly #pkcs8: Bytes;
  /** The ECDSA scalar (left-padded to the field size) or the Ed25519 seed; empty for RSA. */
  readonly #secret: Bytes;
  readonly #curve: Curve | undefined;
  readonly #cryptoKeys = new Map<string, Promise<CryptoKey>>();
  #nodeKey: KeyObject | undefined;

  private constructor(parsed: ParsedKey) {
    this.kind = parsed.kind;
    this.publicKey = PublicKey.fromSpki(parsed.spki);
    this.#pkcs8 = parsed.pkcs8;
    this.#secret = parsed.secret;
    this.#curve = parsed.curve;
  }

  /**
   * Import a DER private key. The key is checked by WebCrypto before it is returned, so a key
   * that would fail at signing time fails here.
   */
  static async fromDer(der: Uint8Array, format: PrivateKeyFormat): Promise<PrivateKey> {
    if (der.length > MAX_KEY_FILE_SIZE) {
      throw new CosignError(
        "KEY_MALFORMED",
        `Invalid private key: larger than ${MAX_KEY_FILE_SIZE} bytes`,
      );
    }
    const parsed = parseKey(toBytes(der), format);
    let key: PrivateKey;
    try {
      key = new PrivateKey(parsed);
      await key.#cryptoKey(key.publicKey.defaultHash);
    } catch (cause) {
      if (cause instanceof CosignError) throw cause;
      throw new CosignError("KEY_MALFORMED", `Invalid private key: ${errorMessage(cause)}`, {
        cause,
      });
    }
    return key;
  }

  /**
   * Sign `data`. ECDSA signatures are ASN.1 DER (what cosign writes), RSA is PKCS#1 v1.5,
   * Ed25519 is pure unless `prehash: true` asks for Ed25519ph (cosign uses it with Rekor).
   */
  async sign(data: Uint8Array, options: SignOptions = {}): Promise<Bytes> {
    const hash = options.hash ?? this.publicKey.defaultHash;
    if (this.kind === "ed25519") {
      if (options.prehash) {
        if (options.hash && options.hash !== "sha512") {
          throw new RangeError(`Ed25519ph hashes with "sha512", not "${options.hash}"`);
        }
        return toBytes(ed25519ph.sign(data, this.#secret));
      }
      const key = await this.#cryptoKey(hash);
      return new Uint8Array(await crypto.subtle.sign("Ed25519", key, data as Bytes));
    }
    const key = await this.#cryptoKey(hash);
    if (this.kind === "rsa") {
      return new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data as Bytes));
    }
    const raw = await crypto.subtle.sign(
      { name: "ECDSA", hash: WEBCRYPTO_HASH[hash] },
      key,
      data as Bytes,
    );
    return ecdsaRawToDer(new Uint8Array(raw));
  }

  /**
   * Sign a precomputed digest (`digest` = `hash`(message)), for huge blobs and digest-only
   * inputs. ECDSA (DER output) and RSA PKCS#1 v1.5 only: Ed25519 signs messages, not digests.
   */
  signPrehashed(digest: Uint8Array, hash: HashName): Bytes {
    if (digest.length !== digestLength(hash)) {
      throw new RangeError(
        `A "${hash}" digest is ${digestLength(hash)} bytes, got ${digest.length}`,
      );
    }
    if (this.#curve) {
      return toBytes(
        this.#curve.noble.sign(digest, this.#secret, { prehash: false, format: "der" }),
      );
    }
    if (this.kind === "rsa") {
      // RSASSA-PKCS1-v1_5 is the private-key operation on EMSA-PKCS1-v1_5(DigestInfo)
      // (RFC 8017 section 8.2.1); OpenSSL's PKCS#1 type-1 padding builds exactly that block.
      this.#nodeKey ??= createPrivateKey({
        key: Buffer.from(this.#pkcs8),
        format: "der",
        type: "pkcs8",
      });
      const digestInfo = concat(Uint8Array.fromHex(DIGEST_INFO_PREFIX[hash]), digest);
      return toBytes(
        privateEncrypt({ key: this.#nodeKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo),
      );
    }
    throw new CosignError(
      "KEY_UNSUPPORTED",
      "Cannot sign a digest with an Ed25519 key: sign the message (prehash: true for Ed25519ph)",
    );
  }

  /** The key as PKCS#8 DER, as Go's `x509.MarshalPKCS8PrivateKey` writes it. */
  toPkcs8(): Bytes {
    return toBytes(this.#pkcs8);
  }

  /** The key as an unencrypted `PRIVATE KEY` PEM (PKCS#8). */
  toPem(): string {
    return encodePem("PRIVATE KEY", this.#pkcs8);
  }

  #cryptoKey(hash: HashName): Promise<CryptoKey> {
    const cacheKey = this.kind === "ed25519" ? "ed25519" : hash;
    let key = this.#cryptoKeys.get(cacheKey);
    if (!key) {
      const algorithm = this.#curve
        ? { name: "ECDSA", namedCurve: this.#curve.name }
        : this.kind === "ed25519"
        ? { name: "Ed25519" }
        : { name: "RSASSA-PKCS1-v1_5", hash: WEBCRYPTO_HASH[hash] };
      key = crypto.subtle.importKey("pkcs8", this.#pkcs8, algorithm, false, ["sign"]);
      this.#cryptoKeys.set(cacheKey, key);
    }
    return key;
  }
}

/** Options of `generateKeyPair`. */
export interface GenerateOptions {
  /** Key type; default `ecdsa-p256`, as `cosign generate-key-pair`. */
  kind?: KeyKind;
  /** RSA modulus size: 2048 (default), 3072 or 4096. */
  rsaBits?: 2048 | 3072 | 4096;
}

/**
 * Generate a fresh key pair (section 4.1).
 *
 * @example A cosign key pair: `cosign.key` (encrypted) and `cosign.pub`
 * ```ts
 * import assert from "node:assert/strict";
 * import { encryptPrivateKey, generateKeyPair } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair(); // ECDSA P-256, as `cosign generate-key-pair`
 * assert.equal(key.kind, "ecdsa-p256");
 * const cosignKey = encryptPrivateKey(key, "a strong password");
 * const cosignPub = key.publicKey.toPem();
 * assert.match(cosignKey, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
 * assert.match(cosignPub, /^-----BEGIN PUBLIC KEY-----/);
 * ```
 *
 * @example Other key types
 * ```ts
 * import { generateKeyPair } from "@dcosign/dcosign";
 *
 * const ed25519 = await generateKeyPair({ kind: "ed25519" });
 * const rsa = await generateKeyPair({ kind: "rsa" }); // 2048 bits unless rsaBits says more
 * console.log(ed25519.publicKey.kind, rsa.publicKey.rsaBits); // "ed25519" 2048
 * ```
 */
export async function generateKeyPair(options: GenerateOptions = {}): Promise<PrivateKey> {
  const kind = options.kind ?? "ecdsa-p256";
  let algorithm: RsaHashedKeyGenParams | EcKeyGenParams | Algorithm;
  if (kind === "rsa") {
    const bits = options.rsaBits ?? 2048;
    if (![2048, 3072, 4096].includes(bits)) {
      throw new RangeError(`Unsupported RSA key size "${bits}"`);
    }
    algorithm = {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: Uint8Array.of(1, 0, 1),
      hash: "SHA-256",
    };
  } else if (kind === "ed25519") {
    algorithm = { name: "Ed25519" };
  } else {
    const curve = Object.values(CURVES).find((c) => c.kind === kind);
    if (!curve) throw new RangeError(`Unknown key kind "${kind}"`);
    algorithm = { name: "ECDSA", namedCurve: curve.name };
  }
  const pair = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  if (!("privateKey" in pair)) throw new TypeError("WebCrypto returned a secret key");
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return await PrivateKey.fromDer(pkcs8, "pkcs8");
}

const PEM_FORMATS: Record<string, PrivateKeyFormat> = {
  "RSA PRIVATE KEY": "pkcs1",
  "EC PRIVATE KEY": "sec1",
  "PRIVATE KEY": "pkcs8",
};

/**
 * Import an unencrypted private key PEM, as `cosign import-key-pair` does (section 4.2).
 * Malformed input raises `KEY_MALFORMED` ("invalid pem block" for unreadable armour); a public
 * key, another PEM type, or a key size or curve cosign refuses raises `KEY_UNSUPPORTED`.
 *
 * @example Import a key another tool made (here node:crypto, as OpenSSL writes SEC1)
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPairSync } from "node:crypto";
 * import { importPrivateKeyPem, PublicKey } from "@dcosign/dcosign";
 *
 * const pair = generateKeyPairSync("ec", {
 *   namedCurve: "P-384",
 *   privateKeyEncoding: { type: "sec1", format: "pem" }, // "EC PRIVATE KEY"
 *   publicKeyEncoding: { type: "spki", format: "pem" },
 * });
 * const key = await importPrivateKeyPem(pair.privateKey);
 * assert.equal(key.kind, "ecdsa-p384");
 * assert.ok(key.publicKey.equals(PublicKey.fromPem(pair.publicKey)));
 * ```
 */
export async function importPrivateKeyPem(pem: string): Promise<PrivateKey> {
  if (pem.length > MAX_KEY_FILE_SIZE) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid private key: larger than ${MAX_KEY_FILE_SIZE} bytes`,
    );
  }
  let block;
  try {
    block = decodePem(pem);
  } catch (cause) {
    throw new CosignError("KEY_MALFORMED", `Invalid PEM block: ${errorMessage(cause)}`, { cause });
  }
  const format = PEM_FORMATS[block.type];
  if (!format) {
    throw new CosignError(
      "KEY_UNSUPPORTED",
      `Unsupported private key: PEM type "${block.type}" is not one of ${
        Object.keys(PEM_FORMATS).map((t) => `"${t}"`).join(", ")
      }`,
    );
  }
  // RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`) mean OpenSSL's legacy PEM encryption, which
  // cosign does not read either: say so rather than fail on the ciphertext as DER.
  if (Object.keys(block.headers).length > 0) {
    throw new CosignError(
      "KEY_UNSUPPORTED",
      "Unsupported private key: PEM headers (legacy OpenSSL PEM encryption) are not supported",
    );
  }
  return await PrivateKey.fromDer(block.bytes, format);
}
