/**
 * The interactive OIDC login cosign runs when no token is at hand (cosign-spec.md section 7.1):
 * the authorization-code flow (RFC 6749 section 4.1) with PKCE S256 (RFC 7636) and a one-shot
 * listener on the loopback interface for the redirect (RFC 8252 section 7.3).
 *
 * Discovery is read from the configured issuer only, and its `issuer` must equal it exactly
 * (OIDC Discovery section 4.3). The `state` returned to the redirect must equal the one sent:
 * sigstore-python once skipped that check, a login CSRF (SECURITY.md row 24). The ID token from
 * the token endpoint is verified (signature via the issuer's JWKS, issuer, audience = client ID,
 * expiry) and must carry the nonce sent (OIDC Core section 3.1.3.7). No request follows a
 * redirect, and every answer is bounded before it is parsed.
 *
 * @module
 */

import { sha256, utf8 } from "../util/bytes.ts";
import { isRedirect, readErrorText, readJson } from "../util/http_json.ts";
import { asNonEmptyString, asRecord } from "../util/json.ts";
import { CosignError, errorMessage, isCosignError } from "../errors.ts";
import { parseJwks, type UnverifiedClaims, verifyIdToken } from "./id_token.ts";
import { listenForCallback, openSystemBrowser } from "./_login_callback.ts";

export { openSystemBrowser };

/** Error codes raised here (plus `OIDC_TOKEN_*` of `verifyIdToken`). */
export type OidcLoginErrorCode =
  | "OIDC_DISCOVERY_FAILED"
  | "OIDC_LOGIN_FAILED"
  | "OIDC_STATE_MISMATCH"
  | "OIDC_LOGIN_TIMEOUT"
  | "OIDC_TOKEN_EXCHANGE_FAILED";

/** cosign's defaults: client `sigstore`, redirect to a free loopback port (section 7.1). */
export const DEFAULT_CLIENT_ID = "sigstore";
/** The redirect cosign registers: `localhost`, port picked at run time, `/auth/callback`. */
export const DEFAULT_REDIRECT_URL = "http://localhost:0/auth/callback";

/** Largest discovery document, token answer or JWKS read. */
const MAX_ANSWER_BYTES = 256 * 1024;
/** Default wait for the browser to come back. */
const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** Options of `requestInteractiveToken`. */
export interface InteractiveLoginOptions {
  /** The issuer URL (`--oidc-issuer`); discovery is read from it. */
  readonly issuer: string;
  /** `--oidc-client-id` (default `sigstore`). */
  readonly clientId?: string;
  /** `--oidc-client-secret-file` contents, when the client has a secret. */
  readonly clientSecret?: string;
  /** `--oidc-redirect-url`: an `http://localhost`/`127.0.0.1`/`[::1]` URL; port 0 picks one. */
  readonly redirectUrl?: string;
  /**
   * Open `url` in a browser; resolve false when none could be opened (the URL is then printed).
   * Default: `xdg-open` (or `open`, or the Windows URL handler) when a display is available.
   */
  readonly openBrowser?: (url: string) => Promise<boolean>;
  /** Where instructions for the user go (one line per call). */
  readonly print: (line: string) => void;
  /** Give up waiting for the browser after this long (default 5 minutes). */
  readonly timeoutMs?: number;
  /** HTTP client (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch;
  /** Clock for token verification (default now). */
  readonly now?: () => Date;
  /** Aborting stops the login. */
  readonly signal?: AbortSignal;
}

/** A token the interactive login obtained and verified. */
export interface InteractiveToken {
  /** The compact JWT from the token endpoint. */
  readonly token: string;
  /** Its verified claims. */
  readonly claims: UnverifiedClaims;
}

/** The endpoints of an issuer's discovery document. */
export interface OidcDiscovery {
  /** The issuer, equal to the one asked for. */
  readonly issuer: string;
  /** Where the browser logs in. */
  readonly authorizationEndpoint: string;
  /** Where codes are exchanged for tokens. */
  readonly tokenEndpoint: string;
  /** The issuer's signing keys. */
  readonly jwksUri: string;
}

function base64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

function randomToken(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The PKCE S256 challenge of a verifier (RFC 7636 section 4.2). */
export function pkceChallenge(verifier: string): string {
  return base64Url(sha256(utf8(verifier)));
}

/**
 * An endpoint from discovery: an absolute URL, https unless the issuer itself is plain http (an
 * embedded or local issuer the user chose), never credentials in the URL.
 */
function endpoint(value: unknown, field: string, issuer: URL): string {
  const text = asNonEmptyString(value, field);
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new SyntaxError(`${field}: not a URL`, { cause });
  }
  const allowed = url.protocol === "https:" ||
    (url.protocol === "http:" && issuer.protocol === "http:");
  if (!allowed || url.username || url.password) {
    throw new SyntaxError(`${field}: "${text}" is not an https URL`);
  }
  return url.href;
}

/**
 * Read `<issuer>/.well-known/openid-configuration` and check that it names the same issuer.
 * Failures raise `OIDC_DISCOVERY_FAILED`.
 */
