import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { derSequence, parseDer } from "../../../lib/util/der.ts";
import { encodePem } from "../../../lib/util/pem.ts";
import {
  createIntermediateCertificate,
  createLeafCertificate,
  createRootCertificate,
  customExtension,
  encodeName,
  fulcioExtension,
} from "../../../server/fulcio/certificate_builder.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { ecdsaRawToDer, PublicKey, type Signer } from "../../../lib/keys/public_key.ts";
import type { TrustedAuthority } from "../../../lib/trust/trusted_root.ts";
import {
  parseCertificate,
  parseCertificatePem,
  parseCertificatesPem,
} from "../../../lib/x509/certificate.ts";
import { OID } from "../../../lib/x509/oids.ts";
import { parseName } from "../../../lib/x509/names.ts";
import { certificateIdentity } from "../../../lib/x509/identity.ts";
import {
  clearCertificateSignatureCache,
  isSignedBy,
  verifyCertificateChain,
  verifyFulcioChain,
} from "../../../lib/x509/chain.ts";

const HASHES = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" } as const;

/** A WebCrypto ECDSA signer (lib/keys/private_key.ts is someone else's; this keeps the test standalone). */
async function ecdsaSigner(namedCurve: "P-256" | "P-384"): Promise<Signer> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve }, false, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const publicKey = PublicKey.fromSpki(spki);
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

const T0 = new Date("2025-01-01T00:00:00Z");
const YEAR = 365 * 24 * 3600 * 1000;
const at = (ms: number) => new Date(T0.getTime() + ms);

async function pki(options: { intermediateNotAfter?: Date } = {}) {
  const rootKey = await ecdsaSigner("P-384");
  const intKey = await ecdsaSigner("P-384");
  const leafKey = await ecdsaSigner("P-256");
  const root = await createRootCertificate(rootKey, {
    subject: { O: "sigstore.dev", CN: "sigstore" },
    notBefore: T0,
    notAfter: at(10 * YEAR),
  });
  const intermediate = await createIntermediateCertificate(rootKey, root, {
    subject: { O: "sigstore.dev", CN: "sigstore-intermediate" },
    publicKey: intKey.publicKey,
    notBefore: T0,
    notAfter: options.intermediateNotAfter ?? at(10 * YEAR),
    extKeyUsage: [OID.EKU_CODE_SIGNING],
  });
  const leaf = await createLeafCertificate(intKey, intermediate, {
    publicKey: leafKey.publicKey,
    notBefore: at(YEAR),
    notAfter: at(YEAR + 600_000),
    sans: [{
      type: "uri",
      value: "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main",
    }],
    extensions: [
      fulcioExtension("1.3.6.1.4.1.57264.1.1", "https://token.actions.githubusercontent.com"),
      fulcioExtension("1.3.6.1.4.1.57264.1.2", "push"),
      fulcioExtension("1.3.6.1.4.1.57264.1.8", "https://token.actions.githubusercontent.com"),
      fulcioExtension("1.3.6.1.4.1.57264.1.12", "https://github.com/o/r"),
    ],
  });
  return { rootKey, intKey, leafKey, root, intermediate, leaf };
}

Deno.test("parseCertificate() reads names, validity, key, extensions and keeps raw bytes", async () => {
  const { leaf, intermediate } = await pki();
  const again = parseCertificate(leaf.raw);
  assert.equal(again.version, 3);
  assert.equal(again.issuer.text, "CN=sigstore-intermediate,O=sigstore.dev");
  assert.deepEqual(again.issuer.raw, intermediate.subject.raw);
  assert.equal(again.subject.text, "");
  assert.deepEqual(again.notAfter, at(YEAR + 600_000));
  assert.equal(again.publicKey.kind, "ecdsa-p256");
  assert.equal(again.signatureAlgorithm, "1.2.840.10045.4.3.3");
  assert.deepEqual(again.keyUsage, ["digitalSignature"]);
  assert.deepEqual(again.extKeyUsage, [OID.EKU_CODE_SIGNING]);
  assert.deepEqual(again.authorityKeyId, intermediate.subjectKeyId);
  assert.ok(again.serial > 0n);
  assert.deepEqual(intermediate.basicConstraints, { cA: true, pathLen: 0 });
  const san = again.extensions.find((e) => e.oid === OID.SUBJECT_ALT_NAME);
  assert.equal(san?.critical, true);
  assert.deepEqual(parseDer(again.tbs).raw, again.tbs);
});

