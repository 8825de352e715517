import assert from "node:assert/strict";
import { fc } from "../../_deps.ts";
import { isCosignError } from "../../../lib/errors.ts";
import {
  fetchDiscovery,
  fetchGithubActionsToken,
  isJwtShaped,
  parseJwks,
  pkceChallenge,
  resolveIdentityToken,
  unverifiedClaims,
  verifyIdToken,
} from "../../../lib/keyless/token_sources.ts";
import {
  identityClaims,
  identityName,
  isLoopbackRedirect,
  OAuthError,
  OidcIssuer,
  oidcRoutes,
  parseIssuerIdentity,
} from "../../../server/oidc/routes.ts";

const ISSUER = "http://127.0.0.1:5555";
const WORKFLOW = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.2.3";

function b64url(text: string): string {
  return new TextEncoder().encode(text).toBase64({ alphabet: "base64url", omitPadding: true });
}

function unsignedToken(claims: Record<string, unknown>): string {
  return `${b64url('{"alg":"ES256"}')}.${b64url(JSON.stringify(claims))}.c2ln`;
}

function code(error: unknown, expected: string): boolean {
  return isCosignError(error) && error.code === expected;
}

async function issuer(options: Parameters<typeof OidcIssuer.create>[0] = {}) {
  return await OidcIssuer.create({
    issuerUrl: ISSUER,
    identities: ["alice@example.com", WORKFLOW, "spiffe://example.org/ns/ci/sa/builder"],
    ...options,
  });
}

// ---------------------------------------------------------------------------------------------
// Unverified claims

Deno.test("unverifiedClaims() reads iss, sub, aud and email, and the challenge is email before sub", () => {
  const withEmail = unverifiedClaims(unsignedToken({
    iss: ISSUER,
    sub: "1234",
    aud: "sigstore",
    email: "alice@example.com",
    email_verified: true,
    exp: 2_000_000_000,
  }));
  assert.equal(withEmail.issuer, ISSUER);
  assert.deepEqual(withEmail.audience, ["sigstore"]);
  assert.equal(withEmail.challenge, "alice@example.com");
  assert.equal(withEmail.emailVerified, true);
  assert.equal(withEmail.expiresAt?.getTime(), 2_000_000_000_000);
  const withoutEmail = unverifiedClaims(
    unsignedToken({ iss: ISSUER, sub: "repo:acme/app:ref:refs/heads/main", aud: ["a", "b"] }),
  );
  assert.equal(withoutEmail.challenge, "repo:acme/app:ref:refs/heads/main");
  assert.deepEqual(withoutEmail.audience, ["a", "b"]);
});

Deno.test("unverifiedClaims() rejects tokens without exactly two dots, before splitting a huge one", () => {
  const good = unsignedToken({ iss: ISSUER, sub: "x" });
  for (const bad of [good.replace(/\.[^.]*$/, ""), `${good}.extra`, "a.b", "", "...."]) {
    assert.throws(() => unverifiedClaims(bad), (e) => code(e, "OIDC_TOKEN_MALFORMED"), bad);
  }
  // SECURITY.md row 16: megabytes of dots fail on the size bound, not after a split.
  const started = performance.now();
  assert.throws(() => unverifiedClaims(".".repeat(4_000_000)), /longer than/);
  assert.throws(() => unverifiedClaims(".".repeat(30_000)), /three dot-separated parts/);
  assert.ok(performance.now() - started < 500);
});

Deno.test("unverifiedClaims() rejects non-base64url segments, non-JSON payloads and missing iss or sub", () => {
  const header = b64url('{"alg":"ES256"}');
  const cases = [
    `${header}.${b64url("[1,2]")}.x`,
    `${header}.${b64url("not json")}.x`,
    `${header}.e30+.x`,
    `${header}.${b64url('{"sub":"x"}')}.x`,
    `${header}.${b64url('{"iss":"x"}')}.x`,
    `${header}.${b64url('{"iss":"x","sub":"y","email":7}')}.x`,
    `${b64url("[]")}.${b64url('{"iss":"x","sub":"y"}')}.x`,
  ];
  for (const token of cases) {
    assert.throws(() => unverifiedClaims(token), (e) => code(e, "OIDC_TOKEN_MALFORMED"), token);
  }
});

