/**
 * X.509, SCT and RFC 3161 checks over real artifacts from other Sigstore implementations
 * (`../shared/interop`: sigstore-conformance bundles, sigstore-js/go/rs and cosign fixtures).
 * Times come straight from each bundle's JSON (integratedTime, TSA genTime).
 */
import assert from "node:assert/strict";
import { type Bytes, equalBytes, fromBase64 } from "../../lib/util/bytes.ts";
import { isCosignError } from "../../lib/errors.ts";
import { embeddedScts, verifyEmbeddedScts } from "../../lib/x509/sct.ts";
import { parseSignedTimestamp, verifyTimestamp } from "../../lib/timestamp/token.ts";
import { parseTrustedRoot, type TrustedRoot } from "../../lib/trust/trusted_root.ts";
import {
  type Certificate,
  parseCertificate,
  parseCertificatePem,
} from "../../lib/x509/certificate.ts";
import { certificateIdentity } from "../../lib/x509/identity.ts";
import { verifyCertificateChain, verifyFulcioChain } from "../../lib/x509/chain.ts";
import { INTEROP, interopPath, readInteropText, requireComponents } from "../_support.ts";

const CASES = "conformance/test/assets/bundle-verify";
const DEFAULT_IDENTITY =
  "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";

// Cases whose certificate must fail the chain check at the bundle's own times (CASES.md).
const CHAIN_FAILS = new Set([
  "bundle-from-wrong-instance_fail",
  "integrated-time-in-future_fail",
  "intoto-expired-certificate_fail",
  "intoto-set-outside-signing-cert-validity_fail",
  "intoto-tsa-timestamp-outside-cert-validity_fail",
  "rekor2-timestamp-with-incorrect-time_fail",
]);
// Timestamp cases that must fail, with the reason their README gives.
const TSA_FAILS: Record<string, string> = {
  "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "TSA_OUTSIDE_VALIDITY",
  "rekor2-timestamp-outside-tsa-cert-validity_fail": "TSA_OUTSIDE_VALIDITY",
  "rekor2-timestamp-payload-mismatch_fail": "TSA_IMPRINT_MISMATCH",
  "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "TSA_UNTRUSTED",
  "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "TSA_UNTRUSTED",
};

// deno-lint-ignore no-explicit-any
type Json = any;

/** Protobuf-JSON base64 as Go emits it may wrap lines; strip whitespace before decoding. */
function b64(text: string): Bytes {
  return fromBase64(text.replace(/\s+/g, ""));
}

interface Case {
  name: string;
  bundle: Json;
  root: TrustedRoot;
  leaf?: Certificate;
  supplied: Certificate[];
  signature?: Bytes;
  timestamps: Bytes[];
  integratedTime?: Date;
  identity?: string | undefined;
  issuer?: string | undefined;
}

function loadBundle(bundle: Json, root: TrustedRoot, name: string): Case {
  const vm = bundle.verificationMaterial ?? {};
  const ders: string[] = vm.certificate
    ? [vm.certificate.rawBytes]
    : (vm.x509CertificateChain?.certificates ?? []).map((c: Json) => c.rawBytes);
  const certs = ders.map((der) => parseCertificate(b64(der)));
  const it = vm.tlogEntries?.[0]?.integratedTime;
  const sig = bundle.messageSignature?.signature ?? bundle.dsseEnvelope?.signatures?.[0]?.sig;
  return {
    name,
    bundle,
    root,
    ...(certs[0] ? { leaf: certs[0] } : {}),
    supplied: certs.slice(1),
    ...(sig && /^[A-Za-z0-9+/=\s]+$/.test(sig) ? { signature: b64(sig) } : {}),
    timestamps: (vm.timestampVerificationData?.rfc3161Timestamps ?? []).map((t: Json) =>
      b64(t.signedTimestamp)
    ),
    ...(it && it !== "0" ? { integratedTime: new Date(Number(it) * 1000) } : {}),
  };
}

function times(c: Case): Date[] {
  return [
    ...(c.integratedTime ? [c.integratedTime] : []),
    ...c.timestamps.map((t) => parseSignedTimestamp(t).tstInfo.genTime),
  ];
}

