/**
 * Mode C storage (cosign v3 default, cosign-spec.md section 1.8): one Sigstore bundle per OCI
 * referrer manifest, pushed by digest with a `subject`, found through the referrers API or its
 * fallback index at tag `sha256-<hex>` (gotchas 19 and 23).
 *
 * Reading is bounded before anything is fetched (at most `maxReferrers` matching referrers, bundle
 * layers of at most `maxBundleBytes`), and each referrer must name this image as its `subject`
 * (a registry could list another image's referrers). Bundles come back as raw bytes: parsing them
 * is `lib/bundle/model.ts`'s work.
 *
 * @module
 */

import { type Bytes, sha256Digest, utf8 } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";
import { type FetchedManifest, referrersTagFor, type RegistryClient } from "../oci/client.ts";
import {
  encodeIndex,
  encodeManifest,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseManifest,
} from "../oci/manifest.ts";
import {
  formatRepository,
  type ImageReference,
  parseDigest,
  type RepositoryRef,
} from "../oci/reference.ts";
import {
  ANNOTATION,
  type DigestReference,
  EMPTY_JSON,
  isAbsent,
  mapConcurrently,
  type TargetOptions,
} from "./signatures.ts";

/** Error codes raised here (besides the client's). */
export type OciReferrersErrorCode = "OCI_TOO_MANY_REFERRERS";

/** The prefix every Sigstore bundle media type starts with. */
export const BUNDLE_MEDIA_TYPE_PREFIX = "application/vnd.dev.sigstore.bundle";

/**
 * The artifact type a referrer manifest really has (OCI image spec 1.1 "artifactType"; the
 * referrers API reports the same): its `artifactType`, else its config media type unless that is
 * the empty descriptor's, else the non-standard `config.artifactType` cosign writes (gotcha 23),
 * else the media type of its only layer.
 */
export function referrerArtifactType(manifest: OciManifest): string | undefined {
  if (manifest.artifactType !== undefined) return manifest.artifactType;
  if (manifest.config.mediaType !== MEDIA_TYPE.OCI_EMPTY) return manifest.config.mediaType;
  if (manifest.config.artifactType !== undefined) return manifest.config.artifactType;
  return manifest.layers.length === 1 ? manifest.layers[0]!.mediaType : undefined;
}

/**
 * Whether a referrers-list entry has to be fetched to know its type: a fallback-index entry may
 * say nothing (no `artifactType`) or the wrong thing. go-containerregistry before v0.21.6 (under
 * cosign v2.5 to v3.0) writes the config media type, `application/vnd.oci.empty.v1+json`, for
 * every bundle referrer, with no annotations; only the manifest knows.
 */
export function isUntypedReferrerEntry(entry: OciDescriptor): boolean {
  return entry.artifactType === undefined || entry.artifactType === MEDIA_TYPE.OCI_EMPTY;
}

/** Options of `writeBundleReferrer`. */
export interface BundleReferrerOptions extends TargetOptions {
  /** `dev.sigstore.bundle.predicateType`: `https://sigstore.dev/cosign/sign/v1` for `sign`. */
  readonly predicateType: string;
  /** `dev.sigstore.bundle.content` (default `dsse-envelope`). */
  readonly content?: "dsse-envelope" | "message-signature";
  /** Bundle media type, also the artifact type (default v0.3). */
  readonly bundleMediaType?: string;
  /** `org.opencontainers.image.created` (default now). */
  readonly created?: Date;
}

/** The outcome of writing a bundle referrer. */
export interface BundleReferrerResult {
  /** The referrer manifest, pushed by digest. */
  readonly manifest: OciDescriptor;
  /** The referrer manifest's digest reference. */
  readonly reference: ImageReference;
  /** True when the fallback index at `sha256-<hex>` was written. */
  readonly fallbackIndex: boolean;
}

