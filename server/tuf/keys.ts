/**
 * Signing keys of the embedded TUF repository: Ed25519 (key type `ed25519`, hex public key) or
 * ECDSA P-256 (key type `ecdsa`, scheme `ecdsa-sha2-nistp256`, PEM public key, DER signatures,
 * as Sigstore's root-signing uses), held as WebCrypto keys with their PKCS#8 for persistence.
 * Key IDs are the SHA-256 of the canonical JSON of the public key object, as securesystemslib
 * computes them, so tuf-js, go-tuf and python-tuf read the metadata as their own.
 *
 * @module
 */

import { encodeTufCanonicalJson } from "../../lib/trust/tuf/canonical_json.ts";
import { ecdsaRawToDer } from "../../lib/util/der.ts";

/** The key types the repository can generate. */
export type TufSigningKeyType = "ed25519" | "ecdsa-p256";

/** A public key as it appears in TUF metadata. */
export interface TufPublicKeyJson {
  /** `ed25519` or `ecdsa`. */
  readonly keytype: string;
  /** `ed25519` or `ecdsa-sha2-nistp256`. */
  readonly scheme: string;
  /** The public key: hex (Ed25519) or PEM (ECDSA). */
  readonly keyval: { readonly public: string };
}

function sha256Hex(data: Uint8Array): Promise<string> {
  return crypto.subtle.digest("SHA-256", Uint8Array.from(data)).then((d) =>
    new Uint8Array(d).toHex()
  );
}

/** ECDSA `r||s` (WebCrypto) as a DER ECDSA-Sig-Value: the library's one encoder. */
export { ecdsaRawToDer };

function pem(spki: Uint8Array): string {
  const lines = spki.toBase64().match(/.{1,64}/g) ?? [];
  return `-----BEGIN PUBLIC KEY-----\n${lines.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

/**
 * One TUF signing key.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TufSigningKey } from "./keys.ts";
 *
 * const key = await TufSigningKey.generate("ed25519");
 * assert.equal(key.keyid.length, 64);
 * assert.equal(key.publicKey.keytype, "ed25519");
 * ```
 */
export class TufSigningKey {
  /** The key type. */
  readonly type: TufSigningKeyType;
  /** The key ID: hex SHA-256 of the canonical public key object. */
  readonly keyid: string;
  /** The public key as TUF metadata lists it. */
  readonly publicKey: TufPublicKeyJson;
  /** PKCS#8 DER of the private key. */
  readonly pkcs8: Uint8Array<ArrayBuffer>;
  readonly #key: CryptoKey;

  private constructor(
    type: TufSigningKeyType,
    keyid: string,
    publicKey: TufPublicKeyJson,
    pkcs8: Uint8Array<ArrayBuffer>,
    key: CryptoKey,
  ) {
    this.type = type;
    this.keyid = keyid;
    this.publicKey = publicKey;
    this.pkcs8 = pkcs8;
    this.#key = key;
  }

  /** A fresh key of `type`. */
  static async generate(type: TufSigningKeyType): Promise<TufSigningKey> {
    const algorithm = type === "ed25519"
      ? { name: "Ed25519" }
      : { name: "ECDSA", namedCurve: "P-256" };
    const pair = await crypto.subtle.generateKey(algorithm, true, [
      "sign",
      "verify",
    ]) as CryptoKeyPair;
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    return await TufSigningKey.fromPkcs8(type, pkcs8);
  }

  /** The key of `type` stored as PKCS#8 DER. */
  static async fromPkcs8(type: TufSigningKeyType, pkcs8: Uint8Array): Promise<TufSigningKey> {
    const der = Uint8Array.from(pkcs8);
    const algorithm = type === "ed25519"
      ? { name: "Ed25519" }
      : { name: "ECDSA", namedCurve: "P-256" };
    const key = await crypto.subtle.importKey("pkcs8", der, algorithm, true, ["sign"]);
    // WebCrypto derives the public half through a JWK export of the private key.
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key);
    let publicKey: TufPublicKeyJson;
    if (type === "ed25519") {
      if (kty !== "OKP" || x === undefined) throw new TypeError("Not an Ed25519 key");
      const raw = Uint8Array.fromBase64(x, { alphabet: "base64url" });
      publicKey = { keytype: "ed25519", scheme: "ed25519", keyval: { public: raw.toHex() } };
    } else {
      if (kty !== "EC" || crv !== "P-256" || !x || !y) throw new TypeError("Not a P-256 key");
      const verifier = await crypto.subtle.importKey(
        "jwk",
        { kty, crv, x, y, ext: true },
        algorithm,
        true,
        ["verify"],
      );
      const spki = new Uint8Array(await crypto.subtle.exportKey("spki", verifier));
      publicKey = {
        keytype: "ecdsa",
        scheme: "ecdsa-sha2-nistp256",
        keyval: { public: pem(spki) },
      };
    }
    const keyid = await sha256Hex(encodeTufCanonicalJson(publicKey));
    return new TufSigningKey(type, keyid, publicKey, der, key);
  }

  /** The hex signature of `data` (Ed25519, or DER ECDSA with SHA-256). */
  async sign(data: Uint8Array): Promise<string> {
    const bytes = Uint8Array.from(data);
    if (this.type === "ed25519") {
      return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, this.#key, bytes))
        .toHex();
    }
    const raw = new Uint8Array(
      await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, this.#key, bytes),
    );
    return ecdsaRawToDer(raw).toHex();
  }
}
