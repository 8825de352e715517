/**
 * Listings that page through `Link` headers: tags (`/v2/<name>/tags/list`) and referrers
 * (`/v2/<name>/referrers/<digest>`, OCI distribution spec v1.1), bounded in pages and entries.
 *
 * @module
 */

import { CosignError, errorMessage } from "../errors.ts";
import { isRecord, parseJson } from "../util/json.ts";
import { formatRepository, parseDigest, type RepositoryRef } from "./reference.ts";
import { MEDIA_TYPE, type OciDescriptor, parseIndex } from "./manifest.ts";
import { discardBody, mediaTypeOf, readBounded } from "./_http.ts";
import { repositoryScope } from "./_auth.ts";
import type { RegistryTransport } from "./_transport.ts";
import type { ReferrersSupport } from "./referrers_support.ts";

/** The limits listings honour. */
export interface ListingLimits {
  readonly maxPages: number;
  readonly maxManifestBytes: number;
  readonly maxIndexManifests: number;
}

/** Referrers of a digest and where the list came from. */
export interface ReferrersList {
  /** The referrer descriptors (filtered by artifact type when asked). */
  readonly manifests: readonly OciDescriptor[];
  /** Whether the referrers API or the fallback tag answered. */
  readonly source: "referrers-api" | "fallback-tag";
}

/** Every tag of a repository, following `Link` pages (at most `maxPages`). */
export async function listTagsWith(
  transport: RegistryTransport,
  limits: ListingLimits,
  repo: RepositoryRef,
): Promise<string[]> {
  const name = formatRepository(repo);
  const tags: string[] = [];
  let target: string | URL = `/v2/${repo.repository}/tags/list`;
  for (let page = 0;; page++) {
    if (page >= limits.maxPages) {
      throw new CosignError(
        "OCI_TOO_LARGE",
        `Refusing tags of "${name}": more than ${limits.maxPages} pages`,
      );
    }
    const response: Response = await transport.exchange({
      method: "GET",
      repo,
      target,
      scopes: [repositoryScope(repo.repository, false)],
      headers: { accept: "application/json" },
    });
    if (response.status !== 200) {
      throw await transport.fail(response, `list tags of "${name}"`, "OCI_NAME_UNKNOWN", repo);
    }
    const { bytes } = await readBounded(
      response,
      limits.maxManifestBytes,
      `tags of "${name}"`,
    );
    let parsed: unknown;
    try {
      parsed = parseJson(bytes, `tags of "${name}"`);
    } catch (cause) {
      throw new CosignError(
        "OCI_REGISTRY_ERROR",
        `Invalid tag list of "${name}": ${errorMessage(cause)}`,
        { cause },
      );
    }
    const list = isRecord(parsed) ? parsed.tags : undefined;
    if (list !== null && list !== undefined) {
      if (!Array.isArray(list) || !list.every((t) => typeof t === "string")) {
        throw new CosignError(
          "OCI_REGISTRY_ERROR",
          `Invalid tag list of "${name}": "tags" is not a list of strings`,
        );
      }
      tags.push(...list);
    }
    const next = nextPage(response, target, transport.baseUrl(repo.registry));
    if (next === undefined) return tags;
    target = next;
  }
}

/**
 * The referrers of `digest` (OCI distribution spec v1.1): the referrers API when it answers
 * 200 with an image index, else the fallback tag `sha256-<hex>` (404 there means none);
 * `artifactType` is filtered client-side either way (cosign-spec.md section 1.8, gotcha 19).
 * The registry's answer is remembered in `support`: once it said it has no API, the fallback
 * tag is read directly.
 */
export async function listReferrersWith(
  transport: RegistryTransport,
  limits: ListingLimits,
  repo: RepositoryRef,
  digest: string,
  options: {
    artifactType?: string;
    support?: ReferrersSupport;
    fallback: () => Promise<readonly OciDescriptor[]>;
  },
): Promise<ReferrersList> {
  parseDigest(digest);
  const name = `${formatRepository(repo)}@${digest}`;
  const what = `referrers of "${name}"`;
  const filter = (list: readonly OciDescriptor[]) =>
    options.artifactType === undefined
      ? list
      : list.filter((d) => d.artifactType === options.artifactType);
  let target: string | URL = `/v2/${repo.repository}/referrers/${digest}` +
    (options.artifactType === undefined
      ? ""
      : `?artifactType=${encodeURIComponent(options.artifactType)}`);
  const fallback = async (): Promise<ReferrersList> => ({
    manifests: filter(await options.fallback()),
    source: "fallback-tag",
  });
  if (options.support?.get(repo.registry) === false) return await fallback();
  const found: OciDescriptor[] = [];
  for (let page = 0;; page++) {
    const response: Response = await transport.exchange({
      method: "GET",
      repo,
      target,
      scopes: [repositoryScope(repo.repository, false)],
      headers: { accept: MEDIA_TYPE.OCI_INDEX },
    });
    const isIndex = mediaTypeOf(response.headers.get("content-type")) === MEDIA_TYPE.OCI_INDEX;
    if (page === 0 && !(response.status === 200 && isIndex)) {
      if (response.status !== 200 && ![400, 404, 405, 406].includes(response.status)) {
        throw await transport.fail(response, `list ${what}`, "OCI_NAME_UNKNOWN", repo);
      }
      await discardBody(response);
      // A registry with the API never answers 404 here (distribution spec v1.1).
      options.support?.set(repo.registry, false);
      return await fallback();
    }
    if (page === 0) options.support?.set(repo.registry, true);
    if (response.status !== 200) {
      throw await transport.fail(response, `list ${what}`, "OCI_NAME_UNKNOWN", repo);
    }
    const { bytes } = await readBounded(response, limits.maxManifestBytes, what);
    const index = parseIndex(bytes, {
      maxManifests: limits.maxIndexManifests - found.length,
      what,
    });
    found.push(...index.manifests);
    const next = nextPage(response, target, transport.baseUrl(repo.registry));
    if (next === undefined) return { manifests: filter(found), source: "referrers-api" };
    if (page + 1 >= limits.maxPages) {
      throw new CosignError(
        "OCI_TOO_LARGE",
        `Refusing ${what}: more than ${limits.maxPages} pages`,
      );
    }
    target = next;
  }
}

/** The next page from a `Link: <url>; rel="next"` header, on the registry's origin only. */
function nextPage(response: Response, current: string | URL, base: URL): URL | undefined {
  const link = response.headers.get("link");
  if (link === null) return undefined;
  const match = /<([^>]*)>\s*;\s*rel="?next"?/i.exec(link);
  if (match === null) return undefined;
  const next = new URL(match[1]!, new URL(current, base));
  if (next.origin !== base.origin) {
    throw new CosignError(
      "OCI_REDIRECT_REFUSED",
      `Refusing a next page on another host "${next.host}"`,
    );
  }
  return next;
}
