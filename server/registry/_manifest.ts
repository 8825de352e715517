/**
 * What the embedded registry accepts: repository names, tags and digests (OCI distribution-spec
 * v1.1 "Definitions"), and the four manifest media types it stores (OCI image manifest and
 * index, Docker schema 2 manifest and manifest list), parsed into the descriptors the store must
 * check before it acknowledges a PUT.
 *
 * @module
 */

import {
  type Bytes,
  digest as hashBytes,
  fromUtf8,
  type HashName,
  preview,
  toHex,
} from "../../lib/util/bytes.ts";
import { isRecord, type JsonRecord } from "../../lib/util/json.ts";
import { RegistryError } from "./errors.ts";

/** OCI image manifest media type (image-spec manifest.md). */
export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
/** OCI image index media type (image-spec image-index.md). */
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
/** Docker image manifest v2 schema 2. */
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
/** Docker manifest list v2 schema 2. */
export const DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";

/** The manifest media types the registry stores. */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  OCI_MANIFEST,
  OCI_INDEX,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
];

/** Largest manifest accepted: 4 MiB, the limit distribution and most registries enforce. */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;

/** Most descriptors (config + layers, or index entries) one manifest may carry (SECURITY.md 2.4). */
export const MAX_MANIFEST_DESCRIPTORS = 4096;

/** Longest repository name; clients limit `host/name` to 255 characters (distribution-spec). */
export const MAX_NAME_LENGTH = 255;

// distribution-spec v1.1 "Pulling manifests": <name> and <reference> grammars.
const NAME_COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME_PATTERN = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
// image-spec descriptor.md: registered algorithms and their encoded forms.
const DIGEST_PATTERNS: Readonly<Record<string, RegExp>> = {
  sha256: /^[a-f0-9]{64}$/,
  sha512: /^[a-f0-9]{128}$/,
};

/**
 * True for a repository name the distribution spec allows (multi-segment, lowercase).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isRepositoryName } from "@dcosign/dcosign/server";
 *
 * assert.ok(isRepositoryName("org/team/app"));
 * assert.ok(!isRepositoryName("Org/App")); // uppercase is not allowed
 * ```
 */
export function isRepositoryName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

/** Throws `SERVER_NAME_INVALID` unless `name` is a valid repository name. */
export function checkRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw new RegistryError("SERVER_NAME_INVALID", `Invalid repository name "${preview(name)}"`, {
      detail: { name: preview(name) },
    });
  }
  return name;
}

/** True for a valid tag. */
export function isTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** A parsed, supported content digest. */
export interface ParsedDigest {
  readonly algorithm: HashName;
  readonly hex: string;
  /** `algorithm:hex`, the form stored and compared. */
  readonly digest: string;
}

/** Parse a digest; anything but a well-formed sha256/sha512 digest is `SERVER_DIGEST_INVALID`. */
export function parseDigest(text: string): ParsedDigest {
  const colon = text.indexOf(":");
  const algorithm = colon > 0 ? text.slice(0, colon) : "";
  const hex = text.slice(colon + 1);
  const pattern = Object.hasOwn(DIGEST_PATTERNS, algorithm)
    ? DIGEST_PATTERNS[algorithm]
    : undefined;
  if (pattern === undefined || !pattern.test(hex)) {
    throw new RegistryError(
      "SERVER_DIGEST_INVALID",
      `Invalid or unsupported digest "${preview(text)}"`,
      {
        detail: { digest: preview(text) },
      },
    );
  }
  return { algorithm: algorithm as HashName, hex, digest: `${algorithm}:${hex}` };
}

/** The digest of bytes with the given algorithm, in `algorithm:hex` form. */
export function digestOf(algorithm: HashName, bytes: Uint8Array): string {
  return `${algorithm}:${toHex(hashBytes(algorithm, bytes))}`;
}

/** A manifest reference: a tag or a digest. */
export type ManifestReference =
  | { readonly kind: "tag"; readonly tag: string }
  | { readonly kind: "digest"; readonly digest: ParsedDigest };

/**
 * Classify a manifest reference. A colon means a digest (tags cannot hold one) and a malformed
 * one is `SERVER_DIGEST_INVALID`; a malformed tag returns undefined, for the caller to answer
 * "unknown" on reads and "invalid" on writes.
 */
export function parseReference(reference: string): ManifestReference | undefined {
  if (reference.includes(":")) return { kind: "digest", digest: parseDigest(reference) };
  return isTag(reference) ? { kind: "tag", tag: reference } : undefined;
}

