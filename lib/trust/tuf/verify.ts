/**
 * Signature thresholds for TUF metadata (TUF specification section 5, steps 5.3.3, 5.4.2,
 * 5.5.3, 5.6.3): a role's metadata is trusted when at least `threshold` DISTINCT keys of the role
 * signed the OLPC canonical JSON of its `signed` part.
 *
 * "Distinct" is by key material, not key ID: one public key listed under several key IDs counts
 * once (go-tuf GHSA-3633-5h82-39pq, SECURITY.md rows 5 and 30), whatever encoding (hex point or
 * PEM) each listing uses, because keys are compared by their SubjectPublicKeyInfo. A signature
 * list naming one key ID twice never gets here (`metadata.ts` refuses it). Signatures that do
 * not verify, are empty (Sigstore's root v13 carries an empty slot), or belong to keys of
 * unsupported types simply do not count.
 *
 * Key types: `ecdsa-sha2-nistp256` and `ecdsa` with schemes `ecdsa-sha2-nistp256`/`-nistp384`
 * (public key as a hex SEC1 point or a PEM SPKI; signatures strict DER, converted to the raw
 * `r||s` WebCrypto takes by the library's one converter, lib/util/der.ts), `ed25519` (hex), `rsa` with `rsassa-pss-sha256` or `rsa-pkcs1v15-sha256`
 * (PEM). Imported keys are cached, so a chain of roots imports each key once.
 *
 * @module
 */

import { ecdsaDerToRaw } from "../../util/der.ts";
import { fromBase64, fromHex, toHex } from "../../util/bytes.ts";
import { tufError } from "./errors.ts";
import { isHex, type TufKey, type TufMetadata, type TufRoleKeys } from "./metadata.ts";

/** A public key ready to verify, with an identity shared by every listing of the same key. */
interface ImportedKey {
  /** `<algorithm>:<SPKI hex>`: equal for the same key under any key ID or encoding. */
  readonly identity: string;
  verify(signature: Uint8Array<ArrayBuffer>, data: Uint8Array<ArrayBuffer>): Promise<boolean>;
}

const MAX_CACHED_KEYS = 1024;
const keyCache = new Map<string, Promise<ImportedKey | undefined>>();

interface EcdsaCurve {
  readonly namedCurve: "P-256" | "P-384";
  readonly hash: "SHA-256" | "SHA-384";
  readonly size: number;
}

const ECDSA_SCHEMES: Record<string, EcdsaCurve> = {
  "ecdsa-sha2-nistp256": { namedCurve: "P-256", hash: "SHA-256", size: 32 },
  "ecdsa-sha2-nistp384": { namedCurve: "P-384", hash: "SHA-384", size: 48 },
};

/** The DER bytes of a single `-----BEGIN PUBLIC KEY-----` block, or undefined. */
function pemSpki(text: string): Uint8Array<ArrayBuffer> | undefined {
  const m = /^\s*-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----\s*$/.exec(
    text,
  );
  if (m === null) return undefined;
  try {
    return fromBase64(m[1]!.replace(/\s+/g, ""));
  } catch {
    return undefined;
  }
}

/** The DER signature as raw `r||s`, or undefined when it is not strict DER (`ecdsaDerToRaw`). */
function rawEcdsaSignature(der: Uint8Array, size: number): Uint8Array<ArrayBuffer> | undefined {
  try {
    return ecdsaDerToRaw(der, size);
  } catch {
    return undefined;
  }
}

async function spkiIdentity(key: CryptoKey, algorithm: string): Promise<string> {
  return `${algorithm}:${toHex(new Uint8Array(await crypto.subtle.exportKey("spki", key)))}`;
}

async function importEcdsa(key: TufKey): Promise<ImportedKey | undefined> {
  const curve = ECDSA_SCHEMES[key.scheme];
  if (curve === undefined) return undefined;
  // The legacy key type names the curve; it must agree with the scheme.
  if (key.keytype !== "ecdsa" && key.keytype !== key.scheme) return undefined;
  const spki = pemSpki(key.public);
  let cryptoKey: CryptoKey;
  const algorithm = { name: "ECDSA", namedCurve: curve.namedCurve };
  if (spki !== undefined) {
    cryptoKey = await crypto.subtle.importKey("spki", spki, algorithm, true, ["verify"]);
  } else if (isHex(key.public) && key.public.length === 2 * (1 + 2 * curve.size)) {
    const raw = fromHex(key.public);
    if (raw[0] !== 0x04) return undefined;
    cryptoKey = await crypto.subtle.importKey("raw", raw, algorithm, true, ["verify"]);
  } else {
    return undefined;
  }
  return {
    identity: await spkiIdentity(cryptoKey, `ecdsa-${curve.namedCurve}`),
    async verify(signature, data) {
      const raw = rawEcdsaSignature(signature, curve.size);
      if (raw === undefined) return false;
      return await crypto.subtle.verify({ name: "ECDSA", hash: curve.hash }, cryptoKey, raw, data);
    },
  };
}

async function importEd25519(key: TufKey): Promise<ImportedKey | undefined> {
  if (key.scheme !== "ed25519" || !isHex(key.public) || key.public.length !== 64) {
    return undefined;
  }
  const cryptoKey = await crypto.subtle.importKey(
    "raw",
    fromHex(key.public),
    { name: "Ed25519" },
    true,
    ["verify"],
  );
  return {
    identity: await spkiIdentity(cryptoKey, "ed25519"),
    async verify(signature, data) {
      if (signature.length !== 64) return false;
      return await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, signature, data);
    },
  };
}