Deno.test("certificateIdentity() follows sigstore-go: URI, issuer .8 over .1, GitHub .2-.6", async () => {
  const { leaf } = await pki();
  const id = certificateIdentity(leaf);
  assert.equal(id.san, "https://github.com/o/r/.github/workflows/w.yml@refs/heads/main");
  assert.equal(id.issuer, "https://token.actions.githubusercontent.com");
  assert.deepEqual(id.githubWorkflow, { trigger: "push" });
  assert.equal(id.extensions.sourceRepositoryUri, "https://github.com/o/r");
  assert.equal(id.extensions.issuerV2, "https://token.actions.githubusercontent.com");
});

Deno.test("certificateIdentity() falls back to email, then the Fulcio otherName", async () => {
  const { intKey, intermediate, leafKey } = await pki();
  const make = (sans: Parameters<typeof createLeafCertificate>[2]["sans"]) =>
    createLeafCertificate(intKey, intermediate, {
      publicKey: leafKey.publicKey,
      notBefore: T0,
      notAfter: at(600_000),
      ...(sans ? { sans } : {}),
      extensions: [fulcioExtension("1.3.6.1.4.1.57264.1.1", "https://raw.issuer")],
    });
  const email = certificateIdentity(
    await make([{ type: "dns", value: "x.example" }, { type: "email", value: "a@b.c" }]),
  );
  assert.equal(email.san, "a@b.c");
  assert.equal(email.issuer, "https://raw.issuer");
  const other = certificateIdentity(await make([{ type: "otherName", value: "foo!oidc.local" }]));
  assert.equal(other.san, "foo!oidc.local");
  assert.equal(other.sans[0]?.oid, OID.FULCIO_OTHERNAME);
  assert.equal(certificateIdentity(await make(undefined)).san, undefined);
});

Deno.test("parseCertificate() rejects truncated, trailing and duplicate-extension input", async () => {
  const { leaf, intKey, intermediate, leafKey } = await pki();
  const expectMalformed = (bytes: Uint8Array) =>
    assert.throws(() => parseCertificate(bytes), (e) => isCosignError(e, "X509_MALFORMED"));
  expectMalformed(leaf.raw.subarray(0, leaf.raw.length - 1));
  expectMalformed(Uint8Array.of(...leaf.raw, 0));
  expectMalformed(new Uint8Array(0));
  expectMalformed(derSequence());
  expectMalformed(new Uint8Array(70 * 1024));
  const dup = await createLeafCertificate(intKey, intermediate, {
    publicKey: leafKey.publicKey,
    notBefore: T0,
    notAfter: at(1000),
    extensions: [customExtension("1.2.3.4", "a"), customExtension("1.2.3.4", "b")],
  }).catch((e) => e);
  assert.ok(isCosignError(dup, "X509_MALFORMED"), String(dup));
});

Deno.test("parseCertificatesPem() keeps order and refuses other PEM types", async () => {
  const { leaf, intermediate } = await pki();
  const pem = encodePem("CERTIFICATE", leaf.raw) + encodePem("CERTIFICATE", intermediate.raw);
  const certs = parseCertificatesPem(pem);
  assert.deepEqual(certs.map((c) => c.raw), [leaf.raw, intermediate.raw]);
  assert.throws(() => parseCertificatePem(pem), (e) => isCosignError(e, "X509_MALFORMED"));
  assert.throws(() => parseCertificatesPem(""), (e) => isCosignError(e, "X509_MALFORMED"));
  assert.throws(
    () => parseCertificatesPem(encodePem("PUBLIC KEY", leaf.publicKey.spki)),
    (e) => isCosignError(e, "X509_MALFORMED"),
  );
});

Deno.test("encodeName() and parseName() round-trip any attribute values", () => {
  fc.assert(
    fc.property(
      fc.string({ maxLength: 40 }),
      fc.string({ minLength: 1, maxLength: 40 }),
      (o, cn) => {
        const name = parseName(parseDer(encodeName({ O: o, CN: cn })));
        assert.deepEqual(name.rdns.map((rdn) => rdn[0]?.value), [o, cn]);
      },
    ),
  );
});

Deno.test("verifyCertificateChain() returns leaf..anchor and caches the signatures", async () => {
  const { leaf, intermediate, root } = await pki();
  clearCertificateSignatureCache();
  const chain = await verifyCertificateChain(leaf, {
    roots: [root],
    intermediates: [intermediate],
    time: at(YEAR + 1000),
    requireCodeSigning: true,
  });
  assert.deepEqual(chain.map((c) => c.raw), [leaf.raw, intermediate.raw, root.raw]);
  const again = await verifyCertificateChain(leaf, {
    roots: [root],
    intermediates: [intermediate],
    times: [at(YEAR), at(YEAR + 600_000)],
  });
  assert.equal(again.length, 3);
});

