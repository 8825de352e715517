/**
 * `signing_config.json` (cosign-spec.md section 8.3): which Fulcio, OIDC provider, transparency
 * logs and timestamp authorities a signer uses, and how many of each. Parsing is strict (a
 * service without a `validFor.start` is malformed) and list lengths are bounded; `selectServices`
 * picks the services valid now at the highest supported API version, newest first, one per
 * operator, and `selectSigningService` is what a signer asks: which Fulcio, OIDC provider,
 * Rekor logs and TSAs to use, each with the API version to speak to it. The trusted root that verifies
 * what those services produce is `lib/trust/trusted_root.ts`.
 *
 * @module
 */

import {
  asNonEmptyString,
  asOptionalArray,
  asRecord,
  asSafeInteger,
  asString,
  parseJson,
} from "../util/json.ts";
import { CosignError } from "../errors.ts";
import { encodeValidity, isWithin, parseValidity, type ValidityPeriod } from "./trusted_root.ts";

/** Error codes raised here. */
export type SigningConfigErrorCode = "TRUST_MALFORMED" | "TRUST_NO_SERVICE";

/** Media type of signing configs we read and write. */
export const SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/** Most services of each kind a signing config may list. */
const MAX_SERVICES = 64;

/** One service endpoint of a signing config. */
export interface ServiceEndpoint {
  /** The service's URL. */
  readonly url: string;
  /** The API major version it speaks (Rekor 1 or 2, Fulcio 1, TSA 1). */
  readonly majorApiVersion: number;
  /** When clients may use it. */
  readonly validFor: ValidityPeriod;
  /** Who runs it. */
  readonly operator: string;
}

/** How many services of a kind to use. */
export interface ServiceSelector {
  /** `ALL` of the services, `ANY` one, or `EXACT`ly `count` of them. */
  readonly selector: "ALL" | "ANY" | "EXACT";
  /** How many services, for `EXACT`. */
  readonly count?: number;
}

/** A parsed `signing_config.json`. */
export interface SigningConfig {
  /** Fulcio instances. */
  readonly caUrls: readonly ServiceEndpoint[];
  /** OIDC providers to get identity tokens from. */
  readonly oidcUrls: readonly ServiceEndpoint[];
  /** Transparency logs (Rekor) to record signatures in. */
  readonly rekorTlogUrls: readonly ServiceEndpoint[];
  /** RFC 3161 timestamp authorities. */
  readonly tsaUrls: readonly ServiceEndpoint[];
  /** How many of `rekorTlogUrls` to use. */
  readonly rekorTlogConfig: ServiceSelector;
  /** How many of `tsaUrls` to use. */
  readonly tsaConfig: ServiceSelector;
}

function parseSelector(value: unknown, path: string): ServiceSelector {
  if (value === undefined) return { selector: "ANY" };
  const record = asRecord(value, path);
  const selector = asString(record.selector, `${path}.selector`);
  if (selector !== "ALL" && selector !== "ANY" && selector !== "EXACT") {
    throw new SyntaxError(`${path}.selector: unknown selector "${selector}"`);
  }
  if (selector !== "EXACT") return { selector };
  const count = asSafeInteger(record.count, `${path}.count`);
  if (count < 1) throw new SyntaxError(`${path}.count: must be positive`);
  return { selector, count };
}

/**
 * Parse a signing config from JSON text, bytes or a parsed value; `TRUST_MALFORMED` otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSigningConfig } from "@dcosign/dcosign";
 *
 * const config = parseSigningConfig(JSON.stringify({
 *   mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
 *   caUrls: [{
 *     url: "https://fulcio.sigstore.dev",
 *     majorApiVersion: 1,
 *     validFor: { start: "2022-04-13T20:06:15Z" },
 *     operator: "sigstore.dev",
 *   }],
 * }));
 * assert.equal(config.caUrls[0]?.url, "https://fulcio.sigstore.dev");
 * assert.deepEqual(config.rekorTlogConfig, { selector: "ANY" }); // absent: ANY
 * ```
 */
