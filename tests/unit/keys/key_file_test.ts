import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { fromBase64, fromUtf8, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { children, derContext, derSequence, parseDer, TAG } from "../../../lib/util/der.ts";
import { decodePem, encodePem } from "../../../lib/util/pem.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import {
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  decryptPrivateKey,
  decryptSecret,
  encryptPrivateKey,
  encryptSecret,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
} from "../../../lib/keys/key_file.ts";
import { type KeyKind, verifyEd25519ph, verifySignature } from "../../../lib/keys/public_key.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { asArray, asRecord, asString, parseJson } from "../../../lib/util/json.ts";

// go-securesystemslib's own vectors (provenance in tests/testdata/SOURCES.md).
const VECTORS = asRecord(
  parseJson(
    Deno.readTextFileSync(
      new URL("../../testdata/securesystemslib_encrypted.json", import.meta.url),
    ),
    "vectors",
  ),
  "$",
);
const PASSPHRASE = asString(VECTORS.passphrase, "passphrase");
const CASES = asArray(VECTORS.vectors, "vectors", 10).map((v, i) => {
  const record = asRecord(v, `vectors[${i}]`);
  return {
    name: asString(record.name, "name"),
    plaintext: asString(record.plaintext, "plaintext"),
    json: asString(record.json, "json"),
  };
});

/** Small scrypt cost for fast tests; decryption must be told to accept it. */
const FAST = { scryptN: 1024 };
const ACCEPT_FAST = { acceptScryptN: [1024] };
const KINDS: KeyKind[] = ["ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa", "ed25519"];
const DATA = utf8("sign me");

function assertCode(code: string, pattern?: RegExp) {
  return (error: unknown) => {
    assert.ok(isCosignError(error, code as never), `expected ${code}, got ${String(error)}`);
    if (pattern) assert.match((error as Error).message, pattern);
    return true;
  };
}

/** A random source that replays the salt and the nonce of a vector. */
function replay(json: string) {
  const parsed = asRecord(parseJson(json, "vector"), "$");
  const salt = fromBase64(asString(asRecord(parsed.kdf, "kdf").salt, "salt"));
  const nonce = fromBase64(asString(asRecord(parsed.cipher, "cipher").nonce, "nonce"));
  const queue = [salt, nonce];
  return (length: number) => {
    const next = queue.shift()!;
    assert.equal(next.length, length);
    return next;
  };
}

function scryptN(json: string): number {
  return Number(/"N":(\d+)/.exec(json)![1]);
}

/** Rewrite the JSON inside a key file PEM. */
function editKeyFile(pem: string, edit: (json: Record<string, unknown>) => void): string {
  const block = decodePem(pem);
  const json = asRecord(parseJson(block.bytes, "key file"), "$");
  edit(json);
  return encodePem(block.type, utf8(JSON.stringify(json)));
}

async function assertSignsAndVerifies(key: PrivateKey) {
  const signature = await key.sign(DATA);
  assert.ok(await verifySignature(key.publicKey, DATA, signature), key.kind);
  if (key.kind === "ed25519") {
    assert.ok(await verifyEd25519ph(key.publicKey, DATA, await key.sign(DATA, { prehash: true })));
  }
}

// Keys generated once per kind (RSA generation is slow).
const keys = new Map<KeyKind, Promise<PrivateKey>>();
function keyOf(kind: KeyKind): Promise<PrivateKey> {
  let key = keys.get(kind);
  if (!key) keys.set(kind, key = generateKeyPair({ kind }));
  return key;
}

for (const vector of CASES) {
  Deno.test(`decryptSecret() opens go-securesystemslib's "${vector.name}" vector`, async () => {
    const plaintext = await decryptSecret(vector.json, PASSPHRASE);
    assert.equal(fromUtf8(plaintext), vector.plaintext);
    await assert.rejects(
      decryptSecret(vector.json, "supersecreT"),
      assertCode("KEY_WRONG_PASSWORD"),
    );
  });

  Deno.test(`encryptSecret() writes go-securesystemslib's "${vector.name}" vector byte for byte`, () => {
    const json = encryptSecret(utf8(vector.plaintext), PASSPHRASE, {
      scryptN: scryptN(vector.json),
      random: replay(vector.json),
    });
    assert.equal(json, vector.json);
  });
}

