/**
 * `cosign save`: an image (or one platform of it) with its legacy `.sig`/`.att` manifests and its
 * referrers, written as the OCI layout `read.ts` reads (cosign-spec.md section 1.9):
 * `index.json` entries with a `kind` annotation, every manifest and blob in `blobs/sha256/`,
 * bundle referrer manifests as plain blobs. Blobs stream to disk through temporary files,
 * checked against their digests on the way.
 *
 * @module
 */

import { join } from "node:path";
import { utf8 } from "../../util/bytes.ts";
import type { FetchedManifest, RegistryClient } from "../../oci/client.ts";
import {
  encodeIndex,
  isIndexMediaType,
  MEDIA_TYPE,
  type OciDescriptor,
} from "../../oci/manifest.ts";
import {
  formatImageReference,
  type ImageReference,
  type RepositoryRef,
  withDigest,
} from "../../oci/reference.ts";
import {
  attachmentReference,
  type DigestReference,
  getIfExists,
  mapConcurrently,
  type TargetOptions,
} from "../signatures.ts";
import { manifestContent, type TransferEvent, type TransferStats } from "../copy.ts";
import { type PlatformSpec, resolvePlatformImage } from "../../oci/platform.ts";
import { readReferrerManifests } from "../tree.ts";
import { blobPath, prepareDirectory, writeAtomically } from "./_files.ts";
import { LAYOUT_KIND, LAYOUT_KIND_ANNOTATION } from "./read.ts";

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: "1.0.0" });

/** Options of `saveImageLayout`. */
export interface SaveOptions extends TargetOptions {
  /** Save this platform of an index only. */
  readonly platform?: PlatformSpec;
  /** Told about every blob and manifest written. */
  readonly onProgress?: (event: TransferEvent) => void;
}

/** The outcome of `saveImageLayout`. */
export interface SaveResult {
  /** The layout directory. */
  readonly directory: string;
  /** The image as given. */
  readonly image: string;
  /** The image digest saved. */
  readonly digest: string;
  /** Digest of the saved `.sig` manifest. */
  readonly signatures?: string;
  /** Digest of the saved `.att` manifest. */
  readonly attestations?: string;
  /** Digests of the saved referrer manifests. */
  readonly referrers: readonly string[];
  /** What was written. */
  readonly stats: Readonly<TransferStats>;
}

/**
 * Save an image (or one platform of it) with its legacy `.sig`/`.att` manifests and its
 * referrers into an OCI layout at `dir` (created; an existing layout there is added to, its
 * `index.json` replaced). Blobs stream to disk through temporary files, checked on the way.
 */
export async function saveImageLayout(
  client: RegistryClient,
  reference: ImageReference,
  dir: string,
  options: SaveOptions = {},
): Promise<SaveResult> {
  const root = await resolvePlatformImage(client, reference, options.platform);
  await prepareDirectory(dir);
  const repo: RepositoryRef = { registry: reference.registry, repository: reference.repository };
  const stats: TransferStats = { manifests: 0, uploaded: 0, mounted: 0, present: 0, bytes: 0 };
  const written = new Map<string, Promise<void>>();

  const saveBlob = (from: RepositoryRef, blob: OciDescriptor): Promise<void> => {
    let done = written.get(blob.digest);
    if (done === undefined) {
      done = (async () => {
        await writeAtomically(blobPath(dir, blob.digest), await client.openBlob(from, blob));
        stats.uploaded++;
        stats.bytes += blob.size;
        options.onProgress?.({
          kind: "blob",
          digest: blob.digest,
          size: blob.size,
          outcome: "uploaded",
        });
      })();
      written.set(blob.digest, done);
    }
    return done;
  };
  const saveManifest = async (
    from: RepositoryRef,
    fetched: FetchedManifest,
  ): Promise<void> => {
    const digest = fetched.descriptor.digest;
    if (written.has(digest)) return await written.get(digest);
    const done = (async () => {
      const content = manifestContent(fetched, client.limits, `manifest "${digest}"`);
      for (const child of content.manifests) {
        await saveManifest(from, await client.getManifest(withDigest(from, child.digest)));
      }
      await mapConcurrently(content.blobs, (blob) => saveBlob(from, blob), 4);
      await writeAtomically(blobPath(dir, digest), fetched.bytes);
      stats.manifests++;
      options.onProgress?.({ kind: "manifest", reference: `${dir}/blobs/${digest}` });
    })();
    written.set(digest, done);
    await done;
  };

  const image = await client.getManifest(withDigest(repo, root.digest));
  await saveManifest(repo, image);
  const entity: DigestReference = { ...repo, digest: root.digest };
  const attachmentRepo = options.targetRepository ?? repo;
  const entries: OciDescriptor[] = [{
    mediaType: image.descriptor.mediaType,
    size: image.descriptor.size,
    digest: image.descriptor.digest,
    annotations: {
      [LAYOUT_KIND_ANNOTATION]: isIndexMediaType(image.descriptor.mediaType)
        ? LAYOUT_KIND.IMAGE_INDEX
        : LAYOUT_KIND.IMAGE,
    },
  }];
  const saved: { signatures?: string; attestations?: string } = {};
  for (
    const [kind, layoutKind] of [["sig", LAYOUT_KIND.SIGS], ["att", LAYOUT_KIND.ATTS]] as const
  ) {
    const found = await getIfExists(client, attachmentReference(entity, kind, options));
    if (found === undefined) continue;
    await saveManifest(attachmentRepo, found);
    entries.push({
      mediaType: found.descriptor.mediaType,
      size: found.descriptor.size,
      digest: found.descriptor.digest,
      annotations: { [LAYOUT_KIND_ANNOTATION]: layoutKind },
    });
    saved[kind === "sig" ? "signatures" : "attestations"] = found.descriptor.digest;
  }
  const { referrers } = await readReferrerManifests(client, entity, options);
  for (const referrer of referrers) {
    const fetched = await client.getManifest(
      withDigest(attachmentRepo, referrer.descriptor.digest),
    );
    await saveManifest(attachmentRepo, fetched);
  }
  await writeAtomically(join(dir, "oci-layout"), utf8(LAYOUT_FILE));
  await writeAtomically(
    join(dir, "index.json"),
    utf8(encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: entries })),
  );
  return {
    directory: dir,
    image: formatImageReference(reference),
    digest: root.digest,
    ...saved,
    referrers: referrers.map((r) => r.descriptor.digest),
    stats,
  };
}
