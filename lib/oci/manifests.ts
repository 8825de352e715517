/**
 * Manifest requests of the registry client (OCI distribution spec v1.1 "Pulling manifests",
 * "Pushing manifests", "Deleting manifests"): HEAD with a GET fallback, GET read against the
 * manifest byte budget and hashed, PUT and DELETE. A digest reference must come back with that
 * digest (SECURITY.md row 38). A tag resolves to the digest of the bytes the registry serves
 * (`resolveManifestWith`: a GET hashed here), never to what a HEAD claims, so a registry whose
 * HEAD names a signed image while its GET serves another cannot move `sign` or `verify` onto
 * the wrong digest. A body that passes the byte budget or its Content-Length, ends before it,
 * or is not a JSON object is an error, never the digest of what was read; a Docker schema 1
 * manifest is refused by name. `lib/oci/client.ts` exposes them as `RegistryClient` methods.
 *
 * @module
 */

import { type Bytes, type HashName, sha256Digest } from "../util/bytes.ts";
import { isRecord, parseJson } from "../util/json.ts";
import { CosignError } from "../errors.ts";
import { formatImageReference, type ImageReference, parseDigest } from "./reference.ts";
import { MANIFEST_ACCEPT, type OciDescriptor } from "./manifest.ts";
import { discardBody, mediaTypeOf, readBounded } from "./_http.ts";
import { repositoryScope } from "./_auth.ts";
import type { RegistryTransport } from "./_transport.ts";

/** The limit manifest requests apply (see `RegistryLimits.maxManifestBytes`). */
export interface ManifestLimits {
  /** Largest manifest or index read or written, in bytes. */
  readonly maxManifestBytes: number;
}

/** A manifest's bytes and its descriptor (digest computed from the bytes). */
export interface FetchedManifest {
  /** Descriptor computed from the bytes read. */
  readonly descriptor: OciDescriptor;
  /** The manifest bytes, digest-checked. */
  readonly bytes: Bytes;
}

/** A pushed manifest's descriptor and the registry's `OCI-Subject` answer, if any. */
export interface PushedManifest extends OciDescriptor {
  /** Set when the registry processed the manifest's `subject` (distribution spec v1.1). */
  readonly ociSubject?: string;
}

/**
 * HEAD a manifest: its descriptor, or `undefined` on 404. Falls back to a GET when the answer
 * lacks `Docker-Content-Digest`, `Content-Type` or `Content-Length`. A digest reference must
 * come back with that digest (SECURITY.md row 38); for a tag the digest is the registry's
 * claim, good for "is it there" and "has it changed", never for acting on (use
 * `resolveManifestWith`).
 */
export async function headManifestWith(
  transport: RegistryTransport,
  limits: ManifestLimits,
  ref: ImageReference,
): Promise<OciDescriptor | undefined> {
  const name = formatImageReference(ref);
  const response = await transport.exchange({
    method: "HEAD",
    repo: ref,
    target: manifestPath(ref),
    scopes: [repositoryScope(ref.repository, false)],
    headers: { accept: MANIFEST_ACCEPT.join(",") },
  });
  if (response.status === 404) {
    await discardBody(response);
    return undefined;
  }
  if (response.status !== 200) {
    throw await transport.fail(response, `resolve "${name}"`, "OCI_MANIFEST_UNKNOWN", ref);
  }
  await discardBody(response);
  const digest = response.headers.get("docker-content-digest")?.trim() ?? "";
  const mediaType = mediaTypeOf(response.headers.get("content-type"));
  const size = Number(response.headers.get("content-length") ?? "NaN");
  if (
    !/^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/.test(digest) || mediaType === undefined ||
    !Number.isSafeInteger(size)
  ) {
    try {
      return (await getManifestWith(transport, limits, ref)).descriptor;
    } catch (error) {
      if (error instanceof CosignError && error.code === "OCI_MANIFEST_UNKNOWN") return undefined;
      throw error;
    }
  }
  if (ref.digest !== undefined && digest !== ref.digest) throw digestMismatch(name, digest);
  if (SCHEMA1_MEDIA_TYPES.has(mediaType)) {
    throw new CosignError(
      "OCI_MANIFEST_UNSUPPORTED",
      `Refusing manifest "${name}": Docker schema 1 manifests are not supported`,
    );
  }
  if (size > limits.maxManifestBytes) {
    throw new CosignError(
      "OCI_TOO_LARGE",
      `Refusing manifest "${name}": ${size} bytes exceed the limit of ${limits.maxManifestBytes}`,
    );
  }
  return { mediaType, digest, size };
}

/**
 * The descriptor a reference resolves to: for a digest, a HEAD (its answer must carry that
 * digest); for a tag, a GET whose bytes are hashed here, since a tag's HEAD is only the
 * registry's claim (`OCI_MANIFEST_UNKNOWN` when absent).
 */
export async function resolveManifestWith(
  transport: RegistryTransport,
  limits: ManifestLimits,
  ref: ImageReference,
): Promise<OciDescriptor> {
  if (ref.digest === undefined) return (await getManifestWith(transport, limits, ref)).descriptor;
  const descriptor = await headManifestWith(transport, limits, ref);
  if (descriptor === undefined) {
    throw new CosignError(
      "OCI_MANIFEST_UNKNOWN",
      `Cannot resolve "${formatImageReference(ref)}": manifest unknown`,
    );
  }
  return descriptor;
}

