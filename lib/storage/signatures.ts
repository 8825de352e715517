/**
 * Where cosign keeps signatures and attestations in a registry (cosign-spec.md section 1).
 *
 * - Mode A (legacy): tag `sha256-<hex>.sig|.att|.sbom` on an image manifest with one layer per
 *   signature; metadata in layer annotations; appended by read-modify-write (section 1.5).
 * - Mode B (legacy attachments as OCI 1.1 referrers) lives in `legacy_referrers.ts`.
 * - Mode C (v3 default) lives in `referrers.ts`.
 *
 * Reading is bounded before anything is fetched: at most `maxSignatures` legacy layers, at most
 * descriptor sizes checked against the limits (SECURITY.md rows
 * 4-6, 36). Parsing bundles and checking signatures are other modules' work: this one returns raw
 * bytes with their descriptors, and takes an `isDuplicate` callback for cosign's dedupe.
 *
 * @module
 */

import { type Bytes, sha256Digest, utf8 } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";
import { type FetchedManifest, referrersTagFor, type RegistryClient } from "../oci/client.ts";
import {
  encodeManifest,
  isIndexMediaType,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseIndex,
  parseManifest,
} from "../oci/manifest.ts";
import {
  formatImageReference,
  formatRepository,
  type ImageReference,
  type RepositoryRef,
} from "../oci/reference.ts";

/** Error codes raised here (besides the client's). */
export type OciSignaturesErrorCode = "OCI_TOO_MANY_SIGNATURES";

/** Annotation keys of legacy layers and bundle referrers (cosign-spec.md sections 1.4, 1.8). */
export const ANNOTATION = {
  SIGNATURE: "dev.cosignproject.cosign/signature",
  CERTIFICATE: "dev.sigstore.cosign/certificate",
  CHAIN: "dev.sigstore.cosign/chain",
  BUNDLE: "dev.sigstore.cosign/bundle",
  RFC3161_TIMESTAMP: "dev.sigstore.cosign/rfc3161timestamp",
  PREDICATE_TYPE: "predicateType",
  BUNDLE_CONTENT: "dev.sigstore.bundle.content",
  BUNDLE_PREDICATE_TYPE: "dev.sigstore.bundle.predicateType",
  CREATED: "org.opencontainers.image.created",
} as const;

/** The `{}` config blob of bundle referrers (OCI empty descriptor; cosign-spec.md gotcha 23). */
export const EMPTY_JSON: Bytes = utf8("{}");

/** Legacy attachment kinds and their tag suffixes. */
export type AttachmentKind = "sig" | "att" | "sbom";

/** A reference to an image by digest. */
export type DigestReference = RepositoryRef & { readonly digest: string };

/** Options naming a different repository for attachments (`COSIGN_REPOSITORY`). */
export interface TargetOptions {
  /** Where attachments live instead of the image's own repository (section 1.6). */
  readonly targetRepository?: RepositoryRef;
}

/** `sha256-<hex>.sig` (or `.att`, `.sbom`) for a manifest digest (section 1.2, gotcha 6). */
export function attachmentTag(digest: string, kind: AttachmentKind): string {
  return `${referrersTagFor(digest)}.${kind}`;
}

/** The tag reference of an image's legacy attachment, relocated when a target is given. */
export function attachmentReference(
  image: DigestReference,
  kind: AttachmentKind,
  options: TargetOptions = {},
): ImageReference {
  const repo = options.targetRepository ?? image;
  return {
    registry: repo.registry,
    repository: repo.repository,
    tag: attachmentTag(image.digest, kind),
  };
}

/**
 * `cosign triangulate`: the attachment tag of an image (`registry/repo:sha256-<hex>.sig`), or with
 * `format: "digest"` the image itself by digest, `registry/repo@sha256:<hex>` (cosign's
 * `--type digest`: the image's digest in the attachment repository; nothing but the image is
 * looked up, one HEAD for a tag reference and none for a digest).
 */
