/**
 * The keyless services together: the embedded OIDC issuer and Fulcio, composed as `dcosign serve`
 * mounts them, driven by the library clients in-process (`app.request`) and over real sockets,
 * including the interactive browser login played with plain HTTP.
 */

import assert from "node:assert/strict";
import { isCosignError } from "../../lib/errors.ts";
import { createProofOfPossession, FulcioClient } from "../../lib/keyless/fulcio.ts";
import { generateKeyPair } from "../../lib/keys/private_key.ts";
import { resolveIdentityToken, verifyIdToken } from "../../lib/keyless/token_sources.ts";
import { verifyEmbeddedScts } from "../../lib/x509/sct.ts";
import {
  encodeTrustedRoot,
  parseTrustedRoot,
  type TrustedRoot,
} from "../../lib/trust/trusted_root.ts";
import { certificateIdentity } from "../../lib/x509/identity.ts";
import { verifyFulcioChain } from "../../lib/x509/chain.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";
import { decodePemBlocks } from "../../lib/util/pem.ts";
import { Hono } from "../../server/_deps.ts";
import { CertificateAuthority, fulcioRoutes } from "../../server/fulcio/routes.ts";
import { OidcIssuer, oidcRoutes } from "../../server/oidc/routes.ts";

const WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v2.0.0";

interface Services {
  readonly issuer: OidcIssuer;
  readonly ca: CertificateAuthority;
  readonly app: Hono;
}

/** The two services mounted on one app, as the stack composition does. */
async function createServices(issuerUrl?: string): Promise<Services> {
  const issuer = await OidcIssuer.create({
    identities: ["dev@dcosign.test", WORKFLOW],
    allowTestTokens: true,
    ...(issuerUrl ? { issuerUrl } : {}),
  });
  const ca = await CertificateAuthority.create();
  const app = new Hono();
  app.route("/", oidcRoutes(issuer));
  app.route("/", fulcioRoutes(ca, { issuers: [issuer] }));
  return { issuer, ca, app };
}

/** The trusted_root.json serve writes, through JSON and back. */
function trustedRoot(ca: CertificateAuthority, base: string): TrustedRoot {
  return parseTrustedRoot(JSON.stringify(encodeTrustedRoot({
    tlogs: [],
    ctlogs: [ca.ctLog(base)],
    certificateAuthorities: [ca.trustedAuthority(base)],
    timestampAuthorities: [],
  })));
}

/** Get a certificate for a fresh key and check it the way a verifier will. */
async function certify(
  token: string,
  base: string,
  ca: CertificateAuthority,
  fetchFn: typeof fetch,
) {
  const key = await generateKeyPair();
  const client = new FulcioClient({ baseUrl: base, fetch: fetchFn });
  const issued = await client.signingCertificate({
    token,
    publicKey: key.publicKey,
    proofOfPossession: await createProofOfPossession(key, token),
  });
  const root = trustedRoot(ca, base);
  const { chain, authority } = await verifyFulcioChain(issued.leaf, root, [new Date()], {
    intermediates: issued.chain.slice(1),
  });
  assert.equal(authority.uri, base);
  const scts = await verifyEmbeddedScts(issued.leaf, chain[1]!, root.ctlogs);
  assert.equal(scts.length, 1);
  assert.ok(issued.leaf.publicKey.equals(key.publicKey));
  return certificateIdentity(issued.leaf);
}

function serve(app: Hono) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  return { server, base: `http://127.0.0.1:${server.addr.port}` };
}

/** A browser: follow the authorization URL to its redirect, then load the callback. */
async function playBrowser(url: string, tamper?: (callback: URL) => void): Promise<number> {
  const authorization = await fetch(url, { redirect: "manual" });
  await authorization.body?.cancel();
  assert.equal(authorization.status, 302);
  const callback = new URL(authorization.headers.get("location")!);
  tamper?.(callback);
  const page = await fetch(callback);
  await page.body?.cancel();
  return page.status;
}

