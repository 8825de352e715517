/**
 * `cosign copy`: copy an image with what is stored for it (cosign-spec.md sections 1.2, 1.8,
 * 10.2): the image by digest (an index with every platform manifest, or one platform with
 * `platform`), the legacy `.sig`/`.att`/`.sbom` tags of the image and of every manifest an index
 * lists, and their OCI referrers (Sigstore bundles and others), pushed by digest and listed in
 * the destination's fallback index when it has no referrers API.
 *
 * Manifests are copied byte for byte, so every digest (and so every signature) still holds.
 * Blobs are mounted when source and destination share a registry, else streamed through in
 * chunks and checked against their descriptors on the way (`lib/oci/blob_stream.ts`); blobs already at
 * the destination are skipped. Children go before parents, referrers after their subject, and
 * the destination tag last, so a reader never sees a manifest whose content is missing.
 *
 * Unlike cosign, the copied image is not also tagged `sha256-<hex>` at the destination: that tag
 * is the referrers fallback tag (gotcha 6).
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import type { FetchedManifest, RegistryClient, StreamUploadOutcome } from "../oci/client.ts";
import {
  isIndexMediaType,
  type OciDescriptor,
  parseIndex,
  parseManifest,
} from "../oci/manifest.ts";
import {
  formatImageReference,
  formatRepository,
  type ImageReference,
  type RepositoryRef,
  withDigest,
} from "../oci/reference.ts";
import {
  type AttachmentKind,
  attachmentReference,
  type DigestReference,
  getIfExists,
  mapConcurrently,
} from "./signatures.ts";
import { artifactTypeOf, classifyReferrer, readReferrerManifests } from "./tree.ts";
import { addFallbackReferrers } from "./_fallback_index.ts";
import { type PlatformSpec, resolvePlatformImage } from "../oci/platform.ts";

/** Error codes raised here (besides the client's). */
export type OciCopyErrorCode = "OCI_DESTINATION_EXISTS";

/** The descriptors a manifest refers to: child manifests (indexes) and blobs (images). */
export interface ManifestContent {
  /** Child manifests of an index. */
  readonly manifests: readonly OciDescriptor[];
  /** Config and layer blobs of an image manifest. */
  readonly blobs: readonly OciDescriptor[];
}

/** Layers that registries do not store (foreign / non-distributable): never copied. */
export function isForeignLayer(descriptor: OciDescriptor): boolean {
  return /\.foreign\.|nondistributable/.test(descriptor.mediaType);
}

/** What a fetched manifest refers to, parsed within the client's limits. */
export function manifestContent(
  fetched: FetchedManifest,
  limits: { maxLayers: number; maxIndexManifests: number },
  what: string,
): ManifestContent {
  if (isIndexMediaType(fetched.descriptor.mediaType)) {
    const index = parseIndex(fetched.bytes, { maxManifests: limits.maxIndexManifests, what });
    return { manifests: index.manifests, blobs: [] };
  }
  const manifest = parseManifest(fetched.bytes, { maxLayers: limits.maxLayers, what });
  const blobs = [manifest.config, ...manifest.layers].filter((d) => !isForeignLayer(d));
  const unique = new Map(blobs.map((b) => [b.digest, b]));
  return { manifests: [], blobs: [...unique.values()] };
}

/** Progress of a transfer, for `--verbose` or a terminal. */
export type TransferEvent =
  | {
    readonly kind: "blob";
    readonly digest: string;
    readonly size: number;
    readonly outcome: StreamUploadOutcome;
  }
  | { readonly kind: "manifest"; readonly reference: string };

/** Counts of a transfer. */
export interface TransferStats {
  /** Manifests pushed (or found present) at the destination. */
  manifests: number;
  /** Blobs uploaded. */
  uploaded: number;
  /** Blobs mounted from the source repository. */
  mounted: number;
  /** Blobs the destination already had. */
  present: number;
  /** Bytes uploaded. */
  bytes: number;
}

