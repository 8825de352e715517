/**
 * The embedded OIDC issuer's state: its ES256 signing key, the identities it logs in as, and the
 * authorization-code flow (RFC 6749 section 4.1) with PKCE (RFC 7636) and automatic consent.
 *
 * The issuer URL is known only once the stack listens (port 0), so it is set after creation with
 * `setIssuerUrl`; nothing is issued before. The authorization endpoint redirects only to plain
 * http loopback URLs (`localhost`, `127.0.0.1`, `[::1]`, any port: RFC 8252 section 7.3), which is
 * where cosign's login listens, and requires PKCE S256 and a `state`. Codes are random, single
 * use (consumed by the first exchange attempt, right or wrong), bound to the client, redirect URI,
 * challenge and nonce, and expire after one minute; at most 1024 are pending. The non-interactive
 * `mintToken` exists for tests and the ready file; the route that exposes it is off unless the
 * issuer was created with `allowTestTokens`.
 *
 * @module
 */

import { SignJWT } from "../_deps.ts";
import { fromBase64, toBase64, toHex } from "../../lib/util/bytes.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { generateKeyPair, PrivateKey } from "../../lib/keys/private_key.ts";
import type { JSONWebKeySet } from "../../lib/keyless/id_token.ts";
import {
  AuthorizationCodes,
  base64Url,
  isLoopbackRedirect,
  isS256Challenge,
  matchesS256,
  OAuthError,
  randomToken,
} from "./_oauth_codes.ts";
import {
  DEFAULT_IDENTITY_EMAIL,
  identityClaims,
  identityName,
  type IssuerIdentity,
  parseIssuerIdentity,
} from "./identities.ts";

export { isLoopbackRedirect, OAuthError };

/** Error codes raised here. */
export type OidcIssuerErrorCode =
  | "SERVER_OIDC_STATE"
  | "OIDC_UNKNOWN_IDENTITY"
  | "OIDC_ISSUER_URL_UNSET"
  | "OIDC_REQUEST_REFUSED";

/** The audience of tokens for Fulcio, and the client cosign logs in as. */
const SIGSTORE = "sigstore";
/** Default and longest token lifetime, in seconds. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;
const MAX_TOKEN_TTL_SECONDS = 24 * 3600;
/** Longest `state`, `nonce` or `login_hint` accepted. */
const MAX_PARAMETER_LENGTH = 512;

/** Options of `OidcIssuer.create` and `fromJSON`. */
export interface OidcIssuerOptions {
  /** The issuer URL (`iss`), when already known; else call `setIssuerUrl` once listening. */
  readonly issuerUrl?: string;
  /** Identities to log in as, first is the default (default `signer@dcosign.test`). */
  readonly identities?: readonly (IssuerIdentity | string)[];
  /** Client IDs the authorization endpoint accepts (default `["sigstore"]`). */
  readonly clientIds?: readonly string[];
  /** Expose `POST /oauth2/test-token` (non-interactive tokens for any configured identity). */
  readonly allowTestTokens?: boolean;
  /** Clock (default `() => new Date()`). */
  readonly now?: () => Date;
}

/** The persisted form: the signing key. */
export interface OidcIssuerJson {
  /** Base64 PKCS#8 of the ES256 (P-256) signing key. */
  readonly key: string;
}

/** Options of `mintToken`. */
export interface MintOptions {
  /** `aud` (default `sigstore`). */
  readonly audience?: string;
  /** Lifetime in seconds (default 3600, at most one day). */
  readonly ttlSeconds?: number;
  /** Issue time (default the issuer's clock). */
  readonly now?: Date;
  /** `nonce`, echoed from a login request. */
  readonly nonce?: string;
  /** Extra or overriding claims (tests of verifiers: `email_verified: false`, ...). */
  readonly claims?: Readonly<Record<string, unknown>>;
}

/** The token endpoint's answer (RFC 6749 section 5.1, OIDC Core section 3.1.3.3). */
export interface TokenAnswer {
  /** An opaque token (nothing accepts it; clients want the ID token). */
  readonly access_token: string;
  /** Always `Bearer`. */
  readonly token_type: "Bearer";
  /** Lifetime of the ID token, in seconds. */
  readonly expires_in: number;
  /** The signed ID token. */
  readonly id_token: string;
  /** The granted scopes. */
  readonly scope: string;
}