Deno.test("in-process: a test token for a workflow identity gets a certificate that chains, carries an SCT and names the workflow", async () => {
  const base = "http://dcosign.test";
  const { ca, app } = await createServices(base);
  const inProcess: typeof fetch = (input, init) => Promise.resolve(app.request(input, init));
  const minted = await app.request("/oauth2/test-token", {
    method: "POST",
    body: JSON.stringify({ identity: WORKFLOW }),
  });
  const { id_token: token, identity, issuer } = await minted.json();
  assert.equal(identity, WORKFLOW);
  assert.equal(issuer, base);
  const found = await certify(token, base, ca, inProcess);
  assert.equal(found.san, WORKFLOW);
  assert.equal(found.issuer, base);
  assert.deepEqual(found.githubWorkflow, {
    trigger: "push",
    sha: found.githubWorkflow.sha,
    name: "release",
    repository: "acme/app",
    ref: "refs/tags/v2.0.0",
  });
  assert.match(found.githubWorkflow.sha!, /^[0-9a-f]{40}$/);
  assert.equal(found.extensions.sourceRepositoryUri, "https://github.com/acme/app");
});

Deno.test("sockets: the default email identity, minted with mintToken, is certified over HTTP", async () => {
  const { issuer, ca, app } = await createServices();
  const { server, base } = serve(app);
  await using _ = server;
  issuer.setIssuerUrl(base);
  const found = await certify(await issuer.mintToken(), base, ca, fetch);
  assert.equal(found.san, "dev@dcosign.test");
  assert.equal(found.issuer, base);
  assert.deepEqual(found.sans.map((n) => n.type), ["email"]);
});

Deno.test("sockets: the interactive browser login yields a verified token Fulcio certifies", async () => {
  const { issuer, ca, app } = await createServices();
  const { server, base } = serve(app);
  await using _ = server;
  issuer.setIssuerUrl(base);
  const lines: string[] = [];
  const opened: string[] = [];
  const resolved = await resolveIdentityToken({
    env: () => undefined,
    interactive: {
      issuer: base,
      print: (line) => lines.push(line),
      openBrowser: async (url) => {
        opened.push(url);
        assert.equal(await playBrowser(url), 200);
        return true;
      },
    },
  });
  assert.equal(resolved.source, "interactive");
  assert.equal(resolved.claims.email, "dev@dcosign.test");
  const authorization = new URL(opened[0]!);
  assert.equal(authorization.origin + authorization.pathname, `${base}/oauth2/auth`);
  assert.equal(authorization.searchParams.get("code_challenge_method"), "S256");
  assert.match(
    authorization.searchParams.get("redirect_uri")!,
    /^http:\/\/localhost:\d+\/auth\/callback$/,
  );
  assert.ok(lines.some((line) => line.includes(opened[0]!)));
  // The token carries the nonce of the login and verifies against the issuer's published keys.
  const nonce = authorization.searchParams.get("nonce")!;
  const jwks = await (await fetch(`${base}/oauth2/keys`)).json();
  const claims = await verifyIdToken(resolved.token, jwks, {
    issuer: base,
    audience: "sigstore",
    nonce,
  });
  assert.equal(claims.subject, "dev@dcosign.test");
  const found = await certify(resolved.token, base, ca, fetch);
  assert.equal(found.san, "dev@dcosign.test");
});

Deno.test("sockets: without a browser the login prints the URL, and a user who opens it completes the login", async () => {
  const { issuer, app } = await createServices();
  const { server, base } = serve(app);
  await using _ = server;
  issuer.setIssuerUrl(base);
  let visit: Promise<number> | undefined;
  const resolved = await resolveIdentityToken({
    env: () => undefined,
    interactive: {
      issuer: base,
      openBrowser: () => Promise.resolve(false),
      print: (line) => {
        const url = line.match(/http:\/\/\S+\/oauth2\/auth\?\S+/)?.[0];
        if (url) visit = playBrowser(url);
      },
    },
  });
  assert.equal(await visit, 200);
  assert.equal(resolved.claims.issuer, base);
});

Deno.test("sockets: a redirect whose state was tampered with is refused (login CSRF)", async () => {
  const { issuer, app } = await createServices();
  const { server, base } = serve(app);
  await using _ = server;
  issuer.setIssuerUrl(base);
  let status = 0;
  await assert.rejects(
    resolveIdentityToken({
      env: () => undefined,
      interactive: {
        issuer: base,
        print: () => {},
        openBrowser: async (url) => {
          status = await playBrowser(url, (callback) => {
            callback.searchParams.set("state", "attacker-state");
          });
          return true;
        },
      },
    }),
    (e) => isCosignError(e, "OIDC_STATE_MISMATCH"),
  );
  assert.equal(status, 400);
});

