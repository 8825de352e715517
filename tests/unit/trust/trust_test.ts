import assert from "node:assert/strict";
import { isWithin, parseTrustedRoot } from "../../../lib/trust/trusted_root.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { INTEROP, readInteropText, requireComponents } from "../../_support.ts";

if (requireComponents("trusted roots from the interop corpus", INTEROP)) {
  Deno.test("parseTrustedRoot() reads the production root", () => {
    const root = parseTrustedRoot(
      readInteropText("conformance/extra/production-trusted_root.json"),
    );
    assert.equal(root.tlogs.length, 2);
    assert.equal(root.tlogs[0]!.logId.toHex().slice(0, 8), "c0d23d6a");
    assert.ok(root.certificateAuthorities.length >= 2);
  });

  Deno.test("parseTrustedRoot() marks a log whose validFor lacks start as unusable", () => {
    const root = parseTrustedRoot(readInteropText(
      "conformance/test/assets/bundle-verify/trust-root-tlog-missing-validity-start_fail/trusted_root.json",
    ));
    const log = root.tlogs[1]!;
    assert.match(log.problem ?? "", /start: missing/);
    assert.equal(isWithin(log.validFor, new Date()), false);
  });
}

Deno.test("parseTrustedRoot() refuses unknown media types and bad JSON with TRUST_MALFORMED", () => {
  for (const text of ["{", '{"mediaType":"x"}', "[]"]) {
    assert.throws(() => parseTrustedRoot(text), (e) => isCosignError(e, "TRUST_MALFORMED"));
  }
});

Deno.test("isWithin() treats validity windows as closed intervals", () => {
  const period = { start: new Date(1000), end: new Date(2000) };
  assert.ok(isWithin(period, new Date(1000)));
  assert.ok(isWithin(period, new Date(2000)));
  assert.ok(!isWithin(period, new Date(2001)));
});

Deno.test("parseTrustedRoot() reads an authority's empty validFor as unbounded, a log key's as malformed", () => {
  const spki =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2G2Y+2tabdTV5BcGiBIx0a9fAFwrkBbmLSGtks4L3qX6yYY0zufBnhC8Ur/iy55GhWP/9A/bY2LhC30M9+RYtw==";
  const root = parseTrustedRoot({
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [{
      baseUrl: "https://log",
      publicKey: { rawBytes: spki, keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: {} },
      logId: { keyId: "wNI9atQGlz+VWfO6LRygH4QUfY/8W4RFwiT5i5WRgB0=" },
    }],
    timestampAuthorities: [{
      subject: {},
      uri: "https://tsa",
      certChain: { certificates: [{ rawBytes: "MAA=" }] },
      validFor: {},
    }],
  });
  assert.ok(root.tlogs[0]!.problem);
  assert.equal(root.timestampAuthorities[0]!.problem, undefined);
  assert.ok(isWithin(root.timestampAuthorities[0]!.validFor, new Date()));
});