/** Options of `copyImage`. */
export interface CopyOptions {
  /** Copy only these attachments (cosign `--only`); the destination tag is then left alone. */
  readonly only?: readonly AttachmentKind[];
  /** Copy this platform of an index only. */
  readonly platform?: PlatformSpec;
  /** Replace destination tags that point elsewhere (cosign `-f`). */
  readonly overwrite?: boolean;
  /** Told about every blob and manifest moved. */
  readonly onProgress?: (event: TransferEvent) => void;
}

/** The outcome of `copyImage`. */
export interface CopyResult {
  /** The source as given. */
  readonly source: string;
  /** The destination as given. */
  readonly destination: string;
  /** Digest of the image copied (the platform manifest with `platform`). */
  readonly digest: string;
  /** Attachment and destination tags written. */
  readonly tags: readonly string[];
  /** Referrer manifests copied. */
  readonly referrers: readonly string[];
  /** What moved. */
  readonly stats: Readonly<TransferStats>;
}

/** Moves manifests (with everything they refer to) from one repository to another, once each. */
class Mover {
  readonly #client: RegistryClient;
  readonly #src: RepositoryRef;
  readonly #dst: RepositoryRef;
  readonly #onProgress: ((event: TransferEvent) => void) | undefined;
  readonly #manifests = new Map<string, Promise<FetchedManifest>>();
  readonly #blobs = new Map<string, Promise<void>>();
  readonly stats: TransferStats = { manifests: 0, uploaded: 0, mounted: 0, present: 0, bytes: 0 };

  constructor(
    client: RegistryClient,
    src: RepositoryRef,
    dst: RepositoryRef,
    onProgress: ((event: TransferEvent) => void) | undefined,
  ) {
    this.#client = client;
    this.#src = src;
    this.#dst = dst;
    this.#onProgress = onProgress;
  }

  /** Copy the manifest `digest` by digest (children and blobs first); its bytes. */
  manifest(digest: string): Promise<FetchedManifest> {
    let done = this.#manifests.get(digest);
    if (done === undefined) {
      if (this.#manifests.size >= this.#client.limits.maxIndexManifests) {
        return Promise.reject(
          new CosignError(
            "OCI_TOO_MANY_MANIFESTS",
            `Refusing to copy from "${
              formatRepository(this.#src)
            }": more than ${this.#client.limits.maxIndexManifests} manifests`,
          ),
        );
      }
      done = this.#copyManifest(digest);
      this.#manifests.set(digest, done);
    }
    return done;
  }

  async #copyManifest(digest: string): Promise<FetchedManifest> {
    const source = withDigest(this.#src, digest);
    const fetched = await this.#client.getManifest(source);
    const content = manifestContent(
      fetched,
      this.#client.limits,
      `manifest "${formatImageReference(source)}"`,
    );
    await mapConcurrently(content.manifests, (child) => this.manifest(child.digest).then(() => {}));
    await mapConcurrently(content.blobs, (blob) => this.#blob(blob), 4);
    const destination = withDigest(this.#dst, digest);
    await this.#client.putManifest(destination, fetched.bytes, fetched.descriptor.mediaType);
    this.stats.manifests++;
    this.#onProgress?.({ kind: "manifest", reference: formatImageReference(destination) });
    return fetched;
  }

  #blob(descriptor: OciDescriptor): Promise<void> {
    let done = this.#blobs.get(descriptor.digest);
    if (done === undefined) {
      done = this.#copyBlob(descriptor);
      this.#blobs.set(descriptor.digest, done);
    }
    return done;
  }

  async #copyBlob(descriptor: OciDescriptor): Promise<void> {
    const target = { digest: descriptor.digest, size: descriptor.size };
    const outcome = await this.#client.uploadBlobStream(
      this.#dst,
      target,
      () => this.#client.openBlob(this.#src, target),
      { mountFrom: this.#src },
    );
    this.stats[outcome]++;
    if (outcome === "uploaded") this.stats.bytes += descriptor.size;
    this.#onProgress?.({ kind: "blob", digest: descriptor.digest, size: descriptor.size, outcome });
  }

