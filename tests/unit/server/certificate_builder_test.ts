import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { children, parseDer, readOid } from "../../../lib/util/der.ts";
import {
  basicConstraintsExtension,
  buildCertificate,
  createIntermediateCertificate,
  createLeafCertificate,
  createRootCertificate,
  finalizePrecertificate,
  keyUsageExtension,
  randomSerial,
} from "../../../server/fulcio/certificate_builder.ts";
import { removeCtExtensions } from "../../../lib/x509/sct.ts";
import { ecdsaRawToDer, PublicKey, type Signer } from "../../../lib/keys/public_key.ts";
import {
  KEY_USAGE_BITS,
  type KeyUsageName,
  parseCertificate,
} from "../../../lib/x509/certificate.ts";
import { OID } from "../../../lib/x509/oids.ts";
import { verifyCertificateChain } from "../../../lib/x509/chain.ts";
import { isCosignError } from "../../../lib/errors.ts";

const HASHES = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" } as const;

async function webCryptoSigner(kind: "P-256" | "P-384" | "Ed25519"): Promise<Signer> {
  const algorithm = kind === "Ed25519" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: kind };
  const pair = await crypto.subtle.generateKey(algorithm, false, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const publicKey = PublicKey.fromSpki(
    new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
  );
  return {
    publicKey,
    async sign(data, options) {
      const bytes = data as Uint8Array<ArrayBuffer>;
      if (kind === "Ed25519") {
        return new Uint8Array(await crypto.subtle.sign("Ed25519", pair.privateKey, bytes));
      }
      const hash = HASHES[options?.hash ?? publicKey.defaultHash];
      const raw = await crypto.subtle.sign({ name: "ECDSA", hash }, pair.privateKey, bytes);
      return ecdsaRawToDer(new Uint8Array(raw));
    },
  };
}

const T0 = new Date("2025-03-01T12:00:00Z");
const LATER = new Date("2035-03-01T12:00:00Z");

Deno.test("createRootCertificate() makes a self-signed CA that verifies as its own anchor path", async () => {
  for (const kind of ["P-256", "P-384", "Ed25519"] as const) {
    const key = await webCryptoSigner(kind);
    const root = await createRootCertificate(key, {
      subject: { O: "dcosign", CN: `root ${kind}` },
      notBefore: T0,
      notAfter: LATER,
    });
    assert.deepEqual(root.issuer.raw, root.subject.raw);
    assert.deepEqual(root.basicConstraints, { cA: true });
    assert.deepEqual(root.keyUsage, ["keyCertSign", "cRLSign"]);
    assert.equal(root.subjectKeyId?.length, 20);
    const inter = await createIntermediateCertificate(key, root, {
      subject: { CN: "intermediate" },
      publicKey: (await webCryptoSigner("P-256")).publicKey,
      notBefore: T0,
      notAfter: LATER,
    });
    assert.equal((await verifyCertificateChain(inter, { roots: [root], time: T0 })).length, 2);
  }
});

Deno.test("createLeafCertificate() follows the Fulcio profile", async () => {
  const ca = await webCryptoSigner("P-384");
  const root = await createRootCertificate(ca, {
    subject: { CN: "ca" },
    notBefore: T0,
    notAfter: LATER,
  });
  const leafKey = await webCryptoSigner("P-256");
  const leaf = await createLeafCertificate(ca, root, {
    publicKey: leafKey.publicKey,
    notBefore: T0,
    notAfter: new Date(T0.getTime() + 600_000),
    sans: [{ type: "email", value: "me@example.com" }],
  });
  const critical = (oid: string) => leaf.extensions.find((e) => e.oid === oid)?.critical;
  assert.equal(leaf.subject.text, "");
  assert.equal(critical(OID.SUBJECT_ALT_NAME), true);
  assert.equal(critical(OID.KEY_USAGE), true);
  assert.deepEqual(leaf.keyUsage, ["digitalSignature"]);
  assert.deepEqual(leaf.extKeyUsage, [OID.EKU_CODE_SIGNING]);
  assert.deepEqual(leaf.authorityKeyId, root.subjectKeyId);
  assert.equal(leaf.signatureAlgorithm, "1.2.840.10045.4.3.3");
  const named = await createLeafCertificate(ca, root, {
    publicKey: leafKey.publicKey,
    subject: { CN: "tsa" },
    notBefore: T0,
    notAfter: LATER,
    sans: [{ type: "dns", value: "tsa.example" }],
    extKeyUsage: [OID.EKU_TIME_STAMPING],
    criticalExtKeyUsage: true,
  });
  assert.equal(named.extensions.find((e) => e.oid === OID.SUBJECT_ALT_NAME)?.critical, false);
  assert.equal(named.extensions.find((e) => e.oid === OID.EXT_KEY_USAGE)?.critical, true);
  const chain = await verifyCertificateChain(named, {
    roots: [root],
    time: T0,
    requireTimeStamping: true,
  });
  assert.equal(chain.length, 2);
});

