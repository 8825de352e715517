import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import type { Bytes } from "../../../lib/util/bytes.ts";
import {
  createLeafCertificate,
  createRootCertificate,
  finalizePrecertificate,
} from "../../../server/fulcio/certificate_builder.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  createEmbeddedSct,
  embeddedScts,
  encodeSct,
  encodeSctList,
  parseSct,
  parseSctList,
  type SignedCertificateTimestamp,
  verifyEmbeddedScts,
} from "../../../lib/x509/sct.ts";
import { ecdsaRawToDer, PublicKey, type Signer } from "../../../lib/keys/public_key.ts";
import type { TrustedLog } from "../../../lib/trust/trusted_root.ts";
import type { Certificate } from "../../../lib/x509/certificate.ts";

const HASHES = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" } as const;

async function ecdsaSigner(namedCurve: "P-256" | "P-384"): Promise<Signer> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve }, false, [
    "sign",
    "verify",
  ]);
  const publicKey = PublicKey.fromSpki(
    new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
  );
  return {
    publicKey,
    async sign(data, options) {
      const hash = HASHES[options?.hash ?? publicKey.defaultHash];
      const raw = await crypto.subtle.sign(
        { name: "ECDSA", hash },
        pair.privateKey,
        data as Uint8Array<ArrayBuffer>,
      );
      return ecdsaRawToDer(new Uint8Array(raw));
    },
  };
}

const T0 = new Date("2025-05-01T00:00:00Z");
const LATER = new Date("2030-01-01T00:00:00Z");

function ctLog(signer: Signer, validFor: TrustedLog["validFor"] = { start: T0 }): TrustedLog {
  return {
    baseUrl: "https://ct.example",
    logId: signer.publicKey.fingerprint(),
    key: signer.publicKey,
    keyDetails: "PKIX_ECDSA_P256_SHA_256",
    validFor,
  };
}

/** A CA, two CT logs, and a leaf with SCTs from the given logs. */
async function issue(logs: number[], extensions?: Uint8Array) {
  const ca = await ecdsaSigner("P-384");
  const root = await createRootCertificate(ca, {
    subject: { CN: "ca" },
    notBefore: T0,
    notAfter: LATER,
  });
  const logKeys = [await ecdsaSigner("P-256"), await ecdsaSigner("P-256")];
  const precert = await createLeafCertificate(ca, root, {
    publicKey: (await ecdsaSigner("P-256")).publicKey,
    notBefore: T0,
    notAfter: LATER,
    sans: [{ type: "email", value: "a@example.com" }],
    precertificate: true,
  });
  const scts: SignedCertificateTimestamp[] = [];
  for (const i of logs) {
    scts.push(
      await createEmbeddedSct(logKeys[i]!, precert, root.publicKey.spki, {
        timestamp: new Date(T0.getTime() + 1000),
        ...(extensions ? { extensions } : {}),
      }),
    );
  }
  const leaf = await finalizePrecertificate(ca, precert, scts);
  return { ca, root, leaf, logKeys, ctlogs: logKeys.map((k) => ctLog(k)) };
}

function flipSignatureByte(leaf: Certificate): SignedCertificateTimestamp[] {
  return embeddedScts(leaf).map((sct) => {
    const signature = Uint8Array.from(sct.signature) as Bytes;
    signature[signature.length - 1]! ^= 1;
    return { ...sct, signature };
  });
}

Deno.test("verifyEmbeddedScts() verifies SCTs made by createEmbeddedSct() over the precertificate", async () => {
  const { leaf, root, ctlogs } = await issue([0]);
  const verified = await verifyEmbeddedScts(leaf, root, ctlogs);
  assert.equal(verified.length, 1);
  assert.deepEqual(verified[0]!.log.logId, ctlogs[0]!.logId);
  assert.equal(verified[0]!.sct.timestamp, BigInt(T0.getTime() + 1000));
});

Deno.test("verifyEmbeddedScts() accepts an SCT with non-empty extensions (static CT)", async () => {
  const { leaf, root, ctlogs } = await issue([0], Uint8Array.of(0, 0, 5, 0, 0, 0, 0, 7));
  assert.equal(embeddedScts(leaf)[0]!.extensions.length, 8);
  assert.equal((await verifyEmbeddedScts(leaf, root, ctlogs)).length, 1);
});

