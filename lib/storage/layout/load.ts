/**
 * `cosign load`: push an image with its signatures, attestations and referrers from an OCI
 * layout (cosign-spec.md section 1.9), after `readImageLayout` has checked every file and byte
 * of it (`read.ts`): a bad layout pushes nothing.
 *
 * @module
 */

import type { RegistryClient } from "../../oci/client.ts";
import {
  formatImageReference,
  type ImageReference,
  type RepositoryRef,
  withDigest,
} from "../../oci/reference.ts";
import {
  attachmentReference,
  type DigestReference,
  mapConcurrently,
  type TargetOptions,
} from "../signatures.ts";
import { manifestContent, type TransferEvent, type TransferStats } from "../copy.ts";
import { addFallbackReferrers } from "../_fallback_index.ts";
import { invalid, type LayoutManifest, openBlobFile } from "./_files.ts";
import {
  DEFAULT_LAYOUT_LIMITS,
  type LayoutLimits,
  readImageLayout,
  type ReadLayoutOptions,
} from "./read.ts";
import { CosignError, errorMessage } from "../../errors.ts";

/** Options of `loadImageLayout`. */
export interface LoadOptions extends ReadLayoutOptions, TargetOptions {
  /** Told about every blob and manifest pushed. */
  readonly onProgress?: (event: TransferEvent) => void;
}

/** The outcome of `loadImageLayout`. */
export interface LoadResult {
  /** The destination as given. */
  readonly destination: string;
  /** The image digest pushed. */
  readonly digest: string;
  /** Tags written (image, `.sig`, `.att`). */
  readonly tags: readonly string[];
  /** Referrer manifests pushed. */
  readonly referrers: readonly string[];
  /** What moved. */
  readonly stats: Readonly<TransferStats>;
}

/**
 * Push a layout to `destination`: verify it all first (`readImageLayout`; nothing is pushed from
 * a bad layout), then blobs (streamed from disk, checked again), manifests children first, the
 * destination tag, the `.sig`/`.att` tags of the image digest, and the referrers by digest (plus
 * the fallback index where the registry has no referrers API).
 */
export async function loadImageLayout(
  client: RegistryClient,
  dir: string,
  destination: ImageReference,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const limits: LayoutLimits = { ...DEFAULT_LAYOUT_LIMITS, ...options.limits };
  const layout = await readImageLayout(dir, options);
  const digest = layout.image.digest;
  if (destination.digest !== undefined && destination.digest !== digest) {
    throw new CosignError(
      "OCI_DIGEST_MISMATCH",
      `Cannot load "${dir}" as "${
        formatImageReference(destination)
      }": the layout holds "${digest}" (name a tag, or that digest)`,
    );
  }
  const repo: RepositoryRef = {
    registry: destination.registry,
    repository: destination.repository,
  };
  const stats: TransferStats = { manifests: 0, uploaded: 0, mounted: 0, present: 0, bytes: 0 };
  const attachmentRepo = options.targetRepository ?? repo;
  const referrerSet = new Set(layout.referrers.map((r) => r.digest));
  const attachmentDigests = new Set(
    [layout.signatures?.digest, layout.attestations?.digest].filter((d) => d !== undefined),
  );
  // Blobs of attachments and referrers go where those manifests go.
  const targetOf = (manifest: LayoutManifest) =>
    referrerSet.has(manifest.descriptor.digest) || attachmentDigests.has(manifest.descriptor.digest)
      ? attachmentRepo
      : repo;
  const blobTargets = new Map<string, RepositoryRef[]>();
  for (const manifest of layout.manifests) {
    let content;
    try {
      content = manifestContent(manifest, limits, `manifest "${manifest.descriptor.digest}"`);
    } catch (error) {
      throw invalid(dir, errorMessage(error), error);
    }
    for (const blob of content.blobs) {
      const targets = blobTargets.get(blob.digest) ?? [];
      const target = targetOf(manifest);
      if (!targets.includes(target)) targets.push(target);
      blobTargets.set(blob.digest, targets);
    }
  }
  await mapConcurrently(layout.blobs, async (blob) => {
    for (const target of blobTargets.get(blob.digest) ?? [repo]) {
      const outcome = await client.uploadBlobStream(
        target,
        blob,
        () => openBlobFile(dir, blob, limits.maxBlobBytes),
      );
      stats[outcome]++;
      if (outcome === "uploaded") stats.bytes += blob.size;
      options.onProgress?.({ kind: "blob", digest: blob.digest, size: blob.size, outcome });
    }
  }, 4);
  for (const manifest of layout.manifests) {
    const ref = withDigest(targetOf(manifest), manifest.descriptor.digest);
    await client.putManifest(ref, manifest.bytes, manifest.descriptor.mediaType);
    stats.manifests++;
    options.onProgress?.({ kind: "manifest", reference: formatImageReference(ref) });
  }
  const byDigest = new Map(layout.manifests.map((m) => [m.descriptor.digest, m]));
  const tags: string[] = [];
  const image: DigestReference = { ...repo, digest };
  const putTag = async (ref: ImageReference, manifestDigest: string) => {
    const manifest = byDigest.get(manifestDigest)!;
    await client.putManifest(ref, manifest.bytes, manifest.descriptor.mediaType);
    tags.push(formatImageReference(ref));
    options.onProgress?.({ kind: "manifest", reference: formatImageReference(ref) });
  };
  if (destination.tag !== undefined && destination.digest === undefined) {
    await putTag(destination, digest);
  }
  if (layout.signatures) {
    await putTag(attachmentReference(image, "sig", options), layout.signatures.digest);
  }
  if (layout.attestations) {
    await putTag(attachmentReference(image, "att", options), layout.attestations.digest);
  }
  if (layout.referrers.length > 0) {
    await addFallbackReferrers(client, attachmentRepo, digest, layout.referrers);
  }
  return {
    destination: formatImageReference(destination),
    digest,
    tags,
    referrers: layout.referrers.map((r) =>
      formatImageReference(withDigest(attachmentRepo, r.digest))
    ),
    stats,
  };
}