Deno.test("decryptSecret() refuses go-securesystemslib's unsupported-parameters vector, naming them", async () => {
  await assert.rejects(
    decryptSecret(asString(VECTORS.unsupportedParameters, "unsupported"), PASSPHRASE),
    assertCode("KEY_MALFORMED", /unsupported scrypt parameters "N=99, r=99, p=99"/),
  );
});

Deno.test("encryptPrivateKey() writes an ENCRYPTED SIGSTORE PRIVATE KEY PEM of compact JSON in Go's field order", async () => {
  const key = await keyOf("ecdsa-p256");
  const pem = encryptPrivateKey(key, "pw", FAST);
  const lines = pem.trimEnd().split("\n");
  assert.equal(lines[0], `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----`);
  assert.equal(lines.at(-1), `-----END ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----`);
  assert.ok(lines.slice(1, -2).every((line) => line.length === 64));
  const json = fromUtf8(decodePem(pem).bytes);
  assert.match(
    json,
    /^\{"kdf":\{"name":"scrypt","params":\{"N":1024,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/]+={0,2}"\}$/,
  );
  // Ciphertext = 16-byte tag + the PKCS#8 key.
  const ciphertext = fromBase64(/"ciphertext":"([^"]+)"/.exec(json)![1]!);
  assert.equal(ciphertext.length, key.toPkcs8().length + 16);
});

Deno.test("encryptPrivateKey() uses cosign's default scrypt N=65536, and decryptPrivateKey() reads it back", async () => {
  const key = await keyOf("ecdsa-p256");
  const pem = encryptPrivateKey(key, "correct horse");
  assert.match(fromUtf8(decodePem(pem).bytes), /"params":\{"N":65536,"r":8,"p":1\}/);
  const decrypted = await decryptPrivateKey(pem, "correct horse");
  assert.ok(decrypted.publicKey.equals(key.publicKey));
  await assertSignsAndVerifies(decrypted);
});

for (const kind of KINDS) {
  Deno.test(`generate -> encryptPrivateKey -> decryptPrivateKey -> sign -> verify round-trips a ${kind} key for any password`, async () => {
    const key = await keyOf(kind);
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 40 }), async (password) => {
        const pem = encryptPrivateKey(key, password, FAST);
        const decrypted = await decryptPrivateKey(pem, password, ACCEPT_FAST);
        assert.ok(decrypted.publicKey.equals(key.publicKey));
        assert.deepEqual(decrypted.toPkcs8(), key.toPkcs8());
        await assertSignsAndVerifies(decrypted);
        await assert.rejects(
          decryptPrivateKey(pem, `${password}x`, ACCEPT_FAST),
          assertCode("KEY_WRONG_PASSWORD"),
        );
      }),
      { numRuns: 8 },
    );
  });
}

Deno.test("decryptPrivateKey() accepts an empty password, which still goes through scrypt", async () => {
  const key = await keyOf("ed25519");
  const pem = encryptPrivateKey(key, "", FAST);
  assert.ok((await decryptPrivateKey(pem, "", ACCEPT_FAST)).publicKey.equals(key.publicKey));
  await assert.rejects(decryptPrivateKey(pem, " ", ACCEPT_FAST), assertCode("KEY_WRONG_PASSWORD"));
});

Deno.test("decryptPrivateKey() treats text passwords as UTF-8 and byte passwords as they are", async () => {
  const key = await keyOf("ecdsa-p256");
  const pem = encryptPrivateKey(key, "pässwörd", FAST);
  const decrypted = await decryptPrivateKey(pem, utf8("pässwörd"), ACCEPT_FAST);
  assert.ok(decrypted.publicKey.equals(key.publicKey));
});