  /** Point `tag` at a copied manifest; an existing tag elsewhere needs `overwrite`. */
  async tag(tag: ImageReference, fetched: FetchedManifest, overwrite: boolean): Promise<void> {
    if (!overwrite) {
      const existing = await this.#client.headManifest(tag);
      if (existing !== undefined && existing.digest !== fetched.descriptor.digest) {
        throw new CosignError(
          "OCI_DESTINATION_EXISTS",
          `Cannot copy to "${
            formatImageReference(tag)
          }": it already exists with digest "${existing.digest}" (pass -f to overwrite)`,
        );
      }
      if (existing !== undefined) return;
    }
    await this.#client.putManifest(tag, fetched.bytes, fetched.descriptor.mediaType);
    this.#onProgress?.({ kind: "manifest", reference: formatImageReference(tag) });
  }
}

/**
 * Copy `source` to `destination` with its signatures, attestations, SBOMs and referrers (see the
 * module doc). A digest destination must name the digest copied; a tag destination that already
 * points elsewhere needs `overwrite`.
 */
export async function copyImage(
  client: RegistryClient,
  source: ImageReference,
  destination: ImageReference,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const root = await resolvePlatformImage(client, source, options.platform);
  const name = formatImageReference(source);
  if (destination.digest !== undefined && destination.digest !== root.digest) {
    throw new CosignError(
      "OCI_DIGEST_MISMATCH",
      `Cannot copy "${name}" to "${
        formatImageReference(destination)
      }": the source is "${root.digest}" (name a tag, or that digest)`,
    );
  }
  const src: RepositoryRef = { registry: source.registry, repository: source.repository };
  const dst: RepositoryRef = { registry: destination.registry, repository: destination.repository };
  const mover = new Mover(client, src, dst, options.onProgress);
  const kinds: readonly AttachmentKind[] = options.only ?? ["sig", "att", "sbom"];
  const overwrite = options.overwrite ?? false;
  const top = await mover.manifest(root.digest);

  // The signed entities: the image, and every manifest an index lists (cosign walk.SignedEntity).
  const entities = [root.digest];
  if (isIndexMediaType(top.descriptor.mediaType)) {
    const seen = new Set(entities);
    for (let i = 0; i < entities.length; i++) {
      const fetched = await mover.manifest(entities[i]!);
      const content = manifestContent(fetched, client.limits, `manifest "${entities[i]}"`);
      for (const child of content.manifests) {
        if (!seen.has(child.digest)) {
          seen.add(child.digest);
          entities.push(child.digest);
        }
      }
    }
  }

  const tags: string[] = [];
  const referrers: string[] = [];
  for (const digest of entities) {
    const entity: DigestReference = { ...src, digest };
    for (const kind of kinds) {
      const found = await getIfExists(client, attachmentReference(entity, kind));
      if (found === undefined) continue;
      const copied = await mover.manifest(found.descriptor.digest);
      const tag = attachmentReference({ ...dst, digest }, kind);
      await mover.tag(tag, copied, overwrite);
      tags.push(formatImageReference(tag));
    }
    const listed = await readReferrerManifests(client, entity);
    const wanted = listed.referrers.filter((r) => {
      const kind = classifyReferrer(r);
      return kind === "other" ? options.only === undefined : kinds.includes(kind);
    });
    const entries: OciDescriptor[] = [];
    for (const referrer of wanted) {
      const copied = await mover.manifest(referrer.descriptor.digest);
      // The manifest's type, not the source listing's (which may say "empty", gotcha 19).
      const artifactType = artifactTypeOf(referrer);
      entries.push({
        mediaType: copied.descriptor.mediaType,
        size: copied.descriptor.size,
        digest: copied.descriptor.digest,
        ...(artifactType !== undefined ? { artifactType } : {}),
      });
      referrers.push(formatImageReference(withDigest(dst, referrer.descriptor.digest)));
    }
    if (entries.length > 0) await addFallbackReferrers(client, dst, digest, entries);
  }

  if (options.only === undefined && destination.digest === undefined) {
    await mover.tag(destination, top, overwrite);
    tags.push(formatImageReference(destination));
  }
  return {
    source: name,
    destination: formatImageReference(destination),
    digest: root.digest,
    tags,
    referrers,
    stats: { ...mover.stats },
  };
}