Deno.test("isJwtShaped() tells a token from a file path", () => {
  assert.ok(isJwtShaped(unsignedToken({ iss: "x", sub: "y" })));
  for (const path of ["/tmp/token", "./token.jwt", "token.txt", "a.b.c/d", "C:\\token"]) {
    assert.equal(isJwtShaped(path), false, path);
  }
});

Deno.test("pkceChallenge() matches RFC 7636 appendix B", () => {
  assert.equal(
    pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  );
});

Deno.test("unverifiedClaims() reads back any claims it was given (property)", () => {
  fc.assert(
    fc.property(
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.string({ minLength: 1, maxLength: 40 }),
      fc.option(fc.emailAddress(), { nil: undefined }),
      (iss, sub, email) => {
        const claims = unverifiedClaims(
          unsignedToken({ iss, sub, ...(email === undefined ? {} : { email }) }),
        );
        assert.equal(claims.issuer, iss);
        assert.equal(claims.subject, sub);
        assert.equal(claims.challenge, email ?? sub);
      },
    ),
  );
});

// ---------------------------------------------------------------------------------------------
// Verification

Deno.test("verifyIdToken() accepts a token of the issuer and refuses each failed check with its code", async () => {
  const oidc = await issuer();
  const jwks = oidc.jwks();
  const token = await oidc.mintToken("alice@example.com");
  const claims = await verifyIdToken(token, jwks, { issuer: ISSUER, audience: "sigstore" });
  assert.equal(claims.email, "alice@example.com");

  const other = await issuer();
  const now = new Date();
  const cases: [string, () => Promise<unknown>][] = [
    [
      "OIDC_TOKEN_AUDIENCE",
      () => verifyIdToken(token, jwks, { issuer: ISSUER, audience: "other" }),
    ],
    [
      "OIDC_TOKEN_ISSUER",
      async () => await verifyIdToken(token, jwks, { issuer: `${ISSUER}0`, audience: "sigstore" }),
    ],
    [
      "OIDC_TOKEN_EXPIRED",
      async () =>
        await verifyIdToken(
          await oidc.mintToken(undefined, {
            ttlSeconds: 60,
            now: new Date(now.getTime() - 3_600_000),
          }),
          jwks,
          { issuer: ISSUER, audience: "sigstore" },
        ),
    ],
    [
      "OIDC_TOKEN_NOT_YET_VALID",
      async () =>
        await verifyIdToken(
          await oidc.mintToken(undefined, { now: new Date(now.getTime() + 3_600_000) }),
          jwks,
          { issuer: ISSUER, audience: "sigstore" },
        ),
    ],
    [
      "OIDC_TOKEN_SIGNATURE",
      async () =>
        await verifyIdToken(await other.mintToken(), jwks, {
          issuer: ISSUER,
          audience: "sigstore",
        }),
    ],
    [
      "OIDC_TOKEN_NONCE",
      async () =>
        await verifyIdToken(await oidc.mintToken(undefined, { nonce: "n1" }), jwks, {
          issuer: ISSUER,
          audience: "sigstore",
          nonce: "n2",
        }),
    ],
    [
      "OIDC_TOKEN_SIGNATURE",
      async () =>
        await verifyIdToken(
          `${b64url('{"alg":"none"}')}.${token.split(".")[1]}.`,
          jwks,
          { issuer: ISSUER, audience: "sigstore" },
        ),
    ],
  ];
  for (const [expected, run] of cases) {
    await assert.rejects(run(), (e) => code(e, expected), expected);
  }
  // A token whose payload was edited no longer verifies.
  const [head, , sig] = token.split(".");
  const edited = `${head}.${
    b64url(JSON.stringify({ ...unverifiedClaims(token).claims, email: "mallory@example.com" }))
  }.${sig}`;
  await assert.rejects(
    verifyIdToken(edited, jwks, { issuer: ISSUER, audience: "sigstore" }),
    (e) => code(e, "OIDC_TOKEN_SIGNATURE"),
  );
});

Deno.test("parseJwks() refuses documents that are not key sets, and bounds the key count", () => {
  for (const bad of [null, [], {}, { keys: [] }, { keys: [1] }, { keys: Array(33).fill({}) }]) {
    assert.throws(() => parseJwks(bad), (e) => code(e, "OIDC_JWKS_MALFORMED"));
  }
});

