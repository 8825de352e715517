import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { fc } from "../../_deps.ts";
import { digest, type HashName, utf8 } from "../../../lib/util/bytes.ts";
import {
  derBitString,
  derContext,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  parseDer,
} from "../../../lib/util/der.ts";
import { encodePem } from "../../../lib/util/pem.ts";
import {
  generateKeyPair,
  importPrivateKeyPem,
  MAX_KEY_FILE_SIZE,
  PrivateKey,
} from "../../../lib/keys/private_key.ts";
import {
  ecdsaRawToDer,
  ecdsaSignatureToRaw,
  type KeyKind,
  verifyEd25519ph,
  verifyPrehashed,
  verifySignature,
} from "../../../lib/keys/public_key.ts";
import { OID } from "../../../lib/x509/oids.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { p256 } from "../../../lib/_deps/curves.ts";

const KINDS: KeyKind[] = ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa", "ed25519"];
const DATA = utf8("the payload cosign signs");

// One key per kind, generated once: RSA generation is slow.
const keys = new Map<KeyKind, Promise<PrivateKey>>();
function keyOf(kind: KeyKind): Promise<PrivateKey> {
  let key = keys.get(kind);
  if (!key) keys.set(kind, key = generateKeyPair({ kind }));
  return key;
}

function assertCode(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(isCosignError(error, code as never), `expected ${code}, got ${String(error)}`);
    if (pattern) assert.match((error as Error).message, pattern);
    return true;
  };
}

/** A SEC1 `ECPrivateKey` with the given fields (RFC 5915 section 3). */
function sec1(scalar: Uint8Array, curveOid?: string, publicKey?: Uint8Array): Uint8Array {
  return derSequence(
    derInteger(1),
    derOctetString(scalar),
    ...(curveOid ? [derContext(0, true, derOid(curveOid))] : []),
    ...(publicKey ? [derContext(1, true, derBitString(publicKey))] : []),
  );
}

Deno.test("generateKeyPair() makes an ECDSA P-256 key by default, as cosign generate-key-pair", async () => {
  const key = await generateKeyPair();
  assert.equal(key.kind, "ecdsa-p256");
  assert.equal(key.publicKey.kind, "ecdsa-p256");
});

for (const kind of KINDS) {
  Deno.test(`PrivateKey.sign() with a generated ${kind} key verifies with its public key and not over other data`, async () => {
    const key = await keyOf(kind);
    assert.equal(key.kind, kind);
    const signature = await key.sign(DATA);
    assert.ok(await verifySignature(key.publicKey, DATA, signature));
    assert.equal(await verifySignature(key.publicKey, utf8("other data"), signature), false);
    if (kind.startsWith("ecdsa")) {
      // cosign writes DER: SEQUENCE { r, s } (section 4.3).
      assert.equal(signature[0], 0x30);
      parseDer(signature);
    }
  });

  Deno.test(`PrivateKey.toPkcs8() of a ${kind} key imports back to the same public key`, async () => {
    const key = await keyOf(kind);
    const again = await PrivateKey.fromDer(key.toPkcs8(), "pkcs8");
    assert.ok(again.publicKey.equals(key.publicKey));
    const fromPem = await importPrivateKeyPem(key.toPem());
    assert.ok(fromPem.publicKey.equals(key.publicKey));
    assert.deepEqual(fromPem.toPkcs8(), key.toPkcs8());
  });
}

Deno.test("PrivateKey.toPkcs8() matches what OpenSSL derives: same public key for every kind", async () => {
  for (const kind of KINDS) {
    const key = await keyOf(kind);
    const nodeKey = createPrivateKey({
      key: Buffer.from(key.toPkcs8()),
      format: "der",
      type: "pkcs8",
    });
    const spki = createPublicKey(nodeKey).export({ format: "der", type: "spki" });
    assert.deepEqual(new Uint8Array(spki), key.publicKey.spki, kind);
  }
});

Deno.test("PrivateKey.sign() honours an explicit hash for ECDSA and RSA", async () => {
  for (const kind of ["ecdsa-p256", "rsa"] as const) {
    const key = await keyOf(kind);
    const signature = await key.sign(DATA, { hash: "sha384" });
    assert.ok(await verifySignature(key.publicKey, DATA, signature, { hash: "sha384" }), kind);
    assert.equal(await verifySignature(key.publicKey, DATA, signature, { hash: "sha256" }), false);
  }
});

