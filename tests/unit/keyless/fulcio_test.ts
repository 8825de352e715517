import assert from "node:assert/strict";
import { fromUtf8, toBase64, utf8 } from "../../../lib/util/bytes.ts";
import { parseDer, TAG } from "../../../lib/util/der.ts";
import { encodePem } from "../../../lib/util/pem.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  createProofOfPossession,
  FulcioClient,
  issuedCertificateTime,
  parseSigningCertificateResponse,
  verifyIssuedCertificate,
} from "../../../lib/keyless/fulcio.ts";
import { generateKeyPair, type PrivateKey } from "../../../lib/keys/private_key.ts";
import { unverifiedClaims } from "../../../lib/keyless/token_sources.ts";
import { verifyEmbeddedScts } from "../../../lib/x509/sct.ts";
import { findExtension } from "../../../lib/x509/certificate.ts";
import { OID } from "../../../lib/x509/oids.ts";
import { certificateIdentity } from "../../../lib/x509/identity.ts";
import {
  CertificateAuthority,
  fulcioRoutes,
  type TrustedTokenIssuer,
  verifyFulcioToken,
} from "../../../server/fulcio/routes.ts";
import { OidcIssuer } from "../../../server/oidc/routes.ts";
import { createCertificationRequest } from "../../../server/fulcio/_pkcs10.ts";
import { keylessIdentity } from "../../../lib/sign/witnesses.ts";

const ISSUER = "http://127.0.0.1:7777";
const EMAIL = "alice@example.com";
const WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
const SPIFFE = "spiffe://example.org/ns/ci/sa/builder";
const FULCIO = (arc: number) => `1.3.6.1.4.1.57264.1.${arc}`;

function code(error: unknown, expected: string): boolean {
  return isCosignError(error) && error.code === expected;
}

async function setup() {
  const oidc = await OidcIssuer.create({
    issuerUrl: ISSUER,
    identities: [EMAIL, WORKFLOW, SPIFFE],
  });
  const ca = await CertificateAuthority.create();
  const app = fulcioRoutes(ca, { issuers: [oidc] });
  return { oidc, ca, app };
}

function root(ca: CertificateAuthority) {
  return { certificateAuthorities: [ca.trustedAuthority(ISSUER)], ctlogs: [ca.ctLog(ISSUER)] };
}

async function signingRequest(token: string, key: PrivateKey, proof?: Uint8Array) {
  return {
    credentials: { oidcIdentityToken: token },
    publicKeyRequest: {
      publicKey: { algorithm: "ECDSA", content: key.publicKey.toPem() },
      proofOfPossession: toBase64(proof ?? await createProofOfPossession(key, token)),
    },
  };
}

