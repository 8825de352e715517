/**
 * Registry authentication: `WWW-Authenticate` parsing (RFC 7235 section 4.1), the docker token
 * flow (distribution "token" and "oauth" specs, cosign-spec.md section 10.4) and the rules for
 * where credentials may go.
 *
 * Basic credentials go to a token realm only when the realm host IS the registry host, or for
 * Docker Hub's own pair (`registry-1.docker.io` -> `auth.docker.io`); ggcr once sent them to any
 * realm the registry named (SECURITY.md section 1.9, ggcr #2349). Other realms still get an
 * anonymous token request, so public images on such registries work.
 *
 * @module
 */

import { fromUtf8, preview, toBase64, utf8 } from "../util/bytes.ts";
import { isRecord, parseJson } from "../util/json.ts";
import { CosignError, errorMessage } from "../errors.ts";
import type { RegistryCredentials } from "./docker_config.ts";
import { DOCKER_HUB_API_HOST } from "./reference.ts";
import { discardBody, readBounded, registryError } from "./_http.ts";

/** One challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** Lowercase scheme: `basic`, `bearer`, ... */
  readonly scheme: string;
  /** Parameters with lowercase names (`realm`, `service`, `scope`, `error`). */
  readonly params: Readonly<Record<string, string>>;
}

const MAX_HEADER_LENGTH = 16 * 1024;
const MAX_CHALLENGES = 16;
const MAX_PARAMS = 32;
const TOKEN_CHAR_RE = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Parse a `WWW-Authenticate` value into challenges: `Bearer realm="https://x/token",service="x",
 * scope="repository:a:pull"`, several challenges separated by commas, quoted strings with
 * backslash escapes. Malformed input yields the challenges read so far, never a crash.
 */