// ---------------------------------------------------------------------------------------------
// Token sources

Deno.test("resolveIdentityToken() takes the flag first, then a flag file, then SIGSTORE_ID_TOKEN", async () => {
  const flag = unsignedToken({ iss: "flag", sub: "a" });
  const file = unsignedToken({ iss: "file", sub: "b" });
  const env = unsignedToken({ iss: "env", sub: "c" });
  const environment = (name: string) => name === "SIGSTORE_ID_TOKEN" ? env : undefined;
  const fromFlag = await resolveIdentityToken({ identityToken: flag, env: environment });
  assert.deepEqual([fromFlag.source, fromFlag.claims.issuer], ["flag", "flag"]);
  const reads: string[] = [];
  const fromFile = await resolveIdentityToken({
    identityToken: "/run/token",
    readFile: (path) => {
      reads.push(path);
      return Promise.resolve(`${file}\n`);
    },
    env: environment,
  });
  assert.deepEqual([fromFile.source, fromFile.token, reads], ["file", file, ["/run/token"]]);
  const fromEnv = await resolveIdentityToken({ env: environment });
  assert.deepEqual([fromEnv.source, fromEnv.claims.issuer], ["env", "env"]);
  await assert.rejects(
    resolveIdentityToken({ env: environment, disableAmbient: true }),
    (e) => code(e, "OIDC_NO_TOKEN"),
  );
  await assert.rejects(
    resolveIdentityToken({ env: () => "not-a-token" }),
    (e) => code(e, "OIDC_TOKEN_MALFORMED") && /SIGSTORE_ID_TOKEN/.test((e as Error).message),
  );
  await assert.rejects(
    resolveIdentityToken({
      identityToken: "/missing",
      readFile: () => Promise.reject(new Deno.errors.NotFound("no such file")),
    }),
    (e) => code(e, "OIDC_TOKEN_FILE"),
  );
});

Deno.test("resolveIdentityToken() asks GitHub Actions with &audience=sigstore and a bearer header", async () => {
  const token = unsignedToken({ iss: "https://token.actions.githubusercontent.com", sub: "repo" });
  const seen: { url: string; auth: string | null; redirect?: RequestRedirect }[] = [];
  let failures = 1;
  const fetchFn: typeof fetch = (input, init) => {
    seen.push({
      url: String(input),
      auth: new Headers(init?.headers).get("authorization"),
      ...(init?.redirect ? { redirect: init.redirect } : {}),
    });
    if (failures-- > 0) return Promise.resolve(new Response("busy", { status: 503 }));
    return Promise.resolve(Response.json({ value: token }));
  };
  const env: Record<string, string> = {
    ACTIONS_ID_TOKEN_REQUEST_URL: "https://pipelines.example/token?api-version=2.0",
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: "runtime-secret",
  };
  const resolved = await resolveIdentityToken({ env: (name) => env[name], fetch: fetchFn });
  assert.equal(resolved.source, "github-actions");
  assert.equal(resolved.token, token);
  assert.equal(seen.length, 2, "the 503 was retried");
  assert.equal(seen[1]!.url, "https://pipelines.example/token?api-version=2.0&audience=sigstore");
  assert.equal(seen[1]!.auth, "bearer runtime-secret");
  assert.equal(seen[1]!.redirect, "manual");
});

