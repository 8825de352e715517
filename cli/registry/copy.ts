/**
 * `copy SRC DST`: copy an image with its signatures, attestations, SBOMs and referrers
 * (`--only`, `--sig-only`, `--platform`, `-f`), printing a line per blob on a terminal and a
 * summary at the end.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { copyImage, type TransferEvent } from "../../lib/storage/copy.ts";
import { parsePlatform, type PlatformSpec } from "../../lib/oci/platform.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import type { AttachmentKind } from "../../lib/storage/signatures.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { createRegistryClient } from "../options/registry.ts";

const KINDS: readonly AttachmentKind[] = ["sig", "att", "sbom"];

/** `--only sig,att` (repeatable, comma-separated) and the deprecated `--sig-only`. */
export function parseOnly(
  values: readonly string[],
  sigOnly: boolean,
): AttachmentKind[] | undefined {
  const kinds = new Set<AttachmentKind>();
  for (const value of values.flatMap((v) => v.split(","))) {
    const kind = value.trim();
    if (kind === "") continue;
    if (!KINDS.includes(kind as AttachmentKind)) {
      throw new CosignError(
        "CLI_USAGE",
        `Invalid --only value "${kind}": expected sig, att or sbom (comma-separated)`,
      );
    }
    kinds.add(kind as AttachmentKind);
  }
  if (sigOnly) kinds.add("sig");
  return kinds.size === 0 ? undefined : KINDS.filter((k) => kinds.has(k));
}

/** `--platform os/arch[/variant]`, as a usage error when malformed. */
export function platformFlag(input: CommandInput): PlatformSpec | undefined {
  const text = input.flags.string("platform");
  if (text === undefined) return undefined;
  try {
    return parsePlatform(text);
  } catch (error) {
    throw new CosignError("CLI_USAGE", errorMessage(error), { cause: error });
  }
}

/** Progress lines for transfers: one per blob and manifest, on a terminal (or `--verbose`). */
export function transferProgress(
  input: CommandInput,
): ((event: TransferEvent) => void) | undefined {
  const { ctx, out } = input;
  if (!ctx.isTerminal.stderr && !out.verbose) return undefined;
  const say = (text: string) => ctx.isTerminal.stderr ? out.info(text) : out.debug(text);
  return (event) => {
    if (event.kind === "manifest") say(`  ${out.paint("dim", "manifest")} ${event.reference}`);
    else {say(
        `  ${out.paint("dim", event.outcome.padEnd(8))} ${event.digest} (${
          formatBytes(event.size)
        })`,
      );}
  };
}

/** A byte count for people: `512 B`, `3.2 MiB`. */
export function formatBytes(size: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${size} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Copy one image with everything stored for it. */
export const copy: CommandRun = async (input) => {
  const { flags, out } = input;
  const source = parseImageReference(input.args[0]!);
  const destination = parseImageReference(input.args[1]!);
  if (flags.boolean("sig-only")) out.warn("--sig-only is deprecated, use --only=sig instead");
  const only = parseOnly(flags.list("only"), flags.boolean("sig-only"));
  const platform = platformFlag(input);
  const onProgress = transferProgress(input);
  const result = await copyImage(createRegistryClient(input), source, destination, {
    overwrite: flags.boolean("force"),
    ...(only ? { only } : {}),
    ...(platform ? { platform } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  for (const tag of result.tags) out.info(`Wrote ${tag}`);
  for (const referrer of result.referrers) out.info(`Wrote referrer ${referrer}`);
  const { stats } = result;
  out.info(
    `${
      out.paint("green", "Copied")
    } ${result.source} to ${result.destination} (${result.digest}): ` +
      `${stats.manifests} manifests, ${stats.uploaded} blobs uploaded (${
        formatBytes(stats.bytes)
      }), ` +
      `${stats.mounted} mounted, ${stats.present} already there`,
  );
};
