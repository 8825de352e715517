/**
 * The OCI registry client (OCI distribution spec v1.1, docker registry API v2): manifests, blobs,
 * tags and referrers, each checked against its digest and read against a byte budget
 * (SECURITY.md rows 4-6, 36-38). Authentication, redirects, the plain-HTTP policy and retries
 * live in `_transport.ts`; manifest requests in `manifests.ts`; uploads in
 * `uploads.ts`.
 *
 * ```ts ignore
 * // Not run: it reaches ghcr.io with the docker config's credentials.
 * const client = new RegistryClient({ credentials: createCredentialResolver() });
 * const descriptor = await client.resolve(parseImageReference("ghcr.io/org/app:1.0"));
 * ```
 *
 * @module
 */

import type { Bytes } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";
import {
  formatImageReference,
  formatRepository,
  type ImageReference,
  parseDigest,
  type RepositoryRef,
} from "./reference.ts";
import {
  DEFAULT_MAX_LAYERS,
  DEFAULT_MAX_MANIFESTS,
  MEDIA_TYPE,
  type OciDescriptor,
  parseIndex,
} from "./manifest.ts";
import { discardBody, readBounded } from "./_http.ts";
import { listReferrersWith, listTagsWith, type ReferrersList } from "./listings.ts";
import { ReferrersSupport } from "./referrers_support.ts";
import {
  type BlobTarget,
  openBlobWith,
  type StreamUploadOptions,
  type StreamUploadOutcome,
  uploadBlobStreamWith,
} from "./blob_stream.ts";
import { repositoryScope } from "./_auth.ts";
import { type Call, RegistryTransport, type TransportOptions } from "./_transport.ts";
import {
  deleteManifestWith,
  digestMismatch,
  type FetchedManifest,
  getManifestWith,
  headManifestWith,
  type PushedManifest,
  putManifestWith,
  resolveManifestWith,
} from "./manifests.ts";
import {
  headBlobWith,
  mountBlobWith,
  uploadBlobWith,
  type UploadedBlob,
  type UploadOptions,
} from "./uploads.ts";

export type { OciDescriptor } from "./manifest.ts";
export type { FetchedManifest, PushedManifest } from "./manifests.ts";
export type { RegistryCredentials } from "./docker_config.ts";
export type { RegistryExchange, RetryPolicy, TransportOptions } from "./_transport.ts";
export type { UploadedBlob, UploadOptions } from "./uploads.ts";
export type { ReferrersList } from "./listings.ts";
export type { BlobTarget, StreamUploadOptions, StreamUploadOutcome } from "./blob_stream.ts";

/** Error codes raised by the registry client. */
export type OciErrorCode =
  | "OCI_MANIFEST_UNKNOWN"
  | "OCI_BLOB_UNKNOWN"
  | "OCI_NAME_UNKNOWN"
  | "OCI_UNAUTHORIZED"
  | "OCI_DENIED"
  | "OCI_AUTH_FAILED"
  | "OCI_DIGEST_MISMATCH"
  | "OCI_SIZE_MISMATCH"
  | "OCI_TOO_LARGE"
  | "OCI_TOO_MANY_MANIFESTS"
  | "OCI_INSECURE_REGISTRY"
  | "OCI_REDIRECT_REFUSED"
  | "OCI_NETWORK_ERROR"
  | "OCI_REGISTRY_ERROR"
  | "OCI_MANIFEST_INVALID"
  | "OCI_MANIFEST_UNSUPPORTED";