Deno.test("fetchGithubActionsToken() refuses redirects, oversized answers and answers without a value", async () => {
  const answer = (response: () => Response) => ({ fetch: () => Promise.resolve(response()) });
  const cases: [string, () => Response][] = [
    ["redirect", () => new Response(null, { status: 302, headers: { location: "https://evil" } })],
    ["size", () => new Response("x".repeat(70_000))],
    ["value", () => Response.json({ count: 1 })],
    ["403", () => new Response("denied", { status: 403 })],
  ];
  for (const [name, response] of cases) {
    await assert.rejects(
      fetchGithubActionsToken("https://gh.example/t", "secret", answer(response)),
      (e) => code(e, "OIDC_AMBIENT_FAILED"),
      name,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Discovery

Deno.test("fetchDiscovery() requires the document to name the same issuer and never follows redirects", async () => {
  const doc = (issuerName: string, endpoint = "https://idp.example") => () =>
    Response.json({
      issuer: issuerName,
      authorization_endpoint: `${endpoint}/auth`,
      token_endpoint: `${endpoint}/token`,
      jwks_uri: `${endpoint}/keys`,
    });
  const run = (issuerUrl: string, response: () => Response) =>
    fetchDiscovery(issuerUrl, { fetch: () => Promise.resolve(response()) });
  const found = await run("https://idp.example", doc("https://idp.example"));
  assert.equal(found.tokenEndpoint, "https://idp.example/token");
  const failing: [string, string, () => Response][] = [
    ["other issuer", "https://idp.example", doc("https://idp.example.evil")],
    ["prefix issuer", "https://idp.example", doc("https://idp.example/sub")],
    ["http endpoints", "https://idp.example", doc("https://idp.example", "http://idp.example")],
    [
      "redirect",
      "https://idp.example",
      () => new Response(null, { status: 301, headers: { location: "https://x" } }),
    ],
  ];
  for (const [name, issuerUrl, response] of failing) {
    await assert.rejects(run(issuerUrl, response), (e) => code(e, "OIDC_DISCOVERY_FAILED"), name);
  }
});

// ---------------------------------------------------------------------------------------------
// The embedded issuer's state

Deno.test("parseIssuerIdentity() names emails, GitHub workflows and URI subjects, and refuses the rest", () => {
  assert.deepEqual(parseIssuerIdentity("alice@example.com"), {
    kind: "email",
    email: "alice@example.com",
  });
  assert.deepEqual(parseIssuerIdentity(WORKFLOW), {
    kind: "github-workflow",
    repository: "acme/app",
    workflowPath: ".github/workflows/release.yml",
    ref: "refs/tags/v1.2.3",
  });
  assert.equal(parseIssuerIdentity("spiffe://example.org/sa").kind, "uri");
  for (const text of ["", "alice", "a b@example.com", "not a uri://x"]) {
    assert.throws(() => parseIssuerIdentity(text), TypeError, text);
  }
  for (const text of ["alice@example.com", WORKFLOW, "spiffe://example.org/sa"]) {
    assert.equal(identityName(parseIssuerIdentity(text)), text);
  }
});

Deno.test("identityClaims() of a workflow carries GitHub's claim names and subject form", () => {
  const claims = identityClaims(parseIssuerIdentity(WORKFLOW));
  assert.equal(claims.sub, "repo:acme/app:ref:refs/tags/v1.2.3");
  assert.equal(claims.job_workflow_ref, "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3");
  assert.equal(claims.repository, "acme/app");
  assert.equal(claims.repository_owner, "acme");
  assert.equal(claims.ref_type, "tag");
  assert.equal(claims.event_name, "push");
  assert.equal(claims.workflow, "release");
  assert.equal(claims.runner_environment, "github-hosted");
  assert.match(String(claims.sha), /^[0-9a-f]{40}$/);
  assert.equal(claims.email, undefined);
});

Deno.test("OidcIssuer.mintToken() refuses identities it does not have and needs its URL", async () => {
  const oidc = await issuer();
  await assert.rejects(
    oidc.mintToken("mallory@example.com"),
    (e) => code(e, "OIDC_UNKNOWN_IDENTITY"),
  );
  await assert.rejects(oidc.mintToken(undefined, { ttlSeconds: 0 }), RangeError);
  const unset = await OidcIssuer.create();
  await assert.rejects(unset.mintToken(), (e) => code(e, "OIDC_ISSUER_URL_UNSET"));
  assert.throws(() => unset.setIssuerUrl("http://x/"), TypeError);
  unset.setIssuerUrl("http://127.0.0.1:1234");
  assert.equal(unverifiedClaims(await unset.mintToken()).subject, "signer@dcosign.test");
});

Deno.test("OidcIssuer.toJSON() and fromJSON() keep the signing key", async () => {
  const oidc = await issuer();
  const restored = await OidcIssuer.fromJSON(
    JSON.parse(JSON.stringify(oidc)),
    { issuerUrl: ISSUER, identities: ["alice@example.com"] },
  );
  assert.equal(restored.keyId, oidc.keyId);
  const token = await restored.mintToken();
  const claims = await verifyIdToken(token, oidc.jwks(), { issuer: ISSUER, audience: "sigstore" });
  assert.equal(claims.email, "alice@example.com");
  await assert.rejects(OidcIssuer.fromJSON({ key: "AAAA" }), (e) => code(e, "SERVER_OIDC_STATE"));
  await assert.rejects(OidcIssuer.fromJSON(null), (e) => code(e, "SERVER_OIDC_STATE"));
});

Deno.test("isLoopbackRedirect() accepts only plain http loopback URLs", () => {
  for (
    const ok of ["http://localhost:1/cb", "http://127.0.0.1:65000/auth/callback", "http://[::1]/x"]
  ) {
    assert.ok(isLoopbackRedirect(ok), ok);
  }
  for (
    const bad of [
      "https://localhost/cb",
      "http://localhost.evil.com/cb",
      "http://127.0.0.2/cb",
      "http://user@localhost/cb",
      "http://evil.com/?localhost",
      "http://localhost/cb#x",
    ]
  ) {
    assert.equal(isLoopbackRedirect(bad), false, bad);
  }
});

function authParams(overrides: Record<string, string | undefined> = {}): URLSearchParams {
  const params: Record<string, string | undefined> = {
    response_type: "code",
    client_id: "sigstore",
    redirect_uri: "http://localhost:4321/auth/callback",
    scope: "openid email",
    state: "the-state",
    nonce: "the-nonce",
    code_challenge: pkceChallenge("v".repeat(43)),
    code_challenge_method: "S256",
    ...overrides,
  };
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, v);
  return search;
}

Deno.test("OidcIssuer.authorize() redirects with a code and the state, for the hinted identity", async () => {
  const oidc = await issuer();
  const location = new URL(oidc.authorize(authParams({ login_hint: WORKFLOW })));
  assert.equal(location.origin + location.pathname, "http://localhost:4321/auth/callback");
  assert.equal(location.searchParams.get("state"), "the-state");
  const exchanged = await oidc.exchangeCode(
    new URLSearchParams({
      grant_type: "authorization_code",
      code: location.searchParams.get("code")!,
      redirect_uri: "http://localhost:4321/auth/callback",
      client_id: "sigstore",
      code_verifier: "v".repeat(43),
    }),
  );
  const claims = await verifyIdToken(exchanged.id_token, oidc.jwks(), {
    issuer: ISSUER,
    audience: "sigstore",
    nonce: "the-nonce",
  });
  assert.equal(
    claims.claims.job_workflow_ref,
    "acme/app/.github/workflows/release.yml@refs/tags/v1.2.3",
  );
});

Deno.test("OidcIssuer.authorize() refuses bad clients and redirect URIs outright, the rest by redirect", async () => {
  const oidc = await issuer();
  assert.throws(() => oidc.authorize(authParams({ client_id: "other" })), OAuthError);
  assert.throws(
    () => oidc.authorize(authParams({ redirect_uri: "https://evil.example/cb" })),
    OAuthError,
  );
  const refused: [Record<string, string | undefined>, string][] = [
    [{ code_challenge_method: "plain" }, "invalid_request"],
    [{ code_challenge: undefined }, "invalid_request"],
    [{ state: undefined }, "invalid_request"],
    [{ response_type: "token" }, "unsupported_response_type"],
    [{ scope: "email" }, "invalid_scope"],
    [{ login_hint: "mallory@example.com" }, "access_denied"],
  ];
  for (const [overrides, error] of refused) {
    const location = new URL(oidc.authorize(authParams(overrides)));
    assert.equal(location.searchParams.get("error"), error, JSON.stringify(overrides));
    assert.equal(location.searchParams.get("code"), null);
  }
  assert.equal(oidc.pendingCodes, 0);
});

Deno.test("OidcIssuer.exchangeCode() codes are single use, bound to verifier, redirect and client", async () => {
  const oidc = await issuer();
  const newCode = () => new URL(oidc.authorize(authParams())).searchParams.get("code")!;
  const form = (code: string, overrides: Record<string, string> = {}) =>
    new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: "http://localhost:4321/auth/callback",
      client_id: "sigstore",
      code_verifier: "v".repeat(43),
      ...overrides,
    });
  const first = newCode();
  await oidc.exchangeCode(form(first));
  await assert.rejects(
    oidc.exchangeCode(form(first)),
    (e) => e instanceof OAuthError && e.error === "invalid_grant",
  );
  for (
    const overrides of [
      { code_verifier: "w".repeat(43) },
      { redirect_uri: "http://localhost:1/auth/callback" },
      { client_id: "other" },
      { grant_type: "refresh_token" },
    ]
  ) {
    const code = newCode();
    await assert.rejects(oidc.exchangeCode(form(code, overrides)), OAuthError);
    // A failed attempt consumes the code: the right verifier cannot use it afterwards.
    if (overrides.grant_type === undefined) {
      await assert.rejects(oidc.exchangeCode(form(code)), OAuthError);
    }
  }
});

Deno.test("OidcIssuer codes expire after a minute", async () => {
  let now = new Date("2030-01-01T00:00:00Z");
  const oidc = await issuer({ now: () => now });
  const code = new URL(oidc.authorize(authParams())).searchParams.get("code")!;
  now = new Date(now.getTime() + 61_000);
  await assert.rejects(
    oidc.exchangeCode(
      new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: "http://localhost:4321/auth/callback",
        client_id: "sigstore",
        code_verifier: "v".repeat(43),
      }),
    ),
    (e) => e instanceof OAuthError && e.error === "invalid_grant",
  );
});

