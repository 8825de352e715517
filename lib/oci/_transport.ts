/**
 * The registry client's transport: authentication, redirects, plain-HTTP policy and retries, for
 * one call at a time (`lib/oci/client.ts` builds the calls).
 *
 * - The first request to a repository is the real request; a 401 with a `WWW-Authenticate`
 *   challenge triggers Basic or a bearer-token exchange and ONE retry. Tokens are cached per
 *   (origin, scopes) until they expire and fetched up front once an origin's challenge is known,
 *   so an authenticated registry costs one token request per repository and scope. Under
 *   concurrency too: while the first call to an origin is out the others wait for its
 *   challenge, and concurrent 401s for the same scopes share one token fetch.
 * - `Authorization` is set afresh on every attempt (never appended: cosign 8a86a7cf) and only
 *   for the registry's own origin: redirects are followed by hand, at most 5 hops, and drop it
 *   when the origin changes (SECURITY.md rule 9, ggcr #2349/#2360).
 * - Plain HTTP only for localhost/127.0.0.1/[::1] or hosts named in `insecure`; with
 *   `preferHttps` such a host is tried over HTTPS first and reached over plain HTTP only when no
 *   TLS connection can be made (go-containerregistry's ping order, one `GET /v2/` per registry).
 * - 408/429/5xx and network errors are retried with exponential backoff and `Retry-After`
 *   (POST and PATCH only on 429/503, which say the request was not processed).
 *
 * @module
 */

import type { Bytes } from "../util/bytes.ts";
import { preview } from "../util/bytes.ts";
import { CosignError, type ErrorCode, errorMessage } from "../errors.ts";
import type { CredentialResolver, RegistryCredentials } from "./docker_config.ts";
import {
  formatRepository,
  isLocalRegistry,
  registryApiHost,
  type RepositoryRef,
} from "./reference.ts";
import { discardBody, isPrivateAddress, registryError, retryAfterMs } from "./_http.ts";
import { redactHeaders, redactUrl } from "../util/redact.ts";
import {
  basicAuthorization,
  type BearerToken,
  type Challenge,
  fetchBearerToken,
  parseChallenges,
} from "./_auth.ts";

/** Retries of 408, 429 and 5xx answers and of network errors. */
export interface RetryPolicy {
  /** Total tries, the first included. */
  readonly attempts: number;
  /** Delay before the first retry; doubled for each further one. */
  readonly baseDelayMs: number;
  /** Upper bound of any delay, `Retry-After` included. */
  readonly maxDelayMs: number;
}

/** One HTTP exchange, for `--verbose`: credentials are already redacted. */
export interface RegistryExchange {
  /** HTTP method. */
  readonly method: string;
  /** URL with secret-looking query values redacted. */
  readonly url: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** Request headers, credentials redacted. */
  readonly requestHeaders: Record<string, string>;
  /** Response headers, cookies and credentials redacted. */
  readonly responseHeaders: Record<string, string>;
}

/** Options of the transport (a subset of `RegistryClientOptions`). */
export interface TransportOptions {
  /** The fetch to use (default `globalThis.fetch`); called with `redirect: "manual"`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Credentials per registry and repository (`createCredentialResolver()`); default none. */
  readonly credentials?: CredentialResolver;
  /** `true`, or hosts, reached over plain HTTP besides localhost/127.0.0.1/[::1]. */
  readonly insecure?: boolean | readonly string[];
  /**
   * Try hosts that may use plain HTTP over HTTPS first (one `GET /v2/` per registry), and use
   * plain HTTP only when no TLS connection can be made, as go-containerregistry pings. Default
   * false: such hosts are reached over plain HTTP directly.
   */
  readonly preferHttps?: boolean;
  /** Retry policy (default 3 attempts, 250 ms doubling, at most 5 s). */
  readonly retry?: Partial<RetryPolicy>;
  /** `User-Agent`, also the OAuth2 `client_id` (default `dcosign`). */
  readonly userAgent?: string;
  /** Told about every HTTP exchange, credentials redacted (for `--verbose`). */
  readonly onExchange?: (exchange: RegistryExchange) => void;
  /** Waits between retries (inject a zero-delay sleeper in tests). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds, for token expiry (default `Date.now`). */
  readonly now?: () => number;
  /**
   * Token realm hosts that may receive a registry's credentials besides its own host (and Docker
   * Hub's pair), keyed by registry API host: e.g. `{"registry.gitlab.com": ["gitlab.com"]}`.
   */
  readonly trustedRealms?: Readonly<Record<string, readonly string[]>>;
  /** Aborts every request and body read (e.g. `AbortSignal.timeout(ms)`); never retried. */
  readonly signal?: AbortSignal;
}