export async function triangulate(
  client: RegistryClient,
  image: ImageReference,
  options: TargetOptions & { kind?: AttachmentKind; format?: "tag" | "digest" } = {},
): Promise<string> {
  const digest = await client.resolveDigest(image);
  if (options.format === "digest") {
    return `${formatRepository(options.targetRepository ?? image)}@${digest}`;
  }
  return formatImageReference(
    attachmentReference({ ...image, digest }, options.kind ?? "sig", options),
  );
}

/**
 * What `sign --recursive` signs: the image, and when it is an index, every manifest it lists
 * (nested indexes too, each at most once, bounded by `maxIndexManifests` in total).
 */
export async function collectSigningTargets(
  client: RegistryClient,
  image: ImageReference,
  options: { recursive?: boolean } = {},
): Promise<DigestReference[]> {
  const top = await client.resolve(image);
  const out: DigestReference[] = [{
    registry: image.registry,
    repository: image.repository,
    digest: top.digest,
  }];
  if (!options.recursive || !isIndexMediaType(top.mediaType)) return out;
  const seen = new Set([top.digest]);
  const pending = [top.digest];
  while (pending.length > 0) {
    const digest = pending.shift()!;
    const fetched = await client.getManifest({ ...image, digest });
    if (!isIndexMediaType(fetched.descriptor.mediaType)) continue;
    const index = parseIndex(fetched.bytes, { maxManifests: client.limits.maxIndexManifests });
    for (const child of index.manifests) {
      if (seen.has(child.digest)) continue;
      seen.add(child.digest);
      if (seen.size > client.limits.maxIndexManifests) {
        throw new CosignError(
          "OCI_TOO_MANY_MANIFESTS",
          `Refusing to sign "${
            formatImageReference(image)
          }" recursively: more than ${client.limits.maxIndexManifests} manifests`,
        );
      }
      out.push({ registry: image.registry, repository: image.repository, digest: child.digest });
      if (isIndexMediaType(child.mediaType)) pending.push(child.digest);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ mode A

/** One legacy signature or attestation layer and its payload bytes. */
export interface LegacyLayer {
  /** The layer descriptor from the manifest. */
  readonly descriptor: OciDescriptor;
  /** Its annotations (signature, certificate, bundle...). */
  readonly annotations: Readonly<Record<string, string>>;
  /** The layer blob: a SimpleSigning payload or a DSSE envelope; digest-checked. */
  readonly payload: Bytes;
}

/** The legacy attachments of an image. */
export interface LegacyAttachments {
  /** The tag that was read. */
  readonly reference: ImageReference;
  /** The attachment manifest, absent when the tag does not exist. */
  readonly manifest?: OciDescriptor;
  /** The layers with their payloads, in manifest order. */
  readonly layers: readonly LegacyLayer[];
}

/** True for the errors that mean "not there": unknown manifest or repository. */
export function isAbsent(error: unknown): boolean {
  return error instanceof CosignError &&
    (error.code === "OCI_MANIFEST_UNKNOWN" || error.code === "OCI_NAME_UNKNOWN");
}

/** GET a manifest, or `undefined` when it (or its repository) does not exist. */
export async function getIfExists(
  client: RegistryClient,
  ref: ImageReference,
  accept?: readonly string[],
): Promise<FetchedManifest | undefined> {
  // A missing tag (or a repository never written, e.g. a fresh COSIGN_REPOSITORY) is "none".
  try {
    return await client.getManifest(ref, accept === undefined ? {} : { accept });
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
}

/**
 * Read an image's `.sig` (or `.att`) manifest and its layers: one GET for the manifest, then the
 * layers concurrently. More than `maxLayers` layers or `maxSignatures` signatures is refused
 * before any layer is fetched, as is a layer whose descriptor size passes `maxBlobBytes`.
 */
export async function readLegacyAttachments(
  client: RegistryClient,
  image: DigestReference,
  kind: Exclude<AttachmentKind, "sbom">,
  options: TargetOptions = {},
): Promise<LegacyAttachments> {
  const reference = attachmentReference(image, kind, options);
  const name = formatImageReference(reference);
  const fetched = await getIfExists(client, reference);
  if (fetched === undefined) return { reference, layers: [] };
  const manifest = parseManifest(fetched.bytes, {
    maxLayers: client.limits.maxLayers,
    what: `manifest "${name}"`,
  });
  const repo = options.targetRepository ?? image;
  const layers = await readLegacyLayers(client, repo, name, manifest.layers, kind);
  return { reference, manifest: fetched.descriptor, layers };
}

/**
 * The payloads of a legacy manifest's layers (`name` for messages), concurrently: more than
 * `maxSignatures` layers, or one whose descriptor size passes `maxBlobBytes`, is refused before
 * any is fetched.
 */
export async function readLegacyLayers(
  client: RegistryClient,
  repo: RepositoryRef,
  name: string,
  descriptors: readonly OciDescriptor[],
  kind: Exclude<AttachmentKind, "sbom">,
): Promise<LegacyLayer[]> {
  const { maxSignatures, maxBlobBytes } = client.limits;
  if (descriptors.length > maxSignatures) {
    throw new CosignError(
      "OCI_TOO_MANY_SIGNATURES",
      `Refusing "${name}": ${descriptors.length} ${
        kind === "sig" ? "signatures" : "attestations"
      } exceed the limit of ${maxSignatures}`,
    );
  }
  for (const layer of descriptors) {
    if (layer.size > maxBlobBytes) {
      throw new CosignError(
        "OCI_TOO_LARGE",
        `Refusing "${name}": layer "${layer.digest}" is ${layer.size} bytes, over the limit of ${maxBlobBytes}`,
      );
    }
  }
  return await mapConcurrently(descriptors, async (descriptor) => ({
    descriptor,
    annotations: descriptor.annotations ?? {},
    payload: await client.getBlob(repo, descriptor.digest, { size: descriptor.size }),
  }));
}

/** A layer to append: payload bytes, media type and annotations. */
export interface NewLayer {
  /** The layer blob: payload or envelope bytes. */
  readonly payload: Bytes;
  /** The layer media type (SimpleSigning or DSSE envelope). */
  readonly mediaType: string;
  /** The layer annotations (`dev.cosignproject.cosign/signature` and others). */
  readonly annotations: Readonly<Record<string, string>>;
}

/** An existing layer offered to the dedupe callback (same digest, media type, annotations). */
export interface ExistingLayer {
  /** The existing layer's descriptor. */
  readonly descriptor: OciDescriptor;
  /** Its annotations. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** Options of `appendLegacyAttachment`. */
export interface AppendOptions extends TargetOptions {
  /** `COSIGN_DOCKER_MEDIA_TYPES`: Docker media types for a new manifest. */
  readonly dockerMediaTypes?: boolean;
  /**
   * Whether an existing layer already holds this signature: called only for layers with the
   * same digest, media type and (signature aside) identical annotations; cosign answers by
   * verifying the existing signature with the new signer's key (section 1.5).
   */
  readonly isDuplicate?: (existing: ExistingLayer) => Promise<boolean>;
  /**
   * cosign's `attest --replace` (section 1.5): the existing layers (payloads read, bounded as
   * `readLegacyAttachments` bounds them) for which this answers true are dropped, and the new
   * layer goes first. A throw stops the append before anything is written.
   */
  readonly replaces?: (existing: LegacyLayer) => boolean;
}

/** The outcome of an append. */
export interface AppendResult {
  /** The attachment tag written to. */
  readonly reference: ImageReference;
  /** The manifest now at the tag. */
  readonly manifest: OciDescriptor;
  /** False when dedupe found the signature already there (nothing was pushed). */
  readonly appended: boolean;
}

/**
 * The config blob ggcr writes for an image built by appending uncompressed layers to
 * `empty.Image`: one `history` entry and one `diff_id` (= the layer digest) per layer, zero
 * times (cosign-spec.md section 1.3, gotcha 22).
 */
export function encodeSignatureConfig(layerDigests: readonly string[]): Bytes {
  const zero = "0001-01-01T00:00:00Z";
  const history = layerDigests.map(() => `{"created":"${zero}"}`).join(",");
  const diffIds = layerDigests.map((d) => JSON.stringify(d)).join(",");
  return utf8(
    `{"architecture":"","created":"${zero}","history":[${history}],"os":"",` +
      `"rootfs":{"type":"layers","diff_ids":[${diffIds}]},"config":{}}`,
  );
}

function sameAnnotationsBesideSignature(
  wanted: Readonly<Record<string, string>>,
  existing: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(wanted).every(([key, value]) =>
    key === ANNOTATION.SIGNATURE || (Object.hasOwn(existing, key) && existing[key] === value)
  );
}

/**
 * Append a layer to an image's `.sig`/`.att`/`.sbom` manifest: GET it (404 starts from an empty
 * image), dedupe signatures as cosign does, upload the layer and a consistent config, PUT the
 * manifest back to the tag. The read-modify-write is racy, as cosign's is.
 */
export async function appendLegacyAttachment(
  client: RegistryClient,
  image: DigestReference,
  kind: AttachmentKind,
  layer: NewLayer,
  options: AppendOptions = {},
): Promise<AppendResult> {
  const reference = attachmentReference(image, kind, options);
  const name = formatImageReference(reference);
  const repo = options.targetRepository ?? image;
  const fetched = await getIfExists(client, reference);
  const existing = fetched === undefined ? undefined : parseManifest(fetched.bytes, {
    maxLayers: client.limits.maxLayers,
    what: `manifest "${name}"`,
  });
  const digest = sha256Digest(layer.payload);
  const signature = layer.annotations[ANNOTATION.SIGNATURE];
  if (
    existing !== undefined && options.isDuplicate !== undefined && signature !== undefined &&
    signature !== ""
  ) {
    for (const old of existing.layers) {
      const annotations = old.annotations ?? {};
      if (
        old.digest === digest && old.mediaType === layer.mediaType &&
        sameAnnotationsBesideSignature(layer.annotations, annotations) &&
        await options.isDuplicate({ descriptor: old, annotations })
      ) {
        return { reference, manifest: fetched!.descriptor, appended: false };
      }
    }
  }
  let previous = existing?.layers ?? [];
  if (options.replaces !== undefined && previous.length > 0) {
    const replaces = options.replaces;
    const read = await readLegacyLayers(
      client,
      repo,
      name,
      previous,
      kind === "sig" ? "sig" : "att",
    );
    const kept = read.filter((old) => !replaces(old)).map((old) => old.descriptor);
    previous = kept;
  }
  if (previous.length + 1 > client.limits.maxLayers) {
    throw new CosignError(
      "OCI_TOO_MANY_LAYERS",
      `Cannot append to "${name}": it already has ${previous.length} layers (limit ${client.limits.maxLayers})`,
    );
  }
  await client.uploadBlob(repo, layer.payload);
  const added: OciDescriptor = {
    mediaType: layer.mediaType,
    size: layer.payload.length,
    digest,
    ...(Object.keys(layer.annotations).length > 0 ? { annotations: { ...layer.annotations } } : {}),
  };
  // A replace rebuilds the image with the new layer first, as cosign's ReplaceOp does.
  const layers: OciDescriptor[] = options.replaces !== undefined
    ? [added, ...previous]
    : [...previous, added];
  const config = encodeSignatureConfig(layers.map((l) => l.digest));
  await client.uploadBlob(repo, config);
  const docker = existing === undefined
    ? options.dockerMediaTypes === true
    : (existing.mediaType ?? fetched!.descriptor.mediaType) === MEDIA_TYPE.DOCKER_MANIFEST;
  const mediaType = docker ? MEDIA_TYPE.DOCKER_MANIFEST : MEDIA_TYPE.OCI_MANIFEST;
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: existing?.config.mediaType ??
        (docker ? MEDIA_TYPE.DOCKER_CONFIG : MEDIA_TYPE.OCI_CONFIG),
      size: config.length,
      digest: sha256Digest(config),
    },
    layers,
    ...(existing?.annotations !== undefined ? { annotations: existing.annotations } : {}),
  };
  const pushed = await client.putManifest(reference, utf8(encodeManifest(manifest)), mediaType);
  return { reference, manifest: pushed, appended: true };
}

/** Map with at most `limit` calls in flight, keeping order; the first failure rejects. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  fn: (item: T) => Promise<R>,
  limit = 8,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
