/**
 * DER private keys: parse PKCS#8 (RFC 5208, RFC 5958 v2 with the public key attached), SEC1
 * (RFC 5915) and PKCS#1 (RFC 8017 appendix A.1.2), check them the way Go's crypto/x509 and
 * cosign's import do (cosign-spec.md section 4.2), derive the public key, and re-encode the key
 * as the canonical PKCS#8 Go's `x509.MarshalPKCS8PrivateKey` writes. Used by `cli/keys/keys.ts` only.
 *
 * @module
 */

import { ed25519, p256, p384, p521 } from "../_deps/curves.ts";
import { type Bytes, equalBytes, toBytes } from "../util/bytes.ts";
import {
  at,
  children,
  contextTag,
  derBitString,
  derContext,
  derInteger,
  type DerNode,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  parseDer,
  readBitString,
  readInteger,
  readOctetString,
  readOid,
  readSmallInteger,
  readUnsignedIntegerBytes,
  TAG,
} from "../util/der.ts";
import type { KeyKind } from "./public_key.ts";
import { OID } from "../x509/oids.ts";
import { CosignError, errorMessage } from "../errors.ts";

/** DER encodings of a private key (RFC 5208/5958, RFC 5915, RFC 8017 appendix A.1.2). */
export type PrivateKeyFormat = "pkcs8" | "sec1" | "pkcs1";

/** RSA modulus sizes cosign accepts: 2048 to 4096 bits (section 4.2). */
const RSA_MIN_BITS = 2048;
const RSA_MAX_BITS = 4096;

/** ECDSA curves cosign accepts, by named-curve OID (RFC 5480 section 2.1.1.1). */
export const CURVES = {
  [OID.P256]: { kind: "ecdsa-p256", name: "P-256", size: 32, noble: p256 },
  [OID.P384]: { kind: "ecdsa-p384", name: "P-384", size: 48, noble: p384 },
  [OID.P521]: { kind: "ecdsa-p521", name: "P-521", size: 66, noble: p521 },
} as const;

export type Curve = (typeof CURVES)[keyof typeof CURVES];

/** Curves Go parses but cosign refuses by name ("ECDSA curve P-224 not allowed"). */
const NAMED_REFUSED_CURVES: Record<string, string> = { [OID.P224]: "P-224" };

/** A parsed private key: its kind, public key, canonical PKCS#8 and raw secret. */
export interface ParsedKey {
  kind: KeyKind;
  spki: Bytes;
  pkcs8: Bytes;
  secret: Bytes;
  curve?: Curve;
}