/** One registry call: the method, the repository it acts on, where, and the token scopes. */
export interface Call {
  readonly method: string;
  readonly repo: RepositoryRef;
  /** `/v2/...` path on the registry, or an absolute URL (upload locations, next pages). */
  readonly target: string | URL;
  readonly scopes: readonly string[];
  readonly headers?: Record<string, string>;
  readonly body?: Bytes;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE"]);

/** Sends calls to registries with auth, redirects, retries; caches credentials and tokens. */
export class RegistryTransport {
  readonly #fetch: typeof globalThis.fetch;
  readonly #credentials: CredentialResolver | undefined;
  readonly #insecure: boolean | ReadonlySet<string>;
  readonly #retry: RetryPolicy;
  readonly #userAgent: string;
  readonly #onExchange: ((exchange: RegistryExchange) => void) | undefined;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  readonly #signal: AbortSignal | undefined;
  readonly #trustedRealms: ReadonlyMap<string, readonly string[]>;
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, Promise<BearerToken>>();
  /** Token fetches in flight, by origin and scopes: concurrent 401s share one. */
  readonly #fetching = new Map<string, Promise<BearerToken>>();
  /** The first call to an origin whose challenge is unknown: the others wait for its answer. */
  readonly #probes = new Map<string, Promise<void>>();
  readonly #challengeProbed = new Set<string>();
  readonly #creds = new Map<string, Promise<RegistryCredentials | undefined>>();
  readonly #responseUrls = new WeakMap<Response, URL>();
  readonly #preferHttps: boolean;
  /** The scheme each registry answered the HTTPS probe with (`preferHttps`). */
  readonly #schemes = new Map<string, Promise<"https" | "http">>();
  readonly #probed = new Map<string, "https" | "http">();

  constructor(options: TransportOptions = {}) {
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#credentials = options.credentials;
    this.#insecure = typeof options.insecure === "object"
      ? new Set(options.insecure.map((h) => h.toLowerCase()))
      : options.insecure ?? false;
    this.#retry = { attempts: 3, baseDelayMs: 250, maxDelayMs: 5000, ...options.retry };
    if (!(this.#retry.attempts >= 1)) throw new RangeError("retry.attempts must be at least 1");
    this.#userAgent = options.userAgent ?? "dcosign";
    this.#onExchange = options.onExchange;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
    this.#signal = options.signal;
    this.#preferHttps = options.preferHttps ?? false;
    this.#trustedRealms = new Map(
      Object.entries(options.trustedRealms ?? {}).map((
        [host, realms],
      ) => [host.toLowerCase(), realms.map((r) => r.toLowerCase())]),
    );
  }

  #allowsHttp(host: string): boolean {
    if (isLocalRegistry(host)) return true;
    return this.#insecure === true ||
      (typeof this.#insecure === "object" && this.#insecure.has(host.toLowerCase()));
  }

  /** The registry's base URL; with `preferHttps`, the scheme its probe settled (else HTTP). */
  baseUrl(registry: string): URL {
    const host = registryApiHost(registry);
    const scheme = this.#allowsHttp(registry) ? this.#probed.get(registry) ?? "http" : "https";
    return new URL(`${scheme}://${host}`);
  }

  /** `baseUrl`, after probing the scheme once when `preferHttps` leaves it open. */
  async #base(registry: string): Promise<URL> {
    if (this.#preferHttps && this.#allowsHttp(registry) && !this.#probed.has(registry)) {
      let probe = this.#schemes.get(registry);
      if (probe === undefined) {
        probe = this.#probeScheme(registryApiHost(registry));
        this.#schemes.set(registry, probe);
        probe.then(
          (scheme) => this.#probed.set(registry, scheme),
          () => this.#schemes.delete(registry),
        );
      }
      this.#probed.set(registry, await probe);
    }
    return this.baseUrl(registry);
  }

