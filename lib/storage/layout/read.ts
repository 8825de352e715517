/**
 * `cosign load`: read an image with its signatures from an OCI image layout on disk (OCI image
 * spec "image-layout.md"; cosign-spec.md section 1.9) and push it; `save.ts` writes
 * such layouts, `_files.ts` holds the file checks.
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
 * This is one of the few `lib/` modules that touch the file system: a layout IS files.
 *
 * @module
 */

import { join } from "node:path";
import type { Bytes } from "../../util/bytes.ts";
import { asRecord, asString, parseJson } from "../../util/json.ts";
import { CosignError, errorMessage } from "../../errors.ts";
import type { FetchedManifest } from "../../oci/client.ts";
import {
  isIndexMediaType,
  MEDIA_TYPE,
  type OciDescriptor,
  type OciManifest,
  parseIndex,
  parseManifest,
} from "../../oci/manifest.ts";
import { parseDigest } from "../../oci/reference.ts";
import { manifestContent } from "../copy.ts";
import { referrerArtifactType } from "../referrers.ts";
import {
  checkBytes,
  invalid,
  type LayoutManifest,
  lstatOrUndefined,
  readManifestBlob,
  readSmallFile,
  requireDirectory,
  unsafe,
  verifyBlobFile,
} from "./_files.ts";

export type { LayoutManifest } from "./_files.ts";

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
const SMALL_FILE_LIMIT = 4096;

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
    const read = await readManifestBlob(this.#dir, descriptor, this.#limits.maxManifestBytes);
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
      const read = await readManifestBlob(dir, candidate, limits.maxManifestBytes);
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
    const artifactType = referrerArtifactType(manifest);
    const descriptor: OciDescriptor = {
      mediaType: manifest.mediaType ?? MEDIA_TYPE.OCI_MANIFEST,
      digest,
      size: bytes.length,
      ...(artifactType !== undefined ? { artifactType } : {}),
    };
    await walker.manifest(descriptor);
    found.push(descriptor);
  }
  found.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return found;
}
