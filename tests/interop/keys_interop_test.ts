/**
 * Key files and key PEMs written by cosign and sigstore-rs (../shared/interop/fixtures,
 * FIXTURES.md sections cosign/keys and sigstore-rs/keys): every encrypted key opens with its
 * password and no other, every import case cosign accepts is accepted and every case it refuses
 * is refused for cosign's reason.
 */

import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { digest, utf8 } from "../../lib/util/bytes.ts";
import { decodePem } from "../../lib/util/pem.ts";
import { importPrivateKeyPem, type PrivateKey } from "../../lib/keys/private_key.ts";
import { decryptPrivateKey, decryptSecret } from "../../lib/keys/key_file.ts";
import { type KeyKind, verifyEd25519ph, verifySignature } from "../../lib/keys/public_key.ts";
import { isCosignError } from "../../lib/errors.ts";
import { INTEROP, readInteropText, requireComponents } from "../_support.ts";

interface EncryptedCase {
  file: string;
  password: string;
  kind: KeyKind;
  rsaBits?: number;
  pemType: string;
}

const ENCRYPTED: EncryptedCase[] = [
  {
    file: "cosign/keys/pemcosignkey.pem",
    password: "hello",
    kind: "ecdsa-p256",
    pemType: "ENCRYPTED COSIGN PRIVATE KEY",
  },
  {
    file: "cosign/keys/pemsigstorekey.pem",
    password: "hello",
    kind: "ecdsa-p256",
    pemType: "ENCRYPTED SIGSTORE PRIVATE KEY",
  },
  // SEC1 plaintext: cosign's loader fails on it; we accept it (lib/keys/key_file.ts explains why).
  {
    file: "cosign/keys/pemcosigneckey.pem",
    password: "hello",
    kind: "ecdsa-p256",
    pemType: "ENCRYPTED COSIGN PRIVATE KEY",
  },
  {
    file: "sigstore-rs/keys/ecdsa_encrypted_private.key",
    password: "123",
    kind: "ecdsa-p256",
    pemType: "ENCRYPTED COSIGN PRIVATE KEY",
  },
  // Plaintext is an RFC 8410 v2 OneAsymmetricKey (public key attached).
  {
    file: "sigstore-rs/keys/ed25519_encrypted_private.key",
    password: "123",
    kind: "ed25519",
    pemType: "ENCRYPTED SIGSTORE PRIVATE KEY",
  },
  {
    file: "sigstore-rs/keys/rsa_encrypted_private.key",
    password: "123",
    kind: "rsa",
    rsaBits: 4096,
    pemType: "ENCRYPTED SIGSTORE PRIVATE KEY",
  },
  {
    file: "sigstore-rs/keys/cosign_generated_encrypted_empty_private.key",
    password: "",
    kind: "ecdsa-p256",
    pemType: "ENCRYPTED SIGSTORE PRIVATE KEY",
  },
];

// Not "\u0000": scrypt keys HMAC-SHA256 with the password, and HMAC pads keys with zero bytes
// (RFC 2104 section 2), so a password and the same password with trailing NULs are one key.
const WRONG_PASSWORDS = ["", "hello", "123", "Hello", "hello ", "1234", "\u0001"];

const VALID_IMPORTS: Array<[string, KeyKind, number?]> = [
  ["cosign/keys/validrsa.pem", "rsa", 2048],
  ["cosign/keys/validrsapkcs1.pem", "rsa", 2048],
  ["cosign/keys/validrsapkcs8.pem", "rsa", 2048],
  ["cosign/keys/validecp256.pem", "ecdsa-p256"],
  ["cosign/keys/validecp384.pem", "ecdsa-p384"],
  ["cosign/keys/validecp521.pem", "ecdsa-p521"],
  ["cosign/keys/validecpkcs8.pem", "ecdsa-p256"],
  ["cosign/keys/ed25519key.pem", "ed25519"],
  ["sigstore-rs/keys/ecdsa_private.key", "ecdsa-p256"],
  ["sigstore-rs/keys/ed25519_private.key", "ed25519"],
  ["sigstore-rs/keys/rsa_private.key", "rsa"],
];

const INVALID_IMPORTS: Array<[string, string, RegExp]> = [
  ["cosign/keys/invalidrsawithpubkey.pem", "KEY_UNSUPPORTED", /unsupported private key/i],
  ["cosign/keys/invalidrsasmallkey.pem", "KEY_UNSUPPORTED", /key size not supported: 1024/],
  ["cosign/keys/invalidrsalargekey.pem", "KEY_UNSUPPORTED", /key size not supported: 5120/],
  ["cosign/keys/invalidecp224.pem", "KEY_UNSUPPORTED", /ECDSA curve P-224 not allowed/],
  ["cosign/keys/invalidecunsupported.pem", "KEY_UNSUPPORTED", /error parsing ecdsa private key/],
  ["cosign/keys/invalidkey.pem", "KEY_MALFORMED", /invalid pem block/i],
];

const DATA = utf8("interop payload");

