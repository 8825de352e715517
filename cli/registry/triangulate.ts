/**
 * `triangulate IMAGE`: where an image's signatures, attestations or SBOM live
 * (cosign-spec.md section 1.2).
 *
 * @module
 */

import { parseImageReference } from "../../lib/oci/reference.ts";
import { triangulate as locate } from "../../lib/storage/signatures.ts";
import type { CommandRun } from "../spec.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

const KINDS = { signature: "sig", attestation: "att", sbom: "sbom" } as const;

/** Print the attachment reference of an image. */
export const triangulate: CommandRun = async (input) => {
  const type = input.flags.string("type") ?? "signature";
  const reference = parseImageReference(input.args[0]!);
  const target = targetRepository(input);
  const located = await locate(createRegistryClient(input), reference, {
    ...(type === "digest"
      ? { format: "digest" as const }
      : { kind: KINDS[type as keyof typeof KINDS] }),
    ...(target ? { targetRepository: target } : {}),
  });
  input.out.line(located);
};
