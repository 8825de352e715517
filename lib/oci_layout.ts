/**
 * `cosign save` / `cosign load`: an image with its signatures in an OCI image layout on disk
 * (OCI image spec "image-layout.md"; cosign-spec.md section 1.9).
 *
 * The layout cosign writes: `oci-layout`, `index.json` whose entries carry a `kind` annotation
 * (`dev.cosignproject.cosign/image` or `.../imageIndex` for the image, `.../sigs` and `.../atts`
 * for the legacy `.sig` and `.att` manifests), and `blobs/sha256/<hex>` holding every manifest
 * and blob. Sigstore bundle referrers are not in `index.json`: their manifests are plain blobs
 * that a reader finds by scanning `blobs/sha256/` for manifests whose `subject` is the image.
 *
 * A layout is untrusted input (it may come from anywhere), so reading it refuses, before anything
 * is pushed: a missing `oci-layout`; symbolic links for `index.json`, `blobs/`, `blobs/<alg>/` or
 * any blob, and anything in `blobs/<alg>/` that is not a regular file (go-containerregistry
 * #2306, SECURITY.md row 15); digests that are not `alg:hex` (path traversal: a name is only ever
 * built from a validated digest; rows 19 and 34); files larger than their descriptor or the
 * limits; and every blob is re-hashed against its digest. A file swapped between the check and
 * the read is caught by comparing the device and inode of the path and of the open file.
 *
 * This is one of the few `lib/` modules that touch the file system: the layout IS files.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { type Bytes, utf8 } from "./_bytes.ts";
import { asRecord, asString, parseJson } from "./_json.ts";
import { CosignError, errorMessage } from "./errors.ts";
import type { FetchedManifest, RegistryClient } from "./oci.ts";
import {
  encodeIndex,
  isIndexMediaType,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseIndex,
  parseManifest,
} from "./oci_manifest.ts";
import {
  formatImageReference,
  type ImageReference,
  parseDigest,
  type RepositoryRef,
  withDigest,
} from "./oci_reference.ts";
import {
  attachmentReference,
  type DigestReference,
  getIfExists,
  mapConcurrently,
  type TargetOptions,
} from "./oci_signatures.ts";
import {
  manifestContent,
  type PlatformSpec,
  resolvePlatformImage,
  type TransferEvent,
  type TransferStats,
} from "./oci_copy.ts";
import { readReferrerManifests } from "./oci_tree.ts";
import { addFallbackReferrers } from "./_referrers_index.ts";
import { checkedStream } from "./_oci_stream.ts";

/** Error codes raised while reading or writing a layout. */
export type OciLayoutErrorCode =
  | "OCI_LAYOUT_INVALID"
  | "OCI_LAYOUT_UNSAFE"
  | "OCI_LAYOUT_TOO_LARGE"
  | "OCI_DIGEST_MISMATCH"
  | "OCI_SIZE_MISMATCH";

/** The `kind` annotation of `index.json` entries and its values (cosign pkg/oci/layout). */
export const LAYOUT_KIND_ANNOTATION = "kind";

/** The `kind` values cosign writes. */
export const LAYOUT_KIND = {
  IMAGE: "dev.cosignproject.cosign/image",
  IMAGE_INDEX: "dev.cosignproject.cosign/imageIndex",
  SIGS: "dev.cosignproject.cosign/sigs",
  ATTS: "dev.cosignproject.cosign/atts",
} as const;

/** Bounds on what a layout may make us read. */
export interface LayoutLimits {
  /** Largest `index.json`, `oci-layout` or manifest (4 MiB, the registry limit). */
  readonly maxManifestBytes: number;
  /** Largest blob (default 16 GiB; image layers are streamed, never held in memory). */
  readonly maxBlobBytes: number;
  /** Most manifests and blobs one load may use. */
  readonly maxObjects: number;
  /** Most directory entries scanned in `blobs/sha256/` for bundle referrers. */
  readonly maxScannedFiles: number;
  /** Most layers in a manifest (cosign `maxLayers`). */
  readonly maxLayers: number;
  /** Most entries in an index. */
  readonly maxIndexManifests: number;
}

