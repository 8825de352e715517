/**
 * `signing_config.json` (cosign-spec.md section 8.3): which Fulcio, OIDC provider, transparency
 * logs and timestamp authorities a signer uses, and how many of each. Parsing is strict (a
 * service without a `validFor.start` is malformed) and list lengths are bounded; `selectServices`
 * picks the services valid now, newest first, one per operator. The trusted root that verifies
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
export type SigningConfigErrorCode = "TRUST_MALFORMED";

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

/** Parse a signing config from JSON text, bytes or a parsed value. */
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
 * Pick services as section 8.3 describes: valid at `now`, a supported API version (highest
 * first), newest `start` first, one per operator, then as many as the selector asks.
 */
export function selectServices(
  services: readonly ServiceEndpoint[],
  supportedVersions: readonly number[],
  selector: ServiceSelector,
  now: Date,
): ServiceEndpoint[] {
  const candidates = services
    .filter((s) => isWithin(s.validFor, now) && supportedVersions.includes(s.majorApiVersion))
    .sort((a, b) =>
      b.majorApiVersion - a.majorApiVersion ||
      b.validFor.start.getTime() - a.validFor.start.getTime()
    );
  const byOperator: ServiceEndpoint[] = [];
  const seen = new Set<string>();
  for (const service of candidates) {
    const operator = service.operator || service.url;
    if (seen.has(operator)) continue;
    seen.add(operator);
    byOperator.push(service);
  }
  if (selector.selector === "ALL") return byOperator;
  const count = selector.selector === "EXACT" ? selector.count ?? 1 : 1;
  return byOperator.slice(0, count);
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
