/**
 * Mode B (cosign-spec.md section 1.7): legacy attachments pushed as OCI 1.1 referrers. A legacy
 * signature image (SimpleSigning layers with mode A's annotations) or an SBOM image, PUT by its
 * own digest with a `subject`, its config media type set to cosign's artifact type
 * (`application/vnd.dev.cosign.artifact.sig.v1+json`, `...sbom.v1+json`); signatures also carry
 * it as `artifactType`. cosign writes them with `--registry-referrers-mode=oci-1-1` (`sign
 * --new-bundle-format=false`, `attach sbom`) and cosign 2.x reads signatures back with `verify
 * --experimental-oci11`.
 *
 * Writing adds the manifest to the referrers fallback index unless the registry keeps the list
 * itself (`_fallback_index.ts`), as go-containerregistry does after such a PUT. Reading is
 * bounded before any blob is fetched: at most `maxReferrers` referrers of the artifact type, and
 * `maxSignatures` layers in all, each of a size within `maxBlobBytes`. Where cosign reads only
 * the last referrer listed, every one is read: each layer is verified on its own anyway.
 *
 * @module
 */

import { sha256Digest, utf8 } from "../util/bytes.ts";
import { CosignError, isCosignError } from "../errors.ts";
import type { RegistryClient } from "../oci/client.ts";
import {
  encodeManifest,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseManifest,
} from "../oci/manifest.ts";
import { formatRepository, type ImageReference } from "../oci/reference.ts";
import {
  type DigestReference,
  encodeSignatureConfig,
  isAbsent,
  type LegacyLayer,
  mapConcurrently,
  type NewLayer,
  readLegacyLayers,
  type TargetOptions,
} from "./signatures.ts";
import { addFallbackReferrers, type FallbackIndexUpdate } from "./_fallback_index.ts";

/** Error codes raised here (besides the client's). */
export type LegacyReferrersErrorCode = "OCI_TOO_MANY_REFERRERS" | "OCI_TOO_MANY_SIGNATURES";

/** cosign's artifact types of mode B referrers (its `ociexperimental.ArtifactType`). */
export const LEGACY_ARTIFACT_TYPE = {
  sig: "application/vnd.dev.cosign.artifact.sig.v1+json",
  sbom: "application/vnd.dev.cosign.artifact.sbom.v1+json",
} as const;

/** What a mode B referrer holds. */
export type LegacyReferrerKind = keyof typeof LEGACY_ARTIFACT_TYPE;

/** The outcome of writing a mode B referrer. */
export interface LegacyReferrerResult {
  /** The referrer manifest, pushed by its digest. */
  readonly manifest: OciDescriptor;
  /** Its digest reference. */
  readonly reference: ImageReference;
  /** What happened to the referrers fallback index. */
  readonly fallbackIndex: FallbackIndexUpdate;
}

/**
 * Push `layer` as a one-layer mode B referrer of `subject` (the HEAD descriptor of `image`): the
 * layer, ggcr's config for it (under the artifact type as media type), then the manifest by its
 * digest; then the fallback index, unless the registry processed the subject (`OCI-Subject`) or
 * answers the referrers API.
 */
export async function writeLegacyReferrer(
  client: RegistryClient,
  image: DigestReference,
  subject: OciDescriptor,
  kind: LegacyReferrerKind,
  layer: NewLayer,
  options: TargetOptions = {},
): Promise<LegacyReferrerResult> {
  if (subject.digest !== image.digest) {
    throw new TypeError(`The subject "${subject.digest}" is not the image "${image.digest}"`);
  }
  const repo = options.targetRepository ?? image;
  const artifactType = LEGACY_ARTIFACT_TYPE[kind];
  const uploaded = await client.uploadBlob(repo, layer.payload);
  const config = encodeSignatureConfig([uploaded.digest]);
  await client.uploadBlob(repo, config);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: artifactType, size: config.length, digest: sha256Digest(config) },
    layers: [{
      mediaType: layer.mediaType,
      size: uploaded.size,
      digest: uploaded.digest,
      ...(Object.keys(layer.annotations).length > 0
        ? { annotations: { ...layer.annotations } }
        : {}),
    }],
    subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    // cosign sets the top-level artifact type on signatures only (WriteSignaturesExperimentalOCI).
    ...(kind === "sig" ? { artifactType } : {}),
  };
  const bytes = utf8(encodeManifest(manifest));
  const reference: ImageReference = {
    registry: repo.registry,
    repository: repo.repository,
    digest: sha256Digest(bytes),
  };
  const pushed = await client.putManifest(reference, bytes, MEDIA_TYPE.OCI_MANIFEST);
  if (pushed.ociSubject === subject.digest) {
    return { manifest: pushed, reference, fallbackIndex: "referrers-api" };
  }
  const fallbackIndex = await addFallbackReferrers(client, repo, subject.digest, [{
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    size: pushed.size,
    digest: pushed.digest,
    artifactType,
  }]);
  return { manifest: pushed, reference, fallbackIndex };
}

