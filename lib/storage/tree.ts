/**
 * `cosign tree`: the supply-chain artifacts stored for an image, from manifests only (no
 * signature or SBOM blob is fetched): the legacy `sha256-<hex>.sig|.att|.sbom` tags with their
 * layers (cosign-spec.md sections 1.2-1.4, 1.9), and the OCI referrers of the image with their
 * artifact types (sections 1.7-1.8), Sigstore bundles labelled by their predicate type.
 *
 * Unlike cosign, which lists referrers only with `--registry-referrers-mode=oci-1-1`, referrers are
 * always listed: v3 stores signatures there by default. Counts are bounded before anything is
 * fetched (SECURITY.md rule 4): at most `maxReferrers` referrers and `maxLayers` layers each.
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import type { RegistryClient } from "../oci/client.ts";
import {
  isIndexMediaType,
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
  withDigest,
} from "../oci/reference.ts";
import { BUNDLE_MEDIA_TYPE_PREFIX, referrerArtifactType } from "./referrers.ts";
import {
  ANNOTATION,
  type AttachmentKind,
  attachmentReference,
  type DigestReference,
  getIfExists,
  mapConcurrently,
  type TargetOptions,
} from "./signatures.ts";
import { COSIGN_SIGN_PREDICATE_TYPE } from "../payload/statement.ts";

/** Error codes raised here (besides the client's). */
export type OciTreeErrorCode = "OCI_TOO_MANY_REFERRERS";

/** The artifact types of legacy attachments pushed as OCI 1.1 referrers (section 1.7). */
export const COSIGN_ARTIFACT_TYPE = {
  sig: "application/vnd.dev.cosign.artifact.sig.v1+json",
  att: "application/vnd.dev.cosign.artifact.att.v1+json",
  sbom: "application/vnd.dev.cosign.artifact.sbom.v1+json",
} as const;

/** What a referrer holds: a signature, an attestation, an SBOM, or something else. */
export type ReferrerKind = AttachmentKind | "other";

/** A layer as listed (from the manifest; the blob is not fetched). */
export interface TreeLayer {
  /** Layer digest. */
  readonly digest: string;
  /** Layer media type. */
  readonly mediaType: string;
  /** Layer size in bytes. */
  readonly size: number;
  /** `predicateType` of legacy attestation layers. */
  readonly predicateType?: string;
}

/** A legacy attachment tag that exists. */
export interface TreeAttachment {
  /** `sig`, `att` or `sbom`. */
  readonly kind: AttachmentKind;
  /** The tag reference, `registry/repo:sha256-<hex>.sig`. */
  readonly reference: string;
  /** Digest of the manifest at the tag. */
  readonly digest: string;
  /** Its layers: one per signature or attestation, one SBOM. */
  readonly layers: readonly TreeLayer[];
}

/** A referrer of the image. */
export interface TreeReferrer {
  /** What it holds. */
  readonly kind: ReferrerKind;
  /** `registry/repo@sha256:...` of the referrer manifest. */
  readonly reference: string;
  /** Digest of the referrer manifest. */
  readonly digest: string;
  /** Its media type. */
  readonly mediaType: string;
  /** Its artifact type, read from its manifest (`referrerArtifactType`). */
  readonly artifactType?: string;
  /** `dev.sigstore.bundle.predicateType` of a bundle referrer. */
  readonly predicateType?: string;
  /** Its layers (an index referrer lists none). */
  readonly layers: readonly TreeLayer[];
}

/** Everything stored for an image. */
export interface SupplyChainTree {
  /** The reference as given. */
  readonly reference: string;
  /** The image digest the artifacts belong to. */
  readonly digest: string;
  /** The image's media type (manifest or index). */
  readonly mediaType: string;
  /** Existing legacy attachment tags, in the order sig, att, sbom. */
  readonly attachments: readonly TreeAttachment[];
  /** Referrers, in listing order. */
  readonly referrers: readonly TreeReferrer[];
  /** Whether the referrers API or the fallback tag answered (`not-read`: not asked). */
  readonly referrersSource: "referrers-api" | "fallback-tag" | "not-read";
  /** Referrers passed over (not naming this image as subject, unreadable), with why. */
  readonly skipped: readonly { readonly digest: string; readonly reason: string }[];
}

/** A fetched referrer manifest with what `classifyReferrer` needs. */
export interface ReferrerManifest {
  /** The referrers-list entry. */
  readonly descriptor: OciDescriptor;
  /** The parsed manifest (undefined for an index referrer). */
  readonly manifest?: OciManifest;
}

/**
 * What a referrer holds, decided by its manifest (`referrerArtifactType`; for an index referrer,
 * the index's `artifactType`), never by the listed entry: a Sigstore bundle is a signature when
 * its predicate type is cosign's `sign` (or absent), else an attestation; cosign's legacy OCI 1.1
 * artifact types map to their kinds; anything else is `other`.
 */
export function classifyReferrer(referrer: ReferrerManifest): ReferrerKind {
  const m = referrer.manifest;
  const type = artifactTypeOf(referrer);
  if (type?.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) === true) {
    const predicate = m?.annotations?.[ANNOTATION.BUNDLE_PREDICATE_TYPE];
    return predicate === undefined || predicate === COSIGN_SIGN_PREDICATE_TYPE ? "sig" : "att";
  }
  for (const kind of ["sig", "att", "sbom"] as const) {
    if (type === COSIGN_ARTIFACT_TYPE[kind]) return kind;
  }
  return "other";
}

/** A referrer's artifact type: its manifest's, else (an index referrer) the index's own. */
export function artifactTypeOf(referrer: ReferrerManifest): string | undefined {
  return referrer.manifest !== undefined
    ? referrerArtifactType(referrer.manifest)
    : referrer.descriptor.artifactType;
}

