/**
 * The OAuth 2.0 pieces of the embedded issuer's login: its error type, the loopback redirect
 * rule (RFC 8252 section 7.3), PKCE S256 (RFC 7636 section 4.6) and the store of pending
 * authorization codes (RFC 6749 section 4.1.2: random, short-lived, single use), bounded so a
 * flood of logins cannot grow it without limit. Private to `issuer.ts`.
 *
 * @module
 */

import { sha256, utf8 } from "../../lib/util/bytes.ts";
import { CosignError } from "../../lib/errors.ts";
import type { IssuerIdentity } from "./identities.ts";

/** Lifetime of an authorization code. */
const CODE_TTL_MS = 60_000;
/** Most authorization codes pending at once. */
const MAX_PENDING_CODES = 1024;

/**
 * A refused OAuth request: `error` is the RFC 6749 section 4.1.2.1 / 5.2 error code and `status`
 * the HTTP status. Thrown only where the answer cannot go back to a validated redirect URI.
 */
export class OAuthError extends CosignError {
  /** The OAuth `error` value (`invalid_request`, `invalid_grant`, ...). */
  readonly error: string;
  /** The HTTP status to answer with. */
  readonly status: 400 | 401 | 403 | 404 | 503;
  /** A refusal with its OAuth error code, description and HTTP status (default 400). */
  constructor(error: string, description: string, status: 400 | 401 | 403 | 404 | 503 = 400) {
    super("OIDC_REQUEST_REFUSED", description);
    this.name = "OAuthError";
    this.error = error;
    this.status = status;
  }
}

/** Unpadded base64url. */
export function base64Url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** A random 256-bit value as base64url (codes, access tokens). */
export function randomToken(): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** True for an http URL on a loopback host, any port, no credentials or fragment. */
export function isLoopbackRedirect(text: string): boolean {
  if (text.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === "http:" &&
    ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) &&
    !url.username && !url.password && !url.hash;
}

/** True when `challenge` has the S256 form (43 base64url characters). */
export function isS256Challenge(challenge: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(challenge);
}

/** True when `verifier` is a well-formed PKCE verifier whose S256 is `challenge`. */
export function matchesS256(verifier: string, challenge: string): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(verifier) &&
    base64Url(sha256(utf8(verifier))) === challenge;
}

/** What an authorization code stands for. */
export interface PendingLogin {
  /** Who logged in. */
  readonly identity: IssuerIdentity;
  /** The client the code was issued to. */
  readonly clientId: string;
  /** The redirect URI of the authorization request (the exchange must repeat it). */
  readonly redirectUri: string;
  /** The PKCE S256 challenge. */
  readonly challenge: string;
  /** The login's nonce, for the ID token. */
  readonly nonce: string | undefined;
}

/** Pending authorization codes: at most 1024, one minute each, consumed on first use. */
export class AuthorizationCodes {
  readonly #codes = new Map<string, PendingLogin & { readonly expires: number }>();

  /** Store a login under a fresh code; `undefined` when too many are pending. */
  issue(login: PendingLogin, now: number): string | undefined {
    for (const [code, pending] of this.#codes) {
      if (pending.expires < now) this.#codes.delete(code);
    }
    if (this.#codes.size >= MAX_PENDING_CODES) return undefined;
    const code = randomToken();
    this.#codes.set(code, { ...login, expires: now + CODE_TTL_MS });
    return code;
  }

  /** Take the login of `code` out of the store (whatever happens next); expired codes are none. */
  consume(code: string, now: number): PendingLogin | undefined {
    const pending = this.#codes.get(code);
    this.#codes.delete(code);
    return pending && pending.expires >= now ? pending : undefined;
  }

  /** How many codes are pending. */
  get size(): number {
    return this.#codes.size;
  }
}
