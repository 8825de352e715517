/**
 * OIDC identity tokens (JWTs, RFC 7519): reading their claims before verification, for the
 * proof-of-possession challenge and display, and verifying them against an issuer's JWKS.
 *
 * A token is attacker-controlled text, so its size is bounded and its dots are counted before it
 * is split (SECURITY.md row 16: Fulcio split megabytes of dots). "Verifying is not parsing": an
 * unreadable token raises `OIDC_TOKEN_MALFORMED`, a readable one that fails a check raises the
 * code of that check. The challenge is the `email` claim when present, else `sub`
 * (cosign-spec.md section 7.1 and gotcha 24).
 *
 * @module
 */

import { fromBase64, fromUtf8, preview } from "../util/bytes.ts";
import { createLocalJWKSet, joseErrors, type JSONWebKeySet, jwtVerify } from "../_deps/jose.ts";
import { asArray, asRecord, isRecord, parseJson } from "../util/json.ts";
import { CosignError, errorMessage } from "../errors.ts";

/** A JWK Set (RFC 7517 section 5), as `/oauth2/keys` and other `jwks_uri` endpoints serve it. */
export type { JSONWebKeySet };

/** Error codes raised here. */
export type OidcTokenErrorCode =
  | "OIDC_TOKEN_MALFORMED"
  | "OIDC_TOKEN_ISSUER"
  | "OIDC_TOKEN_AUDIENCE"
  | "OIDC_TOKEN_EXPIRED"
  | "OIDC_TOKEN_NOT_YET_VALID"
  | "OIDC_TOKEN_SIGNATURE"
  | "OIDC_TOKEN_NONCE"
  | "OIDC_TOKEN_INVALID"
  | "OIDC_JWKS_MALFORMED";

/** Longest token accepted (real ID tokens are 1-2 KiB; GitHub's about 4 KiB). */
export const MAX_ID_TOKEN_LENGTH = 32 * 1024;

/** Most keys a JWKS may list. */
const MAX_JWKS_KEYS = 32;

/** Default allowed clock skew, in seconds, for `exp`, `nbf` and `iat`. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

/** JWS algorithms accepted for ID tokens: asymmetric only (never `none` or HMAC). */
const ALGORITHMS = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "EdDSA"];

const SEGMENT = /^[A-Za-z0-9_-]*$/;

/** The claims of a token, read without verification. */
export interface UnverifiedClaims {
  /** `iss`. */
  readonly issuer: string;
  /** `sub`. */
  readonly subject: string;
  /** `aud`, as a list. */
  readonly audience: readonly string[];
  /** `email`, when present. */
  readonly email?: string;
  /** `email_verified`, when present as a boolean. */
  readonly emailVerified?: boolean;
  /** `exp`, when present. */
  readonly expiresAt?: Date;
  /** What proof of possession signs: `email` when present, else `sub` (section 7.1). */
  readonly challenge: string;
  /** Every claim, as decoded. */
  readonly claims: Readonly<Record<string, unknown>>;
}

function malformed(message: string, cause?: unknown): CosignError {
  return new CosignError("OIDC_TOKEN_MALFORMED", `Invalid identity token: ${message}`, { cause });
}

/**
 * True when `text` has the shape of a compact JWT: three base64url segments, bounded length.
 * `--identity-token` takes a token or a file path; this tells them apart.
 */
export function isJwtShaped(text: string): boolean {
  if (text.length > MAX_ID_TOKEN_LENGTH || countDots(text, 3) !== 2) return false;
  const [header, payload, signature] = text.split(".", 3) as [string, string, string];
  return header !== "" && payload !== "" && SEGMENT.test(header) && SEGMENT.test(payload) &&
    SEGMENT.test(signature);
}

/** The number of `.` in `text`, counting no further than `stop`. */
function countDots(text: string, stop: number): number {
  let count = 0;
  for (let i = text.indexOf("."); i !== -1 && count < stop; i = text.indexOf(".", i + 1)) count++;
  return count;
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  if (segment === "" || !SEGMENT.test(segment)) throw malformed(`${what} is not base64url`);
  let json: unknown;
  try {
    json = parseJson(fromUtf8(fromBase64(segment)), `token ${what}`);
  } catch (cause) {
    throw malformed(`${what} is not base64url JSON: ${errorMessage(cause)}`, cause);
  }
  if (!isRecord(json)) throw malformed(`${what} is not a JSON object`);
  return json;
}

/**
 * The claims of `token` without verifying it: for the proof-of-possession challenge, to pick the
 * issuer to verify against, and for display. Never trust them for anything else. Requires a
 * string `iss` and `sub`; `aud` may be a string or a list.
 */
export function unverifiedClaims(token: string): UnverifiedClaims {
  if (typeof token !== "string") throw new TypeError("An identity token must be a string");
  if (token.length > MAX_ID_TOKEN_LENGTH) {
    throw malformed(`longer than ${MAX_ID_TOKEN_LENGTH} characters`);
  }
  // Count before splitting (SECURITY.md row 16).
  if (countDots(token, 3) !== 2) throw malformed("a JWT has exactly three dot-separated parts");
  const [header, payload] = token.split(".", 2) as [string, string];
  decodeSegment(header, "header");
  return readClaims(decodeSegment(payload, "payload"));
}