/**
 * Store a Sigstore bundle as an OCI referrer of `subject` (cosign-spec.md section 1.8): upload
 * `{}` and the bundle, PUT the manifest by digest, then unless the registry processed the
 * subject (`OCI-Subject` header, or a referrers API that answers with an index) add it to the
 * fallback index at tag `sha256-<hex>` (read or create, append, sort by digest, PUT).
 */
export async function writeBundleReferrer(
  client: RegistryClient,
  image: RepositoryRef,
  subject: OciDescriptor,
  bundle: Bytes,
  options: BundleReferrerOptions,
): Promise<BundleReferrerResult> {
  const repo = options.targetRepository ?? image;
  const artifactType = options.bundleMediaType ?? MEDIA_TYPE.SIGSTORE_BUNDLE_V03;
  await client.uploadBlob(repo, EMPTY_JSON);
  const layer = await client.uploadBlob(repo, bundle);
  const created = (options.created ?? new Date()).toISOString().replace(/\.\d{3}Z$/, "Z");
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: {
      mediaType: MEDIA_TYPE.OCI_EMPTY,
      size: EMPTY_JSON.length,
      digest: sha256Digest(EMPTY_JSON),
      artifactType,
    },
    layers: [{ mediaType: artifactType, size: layer.size, digest: layer.digest }],
    annotations: {
      [ANNOTATION.BUNDLE_CONTENT]: options.content ?? "dsse-envelope",
      [ANNOTATION.BUNDLE_PREDICATE_TYPE]: options.predicateType,
      [ANNOTATION.CREATED]: created,
    },
    subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    artifactType,
  };
  const bytes = utf8(encodeManifest(manifest));
  const reference: ImageReference = {
    registry: repo.registry,
    repository: repo.repository,
    digest: sha256Digest(bytes),
  };
  const pushed = await client.putManifest(reference, bytes, MEDIA_TYPE.OCI_MANIFEST);
  if (pushed.ociSubject === subject.digest) {
    return { manifest: pushed, reference, fallbackIndex: false };
  }
  const current = await client.listReferrers(repo, subject.digest);
  if (current.source === "referrers-api") {
    return { manifest: pushed, reference, fallbackIndex: false };
  }
  const entry: OciDescriptor = {
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    size: pushed.size,
    digest: pushed.digest,
    artifactType,
  };
  const entries = current.manifests.some((m) => m.digest === pushed.digest)
    ? [...current.manifests]
    : [...current.manifests, entry];
  entries.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const index = utf8(
    encodeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPE.OCI_INDEX, manifests: entries }),
  );
  await client.putManifest(
    { registry: repo.registry, repository: repo.repository, tag: referrersTagFor(subject.digest) },
    index,
    MEDIA_TYPE.OCI_INDEX,
  );
  return { manifest: pushed, reference, fallbackIndex: true };
}

/** A bundle found as a referrer, with the descriptors it came from. */
export interface BundleReferrer {
  /** The referrer manifest (digest-checked against the referrers list). */
  readonly manifest: OciDescriptor;
  /** Its single layer. */
  readonly layer: OciDescriptor;
  /** The referrer's artifact type, read from its manifest (`referrerArtifactType`). */
  readonly artifactType?: string;
  /** The referrer manifest's annotations (`dev.sigstore.bundle.*`, created). */
  readonly annotations: Readonly<Record<string, string>>;
  /** The raw bundle bytes (digest-checked), to be parsed by the bundle module. */
  readonly bundle: Bytes;
}

/** The bundles of an image and the referrers passed over, with why. */
export interface BundleReferrers {
  /** Bundles kept, in listing order. */
  readonly bundles: readonly BundleReferrer[];
  /** Referrers passed over, with the reason (for `--verbose`). */
  readonly skipped: readonly { readonly digest: string; readonly reason: string }[];
  /** Whether the referrers API or the fallback tag answered. */
  readonly source: "referrers-api" | "fallback-tag";
}