export function parseChallenges(header: string): Challenge[] {
  const text = header.length > MAX_HEADER_LENGTH ? header.slice(0, MAX_HEADER_LENGTH) : header;
  const out: { scheme: string; params: Record<string, string> }[] = [];
  let pos = 0;
  const skip = (chars: string) => {
    while (pos < text.length && chars.includes(text[pos]!)) pos++;
  };
  const readToken = () => {
    const start = pos;
    while (pos < text.length && TOKEN_CHAR_RE.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  while (pos < text.length && out.length <= MAX_CHALLENGES) {
    skip(" \t,");
    if (pos >= text.length) break;
    const name = readToken();
    if (name === "") break;
    skip(" \t");
    if (text[pos] !== "=") {
      out.push({ scheme: name.toLowerCase(), params: {} });
      continue;
    }
    pos++;
    skip(" \t");
    let value: string;
    if (text[pos] === '"') {
      pos++;
      value = "";
      while (pos < text.length && text[pos] !== '"') {
        if (text[pos] === "\\" && pos + 1 < text.length) pos++;
        value += text[pos];
        pos++;
      }
      if (pos >= text.length) break; // unterminated quoted string
      pos++;
    } else {
      const start = pos;
      while (pos < text.length && !", \t".includes(text[pos]!)) pos++;
      value = text.slice(start, pos);
    }
    const current = out.at(-1);
    if (current === undefined) break; // a parameter before any scheme
    if (Object.keys(current.params).length < MAX_PARAMS) {
      current.params[name.toLowerCase()] = value;
    }
  }
  return out.slice(0, MAX_CHALLENGES);
}

/** The `repository:<name>:<actions>` scope string. */
export function repositoryScope(repository: string, push: boolean): string {
  return `repository:${repository}:${push ? "push,pull" : "pull"}`;
}

/**
 * True when Basic credentials for `registryHost` may be sent to `realmHost`: the same
 * `host[:port]`, or Docker Hub's registry and its auth service.
 */
export function mayCarryCredentials(registryHost: string, realmHost: string): boolean {
  const registry = registryHost.toLowerCase();
  const realm = realmHost.toLowerCase();
  if (registry === realm) return true;
  return (registry === DOCKER_HUB_API_HOST || registry === "index.docker.io") &&
    realm === "auth.docker.io";
}

/** `Authorization: Basic ...` for user and password. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${toBase64(utf8(`${username}:${password}`))}`;
}

/** A bearer token and when it stops being used. */
export interface BearerToken {
  readonly token: string;
  /** Epoch milliseconds after which the cached token is not used. */
  readonly expiresAt: number;
}

/** Sends one token-service request (retries and logging are the caller's). */
export type TokenSender = (url: URL, init: RequestInit) => Promise<Response>;

/** What a token request needs. */
export interface TokenRequest {
  readonly registryHost: string;
  readonly realm: URL;
  readonly service?: string;
  readonly scopes: readonly string[];
  readonly credentials: RegistryCredentials | undefined;
  readonly clientId: string;
  readonly now: number;
  /** Realm hosts the user vouched for besides `mayCarryCredentials` (`trustedRealms`). */
  readonly extraTrusted?: readonly string[];
}

const MAX_TOKEN_RESPONSE = 1024 * 1024;
/** Docker token spec: when `expires_in` is absent, assume 60 seconds. */
const DEFAULT_TOKEN_SECONDS = 60;
const TOKEN_VALUE_RE = /^[\x21-\x7e]{1,16384}$/;

async function readToken(response: Response, req: TokenRequest): Promise<BearerToken> {
  const what = `token response from "${req.realm.host}"`;
  const { bytes } = await readBounded(response, MAX_TOKEN_RESPONSE, what);
  let parsed: unknown;
  try {
    parsed = parseJson(fromUtf8(bytes), what);
  } catch (cause) {
    throw new CosignError("OCI_AUTH_FAILED", `Invalid ${what}: ${errorMessage(cause)}`, { cause });
  }
  if (!isRecord(parsed)) throw new CosignError("OCI_AUTH_FAILED", `Invalid ${what}: not an object`);
  const token = typeof parsed.token === "string" && parsed.token !== ""
    ? parsed.token
    : parsed.access_token;
  if (typeof token !== "string" || !TOKEN_VALUE_RE.test(token)) {
    throw new CosignError(
      "OCI_AUTH_FAILED",
      `Invalid ${what}: no usable "token" or "access_token"`,
    );
  }
  const seconds = typeof parsed.expires_in === "number" && Number.isFinite(parsed.expires_in) &&
      parsed.expires_in >= DEFAULT_TOKEN_SECONDS
    ? Math.min(parsed.expires_in, 24 * 3600)
    : DEFAULT_TOKEN_SECONDS;
  // Stop using a token a little before it expires, so a request never races its expiry.
  const margin = Math.min(10, seconds / 4);
  return { token, expiresAt: req.now + (seconds - margin) * 1000 };
}

/**
 * Exchange credentials for a bearer token at the challenge's realm. With an identity token:
 * POST `grant_type=refresh_token` (the OAuth2 flow), falling back to GET on 404; otherwise
 * GET `realm?scope=...&service=...` with Basic credentials when `mayCarryCredentials` allows.
 */
export async function fetchBearerToken(req: TokenRequest, send: TokenSender): Promise<BearerToken> {
  const creds = req.credentials;
  const trusted = mayCarryCredentials(req.registryHost, req.realm.host) ||
    (req.extraTrusted?.includes(req.realm.host.toLowerCase()) ?? false);
  if (creds?.identityToken !== undefined && trusted) {
    const form = new URLSearchParams();
    form.set("grant_type", "refresh_token");
    form.set("refresh_token", creds.identityToken);
    if (req.service !== undefined) form.set("service", req.service);
    form.set("scope", req.scopes.join(" "));
    form.set("client_id", req.clientId);
    const response = await send(req.realm, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
    });
    if (response.status === 200) return await readToken(response, req);
    if (response.status !== 404) throw await tokenError(response, req);
    await discardBody(response);
  }
  const url = new URL(req.realm);
  for (const scope of req.scopes) url.searchParams.append("scope", scope);
  if (req.service !== undefined) url.searchParams.set("service", req.service);
  const headers = new Headers();
  if (trusted && creds?.username !== undefined && creds.password !== undefined) {
    headers.set("authorization", basicAuthorization(creds.username, creds.password));
  }
  const response = await send(url, { method: "GET", headers });
  if (response.status !== 200) throw await tokenError(response, req);
  return await readToken(response, req);
}

async function tokenError(response: Response, req: TokenRequest): Promise<CosignError> {
  const base = await registryError(
    response,
    `get a token for "${preview(req.scopes.join(" "), 120)}" from "${req.realm.host}"`,
    "OCI_AUTH_FAILED",
  );
  const code = response.status === 401 || response.status === 403
    ? "OCI_UNAUTHORIZED"
    : "OCI_AUTH_FAILED";
  return new CosignError(code, base.message, { cause: base });
}
