/**
 * `cosign clean`: delete what is stored for an image, the legacy `sha256-<hex>.sig|.att|.sbom`
 * tags and the OCI referrers (cosign-spec.md sections 1.2, 1.8), then repair the referrers
 * fallback index so it lists no deleted manifest.
 *
 * Tags are deleted through the digest they resolve to: distribution (Debian's docker-registry)
 * refuses `DELETE` by tag, and cosign falls back to the digest the same way. Types:
 *
 * - `signature`: the `.sig` tag and the signature referrers (Sigstore bundles of cosign's `sign`
 *   predicate, legacy `artifact.sig` referrers);
 * - `attestation`: the `.att` tag and attestation referrers;
 * - `sbom`: the `.sbom` tag and SBOM referrers;
 * - `referrer`: every referrer of the image, whatever it holds;
 * - `all` (default): all of the above.
 *
 * cosign's `--type signature` leaves bundle referrers in place (and warns); here it removes them,
 * so that "clean the signatures" leaves an image with none.
 *
 * @module
 */

import { CosignError, isCosignError } from "../errors.ts";
import type { RegistryClient } from "../oci/client.ts";
import {
  formatImageReference,
  type ImageReference,
  type RepositoryRef,
  withDigest,
} from "../oci/reference.ts";
import {
  type AttachmentKind,
  attachmentReference,
  type DigestReference,
  isAbsent,
  mapConcurrently,
  type TargetOptions,
} from "./signatures.ts";
import { classifyReferrer, readReferrerManifests, type ReferrerKind } from "./tree.ts";
import { type FallbackIndexUpdate, removeFallbackReferrers } from "./_fallback_index.ts";

/** Error codes raised here (besides the client's). */
export type OciCleanErrorCode = "OCI_DELETE_UNSUPPORTED";

/** What `clean` removes (cosign `--type`). */
export type CleanType = "signature" | "attestation" | "referrer" | "sbom" | "all";

/** The clean types, in help order. */
export const CLEAN_TYPES: readonly CleanType[] = [
  "signature",
  "attestation",
  "referrer",
  "sbom",
  "all",
];

/** One deleted manifest. */
export interface CleanedItem {
  /** A legacy tag (`tag`) or a referrer (`referrer`). */
  readonly source: "tag" | "referrer";
  /** What it held. */
  readonly kind: ReferrerKind;
  /** The tag or digest reference that was deleted. */
  readonly reference: string;
  /** The digest of the deleted manifest. */
  readonly digest: string;
}

/** The outcome of `cleanImage`. */
export interface CleanResult {
  /** The image, `registry/repo@sha256:...`. */
  readonly image: string;
  /** Every manifest deleted. */
  readonly removed: readonly CleanedItem[];
  /** What happened to the referrers fallback index. */
  readonly fallbackIndex: FallbackIndexUpdate;
}

/** Options of `cleanImage`. */
export interface CleanOptions extends TargetOptions {
  /** What to remove (default `all`). */
  readonly type?: CleanType;
}

const TAG_KINDS: Readonly<Record<CleanType, readonly AttachmentKind[]>> = {
  signature: ["sig"],
  attestation: ["att"],
  sbom: ["sbom"],
  referrer: [],
  all: ["sig", "att", "sbom"],
};

function wantsReferrer(type: CleanType, kind: ReferrerKind): boolean {
  switch (type) {
    case "signature":
      return kind === "sig";
    case "attestation":
      return kind === "att";
    case "sbom":
      return kind === "sbom";
    case "referrer":
    case "all":
      return true;
  }
}

/**
 * Delete a manifest by digest. 404 means already gone (`false`); a registry that does not allow
 * deletes is `OCI_DELETE_UNSUPPORTED`, naming the setting to change.
 */
async function deleteByDigest(
  client: RegistryClient,
  repo: RepositoryRef,
  digest: string,
  image: string,
): Promise<boolean> {
  const ref = withDigest(repo, digest);
  try {
    await client.deleteManifest(ref);
    return true;
  } catch (error) {
    if (isAbsent(error)) return false;
    if (isCosignError(error, "OCI_REGISTRY_ERROR") && /answered 40[05]/.test(error.message)) {
      throw new CosignError(
        "OCI_DELETE_UNSUPPORTED",
        `Cannot clean "${image}": the registry refused to delete "${
          formatImageReference(ref)
        }" (enable deletes, e.g. REGISTRY_STORAGE_DELETE_ENABLED=true for distribution)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Delete an image's legacy attachment tags and referrers of `type` (see the module doc), then
 * drop the deleted referrers from the fallback index (deleting it when it becomes empty).
 * Missing tags are not an error; the image itself is left untouched.
 */
export async function cleanImage(
  client: RegistryClient,
  reference: ImageReference,
  options: CleanOptions = {},
): Promise<CleanResult> {
  const type = options.type ?? "all";
  const digest = await client.resolveDigest(reference);
  const image: DigestReference = {
    registry: reference.registry,
    repository: reference.repository,
    digest,
  };
  const name = formatImageReference(withDigest(image, digest));
  const repo = options.targetRepository ?? image;
  const removed: CleanedItem[] = [];

  const { referrers } = await readReferrerManifests(client, image, options);
  const doomed = referrers
    .map((r) => ({ referrer: r, kind: classifyReferrer(r) }))
    .filter(({ kind }) => wantsReferrer(type, kind));
  const deleted = await mapConcurrently(doomed, async ({ referrer, kind }) => {
    const gone = await deleteByDigest(client, repo, referrer.descriptor.digest, name);
    return gone
      ? {
        source: "referrer" as const,
        kind,
        reference: formatImageReference(withDigest(repo, referrer.descriptor.digest)),
        digest: referrer.descriptor.digest,
      }
      : undefined;
  });
  removed.push(...deleted.filter((d) => d !== undefined));

  for (const kind of TAG_KINDS[type]) {
    const ref = attachmentReference(image, kind, options);
    const found = await client.headManifest(ref).catch((error) => {
      if (isAbsent(error)) return undefined;
      throw error;
    });
    if (found === undefined) continue;
    if (await deleteByDigest(client, repo, found.digest, name)) {
      removed.push({
        source: "tag",
        kind,
        reference: formatImageReference(ref),
        digest: found.digest,
      });
    }
  }

  // Every doomed referrer leaves the index, deleted now or already gone.
  const fallbackIndex = doomed.length === 0 ? "unchanged" : await removeFallbackReferrers(
    client,
    repo,
    digest,
    new Set(doomed.map((d) => d.referrer.descriptor.digest)),
  );
  return { image: name, removed, fallbackIndex };
}