Deno.test("sockets: a login nobody completes times out and closes its listener", async () => {
  const { issuer, app } = await createServices();
  const { server, base } = serve(app);
  await using _ = server;
  issuer.setIssuerUrl(base);
  let callbackPort = 0;
  await assert.rejects(
    resolveIdentityToken({
      env: () => undefined,
      interactive: {
        issuer: base,
        timeoutMs: 200,
        print: () => {},
        openBrowser: (url) => {
          callbackPort = Number(new URL(new URL(url).searchParams.get("redirect_uri")!).port);
          return Promise.resolve(true);
        },
      },
    }),
    (e) => isCosignError(e, "OIDC_LOGIN_TIMEOUT"),
  );
  assert.ok(callbackPort > 0);
  await assert.rejects(fetch(`http://127.0.0.1:${callbackPort}/auth/callback`), TypeError);
});

// ---- the legacy v1 API (Fulcio pkg/api/client.go), as cosign 2.x calls it ---------------------

/** `POST /api/v1/signingCert` as Fulcio's Go client sends it: JSON []byte fields are base64. */
async function signingCertV1(
  app: Hono,
  token: string | undefined,
  content: Uint8Array,
  proof: Uint8Array,
): Promise<Response> {
  return await app.request("/api/v1/signingCert", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify({
      publicKey: { algorithm: "ecdsa", content: content.toBase64() },
      signedEmailAddress: proof.toBase64(),
    }),
  });
}

for (const form of ["PEM", "DER"] as const) {
  Deno.test(`in-process: v1 signingCert certifies a ${form} key with a proof over the email, 201 with the PEM chain and the SCT embedded`, async () => {
    const base = "http://dcosign.test";
    const { issuer, ca, app } = await createServices(base);
    const token = await issuer.mintToken();
    const key = await generateKeyPair();
    const content = form === "PEM"
      ? new TextEncoder().encode(key.publicKey.toPem())
      : key.publicKey.spki;
    const response = await signingCertV1(
      app,
      token,
      content,
      await createProofOfPossession(key, token),
    );
    assert.equal(response.status, 201);
    assert.equal(response.headers.get("content-type"), "application/pem-certificate-chain");
    const blocks = decodePemBlocks(await response.text());
    assert.deepEqual(blocks.map((b) => b.type), ["CERTIFICATE", "CERTIFICATE", "CERTIFICATE"]);
    const [leaf, ...intermediates] = blocks.map((b) => parseCertificate(b.bytes));
    const root = trustedRoot(ca, base);
    const { chain } = await verifyFulcioChain(leaf!, root, [new Date()], { intermediates });
    assert.equal((await verifyEmbeddedScts(leaf!, chain[1]!, root.ctlogs)).length, 1);
    assert.ok(leaf!.publicKey.equals(key.publicKey));
    assert.equal(certificateIdentity(leaf!).san, "dev@dcosign.test");
  });
}

Deno.test("in-process: v1 signingCert applies v2's checks: a proof by another key is 400, no token 401", async () => {
  const { issuer, app } = await createServices("http://dcosign.test");
  const token = await issuer.mintToken();
  const key = await generateKeyPair();
  const other = await generateKeyPair();
  const wrongProof = await signingCertV1(
    app,
    token,
    key.publicKey.spki,
    await createProofOfPossession(other, token),
  );
  assert.equal(wrongProof.status, 400);
  assert.match((await wrongProof.json()).message, /proof of possession/);
  const noToken = await signingCertV1(
    app,
    undefined,
    key.publicKey.spki,
    await createProofOfPossession(key, token),
  );
  assert.equal(noToken.status, 401);
  await noToken.body?.cancel();
  const garbage = await signingCertV1(app, token, new Uint8Array([1, 2, 3]), new Uint8Array(8));
  assert.equal(garbage.status, 400);
  await garbage.body?.cancel();
});

Deno.test("in-process: v1 rootCert answers the intermediate and the root as a PEM chain", async () => {
  const { ca, app } = await createServices("http://dcosign.test");
  const response = await app.request("/api/v1/rootCert");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/pem-certificate-chain");
  const blocks = decodePemBlocks(await response.text());
  assert.deepEqual(
    blocks.map((b) => b.bytes.toBase64()),
    [ca.intermediate.raw.toBase64(), ca.root.raw.toBase64()],
  );
});