Deno.test("PrivateKey.sign() with prehash makes Ed25519ph signatures that are not pure Ed25519", async () => {
  const key = await keyOf("ed25519");
  const signature = await key.sign(DATA, { prehash: true });
  assert.ok(await verifyEd25519ph(key.publicKey, DATA, signature));
  assert.equal(await verifySignature(key.publicKey, DATA, signature), false);
  const pure = await key.sign(DATA);
  assert.equal(await verifyEd25519ph(key.publicKey, DATA, pure), false);
  await assert.rejects(key.sign(DATA, { prehash: true, hash: "sha256" }), RangeError);
});

Deno.test("PrivateKey.signPrehashed() ECDSA and RSA signatures verify over the message and the digest", async () => {
  for (const kind of ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa"] as const) {
    const key = await keyOf(kind);
    for (const hash of ["sha256", "sha384", "sha512"] as HashName[]) {
      const signature = key.signPrehashed(digest(hash, DATA), hash);
      assert.ok(
        await verifyPrehashed(key.publicKey, digest(hash, DATA), signature, hash),
        kind + hash,
      );
      assert.ok(await verifySignature(key.publicKey, DATA, signature, { hash }), kind + hash);
      assert.equal(await verifySignature(key.publicKey, utf8("x"), signature, { hash }), false);
    }
  }
});

Deno.test("PrivateKey.signPrehashed() rejects a digest of the wrong length and Ed25519 keys", async () => {
  const key = await keyOf("ecdsa-p256");
  assert.throws(() => key.signPrehashed(new Uint8Array(31), "sha256"), RangeError);
  assert.throws(() => key.signPrehashed(new Uint8Array(32), "sha512"), RangeError);
  const ed = await keyOf("ed25519");
  assert.throws(
    () => ed.signPrehashed(new Uint8Array(64), "sha512"),
    assertCode("KEY_UNSUPPORTED"),
  );
});

Deno.test("generateKeyPair() makes RSA keys of the requested size and refuses others", async () => {
  assert.equal((await keyOf("rsa")).publicKey.rsaBits, 2048);
  const big = await generateKeyPair({ kind: "rsa", rsaBits: 3072 });
  assert.equal(big.publicKey.rsaBits, 3072);
  await assert.rejects(generateKeyPair({ kind: "rsa", rsaBits: 1024 as 2048 }), RangeError);
});

// ---------------------------------------------------------------------------------------------
// Import

Deno.test("importPrivateKeyPem() derives the EC public key when SEC1 omits it", async () => {
  const scalar = new Uint8Array(32).fill(0x11);
  const key = await importPrivateKeyPem(encodePem("EC PRIVATE KEY", sec1(scalar, OID.P256)));
  assert.deepEqual(key.publicKey.rawKey, p256.getPublicKey(scalar, false));
  assert.ok(await verifySignature(key.publicKey, DATA, await key.sign(DATA)));
});

Deno.test("importPrivateKeyPem() left-pads a short SEC1 scalar, as Go does", async () => {
  const scalar = new Uint8Array(31).fill(0x22);
  const key = await importPrivateKeyPem(encodePem("EC PRIVATE KEY", sec1(scalar, OID.P256)));
  const padded = new Uint8Array(32);
  padded.set(scalar, 1);
  assert.deepEqual(key.publicKey.rawKey, p256.getPublicKey(padded, false));
});

Deno.test("importPrivateKeyPem() refuses a SEC1 key whose attached public key does not match", async () => {
  const scalar = new Uint8Array(32).fill(0x11);
  const other = p256.getPublicKey(new Uint8Array(32).fill(0x12), false);
  const pem = encodePem("EC PRIVATE KEY", sec1(scalar, OID.P256, other));
  await assert.rejects(importPrivateKeyPem(pem), assertCode("KEY_MALFORMED", /does not match/));
});

Deno.test("importPrivateKeyPem() refuses EC scalars of zero, the group order, or too many bytes", async () => {
  const order = Uint8Array.fromHex(
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
  );
  for (const scalar of [new Uint8Array(32), order, new Uint8Array(33).fill(1)]) {
    const pem = encodePem("EC PRIVATE KEY", sec1(scalar, OID.P256));
    await assert.rejects(importPrivateKeyPem(pem), assertCode("KEY_MALFORMED"));
  }
});