Deno.test("verifyEmbeddedScts() fails with a flipped signature byte, an unknown log, or outside the key validity", async () => {
  const { leaf, root, ctlogs, ca } = await issue([0]);
  const flippedScts = flipSignatureByte(leaf);
  const tampered = await finalizePrecertificate(
    ca,
    await createLeafCertificate(ca, root, {
      publicKey: leaf.publicKey,
      notBefore: T0,
      notAfter: LATER,
      precertificate: true,
    }),
    flippedScts,
  );
  await assert.rejects(
    verifyEmbeddedScts(tampered, root, ctlogs),
    (e) => isCosignError(e, "X509_SCT_UNVERIFIED"),
  );
  await assert.rejects(
    verifyEmbeddedScts(leaf, root, [ctlogs[1]!]),
    (e) => isCosignError(e, "X509_SCT_UNVERIFIED") && /no CT log/.test(e.message),
  );
  const expired = { ...ctlogs[0]!, validFor: { start: new Date(0), end: T0 } };
  await assert.rejects(
    verifyEmbeddedScts(leaf, root, [expired]),
    (e) =>
      isCosignError(e, "X509_SCT_UNVERIFIED") && /outside the CT log key validity/.test(e.message),
  );
  const broken = { ...ctlogs[0]!, problem: "validFor has no start" };
  await assert.rejects(
    verifyEmbeddedScts(leaf, root, [broken]),
    (e) => isCosignError(e, "X509_SCT_UNVERIFIED") && /validFor has no start/.test(e.message),
  );
});

Deno.test("verifyEmbeddedScts() binds the issuer key hash to the verified chain", async () => {
  const { leaf, ctlogs } = await issue([0]);
  const other = await issue([]);
  await assert.rejects(
    verifyEmbeddedScts(leaf, other.root, ctlogs),
    (e) => isCosignError(e, "X509_SCT_UNVERIFIED"),
  );
});

Deno.test("verifyEmbeddedScts() counts the threshold per distinct log", async () => {
  const twice = await issue([0, 0]);
  assert.equal(embeddedScts(twice.leaf).length, 2);
  await assert.rejects(
    verifyEmbeddedScts(twice.leaf, twice.root, twice.ctlogs, { threshold: 2 }),
    (e) => isCosignError(e, "X509_SCT_UNVERIFIED"),
  );
  const both = await issue([0, 1]);
  assert.equal(
    (await verifyEmbeddedScts(both.leaf, both.root, both.ctlogs, { threshold: 2 })).length,
    2,
  );
  await assert.rejects(
    verifyEmbeddedScts(both.leaf, both.root, both.ctlogs, { threshold: 0 }),
    RangeError,
  );
});

Deno.test("embeddedScts() reports a certificate without SCTs, and parseSctList() malformed lists", async () => {
  const ca = await ecdsaSigner("P-256");
  const root = await createRootCertificate(ca, {
    subject: { CN: "ca" },
    notBefore: T0,
    notAfter: LATER,
  });
  assert.throws(() => embeddedScts(root), (e) => isCosignError(e, "X509_SCT_MISSING"));
  await assert.rejects(
    verifyEmbeddedScts(root, root, []),
    (e) => isCosignError(e, "X509_SCT_MISSING"),
  );
  for (const bad of [[0], [0, 5, 0], [0, 3, 0, 1, 0], [0, 0, 1]]) {
    assert.throws(
      () => parseSctList(Uint8Array.from(bad)),
      (e) => isCosignError(e, "X509_SCT_MALFORMED"),
    );
  }
});

Deno.test("encodeSctList() and parseSctList() round-trip", () => {
  const sct = fc.record({
    version: fc.constant(0),
    logId: fc.uint8Array({ minLength: 32, maxLength: 32 }),
    timestamp: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    extensions: fc.uint8Array({ maxLength: 40 }),
    hashAlgorithm: fc.integer({ min: 0, max: 255 }),
    signatureAlgorithm: fc.integer({ min: 0, max: 255 }),
    signature: fc.uint8Array({ maxLength: 80 }),
  });
  fc.assert(
    fc.property(fc.array(sct, { maxLength: 4 }), (scts) => {
      const list = scts.map((s) => ({ ...s })) as SignedCertificateTimestamp[];
      assert.deepEqual(parseSctList(encodeSctList(list)), list);
      for (const one of list) assert.deepEqual(parseSct(encodeSct(one)), one);
    }),
  );
});
