/**
 * The embedded OIDC issuer's HTTP layer (`dcosign serve`): discovery, JWKS, the authorization
 * endpoint with automatic consent, the token endpoint, and (only when the issuer allows it) a
 * non-interactive token route for tests. State and checks live in `OidcIssuer`.
 *
 * | route | what |
 * | --- | --- |
 * | `GET /.well-known/openid-configuration` | discovery (OIDC Discovery section 3) |
 * | `GET /oauth2/keys` | JWKS, one ES256 key |
 * | `GET /oauth2/auth` | code flow, PKCE S256 required, redirects at once to the loopback `redirect_uri` |
 * | `POST /oauth2/token` | `grant_type=authorization_code` + `code_verifier` -> `id_token` |
 * | `POST /oauth2/test-token` | `{"identity"?, "audience"?, "ttl"?}` -> `{"id_token", ...}`; 404 unless `allowTestTokens` |
 *
 * Errors are OAuth JSON (`{"error", "error_description"}`); unexpected failures answer 500
 * `server_error` without detail.
 *
 * @module
 */

import { type Context, Hono } from "../_deps.ts";
import { fromBase64, fromUtf8 } from "../../lib/util/bytes.ts";
import { isRecord } from "../../lib/util/json.ts";
import { errorMessage, isCosignError } from "../../lib/errors.ts";
import { DEFAULT_TOKEN_TTL_SECONDS, OAuthError, type OidcIssuer } from "./issuer.ts";
import { identityName } from "./identities.ts";
import { readRequestBody } from "../_request_body.ts";

export * from "./issuer.ts";
export * from "./identities.ts";

/** Largest token or test-token request body. */
const MAX_FORM_BYTES = 16 * 1024;

/** Options of `oidcRoutes`. */
export interface OidcRoutesOptions {
  /** Told about unexpected (500) errors. */
  readonly onError?: (error: unknown) => void;
}

function oauthError(
  c: Context,
  error: string,
  description: string,
  status: 400 | 401 | 403 | 404 | 503,
) {
  return c.json({ error, error_description: description }, status, { "cache-control": "no-store" });
}

/** The client ID of an RFC 6749 section 2.3.1 Basic header, when one is sent. */
function basicClientId(header: string | undefined): string | undefined {
  if (!header?.toLowerCase().startsWith("basic ")) return undefined;
  try {
    const text = fromUtf8(fromBase64(header.slice(6).trim()));
    const colon = text.indexOf(":");
    return decodeURIComponent(colon === -1 ? text : text.slice(0, colon));
  } catch {
    throw new OAuthError("invalid_client", "malformed Basic authorization", 401);
  }
}

/** The issuer's routes: `/.well-known/openid-configuration` and `/oauth2/*`. */
export function oidcRoutes(issuer: OidcIssuer, options: OidcRoutesOptions = {}): Hono {
  const app = new Hono();
  app.onError((error, c) => {
    if (error instanceof OAuthError) {
      return oauthError(c, error.error, error.message, error.status);
    }
    if (isCosignError(error, "OIDC_ISSUER_URL_UNSET")) {
      return oauthError(c, "temporarily_unavailable", "the issuer is not ready", 503);
    }
    options.onError?.(error);
    return c.json({ error: "server_error", error_description: "internal error" }, 500);
  });
  app.get("/.well-known/openid-configuration", (c) => c.json(issuer.discovery()));
  app.get("/oauth2/keys", (c) => c.json(issuer.jwks(), 200, { "cache-control": "max-age=300" }));
  app.get("/oauth2/auth", (c) => {
    const location = issuer.authorize(new URL(c.req.url).searchParams);
    return c.body(null, 302, { location, "cache-control": "no-store" });
  });
  app.post("/oauth2/token", async (c) => {
    const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-www-form-urlencoded") {
      await c.req.raw.body?.cancel();
      throw new OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded");
    }
    const body = await readRequestBody(c.req.raw, MAX_FORM_BYTES);
    if (!body) throw new OAuthError("invalid_request", "the request body is too large");
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(fromUtf8(body));
    } catch {
      throw new OAuthError("invalid_request", "the body is not UTF-8");
    }
    const answer = await issuer.exchangeCode(form, basicClientId(c.req.header("authorization")));
    return c.json(answer, 200, { "cache-control": "no-store", pragma: "no-cache" });
  });
  app.post("/oauth2/test-token", async (c) => {
    if (!issuer.allowTestTokens) {
      await c.req.raw.body?.cancel();
      return oauthError(c, "not_found", "test tokens are disabled on this issuer", 404);
    }
    const body = await readRequestBody(c.req.raw, MAX_FORM_BYTES);
    if (!body) throw new OAuthError("invalid_request", "the request body is too large");
    let request: Record<string, unknown> = {};
    if (body.length > 0) {
      let json: unknown;
      try {
        json = JSON.parse(fromUtf8(body));
      } catch {
        throw new OAuthError("invalid_request", "the body must be JSON");
      }
      if (!isRecord(json)) {
        throw new OAuthError("invalid_request", "the body must be a JSON object");
      }
      request = json;
    }
    const { identity, audience, ttl } = request;
    if (identity !== undefined && typeof identity !== "string") {
      throw new OAuthError("invalid_request", "identity must be a string");
    }
    if (audience !== undefined && (typeof audience !== "string" || audience === "")) {
      throw new OAuthError("invalid_request", "audience must be a non-empty string");
    }
    if (ttl !== undefined && (typeof ttl !== "number" || !Number.isSafeInteger(ttl))) {
      throw new OAuthError("invalid_request", "ttl must be an integer number of seconds");
    }
    let token: string;
    try {
      token = await issuer.mintToken(identity, {
        ...(audience !== undefined ? { audience } : {}),
        ...(ttl !== undefined ? { ttlSeconds: ttl } : {}),
      });
    } catch (error) {
      if (isCosignError(error, "OIDC_UNKNOWN_IDENTITY") || error instanceof RangeError) {
        throw new OAuthError("invalid_request", errorMessage(error));
      }
      throw error;
    }
    const chosen = identity === undefined ? issuer.defaultIdentity : issuer.findIdentity(identity);
    return c.json(
      {
        id_token: token,
        identity: identityName(chosen),
        issuer: issuer.issuerUrl,
        expires_in: ttl ?? DEFAULT_TOKEN_TTL_SECONDS,
      },
      200,
      { "cache-control": "no-store" },
    );
  });
  return app;
}