export function parseSigningConfig(input: string | Uint8Array | unknown): SigningConfig {
  try {
    const json = typeof input === "string" || input instanceof Uint8Array
      ? parseJson(input, "signing config")
      : input;
    const record = asRecord(json, "signingConfig");
    const mediaType = asString(record.mediaType, "signingConfig.mediaType");
    if (mediaType !== SIGNING_CONFIG_MEDIA_TYPE) {
      throw new SyntaxError(`unsupported mediaType "${mediaType}"`);
    }
    const list = (key: string): ServiceEndpoint[] =>
      asOptionalArray(record[key], `signingConfig.${key}`, MAX_SERVICES).map((item, i) => {
        const path = `signingConfig.${key}[${i}]`;
        const service = asRecord(item, path);
        return {
          url: asNonEmptyString(service.url, `${path}.url`),
          majorApiVersion: asSafeInteger(service.majorApiVersion, `${path}.majorApiVersion`),
          validFor: parseValidity(service.validFor, `${path}.validFor`),
          operator: asString(service.operator ?? "", `${path}.operator`),
        };
      });
    return {
      caUrls: list("caUrls"),
      oidcUrls: list("oidcUrls"),
      rekorTlogUrls: list("rekorTlogUrls"),
      tsaUrls: list("tsaUrls"),
      rekorTlogConfig: parseSelector(record.rekorTlogConfig, "signingConfig.rekorTlogConfig"),
      tsaConfig: parseSelector(record.tsaConfig, "signingConfig.tsaConfig"),
    };
  } catch (error) {
    throw new CosignError(
      "TRUST_MALFORMED",
      `Invalid signing config: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * Pick services as section 8.3 describes (sigstore-go `SelectServices`): only those valid at
 * `now` with a supported API version count; of those, only the highest supported version is
 * used (versions are never mixed); newest `start` first, at most one per operator; then as
 * many as the selector asks (`ALL`: every operator's; `ANY`: the first; `EXACT`: the first
 * `count`). sigstore-go picks `ANY`/`EXACT` at random; here the order is stable (newest first),
 * so a run is reproducible. An `EXACT` count larger than the operators available gives what
 * there is: `selectSigningService` refuses that.
 */
export function selectServices(
  services: readonly ServiceEndpoint[],
  supportedVersions: readonly number[],
  selector: ServiceSelector,
  now: Date,
): ServiceEndpoint[] {
  const usable = services
    .filter((s) => isWithin(s.validFor, now) && supportedVersions.includes(s.majorApiVersion))
    .sort((a, b) => b.validFor.start.getTime() - a.validFor.start.getTime());
  const version = Math.max(...usable.map((s) => s.majorApiVersion));
  const byOperator: ServiceEndpoint[] = [];
  const seen = new Set<string>();
  for (const service of usable) {
    if (service.majorApiVersion !== version) continue;
    const operator = service.operator || service.url;
    if (seen.has(operator)) continue;
    seen.add(operator);
    byOperator.push(service);
  }
  if (selector.selector === "ALL") return byOperator;
  const count = selector.selector === "EXACT" ? selector.count ?? 1 : 1;
  return byOperator.slice(0, count);
}

/** The kinds of service a signing config names. */
export type SigningServiceKind = "fulcio" | "oidc" | "rekor" | "tsa";

/**
 * The API major versions dcosign's clients speak, by kind (cosign-spec.md section 7.1: Fulcio's
 * `majorApiVersion` 1 is its `/api/v2/` API; Rekor 1 is the v1 API, 2 rekor-tiles (`lib/tlog/rekor_v2/`)).
 */
export const SUPPORTED_API_VERSIONS: Readonly<Record<SigningServiceKind, readonly number[]>> = {
  fulcio: [1],
  oidc: [1],
  rekor: [1, 2],
  tsa: [1],
};

/** A service picked from a signing config: where it is and which API it speaks. */
export interface SelectedService {
  /** The service URL (a base URL for Fulcio and Rekor, the full endpoint for a TSA). */
  readonly url: string;
  /** The API major version the client must speak to it. */
  readonly majorApiVersion: number;
  /** Who runs it (empty when the config does not say). */
  readonly operator: string;
}

/** Options of `selectSigningService`. */
export interface SelectSigningServiceOptions {
  /** The time services must be valid at. */
  readonly now: Date;
  /** The API versions the caller can speak (default `SUPPORTED_API_VERSIONS[kind]`). */
  readonly supportedVersions?: readonly number[];
}

const KIND_NAMES: Readonly<Record<SigningServiceKind, readonly [string, string]>> = {
  fulcio: ["Fulcio", "Fulcio services"],
  oidc: ["OIDC provider", "OIDC providers"],
  rekor: ["Rekor log", "Rekor logs"],
  tsa: ["timestamp authority", "timestamp authorities"],
};

/**
 * The services of `kind` a signer uses under `config` at `options.now`: one Fulcio and one OIDC
 * provider, the Rekor logs `rekorTlogConfig` asks for, the TSAs `tsaConfig` asks for (see
 * `selectServices`), each with the API version to speak. An empty list when the config lists
 * no service of the kind at all; `TRUST_NO_SERVICE` in one line when it lists some but none is
 * usable (none valid now, only API versions the caller does not speak, or fewer operators than
 * an `EXACT` count).
 *
 * @example The public-good Rekor v2 config: version 2 where the caller speaks it, else 1
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSigningConfig, selectSigningService } from "@dcosign/dcosign";
 *
 * const service = (url: string, majorApiVersion: number, start: string) =>
 *   ({ url, majorApiVersion, validFor: { start }, operator: "sigstore.dev" });
 * const config = parseSigningConfig({
 *   mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
 *   rekorTlogUrls: [
 *     service("https://log2025-1.rekor.sigstore.dev", 2, "2026-01-01T00:00:00Z"),
 *     service("https://rekor.sigstore.dev", 1, "2021-01-12T11:53:27Z"),
 *   ],
 *   rekorTlogConfig: { selector: "ANY" },
 * });
 * const now = new Date("2026-08-25T00:00:00Z");
 * const v2 = selectSigningService(config, "rekor", { now, supportedVersions: [1, 2] });
 * assert.deepEqual(v2.map((s) => [s.url, s.majorApiVersion]), [["https://log2025-1.rekor.sigstore.dev", 2]]);
 * const v1 = selectSigningService(config, "rekor", { now, supportedVersions: [1] });
 * assert.deepEqual(v1.map((s) => [s.url, s.majorApiVersion]), [["https://rekor.sigstore.dev", 1]]);
 * ```
 */
export function selectSigningService(
  config: SigningConfig,
  kind: SigningServiceKind,
  options: SelectSigningServiceOptions,
): SelectedService[] {
  const services = kind === "fulcio"
    ? config.caUrls
    : kind === "oidc"
    ? config.oidcUrls
    : kind === "rekor"
    ? config.rekorTlogUrls
    : config.tsaUrls;
  if (services.length === 0) return [];
  const selector: ServiceSelector = kind === "rekor"
    ? config.rekorTlogConfig
    : kind === "tsa"
    ? config.tsaConfig
    : { selector: "ANY" };
  const supported = options.supportedVersions ?? SUPPORTED_API_VERSIONS[kind];
  const { now } = options;
  const selected = selectServices(services, supported, selector, now);
  const [name, names] = KIND_NAMES[kind];
  const at = `"${now.toISOString()}"`;
  if (selected.length === 0) {
    const valid = services.filter((s) => isWithin(s.validFor, now));
    if (valid.length === 0) {
      throw new CosignError(
        "TRUST_NO_SERVICE",
        `The signing config lists no ${name} valid at ${at}`,
      );
    }
    const versions = [...new Set(valid.map((s) => s.majorApiVersion))].sort();
    throw new CosignError(
      "TRUST_NO_SERVICE",
      `The signing config's ${names} valid at ${at} speak API version ${versions.join(", ")} ` +
        `(${valid.map((s) => `"${s.url}"`).join(", ")}); dcosign speaks ${
          supported.join(", ") || "none"
        } for this service`,
    );
  }
  if (selector.selector === "EXACT" && selected.length < (selector.count ?? 1)) {
    throw new CosignError(
      "TRUST_NO_SERVICE",
      `The signing config asks for exactly ${selector.count} ${names} of distinct operators, ` +
        `but only ${selected.length} valid at ${at} speak a supported API version`,
    );
  }
  return selected.map((s) => ({
    url: s.url,
    majorApiVersion: s.majorApiVersion,
    operator: s.operator,
  }));
}

/** The JSON form of a signing config (v0.2). */
export function encodeSigningConfig(config: SigningConfig): Record<string, unknown> {
  const service = (s: ServiceEndpoint) => ({
    url: s.url,
    majorApiVersion: s.majorApiVersion,
    validFor: encodeValidity(s.validFor),
    operator: s.operator,
  });
  return {
    mediaType: SIGNING_CONFIG_MEDIA_TYPE,
    caUrls: config.caUrls.map(service),
    oidcUrls: config.oidcUrls.map(service),
    rekorTlogUrls: config.rekorTlogUrls.map(service),
    tsaUrls: config.tsaUrls.map(service),
    rekorTlogConfig: config.rekorTlogConfig,
    tsaConfig: config.tsaConfig,
  };
}
