/**
 * The OCI referrers fallback index (distribution spec v1.1 "Referrers Tag Schema"): on a
 * registry without the referrers API, the referrers of `sha256:<hex>` are listed by an image
 * index at tag `sha256-<hex>`, which clients maintain by read-modify-write (cosign-spec.md section
 * 1.8). `copy` and `load` add entries after pushing referrers by digest; `clean` removes them.
 *
 * Entries are kept sorted by digest, as go-containerregistry writes them. Like every
 * read-modify-write of a tag this is racy, as it is in ggcr and cosign.
 *
 * @module
 */

import { utf8 } from "../util/bytes.ts";
import { type FetchedManifest, referrersTagFor, type RegistryClient } from "../oci/client.ts";
import { encodeIndex, MEDIA_TYPE, type OciDescriptor } from "../oci/manifest.ts";
import type { ImageReference, RepositoryRef } from "../oci/reference.ts";
import { isAbsent } from "./signatures.ts";

/** What a fallback-index update did. */
export type FallbackIndexUpdate =
  /** The registry answers the referrers API: it maintains the list itself. */
  | "referrers-api"
  /** Nothing to change at the fallback tag. */
  | "unchanged"
  /** The fallback index was written. */
  | "written"
  /** The fallback index became empty and its tag was deleted. */
  | "deleted";

function byDigest(a: OciDescriptor, b: OciDescriptor): number {
  return a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0;
}

function fallbackTag(repo: RepositoryRef, subject: string): ImageReference {
  return { registry: repo.registry, repository: repo.repository, tag: referrersTagFor(subject) };
}

async function putFallbackIndex(
  client: RegistryClient,
  repo: RepositoryRef,
  subject: string,
  entries: OciDescriptor[],
): Promise<void> {
  entries.sort(byDigest);
  const bytes = utf8(
    encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: entries }),
  );
  await client.putManifest(fallbackTag(repo, subject), bytes, MEDIA_TYPE.OCI_INDEX);
}

/**
 * Make `entries` (referrer manifests already pushed by digest, with their `artifactType`) appear
 * among the referrers of `subject` in `repo`: nothing to do when the registry answers the
 * referrers API, else merge them into the fallback index.
 */
export async function addFallbackReferrers(
  client: RegistryClient,
  repo: RepositoryRef,
  subject: string,
  entries: readonly OciDescriptor[],
): Promise<FallbackIndexUpdate> {
  const listed = await client.listReferrers(repo, subject);
  if (listed.source === "referrers-api") return "referrers-api";
  const known = new Set(listed.manifests.map((m) => m.digest));
  const added = entries.filter((e) => !known.has(e.digest));
  if (added.length === 0) return "unchanged";
  const unique = new Map(added.map((e) => [e.digest, e]));
  await putFallbackIndex(client, repo, subject, [...listed.manifests, ...unique.values()]);
  return "written";
}

/**
 * Drop `digests` from the fallback index of `subject` in `repo`; an index left empty is deleted.
 * Nothing to do when the registry answers the referrers API (it forgets deleted manifests).
 */
export async function removeFallbackReferrers(
  client: RegistryClient,
  repo: RepositoryRef,
  subject: string,
  digests: ReadonlySet<string>,
): Promise<FallbackIndexUpdate> {
  const listed = await client.listReferrers(repo, subject);
  if (listed.source === "referrers-api") return "referrers-api";
  const kept = listed.manifests.filter((m) => !digests.has(m.digest));
  if (kept.length === listed.manifests.length) return "unchanged";
  if (kept.length > 0) {
    await putFallbackIndex(client, repo, subject, kept);
    return "written";
  }
  let fetched: FetchedManifest;
  try {
    fetched = await client.getManifest(fallbackTag(repo, subject), {
      accept: [MEDIA_TYPE.OCI_INDEX],
    });
  } catch (error) {
    if (isAbsent(error)) return "unchanged";
    throw error;
  }
  await client.deleteManifest({
    registry: repo.registry,
    repository: repo.repository,
    digest: fetched.descriptor.digest,
  });
  return "deleted";
}