function post(app: ReturnType<typeof fulcioRoutes>, body: unknown, headers = {}) {
  return app.request("/api/v2/signingCert", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

// ---------------------------------------------------------------------------------------------
// The CA state class

Deno.test("CertificateAuthority.create() makes a P-384 root (10 years) and intermediate (5 years)", async () => {
  const ca = await CertificateAuthority.create();
  assert.equal(ca.root.publicKey.kind, "ecdsa-p384");
  assert.equal(ca.intermediate.publicKey.kind, "ecdsa-p384");
  assert.equal(ca.ctLogKey.kind, "ecdsa-p256");
  const years = (a: Date, b: Date) => (b.getTime() - a.getTime()) / (365 * 24 * 3600_000);
  assert.equal(Math.round(years(ca.root.notBefore, ca.root.notAfter)), 10);
  assert.equal(Math.round(years(ca.intermediate.notBefore, ca.intermediate.notAfter)), 5);
  assert.deepEqual(ca.root.basicConstraints, { cA: true, pathLen: 1 });
  assert.deepEqual(ca.intermediate.basicConstraints, { cA: true, pathLen: 0 });
  assert.deepEqual(ca.intermediate.extKeyUsage, [OID.EKU_CODE_SIGNING]);
  const authority = ca.trustedAuthority("https://fulcio.example");
  assert.deepEqual(authority.certificates, [ca.intermediate.raw, ca.root.raw]);
  const log = ca.ctLog("https://ct.example");
  assert.deepEqual(log.logId, ca.ctLogKey.fingerprint());
  assert.equal(log.keyDetails, "PKIX_ECDSA_P256_SHA_256");
});

Deno.test("CertificateAuthority.issue() follows the Fulcio leaf profile with an embedded SCT", async () => {
  const ca = await CertificateAuthority.create();
  const key = await generateKeyPair();
  const now = new Date();
  const [leaf, intermediate, rootCert] = await ca.issue(
    {
      san: { type: "email", value: EMAIL },
      extensions: { [FULCIO(8)]: ISSUER, [FULCIO(1)]: ISSUER },
    },
    key.publicKey,
    { now },
  );
  assert.equal(intermediate, ca.intermediate);
  assert.equal(rootCert, ca.root);
  assert.equal(leaf.notAfter.getTime() - leaf.notBefore.getTime(), 10 * 60_000);
  assert.equal(leaf.subject.rdns.length, 0);
  assert.equal(findExtension(leaf, OID.SUBJECT_ALT_NAME)?.critical, true);
  assert.equal(findExtension(leaf, OID.KEY_USAGE)?.critical, true);
  assert.deepEqual(leaf.keyUsage, ["digitalSignature"]);
  assert.deepEqual(leaf.extKeyUsage, [OID.EKU_CODE_SIGNING]);
  assert.equal(leaf.basicConstraints?.cA ?? false, false);
  assert.ok(leaf.subjectKeyId && leaf.authorityKeyId);
  assert.deepEqual(leaf.authorityKeyId, ca.intermediate.subjectKeyId);
  assert.ok(leaf.publicKey.equals(key.publicKey));
  // .1 is the raw string, .8 a DER UTF8String (section 7.2).
  assert.equal(fromUtf8(findExtension(leaf, FULCIO(1))!.value), ISSUER);
  const v2 = parseDer(findExtension(leaf, FULCIO(8))!.value);
  assert.equal(v2.tag, TAG.UTF8_STRING);
  assert.equal(fromUtf8(v2.value), ISSUER);
  assert.equal(findExtension(leaf, OID.PRECERT_POISON), undefined);
  const scts = await verifyEmbeddedScts(leaf, ca.intermediate, [ca.ctLog(ISSUER)]);
  assert.equal(scts.length, 1);
  // The extensions are in OID order, whatever order they were given in.
  const oids = leaf.extensions.map((e) => e.oid).filter((oid) =>
    oid.startsWith(FULCIO(0).slice(0, -1))
  );
  assert.deepEqual(oids, [FULCIO(1), FULCIO(8)]);
});

Deno.test("CertificateAuthority.toJSON() and fromJSON() keep the keys, chain and CT log", async () => {
  const ca = await CertificateAuthority.create();
  const restored = await CertificateAuthority.fromJSON(JSON.parse(JSON.stringify(ca)));
  assert.deepEqual(restored.root.raw, ca.root.raw);
  assert.ok(restored.ctLogKey.equals(ca.ctLogKey));
  assert.equal(restored.ctLogStart.getTime(), ca.ctLogStart.getTime());
  const key = await generateKeyPair();
  const chain = await restored.issue({
    san: { type: "uri", value: SPIFFE },
    extensions: { [FULCIO(1)]: ISSUER },
  }, key.publicKey);
  // Issued by the restored CA, verified against the original's trusted-root entries.
  const checked = await verifyIssuedCertificate({ leaf: chain[0]!, chain }, root(ca), {
    publicKey: key.publicKey,
  });
  assert.equal(checked.identity.san, SPIFFE);
  for (
    const bad of [null, {}, { ...ca.toJSON(), certificates: [] }, { ...ca.toJSON(), ctLogKey: "!" }]
  ) {
    await assert.rejects(CertificateAuthority.fromJSON(bad), (e) => code(e, "SERVER_CA_STATE"));
  }
  const other = await CertificateAuthority.create();
  await assert.rejects(
    CertificateAuthority.fromJSON({
      ...ca.toJSON(),
      intermediateKey: other.toJSON().intermediateKey,
    }),
    (e) => code(e, "SERVER_CA_STATE"),
  );
});

// ---------------------------------------------------------------------------------------------
// Token verification and identity mapping

Deno.test("verifyFulcioToken() maps emails, URI subjects and GitHub workflows to SANs and extensions", async () => {
  const { oidc } = await setup();
  const email = await verifyFulcioToken(await oidc.mintToken(EMAIL), [oidc]);
  assert.deepEqual(email.san, { type: "email", value: EMAIL });
  assert.equal(email.challenge, EMAIL);
  assert.deepEqual(email.extensions, { [FULCIO(1)]: ISSUER, [FULCIO(8)]: ISSUER });
  const uri = await verifyFulcioToken(await oidc.mintToken(SPIFFE), [oidc]);
  assert.deepEqual(uri.san, { type: "uri", value: SPIFFE });
  const workflow = await verifyFulcioToken(await oidc.mintToken(WORKFLOW), [oidc]);
  assert.deepEqual(workflow.san, { type: "uri", value: WORKFLOW });
  assert.equal(workflow.challenge, "repo:acme/app:ref:refs/heads/main");
  const ext = workflow.extensions;
  assert.equal(ext[FULCIO(2)], "push");
  assert.equal(ext[FULCIO(4)], "release");
  assert.equal(ext[FULCIO(5)], "acme/app");
  assert.equal(ext[FULCIO(6)], "refs/heads/main");
  assert.equal(ext[FULCIO(9)], WORKFLOW);
  assert.equal(ext[FULCIO(11)], "github-hosted");
  assert.equal(ext[FULCIO(12)], "https://github.com/acme/app");
  assert.equal(ext[FULCIO(3)], ext[FULCIO(13)]);
  assert.equal(ext[FULCIO(16)], "https://github.com/acme");
  assert.equal(ext[FULCIO(18)], WORKFLOW);
  assert.equal(ext[FULCIO(20)], "push");
  assert.equal(ext[FULCIO(21)], "https://github.com/acme/app/actions/runs/1/attempts/1");
  assert.equal(ext[FULCIO(22)], "public");
  assert.equal(ext[FULCIO(23)], undefined, "no deployment environment was configured");
});

Deno.test("verifyFulcioToken() gives a username subject an OtherName only when the issuer names a domain", async () => {
  const { oidc } = await setup();
  const token = await oidc.mintToken(EMAIL, {
    claims: { email: undefined, email_verified: undefined, sub: "alice" },
  });
  await assert.rejects(
    verifyFulcioToken(token, [oidc]),
    (e) => code(e, "FULCIO_IDENTITY_UNSUPPORTED"),
  );
  const withDomain: TrustedTokenIssuer = {
    issuerUrl: oidc.issuerUrl,
    jwks: () => oidc.jwks(),
    subjectDomain: "example.com",
  };
  const principal = await verifyFulcioToken(token, [withDomain]);
  assert.deepEqual(principal.san, { type: "otherName", value: "alice!example.com" });
});

Deno.test("verifyFulcioToken() refuses wrong audience, foreign or look-alike issuers, expiry and bad signatures", async () => {
  const { oidc } = await setup();
  const impostor = await OidcIssuer.create({ issuerUrl: ISSUER, identities: [EMAIL] });
  // Exact match only (SECURITY.md rows 17-18): prefixes, substrings and equivalents are foreign.
  const lookalikes = await Promise.all(
    [
      `${ISSUER}/x`,
      "http://127.0.0.1:777",
      "https://127.0.0.1:7777",
      "http://localhost:7777",
      `http://evil.example/${ISSUER}`,
    ].map((url) => OidcIssuer.create({ issuerUrl: url, identities: [EMAIL] })),
  );
  const past = new Date(Date.now() - 2 * 3600_000);
  const cases: [string, () => Promise<string>][] = [
    ["OIDC_TOKEN_AUDIENCE", () => oidc.mintToken(EMAIL, { audience: "not-sigstore" })],
    ["OIDC_TOKEN_EXPIRED", () => oidc.mintToken(EMAIL, { now: past, ttlSeconds: 600 })],
    ["OIDC_TOKEN_SIGNATURE", () => impostor.mintToken(EMAIL)],
    ...lookalikes.map((other) =>
      ["OIDC_TOKEN_ISSUER", () => other.mintToken(EMAIL)] as [string, () => Promise<string>]
    ),
    [
      "FULCIO_EMAIL_UNVERIFIED",
      () => oidc.mintToken(EMAIL, { claims: { email_verified: undefined } }),
    ],
    ["FULCIO_EMAIL_UNVERIFIED", () => oidc.mintToken(EMAIL, { claims: { email_verified: false } })],
    [
      "FULCIO_EMAIL_UNVERIFIED",
      () => oidc.mintToken(EMAIL, { claims: { email_verified: "true" } }),
    ],
  ];
  for (const [expected, mint] of cases) {
    const token = await mint();
    await assert.rejects(verifyFulcioToken(token, [oidc]), (e) => code(e, expected), expected);
  }
  // An issuer that has not set its URL trusts nothing, not even its own tokens.
  const unset: TrustedTokenIssuer = { issuerUrl: undefined, jwks: () => oidc.jwks() };
  await assert.rejects(
    verifyFulcioToken(await oidc.mintToken(EMAIL), [unset]),
    (e) => code(e, "OIDC_TOKEN_ISSUER"),
  );
});

Deno.test("verifyFulcioToken() counts dots before splitting and never fetches keys for them", async () => {
  let fetched = 0;
  const issuer: TrustedTokenIssuer = {
    issuerUrl: ISSUER,
    jwks: () => {
      fetched++;
      return { keys: [] };
    },
  };
  const started = performance.now();
  for (const token of [".".repeat(5_000_000), "a.b.c.d", "a.b", `${"a.".repeat(10_000)}a`]) {
    await assert.rejects(
      verifyFulcioToken(token, [issuer]),
      (e) => code(e, "OIDC_TOKEN_MALFORMED"),
    );
  }
  assert.ok(performance.now() - started < 1000);
  assert.equal(fetched, 0);
});

// ---------------------------------------------------------------------------------------------
// The signingCert route

Deno.test("signingCert issues a chain that verifies, for a key whose proof signs the email claim", async () => {
  const { oidc, ca, app } = await setup();
  const key = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const response = await post(app, await signingRequest(token, key));
  assert.equal(response.status, 200);
  const issued = parseSigningCertificateResponse(await response.json());
  assert.equal(issued.chain.length, 3);
  const checked = await verifyIssuedCertificate(issued, root(ca), { publicKey: key.publicKey });
  assert.equal(checked.identity.san, EMAIL);
  assert.equal(checked.identity.issuer, ISSUER);
  assert.equal(checked.scts.length, 1);
});

Deno.test("signingCert refuses a proof over the wrong claim or made with another key", async () => {
  const { oidc, app } = await setup();
  const key = await generateKeyPair();
  const other = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const sub = unverifiedClaims(await oidc.mintToken(WORKFLOW)).subject;
  const proofs = [
    await key.sign(utf8(unverifiedClaims(token).subject + "x")), // not the email
    await key.sign(utf8(sub)),
    await other.sign(utf8(EMAIL)), // the right claim, another key
    await key.sign(utf8(EMAIL), { hash: "sha512" }), // not the key's default hash
  ];
  for (const proof of proofs) {
    const response = await post(app, await signingRequest(token, key, proof));
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.code, 3);
    assert.match(body.message, /proof of possession/);
  }
  // A workflow token's challenge is its sub.
  const workflowToken = await oidc.mintToken(WORKFLOW);
  const ok = await post(app, await signingRequest(workflowToken, key, await key.sign(utf8(sub))));
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
});

Deno.test("signingCert accepts pure Ed25519 proofs and refuses Ed25519ph ones", async () => {
  const { oidc, app } = await setup();
  const key = await generateKeyPair({ kind: "ed25519" });
  const token = await oidc.mintToken(EMAIL);
  const request = async (proof: Uint8Array) => {
    const body = await signingRequest(token, key, proof);
    body.publicKeyRequest.publicKey.algorithm = "ED25519";
    return await post(app, body);
  };
  const ph = await request(await key.sign(utf8(EMAIL), { prehash: true }));
  assert.equal(ph.status, 400);
  await ph.body?.cancel();
  const pure = await request(await key.sign(utf8(EMAIL)));
  assert.equal(pure.status, 200);
  const issued = parseSigningCertificateResponse(await pure.json());
  assert.equal(issued.leaf.publicKey.kind, "ed25519");
});

Deno.test("signingCert takes the token from the Bearer header, and refuses a different one in the body", async () => {
  const { oidc, app } = await setup();
  const key = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const { publicKeyRequest } = await signingRequest(token, key);
  const headerOnly = await post(app, { publicKeyRequest }, { authorization: `Bearer ${token}` });
  assert.equal(headerOnly.status, 200);
  await headerOnly.body?.cancel();
  const other = await oidc.mintToken(EMAIL);
  const both = await post(app, { credentials: { oidcIdentityToken: other }, publicKeyRequest }, {
    authorization: `Bearer ${token}`,
  });
  assert.equal(both.status, 400);
  await both.body?.cancel();
  const none = await post(app, { publicKeyRequest });
  assert.equal(none.status, 401);
  assert.equal((await none.json()).code, 16);
});

Deno.test("signingCert answers 401 for bad tokens, 400 for malformed or oversized requests", async () => {
  const { oidc, app } = await setup();
  const key = await generateKeyPair();
  const expired = await oidc.mintToken(EMAIL, {
    now: new Date(Date.now() - 7200_000),
    ttlSeconds: 60,
  });
  const tokenCases = [expired, `${await oidc.mintToken(EMAIL)}.x`, "x".repeat(100)];
  for (const token of tokenCases) {
    const response = await post(
      app,
      await signingRequest(token, key).catch(() => ({
        credentials: { oidcIdentityToken: token },
        publicKeyRequest: { publicKey: { content: key.publicKey.toPem() }, proofOfPossession: "" },
      })),
    );
    assert.equal(response.status, 401);
    await response.body?.cancel();
  }
  const token = await oidc.mintToken(EMAIL);
  const good = await signingRequest(token, key);
  const badBodies: unknown[] = [
    "not json",
    "[]",
    { ...good, publicKeyRequest: undefined },
    { ...good, certificateSigningRequest: "AAAA" },
    { ...good, publicKeyRequest: { ...good.publicKeyRequest, publicKey: { content: "nope" } } },
    { ...good, publicKeyRequest: { ...good.publicKeyRequest, proofOfPossession: "%%%" } },
    { ...good, padding: "x".repeat(70_000) },
  ];
  for (const body of badBodies) {
    const response = await post(app, body);
    assert.equal(response.status, 400, JSON.stringify(body).slice(0, 80));
    assert.equal((await response.json()).code, 3);
  }
});

Deno.test("signingCert accepts a PKCS#10 CSR whose self-signature verifies, and refuses a forged one", async () => {
  const { oidc, ca, app } = await setup();
  const key = await generateKeyPair({ kind: "ecdsa-p384" });
  const token = await oidc.mintToken(EMAIL);
  const csr = await createCertificationRequest(key);
  const pem = encodePem("CERTIFICATE REQUEST", csr);
  const response = await post(app, {
    credentials: { oidcIdentityToken: token },
    certificateSigningRequest: toBase64(utf8(pem)),
  });
  assert.equal(response.status, 200);
  const issued = parseSigningCertificateResponse(await response.json());
  await verifyIssuedCertificate(issued, root(ca), { publicKey: key.publicKey });
  // Swap in another key: the self-signature no longer verifies.
  const other = await generateKeyPair({ kind: "ecdsa-p384" });
  const forged = csr.slice();
  forged.set(other.publicKey.spki, findSubarray(forged, key.publicKey.spki));
  const refused = await post(app, {
    credentials: { oidcIdentityToken: token },
    certificateSigningRequest: toBase64(utf8(encodePem("CERTIFICATE REQUEST", forged))),
  });
  assert.equal(refused.status, 400);
  assert.match((await refused.json()).message, /self-signature/);
});

function findSubarray(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("not found");
}

Deno.test("fulcioRoutes() hide internal failures behind a 500 without detail", async () => {
  const ca = await CertificateAuthority.create();
  const errors: unknown[] = [];
  const app = fulcioRoutes(ca, {
    issuers: [{
      issuerUrl: ISSUER,
      jwks: () => {
        throw new Error("database password is hunter2");
      },
    }],
    onError: (error) => errors.push(error),
  });
  const oidc = await OidcIssuer.create({ issuerUrl: ISSUER });
  const key = await generateKeyPair();
  const response = await post(app, await signingRequest(await oidc.mintToken(), key));
  assert.equal(response.status, 500);
  const text = await response.text();
  assert.doesNotMatch(text, /hunter2/);
  assert.deepEqual(JSON.parse(text), { code: 13, message: "internal error", details: [] });
  assert.equal(errors.length, 1);
});

Deno.test("trustBundle and configuration describe the CA and the trusted issuers", async () => {
  const { ca, app } = await setup();
  const bundle = await (await app.request("/api/v2/trustBundle")).json();
  assert.deepEqual(bundle, { chains: [{ certificates: ca.chainPem() }] });
  const config = await (await app.request("/api/v2/configuration")).json();
  assert.equal(config.issuers.length, 1);
  assert.equal(config.issuers[0].issuerUrl, ISSUER);
  assert.equal(config.issuers[0].audience, "sigstore");
});

// ---------------------------------------------------------------------------------------------
// The client

Deno.test("FulcioClient retries 5xx and 429, then gives up with FULCIO_REQUEST_FAILED", async () => {
  const { oidc, app } = await setup();
  const key = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const statuses = [503, 429];
  let calls = 0;
  const flaky: typeof fetch = (input, init) => {
    calls++;
    const status = statuses.shift();
    if (status) return Promise.resolve(new Response("{}", { status }));
    return Promise.resolve(app.fetch(new Request(input, init)));
  };
  const client = new FulcioClient({ baseUrl: "http://fulcio.test", fetch: flaky, retryDelayMs: 1 });
  const issued = await client.signingCertificate({
    token,
    publicKey: key.publicKey,
    proofOfPossession: await createProofOfPossession(key, token),
  });
  assert.equal(calls, 3);
  assert.equal(certificateIdentity(issued.leaf).san, EMAIL);
  const down = new FulcioClient({
    baseUrl: "http://fulcio.test",
    fetch: () => Promise.resolve(new Response("down", { status: 502 })),
    retryDelayMs: 1,
    attempts: 2,
  });
  await assert.rejects(down.trustBundle(), (e) => code(e, "FULCIO_REQUEST_FAILED"));
});

Deno.test("FulcioClient reports refusals with Fulcio's message and never follows redirects", async () => {
  const { oidc, app } = await setup();
  const key = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const client = new FulcioClient({
    baseUrl: "http://fulcio.test",
    fetch: (input, init) => Promise.resolve(app.fetch(new Request(input, init))),
  });
  await assert.rejects(
    client.signingCertificate({ token, publicKey: key.publicKey, proofOfPossession: utf8("x") }),
    (e) => code(e, "FULCIO_REJECTED") && /proof of possession/.test((e as Error).message),
  );
  let redirectMode: RequestRedirect | undefined;
  const redirecting = new FulcioClient({
    baseUrl: "http://fulcio.test",
    fetch: (_input, init) => {
      redirectMode = init?.redirect;
      return Promise.resolve(
        new Response(null, { status: 307, headers: { location: "http://evil.test/" } }),
      );
    },
  });
  await assert.rejects(redirecting.trustBundle(), (e) => code(e, "FULCIO_REJECTED"));
  assert.equal(redirectMode, "manual");
});

Deno.test("FulcioClient refuses oversized answers and a leaf for another key", async () => {
  const { oidc, ca } = await setup();
  const key = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const request = {
    token,
    publicKey: key.publicKey,
    proofOfPossession: await createProofOfPossession(key, token),
  };
  const huge = new FulcioClient({
    baseUrl: "http://fulcio.test",
    fetch: () => Promise.resolve(new Response("x".repeat(300_000))),
  });
  await assert.rejects(
    huge.signingCertificate(request),
    (e) => code(e, "FULCIO_RESPONSE_MALFORMED"),
  );
  const otherKey = await generateKeyPair();
  const chain = await ca.issue(
    { san: { type: "email", value: EMAIL }, extensions: {} },
    otherKey.publicKey,
  );
  const swapping = new FulcioClient({
    baseUrl: "http://fulcio.test",
    fetch: () =>
      Promise.resolve(Response.json({
        signedCertificateEmbeddedSct: {
          chain: { certificates: chain.map((c) => encodePem("CERTIFICATE", c.raw)) },
        },
      })),
  });
  await assert.rejects(swapping.signingCertificate(request), (e) => code(e, "FULCIO_KEY_MISMATCH"));
});

Deno.test("parseSigningCertificateResponse() reads both answer forms and refuses anything else", async () => {
  const ca = await CertificateAuthority.create();
  const certificates = ca.chainPem();
  const detached = parseSigningCertificateResponse({
    signedCertificateDetachedSct: { chain: { certificates }, signedCertificateTimestamp: "AAEC" },
  });
  assert.deepEqual([...detached.detachedSct!], [0, 1, 2]);
  assert.equal(detached.chain.length, 2);
  for (
    const bad of [
      {},
      { signedCertificateEmbeddedSct: { chain: { certificates: [] } } },
      { signedCertificateEmbeddedSct: { chain: { certificates: ["nope"] } } },
      {
        signedCertificateEmbeddedSct: { chain: { certificates } },
        signedCertificateDetachedSct: { chain: { certificates } },
      },
      {
        signedCertificateEmbeddedSct: { chain: { certificates: Array(11).fill(certificates[0]) } },
      },
    ]
  ) {
    assert.throws(
      () => parseSigningCertificateResponse(bad),
      (e) => code(e, "FULCIO_RESPONSE_MALFORMED"),
    );
  }
});

Deno.test("verifyIssuedCertificate() refuses a chain from another CA and a leaf without a trusted SCT", async () => {
  const { oidc, ca, app } = await setup();
  const key = await generateKeyPair();
  const token = await oidc.mintToken(EMAIL);
  const issued = parseSigningCertificateResponse(
    await (await post(app, await signingRequest(token, key))).json(),
  );
  const stranger = await CertificateAuthority.create();
  await assert.rejects(
    verifyIssuedCertificate(issued, root(stranger)),
    (e) => code(e, "X509_NO_TRUSTED_CA"),
  );
  await assert.rejects(
    verifyIssuedCertificate(issued, {
      certificateAuthorities: [ca.trustedAuthority(ISSUER)],
      ctlogs: [stranger.ctLog(ISSUER)],
    }),
    (e) => code(e, "X509_SCT_UNVERIFIED"),
  );
  const skipped = await verifyIssuedCertificate(issued, {
    certificateAuthorities: [ca.trustedAuthority(ISSUER)],
    ctlogs: [],
  }, { sctThreshold: 0 });
  assert.equal(skipped.scts.length, 0);
  await assert.rejects(
    verifyIssuedCertificate(issued, root(ca), { publicKey: (await generateKeyPair()).publicKey }),
    (e) => code(e, "FULCIO_KEY_MISMATCH"),
  );
});

// ---- checking a certificate just issued: at its notBefore, with the CA's clock a little off --

Deno.test("issuedCertificateTime() answers notBefore inside the request window widened by the skew, else FULCIO_CLOCK_SKEW", () => {
  const requested = new Date("2025-03-08T18:18:20.600Z");
  const received = new Date("2025-03-08T18:18:21.200Z");
  const at = (iso: string) =>
    issuedCertificateTime({ notBefore: new Date(iso) }, requested, received);
  // Issued in the next second, truncated to it: inside the window.
  assert.equal(at("2025-03-08T18:18:21Z").toISOString(), "2025-03-08T18:18:21.000Z");
  // The second the request started in (X.509 times truncate).
  assert.equal(at("2025-03-08T18:18:20Z").toISOString(), "2025-03-08T18:18:20.000Z");
  assert.equal(at("2025-03-08T18:18:50Z").toISOString(), "2025-03-08T18:18:50.000Z");
  assert.equal(at("2025-03-08T18:17:50Z").toISOString(), "2025-03-08T18:17:50.000Z");
  assert.throws(
    () => at("2025-03-08T18:28:21Z"),
    (e) => code(e, "FULCIO_CLOCK_SKEW") && /600 s ahead of the local clock/.test(String(e)),
  );
  assert.throws(
    () => at("2025-03-08T18:08:20Z"),
    (e) => code(e, "FULCIO_CLOCK_SKEW") && /601 s behind the local clock/.test(String(e)),
  );
  assert.throws(
    () => issuedCertificateTime({ notBefore: received }, requested, received, -1),
    RangeError,
  );
});

/** A Fulcio and OIDC issuer whose clock is `skewMs` off the test's, reached in-process. */
async function skewedStack(skewMs: number) {
  const clock = () => new Date(Date.now() + skewMs);
  const oidc = await OidcIssuer.create({ issuerUrl: ISSUER, identities: [EMAIL], now: clock });
  const ca = await CertificateAuthority.create({ now: clock });
  const app = fulcioRoutes(ca, { issuers: [oidc], now: clock });
  const fetch: typeof globalThis.fetch = (input, init) => Promise.resolve(app.request(input, init));
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [],
    timestampAuthorities: [],
    ...root(ca),
  };
  return { token: await oidc.mintToken(), trustedRoot, fetch };
}

for (const skewMs of [3_000, -3_000]) {
  Deno.test(`keylessIdentity() accepts a certificate from a CA whose clock is ${skewMs / 1000} s off`, async () => {
    const { token, trustedRoot, fetch } = await skewedStack(skewMs);
    const { certificate } = await keylessIdentity({ token, fulcioUrl: ISSUER, trustedRoot, fetch });
    assert.equal(certificate.identity.san, EMAIL);
  });
}

for (const skewMs of [600_000, -600_000]) {
  Deno.test(`keylessIdentity() refuses, naming the skew, a certificate from a CA whose clock is ${skewMs / 60_000} min off`, async () => {
    const { token, trustedRoot, fetch } = await skewedStack(skewMs);
    await assert.rejects(
      () => keylessIdentity({ token, fulcioUrl: ISSUER, trustedRoot, fetch }),
      (e) =>
        code(e, "FULCIO_CLOCK_SKEW") &&
        new RegExp(`${skewMs > 0 ? "ahead of" : "behind"} the local clock`).test(String(e)),
    );
  });
}
