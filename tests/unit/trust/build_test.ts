/**
 * Trust material from parts (lib/trust/build.ts): service specs read as cosign reads them, spec
 * times, the Rekor v2 checkpoint key ID, signing-config services, and the trusted root that
 * cosign's `SIGSTORE_*` overrides stand for.
 */

import assert from "node:assert/strict";
import { concat, sha256, utf8 } from "../../../lib/util/bytes.ts";
import { encodePem } from "../../../lib/util/pem.ts";
import { isCosignError } from "../../../lib/errors.ts";
import { generateKeyPair } from "../../../lib/keys/private_key.ts";
import {
  checkpointKeyIdFor,
  parseServiceSpec,
  serviceEndpoint,
  specValidity,
  trustedRootFromOverrides,
} from "../../../lib/trust/build.ts";
import { noteKeyId } from "../../../lib/tlog/checkpoint.ts";
import { CertificateAuthority, TimestampAuthority } from "../../../server/mod.ts";

const malformed = (e: unknown) => isCosignError(e, "TRUST_MALFORMED");

Deno.test("parseServiceSpec() splits at commas and the first '=', trims, and refuses bad pairs", () => {
  assert.deepEqual(parseServiceSpec(" url = https://a?x=1 ,start-time=2024-01-01T00:00:00Z"), {
    url: "https://a?x=1",
    "start-time": "2024-01-01T00:00:00Z",
  });
  assert.deepEqual(Object.getPrototypeOf(parseServiceSpec("__proto__=x")), Object.prototype);
  for (const bad of ["url", "=x", "url=a,url=b", "a=1,,b=2", Array(17).fill("k=v").join(",")]) {
    assert.throws(() => parseServiceSpec(bad), malformed, bad);
  }
});

Deno.test("specValidity() needs RFC 3339 times, a start (or a default), and an end not before it", () => {
  assert.deepEqual(specValidity({ "start-time": "2024-01-01T00:00:00+02:00" }, "--x"), {
    start: new Date("2023-12-31T22:00:00Z"),
  });
  const fallback = new Date("2020-01-01T00:00:00Z");
  assert.deepEqual(specValidity({}, "--x", fallback), { start: fallback });
  assert.throws(() => specValidity({}, "--x"), malformed);
  assert.throws(() => specValidity({ "start-time": "2024-01-01" }, "--x"), malformed);
  assert.throws(
    () =>
      specValidity(
        { "start-time": "2024-01-02T00:00:00Z", "end-time": "2024-01-01T00:00:00Z" },
        "x",
      ),
    malformed,
  );
});

Deno.test("checkpointKeyIdFor() is the full C2SP key hash whose first 4 bytes checkpoints carry", async () => {
  const ed = await generateKeyPair({ kind: "ed25519" });
  const origin = "log.example.test";
  const id = checkpointKeyIdFor(ed.publicKey, origin);
  assert.deepEqual(id, sha256(concat(utf8(`${origin}\n`), Uint8Array.of(1), ed.publicKey.rawKey)));
  assert.deepEqual(id.slice(0, 4), noteKeyId(ed.publicKey, origin, "c2sp"));
  const ec = await generateKeyPair();
  assert.deepEqual(checkpointKeyIdFor(ec.publicKey, origin), ec.publicKey.fingerprint());
});

Deno.test("serviceEndpoint() reads a signing-config spec and refuses a bad api-version or missing keys", () => {
  assert.deepEqual(
    serviceEndpoint(
      "url=https://f,api-version=1,start-time=2024-01-01T00:00:00Z,end-time=2025-01-01T00:00:00Z,operator=o",
      { what: "--fulcio" },
    ),
    {
      url: "https://f",
      majorApiVersion: 1,
      validFor: { start: new Date("2024-01-01T00:00:00Z"), end: new Date("2025-01-01T00:00:00Z") },
      operator: "o",
    },
  );
  for (
    const bad of [
      "url=https://f,api-version=0,start-time=2024-01-01T00:00:00Z,operator=o",
      "url=https://f,api-version=1.5,start-time=2024-01-01T00:00:00Z,operator=o",
      "url=https://f,api-version=1,operator=o",
      "api-version=1,start-time=2024-01-01T00:00:00Z,operator=o",
    ]
  ) assert.throws(() => serviceEndpoint(bad, { what: "--fulcio" }), malformed, bad);
});

Deno.test("trustedRootFromOverrides() holds exactly what the overrides give: a CA per self-signed root, logs, a TSA", async () => {
  const ca = await CertificateAuthority.create();
  const tsa = await TimestampAuthority.create();
  const rekor = await generateKeyPair();
  const pem = (...ders: Uint8Array[]) =>
    utf8(ders.map((d) => encodePem("CERTIFICATE", d)).join(""));
  // cosign's SIGSTORE_ROOT_FILE may list the root before its intermediate.
  const root = trustedRootFromOverrides({
    fulcioCertificates: pem(ca.root.raw, ca.intermediate.raw),
    rekorPublicKey: utf8(rekor.publicKey.toPem()),
    tsaCertificates: utf8(tsa.certificateChainPem()),
  });
  assert.equal(root.certificateAuthorities.length, 1);
  assert.deepEqual(root.certificateAuthorities[0]!.certificates, [
    ca.intermediate.raw,
    ca.root.raw,
  ]);
  assert.deepEqual(root.tlogs.map((l) => l.logId), [rekor.publicKey.fingerprint()]);
  assert.deepEqual(root.ctlogs, []);
  assert.deepEqual(root.timestampAuthorities[0]!.certificates, tsa.chain.map((c) => c.raw));
  assert.deepEqual(trustedRootFromOverrides({}).certificateAuthorities, []);
  assert.throws(
    () => trustedRootFromOverrides({ fulcioCertificates: pem(ca.intermediate.raw) }),
    (e) => malformed(e) && /no self-signed root certificate/.test((e as Error).message),
  );
  assert.throws(() => trustedRootFromOverrides({ ctLogPublicKey: utf8("not a key") }), malformed);
});