Deno.test("verifyCertificateChain() fails when an intermediate expired before the signing time (SECURITY row 8)", async () => {
  const { leaf, intermediate, root } = await pki({ intermediateNotAfter: at(YEAR - 1) });
  await assert.rejects(
    verifyCertificateChain(leaf, { roots: [root], intermediates: [intermediate], time: at(YEAR) }),
    (e) => isCosignError(e, "X509_OUTSIDE_VALIDITY") && /sigstore-intermediate/.test(e.message),
  );
});

Deno.test("verifyCertificateChain() checks every certificate at every time", async () => {
  const { leaf, intermediate, root } = await pki();
  await assert.rejects(
    verifyCertificateChain(leaf, {
      roots: [root],
      intermediates: [intermediate],
      times: [at(YEAR), at(YEAR + 600_001)],
    }),
    (e) => isCosignError(e, "X509_OUTSIDE_VALIDITY"),
  );
  await assert.rejects(
    verifyCertificateChain(leaf, { roots: [root], intermediates: [intermediate] }),
    TypeError,
  );
});

Deno.test("verifyCertificateChain() takes anchors only from roots, never from intermediates", async () => {
  const { leaf, intermediate, root } = await pki();
  const other = await pki();
  await assert.rejects(
    verifyCertificateChain(leaf, {
      roots: [other.root],
      intermediates: [intermediate, root],
      time: at(YEAR),
    }),
    // The supplied root has the other root's name but not its key: never an anchor.
    (e) => isCosignError(e, "X509_BAD_SIGNATURE") || isCosignError(e, "X509_NO_CHAIN"),
  );
  await assert.rejects(
    verifyCertificateChain(leaf, {
      roots: [],
      intermediates: [intermediate, root],
      time: at(YEAR),
    }),
    (e) => isCosignError(e, "X509_NO_CHAIN"),
  );
});

Deno.test("verifyCertificateChain() rejects a wrong signature and a missing EKU", async () => {
  const { leaf, intermediate, root, intKey } = await pki();
  const impostor = await ecdsaSigner("P-384");
  const forged = await createLeafCertificate(impostor, intermediate, {
    publicKey: intKey.publicKey,
    notBefore: T0,
    notAfter: at(2 * YEAR),
    extKeyUsage: ["1.3.6.1.5.5.7.3.1"],
  });
  const opts = { roots: [root], intermediates: [intermediate], time: at(YEAR) };
  await assert.rejects(
    verifyCertificateChain(forged, opts),
    (e) => isCosignError(e, "X509_BAD_SIGNATURE"),
  );
  const wrongEku = await createLeafCertificate(intKey, intermediate, {
    publicKey: intKey.publicKey,
    notBefore: T0,
    notAfter: at(2 * YEAR),
    extKeyUsage: ["1.3.6.1.5.5.7.3.1"],
  });
  await assert.rejects(
    verifyCertificateChain(wrongEku, { ...opts, requireCodeSigning: true }),
    (e) => isCosignError(e, "X509_EXT_KEY_USAGE"),
  );
  assert.equal((await verifyCertificateChain(wrongEku, opts)).length, 3);
  assert.equal(await isSignedBy(leaf, root, false), false);
});

Deno.test("verifyFulcioChain() uses only authorities valid at the time and reports problems", async () => {
  const { leaf, intermediate, root } = await pki();
  const authority = (extra: Partial<TrustedAuthority>): TrustedAuthority => ({
    subject: {},
    uri: "https://fulcio.example",
    certificates: [intermediate.raw, root.raw],
    validFor: { start: T0 },
    ...extra,
  });
  const ok = await verifyFulcioChain(leaf, { certificateAuthorities: [authority({})] }, [at(YEAR)]);
  assert.equal(ok.authority.uri, "https://fulcio.example");
  assert.equal(ok.chain.length, 3);
  await assert.rejects(
    verifyFulcioChain(leaf, {
      certificateAuthorities: [authority({ validFor: { start: T0, end: at(YEAR - 1) } })],
    }, [at(YEAR)]),
    (e) => isCosignError(e, "X509_NO_TRUSTED_CA") && /not valid at/.test(e.message),
  );
  await assert.rejects(
    verifyFulcioChain(leaf, {
      certificateAuthorities: [authority({ problem: "validFor has no start" })],
    }, [at(YEAR)]),
    (e) => isCosignError(e, "X509_NO_TRUSTED_CA") && /validFor has no start/.test(e.message),
  );
  await assert.rejects(
    verifyFulcioChain(leaf, { certificateAuthorities: [] }, [at(YEAR)]),
    (e) => isCosignError(e, "X509_NO_TRUSTED_CA"),
  );
});
