/**
 * Where a keyless signer's OIDC identity token comes from, in cosign's order (cosign-spec.md
 * section 7.1): `--identity-token` (a token, or a file holding one), `SIGSTORE_ID_TOKEN`, GitHub
 * Actions ambient credentials, then the interactive browser login.
 *
 * Every token is checked for shape (bounded, exactly two dots, `iss` and `sub`) before it is
 * returned, so a truncated file or a wrong variable fails here with its source named, not later
 * inside Fulcio. The GitHub request carries a bearer credential, so it never follows a redirect
 * (SECURITY.md rule 9).
 *
 * @example
 * ```ts
 * import { resolveIdentityToken } from "./token_sources.ts";
 * const { token, source, claims } = await resolveIdentityToken({
 *   identityToken: Deno.args[0],
 *   readFile: (path) => Deno.readTextFile(path),
 *   interactive: { issuer: "https://oauth2.sigstore.dev/auth", print: console.error },
 * });
 * console.error(`Using the ${source} token of ${claims.challenge}`);
 * ```
 *
 * @module
 */

import { isRedirect, readErrorText, readJson } from "../util/http_json.ts";
import { asNonEmptyString, asRecord } from "../util/json.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { type InteractiveLoginOptions, requestInteractiveToken } from "./interactive_login.ts";
import {
  isJwtShaped,
  MAX_ID_TOKEN_LENGTH,
  type UnverifiedClaims,
  unverifiedClaims,
} from "./id_token.ts";

export * from "./id_token.ts";
export * from "./interactive_login.ts";

/** Error codes raised here (plus those of `id_token.ts` and `interactive_login.ts`). */
export type OidcErrorCode = "OIDC_NO_TOKEN" | "OIDC_TOKEN_FILE" | "OIDC_AMBIENT_FAILED";

/** The audience Fulcio requires (section 7.1). */
export const SIGSTORE_AUDIENCE = "sigstore";

/** Where a token came from. */
export type IdentityTokenSource = "flag" | "file" | "env" | "github-actions" | "interactive";

/** Options of `resolveIdentityToken`. */
export interface ResolveIdentityTokenOptions {
  /** `--identity-token`: a JWT, or the path of a file holding one. */
  readonly identityToken?: string;
  /** Reads a token file (the CLI passes `Deno.readTextFile`); required for a path. */
  readonly readFile?: (path: string) => Promise<string>;
  /** Environment lookup (default the process environment, read lazily). */
  readonly env?: (name: string) => string | undefined;
  /** HTTP client for the GitHub and interactive sources (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch;
  /** `--oidc-disable-ambient-providers`: skip `SIGSTORE_ID_TOKEN` and GitHub Actions. */
  readonly disableAmbient?: boolean;
  /** The interactive login, tried last; without it a missing token is an error. */
  readonly interactive?: Omit<InteractiveLoginOptions, "fetch" | "signal">;
  /** Aborting stops network sources. */
  readonly signal?: AbortSignal;
}

/** A token and where it came from; `claims` are unverified unless `source` is `interactive`. */
export interface ResolvedIdentityToken {
  /** The compact JWT. */
  readonly token: string;
  /** Which source supplied it. */
  readonly source: IdentityTokenSource;
  /** Its claims (verified only for the interactive source). */
  readonly claims: UnverifiedClaims;
}

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: no ambient credentials
  }
}

