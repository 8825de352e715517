/**
 * OCI and Docker manifests, indexes and descriptors: media types, bounded parsing of untrusted
 * registry JSON, and encoding byte-compatible with go-containerregistry (Go `encoding/json`:
 * struct fields in declaration order, map keys sorted, `<`, `>`, `&` escaped).
 *
 * Counts are checked before anything is walked or fetched (SECURITY.md rule 4, rows 4-6): a
 * manifest with more than `maxLayers` layers is refused as a whole, never truncated.
 *
 * @module
 */

import { preview } from "../util/bytes.ts";
import {
  asArray,
  asOptionalString,
  asRecord,
  asString,
  isRecord,
  type JsonRecord,
  parseJson,
} from "../util/json.ts";
import { CosignError } from "../errors.ts";
import { isValidDigest } from "./reference.ts";

/** Error codes raised while reading manifests. */
export type OciManifestErrorCode =
  | "OCI_MANIFEST_INVALID"
  | "OCI_TOO_MANY_LAYERS"
  | "OCI_TOO_MANY_MANIFESTS";

/** Media types of the OCI image spec, Docker schema 2, cosign and Sigstore. */
export const MEDIA_TYPE = {
  OCI_MANIFEST: "application/vnd.oci.image.manifest.v1+json",
  OCI_INDEX: "application/vnd.oci.image.index.v1+json",
  OCI_CONFIG: "application/vnd.oci.image.config.v1+json",
  /** The empty `{}` blob (OCI image spec "Guidance for an Empty Descriptor"). */
  OCI_EMPTY: "application/vnd.oci.empty.v1+json",
  DOCKER_MANIFEST: "application/vnd.docker.distribution.manifest.v2+json",
  DOCKER_MANIFEST_LIST: "application/vnd.docker.distribution.manifest.list.v2+json",
  DOCKER_CONFIG: "application/vnd.docker.container.image.v1+json",
  /** Legacy signature layers (cosign-spec.md section 2). */
  SIMPLE_SIGNING: "application/vnd.dev.cosign.simplesigning.v1+json",
  /** Legacy attestation layers (cosign-spec.md section 1.3). */
  DSSE_ENVELOPE: "application/vnd.dsse.envelope.v1+json",
  /** Protobuf Sigstore bundle v0.3 (cosign-spec.md section 1.8). */
  SIGSTORE_BUNDLE_V03: "application/vnd.dev.sigstore.bundle.v0.3+json",
} as const;

/** The Accept list for manifest requests: OCI and Docker manifests and indexes (no schema 1). */
export const MANIFEST_ACCEPT: readonly string[] = [
  MEDIA_TYPE.OCI_MANIFEST,
  MEDIA_TYPE.OCI_INDEX,
  MEDIA_TYPE.DOCKER_MANIFEST,
  MEDIA_TYPE.DOCKER_MANIFEST_LIST,
];

/** The platform of an index entry. */
export interface OciPlatform {
  /** CPU architecture (`amd64`, `arm64`, ...). */
  readonly architecture: string;
  /** Operating system (`linux`, ...). */
  readonly os: string;
  /** CPU variant (`v8`, ...). */
  readonly variant?: string;
}

/** A content descriptor (OCI image spec, descriptor.md). */
export interface OciDescriptor {
  /** Media type of the referenced content. */
  readonly mediaType: string;
  /** Digest `alg:hex` of the content. */
  readonly digest: string;
  /** Size in bytes of the content. */
  readonly size: number;
  /** Artifact type (referrers: the manifest's `artifactType` or config media type). */
  readonly artifactType?: string;
  /** Arbitrary string metadata. */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Platform of an index entry. */
  readonly platform?: OciPlatform;
}