/**
 * GET a manifest with the OCI + Docker Accept list. The bytes are read against
 * `maxManifestBytes` and hashed; a digest reference must match them (`OCI_DIGEST_MISMATCH`).
 */
export async function getManifestWith(
  transport: RegistryTransport,
  limits: ManifestLimits,
  ref: ImageReference,
  options: { accept?: readonly string[] } = {},
): Promise<FetchedManifest> {
  const name = formatImageReference(ref);
  const response = await transport.exchange({
    method: "GET",
    repo: ref,
    target: manifestPath(ref),
    scopes: [repositoryScope(ref.repository, false)],
    headers: { accept: (options.accept ?? MANIFEST_ACCEPT).join(",") },
  });
  if (response.status !== 200) {
    throw await transport.fail(response, `get manifest "${name}"`, "OCI_MANIFEST_UNKNOWN", ref);
  }
  const algorithm: HashName = ref.digest === undefined
    ? "sha256"
    : parseDigest(ref.digest).algorithm;
  const { bytes, digest } = await readBounded(
    response,
    limits.maxManifestBytes,
    `manifest "${name}"`,
    algorithm,
  );
  if (ref.digest !== undefined && digest !== ref.digest) throw digestMismatch(name, digest!);
  const body = manifestBody(bytes, name);
  const mediaType =
    (typeof body.mediaType === "string" && body.mediaType !== "" ? body.mediaType : undefined) ??
      mediaTypeOf(response.headers.get("content-type"));
  if (mediaType === undefined) {
    throw new CosignError(
      "OCI_MANIFEST_INVALID",
      `Invalid manifest "${name}": no media type in the body or Content-Type`,
    );
  }
  if (body.schemaVersion === 1 || SCHEMA1_MEDIA_TYPES.has(mediaType)) {
    throw new CosignError(
      "OCI_MANIFEST_UNSUPPORTED",
      `Refusing manifest "${name}": Docker schema 1 manifests are not supported (push the image again with schema 2 or OCI)`,
    );
  }
  return { descriptor: { mediaType, digest: digest!, size: bytes.length }, bytes };
}

/**
 * Docker image manifest schema 1 (distribution's deprecated format, signed JWS over a
 * re-serialization): never requested, refused when served anyway.
 */
const SCHEMA1_MEDIA_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

/**
 * The manifest body as a JSON object. Anything else (a truncated body among them) is
 * `OCI_MANIFEST_INVALID`: its digest names nothing a registry could serve again.
 */
function manifestBody(bytes: Bytes, name: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJson(bytes, "manifest");
  } catch (cause) {
    throw new CosignError(
      "OCI_MANIFEST_INVALID",
      `Invalid manifest "${name}": ${(cause as Error).message}`,
      { cause },
    );
  }
  if (!isRecord(parsed)) {
    throw new CosignError("OCI_MANIFEST_INVALID", `Invalid manifest "${name}": not a JSON object`);
  }
  return parsed;
}

/** PUT a manifest by tag or digest; returns its descriptor. */
export async function putManifestWith(
  transport: RegistryTransport,
  limits: ManifestLimits,
  ref: ImageReference,
  bytes: Bytes,
  mediaType: string,
): Promise<PushedManifest> {
  const name = formatImageReference(ref);
  if (bytes.length > limits.maxManifestBytes) {
    throw new CosignError(
      "OCI_TOO_LARGE",
      `Refusing to push manifest "${name}": ${bytes.length} bytes exceed the limit of ${limits.maxManifestBytes}`,
    );
  }
  const digest = sha256Digest(bytes);
  if (ref.digest !== undefined && ref.digest !== digest) throw digestMismatch(name, digest);
  const response = await transport.exchange({
    method: "PUT",
    repo: ref,
    target: manifestPath(ref),
    scopes: [repositoryScope(ref.repository, true)],
    headers: { "content-type": mediaType },
    body: bytes,
  });
  if (response.status !== 201 && response.status !== 200 && response.status !== 202) {
    throw await transport.fail(response, `push manifest "${name}"`, "OCI_NAME_UNKNOWN", ref);
  }
  await discardBody(response);
  const ociSubject = response.headers.get("oci-subject")?.trim();
  return { mediaType, digest, size: bytes.length, ...(ociSubject ? { ociSubject } : {}) };
}

/** DELETE a manifest (by digest on most registries). */
export async function deleteManifestWith(
  transport: RegistryTransport,
  ref: ImageReference,
): Promise<void> {
  const name = formatImageReference(ref);
  const response = await transport.exchange({
    method: "DELETE",
    repo: ref,
    target: manifestPath(ref),
    scopes: [repositoryScope(ref.repository, true)],
  });
  if (response.status !== 202 && response.status !== 200) {
    throw await transport.fail(response, `delete manifest "${name}"`, "OCI_MANIFEST_UNKNOWN", ref);
  }
  await discardBody(response);
}

function manifestPath(ref: ImageReference): string {
  const id = ref.digest ?? ref.tag;
  if (id === undefined) throw new TypeError("An image reference needs a tag or a digest");
  return `/v2/${ref.repository}/manifests/${id}`;
}

/** The error for content whose digest is not the one asked for (manifests and blobs). */
export function digestMismatch(name: string, actual: string): CosignError {
  return new CosignError(
    "OCI_DIGEST_MISMATCH",
    `Refusing "${name}": the registry returned content with digest "${actual}"`,
  );
}
