/**
 * `save IMAGE --dir DIR` and `load IMAGE --dir DIR`: an image with its signatures and referrers
 * to and from an OCI image layout on disk (cosign-spec.md section 1.9).
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { loadImageLayout } from "../../lib/storage/layout/load.ts";
import { saveImageLayout } from "../../lib/storage/layout/save.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { formatBytes, platformFlag, transferProgress } from "./copy.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

function directory(input: CommandInput): string {
  const dir = input.flags.string("dir");
  if (dir === undefined || dir === "") {
    throw new CosignError("CLI_USAGE", `"dcosign ${input.command}" needs --dir DIRECTORY`);
  }
  return resolvePath(input.ctx, dir);
}

/** Save an image, its signatures, attestations and referrers as an OCI layout. */
export const save: CommandRun = async (input) => {
  const { out } = input;
  const dir = directory(input);
  const platform = platformFlag(input);
  const onProgress = transferProgress(input);
  const target = targetRepository(input);
  const result = await saveImageLayout(
    createRegistryClient(input),
    parseImageReference(input.args[0]!),
    dir,
    {
      ...(platform ? { platform } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...(target ? { targetRepository: target } : {}),
    },
  );
  const parts = [
    result.signatures ? "signatures" : undefined,
    result.attestations ? "attestations" : undefined,
    result.referrers.length > 0 ? `${result.referrers.length} referrers` : undefined,
  ].filter((p) => p !== undefined);
  out.info(
    `${out.paint("green", "Saved")} ${result.image} (${result.digest})` +
      (parts.length > 0 ? ` with ${parts.join(", ")}` : " (nothing stored for it)") +
      ` to ${result.directory}: ${result.stats.manifests} manifests, ${result.stats.uploaded} blobs (${
        formatBytes(result.stats.bytes)
      })`,
  );
};

/** Push a saved layout (verified first) to a registry. */
export const load: CommandRun = async (input) => {
  const { out } = input;
  const dir = directory(input);
  const onProgress = transferProgress(input);
  const target = targetRepository(input);
  const result = await loadImageLayout(
    createRegistryClient(input),
    dir,
    parseImageReference(input.args[0]!),
    {
      ...(onProgress ? { onProgress } : {}),
      ...(target ? { targetRepository: target } : {}),
    },
  );
  for (const tag of result.tags) out.info(`Wrote ${tag}`);
  for (const referrer of result.referrers) out.info(`Wrote referrer ${referrer}`);
  out.info(
    `${out.paint("green", "Loaded")} ${dir} to ${result.destination} (${result.digest}): ` +
      `${result.stats.manifests} manifests, ${result.stats.uploaded} blobs uploaded (${
        formatBytes(result.stats.bytes)
      }), ${result.stats.present} already there`,
  );
};