if (requireComponents("pki interop", INTEROP)) {
  const production = parseTrustedRoot(
    readInteropText("conformance/extra/production-trusted_root.json"),
  );
  const cases: Case[] = [];
  for (
    const entry of [...Deno.readDirSync(interopPath(CASES))].sort((a, b) =>
      a.name < b.name ? -1 : 1
    )
  ) {
    if (!entry.isDirectory || entry.name === "bundle-malformed-json_fail") continue;
    const dir = `${CASES}/${entry.name}`;
    const read = (file: string) => {
      try {
        return readInteropText(`${dir}/${file}`).trim();
      } catch {
        return undefined;
      }
    };
    const rootText = read("trusted_root.json");
    const root = rootText ? parseTrustedRoot(rootText) : production;
    cases.push(loadBundle(JSON.parse(read("bundle.sigstore.json")!), root, entry.name));
    const c = cases.at(-1)!;
    c.identity = read("identity");
    c.issuer = read("issuer");
  }

  Deno.test("every conformance leaf parses and yields the case's SAN and issuer", () => {
    let checked = 0;
    for (const c of cases) {
      if (!c.leaf) continue;
      const id = certificateIdentity(c.leaf);
      const expected = c.name === "bundle-with-root-cert_fail"
        ? ["a@tny.town", "https://github.com/login/oauth"]
        : [c.identity ?? DEFAULT_IDENTITY, c.issuer ?? DEFAULT_ISSUER];
      assert.deepEqual([id.san, id.issuer], expected, c.name);
      checked++;
    }
    assert.ok(checked >= 60, `only ${checked} leaves`);
  });

  Deno.test("conformance chains verify at the bundle times, and the expired ones fail", async () => {
    for (const c of cases) {
      if (!c.leaf) continue;
      const at = times(c);
      const result = verifyFulcioChain(c.leaf, c.root, at.length ? at : [c.leaf.notBefore], {
        intermediates: c.supplied,
      });
      if (CHAIN_FAILS.has(c.name)) {
        await assert.rejects(result, (e) => isCosignError(e, "X509_NO_TRUSTED_CA"), c.name);
      } else {
        const { chain } = await result;
        assert.ok(chain.length >= 2, c.name);
      }
    }
  });

  Deno.test("conformance SCTs verify against the case's CT logs; invalid-ct-key fails", async () => {
    for (const c of cases) {
      if (!c.leaf || CHAIN_FAILS.has(c.name)) continue;
      const { chain } = await verifyFulcioChain(
        c.leaf,
        c.root,
        [times(c)[0] ?? c.leaf.notBefore],
        {
          intermediates: c.supplied,
        },
      );
      const result = verifyEmbeddedScts(c.leaf, chain[1]!, c.root.ctlogs);
      if (c.name === "invalid-ct-key_fail") {
        await assert.rejects(result, (e) => isCosignError(e, "X509_SCT_UNVERIFIED"));
      } else {
        assert.equal((await result).length, 1, c.name);
      }
    }
    const ext = cases.find((c) => c.name === "bundle-with-sct-with-extensions")!;
    assert.ok(embeddedScts(ext.leaf!)[0]!.extensions.length > 0);
  });

  Deno.test("a production SCT fails with a flipped byte, an unknown log, or outside the key validity", async () => {
    const c = cases.find((c) => c.name === "happy-path-v0.3")!;
    const leaf = c.leaf!;
    const { chain } = await verifyFulcioChain(leaf, production, [c.integratedTime!]);
    const issuer = chain[1]!;
    assert.equal((await verifyEmbeddedScts(leaf, issuer, production.ctlogs)).length, 1);
    const sctList = Uint8Array.from(leaf.sctList!);
    sctList[sctList.length - 1]! ^= 1;
    const tbs = Uint8Array.from(leaf.tbs);
    tbs[200]! ^= 1;
    for (const tampered of [{ ...leaf, sctList }, { ...leaf, tbs }]) {
      await assert.rejects(
        verifyEmbeddedScts(tampered, issuer, production.ctlogs),
        (e) => isCosignError(e, "X509_SCT_UNVERIFIED") || isCosignError(e, "X509_SCT_MALFORMED"),
      );
    }
    const logId = embeddedScts(leaf)[0]!.logId;
    const others = production.ctlogs.filter((log) => !log.logId.every((b, i) => b === logId[i]));
    await assert.rejects(
      verifyEmbeddedScts(leaf, issuer, others),
      (e) => isCosignError(e, "X509_SCT_UNVERIFIED") && /no CT log/.test(e.message),
    );
    const expired = production.ctlogs.map((log) => ({
      ...log,
      validFor: {
        start: log.validFor.start,
        end: new Date(c.integratedTime!.getTime() - 3600_000),
      },
    }));
    await assert.rejects(
      verifyEmbeddedScts(leaf, issuer, expired),
      (e) =>
        isCosignError(e, "X509_SCT_UNVERIFIED") &&
        /outside the CT log key validity/.test(e.message),
    );
    await assert.rejects(
      verifyEmbeddedScts(leaf, chain[2]!, production.ctlogs),
      (e) => isCosignError(e, "X509_SCT_UNVERIFIED"),
    );
  });

  Deno.test("conformance RFC 3161 timestamps verify, and each *_fail timestamp case fails for its reason", async () => {
    let verified = 0;
    for (const c of cases) {
      for (const token of c.timestamps) {
        const result = verifyTimestamp(token, c.signature!, c.root);
        const code = TSA_FAILS[c.name];
        if (code) {
          await assert.rejects(result, (e) => isCosignError(e) && e.code === code, c.name);
        } else {
          assert.ok((await result).genTime instanceof Date, c.name);
          verified++;
        }
      }
    }
    assert.ok(verified >= 25, `only ${verified} timestamps verified`);
    const expired = cases.find((c) => c.name === "rekor2-timestamp-with-expired-cert-chain")!;
    const result = await verifyTimestamp(expired.timestamps[0]!, expired.signature!, expired.root);
    assert.ok(result.chain.at(-1)!.notAfter < new Date());
  });

  Deno.test("sigstore-js certs-core/certs-verify chains fail for the right reason", async () => {
    for (const file of ["certs-core.json", "certs-verify.json"]) {
      const pems = JSON.parse(readInteropText(`fixtures/sigstore-js/${file}`)) as Record<
        string,
        string
      >;
      const cert = (name: string) => parseCertificatePem(pems[name]!);
      const options = {
        roots: [cert("root")],
        intermediates: [cert("intermediate"), cert("leaf"), cert("invalidint")],
        time: new Date("2023-01-01T00:00:00Z"),
        requireCodeSigning: true,
      };
      assert.equal((await verifyCertificateChain(cert("leaf"), options)).length, 3);
      const expect = async (name: string, code: string) =>
        await assert.rejects(
          verifyCertificateChain(cert(name), options),
          (e) => isCosignError(e) && e.code === code,
          name,
        );
      await expect("invalidleaf", "X509_NOT_CA"); // a leaf signed by a leaf
      await expect("deepleaf", "X509_PATH_LENGTH"); // pathlen:0 intermediate under pathlen:0
      if (file === "certs-core.json") {
        await expect("poisoned", "X509_CRITICAL_EXTENSION"); // precertificate poison
        // Without a key usage extension the path is fine, but it is no Fulcio signing leaf
        // (the profile wants digitalSignature).
        const { requireCodeSigning: _, ...anyUsage } = options;
        const nokeyusage = await verifyCertificateChain(cert("nokeyusage"), anyUsage);
        assert.equal(nokeyusage.length, 3);
        assert.equal(cert("nokeyusage").keyUsage, undefined);
        await expect("nokeyusage", "X509_KEY_USAGE");
        assert.deepEqual(cert("nosan").subjectAltNames, []);
        assert.equal(certificateIdentity(cert("leaf")).san, "http://foobar.dev");
        const rsa = cert("rsaroot");
        assert.equal(
          (await verifyCertificateChain(rsa, { roots: [rsa], time: new Date() })).length,
          1,
        );
        const fulcio = certificateIdentity(cert("fulcioleaf"));
        assert.equal(
          fulcio.san,
          "https://github.com/npm/provenance-tests/.github/workflows/publish-with-provenance.yml@refs/heads/main",
        );
      }
      await assert.rejects(
        verifyCertificateChain(cert("leaf"), {
          ...options,
          time: new Date("2041-01-01T00:00:00Z"),
        }),
        (e) => isCosignError(e, "X509_OUTSIDE_VALIDITY"),
      );
    }
  });

  Deno.test("fixture leaves from sigstore-rs, sigstore-js, sigstore-go and cosign parse, chain and carry their identities", async () => {
    const legacy = parseCertificatePem(
      readInteropText("fixtures/sigstore-rs/legacy-image-signature-keyless-2021/cert.pem"),
    );
    const id = certificateIdentity(legacy);
    assert.equal(id.san, "flavio@castelli.me");
    assert.equal(id.issuer, undefined);
    const annotation = JSON.parse(
      readInteropText(
        "fixtures/sigstore-rs/legacy-image-signature-keyless-2021/bundle-annotation.json",
      ),
    );
    const { authority } = await verifyFulcioChain(legacy, production, [
      new Date(annotation.Payload.integratedTime * 1000),
    ]);
    assert.equal(authority, production.certificateAuthorities[0]);

    const fixtures: [string, string, string, string][] = [
      [
        "sigstore-js/client-valid/v1.messageSignature.withSigningCert.sigstore.json",
        "sigstore-js/client-valid/trusted_root.json",
        "brian@dehamer.com",
        "https://github.com/login/oauth",
      ],
      [
        "sigstore-js/client-valid/v3.dsse.withSigningCert.sigstore.json",
        "sigstore-js/client-valid/trusted_root.json",
        "brian@dehamer.com",
        "https://github.com/login/oauth",
      ],
      [
        "sigstore-go/pkg/testing/data/bundles/othername.sigstore.json",
        "sigstore-go/pkg/testing/data/trusted-roots/scaffolding.json",
        "foo!oidc.local",
        "http://oidc.local:8080",
      ],
      [
        "cosign/testdata/oci-attestation.sigstore.json",
        "cosign/testdata/trusted_root_pgi.json",
        "cody@soyland.com",
        "https://github.com/login/oauth",
      ],
      [
        "sigstore-rs/bundle_v03.json",
        "../conformance/extra/production-trusted_root.json",
        "https://github.com/kubewarden/kubewarden-controller/.github/workflows/release.yml@refs/tags/v1.34.0",
        DEFAULT_ISSUER,
      ],
      [
        "sigstore-go/examples/bundle-provenance.json",
        "sigstore-go/examples/trusted-root-public-good.json",
        "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main",
        DEFAULT_ISSUER,
      ],
    ];
    for (const [bundleFile, rootFile, san, issuer] of fixtures) {
      const root = parseTrustedRoot(readInteropText(`fixtures/${rootFile}`));
      const c = loadBundle(JSON.parse(readInteropText(`fixtures/${bundleFile}`)), root, bundleFile);
      const identity = certificateIdentity(c.leaf!);
      assert.deepEqual([identity.san, identity.issuer], [san, issuer], bundleFile);
      const { chain } = await verifyFulcioChain(c.leaf!, root, [c.integratedTime!], {
        intermediates: c.supplied,
      });
      if (c.leaf!.sctList) await verifyEmbeddedScts(c.leaf!, chain[1]!, root.ctlogs);
    }
    const expired = loadBundle(
      JSON.parse(
        readInteropText(
          "fixtures/sigstore-js/client-invalid/v1.messageSignature.invalidExpiredCert.sigstore.json",
        ),
      ),
      production,
      "expired",
    );
    await assert.rejects(
      verifyFulcioChain(expired.leaf!, production, [expired.integratedTime!], {
        intermediates: expired.supplied,
      }),
      (e) => isCosignError(e, "X509_NO_TRUSTED_CA"),
    );
  });

  Deno.test("sigstore-js mock and production TSA timestamps verify against verify/trusted_root.json", async () => {
    // The mock TSA entry has `validFor: {}`: an authority's empty window adds no bound.
    const root = parseTrustedRoot(readInteropText("fixtures/sigstore-js/verify/trusted_root.json"));
    let count = 0;
    for (
      const file of [
        "V1.MESSAGE_SIGNATURE.WITH_SIGNING_CERT",
        "V3.MESSAGE_SIGNATURE.TLOG_HASHEDREKORDV002",
        "V3.DSSE.WITH_SIGNING_CERT.TLOG_DSSEV002",
        "V3.MESSAGE_SIGNATURE.WITH_SIGNING_CERT",
      ]
    ) {
      const c = loadBundle(
        JSON.parse(readInteropText(`fixtures/sigstore-js/verify/${file}.sigstore.json`)),
        root,
        file,
      );
      for (const token of c.timestamps) {
        await verifyTimestamp(token, c.signature!, root);
        count++;
      }
    }
    assert.ok(count >= 4);
  });

  Deno.test("a bundle chain that ships the root still chains to the trusted anchor (policy is the caller's)", async () => {
    const c = cases.find((c) => c.name === "bundle-with-root-cert_fail")!;
    assert.equal(c.supplied.length, 2);
    const { chain } = await verifyFulcioChain(c.leaf!, c.root, [c.integratedTime!], {
      intermediates: c.supplied,
    });
    const anchors = c.root.certificateAuthorities.map((a) => a.certificates.at(-1)!);
    assert.ok(anchors.some((der) => equalBytes(der, chain.at(-1)!.raw)));
    assert.equal(chain.length, 3);
  });
}