/**
 * An OIDC issuer: key, identities, login flow and token minting.
 *
 * @example Mint an identity token for Fulcio
 * ```ts
 * import assert from "node:assert/strict";
 * import { OidcIssuer } from "@dcosign/dcosign/server";
 *
 * const issuer = await OidcIssuer.create({
 *   issuerUrl: "https://oidc.example",
 *   identities: ["dev@example.com"],
 * });
 * const token = await issuer.mintToken(); // the default (first) identity
 * const payload = token.split(".")[1]!;
 * const claims = JSON.parse(
 *   new TextDecoder().decode(Uint8Array.fromBase64(payload, { alphabet: "base64url" })),
 * );
 * assert.equal(claims.iss, "https://oidc.example");
 * assert.equal(claims.email, "dev@example.com");
 * assert.equal(claims.aud, "sigstore");
 * assert.equal(issuer.jwks().keys[0]?.alg, "ES256"); // what /oauth2/keys serves
 * ```
 */
export class OidcIssuer {
  /** The identities it logs in as; the first is the default. */
  readonly identities: readonly IssuerIdentity[];
  /** Whether `POST /oauth2/test-token` is served. */
  readonly allowTestTokens: boolean;
  /** The `kid` of the signing key. */
  readonly keyId: string;
  readonly #key: PrivateKey;
  readonly #signingKey: CryptoKey;
  readonly #clientIds: readonly string[];
  readonly #now: () => Date;
  readonly #codes = new AuthorizationCodes();
  #issuerUrl: string | undefined;

  private constructor(key: PrivateKey, signingKey: CryptoKey, options: OidcIssuerOptions) {
    const identities = (options.identities ?? [DEFAULT_IDENTITY_EMAIL]).map((identity) =>
      typeof identity === "string" ? parseIssuerIdentity(identity) : identity
    );
    if (identities.length === 0) throw new TypeError("An OIDC issuer needs at least one identity");
    const names = new Set(identities.map(identityName));
    if (names.size !== identities.length) throw new TypeError("Duplicate OIDC issuer identities");
    this.identities = identities;
    this.allowTestTokens = options.allowTestTokens ?? false;
    this.keyId = toHex(key.publicKey.fingerprint()).slice(0, 16);
    this.#key = key;
    this.#signingKey = signingKey;
    this.#clientIds = options.clientIds ?? [SIGSTORE];
    this.#now = options.now ?? (() => new Date());
    if (options.issuerUrl !== undefined) this.setIssuerUrl(options.issuerUrl);
  }

  /** A new issuer with a fresh ES256 key. */
  static async create(options: OidcIssuerOptions = {}): Promise<OidcIssuer> {
    return await OidcIssuer.#fromKey(await generateKeyPair({ kind: "ecdsa-p256" }), options);
  }

  /** Restore an issuer (its key) from `toJSON()` output; identities come from `options`. */
  static async fromJSON(json: unknown, options: OidcIssuerOptions = {}): Promise<OidcIssuer> {
    let key: PrivateKey;
    try {
      const record = json as Partial<OidcIssuerJson> | null;
      if (typeof record?.key !== "string") throw new SyntaxError("expected {key}");
      key = await PrivateKey.fromDer(fromBase64(record.key), "pkcs8");
    } catch (cause) {
      throw new CosignError(
        "SERVER_OIDC_STATE",
        `Invalid OIDC issuer state: ${errorMessage(cause)}`,
        {
          cause,
        },
      );
    }
    if (key.kind !== "ecdsa-p256") {
      throw new CosignError("SERVER_OIDC_STATE", "Invalid OIDC issuer state: not a P-256 key");
    }
    return await OidcIssuer.#fromKey(key, options);
  }

