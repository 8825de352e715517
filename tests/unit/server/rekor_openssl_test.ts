/**
 * server/rekor/_openssl_ecdsa.ts: the embedded Rekor's OpenSSL-backed check of ECDSA over a
 * digest answers exactly as the library's pure-JS `verifyPrehashed`, input by input: honest
 * signatures on P-256, P-384 and P-521 with each hash, a flipped byte, another digest, a short
 * digest, the high-S twin (both accept, as cosign does), BER and raw r||s encodings (both
 * refuse), garbage, and RSA (handed to the library). Its signer (the log key's SETs and
 * checkpoints) makes DER signatures the library verifies. A file-backed log that uses both
 * refuses a forged hashedrekord. A process using OpenSSL on several threads exits cleanly (it
 * crashed at exit, a few runs in a hundred, before OpenSSL's exit handler was turned off).
 * Needs the system's libcrypto (Debian's libssl3).
 */

import assert from "node:assert/strict";
import { p256, p384, p521 } from "../../../lib/_deps/curves.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import {
  ecdsaRawToDer,
  ecdsaSignatureToRaw,
  type KeyKind,
  verifyPrehashed,
  verifySignature,
} from "../../../lib/keys/public_key.ts";
import { digest, type HashName, sha256, utf8 } from "../../../lib/util/bytes.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { openSslPrehashedVerifier, openSslSigner } from "../../../server/rekor/_openssl_ecdsa.ts";
import { TransparencyLog } from "../../../server/rekor/transparency_log.ts";
import { REPO_ROOT, requireComponents, tempDir } from "../../_support.ts";

const viaOpenSsl = openSslPrehashedVerifier();

const ORDERS: Partial<Record<KeyKind, bigint>> = {
  "ecdsa-p256": p256.Point.CURVE().n,
  "ecdsa-p384": p384.Point.CURVE().n,
  "ecdsa-p521": p521.Point.CURVE().n,
};

/** The same signature with s replaced by n - s (valid too: ECDSA is malleable in s). */
function highS(key: PrivateKey, der: Uint8Array): Uint8Array {
  const size = key.publicKey.curveSize;
  const raw = ecdsaSignatureToRaw(der, size)!;
  const s = BigInt(`0x${raw.slice(size).toHex()}`);
  const flipped = ORDERS[key.kind]! - s;
  const bytes = Uint8Array.fromHex(flipped.toString(16).padStart(2 * size, "0"));
  return ecdsaRawToDer(Uint8Array.of(...raw.slice(0, size), ...bytes));
}

/** r with a redundant leading zero byte: BER, not DER. */
function padded(der: Uint8Array): Uint8Array {
  const rLength = der[3]!;
  const body = [0x02, rLength + 1, 0x00, ...der.slice(4)];
  return Uint8Array.of(0x30, body.length, ...body);
}