Deno.test("importPrivateKeyPem() refuses a SEC1 key naming no curve, or two different curves", async () => {
  const scalar = new Uint8Array(32).fill(0x11);
  await assert.rejects(
    importPrivateKeyPem(encodePem("EC PRIVATE KEY", sec1(scalar))),
    assertCode("KEY_MALFORMED", /no curve/),
  );
  const pkcs8 = derSequence(
    derInteger(0),
    derSequence(derOid(OID.EC_PUBLIC_KEY), derOid(OID.P256)),
    derOctetString(sec1(scalar, OID.P384)),
  );
  await assert.rejects(
    importPrivateKeyPem(encodePem("PRIVATE KEY", pkcs8)),
    assertCode("KEY_MALFORMED", /differs/),
  );
});

Deno.test("importPrivateKeyPem() reads RFC 8410 v2 Ed25519 keys and checks the attached public key", async () => {
  const seed = new Uint8Array(32).fill(7);
  const generated = await PrivateKey.fromDer(
    derSequence(
      derInteger(0),
      derSequence(derOid(OID.ED25519)),
      derOctetString(derOctetString(seed)),
    ),
    "pkcs8",
  );
  const v2 = (publicKey: Uint8Array) =>
    encodePem(
      "PRIVATE KEY",
      derSequence(
        derInteger(1),
        derSequence(derOid(OID.ED25519)),
        derOctetString(derOctetString(seed)),
        // [1] IMPLICIT BIT STRING: tag 0x81, contents = unused-bits octet + key.
        derContext(1, false, Uint8Array.of(0), publicKey),
      ),
    );
  const key = await importPrivateKeyPem(v2(generated.publicKey.rawKey));
  assert.ok(key.publicKey.equals(generated.publicKey));
  // Re-encoded as PKCS#8 v1, which WebCrypto and OpenSSL read.
  assert.deepEqual(key.toPkcs8(), generated.toPkcs8());
  const wrong = generated.publicKey.rawKey.slice();
  wrong[0]! ^= 1;
  await assert.rejects(
    importPrivateKeyPem(v2(wrong)),
    assertCode("KEY_MALFORMED", /does not match/),
  );
});