/** The default layout limits. */
export const DEFAULT_LAYOUT_LIMITS: LayoutLimits = {
  maxManifestBytes: 4 * 1024 * 1024,
  maxBlobBytes: 16 * 1024 ** 3,
  maxObjects: 10_000,
  maxScannedFiles: 100_000,
  maxLayers: 1000,
  maxIndexManifests: 1000,
};

const LAYOUT_FILE = JSON.stringify({ imageLayoutVersion: "1.0.0" });
const SMALL_FILE_LIMIT = 4096;

function invalid(dir: string, reason: string, cause?: unknown): CosignError {
  return new CosignError(
    "OCI_LAYOUT_INVALID",
    `Invalid OCI layout "${dir}": ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function unsafe(dir: string, reason: string): CosignError {
  return new CosignError("OCI_LAYOUT_UNSAFE", `Refusing OCI layout "${dir}": ${reason}`);
}

/** The path of a blob: built only from a validated `alg:hex` digest. */
function blobPath(dir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(dir, "blobs", algorithm, hex);
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** A real directory, not a symlink to one. */
async function requireDirectory(dir: string, path: string, what: string): Promise<void> {
  const info = await lstatOrUndefined(path);
  if (info === undefined) throw invalid(dir, `${what} is missing`);
  if (info.isSymlink) throw unsafe(dir, `${what} is a symbolic link`);
  if (!info.isDirectory) throw invalid(dir, `${what} is not a directory`);
}

/**
 * Open a regular file for reading, refusing symlinks, non-files, and a file swapped between the
 * `lstat` and the `open` (device and inode must agree). Returns the open file and its size.
 */
async function openRegularFile(
  dir: string,
  path: string,
  what: string,
): Promise<{ file: Deno.FsFile; size: number }> {
  const info = await lstatOrUndefined(path);
  if (info === undefined) throw invalid(dir, `${what} is missing`);
  if (info.isSymlink) throw unsafe(dir, `${what} is a symbolic link`);
  if (!info.isFile) throw unsafe(dir, `${what} is not a regular file`);
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    if (!opened.isFile || opened.ino !== info.ino || opened.dev !== info.dev) {
      throw unsafe(dir, `${what} changed while it was opened`);
    }
    return { file, size: opened.size };
  } catch (error) {
    file.close();
    throw error;
  }
}

/** Read a small file whole, refusing more than `max` bytes before reading. */
async function readSmallFile(dir: string, path: string, what: string, max: number): Promise<Bytes> {
  const { file, size } = await openRegularFile(dir, path, what);
  try {
    if (size > max) {
      throw new CosignError(
        "OCI_LAYOUT_TOO_LARGE",
        `Refusing OCI layout "${dir}": ${what} is ${size} bytes, over the limit of ${max}`,
      );
    }
    const bytes = new Uint8Array(size);
    let offset = 0;
    while (offset < size) {
      const n = await file.read(bytes.subarray(offset));
      if (n === null) break;
      offset += n;
    }
    if (offset !== size) throw unsafe(dir, `${what} changed while it was read`);
    return bytes;
  } finally {
    file.close();
  }
}

/**
 * A blob file as a stream checked against its descriptor (size while reading, digest at the end),
 * after the same symlink and size checks as every read.
 */
async function openBlobFile(
  dir: string,
  descriptor: OciDescriptor,
  maxBytes: number,
): Promise<ReadableStream<Bytes>> {
  const what = `blob "${descriptor.digest}"`;
  if (descriptor.size > maxBytes) {
    throw new CosignError(
      "OCI_LAYOUT_TOO_LARGE",
      `Refusing OCI layout "${dir}": ${what} is ${descriptor.size} bytes, over the limit of ${maxBytes}`,
    );
  }
  const { file, size } = await openRegularFile(dir, blobPath(dir, descriptor.digest), what);
  if (size !== descriptor.size) {
    file.close();
    throw new CosignError(
      "OCI_SIZE_MISMATCH",
      `Refusing OCI layout "${dir}": ${what} is ${size} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  return checkedStream(file.readable, descriptor, `${what} in "${dir}"`);
}

/** Hash a blob file through (without holding it) and check it against its descriptor. */
async function verifyBlobFile(
  dir: string,
  descriptor: OciDescriptor,
  maxBytes: number,
): Promise<void> {
  const stream = await openBlobFile(dir, descriptor, maxBytes);
  for await (const _ of stream) {
    // checkedStream counts and hashes; nothing to keep.
  }
}

/** A manifest (or index) read from the layout and checked against its digest. */
export interface LayoutManifest {
  /** Its descriptor (media type from the referring descriptor or the body). */
  readonly descriptor: OciDescriptor;
  /** Its bytes. */
  readonly bytes: Bytes;
}

async function readManifestBlob(
  dir: string,
  descriptor: OciDescriptor,
  limits: LayoutLimits,
): Promise<LayoutManifest> {
  const what = `manifest "${descriptor.digest}"`;
  if (descriptor.size > limits.maxManifestBytes) {
    throw new CosignError(
      "OCI_LAYOUT_TOO_LARGE",
      `Refusing OCI layout "${dir}": ${what} is ${descriptor.size} bytes, over the limit of ${limits.maxManifestBytes}`,
    );
  }
  const bytes = await readSmallFile(
    dir,
    blobPath(dir, descriptor.digest),
    what,
    limits.maxManifestBytes,
  );
  checkBytes(dir, what, bytes, descriptor);
  return { descriptor, bytes };
}

function checkBytes(dir: string, what: string, bytes: Bytes, descriptor: OciDescriptor): void {
  if (bytes.length !== descriptor.size) {
    throw new CosignError(
      "OCI_SIZE_MISMATCH",
      `Refusing OCI layout "${dir}": ${what} is ${bytes.length} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  const { algorithm } = parseDigest(descriptor.digest);
  const actual = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
  if (actual !== descriptor.digest) {
    throw new CosignError(
      "OCI_DIGEST_MISMATCH",
      `Refusing OCI layout "${dir}": ${what} has digest "${actual}"`,
    );
  }
}

/** A verified layout: what `load` pushes, every byte already checked. */
export interface ImageLayout {
  /** The layout directory. */
  readonly directory: string;
  /** The image (or index) entry. */
  readonly image: OciDescriptor;
  /** The legacy `.sig` manifest entry, when saved. */
  readonly signatures?: OciDescriptor;
  /** The legacy `.att` manifest entry, when saved. */
  readonly attestations?: OciDescriptor;
  /** Referrer manifests of the image found in `blobs/`. */
  readonly referrers: readonly OciDescriptor[];
  /** Every manifest to push, children before parents. */
  readonly manifests: readonly LayoutManifest[];
  /** Every blob to push. */
  readonly blobs: readonly OciDescriptor[];
}

/** Options of `readImageLayout`. */
export interface ReadLayoutOptions {
  /** Overrides of `DEFAULT_LAYOUT_LIMITS`. */
  readonly limits?: Partial<LayoutLimits>;
}

/** Walks manifests from the layout, verifying each manifest and blob once. */
class LayoutWalker {
  readonly #dir: string;
  readonly #limits: LayoutLimits;
  readonly #manifests = new Map<string, LayoutManifest>();
  readonly #blobs = new Map<string, OciDescriptor>();
  readonly #folders = new Set<string>();
  readonly order: LayoutManifest[] = [];

  constructor(dir: string, limits: LayoutLimits) {
    this.#dir = dir;
    this.#limits = limits;
  }

  get blobs(): OciDescriptor[] {
    return [...this.#blobs.values()];
  }

  #count(): void {
    if (this.#manifests.size + this.#blobs.size >= this.#limits.maxObjects) {
      throw new CosignError(
        "OCI_LAYOUT_TOO_LARGE",
        `Refusing OCI layout "${this.#dir}": more than ${this.#limits.maxObjects} manifests and blobs`,
      );
    }
  }

  /** `blobs/<alg>/` must be a real directory before any blob in it is read. */
  async #folder(digest: string): Promise<void> {
    const { algorithm } = parseDigest(digest);
    if (this.#folders.has(algorithm)) return;
    await requireDirectory(this.#dir, join(this.#dir, "blobs", algorithm), `blobs/${algorithm}/`);
    this.#folders.add(algorithm);
  }

  /** Verify a manifest and everything it refers to; returns it. */
  async manifest(descriptor: OciDescriptor): Promise<LayoutManifest> {
    const known = this.#manifests.get(descriptor.digest);
    if (known !== undefined) return known;
    this.#count();
    await this.#folder(descriptor.digest);
    const read = await readManifestBlob(this.#dir, descriptor, this.#limits);
    const mediaType = isIndexMediaType(descriptor.mediaType) ||
        descriptor.mediaType === MEDIA_TYPE.OCI_MANIFEST ||
        descriptor.mediaType === MEDIA_TYPE.DOCKER_MANIFEST
      ? descriptor.mediaType
      : embeddedMediaType(read.bytes) ?? MEDIA_TYPE.OCI_MANIFEST;
    const manifest = { descriptor: { ...read.descriptor, mediaType }, bytes: read.bytes };
    this.#manifests.set(descriptor.digest, manifest);
    const fetched: FetchedManifest = {
      descriptor: manifest.descriptor,
      bytes: manifest.bytes,
    };
    let content;
    try {
      content = manifestContent(fetched, this.#limits, `manifest "${descriptor.digest}"`);
    } catch (error) {
      throw invalid(this.#dir, errorMessage(error), error);
    }
    for (const child of content.manifests) await this.manifest(child);
    for (const blob of content.blobs) await this.blob(blob);
    this.order.push(manifest);
    return manifest;
  }

  /** Verify a blob (streamed hash). */
  async blob(descriptor: OciDescriptor): Promise<void> {
    if (this.#blobs.has(descriptor.digest) || this.#manifests.has(descriptor.digest)) return;
    this.#count();
    await this.#folder(descriptor.digest);
    await verifyBlobFile(this.#dir, descriptor, this.#limits.maxBlobBytes);
    this.#blobs.set(descriptor.digest, descriptor);
  }

  has(digest: string): boolean {
    return this.#manifests.has(digest) || this.#blobs.has(digest);
  }
}

function embeddedMediaType(bytes: Bytes): string | undefined {
  try {
    const value = parseJson(bytes, "manifest");
    const record = asRecord(value, "manifest");
    return typeof record.mediaType === "string" ? record.mediaType : undefined;
  } catch {
    return undefined;
  }
}

function kindOf(entry: OciDescriptor): string | undefined {
  return entry.annotations?.[LAYOUT_KIND_ANNOTATION];
}

/** Pick the image entry: the one `kind` names, else the only entry of a plain layout. */
async function findImageEntry(
  dir: string,
  entries: readonly OciDescriptor[],
  limits: LayoutLimits,
): Promise<OciDescriptor> {
  const kinds: string[] = [LAYOUT_KIND.IMAGE, LAYOUT_KIND.IMAGE_INDEX];
  let candidates = entries.filter((e) => kinds.includes(kindOf(e) ?? ""));
  if (candidates.length === 0 && entries.length === 1 && kindOf(entries[0]!) === undefined) {
    candidates = [entries[0]!];
  }
  if (candidates.length > 1) {
    // cosign's save also records referrers as "image" entries: the image is the one without a
    // subject.
    const subjectless: OciDescriptor[] = [];
    for (const candidate of candidates) {
      const read = await readManifestBlob(dir, candidate, limits);
      const subject = parseSubject(read.bytes);
      if (subject === undefined) subjectless.push(candidate);
    }
    candidates = subjectless;
  }
  if (candidates.length !== 1) {
    throw invalid(
      dir,
      candidates.length === 0
        ? `index.json names no image (no "kind": "${LAYOUT_KIND.IMAGE}" entry)`
        : `index.json names ${candidates.length} images`,
    );
  }
  return candidates[0]!;
}

function parseSubject(bytes: Bytes): string | undefined {
  try {
    const record = asRecord(parseJson(bytes, "manifest"), "manifest");
    if (record.subject === undefined || record.subject === null) return undefined;
    return asString(asRecord(record.subject, "subject").digest, "subject.digest");
  } catch {
    return undefined;
  }
}

/**
 * Read and verify a layout (see the module doc for everything refused): the image entry, the
 * `.sig`/`.att` entries, the bundle referrers of the image found in `blobs/sha256/`, and every
 * manifest and blob they need, each re-hashed.
 */
export async function readImageLayout(
  dir: string,
  options: ReadLayoutOptions = {},
): Promise<ImageLayout> {
  const limits: LayoutLimits = { ...DEFAULT_LAYOUT_LIMITS, ...options.limits };
  const top = await lstatOrUndefined(dir);
  if (top === undefined || !(top.isDirectory || top.isSymlink)) {
    throw invalid(dir, "no such directory");
  }
  const marker = await readSmallFile(dir, join(dir, "oci-layout"), "oci-layout", SMALL_FILE_LIMIT)
    .catch((error) => {
      if (error instanceof CosignError && error.code === "OCI_LAYOUT_INVALID") {
        throw invalid(dir, "no oci-layout file (not an OCI image layout)");
      }
      throw error;
    });
  try {
    asString(
      asRecord(parseJson(marker, "oci-layout"), "oci-layout").imageLayoutVersion,
      "oci-layout.imageLayoutVersion",
    );
  } catch (error) {
    throw invalid(dir, errorMessage(error), error);
  }
  const indexBytes = await readSmallFile(
    dir,
    join(dir, "index.json"),
    "index.json",
    limits.maxManifestBytes,
  );
  let entries: readonly OciDescriptor[];
  try {
    entries = parseIndex(indexBytes, {
      maxManifests: limits.maxIndexManifests,
      what: "index.json",
    }).manifests;
  } catch (error) {
    throw invalid(dir, errorMessage(error), error);
  }
  await requireDirectory(dir, join(dir, "blobs"), "blobs/");
  await requireDirectory(dir, join(dir, "blobs", "sha256"), "blobs/sha256/");

  const walker = new LayoutWalker(dir, limits);
  const image = await findImageEntry(dir, entries, limits);
  const imageManifest = await walker.manifest(image);
  const byKind = (kind: string) => entries.find((e) => kindOf(e) === kind);
  const signatures = byKind(LAYOUT_KIND.SIGS);
  const attestations = byKind(LAYOUT_KIND.ATTS);
  for (const entry of [signatures, attestations]) {
    if (entry === undefined) continue;
    const read = await walker.manifest(entry);
    if (isIndexMediaType(read.descriptor.mediaType)) {
      throw invalid(dir, `the "${kindOf(entry)}" entry is an index, not a manifest`);
    }
  }

  const referrers = await scanReferrers(dir, image.digest, walker, limits);
  return {
    directory: dir,
    image: imageManifest.descriptor,
    ...(signatures !== undefined ? { signatures } : {}),
    ...(attestations !== undefined ? { attestations } : {}),
    referrers,
    manifests: walker.order,
    blobs: walker.blobs,
  };
}

/**
 * Scan `blobs/sha256/` for manifests whose `subject` is `subject` (how cosign's load finds
 * bundle referrers). Symlinks and non-files are refused; every small file is re-hashed against
 * its name; files too large to be a manifest are skipped.
 */
async function scanReferrers(
  dir: string,
  subject: string,
  walker: LayoutWalker,
  limits: LayoutLimits,
): Promise<OciDescriptor[]> {
  const folder = join(dir, "blobs", "sha256");
  const found: OciDescriptor[] = [];
  let scanned = 0;
  for await (const entry of Deno.readDir(folder)) {
    if (++scanned > limits.maxScannedFiles) {
      throw new CosignError(
        "OCI_LAYOUT_TOO_LARGE",
        `Refusing OCI layout "${dir}": more than ${limits.maxScannedFiles} files in blobs/sha256/`,
      );
    }
    if (entry.isSymlink) throw unsafe(dir, `blobs/sha256/${entry.name} is a symbolic link`);
    if (!entry.isFile) throw unsafe(dir, `blobs/sha256/${entry.name} is not a regular file`);
    if (!/^[0-9a-f]{64}$/.test(entry.name)) continue; // e.g. a temporary file of an aborted save
    const digest = `sha256:${entry.name}`;
    if (walker.has(digest)) continue;
    const path = join(folder, entry.name);
    const info = await Deno.lstat(path);
    if (info.size > limits.maxManifestBytes) continue;
    const bytes = await readSmallFile(dir, path, `blob "${digest}"`, limits.maxManifestBytes);
    checkBytes(dir, `blob "${digest}"`, bytes, {
      mediaType: "application/octet-stream",
      digest,
      size: bytes.length,
    });
    if (bytes[0] !== 0x7b /* { */ || parseSubject(bytes) !== subject) continue;
    let manifest: OciManifest;
    try {
      manifest = parseManifest(bytes, {
        maxLayers: limits.maxLayers,
        what: `referrer "${digest}"`,
      });
    } catch (error) {
      throw invalid(dir, errorMessage(error), error);
    }
    const descriptor: OciDescriptor = {
      mediaType: manifest.mediaType ?? MEDIA_TYPE.OCI_MANIFEST,
      digest,
      size: bytes.length,
      ...(manifest.artifactType ?? manifest.config.mediaType
        ? { artifactType: manifest.artifactType ?? manifest.config.mediaType }
        : {}),
    };
    await walker.manifest(descriptor);
    found.push(descriptor);
  }
  found.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return found;
}

// ------------------------------------------------------------------------------------ load

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

// ------------------------------------------------------------------------------------ save

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

/** Write `bytes` or a stream to `path` atomically (temporary file, then rename). */
async function writeAtomically(path: string, data: Bytes | ReadableStream<Bytes>): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  const file = await Deno.open(temporary, { write: true, createNew: true, mode: 0o644 });
  try {
    if (data instanceof Uint8Array) {
      let offset = 0;
      while (offset < data.length) offset += await file.write(data.subarray(offset));
    } else {
      for await (const chunk of data) {
        let offset = 0;
        while (offset < chunk.length) offset += await file.write(chunk.subarray(offset));
      }
    }
    file.close();
  } catch (error) {
    file.close();
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
  await Deno.rename(temporary, path);
}

async function prepareDirectory(dir: string): Promise<void> {
  const info = await lstatOrUndefined(dir);
  if (info !== undefined) {
    if (info.isSymlink || !info.isDirectory) {
      throw invalid(dir, "exists and is not a directory (name a new or empty directory)");
    }
    let empty = true;
    for await (const _ of Deno.readDir(dir)) {
      empty = false;
      break;
    }
    if (!empty && await lstatOrUndefined(join(dir, "oci-layout")) === undefined) {
      throw invalid(dir, "exists, is not empty and is not an OCI layout (name a new directory)");
    }
  }
  await Deno.mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const part of ["blobs", join("blobs", "sha256")]) {
    await requireDirectory(dir, join(dir, part), `${part}/`);
  }
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