  static async #fromKey(key: PrivateKey, options: OidcIssuerOptions): Promise<OidcIssuer> {
    const signingKey = await crypto.subtle.importKey(
      "pkcs8",
      key.toPkcs8(),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["sign"],
    );
    return new OidcIssuer(key, signingKey, options);
  }

  /** The signing key, for `fromJSON`. */
  toJSON(): OidcIssuerJson {
    return { key: toBase64(this.#key.toPkcs8()) };
  }

  /** The issuer URL (`iss`), once set. */
  get issuerUrl(): string | undefined {
    return this.#issuerUrl;
  }

  /**
   * Set the issuer URL (the stack's base URL once it listens). An http(s) URL without query,
   * fragment or trailing slash; may be set again (a restart on another port).
   */
  setIssuerUrl(url: string): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new TypeError(`Invalid issuer URL "${url}"`, { cause });
    }
    if (
      (parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.search ||
      parsed.hash || url.endsWith("/") || parsed.username || parsed.password
    ) {
      throw new TypeError(
        `Invalid issuer URL "${url}": http(s), no query, fragment or trailing slash`,
      );
    }
    this.#issuerUrl = url;
  }

  #requireIssuerUrl(): string {
    if (this.#issuerUrl === undefined) {
      throw new CosignError("OIDC_ISSUER_URL_UNSET", "The OIDC issuer URL is not set yet");
    }
    return this.#issuerUrl;
  }

  /** The default identity (the first configured). */
  get defaultIdentity(): IssuerIdentity {
    return this.identities[0]!;
  }

  /** The configured identity named `name` (its email or URI); `OIDC_UNKNOWN_IDENTITY` if none. */
  findIdentity(name: string): IssuerIdentity {
    const found = this.identities.find((identity) => identityName(identity) === name);
    if (!found) {
      throw new CosignError(
        "OIDC_UNKNOWN_IDENTITY",
        `"${name.slice(0, 200)}" is not an identity of this issuer`,
      );
    }
    return found;
  }

  /** The public JWKS (`/oauth2/keys`): one ES256 key. */
  jwks(): JSONWebKeySet {
    const point = this.#key.publicKey.rawKey;
    return {
      keys: [{
        kty: "EC",
        crv: "P-256",
        x: base64Url(point.subarray(1, 33)),
        y: base64Url(point.subarray(33, 65)),
        kid: this.keyId,
        alg: "ES256",
        use: "sig",
      }],
    };
  }

  /** The discovery document (OIDC Discovery section 3). */
  discovery(): Record<string, unknown> {
    const issuer = this.#requireIssuerUrl();
    return {
      issuer,
      authorization_endpoint: `${issuer}/oauth2/auth`,
      token_endpoint: `${issuer}/oauth2/token`,
      jwks_uri: `${issuer}/oauth2/keys`,
      response_types_supported: ["code"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["ES256"],
      scopes_supported: ["openid", "email"],
      grant_types_supported: ["authorization_code"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none", "client_secret_post", "client_secret_basic"],
      claims_supported: ["iss", "sub", "aud", "exp", "iat", "nbf", "email", "email_verified"],
    };
  }

  /**
   * A signed ID token for a configured identity (its name, or the default when omitted), as the
   * login would issue: `iss`, `sub`, `aud` (default `sigstore`), `iat`, `nbf`, `exp`, `jti` and
   * the identity's claims.
   */
  async mintToken(identity?: string, options: MintOptions = {}): Promise<string> {
    const chosen = identity === undefined ? this.defaultIdentity : this.findIdentity(identity);
    return await this.#sign(chosen, options);
  }

  async #sign(identity: IssuerIdentity, options: MintOptions): Promise<string> {
    const issuer = this.#requireIssuerUrl();
    const ttl = options.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_TOKEN_TTL_SECONDS) {
      throw new RangeError(`Token lifetime must be 1 to ${MAX_TOKEN_TTL_SECONDS} seconds`);
    }
    const iat = Math.floor((options.now ?? this.#now()).getTime() / 1000);
    const claims: Record<string, unknown> = {
      ...identityClaims(identity),
      iss: issuer,
      aud: options.audience ?? SIGSTORE,
      iat,
      nbf: iat,
      exp: iat + ttl,
      jti: base64Url(crypto.getRandomValues(new Uint8Array(16))),
      ...(options.nonce !== undefined ? { nonce: options.nonce } : {}),
      ...options.claims,
    };
    return await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: this.keyId, typ: "JWT" })
      .sign(this.#signingKey);
  }

  /**
   * The authorization endpoint with automatic consent: validate the request, pick the identity
   * (`login_hint`, else the default) and return the redirect carrying a fresh code and the
   * `state`. A bad client or redirect URI throws `OAuthError` with `redirect` impossible (the
   * caller answers 400); other errors return a redirect carrying `error` (section 4.1.2.1).
   */
  authorize(params: URLSearchParams): string {
    this.#requireIssuerUrl();
    const clientId = params.get("client_id") ?? "";
    if (!this.#clientIds.includes(clientId)) {
      throw new OAuthError("unauthorized_client", `Unknown client "${clientId.slice(0, 100)}"`);
    }
    const redirectUri = params.get("redirect_uri") ?? "";
    if (!isLoopbackRedirect(redirectUri)) {
      throw new OAuthError(
        "invalid_request",
        "redirect_uri must be an http://localhost, 127.0.0.1 or [::1] URL",
      );
    }
    const state = params.get("state") ?? "";
    const back = (query: Record<string, string>) => {
      const url = new URL(redirectUri);
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
      if (state) url.searchParams.set("state", state);
      return url.href;
    };
    const refuse = (error: string, description: string) =>
      back({ error, error_description: description });
    if (params.get("response_type") !== "code") {
      return refuse("unsupported_response_type", "only response_type=code is supported");
    }
    if (!(params.get("scope") ?? "").split(" ").includes("openid")) {
      return refuse("invalid_scope", "the openid scope is required");
    }
    const nonce = params.get("nonce") ?? undefined;
    const hint = params.get("login_hint") ?? undefined;
    if (
      !state || state.length > MAX_PARAMETER_LENGTH ||
      (nonce?.length ?? 0) > MAX_PARAMETER_LENGTH || (hint?.length ?? 0) > MAX_PARAMETER_LENGTH
    ) {
      return refuse(
        "invalid_request",
        "a state (and a nonce and login_hint of sane length) is required",
      );
    }
    const challenge = params.get("code_challenge") ?? "";
    if (params.get("code_challenge_method") !== "S256" || !isS256Challenge(challenge)) {
      return refuse("invalid_request", "PKCE with code_challenge_method=S256 is required");
    }
    let identity: IssuerIdentity;
    try {
      identity = hint ? this.findIdentity(hint) : this.defaultIdentity;
    } catch {
      return refuse("access_denied", "login_hint names no identity of this issuer");
    }
    const code = this.#codes.issue(
      { identity, clientId, redirectUri, challenge, nonce },
      this.#now().getTime(),
    );
    if (code === undefined) return refuse("temporarily_unavailable", "too many pending logins");
    return back({ code });
  }

  /** How many authorization codes are pending (tests and metrics). */
  get pendingCodes(): number {
    return this.#codes.size;
  }

  /**
   * The token endpoint (RFC 6749 section 4.1.3, RFC 7636 section 4.6): exchange a code for an ID
   * token with the client's audience and the login's nonce. `clientId` from HTTP Basic auth, if
   * any, must agree with the form's. Failures throw `OAuthError` (`invalid_grant`, ...).
   */
  async exchangeCode(form: URLSearchParams, basicClientId?: string): Promise<TokenAnswer> {
    if (form.get("grant_type") !== "authorization_code") {
      throw new OAuthError("unsupported_grant_type", "only authorization_code is supported");
    }
    const now = this.#now();
    // Single use: the first attempt consumes the code, whatever its outcome.
    const pending = this.#codes.consume(form.get("code") ?? "", now.getTime());
    if (!pending) {
      throw new OAuthError("invalid_grant", "unknown, used or expired code");
    }
    const formClient = form.get("client_id") ?? undefined;
    const clientId = basicClientId ?? formClient;
    if (
      clientId !== pending.clientId ||
      (formClient !== undefined && formClient !== pending.clientId)
    ) {
      throw new OAuthError("invalid_grant", "the code was issued to another client");
    }
    if (form.get("redirect_uri") !== pending.redirectUri) {
      throw new OAuthError(
        "invalid_grant",
        "redirect_uri does not match the authorization request",
      );
    }
    if (!matchesS256(form.get("code_verifier") ?? "", pending.challenge)) {
      throw new OAuthError("invalid_grant", "code_verifier does not match the code_challenge");
    }
    const idToken = await this.#sign(pending.identity, {
      audience: pending.clientId,
      now,
      ...(pending.nonce !== undefined ? { nonce: pending.nonce } : {}),
    });
    return {
      access_token: randomToken(),
      token_type: "Bearer",
      expires_in: DEFAULT_TOKEN_TTL_SECONDS,
      id_token: idToken,
      scope: "openid email",
    };
  }
}