/** An image manifest (OCI or Docker schema 2). */
export interface OciManifest {
  /** Always 2. */
  readonly schemaVersion: 2;
  /** The manifest media type, when the document names it. */
  readonly mediaType?: string;
  /** The artifact type (OCI 1.1 artifacts). */
  readonly artifactType?: string;
  /** The config blob. */
  readonly config: OciDescriptor;
  /** The layers, in order. */
  readonly layers: readonly OciDescriptor[];
  /** The manifest this one refers to (OCI 1.1 referrers). */
  readonly subject?: OciDescriptor;
  /** Arbitrary string metadata. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An image index (OCI) or manifest list (Docker). */
export interface OciIndex {
  /** Always 2. */
  readonly schemaVersion: 2;
  /** The index media type, when the document names it. */
  readonly mediaType?: string;
  /** The artifact type (OCI 1.1 artifacts). */
  readonly artifactType?: string;
  /** The manifests listed. */
  readonly manifests: readonly OciDescriptor[];
  /** The manifest this one refers to (OCI 1.1 referrers). */
  readonly subject?: OciDescriptor;
  /** Arbitrary string metadata. */
  readonly annotations?: Readonly<Record<string, string>>;
}

/** Bounds applied while parsing. */
export interface ManifestLimits {
  /** Most layers in a manifest (cosign `maxLayers`, 1000). */
  readonly maxLayers?: number;
  /** Most entries in an index. */
  readonly maxManifests?: number;
}

/** cosign `maxLayers` (SECURITY.md row 6). */
export const DEFAULT_MAX_LAYERS = 1000;
/** Most entries read from any index, referrers indexes included. */
export const DEFAULT_MAX_MANIFESTS = 1000;
const MAX_ANNOTATIONS = 1024;
const MAX_MEDIA_TYPE_LENGTH = 255;

/** True for the OCI index and Docker manifest list media types. */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE.OCI_INDEX || mediaType === MEDIA_TYPE.DOCKER_MANIFEST_LIST;
}

/** True for the OCI and Docker image manifest media types. */
export function isManifestMediaType(mediaType: string): boolean {
  return mediaType === MEDIA_TYPE.OCI_MANIFEST || mediaType === MEDIA_TYPE.DOCKER_MANIFEST;
}

function malformed(what: string, reason: string, cause?: unknown): CosignError {
  return new CosignError("OCI_MANIFEST_INVALID", `Invalid ${what}: ${reason}`, { cause });
}

function readMediaType(value: unknown, path: string): string {
  const text = asString(value, path);
  if (text === "" || text.length > MAX_MEDIA_TYPE_LENGTH) {
    throw new SyntaxError(`${path}: expected a media type`);
  }
  return text;
}

function readAnnotations(value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const record = asRecord(value, path);
  const keys = Object.keys(record);
  if (keys.length > MAX_ANNOTATIONS) throw new SyntaxError(`${path}: too many annotations`);
  // fromEntries defines own properties, so a "__proto__" key stays an annotation.
  return Object.fromEntries(keys.map((key) => [key, asString(record[key], `${path}.${key}`)]));
}

/** Read a descriptor from untrusted JSON; throws `SyntaxError` naming the path. */
export function parseDescriptor(value: unknown, path: string): OciDescriptor {
  const record = asRecord(value, path);
  const mediaType = readMediaType(record.mediaType, `${path}.mediaType`);
  const digest = asString(record.digest, `${path}.digest`);
  if (!isValidDigest(digest)) {
    throw new SyntaxError(`${path}.digest: unsupported digest "${preview(digest)}"`);
  }
  const size = record.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new SyntaxError(`${path}.size: expected a non-negative integer`);
  }
  const artifactType = asOptionalString(record.artifactType, `${path}.artifactType`);
  const annotations = readAnnotations(record.annotations, `${path}.annotations`);
  let platform: OciPlatform | undefined;
  if (isRecord(record.platform)) {
    const variant = asOptionalString(record.platform.variant, `${path}.platform.variant`);
    platform = {
      architecture: asString(record.platform.architecture, `${path}.platform.architecture`),
      os: asString(record.platform.os, `${path}.platform.os`),
      ...(variant !== undefined ? { variant } : {}),
    };
  }
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined && artifactType !== "" ? { artifactType } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
    ...(platform !== undefined ? { platform } : {}),
  };
}