Deno.test("keyUsageExtension() writes minimal named bits and refuses empty or unknown usages", () => {
  // RFC 5280 section 4.2.1.3 examples: digitalSignature = 03 02 07 80; keyCertSign+cRLSign = 03 02 01 06.
  assert.deepEqual([...keyUsageExtension(["digitalSignature"]).value], [3, 2, 7, 0x80]);
  assert.deepEqual([...keyUsageExtension(["keyCertSign", "cRLSign"]).value], [3, 2, 1, 6]);
  assert.deepEqual([...keyUsageExtension(["decipherOnly"]).value], [3, 3, 7, 0, 0x80]);
  assert.throws(() => keyUsageExtension([]), TypeError);
  assert.throws(() => keyUsageExtension(["bogus" as KeyUsageName]), TypeError);
});

Deno.test("buildCertificate() writes what it was given and parses back", async () => {
  const ca = await webCryptoSigner("P-256");
  await fc.assert(
    fc.asyncProperty(
      fc.subarray([...KEY_USAGE_BITS], { minLength: 1 }),
      fc.nat(5),
      async (usages, pathLen) => {
        const cert = await buildCertificate({
          subject: { CN: "x" },
          issuer: { CN: "x" },
          publicKey: ca.publicKey,
          notBefore: T0,
          notAfter: LATER,
          serial: 42n,
          extensions: [
            keyUsageExtension(usages as KeyUsageName[]),
            basicConstraintsExtension(true, pathLen),
          ],
        }, ca);
        assert.deepEqual(cert.keyUsage, KEY_USAGE_BITS.filter((u) => usages.includes(u)));
        assert.deepEqual(cert.basicConstraints, { cA: true, pathLen });
        assert.equal(cert.serial, 42n);
        assert.deepEqual(parseCertificate(cert.raw).tbs, cert.tbs);
      },
    ),
    { numRuns: 20 },
  );
});

Deno.test("randomSerial() is 20 bytes and positive", () => {
  for (const fill of [0x00, 0xff, 0x80]) {
    const serial = randomSerial((n) => new Uint8Array(n).fill(fill));
    assert.equal(serial.length, 20);
    assert.equal(serial[0]! & 0x80, 0);
    assert.notEqual(serial[0], 0);
  }
  assert.throws(() => randomSerial(() => new Uint8Array(3)), RangeError);
});

Deno.test("finalizePrecertificate() swaps the poison for the SCT list and keeps the rest of the TBS", async () => {
  const ca = await webCryptoSigner("P-384");
  const root = await createRootCertificate(ca, {
    subject: { CN: "ca" },
    notBefore: T0,
    notAfter: LATER,
  });
  const leafKey = await webCryptoSigner("P-256");
  const precert = await createLeafCertificate(ca, root, {
    publicKey: leafKey.publicKey,
    notBefore: T0,
    notAfter: LATER,
    sans: [{ type: "uri", value: "https://example.com/ci" }],
    precertificate: true,
  });
  await assert.rejects(
    verifyCertificateChain(precert, { roots: [root], time: T0 }),
    (e) => isCosignError(e, "X509_CRITICAL_EXTENSION"),
  );
  const final = await finalizePrecertificate(ca, precert, []);
  const oids = children(parseDer(final.tbs)).at(-1)!;
  const listed = children(parseDer(oids.value)).map((ext) => readOid(children(ext)[0]!));
  assert.equal(listed.at(-1), OID.SCT_LIST);
  assert.ok(!listed.includes(OID.PRECERT_POISON));
  assert.deepEqual(removeCtExtensions(final.tbs), removeCtExtensions(precert.tbs));
  assert.equal((await verifyCertificateChain(final, { roots: [root], time: T0 })).length, 2);
  await assert.rejects(finalizePrecertificate(ca, final, []), TypeError);
});