function readClaims(claims: Record<string, unknown>): UnverifiedClaims {
  const issuer = claims.iss;
  if (typeof issuer !== "string" || issuer === "") throw malformed('no "iss" claim');
  const subject = claims.sub;
  if (typeof subject !== "string" || subject === "") throw malformed('no "sub" claim');
  let audience: string[];
  if (typeof claims.aud === "string") {
    audience = [claims.aud];
  } else {
    try {
      audience = asArray(claims.aud ?? [], "aud", 64).map((a) => {
        if (typeof a !== "string") throw new SyntaxError("aud: expected strings");
        return a;
      });
    } catch (cause) {
      throw malformed(errorMessage(cause), cause);
    }
  }
  const email = claims.email;
  if (email !== undefined && (typeof email !== "string" || email === "")) {
    throw malformed('"email" claim is not a non-empty string');
  }
  const exp = claims.exp;
  return {
    issuer,
    subject,
    audience,
    ...(email !== undefined ? { email } : {}),
    ...(typeof claims.email_verified === "boolean" ? { emailVerified: claims.email_verified } : {}),
    ...(typeof exp === "number" && Number.isFinite(exp) ? { expiresAt: new Date(exp * 1000) } : {}),
    challenge: email ?? subject,
    claims,
  };
}

/** Options of `verifyIdToken`. */
export interface VerifyIdTokenOptions {
  /** The exact issuer expected in `iss` (no pattern, no prefix: SECURITY.md rule 8). */
  readonly issuer: string;
  /** An audience `aud` must contain (`sigstore` for Fulcio, the client ID for a login). */
  readonly audience: string;
  /** Verification time (default now). */
  readonly now?: Date;
  /** Allowed clock skew in seconds (default 60). */
  readonly clockSkewSeconds?: number;
  /** When set, the `nonce` claim must equal it (OIDC Core section 3.1.3.7 step 11). */
  readonly nonce?: string;
}

/**
 * Parse a JWKS document (RFC 7517 section 5) into the key set `verifyIdToken` takes; bounded to
 * 32 keys. Malformed documents raise `OIDC_JWKS_MALFORMED`.
 */
export function parseJwks(json: unknown): JSONWebKeySet {
  try {
    const record = asRecord(json, "jwks");
    const keys = asArray(record.keys, "jwks.keys", MAX_JWKS_KEYS).map((key, i) =>
      asRecord(key, `jwks.keys[${i}]`)
    );
    if (keys.length === 0) throw new SyntaxError("jwks.keys: no keys");
    return { keys } as JSONWebKeySet;
  } catch (cause) {
    throw new CosignError("OIDC_JWKS_MALFORMED", `Invalid JWKS: ${errorMessage(cause)}`, {
      cause,
    });
  }
}

/**
 * Verify `token` against the issuer's keys: signature (asymmetric algorithms only), exact `iss`,
 * `aud`, `exp` and `iat` present, `exp`/`nbf`/`iat` within the clock skew, and the nonce when
 * asked. Returns the claims; each failed check raises its own `OIDC_TOKEN_*` code.
 */
export async function verifyIdToken(
  token: string,
  jwks: JSONWebKeySet,
  options: VerifyIdTokenOptions,
): Promise<UnverifiedClaims> {
  // Bounds and shape first: jose would split an unbounded string.
  const claims = unverifiedClaims(token);
  if (claims.issuer !== options.issuer) {
    throw new CosignError(
      "OIDC_TOKEN_ISSUER",
      `Identity token issuer "${preview(claims.issuer, 100)}" is not "${options.issuer}"`,
    );
  }
  const now = options.now ?? new Date();
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  let verified: Record<string, unknown>;
  try {
    const keys = createLocalJWKSet(jwks);
    const result = await jwtVerify(token, keys, {
      issuer: options.issuer,
      audience: options.audience,
      algorithms: ALGORITHMS,
      clockTolerance: skew,
      currentDate: now,
      requiredClaims: ["exp", "iat", "sub"],
    });
    verified = result.payload as Record<string, unknown>;
  } catch (error) {
    throw joseFailure(error);
  }
  const iat = verified.iat;
  if (typeof iat !== "number" || iat > now.getTime() / 1000 + skew) {
    throw new CosignError("OIDC_TOKEN_NOT_YET_VALID", "Identity token was issued in the future");
  }
  if (options.nonce !== undefined && verified.nonce !== options.nonce) {
    throw new CosignError(
      "OIDC_TOKEN_NONCE",
      "Identity token nonce does not match the one sent with the login request",
    );
  }
  return readClaims(verified);
}

function joseFailure(error: unknown): CosignError {
  const reason = errorMessage(error);
  if (error instanceof joseErrors.JWTExpired) {
    return new CosignError("OIDC_TOKEN_EXPIRED", "Identity token has expired", { cause: error });
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const code = error.claim === "aud"
      ? "OIDC_TOKEN_AUDIENCE"
      : error.claim === "iss"
      ? "OIDC_TOKEN_ISSUER"
      : error.claim === "nbf" || error.claim === "iat"
      ? "OIDC_TOKEN_NOT_YET_VALID"
      : "OIDC_TOKEN_INVALID";
    return new CosignError(code, `Invalid identity token: claim "${error.claim}": ${reason}`, {
      cause: error,
    });
  }
  if (
    error instanceof joseErrors.JWSSignatureVerificationFailed ||
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys ||
    error instanceof joseErrors.JOSEAlgNotAllowed
  ) {
    return new CosignError("OIDC_TOKEN_SIGNATURE", `Identity token signature: ${reason}`, {
      cause: error,
    });
  }
  if (error instanceof CosignError) return error;
  return new CosignError("OIDC_TOKEN_INVALID", `Invalid identity token: ${reason}`, {
    cause: error,
  });
}