async function importRsa(key: TufKey): Promise<ImportedKey | undefined> {
  const spki = pemSpki(key.public);
  if (spki === undefined) return undefined;
  if (key.scheme === "rsassa-pss-sha256") {
    const cryptoKey = await crypto.subtle.importKey(
      "spki",
      spki,
      { name: "RSA-PSS", hash: "SHA-256" },
      true,
      ["verify"],
    );
    const modulusBytes = Math.ceil(
      (cryptoKey.algorithm as RsaHashedKeyAlgorithm).modulusLength / 8,
    );
    return {
      identity: await spkiIdentity(cryptoKey, "rsa"),
      async verify(signature, data) {
        // securesystemslib signs with the salt as long as the digest; older signers used the
        // longest salt. WebCrypto has no "auto", so both lengths are tried.
        for (const saltLength of [32, modulusBytes - 32 - 2]) {
          const params = { name: "RSA-PSS", saltLength };
          if (await crypto.subtle.verify(params, cryptoKey, signature, data)) return true;
        }
        return false;
      },
    };
  }
  if (key.scheme === "rsa-pkcs1v15-sha256") {
    const cryptoKey = await crypto.subtle.importKey(
      "spki",
      spki,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      true,
      ["verify"],
    );
    return {
      identity: await spkiIdentity(cryptoKey, "rsa"),
      verify: async (signature, data) =>
        await crypto.subtle.verify({ name: "RSASSA-PKCS1-v1_5" }, cryptoKey, signature, data),
    };
  }
  return undefined;
}

async function importTufKey(key: TufKey): Promise<ImportedKey | undefined> {
  try {
    switch (key.keytype) {
      case "ecdsa":
      case "ecdsa-sha2-nistp256":
      case "ecdsa-sha2-nistp384":
        return await importEcdsa(key);
      case "ed25519":
        return await importEd25519(key);
      case "rsa":
        return await importRsa(key);
      default:
        return undefined;
    }
  } catch {
    return undefined; // a key WebCrypto refuses (wrong curve, bad point) signs nothing
  }
}

/** The imported key, from the cache when this key was seen before. */
function cachedKey(key: TufKey): Promise<ImportedKey | undefined> {
  const cacheKey = `${key.keytype}\u0000${key.scheme}\u0000${key.public}`;
  let entry = keyCache.get(cacheKey);
  if (entry === undefined) {
    if (keyCache.size >= MAX_CACHED_KEYS) keyCache.delete(keyCache.keys().next().value!);
    entry = importTufKey(key);
    keyCache.set(cacheKey, entry);
  }
  return entry;
}

/** True when this client can verify signatures of `key`. */
export async function isSupportedTufKey(key: TufKey): Promise<boolean> {
  return (await cachedKey(key)) !== undefined;
}

/** What `countSignatures` found. */
export interface SignatureCount {
  /** Distinct keys of the role whose signature verified. */
  readonly valid: number;
  /** The role's threshold. */
  readonly threshold: number;
}

/**
 * How many distinct keys of `role` (looked up in `keys`) validly signed `metadata`, counting at
 * most up to the threshold (verification stops once it is met).
 */
export async function countSignatures(
  metadata: TufMetadata,
  role: TufRoleKeys,
  keys: ReadonlyMap<string, TufKey>,
): Promise<SignatureCount> {
  const byKeyid = new Map(metadata.signatures.map((s) => [s.keyid, s.sig]));
  const counted = new Set<string>();
  for (const keyid of role.keyids) {
    if (counted.size >= role.threshold) break;
    const sig = byKeyid.get(keyid);
    const key = keys.get(keyid);
    if (sig === undefined || key === undefined || !isHex(sig)) continue;
    const imported = await cachedKey(key);
    if (imported === undefined || counted.has(imported.identity)) continue;
    if (await imported.verify(fromHex(sig), metadata.signedBytes)) counted.add(imported.identity);
  }
  return { valid: counted.size, threshold: role.threshold };
}

/**
 * Throw `TRUST_TUF_THRESHOLD` unless at least `role.threshold` distinct keys of the role signed
 * `metadata`. `what` names the role and file in the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isCosignError } from "../../errors.ts";
 * import { parseTufMetadata } from "./metadata.ts";
 * import { verifyThreshold } from "./verify.ts";
 *
 * const root = parseTufMetadata(new TextEncoder().encode(JSON.stringify({
 *   signed: {
 *     _type: "root", spec_version: "1.0", version: 1, expires: "2030-01-01T00:00:00Z",
 *     consistent_snapshot: true, keys: {},
 *     roles: Object.fromEntries(["root", "timestamp", "snapshot", "targets"].map((r) => [r, { keyids: [], threshold: 1 }])),
 *   },
 *   signatures: [],
 * })), "root");
 * await assert.rejects(
 *   verifyThreshold(root, root.signed.roles.root, root.signed.keys, "root"),
 *   (e) => isCosignError(e, "TRUST_TUF_THRESHOLD"),
 * );
 * ```
 */
export async function verifyThreshold(
  metadata: TufMetadata,
  role: TufRoleKeys,
  keys: ReadonlyMap<string, TufKey>,
  what: string,
): Promise<void> {
  const { valid, threshold } = await countSignatures(metadata, role, keys);
  if (valid < threshold) {
    throw tufError(
      "TRUST_TUF_THRESHOLD",
      `TUF ${what} metadata (version ${metadata.signed.version}) has ${valid} valid signature(s) ` +
        `from distinct keys, ${threshold} required`,
    );
  }
}
