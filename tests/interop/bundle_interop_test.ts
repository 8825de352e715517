/**
 * Every bundle of the interop corpus through the bundle layer: the conformance cases this layer
 * must refuse for structural reasons are refused with the expected code and reason, every
 * other bundle parses, and re-serializing loses nothing.
 */
import assert from "node:assert/strict";
import { sha256, toHex, utf8 } from "../../lib/util/bytes.ts";
import { type Bundle, parseBundle } from "../../lib/bundle/model.ts";
import { publicKeyHint, serializeBundle } from "../../lib/bundle/serialize.ts";
import { type CosignError, isCosignError } from "../../lib/errors.ts";
import { findSubject, IN_TOTO_PAYLOAD_TYPE, parseStatement } from "../../lib/payload/statement.ts";
import { PublicKey } from "../../lib/keys/public_key.ts";
import {
  INTEROP,
  interopPath,
  readInteropBytes,
  readInteropText,
  requireComponents,
} from "../_support.ts";

const CASES_DIR = "conformance/test/assets/bundle-verify";

/** Conformance cases the bundle layer itself refuses, with the code and the reason. */
const REFUSED: Readonly<Record<string, readonly [string, RegExp]>> = {
  "bundle-malformed-json_fail": ["BUNDLE_MALFORMED", /Invalid JSON in bundle/],
  "bundle-unknown-version_fail": ["BUNDLE_UNSUPPORTED", /version "99\.9"/],
  "bundle-empty-certificate-chain_fail": ["BUNDLE_MALFORMED", /certificates: the chain is empty/],
  "bundle-invalid-base64-signature_fail": [
    "BUNDLE_MALFORMED",
    /messageSignature\.signature: invalid base64/,
  ],
  "bundle-negative-log-index_fail": [
    "BUNDLE_MALFORMED",
    /tlogEntries\[0\]\.logIndex: must not be negative/,
  ],
  // its v0.1 proof has no checkpoint (sigstore-js crashed on it; the root cert is not our concern here)
  "bundle-with-root-cert_fail": ["BUNDLE_MALFORMED", /inclusionProof\.checkpoint: missing/],
  "intoto-missing-inclusion-proof_fail": [
    "BUNDLE_MALFORMED",
    /inclusionProof: required from bundle v0\.2 on/,
  ],
  "invalid-inclusion-proof_fail": ["BUNDLE_MALFORMED", /inclusionProof\.checkpoint: missing/],
  "rekor2-no-inclusion-proof_fail": [
    "BUNDLE_MALFORMED",
    /inclusionProof: required from bundle v0\.2 on/,
  ],
};

/** Fixture bundles (outside the conformance suite); all parse but the two-signature one. */
const FIXTURE_BUNDLES = [
  "cosign/testdata/oci-attestation.sigstore.json",
  "sigstore-go/examples/bundle-provenance.json",
  "sigstore-go/examples/bundle-publish.json",
  "sigstore-go/pkg/testing/data/bundles/dsse.sigstore.json",
  "sigstore-go/pkg/testing/data/bundles/othername.sigstore.json",
  "sigstore-go/pkg/testing/data/bundles/public-key-validity.sigstore.json",
  "sigstore-go/pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json",
  "sigstore-js/client-invalid/v1.dsse.invalidBadSignature.sigstore.json",
  "sigstore-js/client-invalid/v1.messageSignature.invalidExpiredCert.sigstore.json",
  "sigstore-js/client-valid/v1.dsse.withPublicKey.sigstore.json",
  "sigstore-js/client-valid/v1.dsse.withSigningCert.sigstore.json",
  "sigstore-js/client-valid/v1.messageSignature.withSigningCert.sigstore.json",
  "sigstore-js/client-valid/v2.messageSignature.withSigningCert.sigstore.json",
  "sigstore-js/client-valid/v3.dsse.withSigningCert.sigstore.json",
  "sigstore-js/client-valid/v3.messageSignature.withSigningCert.sigstore.json",
  "sigstore-js/verify/V1.DSSE.WITH_SIGNING_CERT.TLOG_DSSE.sigstore.json",
  "sigstore-js/verify/V1.DSSE.WITH_SIGNING_CERT.TLOG_INTOTO.sigstore.json",
  "sigstore-js/verify/V1.MESSAGE_SIGNATURE.WITH_PUBLIC_KEY.sigstore.json",
  "sigstore-js/verify/V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT.sigstore.json",
  "sigstore-js/verify/V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002.sigstore.json",
  "sigstore-js/verify/V3.MESSAGE_SIGNATURE.TLOG_HASHEDREKORDV002.sigstore.json",
  "sigstore-js/verify/V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT.sigstore.json",
  "sigstore-rs/bundle_v03.json",
].map((path) => `fixtures/${path}`);

function caseNames(): string[] {
  return [...Deno.readDirSync(interopPath(CASES_DIR))]
    .filter((entry) => entry.isDirectory)
    .map((entry) => entry.name)
    .sort();
}

/** Every bundle that must parse: the accepted conformance cases and the fixtures. */
function parseableBundles(): string[] {
  const cases = caseNames().filter((name) => !(name in REFUSED))
    .map((name) => `${CASES_DIR}/${name}/bundle.sigstore.json`);
  return [...cases, ...FIXTURE_BUNDLES];
}

/**
 * What protobuf JSON means, without its optional spellings: nulls, empty strings and lists,
 * "0" int64s and then-empty objects dropped; line breaks inside base64 removed (Go skips them).
 */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalize).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const normalized = normalize(item);
      if (normalized !== undefined) out[key] = normalized;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (value === null || value === "" || value === "0" || value === 0) return undefined;
  if (typeof value === "string" && /^[A-Za-z0-9+/=\r\n]+$/.test(value) && /[\r\n]/.test(value)) {
    return value.replace(/[\r\n]/g, "");
  }
  return value;
}