function checked(token: string, source: IdentityTokenSource, where: string): ResolvedIdentityToken {
  try {
    return { token, source, claims: unverifiedClaims(token) };
  } catch (error) {
    throw new CosignError(
      "OIDC_TOKEN_MALFORMED",
      `The identity token from ${where} is not a JWT: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

/**
 * The identity token to sign with, from the first source that has one: the flag (token or file),
 * `SIGSTORE_ID_TOKEN`, GitHub Actions (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN` both set),
 * then the interactive login when `interactive` is given. None raises `OIDC_NO_TOKEN`.
 */
export async function resolveIdentityToken(
  options: ResolveIdentityTokenOptions = {},
): Promise<ResolvedIdentityToken> {
  const env = options.env ?? processEnv;
  const flag = options.identityToken?.trim();
  if (flag) {
    if (isJwtShaped(flag)) return checked(flag, "flag", "--identity-token");
    if (!options.readFile) {
      throw new TypeError("--identity-token is not a JWT, and no file reader was given");
    }
    let text: string;
    try {
      text = await options.readFile(flag);
    } catch (cause) {
      throw new CosignError(
        "OIDC_TOKEN_FILE",
        `--identity-token "${flag}" is neither a JWT nor a readable file: ${errorMessage(cause)}`,
        { cause },
      );
    }
    if (text.length > MAX_ID_TOKEN_LENGTH + 1024) {
      throw new CosignError("OIDC_TOKEN_FILE", `Identity token file "${flag}" is too large`);
    }
    return checked(text.trim(), "file", `file "${flag}"`);
  }
  if (!options.disableAmbient) {
    const fromEnv = env("SIGSTORE_ID_TOKEN")?.trim();
    if (fromEnv) return checked(fromEnv, "env", "SIGSTORE_ID_TOKEN");
    const requestUrl = env("ACTIONS_ID_TOKEN_REQUEST_URL");
    const requestToken = env("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    if (requestUrl && requestToken) {
      const token = await fetchGithubActionsToken(requestUrl, requestToken, {
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return checked(token, "github-actions", "GitHub Actions");
    }
  }
  if (options.interactive) {
    const { token, claims } = await requestInteractiveToken({
      ...options.interactive,
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { token, source: "interactive", claims };
  }
  throw new CosignError(
    "OIDC_NO_TOKEN",
    "No identity token: pass --identity-token, set SIGSTORE_ID_TOKEN, run in GitHub Actions with " +
      "id-token: write, or log in interactively",
  );
}

/** Options of `fetchGithubActionsToken`. */
export interface GithubActionsTokenOptions {
  /** Audience to ask for (default `sigstore`). */
  readonly audience?: string;
  /** HTTP client (default `globalThis.fetch`). */
  readonly fetch?: typeof fetch;
  /** Attempts for network errors and 5xx/429 answers (default 3). */
  readonly attempts?: number;
  /** Aborting stops the request. */
  readonly signal?: AbortSignal;
}

/**
 * Ask GitHub Actions for an ID token: GET `$ACTIONS_ID_TOKEN_REQUEST_URL&audience=sigstore` with
 * `Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN`; the answer is `{"value": "<JWT>"}`.
 * Failures raise `OIDC_AMBIENT_FAILED`.
 */
export async function fetchGithubActionsToken(
  requestUrl: string,
  requestToken: string,
  options: GithubActionsTokenOptions = {},
): Promise<string> {
  const fail = (message: string, cause?: unknown) =>
    new CosignError("OIDC_AMBIENT_FAILED", `Cannot get a GitHub Actions token: ${message}`, {
      cause,
    });
  const audience = encodeURIComponent(options.audience ?? SIGSTORE_AUDIENCE);
  // The variable already carries a query (`?api-version=2.0`); cosign appends to it.
  const url = `${requestUrl}${requestUrl.includes("?") ? "&" : "?"}audience=${audience}`;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") throw new TypeError("scheme");
  } catch (cause) {
    throw fail("ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL", cause);
  }
  const fetchFn = options.fetch ?? globalThis.fetch;
  const attempts = options.attempts ?? 3;
  let last = "";
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await delay(200 * 2 ** (attempt - 2), options.signal);
    let response: Response;
    try {
      response = await fetchFn(url, {
        headers: { authorization: `bearer ${requestToken}`, accept: "application/json" },
        redirect: "manual",
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (cause) {
      if (options.signal?.aborted) throw fail("aborted", cause);
      last = errorMessage(cause);
      continue;
    }
    if (response.status >= 500 || response.status === 429) {
      last = `answered ${response.status} ${await readErrorText(response)}`.trim();
      continue;
    }
    if (response.status !== 200) {
      const detail = isRedirect(response.status) ? " (redirects are not followed)" : "";
      throw fail(`answered ${response.status}${detail} ${await readErrorText(response)}`.trim());
    }
    try {
      const answer = asRecord(await readJson(response, 64 * 1024, "token answer"), "answer");
      return asNonEmptyString(answer.value, "value");
    } catch (cause) {
      throw fail(errorMessage(cause), cause);
    }
  }
  throw fail(`${attempts} attempts failed, the last: ${last}`);
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