/** Hard limits on what a registry can make us read (SECURITY.md rows 4-6, 36). */
export interface RegistryLimits {
  /**
   * Largest manifest or index read or written: 4 MiB, the most distribution (the reference
   * registry, `maxManifestBodySize = 4 << 20`) accepts on PUT; ggcr reads up to 100 MiB.
   */
  readonly maxManifestBytes: number;
  /** Largest blob read: 128 MiB, cosign's `COSIGN_MAX_ATTACHMENT_SIZE` default. */
  readonly maxBlobBytes: number;
  /** Most layers in a manifest: cosign `maxLayers` = 1000. */
  readonly maxLayers: number;
  /** Most signatures or attestations read for one image: cosign `maxAllowedSigsOrAtts` = 100. */
  readonly maxSignatures: number;
  /** Most matching referrers considered for one image. */
  readonly maxReferrers: number;
  /** Most entries read from any index (referrers indexes before filtering included). */
  readonly maxIndexManifests: number;
  /** Most pages followed through `Link` headers (tags, referrers). */
  readonly maxPages: number;
  /** Largest Sigstore bundle layer read: 10 MiB (cosign c255b039). */
  readonly maxBundleBytes: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: RegistryLimits = {
  maxManifestBytes: 4 * 1024 * 1024,
  maxBlobBytes: 128 * 1024 * 1024,
  maxLayers: DEFAULT_MAX_LAYERS,
  maxSignatures: 100,
  maxReferrers: 100,
  maxIndexManifests: DEFAULT_MAX_MANIFESTS,
  maxPages: 100,
  maxBundleBytes: 10 * 1024 * 1024,
};

/** Options of `RegistryClient`. */
export interface RegistryClientOptions extends TransportOptions {
  /** Overrides of `DEFAULT_LIMITS`. */
  readonly limits?: Partial<RegistryLimits>;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 8 MiB). */
  readonly chunkSize?: number;
  /**
   * What registries said about the referrers API, so it is asked once per registry (default:
   * this client's own memory; the CLI passes one backed by the user cache directory).
   */
  readonly referrersSupport?: ReferrersSupport;
}