async function assertSignsAndVerifies(key: PrivateKey) {
  const signature = await key.sign(DATA);
  assert.ok(await verifySignature(key.publicKey, DATA, signature), key.kind);
  assert.equal(await verifySignature(key.publicKey, utf8("other"), signature), false);
  if (key.kind === "ed25519") {
    assert.ok(await verifyEd25519ph(key.publicKey, DATA, await key.sign(DATA, { prehash: true })));
  } else {
    const hash = key.publicKey.defaultHash;
    const prehashed = key.signPrehashed(digest(hash, DATA), hash);
    assert.ok(await verifySignature(key.publicKey, DATA, prehashed), `${key.kind} prehashed`);
  }
}

if (requireComponents("keys interop", INTEROP)) {
  for (const c of ENCRYPTED) {
    Deno.test(`decryptPrivateKey() opens ${c.file} with its password and its key signs`, async () => {
      const pem = readInteropText(`fixtures/${c.file}`);
      assert.equal(decodePem(pem).type, c.pemType);
      const key = await decryptPrivateKey(pem, c.password);
      assert.equal(key.kind, c.kind);
      if (c.rsaBits) assert.equal(key.publicKey.rsaBits, c.rsaBits);
      await assertSignsAndVerifies(key);
    });

    Deno.test(`decryptPrivateKey() refuses ${c.file} with any other password`, async () => {
      const pem = readInteropText(`fixtures/${c.file}`);
      for (const password of WRONG_PASSWORDS.filter((p) => p !== c.password)) {
        await assert.rejects(decryptPrivateKey(pem, password), (error) => {
          assert.ok(isCosignError(error, "KEY_WRONG_PASSWORD"), String(error));
          return true;
        });
      }
    });
  }

  for (const [file, kind, rsaBits] of VALID_IMPORTS) {
    Deno.test(`importPrivateKeyPem() accepts ${file} and derives the public key OpenSSL derives`, async () => {
      const pem = readInteropText(`fixtures/${file}`);
      const key = await importPrivateKeyPem(pem);
      assert.equal(key.kind, kind);
      if (rsaBits) assert.equal(key.publicKey.rsaBits, rsaBits);
      await assertSignsAndVerifies(key);
      // OpenSSL rejects the RFC 8410 v2 form, so compare through our canonical PKCS#8.
      const nodeKey = createPrivateKey({
        key: Buffer.from(key.toPkcs8()),
        format: "der",
        type: "pkcs8",
      });
      const spki = createPublicKey(nodeKey).export({ format: "der", type: "spki" });
      assert.deepEqual(new Uint8Array(spki), key.publicKey.spki);
      if (file !== "sigstore-rs/keys/ed25519_private.key") {
        const original = createPublicKey(pem).export({ format: "der", type: "spki" });
        assert.deepEqual(new Uint8Array(original), key.publicKey.spki);
      }
    });
  }

  for (const [file, code, reason] of INVALID_IMPORTS) {
    Deno.test(`importPrivateKeyPem() refuses ${file} with ${code} ${reason}`, async () => {
      await assert.rejects(importPrivateKeyPem(readInteropText(`fixtures/${file}`)), (error) => {
        assert.ok(isCosignError(error, code as never), String(error));
        assert.match((error as Error).message, reason);
        return true;
      });
    });
  }

  Deno.test("PrivateKey.toPkcs8() re-encodes decrypted cosign keys byte for byte", async () => {
    // What Go's x509.MarshalPKCS8PrivateKey wrote is what we write; only the RFC 8410 v2
    // Ed25519 plaintext differs, since we (like Go) write the v1 form.
    for (const c of ENCRYPTED.filter((c) => c.kind !== "ed25519" && !c.file.includes("eckey"))) {
      const pem = readInteropText(`fixtures/${c.file}`);
      const plaintext = await decryptSecret(decodePem(pem).bytes, c.password);
      const key = await decryptPrivateKey(pem, c.password);
      assert.deepEqual(key.toPkcs8(), plaintext, c.file);
    }
  });

  Deno.test("decryptPrivateKey() opens a key with its password plus trailing NUL bytes, as every scrypt does", async () => {
    // A property of HMAC key padding (RFC 2104 section 2), shared by every scrypt: documented
    // here so nobody mistakes it for a bypass.
    const pem = readInteropText("fixtures/cosign/keys/pemsigstorekey.pem");
    assert.ok((await decryptPrivateKey(pem, "hello\u0000")).publicKey);
    await assert.rejects(decryptPrivateKey(pem, "hello\u0001"));
  });

  Deno.test("the sigstore-rs Ed25519 v2 key's attached public key is the one we derive", async () => {
    const pem = readInteropText("fixtures/sigstore-rs/keys/ed25519_private.key");
    const der = decodePem(pem).bytes;
    // OneAsymmetricKey v2 ends with [1] IMPLICIT BIT STRING: 81 21 00 <32-byte key>.
    const attached = der.subarray(der.length - 32);
    assert.deepEqual(der.subarray(der.length - 35, der.length - 32), Uint8Array.of(0x81, 0x21, 0));
    const key = await importPrivateKeyPem(pem);
    assert.deepEqual(key.publicKey.rawKey, attached);
  });
}