function treeLayers(manifest: OciManifest | undefined): TreeLayer[] {
  return (manifest?.layers ?? []).map((layer) => {
    const predicateType = layer.annotations?.[ANNOTATION.PREDICATE_TYPE];
    return {
      digest: layer.digest,
      mediaType: layer.mediaType,
      size: layer.size,
      ...(predicateType !== undefined ? { predicateType } : {}),
    };
  });
}

/** The referrers of an image with their manifests, bounded by `maxReferrers`. */
export async function readReferrerManifests(
  client: RegistryClient,
  image: DigestReference,
  options: TargetOptions = {},
): Promise<{
  referrers: ReferrerManifest[];
  skipped: { digest: string; reason: string }[];
  source: "referrers-api" | "fallback-tag";
}> {
  const repo = options.targetRepository ?? image;
  const listed = await client.listReferrers(repo, image.digest);
  if (listed.manifests.length > client.limits.maxReferrers) {
    throw new CosignError(
      "OCI_TOO_MANY_REFERRERS",
      `Refusing referrers of "${
        formatRepository(image)
      }@${image.digest}": ${listed.manifests.length} exceed the limit of ${client.limits.maxReferrers}`,
    );
  }
  const skipped: { digest: string; reason: string }[] = [];
  const fetched = await mapConcurrently(listed.manifests, async (descriptor) => {
    const ref = withDigest(repo, descriptor.digest);
    const got = await getIfExists(client, ref);
    if (got === undefined) {
      skipped.push({ digest: descriptor.digest, reason: "listed but not found" });
      return undefined;
    }
    const what = `referrer "${formatImageReference(ref)}"`;
    try {
      if (isIndexMediaType(got.descriptor.mediaType)) {
        const index = parseIndex(got.bytes, {
          maxManifests: client.limits.maxIndexManifests,
          what,
        });
        if (index.subject?.digest !== image.digest) {
          skipped.push({
            digest: descriptor.digest,
            reason: `its subject is not "${image.digest}"`,
          });
          return undefined;
        }
        // The index's own artifact type, not the listing's (gotcha 19).
        const { artifactType: _listed, ...rest } = descriptor;
        return {
          descriptor: {
            ...rest,
            mediaType: got.descriptor.mediaType,
            ...(index.artifactType !== undefined ? { artifactType: index.artifactType } : {}),
          },
        };
      }
      const manifest = parseManifest(got.bytes, { maxLayers: client.limits.maxLayers, what });
      if (manifest.subject?.digest !== image.digest) {
        skipped.push({ digest: descriptor.digest, reason: `its subject is not "${image.digest}"` });
        return undefined;
      }
      return { descriptor: { ...descriptor, mediaType: got.descriptor.mediaType }, manifest };
    } catch (error) {
      if (error instanceof CosignError && error.code === "OCI_MANIFEST_INVALID") {
        skipped.push({ digest: descriptor.digest, reason: error.message });
        return undefined;
      }
      throw error;
    }
  });
  return {
    referrers: fetched.filter((r): r is ReferrerManifest => r !== undefined),
    skipped,
    source: listed.source,
  };
}

/**
 * List what is stored for an image: its legacy attachment tags (manifests only) and its
 * referrers with their kinds and artifact types (unless `referrers: false`, cosign's tree
 * without `--experimental-oci11` and `--registry-referrers-mode=oci-1-1`). A tag costs one HEAD.
 */
export async function listSupplyChain(
  client: RegistryClient,
  reference: ImageReference,
  options: TargetOptions & { readonly referrers?: boolean } = {},
): Promise<SupplyChainTree> {
  const top = await client.resolve(reference);
  const image: DigestReference = { ...asRepository(reference), digest: top.digest };
  const [attachments, referrers] = await Promise.all([
    mapConcurrently(["sig", "att", "sbom"] as const, async (kind): Promise<
      TreeAttachment | undefined
    > => {
      const ref = attachmentReference(image, kind, options);
      const fetched = await getIfExists(client, ref);
      if (fetched === undefined) return undefined;
      const manifest = parseManifest(fetched.bytes, {
        maxLayers: client.limits.maxLayers,
        what: `manifest "${formatImageReference(ref)}"`,
      });
      return {
        kind,
        reference: formatImageReference(ref),
        digest: fetched.descriptor.digest,
        layers: treeLayers(manifest),
      };
    }),
    options.referrers === false
      ? { referrers: [], skipped: [], source: "not-read" as const }
      : readReferrerManifests(client, image, options),
  ]);
  const repo = options.targetRepository ?? image;
  return {
    reference: formatImageReference(reference),
    digest: top.digest,
    mediaType: top.mediaType,
    attachments: attachments.filter((a): a is TreeAttachment => a !== undefined),
    referrers: referrers.referrers.map((r): TreeReferrer => {
      const artifactType = artifactTypeOf(r);
      const predicateType = r.manifest?.annotations?.[ANNOTATION.BUNDLE_PREDICATE_TYPE];
      return {
        kind: classifyReferrer(r),
        reference: formatImageReference(withDigest(repo, r.descriptor.digest)),
        digest: r.descriptor.digest,
        mediaType: r.descriptor.mediaType,
        ...(artifactType !== undefined ? { artifactType } : {}),
        ...(predicateType !== undefined ? { predicateType } : {}),
        layers: treeLayers(r.manifest),
      };
    }),
    referrersSource: referrers.source,
    skipped: referrers.skipped,
  };
}

function asRepository(ref: RepositoryRef): RepositoryRef {
  return { registry: ref.registry, repository: ref.repository };
}