function readTop(bytes: Uint8Array, what: string): JsonRecord {
  try {
    const record = asRecord(parseJson(bytes, what), what);
    if (record.schemaVersion !== 2) throw new SyntaxError(`${what}.schemaVersion: expected 2`);
    return record;
  } catch (cause) {
    if (cause instanceof CosignError) throw cause;
    throw malformed(what, (cause as Error).message, cause);
  }
}

function readCommon(record: JsonRecord, what: string) {
  const mediaType = asOptionalString(record.mediaType, `${what}.mediaType`);
  const artifactType = asOptionalString(record.artifactType, `${what}.artifactType`);
  const annotations = readAnnotations(record.annotations, `${what}.annotations`);
  const subject = record.subject === undefined || record.subject === null
    ? undefined
    : parseDescriptor(record.subject, `${what}.subject`);
  return {
    ...(mediaType !== undefined ? { mediaType } : {}),
    ...(artifactType !== undefined && artifactType !== "" ? { artifactType } : {}),
    ...(subject !== undefined ? { subject } : {}),
    ...(annotations !== undefined ? { annotations } : {}),
  };
}

/**
 * Parse an image manifest. More than `maxLayers` layers is `OCI_TOO_MANY_LAYERS`, checked
 * before any layer is read; anything malformed is `OCI_MANIFEST_INVALID`.
 */
export function parseManifest(
  bytes: Uint8Array,
  options: ManifestLimits & { what?: string } = {},
): OciManifest {
  const what = options.what ?? "manifest";
  const maxLayers = options.maxLayers ?? DEFAULT_MAX_LAYERS;
  const record = readTop(bytes, what);
  if (Array.isArray(record.layers) && record.layers.length > maxLayers) {
    throw new CosignError(
      "OCI_TOO_MANY_LAYERS",
      `Refusing ${what}: ${record.layers.length} layers exceed the limit of ${maxLayers}`,
    );
  }
  try {
    if (record.manifests !== undefined) throw new SyntaxError(`${what}: is an index`);
    const common = readCommon(record, what);
    if (common.mediaType !== undefined && !isManifestMediaType(common.mediaType)) {
      throw new SyntaxError(`${what}.mediaType: "${preview(common.mediaType)}" is not a manifest`);
    }
    const layers = asArray(record.layers ?? [], `${what}.layers`, maxLayers)
      .map((layer, i) => parseDescriptor(layer, `${what}.layers[${i}]`));
    return {
      schemaVersion: 2,
      ...common,
      config: parseDescriptor(record.config, `${what}.config`),
      layers,
    };
  } catch (cause) {
    if (cause instanceof CosignError) throw cause;
    throw malformed(what, (cause as Error).message, cause);
  }
}

/**
 * Parse an image index or Docker manifest list. More than `maxManifests` entries is
 * `OCI_TOO_MANY_MANIFESTS`; anything malformed is `OCI_MANIFEST_INVALID`.
 */