/** The fallback tag of the OCI referrers API: `sha256-<hex>` (distribution spec v1.1). */
export function referrersTagFor(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}`;
}

/**
 * The registry client. One instance caches credentials and tokens: share it.
 *
 * @example Resolve, read and list on the embedded stack's registry
 * ```ts
 * import assert from "node:assert/strict";
 * import { generateKeyPair, parseImageReference, RegistryClient, sign } from "@dcosign/dcosign";
 * import { startStack } from "@dcosign/dcosign/server";
 * import { pushExampleImage } from "./example_image.ts";
 *
 * await using stack = await startStack();
 * const reference = await pushExampleImage(stack.registryHost, "docs/client");
 * const image = parseImageReference(reference);
 * const client = new RegistryClient(); // anonymous; plain HTTP only for localhost and `insecure`
 *
 * const descriptor = await client.resolve(image);
 * const manifest = await client.getManifest({ ...image, digest: descriptor.digest });
 * assert.equal(JSON.parse(new TextDecoder().decode(manifest.bytes)).schemaVersion, 2);
 * assert.deepEqual(await client.listTags(image), ["latest"]);
 *
 * // A bundle signature is stored as a referrer of the image.
 * await sign(reference, { signer: await generateKeyPair(), registry: client });
 * const referrers = await client.listReferrers(image, descriptor.digest);
 * assert.equal(referrers.manifests.length, 1);
 * ```
 *
 * @example Credentials for a private registry
 * ```ts ignore
 * // Not run: it reaches a private registry with a token from the environment.
 * import { parseImageReference, RegistryClient } from "@dcosign/dcosign";
 *
 * const client = new RegistryClient({
 *   // Asked per registry (and repository); undefined means anonymous.
 *   credentials: (registry) =>
 *     Promise.resolve(
 *       registry === "ghcr.io"
 *         ? { username: "token", password: Deno.env.get("GITHUB_TOKEN") ?? "" }
 *         : undefined,
 *     ),
 * });
 * await client.resolve(parseImageReference("ghcr.io/org/private-app:1.0"));
 * ```
 */
export class RegistryClient {
  /** The limits in force. */
  readonly limits: RegistryLimits;
  readonly #transport: RegistryTransport;
  readonly #chunkSize: number;
  readonly #referrersSupport: ReferrersSupport;

  /** A client; see `RegistryClientOptions` for fetch, credentials, limits and retries. */
  constructor(options: RegistryClientOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.#transport = new RegistryTransport(options);
    this.#chunkSize = options.chunkSize ?? 8 * 1024 * 1024;
    this.#referrersSupport = options.referrersSupport ?? new ReferrersSupport();
    if (!(this.#chunkSize > 0)) throw new RangeError("chunkSize must be positive");
  }

  #exchange(call: Call): Promise<Response> {
    return this.#transport.exchange(call);
  }

  #fail(response: Response, action: string, notFound: OciErrorCode, repo: RepositoryRef) {
    return this.#transport.fail(response, action, notFound, repo);
  }

  // ---------------------------------------------------------------------------- manifests

  /** The digest of `ref`: no request for a digest reference, one GET for a tag. */
  async resolveDigest(ref: ImageReference): Promise<string> {
    return ref.digest ?? (await this.resolve(ref)).digest;
  }

  /**
   * The descriptor (mediaType, digest, size) of `ref`, or `OCI_MANIFEST_UNKNOWN`. A tag is
   * resolved from the manifest bytes (one GET, hashed here), never from a HEAD's claim.
   */
  async resolve(ref: ImageReference): Promise<OciDescriptor> {
    return await resolveManifestWith(this.#transport, this.limits, ref);
  }

  /**
   * HEAD a manifest: its descriptor, or `undefined` on 404. Falls back to a GET when the answer
   * lacks `Docker-Content-Digest`, `Content-Type` or `Content-Length`. A digest reference must
   * come back with that digest (SECURITY.md row 38).
   */
  async headManifest(ref: ImageReference): Promise<OciDescriptor | undefined> {
    return await headManifestWith(this.#transport, this.limits, ref);
  }

  /**
   * GET a manifest with the OCI + Docker Accept list. The bytes are read against
   * `maxManifestBytes` and hashed; a digest reference must match them (`OCI_DIGEST_MISMATCH`).
   */
  async getManifest(
    ref: ImageReference,
    options: { accept?: readonly string[] } = {},
  ): Promise<FetchedManifest> {
    return await getManifestWith(this.#transport, this.limits, ref, options);
  }

  /** PUT a manifest by tag or digest; returns its descriptor. */
  async putManifest(ref: ImageReference, bytes: Bytes, mediaType: string): Promise<PushedManifest> {
    return await putManifestWith(this.#transport, this.limits, ref, bytes, mediaType);
  }

  /** DELETE a manifest (by digest on most registries). */
  async deleteManifest(ref: ImageReference): Promise<void> {
    await deleteManifestWith(this.#transport, ref);
  }

  // ---------------------------------------------------------------------------- blobs

  /** HEAD a blob: its size, or `undefined` when the registry does not have it. */
  headBlob(repo: RepositoryRef, digest: string): Promise<number | undefined> {
    return headBlobWith(this.#transport, repo, digest);
  }

  /**
   * GET a blob, checked against `digest` and (when given) the descriptor `size`. The limit
   * (`maxBytes`, default `maxBlobBytes`) applies to the descriptor size before any request, to
   * `Content-Length`, and while streaming.
   */
  async getBlob(
    repo: RepositoryRef,
    digest: string,
    options: { size?: number; maxBytes?: number } = {},
  ): Promise<Bytes> {
    const { algorithm } = parseDigest(digest);
    const name = blobName(repo, digest);
    const limit = options.maxBytes ?? this.limits.maxBlobBytes;
    if (options.size !== undefined && options.size > limit) {
      throw new CosignError(
        "OCI_TOO_LARGE",
        `Refusing blob "${name}": its descriptor says ${options.size} bytes, over the limit of ${limit}`,
      );
    }
    const response = await this.#exchange({
      method: "GET",
      repo,
      target: `/v2/${repo.repository}/blobs/${digest}`,
      scopes: [repositoryScope(repo.repository, false)],
    });
    if (response.status !== 200) {
      throw await this.#fail(response, `get blob "${name}"`, "OCI_BLOB_UNKNOWN", repo);
    }
    const read = await readBounded(
      response,
      Math.min(limit, options.size ?? limit),
      `blob "${name}"`,
      algorithm,
    );
    if (read.digest !== digest) throw digestMismatch(name, read.digest!);
    if (options.size !== undefined && read.bytes.length !== options.size) {
      throw new CosignError(
        "OCI_SIZE_MISMATCH",
        `Refusing blob "${name}": ${read.bytes.length} bytes, descriptor says ${options.size}`,
      );
    }
    return read.bytes;
  }

  /**
   * Upload a blob unless the registry has it: HEAD, then (optionally) a cross-repository mount,
   * then POST + PUT, or POST + PATCH chunks + PUT for blobs over `chunkSize`.
   */
  uploadBlob(repo: RepositoryRef, data: Bytes, options: UploadOptions = {}): Promise<UploadedBlob> {
    return uploadBlobWith(this.#transport, repo, data, this.#chunkSize, options);
  }

  /**
   * Mount a blob from another repository of the same registry: true when mounted (201); false
   * when the registry declined (the upload session it opened is cancelled).
   */
  mountBlob(repo: RepositoryRef, digest: string, from: RepositoryRef): Promise<boolean> {
    return mountBlobWith(this.#transport, repo, digest, from);
  }

  /**
   * GET a blob as a stream checked against `target` while it is read (length as it streams,
   * digest at its end), for image transfers that must not hold a layer in memory.
   */
  openBlob(repo: RepositoryRef, target: BlobTarget): Promise<ReadableStream<Bytes>> {
    return openBlobWith(this.#transport, repo, target);
  }

  /**
   * Upload a blob from a stream unless the registry has it (or can mount it from
   * `options.mountFrom`): `open()` the source only then, PATCH chunks of `chunkSize`, then PUT
   * with the digest; the source is checked against `target` before the closing PUT.
   */
  uploadBlobStream(
    repo: RepositoryRef,
    target: BlobTarget,
    open: () => Promise<ReadableStream<Uint8Array>>,
    options: StreamUploadOptions = {},
  ): Promise<StreamUploadOutcome> {
    return uploadBlobStreamWith(this.#transport, repo, target, open, this.#chunkSize, options);
  }

  /**
   * `GET /v2/` with the credentials for `registry` (the challenge flow included): resolves when
   * the registry accepts them, `OCI_UNAUTHORIZED` when it refuses them.
   */
  async ping(registry: string): Promise<void> {
    const repo: RepositoryRef = { registry, repository: "" };
    const response = await this.#exchange({ method: "GET", repo, target: "/v2/", scopes: [] });
    if (response.status !== 200) {
      throw await this.#fail(response, `log in to "${registry}"`, "OCI_REGISTRY_ERROR", repo);
    }
    await discardBody(response);
  }

  // ---------------------------------------------------------------------------- listings

  /** Every tag of a repository, following `Link` pages (at most `maxPages`). */
  listTags(repo: RepositoryRef): Promise<string[]> {
    return listTagsWith(this.#transport, this.limits, repo);
  }

  /**
   * The referrers of `digest` (OCI distribution spec v1.1): the referrers API when it answers
   * 200 with an image index, else the fallback tag `sha256-<hex>` (404 there means none);
   * `artifactType` is filtered client-side either way (cosign-spec.md section 1.8, gotcha 19).
   */
  listReferrers(
    repo: RepositoryRef,
    digest: string,
    options: { artifactType?: string } = {},
  ): Promise<ReferrersList> {
    return listReferrersWith(this.#transport, this.limits, repo, digest, {
      ...options,
      support: this.#referrersSupport,
      fallback: () => this.#fallbackReferrers(repo, digest),
    });
  }

  async #fallbackReferrers(repo: RepositoryRef, digest: string): Promise<readonly OciDescriptor[]> {
    const ref: ImageReference = {
      registry: repo.registry,
      repository: repo.repository,
      tag: referrersTagFor(digest),
    };
    let fetched: FetchedManifest;
    try {
      fetched = await this.getManifest(ref, { accept: [MEDIA_TYPE.OCI_INDEX] });
    } catch (error) {
      if (
        error instanceof CosignError &&
        (error.code === "OCI_MANIFEST_UNKNOWN" || error.code === "OCI_NAME_UNKNOWN")
      ) {
        return [];
      }
      throw error;
    }
    return parseIndex(fetched.bytes, {
      maxManifests: this.limits.maxIndexManifests,
      what: `referrers index "${formatImageReference(ref)}"`,
    }).manifests;
  }
}

function blobName(repo: RepositoryRef, digest: string): string {
  return `${formatRepository(repo)}@${digest}`;
}
