/**
 * Image references: `[registry[:port]/]repository[:tag][@digest]`, normalised as docker and
 * go-containerregistry do (cosign-spec.md section 1.2 and section 2 `docker-reference`).
 *
 * - The first path component is a registry only when it contains `.` or `:` or is `localhost`
 *   (docker's `splitDockerDomain` rule); otherwise the registry is Docker Hub.
 * - Docker Hub is spelled `index.docker.io` (ggcr's `name.DefaultRegistry`), its single-segment
 *   names get the `library/` prefix, and its API lives at `registry-1.docker.io`.
 * - A reference without tag or digest means `:latest`; when both are given the digest wins.
 * - Digests are `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase.
 *
 * @module
 */

import { preview } from "../util/bytes.ts";
import { CosignError } from "../errors.ts";

/** Error codes raised while parsing references. */
export type OciReferenceErrorCode = "OCI_REFERENCE_INVALID";

/** How Docker Hub is spelled in normalised references (ggcr `name.DefaultRegistry`). */
export const DOCKER_HUB_REGISTRY = "index.docker.io";

/** The host that serves Docker Hub's registry API. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";

/** Docker Hub's key in `~/.docker/config.json` (cosign-spec.md section 10.4). */
export const DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/";

/** The tag assumed when a reference names neither tag nor digest. */
export const DEFAULT_TAG = "latest";

/** A repository on a registry. */
export interface RepositoryRef {
  /** Normalised registry: lowercase host with optional port; Docker Hub is `index.docker.io`. */
  readonly registry: string;
  /** Repository path, e.g. `library/ubuntu`. */
  readonly repository: string;
}

/** A parsed image reference; at least one of `tag` and `digest` is set. */
export interface ImageReference extends RepositoryRef {
  /** The tag, when one was given (or `latest` when neither tag nor digest was). */
  readonly tag?: string;
  /** The manifest digest `alg:hex`; when set it identifies the image, whatever the tag. */
  readonly digest?: string;
}

// Docker reference grammar (distribution/reference regexp.go), restated.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const REGISTRY_RE = new RegExp(
  `^(?:\\[[0-9a-fA-F:.]+\\]|${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*)(?::([0-9]{1,5}))?$`,
);
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
/** distribution/reference `NameTotalLengthMax`. */
const MAX_NAME_LENGTH = 255;

function invalid(text: string, reason: string): CosignError {
  return new CosignError(
    "OCI_REFERENCE_INVALID",
    `Invalid image reference "${preview(text, 80)}": ${reason}`,
  );
}

/** True for a digest this library accepts: `sha256:<64 hex>` or `sha512:<128 hex>`, lowercase. */
export function isValidDigest(digest: string): boolean {
  return DIGEST_RE.test(digest);
}

/** The digest checked, or `OCI_REFERENCE_INVALID` naming what is wrong with it. */
export function parseDigest(digest: string): { algorithm: "sha256" | "sha512"; hex: string } {
  if (!isValidDigest(digest)) {
    throw new CosignError(
      "OCI_REFERENCE_INVALID",
      `Invalid digest "${preview(digest, 80)}": expected sha256:<64 hex> or sha512:<128 hex>`,
    );
  }
  const [algorithm, hex] = digest.split(":") as ["sha256" | "sha512", string];
  return { algorithm, hex };
}

/** True when `tag` is a valid tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). */
export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** Normalise a registry name: lowercase, and `docker.io` spelled `index.docker.io`. */
export function normalizeRegistry(registry: string): string {
  const lower = registry.toLowerCase();
  return lower === "docker.io" ? DOCKER_HUB_REGISTRY : lower;
}

/** Check and normalise a registry name (`host[:port]`), or throw `OCI_REFERENCE_INVALID`. */
export function parseRegistry(registry: string): string {
  const match = REGISTRY_RE.exec(registry);
  if (match === null) throw invalid(registry, "malformed registry host");
  const port = match[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    throw invalid(registry, `port "${port}" out of range`);
  }
  return normalizeRegistry(registry);
}

/**
 * Check and normalise `registry/repository` (no tag, no digest), e.g. a `COSIGN_REPOSITORY`
 * value, into a `RepositoryRef`.
 */
export function parseRepository(text: string): RepositoryRef {
  const tail = text.slice(text.lastIndexOf("/") + 1);
  if (text.includes("@") || tail.includes(":")) {
    throw invalid(text, "a repository must not carry a tag or digest");
  }
  const ref = parseImageReference(text);
  return { registry: ref.registry, repository: ref.repository };
}