/**
 * Read an image's Sigstore bundle referrers: list them (API or fallback tag), keep those whose
 * listed `artifactType` is a bundle type (or equals `artifactType`) or says nothing (see
 * `isUntypedReferrerEntry`), refuse more than `maxReferrers`, fetch the manifests then the bundle
 * layers concurrently. The manifest decides: a referrer is passed over unless its own artifact
 * type (`referrerArtifactType`) is a bundle type (or `artifactType`), it has exactly one layer of
 * a bundle media type, names this image as its `subject`, and its layer fits `maxBundleBytes`.
 */
export async function readBundleReferrers(
  client: RegistryClient,
  image: DigestReference,
  options: TargetOptions & { artifactType?: string } = {},
): Promise<BundleReferrers> {
  const repo = options.targetRepository ?? image;
  const name = `${formatRepository(image)}@${image.digest}`;
  parseDigest(image.digest);
  const listed = await client.listReferrers(repo, image.digest);
  const isWanted = (type: string | undefined) =>
    options.artifactType === undefined
      ? type?.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) === true
      : type === options.artifactType;
  const wanted = listed.manifests.filter((m) =>
    isUntypedReferrerEntry(m) || isWanted(m.artifactType)
  );
  if (wanted.length > client.limits.maxReferrers) {
    throw new CosignError(
      "OCI_TOO_MANY_REFERRERS",
      `Refusing referrers of "${name}": ${wanted.length} bundles exceed the limit of ${client.limits.maxReferrers}`,
    );
  }
  const skipped: { digest: string; reason: string }[] = [];
  const candidates = await mapConcurrently(wanted, async (entry) => {
    const ref: ImageReference = {
      registry: repo.registry,
      repository: repo.repository,
      digest: entry.digest,
    };
    let manifest: OciManifest;
    let fetched: FetchedManifest;
    try {
      fetched = await client.getManifest(ref, { accept: [MEDIA_TYPE.OCI_MANIFEST] });
      manifest = parseManifest(fetched.bytes, {
        maxLayers: client.limits.maxLayers,
        what: `referrer "${entry.digest}"`,
      });
    } catch (error) {
      if (
        isAbsent(error) || (error instanceof CosignError && error.code === "OCI_MANIFEST_INVALID")
      ) {
        skipped.push({ digest: entry.digest, reason: (error as Error).message });
        return undefined;
      }
      throw error;
    }
    const layer = manifest.layers[0];
    const type = referrerArtifactType(manifest);
    const reason = !isWanted(type)
      ? `its artifact type "${type ?? "(none)"}" is not ${
        options.artifactType === undefined ? "a Sigstore bundle" : `"${options.artifactType}"`
      }`
      : manifest.layers.length !== 1 || layer === undefined
      ? `has ${manifest.layers.length} layers, not one`
      : !layer.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)
      ? `layer media type "${layer.mediaType}" is not a Sigstore bundle`
      : manifest.subject?.digest !== image.digest
      ? `its subject is not "${image.digest}"`
      : layer.size > client.limits.maxBundleBytes
      ? `bundle layer of ${layer.size} bytes exceeds the limit of ${client.limits.maxBundleBytes}`
      : undefined;
    if (reason !== undefined || layer === undefined) {
      skipped.push({ digest: entry.digest, reason: reason ?? "no layer" });
      return undefined;
    }
    return { manifest, layer, artifactType: type, descriptor: fetched.descriptor };
  });
  const kept = candidates.filter((c) => c !== undefined);
  const bundles = await mapConcurrently(
    kept,
    async ({ manifest, layer, artifactType, descriptor }): Promise<BundleReferrer> => {
      const bundle = await client.getBlob(repo, layer.digest, {
        size: layer.size,
        maxBytes: client.limits.maxBundleBytes,
      });
      return {
        manifest: descriptor,
        layer,
        ...(artifactType !== undefined ? { artifactType } : {}),
        annotations: manifest.annotations ?? {},
        bundle,
      };
    },
  );
  return { bundles, skipped, source: listed.source };
}
