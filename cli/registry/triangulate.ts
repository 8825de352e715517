/**
 * `triangulate IMAGE`: where an image's signatures, attestations or SBOM live (cosign-spec.md
 * sections 1.2, 1.8), as cosign prints it: the legacy attachment tag (`--type signature`, the
 * default, `attestation`, `sbom`), the image by digest (`--type digest`), or one line per Sigstore
 * bundle referrer (`--type referrer`, cosign v3's `BundlesReferrers`).
 *
 * cosign v3 signs into bundle referrers, so the tag printed for a v3-signed image does not exist;
 * then the bundle referrers of that kind are named on stderr (stdout keeps cosign's one line).
 *
 * @module
 */

import type { RegistryClient } from "../../lib/oci/client.ts";
import {
  formatImageReference,
  type ImageReference,
  parseImageReference,
  withDigest,
} from "../../lib/oci/reference.ts";
import { BUNDLE_MEDIA_TYPE_PREFIX } from "../../lib/storage/referrers.ts";
import { artifactTypeOf, classifyReferrer, readReferrerManifests } from "../../lib/storage/tree.ts";
import {
  attachmentReference,
  getIfExists,
  type TargetOptions,
  triangulate as locate,
} from "../../lib/storage/signatures.ts";
import type { CommandRun } from "../spec.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

const KINDS = { signature: "sig", attestation: "att", sbom: "sbom" } as const;

/**
 * The Sigstore bundle referrers of an image (of one kind, or all), as `registry/repo@sha256:...`
 * in the attachment repository, decided by each referrer's manifest.
 */
async function bundleReferrers(
  client: RegistryClient,
  reference: ImageReference,
  options: TargetOptions & { kind?: "sig" | "att" },
): Promise<string[]> {
  const digest = await client.resolveDigest(reference);
  const image = { registry: reference.registry, repository: reference.repository, digest };
  const repo = options.targetRepository ?? image;
  const { referrers } = await readReferrerManifests(client, image, options);
  return referrers
    .filter((r) => artifactTypeOf(r)?.startsWith(BUNDLE_MEDIA_TYPE_PREFIX) === true)
    .filter((r) => options.kind === undefined || classifyReferrer(r) === options.kind)
    .map((r) => formatImageReference(withDigest(repo, r.descriptor.digest)));
}

/** Print where an image's attachments are. */
export const triangulate: CommandRun = async (input) => {
  const type = input.flags.string("type") ?? "signature";
  const reference = parseImageReference(input.args[0]!);
  const target = targetRepository(input);
  const client = createRegistryClient(input);
  const targetOptions: TargetOptions = target ? { targetRepository: target } : {};
  if (type === "referrer") {
    for (const line of await bundleReferrers(client, reference, targetOptions)) {
      input.out.line(line);
    }
    return;
  }
  if (type === "digest") {
    input.out.line(await locate(client, reference, { format: "digest", ...targetOptions }));
    return;
  }
  const kind = KINDS[type as keyof typeof KINDS];
  const digest = await client.resolveDigest(reference);
  const image = { registry: reference.registry, repository: reference.repository, digest };
  const located = await locate(client, image, { kind, ...targetOptions });
  input.out.line(located);
  if (kind === "sbom") return;
  // A v3-signed image has no such tag: say where its signatures are instead.
  if (await getIfExists(client, attachmentReference(image, kind, targetOptions))) return;
  const bundles = await bundleReferrers(client, image, { kind, ...targetOptions });
  if (bundles.length === 0) return;
  input.out.info(
    `No tag "${located}": the image's ${
      kind === "sig" ? "signatures are" : "attestations are"
    } Sigstore bundles stored as OCI referrers (cosign v3), listed by "triangulate --type referrer":`,
  );
  for (const line of bundles) input.out.info(`  ${line}`);
};