/** An OCI content descriptor (image-spec descriptor.md), as found in a manifest. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly artifactType?: string;
}

/** A manifest checked for shape, with everything the store needs to index it. */
export interface ParsedManifest {
  /** The effective media type (from Content-Type or the document). */
  readonly mediaType: string;
  readonly kind: "image" | "index";
  /** Image manifests: the config descriptor. */
  readonly config?: Descriptor;
  /** Image manifests: layers; indexes: child manifests. */
  readonly references: readonly Descriptor[];
  readonly subject?: Descriptor;
  /** The referrer's artifact type: `artifactType`, else the config media type (spec v1.1). */
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * Parse manifest bytes pushed with `contentType`. The effective type is the Content-Type when it
 * names a supported manifest type (a differing `mediaType` in the document is refused, as
 * distribution does), else the document's `mediaType`. An image manifest carrying `manifests`
 * or an index carrying `config`/`layers` is refused: such ambiguous documents are the
 * CVE-2021-41190 attack (image-spec v1.0.2).
 */
export function parseManifest(bytes: Bytes, contentType: string | undefined): ParsedManifest {
  let doc: JsonRecord;
  try {
    const value: unknown = JSON.parse(fromUtf8(bytes));
    if (!isRecord(value)) throw new SyntaxError("expected a JSON object");
    doc = value;
  } catch (cause) {
    throw invalid(`Manifest is not a JSON object: ${(cause as Error).message}`, cause);
  }
  const header = normalizeMediaType(contentType);
  const declared = optionalString(doc, "mediaType");
  let mediaType: string;
  if (header !== undefined && MANIFEST_MEDIA_TYPES.includes(header)) {
    if (declared !== undefined && declared !== header) {
      throw invalid(
        `Manifest mediaType "${preview(declared)}" differs from Content-Type "${header}"`,
      );
    }
    mediaType = header;
  } else if (declared !== undefined && MANIFEST_MEDIA_TYPES.includes(declared)) {
    mediaType = declared;
  } else {
    throw invalid(`Unsupported manifest media type "${preview(header ?? declared ?? "")}"`);
  }
  if (
    declared === undefined && (mediaType === DOCKER_MANIFEST || mediaType === DOCKER_MANIFEST_LIST)
  ) {
    throw invalid(`Docker manifests must declare mediaType "${mediaType}"`);
  }
  if (doc.schemaVersion !== 2) throw invalid("Manifest schemaVersion must be 2");
  const subject = doc.subject === undefined ? undefined : readDescriptor(doc.subject, "subject");
  const declaredArtifactType = optionalString(doc, "artifactType");
  const annotations = readAnnotations(doc.annotations, "annotations");
  const common = {
    mediaType,
    ...(subject === undefined ? {} : { subject }),
    ...(annotations === undefined ? {} : { annotations }),
  };
  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST) {
    if (doc.config !== undefined || doc.layers !== undefined) {
      throw invalid("An index must not carry config or layers");
    }
    const references = readDescriptors(doc.manifests, "manifests");
    return {
      ...common,
      kind: "index",
      references,
      ...(declaredArtifactType === undefined ? {} : { artifactType: declaredArtifactType }),
    };
  }
  if (doc.manifests !== undefined) throw invalid("An image manifest must not carry manifests");
  const config = readDescriptor(doc.config, "config");
  const references = readDescriptors(doc.layers, "layers");
  return {
    ...common,
    kind: "image",
    config,
    references,
    artifactType: declaredArtifactType ?? config.mediaType,
  };
}

/** The media type of a Content-Type or Accept item: parameters dropped, lowercased. */
export function normalizeMediaType(value: string | undefined | null): string | undefined {
  if (value === undefined || value === null) return undefined;
  const type = value.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return type === "" ? undefined : type;
}

function readDescriptors(value: unknown, path: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`Manifest ${path} must be an array`);
  if (value.length > MAX_MANIFEST_DESCRIPTORS) {
    throw invalid(`Manifest ${path} has more than ${MAX_MANIFEST_DESCRIPTORS} entries`);
  }
  return value.map((item, i) => readDescriptor(item, `${path}[${i}]`));
}

function readDescriptor(value: unknown, path: string): Descriptor {
  if (!isRecord(value)) throw invalid(`Manifest ${path} must be a descriptor object`);
  const mediaType = value.mediaType;
  if (typeof mediaType !== "string" || mediaType === "" || mediaType.length > 255) {
    throw invalid(`Manifest ${path}.mediaType must be a media type`);
  }
  const size = value.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(`Manifest ${path}.size must be a non-negative integer`);
  }
  if (typeof value.digest !== "string") throw invalid(`Manifest ${path}.digest must be a string`);
  let digest: string;
  try {
    digest = parseDigest(value.digest).digest;
  } catch (cause) {
    throw invalid(`Manifest ${path}.digest "${preview(value.digest)}" is invalid`, cause);
  }
  let urls: string[] | undefined;
  if (value.urls !== undefined) {
    if (!Array.isArray(value.urls) || !value.urls.every((u) => typeof u === "string")) {
      throw invalid(`Manifest ${path}.urls must be an array of strings`);
    }
    urls = value.urls as string[];
  }
  const artifactType = optionalString(value, "artifactType", path);
  return {
    mediaType,
    digest,
    size,
    ...(urls === undefined ? {} : { urls }),
    ...(artifactType === undefined ? {} : { artifactType }),
  };
}

function readAnnotations(value: unknown, path: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isRecord(value) || !Object.values(value).every((v) => typeof v === "string")) {
    throw invalid(`Manifest ${path} must map strings to strings`);
  }
  return value as Record<string, string>;
}

function optionalString(doc: JsonRecord, key: string, path?: string): string | undefined {
  const value = doc[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    throw invalid(`Manifest ${path === undefined ? key : `${path}.${key}`} must be a string`);
  }
  return value;
}

function invalid(message: string, cause?: unknown): RegistryError {
  return new RegistryError(
    "SERVER_MANIFEST_INVALID",
    message,
    cause === undefined ? {} : { cause },
  );
}
