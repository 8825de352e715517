/**
 * Public keys and signature verification (cosign-spec.md section 4.3).
 *
 * A `PublicKey` wraps a DER SubjectPublicKeyInfo and caches its WebCrypto keys (import is the
 * expensive part of a verify). ECDSA signatures are ASN.1 DER on the wire, and only DER (the one
 * encoding: lib/util/der.ts `ecdsaDerToRaw`); WebCrypto wants raw `r||s`, so `verifySignature`
 * converts.
 * Digest-only inputs (`verifyPrehashed`) use pure-JS curves, since WebCrypto cannot verify a
 * precomputed digest; those load on first use (`import()`), so a verification that has the
 * message bytes never parses them.
 *
 * @module
 */

import { isOnCurve } from "./_ec_point.ts";
import { OID } from "../x509/oids.ts";
import {
  type Bytes,
  concat,
  digestLength,
  equalBytes,
  type HashName,
  sha256,
} from "../util/bytes.ts";
import {
  at,
  children,
  ecdsaDerToRaw,
  ecdsaRawToDer,
  parseDer,
  readBitString,
  readInteger,
  readOid,
  readUnsignedIntegerBytes,
  TAG,
} from "../util/der.ts";
import { decodePem, encodePem } from "../util/pem.ts";
import { CosignError } from "../errors.ts";

/** Key types cosign accepts (cosign-spec.md section 4.2). */
export type KeyKind = "ecdsa-p256" | "ecdsa-p384" | "ecdsa-p521" | "rsa" | "ed25519";

/** Error codes raised by key handling. */
export type KeyErrorCode =
  | "KEY_MALFORMED"
  | "KEY_UNSUPPORTED"
  | "KEY_WEAK"
  | "KEY_WRONG_PASSWORD"
  | "KEY_MISMATCH";

const CURVES = {
  [OID.P256]: { kind: "ecdsa-p256", curve: "P-256", size: 32, hash: "sha256", noble: "p256" },
  [OID.P384]: { kind: "ecdsa-p384", curve: "P-384", size: 48, hash: "sha384", noble: "p384" },
  [OID.P521]: { kind: "ecdsa-p521", curve: "P-521", size: 66, hash: "sha512", noble: "p521" },
} as const;

type Curve = (typeof CURVES)[keyof typeof CURVES];

