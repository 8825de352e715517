/**
 * Platforms of multi-platform images (`--platform os/arch[/variant]` of `copy`, `save`,
 * `download`): parsing the flag, and picking a platform's manifest from an image index (OCI
 * image spec "image-index.md", `platform` of each entry).
 *
 * @module
 */

import { CosignError } from "../errors.ts";
import type { RegistryClient } from "./client.ts";
import { isIndexMediaType, type OciDescriptor, type OciPlatform, parseIndex } from "./manifest.ts";
import { formatImageReference, type ImageReference, withDigest } from "./reference.ts";
import type { DigestReference } from "../storage/signatures.ts";

/** Error codes raised here (besides the client's). */
export type OciPlatformErrorCode = "OCI_PLATFORM_NOT_FOUND";

/** A platform as `--platform` names it: `os/architecture[/variant]`. */
export interface PlatformSpec {
  /** Operating system, e.g. `linux`. */
  readonly os: string;
  /** Architecture, e.g. `amd64`. */
  readonly architecture: string;
  /** Variant, e.g. `v8`; any variant matches when absent. */
  readonly variant?: string;
}

/** Parse `linux/amd64` or `linux/arm64/v8`; anything else is a `SyntaxError`. */
export function parsePlatform(text: string): PlatformSpec {
  const parts = text.split("/");
  if (
    parts.length < 2 || parts.length > 3 ||
    parts.some((p) => !/^[a-z0-9][a-z0-9._-]{0,63}$/i.test(p))
  ) {
    throw new SyntaxError(
      `Invalid platform "${
        text.slice(0, 80)
      }": expected os/architecture[/variant], e.g. linux/amd64`,
    );
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return { os, architecture, ...(variant !== undefined ? { variant } : {}) };
}

/** `os/architecture[/variant]` of a platform. */
export function formatPlatform(platform: OciPlatform | PlatformSpec): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join("/");
}

function matchesPlatform(candidate: OciPlatform | undefined, wanted: PlatformSpec): boolean {
  return candidate !== undefined && candidate.os === wanted.os &&
    candidate.architecture === wanted.architecture &&
    (wanted.variant === undefined || candidate.variant === wanted.variant);
}

/** The image a command works on: the reference's manifest, or one platform of its index. */
export interface ResolvedImage extends DigestReference {
  /** The chosen manifest's descriptor. */
  readonly descriptor: OciDescriptor;
  /** The platforms of the index, when the reference names one. */
  readonly platforms?: readonly OciPlatform[];
}

/**
 * Resolve `reference` (one HEAD for a tag), and with `platform` pick that platform's manifest
 * from its index: `OCI_PLATFORM_NOT_FOUND` lists the platforms there are, or says the image is
 * not multi-platform.
 */
export async function resolvePlatformImage(
  client: RegistryClient,
  reference: ImageReference,
  platform?: PlatformSpec,
): Promise<ResolvedImage> {
  const top = await client.resolve(reference);
  const repo = { registry: reference.registry, repository: reference.repository };
  const name = formatImageReference(reference);
  const isIndex = isIndexMediaType(top.mediaType);
  if (!isIndex && platform === undefined) return { ...repo, digest: top.digest, descriptor: top };
  if (!isIndex) {
    throw new CosignError(
      "OCI_PLATFORM_NOT_FOUND",
      `Cannot select platform "${
        formatPlatform(platform!)
      }" of "${name}": it is a single-platform image (drop --platform)`,
    );
  }
  const fetched = await client.getManifest(withDigest(repo, top.digest));
  const index = parseIndex(fetched.bytes, {
    maxManifests: client.limits.maxIndexManifests,
    what: `index "${name}"`,
  });
  const platforms = index.manifests.map((m) => m.platform).filter((p) => p !== undefined);
  if (platform === undefined) {
    return { ...repo, digest: top.digest, descriptor: top, platforms };
  }
  const child = index.manifests.find((m) => matchesPlatform(m.platform, platform));
  if (child === undefined) {
    throw new CosignError(
      "OCI_PLATFORM_NOT_FOUND",
      `Image "${name}" has no platform "${formatPlatform(platform)}": it has ${
        platforms.map((p) => `"${formatPlatform(p)}"`).join(", ") || "no platform entries"
      }`,
    );
  }
  return { ...repo, digest: child.digest, descriptor: child, platforms };
}