Deno.test("decryptPrivateKey() reads the legacy ENCRYPTED COSIGN PRIVATE KEY type", async () => {
  const key = await keyOf("ecdsa-p256");
  const json = encryptSecret(key.toPkcs8(), "pw", FAST);
  const pem = encodePem(COSIGN_PRIVATE_KEY_PEM_TYPE, utf8(json));
  assert.ok((await decryptPrivateKey(pem, "pw", ACCEPT_FAST)).publicKey.equals(key.publicKey));
});

Deno.test("decryptPrivateKey() accepts a SEC1 plaintext (cosign refuses it) and derives the same key", async () => {
  const key = await keyOf("ecdsa-p384");
  const sec1 = sec1Of(key.toPkcs8());
  const pem = encodePem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, utf8(encryptSecret(sec1, "pw", FAST)));
  const decrypted = await decryptPrivateKey(pem, "pw", ACCEPT_FAST);
  assert.ok(decrypted.publicKey.equals(key.publicKey));
});

/** The SEC1 form of an EC PKCS#8 key: its inner ECPrivateKey with the curve put back in. */
function sec1Of(pkcs8: Uint8Array): Uint8Array {
  const [, algorithm, privateKey] = children(parseDer(pkcs8), TAG.SEQUENCE);
  const curve = children(algorithm!, TAG.SEQUENCE)[1]!;
  const [version, scalar, publicKey] = children(parseDer(privateKey!.value), TAG.SEQUENCE);
  return derSequence(version!.raw, scalar!.raw, derContext(0, true, curve.raw), publicKey!.raw);
}

Deno.test("decryptPrivateKey() refuses a file with scrypt parameters cosign does not read", async () => {
  const key = await keyOf("ecdsa-p256");
  // Written with N=1024: valid, but not a cosign parameter set.
  const pem = encryptPrivateKey(key, "pw", FAST);
  await assert.rejects(
    decryptPrivateKey(pem, "pw"),
    assertCode("KEY_MALFORMED", /"N=1024, r=8, p=1"/),
  );
  for (
    const params of [{ N: 65536, r: 16, p: 1 }, { N: 65536, r: 8, p: 2 }, {
      N: 1 << 30,
      r: 8,
      p: 1,
    }]
  ) {
    const edited = editKeyFile(pem, (json) => {
      asRecord(json.kdf, "kdf").params = params;
    });
    await assert.rejects(
      decryptPrivateKey(edited, "pw"),
      assertCode("KEY_MALFORMED", /scrypt parameters/),
    );
  }
});

Deno.test("decryptPrivateKey() refuses another KDF or cipher as unsupported", async () => {
  const pem = encryptPrivateKey(await keyOf("ecdsa-p256"), "pw", FAST);
  const otherKdf = editKeyFile(pem, (json) => {
    asRecord(json.kdf, "kdf").name = "pbkdf2";
  });
  await assert.rejects(
    decryptPrivateKey(otherKdf, "pw", ACCEPT_FAST),
    assertCode("KEY_UNSUPPORTED", /"pbkdf2"/),
  );
  const otherCipher = editKeyFile(pem, (json) => {
    asRecord(json.cipher, "cipher").name = "aes-gcm";
  });
  await assert.rejects(
    decryptPrivateKey(otherCipher, "pw", ACCEPT_FAST),
    assertCode("KEY_UNSUPPORTED", /"aes-gcm"/),
  );
});

Deno.test("decryptPrivateKey() reports a flipped ciphertext byte as a failed decryption", async () => {
  const pem = encryptPrivateKey(await keyOf("ecdsa-p256"), "pw", FAST);
  for (const index of [0, 15, 16, 40]) {
    const edited = editKeyFile(pem, (json) => {
      const ciphertext = fromBase64(json.ciphertext as string);
      ciphertext[index]! ^= 0x01;
      json.ciphertext = toBase64(ciphertext);
    });
    // Secretbox authentication cannot tell a modified ciphertext from a wrong password.
    await assert.rejects(
      decryptPrivateKey(edited, "pw", ACCEPT_FAST),
      assertCode("KEY_WRONG_PASSWORD"),
    );
  }
});

