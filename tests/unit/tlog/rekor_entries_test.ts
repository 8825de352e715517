import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { INTEROP, readInteropText, requireComponents } from "../../_support.ts";
import { caseArtifact, CASES, loadBundleFixture } from "../../interop/_tlog_fixtures.ts";
import { type Bytes, concat, fromBase64, sha256, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { encodePem } from "../../../lib/util/pem.ts";
import { canonicalizeJson } from "../../../lib/util/canonical_json.ts";
import { createRootCertificate } from "../../../server/fulcio/certificate_builder.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import { hashLeaf } from "../../../lib/tlog/merkle.ts";
import {
  ecdsaRawToDer,
  ecdsaSignatureToRaw,
  verifyPrehashed,
} from "../../../lib/keys/public_key.ts";
import { canonicalizeProposedEntry } from "../../../lib/tlog/rekor/canonicalize.ts";
import {
  buildDsseEntry,
  buildHashedRekordEntry,
  buildIntotoEntry,
  checkEntryBinding,
  sameEntryContent,
} from "../../../lib/tlog/rekor/entries.ts";
import { MAX_ENTRY_BODY_BYTES, parseEntryBody } from "../../../lib/tlog/rekor/bodies.ts";

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function rejects(code: string) {
  return (error: unknown) => {
    assert.ok(isCosignError(error), `expected a CosignError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return true;
  };
}

function pae(type: string, payload: Uint8Array): Bytes {
  return concat(utf8(`DSSEv1 ${utf8(type).length} ${type} ${payload.length} `), payload);
}

async function selfSignedCert(key: PrivateKey): Promise<Bytes> {
  const cert = await createRootCertificate(key, {
    subject: { CN: "test" },
    notBefore: new Date("2025-01-01T00:00:00Z"),
    notAfter: new Date("2035-01-01T00:00:00Z"),
  });
  return cert.raw;
}

// ---------------------------------------------------------------------------------------------
// Building, canonicalizing and parsing our own entries

Deno.test("a hashedrekord entry built, canonicalized and parsed binds its digest, signature and key", async () => {
  const key = await generateKeyPair();
  const artifact = utf8("hello");
  const digest = sha256(artifact);
  const signature = key.signPrehashed(digest, "sha256");
  const proposed = buildHashedRekordEntry({
    digest: { algorithm: "sha256", value: digest },
    signature,
    verifierPem: key.publicKey.toPem(),
  });
  const canonical = await canonicalizeProposedEntry(proposed);
  assert.equal(canonical.uuid, hashLeaf(canonical.body).toHex());
  assert.equal(
    new TextDecoder().decode(canonical.body),
    canonicalizeJson({
      apiVersion: "0.0.1",
      kind: "hashedrekord",
      spec: {
        data: { hash: { algorithm: "sha256", value: digest.toHex() } },
        signature: {
          content: toBase64(signature),
          publicKey: { content: toBase64(utf8(key.publicKey.toPem())) },
        },
      },
    }),
  );
  const body = parseEntryBody(canonical.body);
  assert.equal(body.kind, "hashedrekord");
  checkEntryBinding(body, {
    signature,
    publicKeyOrCertificateDer: key.publicKey.spki,
    artifactDigest: { algorithm: "sha256", digest },
  });
  assert.ok(sameEntryContent(body, canonical.entry));
});

Deno.test("checkEntryBinding() rejects an entry for another artifact digest, signature or key", async () => {
  const key = await generateKeyPair();
  const other = await generateKeyPair();
  const digest = sha256(utf8("artifact"));
  const signature = key.signPrehashed(digest, "sha256");
  const { entry } = await canonicalizeProposedEntry(buildHashedRekordEntry({
    digest: { algorithm: "sha256", value: digest },
    signature,
    verifierPem: key.publicKey.toPem(),
  }));
  // ECDSA signatures are malleable: (r, n - s) verifies too, and is not the logged signature.
  const raw = ecdsaSignatureToRaw(signature, 32)!;
  const s = BigInt(`0x${raw.subarray(32).toHex()}`);
  const flipped = (P256_ORDER - s).toString(16).padStart(64, "0");
  const ecdsaOther = ecdsaRawToDer(concat(raw.subarray(0, 32), Uint8Array.fromHex(flipped)));
  assert.ok(await verifyPrehashed(key.publicKey, digest, ecdsaOther, "sha256"));
  const good = {
    signature,
    publicKeyOrCertificateDer: key.publicKey.spki,
    artifactDigest: { algorithm: "sha256" as const, digest },
  };
  checkEntryBinding(entry, good);
  assert.throws(
    () =>
      checkEntryBinding(entry, {
        ...good,
        artifactDigest: { algorithm: "sha256", digest: sha256(utf8("other")) },
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  assert.throws(
    () => checkEntryBinding(entry, { ...good, artifactDigest: { algorithm: "sha512", digest } }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  assert.throws(
    () => checkEntryBinding(entry, { ...good, signature: ecdsaOther }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  assert.throws(
    () => checkEntryBinding(entry, { ...good, publicKeyOrCertificateDer: other.publicKey.spki }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  assert.throws(
    () =>
      checkEntryBinding(entry, {
        ...good,
        dsseEnvelope: { payloadType: "t", payload: utf8("p") },
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  // Binding to nothing would succeed vacuously: missing expectations are a caller error.
  const { signature: _s, ...noSignature } = good;
  const { artifactDigest: _a, ...noDigest } = good;
  assert.throws(() => checkEntryBinding(entry, noSignature), TypeError);
  assert.throws(() => checkEntryBinding(entry, { signature }), TypeError);
  assert.throws(() => checkEntryBinding(entry, noDigest), TypeError);
});

Deno.test("canonicalizeProposedEntry() refuses signatures that do not verify and unsupported kinds", async () => {
  const key = await generateKeyPair();
  const digest = sha256(utf8("a"));
  const wrong = key.signPrehashed(sha256(utf8("b")), "sha256");
  await assert.rejects(
    canonicalizeProposedEntry(buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: digest },
      signature: wrong,
      verifierPem: key.publicKey.toPem(),
    })),
    rejects("REKOR_ENTRY_INVALID"),
  );
  const ed = await generateKeyPair({ kind: "ed25519" });
  await assert.rejects(
    canonicalizeProposedEntry(buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: digest },
      signature: new Uint8Array(64),
      verifierPem: ed.publicKey.toPem(),
    })),
    rejects("REKOR_ENTRY_UNSUPPORTED"),
  );
  await assert.rejects(
    canonicalizeProposedEntry({ apiVersion: "0.0.1", kind: "rekord", spec: {} }),
    rejects("REKOR_ENTRY_UNSUPPORTED"),
  );
  for (
    const bad of [
      null,
      "x",
      { kind: "hashedrekord", apiVersion: "0.0.1" },
      { kind: "hashedrekord", apiVersion: "0.0.1", spec: { data: null } },
      {
        kind: "hashedrekord",
        apiVersion: "0.0.1",
        spec: {
          data: { hash: { algorithm: "sha256", value: "zz".repeat(32) } },
          signature: { content: "AA==", publicKey: { content: "AA==" } },
        },
      },
      {
        kind: "hashedrekord",
        apiVersion: "0.0.1",
        spec: {
          data: { hash: { algorithm: "md5", value: "00".repeat(16) } },
          signature: { content: "AA==", publicKey: { content: "AA==" } },
        },
      },
      {
        kind: "dsse",
        apiVersion: "0.0.1",
        spec: { proposedContent: { envelope: "{not json", verifiers: [] } },
      },
      {
        kind: "intoto",
        apiVersion: "0.0.2",
        spec: { content: { envelope: { payloadType: "x", payload: "@@", signatures: [null] } } },
      },
    ]
  ) {
    await assert.rejects(canonicalizeProposedEntry(bad), rejects("REKOR_ENTRY_INVALID"));
  }
});

Deno.test("a dsse entry matches each envelope signature to its verifier and sorts them", async () => {
  const a = await generateKeyPair();
  const b = await generateKeyPair({ kind: "ecdsa-p384" });
  const certB = await selfSignedCert(b);
  const payload = utf8('{"_type":"https://in-toto.io/Statement/v1"}');
  const type = "application/vnd.in-toto+json";
  const sigA = await a.sign(pae(type, payload));
  const sigB = await b.sign(pae(type, payload));
  const envelope = JSON.stringify({
    payload: toBase64(payload),
    payloadType: type,
    signatures: [{ sig: toBase64(sigA) }, { sig: toBase64(sigB), keyid: "b" }],
  });
  const canonical = await canonicalizeProposedEntry(
    buildDsseEntry(envelope, [encodePem("CERTIFICATE", certB), a.publicKey.toPem()]),
  );
  const json = JSON.parse(new TextDecoder().decode(canonical.body));
  assert.equal(json.spec.envelopeHash.value, sha256(utf8(envelope)).toHex());
  assert.equal(json.spec.payloadHash.value, sha256(payload).toHex());
  const texts = json.spec.signatures.map((s: { signature: string }) => s.signature);
  assert.deepEqual(texts, [...texts].sort());
  const entry = parseEntryBody(canonical.body);
  const envelopeInfo = { payloadType: type, payload };
  checkEntryBinding(entry, {
    signature: sigB,
    publicKeyOrCertificateDer: certB,
    dsseEnvelope: envelopeInfo,
    envelopeHash: sha256(utf8(envelope)),
  });
  checkEntryBinding(entry, {
    signature: sigA,
    publicKeyOrCertificateDer: a.publicKey.spki,
    payloadHash: sha256(payload),
  });
  // The signature of A with the certificate of B is not a logged pair.
  assert.throws(
    () =>
      checkEntryBinding(entry, {
        signature: sigA,
        publicKeyOrCertificateDer: certB,
        dsseEnvelope: envelopeInfo,
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  assert.throws(
    () =>
      checkEntryBinding(entry, {
        signature: sigA,
        publicKeyOrCertificateDer: a.publicKey.spki,
        dsseEnvelope: { payloadType: type, payload: utf8("{}") },
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  assert.throws(
    () =>
      checkEntryBinding(entry, {
        signature: sigA,
        publicKeyOrCertificateDer: a.publicKey.spki,
        dsseEnvelope: envelopeInfo,
        envelopeHash: sha256(utf8(envelope + " ")),
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  // A signature no verifier accepts is refused.
  const stranger = await generateKeyPair();
  await assert.rejects(
    canonicalizeProposedEntry(buildDsseEntry(envelope, [stranger.publicKey.toPem()])),
    rejects("REKOR_ENTRY_INVALID"),
  );
});

Deno.test("an intoto 0.0.2 entry double-encodes signatures and binds like dsse", async () => {
  const key = await generateKeyPair();
  const payload = utf8("payload");
  const sig = await key.sign(pae("text/plain", payload));
  const proposed = buildIntotoEntry({
    payloadType: "text/plain",
    payload,
    signatures: [{ sig, keyid: "k1", verifierPem: key.publicKey.toPem() }],
  });
  const canonical = await canonicalizeProposedEntry(proposed);
  const json = JSON.parse(new TextDecoder().decode(canonical.body));
  assert.equal(json.spec.content.envelope.payload, undefined, "the payload is not logged");
  assert.equal(
    new TextDecoder().decode(fromBase64(json.spec.content.envelope.signatures[0].sig)),
    toBase64(sig),
  );
  assert.equal(
    json.spec.content.hash.value,
    sha256(
      utf8(
        canonicalizeJson({
          payload: toBase64(payload),
          payloadType: "text/plain",
          signatures: [{ keyid: "k1", sig: toBase64(sig) }],
        }),
      ),
    ).toHex(),
  );
  checkEntryBinding(parseEntryBody(canonical.body), {
    signature: sig,
    publicKeyOrCertificateDer: key.publicKey.spki,
    dsseEnvelope: { payloadType: "text/plain", payload },
  });
  // intoto hashes Rekor's re-serialization, not the stored bytes: no envelope-bytes check.
  checkEntryBinding(parseEntryBody(canonical.body), {
    signature: sig,
    publicKeyOrCertificateDer: key.publicKey.spki,
    dsseEnvelope: { payloadType: "text/plain", payload },
    envelopeHash: sha256(utf8("stored layer bytes")),
  });
});

Deno.test("parseEntryBody() refuses malformed bodies with REKOR_BODY_MALFORMED", () => {
  const hashed = (spec: unknown) =>
    utf8(JSON.stringify({ apiVersion: "0.0.1", kind: "hashedrekord", spec }));
  const bad: [string, Uint8Array][] = [
    ["not JSON", utf8("{")],
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0x7d])],
    ["an array", utf8("[]")],
    ["unknown kind", utf8('{"apiVersion":"0.0.1","kind":"helm","spec":{}}')],
    ["no spec", utf8('{"apiVersion":"0.0.1","kind":"hashedrekord"}')],
    ["null data", hashed({ data: null })],
    ["body of a number", utf8('{"apiVersion":"0.0.1","kind":"hashedrekord","spec":7}')],
    ["short digest", hashed({ data: { hash: { algorithm: "sha256", value: "00" } } })],
    [
      "signature not base64",
      hashed({
        data: { hash: { algorithm: "sha256", value: "00".repeat(32) } },
        signature: { content: "%%", publicKey: { content: "" } },
      }),
    ],
    [
      "null dsse signature",
      utf8(JSON.stringify({
        apiVersion: "0.0.1",
        kind: "dsse",
        spec: {
          envelopeHash: { algorithm: "sha256", value: "00".repeat(32) },
          payloadHash: { algorithm: "sha256", value: "00".repeat(32) },
          signatures: [null],
        },
      })),
    ],
    ["too large", new Uint8Array(MAX_ENTRY_BODY_BYTES + 1)],
  ];
  for (const [what, body] of bad) {
    assert.throws(() => parseEntryBody(body), rejects("REKOR_BODY_MALFORMED"), what);
  }
});

Deno.test("property: any mutation of a canonical hashedrekord body fails to parse or to bind", async () => {
  const key = await generateKeyPair();
  const digest = sha256(utf8("x"));
  const signature = key.signPrehashed(digest, "sha256");
  const { body } = await canonicalizeProposedEntry(buildHashedRekordEntry({
    digest: { algorithm: "sha256", value: digest },
    signature,
    verifierPem: key.publicKey.toPem(),
  }));
  const expected = {
    signature,
    publicKeyOrCertificateDer: key.publicKey.spki,
    artifactDigest: { algorithm: "sha256" as const, digest },
  };
  const original = parseEntryBody(body);
  fc.assert(
    fc.property(fc.nat(body.length - 1), fc.integer({ min: 1, max: 255 }), (at, delta) => {
      const mutated = Uint8Array.from(body);
      mutated[at] = (mutated[at]! + delta) & 0xff;
      try {
        const parsed = parseEntryBody(mutated);
        checkEntryBinding(parsed, expected);
        // A mutation may only survive if it changed no content (e.g. JSON key case is not
        // content-bearing for unknown keys); then the commitments are identical.
        assert.ok(sameEntryContent(parsed, original), new TextDecoder().decode(mutated));
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(isCosignError(error), String(error));
      }
    }),
    { numRuns: 300 },
  );
});

// ---------------------------------------------------------------------------------------------
// Real bodies from other implementations

if (requireComponents("rekor entry interop bodies", INTEROP)) {
  Deno.test("parseEntryBody() reads every entry kind found in the interop corpus", () => {
    const seen = new Set<string>();
    const paths = [
      `${CASES}/happy-path-v0.3/bundle.sigstore.json`,
      `${CASES}/happy-path-intoto-in-dsse-v3/bundle.sigstore.json`,
      `${CASES}/intoto-with-custom-trust-root/bundle.sigstore.json`,
      `${CASES}/rekor2-happy-path/bundle.sigstore.json`,
      "fixtures/sigstore-js/verify/V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002.sigstore.json",
      "fixtures/sigstore-go/examples/bundle-publish.json",
    ];
    for (const path of paths) {
      for (const entry of loadBundleFixture(path).entries) {
        const body = parseEntryBody(entry.canonicalizedBody);
        assert.equal(body.kind, entry.kindVersion.kind);
        assert.equal(body.apiVersion, entry.kindVersion.version);
        assert.ok(body.signatures.length > 0);
        seen.add(`${body.kind}/${body.apiVersion}`);
      }
    }
    const legacy = JSON.parse(
      readInteropText("fixtures/sigstore-rs/legacy-rekor-bundle-rekord-783606.json"),
    );
    const rekord = parseEntryBody(fromBase64(legacy.Payload.body));
    seen.add(`${rekord.kind}/${rekord.apiVersion}`);
    assert.deepEqual(
      [...seen].sort(),
      [
        "dsse/0.0.1",
        "dsse/0.0.2",
        "hashedrekord/0.0.1",
        "hashedrekord/0.0.2",
        "intoto/0.0.2",
        "rekord/0.0.1",
      ],
    );
  });

  Deno.test("canonicalizeProposedEntry() reproduces real Rekor hashedrekord and intoto bodies byte for byte", async () => {
    const message = loadBundleFixture(`${CASES}/happy-path-v0.3/bundle.sigstore.json`);
    const [hashedEntry] = message.entries;
    const { body } = await canonicalizeProposedEntry(buildHashedRekordEntry({
      digest: { algorithm: "sha256", value: sha256(caseArtifact("happy-path-v0.3")) },
      signature: message.signature,
      verifierPem: encodePem("CERTIFICATE", message.verifierDer!),
    }));
    assert.deepEqual(body, hashedEntry!.canonicalizedBody);

    const publish = loadBundleFixture(
      "fixtures/sigstore-go/examples/bundle-publish.json",
      "fixtures/sigstore-go/examples/publish_key.pub",
    );
    const dsse = publish.json.dsseEnvelope as { signatures: { keyid: string }[] };
    // npm submitted its key as an unwrapped PEM, which intoto keeps as is: reuse that text.
    const logged = JSON.parse(new TextDecoder().decode(publish.entries[0]!.canonicalizedBody));
    const submittedPem = new TextDecoder().decode(
      fromBase64(logged.spec.content.envelope.signatures[0].publicKey),
    );
    assert.notEqual(submittedPem, encodePem("PUBLIC KEY", publish.verifierDer!));
    const intoto = await canonicalizeProposedEntry(buildIntotoEntry({
      payloadType: publish.envelope!.payloadType,
      payload: publish.envelope!.payload,
      signatures: [{
        sig: publish.signature,
        keyid: dsse.signatures[0]!.keyid,
        verifierPem: submittedPem,
      }],
    }));
    assert.deepEqual(intoto.body, publish.entries[0]!.canonicalizedBody);
  });

  Deno.test("checkEntryBinding() accepts real entries and rejects the conformance mismatches", () => {
    const cases: [string, boolean][] = [
      ["happy-path-v0.3", true],
      ["happy-path-intoto-in-dsse-v3", true],
      ["rekor2-happy-path", true],
      ["rekor2-dsse-happy-path", true],
      ["wrong-hashedrekord-artifact_fail", false],
      ["wrong-hashedrekord-cert-and-sig_fail", false],
      ["wrong-hashedrekord-entry_fail", false],
      ["signature-mismatch_fail", false],
      ["dsse-mismatch-envelope_fail", false],
      ["dsse-mismatch-sig_fail", false],
      ["rekor2-dsse-mismatch-envelope_fail", false],
      ["rekor2-dsse-mismatch-sig_fail", false],
      ["intoto-log-entry-mismatch_fail", false],
    ];
    for (const [name, ok] of cases) {
      const fixture = loadBundleFixture(`${CASES}/${name}/bundle.sigstore.json`);
      const run = () =>
        checkEntryBinding(parseEntryBody(fixture.entries[0]!.canonicalizedBody), {
          signature: fixture.signature,
          publicKeyOrCertificateDer: fixture.verifierDer!,
          ...(fixture.envelope
            ? { dsseEnvelope: fixture.envelope }
            : { artifactDigest: { algorithm: "sha256", digest: sha256(caseArtifact(name)) } }),
        });
      if (ok) run();
      else {
        assert.throws(run, (error: unknown) => {
          assert.ok(isCosignError(error), name);
          // The mock intoto mismatch logs a single-base64 signature: malformed for intoto 0.0.2.
          assert.match(error.code, /^REKOR_BODY_(MISMATCH|MALFORMED)$/, name);
          return true;
        });
      }
    }
  });
}

Deno.test("checkEntryBinding() matches a logged key to a certificate of that key, never two different certificates", async () => {
  const key = await generateKeyPair();
  const cert = await selfSignedCert(key);
  const otherCert = await selfSignedCert(key);
  assert.notDeepEqual(cert, otherCert);
  const digest = sha256(utf8("cross"));
  const signature = key.signPrehashed(digest, "sha256");
  const artifactDigest = { algorithm: "sha256" as const, digest };
  const byKey = parseEntryBody(
    (await canonicalizeProposedEntry(
      buildHashedRekordEntry({
        digest: { algorithm: "sha256", value: digest },
        signature,
        verifierPem: key.publicKey.toPem(),
      }),
    )).body,
  );
  const byCert = parseEntryBody(
    (await canonicalizeProposedEntry(
      buildHashedRekordEntry({
        digest: { algorithm: "sha256", value: digest },
        signature,
        verifierPem: encodePem("CERTIFICATE", cert),
      }),
    )).body,
  );
  checkEntryBinding(byKey, { signature, publicKeyOrCertificateDer: cert, artifactDigest });
  checkEntryBinding(byCert, {
    signature,
    publicKeyOrCertificateDer: key.publicKey.spki,
    artifactDigest,
  });
  checkEntryBinding(byCert, { signature, publicKeyOrCertificateDer: cert, artifactDigest });
  assert.throws(
    () =>
      checkEntryBinding(byCert, {
        signature,
        publicKeyOrCertificateDer: otherCert,
        artifactDigest,
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  // Garbage on either side never matches by key.
  assert.throws(
    () =>
      checkEntryBinding(byCert, {
        signature,
        publicKeyOrCertificateDer: utf8("junk"),
        artifactDigest,
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
  const junkLogged = {
    ...byCert,
    signatures: [{ ...byCert.signatures[0]!, verifier: utf8("junk") as Bytes }],
  };
  assert.throws(
    () =>
      checkEntryBinding(junkLogged, {
        signature,
        publicKeyOrCertificateDer: utf8("other junk"),
        artifactDigest,
      }),
    rejects("REKOR_BODY_MISMATCH"),
  );
});
