/**
 * `clean IMAGE`: delete an image's signatures, attestations, SBOMs and referrers
 * (`--type`), after a confirmation on the terminal unless `-f`.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { cleanImage, type CleanType } from "../../lib/storage/clean.ts";
import { formatImageReference, parseImageReference } from "../../lib/oci/reference.ts";
import type { CommandRun } from "../spec.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

const WARNINGS: Record<CleanType, string> = {
  signature: "this will remove all signatures from the image",
  attestation: "this will remove all attestations from the image",
  referrer:
    "this will remove all referrers (signature and attestation bundles, others) of the image",
  sbom: "this will remove all SBOMs from the image",
  all: "this will remove all signatures, SBOMs, attestations and referrers from the image",
};

/** Delete what is stored for an image. */
export const clean: CommandRun = async (input) => {
  const { ctx, flags, out } = input;
  const reference = parseImageReference(input.args[0]!);
  const name = formatImageReference(reference);
  const type = (flags.string("type") ?? "all") as CleanType;
  if (!flags.boolean("force")) {
    if (ctx.prompt === undefined) {
      throw new CosignError(
        "CLI_USAGE",
        `Refusing to clean "${name}" without confirmation: pass -f (there is no terminal to ask on)`,
      );
    }
    out.warn(WARNINGS[type]);
    const answer = await ctx.prompt("Are you sure you would like to continue? [y/N] ");
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new CosignError("CLI_USAGE", `Not cleaning "${name}": not confirmed`);
    }
  }
  const target = targetRepository(input);
  const result = await cleanImage(createRegistryClient(input), reference, {
    type,
    ...(target ? { targetRepository: target } : {}),
  });
  for (const item of result.removed) out.info(`Removed ${item.reference} from ${name}`);
  if (result.removed.length === 0) out.info(`Nothing of type "${type}" to remove from ${name}`);
  if (result.fallbackIndex === "written" || result.fallbackIndex === "deleted") {
    out.debug(`referrers fallback index ${result.fallbackIndex}`);
  }
};
