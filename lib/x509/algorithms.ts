/**
 * Signatures named by an AlgorithmIdentifier (RFC 5280 section 4.1.1.2, RFC 5652 section 5.3):
 * ECDSA and RSA PKCS#1 v1.5 with SHA-2 (RFC 5758 section 3.2, RFC 4055 section 5), RSASSA-PSS
 * with its parameters (RFC 4055 section 3.1) and Ed25519 (RFC 8410 section 3), as certificates,
 * CRLs and CMS SignerInfos use them. The algorithm must fit the key; anything else is
 * `X509_UNSUPPORTED_ALGORITHM`, never a silent false. Chains are `lib/x509/chain.ts`.
 *
 * @module
 */

import { hashFromOid, OID } from "./oids.ts";
import type { Bytes, HashName } from "../util/bytes.ts";
import { at, children, contextTag, parseDer, readOid, readSmallInteger, TAG } from "../util/der.ts";
import { CosignError } from "../errors.ts";
import { type PublicKey, verifySignature } from "../keys/public_key.ts";

/** Error codes raised here. */
export type X509AlgorithmErrorCode = "X509_UNSUPPORTED_ALGORITHM";

// RFC 5758 section 3.2, RFC 4055 section 5 and 3.1, RFC 8410 section 3.
const SIGNATURE_ALGORITHMS: Readonly<
  Record<string, { family: "ecdsa" | "rsa" | "rsa-pss" | "ed25519"; hash?: HashName }>
> = {
  [OID.ECDSA_SHA256]: { family: "ecdsa", hash: "sha256" },
  [OID.ECDSA_SHA384]: { family: "ecdsa", hash: "sha384" },
  [OID.ECDSA_SHA512]: { family: "ecdsa", hash: "sha512" },
  [OID.RSA_SHA256]: { family: "rsa", hash: "sha256" },
  [OID.RSA_SHA384]: { family: "rsa", hash: "sha384" },
  [OID.RSA_SHA512]: { family: "rsa", hash: "sha512" },
  [OID.RSA_PSS]: { family: "rsa-pss" },
  [OID.ED25519]: { family: "ed25519" },
  // CMS SignerInfo may name the key algorithm and leave the hash to digestAlgorithm (RFC 5652).
  [OID.EC_PUBLIC_KEY]: { family: "ecdsa" },
  [OID.RSA]: { family: "rsa" },
};

const WEBCRYPTO_HASH: Record<HashName, string> = {
  sha256: "SHA-256",
  sha384: "SHA-384",
  sha512: "SHA-512",
};

const pssKeys = new WeakMap<PublicKey, Map<HashName, Promise<CryptoKey>>>();

/**
 * Verify `signature` over `data` with the algorithm an AlgorithmIdentifier names (certificate,
 * CRL or CMS signatures). `digestHash` supplies the hash when the OID names only the key type
 * (CMS `rsaEncryption`/`id-ecPublicKey`). An unknown algorithm, or one that does not fit the key,
 * raises `X509_UNSUPPORTED_ALGORITHM`; a signature that does not verify returns false.
 */
export async function verifyAlgorithmSignature(
  key: PublicKey,
  data: Uint8Array,
  signature: Uint8Array,
  algorithm: { oid: string; parameters?: Uint8Array; digestHash?: HashName },
): Promise<boolean> {
  const entry = SIGNATURE_ALGORITHMS[algorithm.oid];
  const family = key.kind.startsWith("ecdsa") ? "ecdsa" : key.kind;
  const fits = entry &&
    (entry.family === family || (entry.family === "rsa-pss" && family === "rsa"));
  if (!entry || !fits) {
    throw new CosignError(
      "X509_UNSUPPORTED_ALGORITHM",
      `Unsupported signature algorithm "${algorithm.oid}" for a ${key.kind} key`,
    );
  }
  if (entry.family === "ed25519") return await verifySignature(key, data, signature);
  if (entry.family === "rsa-pss") {
    return await verifyPss(key, data, signature, algorithm.parameters);
  }
  const hash = entry.hash ?? algorithm.digestHash;
  if (!hash) {
    throw new CosignError("X509_UNSUPPORTED_ALGORITHM", "Signature algorithm names no hash");
  }
  return await verifySignature(key, data, signature, { hash });
}

/** RSASSA-PSS with SHA-2 and MGF1 over the same hash (RFC 4055 section 3.1). */
async function verifyPss(
  key: PublicKey,
  data: Uint8Array,
  signature: Uint8Array,
  parameters: Uint8Array | undefined,
): Promise<boolean> {
  let hash: HashName | undefined;
  let saltLength = 20;
  try {
    for (const field of children(parseDer(parameters ?? new Uint8Array(0)), TAG.SEQUENCE)) {
      const inner = parseDer(field.value);
      if (field.tag === contextTag(0, true)) {
        hash = hashFromOid(readOid(at(children(inner, TAG.SEQUENCE), 0, "hash")));
      } else if (field.tag === contextTag(1, true)) {
        const mgf = children(inner, TAG.SEQUENCE);
        const mgfHash = hashFromOid(
          readOid(at(children(at(mgf, 1, "mgf hash"), TAG.SEQUENCE), 0, "")),
        );
        if (readOid(at(mgf, 0, "mgf")) !== OID.MGF1 || mgfHash !== hash) {
          hash = undefined;
          break;
        }
      } else if (field.tag === contextTag(2, true)) {
        saltLength = readSmallInteger(inner);
      }
    }
  } catch (cause) {
    throw new CosignError("X509_UNSUPPORTED_ALGORITHM", "Invalid RSA-PSS parameters", { cause });
  }
  if (!hash) {
    throw new CosignError("X509_UNSUPPORTED_ALGORITHM", "Unsupported RSA-PSS parameters");
  }
  let keys = pssKeys.get(key);
  if (!keys) pssKeys.set(key, keys = new Map());
  let cryptoKey = keys.get(hash);
  if (!cryptoKey) {
    cryptoKey = crypto.subtle.importKey(
      "spki",
      key.spki,
      { name: "RSA-PSS", hash: WEBCRYPTO_HASH[hash] },
      false,
      ["verify"],
    );
    keys.set(hash, cryptoKey);
  }
  try {
    return await crypto.subtle.verify(
      { name: "RSA-PSS", saltLength },
      await cryptoKey,
      signature as Bytes,
      data as Bytes,
    );
  } catch {
    return false;
  }
}