export async function fetchDiscovery(
  issuer: string,
  options: { readonly fetch?: typeof fetch; readonly signal?: AbortSignal } = {},
): Promise<OidcDiscovery> {
  const fail = (message: string, cause?: unknown) =>
    new CosignError(
      "OIDC_DISCOVERY_FAILED",
      `Cannot discover OIDC issuer "${issuer}": ${message}`,
      {
        cause,
      },
    );
  let issuerUrl: URL;
  try {
    issuerUrl = new URL(issuer);
  } catch (cause) {
    throw fail("not a URL", cause);
  }
  if (issuerUrl.protocol !== "https:" && issuerUrl.protocol !== "http:") {
    throw fail("not an http(s) URL");
  }
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, {
      headers: { accept: "application/json" },
      redirect: "manual",
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
  if (response.status !== 200) {
    const detail = isRedirect(response.status) ? " (redirects are not followed)" : "";
    throw fail(
      `GET "${url}" answered ${response.status}${detail} ${await readErrorText(response)}`.trim(),
    );
  }
  try {
    const doc = asRecord(
      await readJson(response, MAX_ANSWER_BYTES, "discovery document"),
      "discovery",
    );
    const named = asNonEmptyString(doc.issuer, "issuer");
    if (named !== issuer) throw new SyntaxError(`it names issuer "${named}"`);
    return {
      issuer,
      authorizationEndpoint: endpoint(
        doc.authorization_endpoint,
        "authorization_endpoint",
        issuerUrl,
      ),
      tokenEndpoint: endpoint(doc.token_endpoint, "token_endpoint", issuerUrl),
      jwksUri: endpoint(doc.jwks_uri, "jwks_uri", issuerUrl),
    };
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
}

/**
 * Log in through the browser and return a verified ID token: discovery, PKCE S256, random state
 * and nonce, a loopback listener for the redirect, the state check, the code exchange, and the
 * token verification. The authorization URL is printed when no browser opens.
 */
export async function requestInteractiveToken(
  options: InteractiveLoginOptions,
): Promise<InteractiveToken> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const clientId = options.clientId ?? DEFAULT_CLIENT_ID;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError("The login timeout must be a positive number of milliseconds");
  }
  const discovery = await fetchDiscovery(options.issuer, {
    fetch: fetchFn,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const verifier = randomToken(32);
  const state = randomToken(16);
  const nonce = randomToken(16);
  const callback = listenForCallback(
    options.redirectUrl ?? DEFAULT_REDIRECT_URL,
    state,
    timeoutMs,
    options.signal,
  );
  let code: string;
  try {
    const url = new URL(discovery.authorizationEndpoint);
    const params: Record<string, string> = {
      response_type: "code",
      client_id: clientId,
      redirect_uri: callback.redirectUri,
      scope: "openid email",
      state,
      nonce,
      code_challenge: pkceChallenge(verifier),
      code_challenge_method: "S256",
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const open = options.openBrowser ?? openSystemBrowser;
    let opened = false;
    try {
      opened = await open(url.href);
    } catch {
      opened = false;
    }
    if (opened) {
      options.print(`Your browser will now be opened to:\n${url.href}`);
    } else {
      options.print(`Go to the following link in a browser:\n\n\t${url.href}\n`);
    }
    code = await callback.code;
  } finally {
    await callback.close();
  }
  const token = await exchangeCode(fetchFn, discovery, {
    code,
    clientId,
    verifier,
    redirectUri: callback.redirectUri,
    ...(options.clientSecret !== undefined ? { clientSecret: options.clientSecret } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const jwks = await fetchJwks(fetchFn, discovery.jwksUri, options.signal);
  const claims = await verifyIdToken(token, jwks, {
    issuer: discovery.issuer,
    audience: clientId,
    nonce,
    ...(options.now ? { now: options.now() } : {}),
  });
  return { token, claims };
}

async function exchangeCode(
  fetchFn: typeof fetch,
  discovery: OidcDiscovery,
  request: {
    code: string;
    clientId: string;
    clientSecret?: string;
    verifier: string;
    redirectUri: string;
    signal?: AbortSignal;
  },
): Promise<string> {
  const fail = (message: string, cause?: unknown) =>
    new CosignError("OIDC_TOKEN_EXCHANGE_FAILED", `Cannot exchange the login code: ${message}`, {
      cause,
    });
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code: request.code,
    redirect_uri: request.redirectUri,
    client_id: request.clientId,
    code_verifier: request.verifier,
  });
  if (request.clientSecret !== undefined) body.set("client_secret", request.clientSecret);
  let response: Response;
  try {
    response = await fetchFn(discovery.tokenEndpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body,
      redirect: "manual",
      ...(request.signal ? { signal: request.signal } : {}),
    });
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
  if (response.status !== 200) {
    throw fail(
      `the token endpoint answered ${response.status} ${await readErrorText(response)}`.trim(),
    );
  }
  try {
    const answer = asRecord(await readJson(response, MAX_ANSWER_BYTES, "token answer"), "token");
    return asNonEmptyString(answer.id_token, "id_token");
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
}

async function fetchJwks(fetchFn: typeof fetch, url: string, signal?: AbortSignal) {
  let response: Response;
  try {
    response = await fetchFn(url, {
      headers: { accept: "application/json" },
      redirect: "manual",
      ...(signal ? { signal } : {}),
    });
  } catch (cause) {
    throw new CosignError(
      "OIDC_DISCOVERY_FAILED",
      `Cannot fetch the JWKS "${url}": ${errorMessage(cause)}`,
      {
        cause,
      },
    );
  }
  if (response.status !== 200) {
    await readErrorText(response);
    throw new CosignError(
      "OIDC_DISCOVERY_FAILED",
      `Cannot fetch the JWKS "${url}": answered ${response.status}`,
    );
  }
  let json: unknown;
  try {
    json = await readJson(response, MAX_ANSWER_BYTES, "JWKS");
  } catch (cause) {
    if (isCosignError(cause)) throw cause;
    throw new CosignError("OIDC_JWKS_MALFORMED", `Invalid JWKS: ${errorMessage(cause)}`, { cause });
  }
  return parseJwks(json);
}