// ---------------------------------------------------------------------------------------------
// Routes

Deno.test("oidcRoutes() serve discovery and JWKS, and the test-token route only when allowed", async () => {
  const closed = oidcRoutes(await issuer());
  const discovery = await (await closed.request("/.well-known/openid-configuration")).json();
  assert.equal(discovery.issuer, ISSUER);
  assert.equal(discovery.jwks_uri, `${ISSUER}/oauth2/keys`);
  assert.deepEqual(discovery.code_challenge_methods_supported, ["S256"]);
  const jwks = parseJwks(await (await closed.request("/oauth2/keys")).json());
  assert.equal(jwks.keys[0]!.alg, "ES256");
  const off = await closed.request("/oauth2/test-token", { method: "POST" });
  assert.equal(off.status, 404);
  await off.body?.cancel();

  const open = await issuer({ allowTestTokens: true });
  const routes = oidcRoutes(open);
  const minted = await routes.request("/oauth2/test-token", {
    method: "POST",
    body: JSON.stringify({ identity: WORKFLOW, ttl: 120 }),
  });
  const body = await minted.json();
  assert.equal(body.identity, WORKFLOW);
  const claims = await verifyIdToken(body.id_token, open.jwks(), {
    issuer: ISSUER,
    audience: "sigstore",
  });
  assert.equal(claims.subject, "repo:acme/app:ref:refs/tags/v1.2.3");
  assert.equal(Number(claims.claims.exp) - Number(claims.claims.iat), 120);
  const unknown = await routes.request("/oauth2/test-token", {
    method: "POST",
    body: JSON.stringify({ identity: "mallory@example.com" }),
  });
  assert.equal(unknown.status, 400);
  assert.equal((await unknown.json()).error, "invalid_request");
  const huge = await routes.request("/oauth2/test-token", {
    method: "POST",
    body: "x".repeat(20_000),
  });
  assert.equal(huge.status, 400);
  await huge.body?.cancel();
});

Deno.test("oidcRoutes() answer 503 before the issuer URL is set and 400 for bad token requests", async () => {
  const routes = oidcRoutes(await OidcIssuer.create());
  const early = await routes.request("/.well-known/openid-configuration");
  assert.equal(early.status, 503);
  assert.equal((await early.json()).error, "temporarily_unavailable");
  const ready = oidcRoutes(await issuer());
  const badType = await ready.request("/oauth2/token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  assert.equal(badType.status, 400);
  await badType.body?.cancel();
  const badCode = await ready.request("/oauth2/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=authorization_code&code=nope",
  });
  assert.equal(badCode.status, 400);
  assert.equal((await badCode.json()).error, "invalid_grant");
  const badRedirect = await ready.request(
    `/oauth2/auth?${authParams({ redirect_uri: "https://evil.example/cb" })}`,
  );
  assert.equal(badRedirect.status, 400);
  assert.equal(badRedirect.headers.get("location"), null);
  await badRedirect.body?.cancel();
});