/**
 * Parse an image reference with docker's normalisation.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseImageReference } from "@dcosign/dcosign";
 *
 * assert.deepEqual(parseImageReference("ubuntu"), {
 *   registry: "index.docker.io",
 *   repository: "library/ubuntu",
 *   tag: "latest",
 * });
 * const pinned = parseImageReference("ghcr.io/org/app:1.0@sha256:" + "ab".repeat(32));
 * assert.equal(pinned.tag, "1.0");
 * assert.equal(pinned.digest, "sha256:" + "ab".repeat(32)); // the digest wins
 * ```
 */
export function parseImageReference(text: string): ImageReference {
  if (typeof text !== "string") throw new TypeError("An image reference must be a string");
  if (text === "") throw invalid(text, "empty reference");
  if (text.length > 4 * MAX_NAME_LENGTH) throw invalid(text, "reference too long");
  if (/[\s]/.test(text)) throw invalid(text, "whitespace is not allowed");
  if (text.includes("://")) throw invalid(text, "a reference has no URL scheme");

  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) {
      throw invalid(
        text,
        `malformed digest "${preview(digest)}" (expected sha256:<64 hex> or sha512:<128 hex>)`,
      );
    }
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.indexOf(":", lastSlash + 1);
  if (colon !== -1) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw invalid(text, `malformed tag "${preview(tag)}"`);
  }

  let registry = DOCKER_HUB_REGISTRY;
  let repository = rest;
  const firstSlash = rest.indexOf("/");
  if (firstSlash !== -1) {
    const first = rest.slice(0, firstSlash);
    if (first.includes(".") || first.includes(":") || first === "localhost") {
      registry = parseRegistry(first);
      repository = rest.slice(firstSlash + 1);
    }
  }
  if (repository === "") throw invalid(text, "empty repository name");
  if (repository !== repository.toLowerCase()) {
    throw invalid(text, "repository name must be lowercase");
  }
  for (const component of repository.split("/")) {
    if (!PATH_COMPONENT_RE.test(component)) {
      throw invalid(text, `malformed repository component "${preview(component)}"`);
    }
  }
  if (registry === DOCKER_HUB_REGISTRY && !repository.includes("/")) {
    repository = `library/${repository}`;
  }
  if (registry.length + 1 + repository.length > MAX_NAME_LENGTH) {
    throw invalid(text, `repository name longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return {
    registry,
    repository,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

/**
 * `registry/repository:tag`, or `registry/repository@digest` when a digest is set.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatImageReference, parseImageReference } from "@dcosign/dcosign";
 *
 * const ubuntu = parseImageReference("ubuntu");
 * assert.equal(formatImageReference(ubuntu), "index.docker.io/library/ubuntu:latest");
 * const digest = "sha256:" + "ab".repeat(32);
 * assert.equal(
 *   formatImageReference({ registry: "ghcr.io", repository: "org/app", digest }),
 *   `ghcr.io/org/app@${digest}`,
 * );
 * ```
 */
export function formatImageReference(ref: ImageReference): string {
  const name = formatRepository(ref);
  if (ref.digest !== undefined) return `${name}@${ref.digest}`;
  return `${name}:${ref.tag ?? DEFAULT_TAG}`;
}

/** `registry/repository`, e.g. `ghcr.io/org/app` or `index.docker.io/library/ubuntu`. */
export function formatRepository(ref: RepositoryRef): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * The SimpleSigning `critical.identity.docker-reference` of an image: the repository with an
 * explicit registry and no tag or digest, Docker Hub as `index.docker.io/library/...`
 * (cosign-spec.md section 2).
 */
export function dockerReference(ref: RepositoryRef): string {
  return formatRepository(ref);
}

/** The reference naming a manifest by digest in the same repository (any tag is dropped). */
export function withDigest(ref: RepositoryRef, digest: string): ImageReference {
  parseDigest(digest);
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** The reference naming a tag in the same repository (any digest is dropped). */
export function withTag(ref: RepositoryRef, tag: string): ImageReference {
  if (!isValidTag(tag)) throw invalid(tag, "malformed tag");
  return { registry: ref.registry, repository: ref.repository, tag };
}

/** The host that serves a registry's API (`index.docker.io` is served by `registry-1.docker.io`). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB_REGISTRY ? DOCKER_HUB_API_HOST : registry;
}

/** The hostname of `host[:port]` (brackets kept for IPv6). */
export function hostnameOf(registry: string): string {
  if (registry.startsWith("[")) {
    const end = registry.indexOf("]");
    return end === -1 ? registry : registry.slice(0, end + 1);
  }
  const colon = registry.indexOf(":");
  return colon === -1 ? registry : registry.slice(0, colon);
}

/** True for the loopback registries reached over plain HTTP without a flag (as ggcr does). */
export function isLocalRegistry(registry: string): boolean {
  const host = hostnameOf(registry.toLowerCase());
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}