  /**
   * HTTPS if `GET https://host/v2/` gets any answer; else plain HTTP, unless the host answers
   * plain HTTP as a TLS server does (400, "...HTTP request to an HTTPS server"), when the TLS
   * failure (an untrusted certificate, say) is the one to report.
   */
  async #probeScheme(host: string): Promise<"https" | "http"> {
    const init: RequestInit = {
      method: "GET",
      headers: { "user-agent": this.#userAgent },
      redirect: "manual",
      ...(this.#signal ? { signal: this.#signal } : {}),
    };
    let tlsError: unknown;
    try {
      await discardBody(await this.#fetch(new URL(`https://${host}/v2/`), init));
      return "https";
    } catch (cause) {
      if (cause instanceof CosignError || this.#signal?.aborted) throw cause;
      tlsError = cause;
    }
    let plain: Response;
    try {
      plain = await this.#fetch(new URL(`http://${host}/v2/`), init);
    } catch (cause) {
      throw new CosignError(
        "OCI_NETWORK_ERROR",
        `Cannot reach "${host}" over HTTPS (${networkMessage(tlsError)}) nor plain HTTP (${
          networkMessage(cause)
        })`,
        { cause: tlsError },
      );
    }
    const text = plain.status === 400 ? await bodyPrefix(plain, 1024) : "";
    await discardBody(plain);
    if (/HTTPS/.test(text)) {
      throw new CosignError(
        "OCI_NETWORK_ERROR",
        `Cannot reach "${host}" over HTTPS: ${networkMessage(tlsError)}`,
        { cause: tlsError },
      );
    }
    return "http";
  }

  #credentialsFor(repo: RepositoryRef): Promise<RegistryCredentials | undefined> {
    if (this.#credentials === undefined) return Promise.resolve(undefined);
    const key = `${repo.registry}/${repo.repository}`;
    let found = this.#creds.get(key);
    if (found === undefined) {
      found = this.#credentials(repo.registry, repo.repository);
      this.#creds.set(key, found);
      found.catch(() => this.#creds.delete(key));
    }
    return found;
  }

  /** Send a call with auth: cached/proactive credentials, then one re-authentication on 401. */
  async exchange(call: Call): Promise<Response> {
    const base = await this.#base(call.repo.registry);
    const url = typeof call.target === "string" ? new URL(call.target, base) : call.target;
    // One challenge per registry: while the first call to an origin is out, the others wait
    // for it, then go with the token it fetched (or with none, when none was asked for).
    let release: (() => void) | undefined;
    if (!this.#challenges.has(base.origin) && !this.#challengeProbed.has(base.origin)) {
      const probe = this.#probes.get(base.origin);
      if (probe) {
        await probe;
      } else {
        this.#probes.set(base.origin, new Promise((resolve) => release = resolve));
      }
    }
    const settle = () => {
      if (!release) return;
      this.#probes.delete(base.origin);
      this.#challengeProbed.add(base.origin);
      release();
      release = undefined;
    };
    try {
      return await this.#exchangeAuthorized(call, url, base, settle);
    } finally {
      settle();
    }
  }

  async #exchangeAuthorized(
    call: Call,
    url: URL,
    base: URL,
    settle: () => void,
  ): Promise<Response> {
    let authorization = await this.#authorization(call, base, undefined);
    let response = await this.#send(call, url, base, authorization);
    // Only the registry's own origin may ask for credentials, not a host it redirected us to.
    if (response.status !== 401 || this.#responseUrls.get(response)?.origin !== base.origin) {
      return response;
    }
    const challenges = parseChallenges(response.headers.get("www-authenticate") ?? "");
    const challenge = challenges.find((c) => c.scheme === "bearer") ??
      challenges.find((c) => c.scheme === "basic");
    if (challenge === undefined) return response;
    await discardBody(response);
    this.#challenges.set(base.origin, challenge);
    authorization = await this.#authorization(call, base, challenge);
    settle(); // the token (or Basic credentials) is there: the waiting calls may use it
    if (authorization === undefined) throw await this.#unauthorized(call.repo, undefined);
    response = await this.#send(call, url, base, authorization);
    return response;
  }

  /**
   * The Authorization value for a call: Basic or a registry token when the host asked for it, a
   * bearer token (cached, or fetched now when the host's challenge is known), or none.
   * `fresh` is the challenge of a 401 just received: the cached token is bypassed.
   */
  async #authorization(
    call: Call,
    base: URL,
    fresh: Challenge | undefined,
  ): Promise<string | undefined> {
    const challenge = fresh ?? this.#challenges.get(base.origin);
    if (challenge === undefined) return undefined;
    const creds = await this.#credentialsFor(call.repo);
    if (creds?.registryToken !== undefined) return `Bearer ${creds.registryToken}`;
    if (challenge.scheme === "basic") {
      if (creds?.username === undefined || creds.password === undefined) return undefined;
      return basicAuthorization(creds.username, creds.password);
    }
    const scopes = [...call.scopes];
    const asked = fresh?.params.scope;
    if (asked !== undefined && !scopes.includes(asked)) scopes.unshift(asked);
    if (fresh === undefined) {
      // A push token also serves pulls of the same repositories; a pull token never pushes.
      const pushScopes = scopes.map((s) => s.replace(/:pull$/, ":push,pull"));
      for (const candidate of [scopes, pushScopes]) {
        const cached = await this.#tokens.get(tokenKey(base, candidate))?.catch(() => undefined);
        if (cached !== undefined && cached.expiresAt > this.#now()) return `Bearer ${cached.token}`;
      }
    }
    const key = tokenKey(base, scopes);
    const inFlight = this.#fetching.get(key);
    if (inFlight) return `Bearer ${(await inFlight).token}`;
    const token = this.#fetchToken(call.repo, base, challenge, scopes, creds);
    this.#tokens.set(key, token);
    this.#fetching.set(key, token);
    const done = () => {
      if (this.#fetching.get(key) === token) this.#fetching.delete(key);
    };
    token.then(done, () => {
      done();
      if (this.#tokens.get(key) === token) this.#tokens.delete(key);
    });
    return `Bearer ${(await token).token}`;
  }

  async #fetchToken(
    repo: RepositoryRef,
    base: URL,
    challenge: Challenge,
    scopes: readonly string[],
    creds: RegistryCredentials | undefined,
  ): Promise<BearerToken> {
    const realmText = challenge.params.realm;
    let realm: URL;
    try {
      realm = new URL(realmText ?? "");
    } catch (cause) {
      throw new CosignError(
        "OCI_AUTH_FAILED",
        `Invalid token realm "${preview(realmText ?? "")}" from "${base.host}"`,
        { cause },
      );
    }
    if (
      realm.protocol !== "https:" && !(realm.protocol === "http:" && this.#allowsHttp(realm.host))
    ) {
      throw new CosignError(
        "OCI_INSECURE_REGISTRY",
        `Refusing token realm "${
          redactUrl(realm.href)
        }" of "${base.host}": plain HTTP is allowed only for localhost or with --allow-insecure-registry`,
      );
    }
    if (
      realm.host !== base.host && isPrivateAddress(realm.hostname) &&
      !isPrivateAddress(base.hostname)
    ) {
      throw new CosignError(
        "OCI_AUTH_FAILED",
        `Refusing token realm "${realm.host}" of "${base.host}": a private address`,
      );
    }
    try {
      return await fetchBearerToken({
        registryHost: base.host,
        realm,
        ...(challenge.params.service !== undefined ? { service: challenge.params.service } : {}),
        scopes,
        credentials: creds,
        clientId: this.#userAgent,
        now: this.#now(),
        extraTrusted: this.#trustedRealms.get(base.host) ?? [],
      }, async (url, init) => {
        const response = await this.#fetchWithRetry(url, { ...init, redirect: "manual" });
        if (REDIRECTS.has(response.status)) {
          await discardBody(response);
          throw new CosignError(
            "OCI_AUTH_FAILED",
            `Token service "${url.host}" answered with a redirect`,
          );
        }
        return response;
      });
    } catch (error) {
      if (error instanceof CosignError && error.code === "OCI_UNAUTHORIZED") {
        throw await this.#unauthorized(repo, error);
      }
      throw error;
    }
  }

  async #unauthorized(repo: RepositoryRef, cause: unknown): Promise<CosignError> {
    const creds = await this.#credentialsFor(repo).catch(() => undefined);
    const registry = repo.registry;
    const what = formatRepository(repo);
    return creds === undefined
      ? new CosignError(
        "OCI_UNAUTHORIZED",
        `Registry "${registry}" requires authentication for "${what}" and no credentials were found: run "docker login ${registry}" or pass --registry-username/--registry-password`,
        { cause },
      )
      : new CosignError(
        "OCI_UNAUTHORIZED",
        `Registry "${registry}" refused the credentials for "${what}"${
          cause instanceof Error ? `: ${cause.message}` : ""
        }`,
        { cause },
      );
  }

  /** Send one call, following redirects by hand; Authorization only to the registry's origin. */
  async #send(
    call: Call,
    start: URL,
    base: URL,
    authorization: string | undefined,
  ): Promise<Response> {
    let url = start;
    let method = call.method;
    let body: Bytes | undefined = call.body;
    for (let hop = 0;; hop++) {
      if (url.protocol !== "https:" && !(url.protocol === "http:" && this.#allowsHttp(url.host))) {
        throw new CosignError(
          "OCI_INSECURE_REGISTRY",
          `Refusing plain HTTP to "${url.host}": allowed only for localhost or with --allow-insecure-registry`,
        );
      }
      const headers = new Headers(call.headers);
      headers.set("user-agent", this.#userAgent);
      if (authorization !== undefined && url.origin === base.origin) {
        headers.set("authorization", authorization);
      }
      const init: RequestInit = { method, headers, redirect: "manual" };
      if (body !== undefined && method !== "GET" && method !== "HEAD") init.body = body;
      const response = await this.#fetchWithRetry(url, init);
      if (response.status === 400 && url.protocol === "http:") {
        // Go's TLS server answers plain HTTP so ("Client sent an HTTP request to an HTTPS server");
        // a HEAD answer has no body to tell, so ask `GET /v2/` (only on this failure path).
        const text = method === "HEAD"
          ? await this.#fetch(new URL("/v2/", url), { method: "GET", redirect: "manual" })
            .then((r) => bodyPrefix(r, 1024), () => "")
          : await bodyPrefix(response.clone(), 1024);
        if (/HTTPS server/.test(text)) {
          await discardBody(response);
          throw new CosignError(
            "OCI_NETWORK_ERROR",
            `"${url.host}" speaks TLS, not plain HTTP: pass --registry-cacert with its CA (or another TLS flag), or --allow-insecure-registry`,
          );
        }
      }
      const location = response.headers.get("location");
      if (!REDIRECTS.has(response.status) || location === null) {
        this.#responseUrls.set(response, url);
        return response;
      }
      await discardBody(response);
      if (hop >= MAX_REDIRECTS) {
        throw new CosignError(
          "OCI_REDIRECT_REFUSED",
          `Too many redirects from "${redactUrl(start.href)}"`,
        );
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch (cause) {
        throw new CosignError(
          "OCI_REDIRECT_REFUSED",
          `Invalid redirect location from "${url.host}"`,
          { cause },
        );
      }
      if (
        next.host !== url.host && isPrivateAddress(next.hostname) &&
        !isPrivateAddress(base.hostname)
      ) {
        throw new CosignError(
          "OCI_REDIRECT_REFUSED",
          `Refusing redirect from "${url.host}" to private address "${next.host}"`,
        );
      }
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && method === "POST")
      ) {
        method = method === "HEAD" ? "HEAD" : "GET";
        body = undefined;
      }
      url = next;
    }
  }

  /** One request with retries on 408/429/5xx and network errors (POST/PATCH: 429/503 only). */
  async #fetchWithRetry(url: URL, init: RequestInit): Promise<Response> {
    const method = init.method ?? "GET";
    const { attempts, baseDelayMs, maxDelayMs } = this.#retry;
    for (let attempt = 1;; attempt++) {
      let response: Response;
      try {
        response = await this.#fetch(
          url,
          this.#signal === undefined ? init : { ...init, signal: this.#signal },
        );
      } catch (cause) {
        if (cause instanceof CosignError) throw cause;
        if (this.#signal?.aborted) {
          throw new CosignError(
            "OCI_NETWORK_ERROR",
            `Request to "${url.host}" aborted: ${errorMessage(this.#signal.reason)}`,
            { cause },
          );
        }
        if (attempt < attempts && IDEMPOTENT.has(method)) {
          await this.#sleep(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
          continue;
        }
        throw new CosignError(
          "OCI_NETWORK_ERROR",
          `Cannot reach "${url.host}" (${method} ${redactUrl(url.href)}): ${networkMessage(cause)}`,
          { cause },
        );
      }
      this.#onExchange?.({
        method,
        url: redactUrl(url.href),
        status: response.status,
        requestHeaders: redactHeaders(new Headers(init.headers)),
        responseHeaders: redactHeaders(response.headers),
      });
      const retryable = RETRYABLE.has(response.status) &&
        (IDEMPOTENT.has(method) || response.status === 429 || response.status === 503);
      if (!retryable || attempt >= attempts) return response;
      const wait = retryAfterMs(response, this.#now()) ?? baseDelayMs * 2 ** (attempt - 1);
      await discardBody(response);
      await this.#sleep(Math.min(maxDelayMs, wait));
    }
  }

  /** The upload session URL of a response, resolved against the URL that answered. */
  location(response: Response, name: string): URL {
    const location = response.headers.get("location");
    const answered = this.#responseUrls.get(response);
    try {
      if (location === null || answered === undefined) throw new TypeError("no Location header");
      return new URL(location, answered);
    } catch (cause) {
      throw new CosignError(
        "OCI_REGISTRY_ERROR",
        `Cannot upload blob "${name}": invalid upload location`,
        { cause },
      );
    }
  }

  async fail(
    response: Response,
    action: string,
    notFound: ErrorCode,
    repo: RepositoryRef,
  ): Promise<CosignError> {
    const error = await registryError(response, action, notFound);
    if (error.code === "OCI_UNAUTHORIZED") return await this.#unauthorized(repo, error);
    return error;
  }
}

/** A network error's message with its causes (fetch's "fetch failed" says little alone). */
function networkMessage(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 4; depth++) {
    const message = errorMessage(current);
    if (!parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}

/** The first `max` characters of a body (the rest is cancelled unread). */
async function bodyPrefix(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < max) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // what was read is enough to tell
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, max);
}

function tokenKey(base: URL, scopes: readonly string[]): string {
  return `${base.origin}\n${[...scopes].sort().join(" ")}`;
}