export function parseIndex(
  bytes: Uint8Array,
  options: ManifestLimits & { what?: string } = {},
): OciIndex {
  const what = options.what ?? "index";
  const max = options.maxManifests ?? DEFAULT_MAX_MANIFESTS;
  const record = readTop(bytes, what);
  if (Array.isArray(record.manifests) && record.manifests.length > max) {
    throw new CosignError(
      "OCI_TOO_MANY_MANIFESTS",
      `Refusing ${what}: ${record.manifests.length} entries exceed the limit of ${max}`,
    );
  }
  try {
    const common = readCommon(record, what);
    if (common.mediaType !== undefined && !isIndexMediaType(common.mediaType)) {
      throw new SyntaxError(`${what}.mediaType: "${preview(common.mediaType)}" is not an index`);
    }
    const manifests = asArray(record.manifests, `${what}.manifests`, max)
      .map((entry, i) => parseDescriptor(entry, `${what}.manifests[${i}]`));
    return { schemaVersion: 2, ...common, manifests };
  } catch (cause) {
    if (cause instanceof CosignError) throw cause;
    throw malformed(what, (cause as Error).message, cause);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding as Go encoding/json does (ggcr's v1.Manifest / v1.IndexManifest / v1.Descriptor).

const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

/** A JSON string as Go's `encoding/json` writes it (HTML-safe escapes). */
export function goJsonString(text: string): string {
  return JSON.stringify(text).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** A string map written with its keys sorted, as Go writes `map[string]string`. */
function goMap(map: Readonly<Record<string, string>>): string {
  const keys = Object.keys(map).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${goJsonString(k)}:${goJsonString(map[k]!)}`).join(",")}}`;
}

type Field = [name: string, json: string | undefined];

function goStruct(fields: Field[]): string {
  const parts = fields.filter(([, json]) => json !== undefined).map(([name, json]) =>
    `"${name}":${json}`
  );
  return `{${parts.join(",")}}`;
}

function optionalMap(map: Readonly<Record<string, string>> | undefined): string | undefined {
  return map === undefined || Object.keys(map).length === 0 ? undefined : goMap(map);
}

/** A descriptor in ggcr field order: mediaType, size, digest, annotations, platform, artifactType. */
export function encodeDescriptor(descriptor: OciDescriptor): string {
  const p = descriptor.platform;
  return goStruct([
    ["mediaType", goJsonString(descriptor.mediaType)],
    ["size", String(descriptor.size)],
    ["digest", goJsonString(descriptor.digest)],
    ["annotations", optionalMap(descriptor.annotations)],
    [
      "platform",
      p === undefined ? undefined : goStruct([
        ["architecture", goJsonString(p.architecture)],
        ["os", goJsonString(p.os)],
        ["variant", p.variant === undefined ? undefined : goJsonString(p.variant)],
      ]),
    ],
    [
      "artifactType",
      descriptor.artifactType === undefined ? undefined : goJsonString(descriptor.artifactType),
    ],
  ]);
}

/**
 * Manifest bytes in the field order cosign writes (cosign-spec.md sections 1.3 and 1.8):
 * schemaVersion, mediaType, config, layers, annotations, subject, artifactType.
 */
export function encodeManifest(manifest: OciManifest): string {
  return goStruct([
    ["schemaVersion", "2"],
    ["mediaType", manifest.mediaType === undefined ? undefined : goJsonString(manifest.mediaType)],
    ["config", encodeDescriptor(manifest.config)],
    ["layers", `[${manifest.layers.map(encodeDescriptor).join(",")}]`],
    ["annotations", optionalMap(manifest.annotations)],
    ["subject", manifest.subject === undefined ? undefined : encodeDescriptor(manifest.subject)],
    [
      "artifactType",
      manifest.artifactType === undefined ? undefined : goJsonString(manifest.artifactType),
    ],
  ]);
}

/** Index bytes in ggcr field order: schemaVersion, mediaType, manifests, annotations, subject. */
export function encodeIndex(index: OciIndex): string {
  return goStruct([
    ["schemaVersion", "2"],
    ["mediaType", index.mediaType === undefined ? undefined : goJsonString(index.mediaType)],
    ["manifests", `[${index.manifests.map(encodeDescriptor).join(",")}]`],
    ["annotations", optionalMap(index.annotations)],
    ["subject", index.subject === undefined ? undefined : encodeDescriptor(index.subject)],
    [
      "artifactType",
      index.artifactType === undefined ? undefined : goJsonString(index.artifactType),
    ],
  ]);
}