Deno.test("importPrivateKeyPem() refuses RSA keys whose primes or exponents do not match", async () => {
  const key = await keyOf("rsa");
  const pkcs8 = key.toPkcs8();
  const nodeKey = createPrivateKey({ key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
  const jwk = nodeKey.export({ format: "jwk" });
  const int = (b64u: string | undefined) =>
    derInteger(Uint8Array.fromBase64(b64u!, { alphabet: "base64url" }));
  const build = (fields: Partial<Record<"n" | "e" | "d" | "p" | "q", Uint8Array>>) =>
    encodePem(
      "RSA PRIVATE KEY",
      derSequence(
        derInteger(0),
        fields.n ?? int(jwk.n),
        fields.e ?? int(jwk.e),
        fields.d ?? int(jwk.d),
        fields.p ?? int(jwk.p),
        fields.q ?? int(jwk.q),
        int(jwk.dp),
        int(jwk.dq),
        int(jwk.qi),
      ),
    );
  assert.ok((await importPrivateKeyPem(build({}))).publicKey.equals(key.publicKey));
  await assert.rejects(
    importPrivateKeyPem(build({ p: int(jwk.q), q: derInteger(3) })),
    assertCode("KEY_MALFORMED", /product/),
  );
  await assert.rejects(
    importPrivateKeyPem(build({ d: derInteger(12345) })),
    assertCode("KEY_MALFORMED", /exponent/),
  );
  await assert.rejects(
    importPrivateKeyPem(build({ e: derInteger(4) })),
    assertCode("KEY_MALFORMED", /exponent/),
  );
});

Deno.test("importPrivateKeyPem() refuses multi-prime RSA and keys of unsupported algorithms", async () => {
  const multiPrime = derSequence(derInteger(1), ...Array.from({ length: 8 }, () => derInteger(3)));
  await assert.rejects(
    importPrivateKeyPem(encodePem("RSA PRIVATE KEY", multiPrime)),
    assertCode("KEY_UNSUPPORTED", /multi-prime/),
  );
  // X25519 (RFC 8410) is a key-agreement key, not a signing key.
  const x25519 = derSequence(
    derInteger(0),
    derSequence(derOid("1.3.101.110")),
    derOctetString(derOctetString(new Uint8Array(32).fill(1))),
  );
  await assert.rejects(
    importPrivateKeyPem(encodePem("PRIVATE KEY", x25519)),
    assertCode("KEY_UNSUPPORTED", /1\.3\.101\.110/),
  );
  const rsaWithDsaOid = derSequence(
    derInteger(0),
    derSequence(derOid("1.2.840.10040.4.1"), derNull()),
    derOctetString(new Uint8Array(4)),
  );
  await assert.rejects(
    importPrivateKeyPem(encodePem("PRIVATE KEY", rsaWithDsaOid)),
    assertCode("KEY_UNSUPPORTED"),
  );
});

Deno.test("importPrivateKeyPem() refuses garbage, several blocks, other PEM types and oversized input", async () => {
  await assert.rejects(
    importPrivateKeyPem("not a pem"),
    assertCode("KEY_MALFORMED", /invalid pem block/i),
  );
  await assert.rejects(
    importPrivateKeyPem(encodePem("PRIVATE KEY", Uint8Array.of(0x30, 0x03, 2, 1))),
    assertCode("KEY_MALFORMED"),
  );
  const ec = (await keyOf("ecdsa-p256")).toPem();
  await assert.rejects(
    importPrivateKeyPem(ec + ec),
    assertCode("KEY_MALFORMED", /invalid pem block/i),
  );
  await assert.rejects(
    importPrivateKeyPem(encodePem("CERTIFICATE", new Uint8Array(10))),
    assertCode("KEY_UNSUPPORTED", /unsupported private key/i),
  );
  const legacyEncrypted = ec.replace(
    "-----\n",
    "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n",
  );
  await assert.rejects(
    importPrivateKeyPem(legacyEncrypted),
    assertCode("KEY_UNSUPPORTED", /PEM headers/),
  );
  await assert.rejects(
    importPrivateKeyPem(ec + " ".repeat(MAX_KEY_FILE_SIZE)),
    assertCode("KEY_MALFORMED", /larger than/),
  );
  await assert.rejects(
    PrivateKey.fromDer(new Uint8Array(MAX_KEY_FILE_SIZE + 1), "pkcs8"),
    assertCode("KEY_MALFORMED", /larger than/),
  );
});

// ---------------------------------------------------------------------------------------------
// Properties

Deno.test("PrivateKey.fromDer() SEC1 -> toPkcs8() -> fromDer() keeps the key, for random P-256 scalars", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 32, maxLength: 32 }), async (scalar) => {
      fc.pre(p256.utils.isValidSecretKey(scalar));
      const key = await PrivateKey.fromDer(sec1(scalar, OID.P256), "sec1");
      const again = await PrivateKey.fromDer(key.toPkcs8(), "pkcs8");
      assert.ok(again.publicKey.equals(key.publicKey));
      assert.deepEqual(again.publicKey.rawKey, p256.getPublicKey(scalar, false));
    }),
    { numRuns: 25 },
  );
});

Deno.test("ecdsaRawToDer() and ecdsaSignatureToRaw() round-trip any r||s, leading zeros included", () => {
  const halves = (size: number) =>
    fc.tuple(
      fc.uint8Array({ minLength: size, maxLength: size }),
      fc.nat({ max: size }),
      fc.uint8Array({ minLength: size, maxLength: size }),
      fc.nat({ max: size }),
    ).map(([r, rZeros, s, sZeros]) => {
      // Force leading zero bytes, the case where DER integers get shorter than the field.
      r.fill(0, 0, rZeros);
      s.fill(0, 0, sZeros);
      return { size, raw: Uint8Array.from([...r, ...s]) };
    });
  fc.assert(
    fc.property(fc.oneof(halves(32), halves(48), halves(66)), ({ size, raw }) => {
      const der = ecdsaRawToDer(raw);
      assert.equal(der[0], 0x30);
      assert.deepEqual(ecdsaSignatureToRaw(der, size), raw);
      assert.deepEqual(ecdsaRawToDer(ecdsaSignatureToRaw(der, size)!), der);
    }),
    { numRuns: 500 },
  );
});