/** The mode B signature layers of an image, and the referrers passed over with why. */
export interface LegacyReferrerLayers {
  /** Each layer with the referrer manifest it came from, in listing then layer order. */
  readonly layers: readonly (LegacyLayer & { readonly referrer: string })[];
  /** Referrers passed over (gone, malformed, about another image), with the reason. */
  readonly skipped: readonly { readonly digest: string; readonly reason: string }[];
}

/**
 * Read an image's mode B signature referrers and their layers: list the referrers, keep those of
 * the signature artifact type (at most `maxReferrers`), fetch their manifests, keep those naming
 * this image as `subject` and declaring the type, then fetch the layers (at most
 * `maxSignatures` in all).
 */
export async function readLegacyReferrers(
  client: RegistryClient,
  image: DigestReference,
  options: TargetOptions = {},
): Promise<LegacyReferrerLayers> {
  const repo = options.targetRepository ?? image;
  const name = `${formatRepository(image)}@${image.digest}`;
  const artifactType = LEGACY_ARTIFACT_TYPE.sig;
  const listed = await client.listReferrers(repo, image.digest);
  const wanted = listed.manifests.filter((m) => m.artifactType === artifactType);
  const { maxReferrers, maxSignatures, maxLayers } = client.limits;
  if (wanted.length > maxReferrers) {
    throw new CosignError(
      "OCI_TOO_MANY_REFERRERS",
      `Refusing referrers of "${name}": ${wanted.length} legacy signature referrers exceed the limit of ${maxReferrers}`,
    );
  }
  const skipped: { digest: string; reason: string }[] = [];
  const manifests = await mapConcurrently(wanted, async (entry) => {
    try {
      const fetched = await client.getManifest(
        { registry: repo.registry, repository: repo.repository, digest: entry.digest },
        { accept: [MEDIA_TYPE.OCI_MANIFEST] },
      );
      const manifest = parseManifest(fetched.bytes, {
        maxLayers,
        what: `referrer "${entry.digest}"`,
      });
      const declared = manifest.artifactType ?? manifest.config.mediaType;
      const reason = manifest.subject?.digest !== image.digest
        ? `its subject is not "${image.digest}"`
        : declared !== artifactType
        ? `its artifact type is "${declared}", not "${artifactType}"`
        : undefined;
      if (reason !== undefined) {
        skipped.push({ digest: entry.digest, reason });
        return undefined;
      }
      return { digest: entry.digest, manifest };
    } catch (error) {
      if (isAbsent(error) || isCosignError(error, "OCI_MANIFEST_INVALID")) {
        skipped.push({ digest: entry.digest, reason: (error as Error).message });
        return undefined;
      }
      throw error;
    }
  });
  const kept = manifests.filter((m) => m !== undefined);
  const total = kept.reduce((n, m) => n + m.manifest.layers.length, 0);
  if (total > maxSignatures) {
    throw new CosignError(
      "OCI_TOO_MANY_SIGNATURES",
      `Refusing referrers of "${name}": ${total} legacy signatures exceed the limit of ${maxSignatures}`,
    );
  }
  const layers: (LegacyLayer & { referrer: string })[] = [];
  for (const { digest, manifest } of kept) {
    const read = await readLegacyLayers(
      client,
      repo,
      `${name} referrer ${digest}`,
      manifest.layers,
      "sig",
    );
    layers.push(...read.map((layer) => ({ ...layer, referrer: digest })));
  }
  return { layers, skipped };
}