Deno.test("decryptPrivateKey() refuses truncated and garbled files as malformed", async () => {
  const pem = encryptPrivateKey(await keyOf("ecdsa-p256"), "pw", FAST);
  const garbled = [
    pem.slice(0, pem.length - 40), // no END line
    pem.slice(0, 100), // cut mid-body
    encodePem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, decodePem(pem).bytes.slice(0, 200)), // cut JSON
    encodePem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, utf8("not json")),
    encodePem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, utf8("[]")),
    editKeyFile(pem, (json) => delete json.cipher),
    editKeyFile(pem, (json) => json.ciphertext = "%%%"),
    editKeyFile(pem, (json) => json.ciphertext = toBase64(new Uint8Array(15))),
    editKeyFile(pem, (json) => {
      asRecord(json.cipher, "cipher").nonce = toBase64(new Uint8Array(12));
    }),
    editKeyFile(pem, (json) => {
      asRecord(asRecord(json.kdf, "kdf").params, "params").N = "65536";
    }),
    pem + pem, // two blocks
    "",
  ];
  for (const [index, text] of garbled.entries()) {
    await assert.rejects(
      decryptPrivateKey(text, "pw", ACCEPT_FAST),
      assertCode("KEY_MALFORMED"),
      `case ${index}`,
    );
  }
});

Deno.test("decryptPrivateKey() refuses a plaintext that is not a key as malformed", async () => {
  const pem = encodePem(
    SIGSTORE_PRIVATE_KEY_PEM_TYPE,
    utf8(encryptSecret(utf8("hello"), "pw", FAST)),
  );
  await assert.rejects(decryptPrivateKey(pem, "pw", ACCEPT_FAST), assertCode("KEY_MALFORMED"));
});

Deno.test("decryptPrivateKey() refuses other PEM types as unsupported", async () => {
  const key = await keyOf("ecdsa-p256");
  await assert.rejects(
    decryptPrivateKey(key.toPem(), "pw"),
    assertCode("KEY_UNSUPPORTED", /"PRIVATE KEY"/),
  );
  await assert.rejects(
    decryptPrivateKey(key.publicKey.toPem(), "pw"),
    assertCode("KEY_UNSUPPORTED", /"PUBLIC KEY"/),
  );
});

Deno.test("decryptPrivateKey() refuses a file over 64 KiB before parsing it", async () => {
  const started = performance.now();
  const huge = `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----\n${"A".repeat(70_000)}\n`;
  await assert.rejects(
    decryptPrivateKey(huge, "pw"),
    assertCode("KEY_MALFORMED", /larger than 65536/),
  );
  await assert.rejects(
    decryptSecret(new Uint8Array(70_000), "pw"),
    assertCode("KEY_MALFORMED", /larger than/),
  );
  assert.ok(performance.now() - started < 1000);
});

Deno.test("encryptSecret() refuses a scrypt N that is not a power of two, and a short random source", () => {
  for (const scryptN of [0, 1, 1000, 3 * 1024, 2 ** 21, 1.5]) {
    assert.throws(() => encryptSecret(utf8("x"), "pw", { scryptN }), RangeError, String(scryptN));
  }
  assert.throws(
    () => encryptSecret(utf8("x"), "pw", { ...FAST, random: () => new Uint8Array(8) }),
    RangeError,
  );
});

Deno.test("encryptSecret() uses a fresh salt and nonce each time", () => {
  const a = encryptSecret(utf8("x"), "pw", FAST);
  const b = encryptSecret(utf8("x"), "pw", FAST);
  assert.notEqual(/"salt":"([^"]+)"/.exec(a)![1], /"salt":"([^"]+)"/.exec(b)![1]);
  assert.notEqual(/"nonce":"([^"]+)"/.exec(a)![1], /"nonce":"([^"]+)"/.exec(b)![1]);
});