const WEBCRYPTO_HASH: Record<HashName, string> = {
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

/** The pure-JS curves, loaded on first use. */
function nobleCurves(): Promise<typeof import("../_deps/curves.ts")> {
  return import("../_deps/curves.ts");
}

/** The curve name of a key, for prehashed ECDSA; set by `PublicKey`'s static block. */
let nobleCurveOf: (key: PublicKey) => Curve["noble"] | undefined;

/**
 * A parsed public key; compare keys by `spki` bytes.
 *
 * @example Read `cosign.pub`, compare keys, compute the key hint
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, PublicKey } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const pem = key.publicKey.toPem(); // what `cosign.pub` holds
 * const publicKey = PublicKey.fromPem(pem);
 * assert.ok(publicKey.equals(key.publicKey));
 * assert.equal(publicKey.kind, "ecdsa-p256");
 * assert.equal(publicKey.defaultHash, "sha256");
 * console.log(publicKey.fingerprint().toHex()); // SHA-256 of the SPKI: the Rekor log ID form
 * ```
 */
export class PublicKey {
  /** The key type. */
  readonly kind: KeyKind;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Bytes;
  /** The raw key: the uncompressed EC point, the 32 Ed25519 bytes, or the RSA `RSAPublicKey`. */
  readonly rawKey: Bytes;
  /** RSA modulus length in bits (0 for other keys). */
  readonly rsaBits: number;
  readonly #curve: Curve | undefined;
  readonly #cryptoKeys = new Map<string, Promise<CryptoKey>>();

  private constructor(kind: KeyKind, spki: Bytes, rawKey: Bytes, rsaBits: number, curve?: Curve) {
    this.kind = kind;
    this.spki = spki;
    this.rawKey = rawKey;
    this.rsaBits = rsaBits;
    this.#curve = curve;
  }

  /**
   * Parse a DER SubjectPublicKeyInfo: the one place every key enters (`--key`, certificates,
   * trusted roots, imported private keys). Unsupported algorithms raise `KEY_UNSUPPORTED`, weak
   * RSA keys `KEY_WEAK`, an EC point off its curve (or at infinity) `KEY_MALFORMED`.
   * `inspectOnly` admits weak RSA keys for reading a certificate, never for verifying with it:
   * only Rego's `crypto.x509.parse_certificates` asks for it.
   */
  static fromSpki(spki: Uint8Array, options: { readonly inspectOnly?: boolean } = {}): PublicKey {
    const copy = Uint8Array.from(spki) as Bytes;
    let parts;
    try {
      parts = children(parseDer(copy), TAG.SEQUENCE);
      const algorithm = children(at(parts, 0, "algorithm"), TAG.SEQUENCE);
      const oid = readOid(at(algorithm, 0, "algorithm OID"));
      const rawKey = readBitString(at(parts, 1, "subjectPublicKey"));
      if (oid === OID.EC_PUBLIC_KEY) {
        const curveOid = readOid(at(algorithm, 1, "curve"));
        const curve = CURVES[curveOid as keyof typeof CURVES];
        if (!curve) {
          throw new CosignError("KEY_UNSUPPORTED", `Unsupported elliptic curve "${curveOid}"`);
        }
        if (rawKey.length !== 1 + 2 * curve.size || rawKey[0] !== 4) {
          throw new SyntaxError("EC public key is not an uncompressed point");
        }
        // SEC 1 section 3.2.2.1: on the curve, coordinates below p, not the point at infinity.
        if (!isOnCurve(curve.curve, rawKey, curve.size)) {
          throw new SyntaxError(`EC public key is not a point of ${curve.curve}`);
        }
        return new PublicKey(curve.kind, copy, rawKey, 0, curve);
      }
      if (oid === OID.ED25519) {
        if (rawKey.length !== 32) throw new SyntaxError("Ed25519 public key is not 32 bytes");
        return new PublicKey("ed25519", copy, rawKey, 0);
      }
      if (oid === OID.RSA) {
        const rsa = children(parseDer(rawKey), TAG.SEQUENCE);
        if (rsa.length !== 2) throw new SyntaxError("RSAPublicKey needs 2 fields");
        const modulus = readUnsignedIntegerBytes(at(rsa, 0, "modulus"));
        if (!options.inspectOnly) {
          checkRsaStrength(bitLength(modulus), readInteger(at(rsa, 1, "exponent")));
        }
        return new PublicKey("rsa", copy, rawKey, bitLength(modulus));
      }
      throw new CosignError("KEY_UNSUPPORTED", `Unsupported public key algorithm "${oid}"`);
    } catch (error) {
      if (error instanceof CosignError) throw error;
      throw new CosignError("KEY_MALFORMED", `Invalid public key: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  /** Parse a `PUBLIC KEY` PEM (PKIX). */
  static fromPem(pem: string): PublicKey {
    let der: Bytes;
    try {
      der = decodePem(pem, ["PUBLIC KEY"]).bytes;
    } catch (cause) {
      throw new CosignError(
        "KEY_MALFORMED",
        `Invalid public key PEM: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    return PublicKey.fromSpki(der);
  }

  /** The key as a `PUBLIC KEY` PEM, as cosign writes `cosign.pub`. */
  toPem(): string {
    return encodePem("PUBLIC KEY", this.spki);
  }

  /** SHA-256 of the SPKI: the Rekor log ID form, and cosign's `publicKey.hint`. */
  fingerprint(): Bytes {
    return sha256(this.spki);
  }

  /** True when both keys have the same SPKI bytes. */
  equals(other: PublicKey): boolean {
    return equalBytes(this.spki, other.spki);
  }

  /** The default hash cosign uses with this key (section 4.3). */
  get defaultHash(): HashName {
    return this.#curve?.hash ?? (this.kind === "ed25519" ? "sha512" : "sha256");
  }

  /** ECDSA field size in bytes (0 for other keys). */
  get curveSize(): number {
    return this.#curve?.size ?? 0;
  }

  /** The WebCrypto key for `hash` (cached). */
  cryptoKey(hash: HashName): Promise<CryptoKey> {
    const cacheKey = this.kind === "ed25519" ? "ed25519" : hash;
    let key = this.#cryptoKeys.get(cacheKey);
    if (!key) {
      const algorithm = this.#curve
        ? { name: "ECDSA", namedCurve: this.#curve.curve }
        : this.kind === "ed25519"
        ? { name: "Ed25519" }
        : { name: "RSASSA-PKCS1-v1_5", hash: WEBCRYPTO_HASH[hash] };
      key = crypto.subtle.importKey("spki", this.spki, algorithm, false, ["verify"]);
      this.#cryptoKeys.set(cacheKey, key);
    }
    return key;
  }

  static {
    // verifyPrehashed needs the curve implementation; reading it through this module-private
    // accessor keeps the third-party curve type out of the public class.
    nobleCurveOf = (key) => key.#curve?.noble;
  }
}

/** Smallest RSA modulus accepted anywhere a key enters (NIST SP 800-131A; cosign's floor). */
export const RSA_MIN_BITS = 2048;
/** Largest RSA modulus accepted: bounds the cost of one verification (SECURITY.md rule 4). */
export const RSA_MAX_BITS = 8192;
/** The one RSA public exponent accepted (Go's crypto/rsa and Sigstore's algorithm registry). */
export const RSA_EXPONENT = 65537n;

/**
 * Refuse a weak RSA key with `KEY_WEAK`: a modulus under `RSA_MIN_BITS` (or over
 * `RSA_MAX_BITS`), or an exponent other than 65537 (an exponent of 1 makes every message its
 * own signature).
 */
function checkRsaStrength(bits: number, exponent: bigint): void {
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
    throw new CosignError(
      "KEY_WEAK",
      `Refusing a ${bits}-bit RSA key: the modulus must have ${RSA_MIN_BITS} to ${RSA_MAX_BITS} bits`,
    );
  }
  if (exponent !== RSA_EXPONENT) {
    throw new CosignError(
      "KEY_WEAK",
      `Refusing an RSA key with public exponent ${
        exponent.toString().slice(0, 20)
      }: only ${RSA_EXPONENT} is accepted`,
    );
  }
}

function bitLength(magnitude: Uint8Array): number {
  if (magnitude.length === 0) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}

/** Options of `verifySignature`. */
export interface VerifyOptions {
  /** Hash to use; default: the key's default hash (section 4.3). Ignored for Ed25519. */
  hash?: HashName;
}

/**
 * Verify `signature` over `data` with `key`. Returns false for a signature that does not verify
 * or cannot be decoded; never throws on attacker-supplied signature bytes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, verifySignature } from "@dcosign/dcosign";
 *
 * const key = await generateKeyPair();
 * const data = new TextEncoder().encode("payload");
 * const signature = await key.sign(data);
 * assert.equal(await verifySignature(key.publicKey, data, signature), true);
 * assert.equal(await verifySignature(key.publicKey, data, signature.subarray(1)), false);
 * const other = new TextEncoder().encode("other");
 * assert.equal(await verifySignature(key.publicKey, other, signature), false);
 * ```
 */
export async function verifySignature(
  key: PublicKey,
  data: Uint8Array,
  signature: Uint8Array,
  options: VerifyOptions = {},
): Promise<boolean> {
  const hash = options.hash ?? key.defaultHash;
  try {
    const cryptoKey = await key.cryptoKey(hash);
    if (key.kind === "ed25519") {
      if (signature.length !== 64) return false;
      return await crypto.subtle.verify("Ed25519", cryptoKey, signature as Bytes, data as Bytes);
    }
    if (key.kind === "rsa") {
      return await crypto.subtle.verify(
        "RSASSA-PKCS1-v1_5",
        cryptoKey,
        signature as Bytes,
        data as Bytes,
      );
    }
    const raw = ecdsaSignatureToRaw(signature, key.curveSize);
    if (!raw) return false;
    return await crypto.subtle.verify(
      { name: "ECDSA", hash: WEBCRYPTO_HASH[hash] },
      cryptoKey,
      raw,
      data as Bytes,
    );
  } catch {
    return false;
  }
}

/**
 * Verify a signature over a precomputed digest (`digest` = H(message)). ECDSA uses pure-JS
 * curves; RSA PKCS#1 v1.5 is checked by modular exponentiation; Ed25519 only in its prehashed
 * form (Ed25519ph, where the digest is SHA-512 of the message).
 */
export async function verifyPrehashed(
  key: PublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
  hash: HashName,
): Promise<boolean> {
  if (digest.length !== digestLength(hash)) return false;
  const name = nobleCurveOf(key);
  const curve = name ? (await nobleCurves())[name] : undefined;
  try {
    if (curve) {
      const raw = ecdsaSignatureToRaw(signature, key.curveSize);
      if (!raw) return false;
      return curve.verify(raw, digest, key.rawKey, {
        prehash: false,
        lowS: false,
        format: "compact",
      });
    }
    if (key.kind === "rsa") return verifyRsaPkcs1Prehashed(key, digest, signature, hash);
    return false;
  } catch {
    return false;
  }
}

/** Verify an Ed25519ph signature over a message (cosign uses it for Ed25519 keys with Rekor). */
export async function verifyEd25519ph(
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (key.kind !== "ed25519" || signature.length !== 64) return false;
  const { ed25519ph } = await nobleCurves();
  try {
    return ed25519ph.verify(signature, message, key.rawKey);
  } catch {
    return false;
  }
}

// DigestInfo prefixes for PKCS#1 v1.5 (RFC 8017 section 9.2, note 1).
const DIGEST_INFO_PREFIX: Record<HashName, string> = {
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

function verifyRsaPkcs1Prehashed(
  key: PublicKey,
  digest: Uint8Array,
  signature: Uint8Array,
  hash: HashName,
): boolean {
  const rsa = children(parseDer(key.rawKey), TAG.SEQUENCE);
  const modulusBytes = readUnsignedIntegerBytes(at(rsa, 0, "modulus"));
  const n = toBigInt(modulusBytes);
  const e = readInteger(at(rsa, 1, "exponent"));
  const k = modulusBytes.length;
  if (signature.length !== k) return false;
  const s = toBigInt(signature);
  if (s >= n) return false;
  const m = modPow(s, e, n);
  const em = Uint8Array.fromHex(m.toString(16).padStart(k * 2, "0"));
  const t = concat(Uint8Array.fromHex(DIGEST_INFO_PREFIX[hash]), digest);
  if (k < t.length + 11) return false;
  const expected = new Uint8Array(k);
  expected[1] = 1;
  expected.fill(0xff, 2, k - t.length - 1);
  expected.set(t, k - t.length);
  return equalBytes(em, expected);
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toHex()}`);
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  base %= modulus;
  while (exponent > 0n) {
    if (exponent & 1n) result = (result * base) % modulus;
    exponent >>= 1n;
    base = (base * base) % modulus;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// ECDSA signature encodings (cosign-spec.md section 12, gotcha 11)

/**
 * An ECDSA signature as raw `r||s` of `size`-byte halves, from strict DER `SEQUENCE{r,s}`
 * (`ecdsaDerToRaw`); undefined for anything else, a raw `r||s` or a BER form included.
 */
export function ecdsaSignatureToRaw(signature: Uint8Array, size: number): Bytes | undefined {
  try {
    return ecdsaDerToRaw(signature, size);
  } catch {
    return undefined;
  }
}

export { ecdsaRawToDer };

// ---------------------------------------------------------------------------------------------
// Signing

/** Something that signs: a key in memory (or later a KMS or token). */
export interface Signer {
  /** The matching public key. */
  readonly publicKey: PublicKey;
  /**
   * Sign `data` (hashed with `hash`, default the key's default hash). ECDSA signatures are DER,
   * Ed25519 signatures are pure Ed25519 unless `prehash: true` asks for Ed25519ph.
   */
  sign(data: Uint8Array, options?: { hash?: HashName; prehash?: boolean }): Promise<Bytes>;
}