/** Parse a DER private key: `KEY_MALFORMED` for bad input, `KEY_UNSUPPORTED` for refused keys. */
export function parseKey(der: Bytes, format: PrivateKeyFormat): ParsedKey {
  try {
    if (format === "pkcs1") return parsePkcs1(der);
    if (format === "sec1") return parseSec1(parseDer(der, TAG.SEQUENCE));
    return parsePkcs8(der);
  } catch (cause) {
    if (cause instanceof CosignError) throw cause;
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid ${format} private key: ${errorMessage(cause)}`,
      {
        cause,
      },
    );
  }
}

/** PKCS#8 `PrivateKeyInfo` / RFC 5958 `OneAsymmetricKey` (v1 or v2). */
function parsePkcs8(der: Bytes): ParsedKey {
  const parts = children(parseDer(der), TAG.SEQUENCE);
  const version = readSmallInteger(at(parts, 0, "version"));
  if (version !== 0 && version !== 1) throw new SyntaxError(`Unknown PKCS#8 version "${version}"`);
  const algorithm = children(at(parts, 1, "privateKeyAlgorithm"), TAG.SEQUENCE);
  const oid = readOid(at(algorithm, 0, "algorithm OID"));
  const privateKey = readOctetString(at(parts, 2, "privateKey"));
  // Optional trailing fields: [0] IMPLICIT attributes, then (v2) [1] IMPLICIT publicKey.
  let attachedPublicKey: Bytes | undefined;
  let index = 3;
  if (parts[index]?.tag === contextTag(0, true)) index++;
  const publicKeyNode = parts[index];
  if (publicKeyNode?.tag === contextTag(1, false)) {
    attachedPublicKey = readBitString({ ...publicKeyNode, tag: TAG.BIT_STRING });
    index++;
  }
  if (index !== parts.length) throw new SyntaxError("Unexpected fields in PKCS#8 key");

  if (oid === OID.RSA) return parsePkcs1(privateKey);
  if (oid === OID.EC_PUBLIC_KEY) {
    const curveOid = readOid(at(algorithm, 1, "namedCurve"));
    return parseSec1(parseDer(privateKey, TAG.SEQUENCE), curveOid);
  }
  if (oid === OID.ED25519) {
    if (algorithm.length !== 1) throw new SyntaxError("Ed25519 algorithm has parameters");
    // RFC 8410 section 7: privateKey holds CurvePrivateKey ::= OCTET STRING (the 32-byte seed).
    const seed = readOctetString(parseDer(privateKey));
    if (seed.length !== 32) throw new SyntaxError("Ed25519 private key is not 32 bytes");
    const publicKey = toBytes(ed25519.getPublicKey(seed));
    if (attachedPublicKey && !equalBytes(attachedPublicKey, publicKey)) {
      throw new CosignError(
        "KEY_MALFORMED",
        "Invalid private key: the attached Ed25519 public key does not match the private key",
      );
    }
    return {
      kind: "ed25519",
      spki: derSequence(derSequence(derOid(OID.ED25519)), derBitString(publicKey)),
      pkcs8: encodePkcs8(derSequence(derOid(OID.ED25519)), derOctetString(seed)),
      secret: toBytes(seed),
    };
  }
  throw new CosignError("KEY_UNSUPPORTED", `Unsupported private key: algorithm "${oid}"`);
}

/** SEC1 `ECPrivateKey` (RFC 5915 section 3); `outerCurve` is the PKCS#8 algorithm parameter. */
function parseSec1(node: DerNode, outerCurve?: string): ParsedKey {
  const parts = children(node, TAG.SEQUENCE);
  if (readSmallInteger(at(parts, 0, "version")) !== 1) {
    throw new SyntaxError("Unknown ECPrivateKey version");
  }
  const scalar = readOctetString(at(parts, 1, "privateKey"));
  let innerCurve: string | undefined;
  let attachedPublicKey: Bytes | undefined;
  for (const field of parts.slice(2)) {
    if (field.tag === contextTag(0, true) && innerCurve === undefined) {
      innerCurve = readOid(parseDer(field.value));
    } else if (field.tag === contextTag(1, true) && attachedPublicKey === undefined) {
      attachedPublicKey = readBitString(parseDer(field.value));
    } else {
      throw new SyntaxError("Unexpected field in ECPrivateKey");
    }
  }
  if (innerCurve && outerCurve && innerCurve !== outerCurve) {
    throw new SyntaxError(`EC curve "${innerCurve}" differs from "${outerCurve}"`);
  }
  const curveOid = innerCurve ?? outerCurve;
  if (!curveOid) throw new SyntaxError("EC private key names no curve");
  const curve = CURVES[curveOid as keyof typeof CURVES];
  if (!curve) {
    const named = NAMED_REFUSED_CURVES[curveOid];
    throw new CosignError(
      "KEY_UNSUPPORTED",
      named
        ? `Unsupported private key: ECDSA curve ${named} not allowed`
        : `Unsupported private key: error parsing ecdsa private key: unknown elliptic curve "${curveOid}"`,
    );
  }
  if (scalar.length > curve.size) throw new SyntaxError(`${curve.name} private key is too long`);
  const secret = new Uint8Array(curve.size);
  secret.set(scalar, curve.size - scalar.length);
  if (!curve.noble.utils.isValidSecretKey(secret)) {
    throw new SyntaxError(`${curve.name} private key is out of range`);
  }
  const publicKey = toBytes(curve.noble.getPublicKey(secret, false));
  if (attachedPublicKey && !equalBytes(attachedPublicKey, publicKey)) {
    throw new CosignError(
      "KEY_MALFORMED",
      `Invalid private key: the attached ${curve.name} public key does not match the private key`,
    );
  }
  const algorithm = derSequence(derOid(OID.EC_PUBLIC_KEY), derOid(curveOid));
  // Go's MarshalPKCS8PrivateKey omits the inner curve (it is in the algorithm) and keeps the
  // public key (crypto/x509 pkcs8.go, marshalECPrivateKeyWithOID(key, nil)).
  const inner = derSequence(
    derInteger(1),
    derOctetString(secret),
    derContext(1, true, derBitString(publicKey)),
  );
  return {
    kind: curve.kind,
    spki: derSequence(algorithm, derBitString(publicKey)),
    pkcs8: encodePkcs8(algorithm, inner),
    secret,
    curve,
  };
}

/** PKCS#1 `RSAPrivateKey` (RFC 8017 appendix A.1.2), two-prime only. */
function parsePkcs1(der: Bytes): ParsedKey {
  const parts = children(parseDer(der), TAG.SEQUENCE);
  const version = readSmallInteger(at(parts, 0, "version"));
  if (version === 1) {
    throw new CosignError("KEY_UNSUPPORTED", "Unsupported private key: multi-prime RSA key");
  }
  if (version !== 0) throw new SyntaxError(`Unknown RSAPrivateKey version "${version}"`);
  if (parts.length !== 9) throw new SyntaxError("RSAPrivateKey needs 9 fields");
  const modulus = readUnsignedIntegerBytes(at(parts, 1, "modulus"));
  // Bound the size before any big-number work (SECURITY.md rule 4).
  const bits = bitLength(modulus);
  if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS) {
    throw new CosignError(
      "KEY_UNSUPPORTED",
      `Unsupported private key: key size not supported: ${bits}`,
    );
  }
  const [n, e, d, p, q] = [1, 2, 3, 4, 5].map((i) => readInteger(at(parts, i, "RSA field")));
  if (e! < 3n || e! > 0x7fffffffn || !(e! & 1n)) {
    throw new SyntaxError("Invalid RSA public exponent");
  }
  // Go's rsa.PrivateKey.Validate: n = p*q and d*e = 1 mod (p-1) and mod (q-1).
  if (p! * q! !== n!) throw new SyntaxError("RSA modulus is not the product of its primes");
  const de = d! * e!;
  if (de % (p! - 1n) !== 1n || de % (q! - 1n) !== 1n) {
    throw new SyntaxError("RSA private exponent does not match the public exponent");
  }
  const rsaPublicKey = derSequence(derInteger(modulus), derInteger(e!));
  const algorithm = derSequence(derOid(OID.RSA), derNull());
  return {
    kind: "rsa",
    spki: derSequence(algorithm, derBitString(rsaPublicKey)),
    pkcs8: encodePkcs8(algorithm, der),
    secret: new Uint8Array(0),
  };
}

function encodePkcs8(algorithm: Uint8Array, privateKey: Uint8Array): Bytes {
  return derSequence(derInteger(0), algorithm, derOctetString(privateKey));
}

function bitLength(magnitude: Uint8Array): number {
  if (magnitude.length === 0 || (magnitude.length === 1 && magnitude[0] === 0)) return 0;
  return (magnitude.length - 1) * 8 + (32 - Math.clz32(magnitude[0]!));
}