if (requireComponents("bundle layer over the interop corpus", INTEROP)) {
  Deno.test("parseBundle() refuses exactly the structurally broken conformance cases, with their reason", () => {
    const names = caseNames();
    assert.equal(names.length, 70);
    let refused = 0;
    for (const name of names) {
      const bytes = readInteropBytes(`${CASES_DIR}/${name}/bundle.sigstore.json`);
      const expected = REFUSED[name];
      if (expected === undefined) {
        assert.doesNotThrow(() => parseBundle(bytes), name);
        continue;
      }
      const [code, reason] = expected;
      assert.throws(
        () => parseBundle(bytes),
        (e) => isCosignError(e) && e.code === code && reason.test((e as CosignError).message),
        name,
      );
      refused++;
    }
    assert.equal(refused, Object.keys(REFUSED).length);
  });

  Deno.test("parseBundle() reads every fixture bundle and refuses sigstore-go's two-signature DSSE", () => {
    for (const path of FIXTURE_BUNDLES) {
      assert.doesNotThrow(() => parseBundle(readInteropBytes(path)), path);
    }
    assert.throws(
      () =>
        parseBundle(
          readInteropBytes(
            "fixtures/sigstore-go/pkg/testing/data/bundles/dsse-2sigs.sigstore.json",
          ),
        ),
      (e) =>
        isCosignError(e, "BUNDLE_MALFORMED") && /exactly one signature, found 2/.test(e.message),
    );
  });

  Deno.test("serializeBundle() keeps every field of every corpus bundle, and parse reads it back equal", () => {
    let v03 = 0;
    for (const path of parseableBundles()) {
      const text = readInteropText(path);
      const bundle = parseBundle(text);
      const written = serializeBundle(bundle);
      assert.deepEqual(normalize(JSON.parse(written)), normalize(JSON.parse(text)), path);
      assert.deepEqual(parseBundle(written), bundle, path);
      if (bundle.version === "0.3") v03++;
    }
    assert.ok(v03 >= 50, `only ${v03} v0.3 bundles seen`);
  });

  Deno.test("serializeBundle() reproduces cosign's own OCI attestation bundle byte for byte", () => {
    const text = readInteropText("fixtures/cosign/testdata/oci-attestation.sigstore.json");
    assert.equal(`${serializeBundle(parseBundle(text))}\n`, text);
  });

  Deno.test("publicKeyHint() matches the hints in key-signed conformance and sigstore-go bundles", () => {
    const pairs = [
      [
        `${CASES_DIR}/managed-key-happy-path/bundle.sigstore.json`,
        `${CASES_DIR}/managed-key-happy-path/key.pub`,
      ],
      [
        `${CASES_DIR}/managed-key-and-trusted-root/bundle.sigstore.json`,
        `${CASES_DIR}/managed-key-and-trusted-root/key.pub`,
      ],
      [
        "fixtures/sigstore-go/pkg/testing/data/bundles/public-key-validity.sigstore.json",
        "fixtures/sigstore-go/pkg/testing/data/public-keys/public-key-validity.pem",
      ],
    ];
    for (const [bundlePath, keyPath] of pairs) {
      const key = parseBundle(readInteropText(bundlePath!)).verificationMaterial.key;
      assert.equal(key.kind, "publicKey", bundlePath);
      if (key.kind === "publicKey") {
        assert.equal(
          key.hint,
          publicKeyHint(PublicKey.fromPem(readInteropText(keyPath!))),
          bundlePath,
        );
      }
    }
  });

  Deno.test("DSSE bundles of the corpus carry in-toto statements that parse and bind their subject", () => {
    const dsse: Bundle[] = parseableBundles().map((path) => parseBundle(readInteropBytes(path)))
      .filter((bundle) => bundle.content.kind === "dsseEnvelope");
    assert.ok(dsse.length >= 15, `only ${dsse.length} DSSE bundles`);
    for (const bundle of dsse) {
      if (bundle.content.kind !== "dsseEnvelope") continue;
      const envelope = bundle.content.envelope;
      if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) continue;
      const statement = parseStatement(envelope.payload);
      assert.ok(statement.subject.length > 0);
    }
    const image = parseBundle(readInteropText("fixtures/sigstore-rs/bundle_v03.json"));
    assert.equal(image.content.kind, "dsseEnvelope");
    if (image.content.kind === "dsseEnvelope") {
      const statement = parseStatement(image.content.envelope.payload);
      const digest = "c811d58de79c92f03214e63aa339484e488d694ae8a6283b5f3f17a9faf50172";
      assert.equal(findSubject(statement, "sha256", digest) !== undefined, true);
    }
    const happy = parseBundle(
      readInteropText(`${CASES_DIR}/happy-path-intoto-in-dsse-v3/bundle.sigstore.json`),
    );
    if (happy.content.kind === "dsseEnvelope") {
      const statement = parseStatement(happy.content.envelope.payload);
      const artifact = toHex(sha256(readInteropBytes("conformance/test/assets/a.txt")));
      assert.equal(findSubject(statement, "sha256", artifact) !== undefined, true);
      assert.equal(
        findSubject(statement, "sha256", toHex(sha256(utf8("other")))) !== undefined,
        false,
      );
    } else {
      assert.fail("happy-path-intoto-in-dsse-v3 is a DSSE bundle");
    }
  });
}