if (
  requireComponents("OpenSSL prehashed ECDSA (libcrypto.so.3)", {
    name: "libcrypto through FFI",
    present: () => viaOpenSsl !== undefined,
  })
) {
  for (
    const [kind, hash] of [
      ["ecdsa-p256", "sha256"],
      ["ecdsa-p256", "sha512"],
      ["ecdsa-p384", "sha384"],
      ["ecdsa-p521", "sha512"],
    ] as const
  ) {
    Deno.test(`OpenSSL and pure JS agree on ${kind} over ${hash}, input by input`, async () => {
      const key = await generateKeyPair({ kind });
      const message = utf8(`openssl ${kind} ${hash}`);
      const signature = await key.sign(message, { hash });
      const hashed = digest(hash as HashName, message);
      const flipped = Uint8Array.from(signature);
      flipped[flipped.length - 3]! ^= 1;
      const cases: [string, Uint8Array, Uint8Array, boolean][] = [
        ["honest", hashed, signature, true],
        ["high-S twin", hashed, highS(key, signature), true],
        ["flipped byte", hashed, flipped, false],
        ["another digest", digest(hash as HashName, utf8("another")), signature, false],
        ["short digest", hashed.slice(1), signature, false],
        ["BER r", hashed, padded(signature), false],
        ["raw r||s", hashed, ecdsaSignatureToRaw(signature, key.publicKey.curveSize)!, false],
        ["garbage", hashed, utf8("not a signature"), false],
        ["empty", hashed, new Uint8Array(), false],
      ];
      for (const [name, digestBytes, sig, expected] of cases) {
        const js = await verifyPrehashed(key.publicKey, digestBytes, sig, hash);
        const ossl = await viaOpenSsl!(key.publicKey, digestBytes, sig, hash);
        assert.equal(js, expected, `pure JS, ${name}`);
        assert.equal(ossl, expected, `OpenSSL, ${name}`);
      }
      // A signature by another key of the same curve.
      const other = await generateKeyPair({ kind });
      assert.equal(await viaOpenSsl!(other.publicKey, hashed, signature, hash), false);
    });
  }

  Deno.test("OpenSSL path hands RSA to the library, with the library's answers", async () => {
    const key = await generateKeyPair({ kind: "rsa" });
    const message = utf8("openssl rsa");
    const signature = await key.sign(message);
    assert.equal(await viaOpenSsl!(key.publicKey, sha256(message), signature, "sha256"), true);
    assert.equal(await viaOpenSsl!(key.publicKey, sha256(utf8("x")), signature, "sha256"), false);
  });

  for (const kind of ["ecdsa-p256", "ecdsa-p384"] as const) {
    Deno.test(`OpenSSL signs with a ${kind} log key: DER the library verifies, other hashes by the key`, async () => {
      const key = await generateKeyPair({ kind });
      const data = utf8(`signed by OpenSSL ${kind}`);
      using signer = openSslSigner(key)!;
      assert.ok(signer, "a signer for an ECDSA key");
      const signature = await signer.sign(data);
      assert.ok(ecdsaSignatureToRaw(signature, key.publicKey.curveSize), "strict DER");
      assert.equal(await verifySignature(key.publicKey, data, signature), true);
      assert.equal(await verifySignature(key.publicKey, utf8("other"), signature), false);
      // Another hash than the key's default is the library's signature, still valid.
      const sha512 = await signer.sign(data, { hash: "sha512" });
      assert.equal(await verifySignature(key.publicKey, data, sha512, { hash: "sha512" }), true);
    });
  }

  Deno.test("the OpenSSL signer refuses to sign once disposed of, and takes no RSA or Ed25519 key", async () => {
    const signer = openSslSigner(await generateKeyPair())!;
    signer[Symbol.dispose]();
    await assert.rejects(signer.sign(utf8("late")), /disposed/);
    assert.equal(openSslSigner(await generateKeyPair({ kind: "ed25519" })), undefined);
    assert.equal(openSslSigner(await generateKeyPair({ kind: "rsa" })), undefined);
  });

  Deno.test("a file-backed log checking with OpenSSL refuses a forged hashedrekord", async () => {
    await using dir = await tempDir();
    await using log = await TransparencyLog.open(`${dir.path}/log.db`, { workers: 0 });
    const key = await generateKeyPair();
    const artifact = utf8("forged artifact");
    const proposal = (value: string) => ({
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value } },
        signature: {
          content: "",
          publicKey: { content: btoa(key.publicKey.toPem()) },
        },
      },
    });
    const honest = proposal(sha256(artifact).toHex());
    honest.spec.signature.content = (await key.sign(artifact)).toBase64();
    const forged = structuredClone(honest);
    forged.spec.data.hash.value = sha256(utf8("something else")).toHex();
    await assert.rejects(log.append(forged), (e) => isCosignError(e, "REKOR_ENTRY_INVALID"));
    assert.equal((await log.append(honest)).created, true);
    assert.equal(log.size, 1n);
  });
}

if (viaOpenSsl) {
  Deno.test("processes signing and verifying with OpenSSL on four threads exit cleanly, 40 times in a row", async () => {
    await using dir = await tempDir();
    const binding = new URL("server/rekor/_openssl_ecdsa.ts", `file://${REPO_ROOT}`).href;
    const keys = new URL("lib/keys/private_key.ts", `file://${REPO_ROOT}`).href;
    const bytes = new URL("lib/util/bytes.ts", `file://${REPO_ROOT}`).href;
    await Deno.writeTextFile(
      `${dir.path}/work.ts`,
      `import { openSslPrehashedVerifier, openSslSigner } from "${binding}";
import { generateKeyPair } from "${keys}";
import { sha256 } from "${bytes}";
const key = await generateKeyPair();
const signer = openSslSigner(key)!;
const verify = openSslPrehashedVerifier()!;
const data = new Uint8Array(100);
for (let i = 0; i < 200; i++) {
  if (!(await verify(key.publicKey, sha256(data), await signer.sign(data), "sha256"))) throw new Error("no");
}
`,
    );
    // Exit while the workers still work: the moment OpenSSL's exit handler used to race them.
    await Deno.writeTextFile(
      `${dir.path}/main.ts`,
      `for (let i = 0; i < 4; i++) new Worker(new URL("./work.ts", import.meta.url), { type: "module" });
await import("./work.ts");
await new Promise((resolve) => setTimeout(resolve, Number(Deno.args[0])));
Deno.exit(0);
`,
    );
    for (let run = 0; run < 40; run++) {
      const { code, signal } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-lock", `${dir.path}/main.ts`, String((run % 5) * 20)],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.equal(code, 0, `run ${run} ended with code ${code}, signal ${signal}`);
    }
  });
}

Deno.test("DCOSIGN_OPENSSL=0 turns the binding off (the pure-JS path is used)", () => {
  Deno.env.set("DCOSIGN_OPENSSL", "0");
  try {
    assert.equal(openSslPrehashedVerifier(), undefined);
  } finally {
    Deno.env.delete("DCOSIGN_OPENSSL");
  }
});
