/**
 * `tree IMAGE`: what is stored for an image, as cosign's tree prints it (legacy tags, then
 * referrers with their artifact types), or the library's result with `--output json`.
 *
 * @module
 */

import { parseImageReference } from "../../lib/oci/reference.ts";
import { listSupplyChain, type SupplyChainTree, type TreeLayer } from "../../lib/storage/tree.ts";
import type { CommandRun } from "../spec.ts";
import type { Output } from "../output.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

const TAG_TITLES = {
  sig: "🔐 Signatures for an image tag",
  att: "💾 Attestations for an image tag",
  sbom: "📦 SBOMs for an image tag",
} as const;

function renderLayers(out: Output, layers: readonly TreeLayer[]): void {
  layers.forEach((layer, i) => {
    const branch = i === layers.length - 1 ? "   └──" : "   ├──";
    const detail = layer.predicateType ? ` (${layer.predicateType})` : "";
    out.line(`${branch} 🍒 ${layer.digest}${detail}`);
  });
}

/** The text tree of `tree` (cosign's layout, referrers included). */
export function renderTree(out: Output, tree: SupplyChainTree): void {
  out.line(`📦 Supply Chain Security Related artifacts for an image: ${tree.reference}`);
  if (tree.attachments.length === 0 && tree.referrers.length === 0) {
    out.line(
      `No Supply Chain Security Related Artifacts found for image ${tree.reference},\n` +
        ` start creating one with simply running $ dcosign sign <img>`,
    );
    return;
  }
  for (const attachment of tree.attachments) {
    out.line(`└── ${TAG_TITLES[attachment.kind]}: ${attachment.reference}`);
    renderLayers(out, attachment.layers);
  }
  for (const referrer of tree.referrers) {
    const type = referrer.predicateType ?? referrer.artifactType ?? referrer.mediaType;
    out.line(`└── 🔗 ${type} artifacts via OCI referrer: ${referrer.reference}`);
    renderLayers(out, referrer.layers);
  }
}

/** Print an image's signatures, attestations, SBOMs and referrers. */
export const tree: CommandRun = async (input) => {
  const { out } = input;
  const target = targetRepository(input);
  // cosign's tree lists referrers with --experimental-oci11 (its default) or --registry-referrers-mode=oci-1-1.
  const referrers = input.flags.boolean("experimental-oci11") ||
    input.flags.string("registry-referrers-mode") === "oci-1-1";
  const result = await listSupplyChain(
    createRegistryClient(input),
    parseImageReference(input.args[0]!),
    { ...(target ? { targetRepository: target } : {}), referrers },
  );
  for (const skipped of result.skipped) {
    out.debug(`skipped referrer ${skipped.digest}: ${skipped.reason}`);
  }
  if (input.flags.string("output") === "json") out.json(result);
  else renderTree(out, result);
};
