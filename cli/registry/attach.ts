/**
 * `attach signature|attestation|sbom IMAGE`: store signatures, attestations and SBOMs made
 * elsewhere next to an image (cosign-spec.md section 10.2).
 *
 * @module
 */

import { type Bytes, fromUtf8 } from "../../lib/util/bytes.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { parseLegacyBlobBundle } from "../../lib/bundle/legacy.ts";
import {
  attachAttestations,
  attachBundle,
  type AttachResult,
  attachSbom,
  attachSignature,
  sbomMediaType,
  type SbomType,
} from "../../lib/storage/attach.ts";
import { isSigstoreBundle } from "../../lib/bundle/model.ts";
import { parseImageReference } from "../../lib/oci/reference.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

/** Largest input file read: cosign's attachment cap (`COSIGN_MAX_ATTACHMENT_SIZE` default). */
const MAX_INPUT_BYTES = 128 * 1024 * 1024;

/** Read `path` (or standard input for `-`), bounded; `what` names it in errors. */
export async function readInput(input: CommandInput, path: string, what: string): Promise<Bytes> {
  return await input.ctx.readFile(path, { maxBytes: MAX_INPUT_BYTES, what });
}

function attachOptions(input: CommandInput) {
  const target = targetRepository(input);
  return {
    dockerMediaTypes: input.ctx.env("COSIGN_DOCKER_MEDIA_TYPES") === "1",
    ...(target ? { targetRepository: target } : {}),
  };
}

function report(input: CommandInput, result: AttachResult, what: string): void {
  input.out.info(
    result.appended
      ? `Attached ${what} to ${result.image} at ${result.stored}`
      : `The ${what} is already attached to ${result.image} at ${result.stored}`,
  );
}

/** `attach signature`: a base64 signature over a payload, or a Sigstore bundle. */
export const attachSignatureCommand: CommandRun = async (input) => {
  const { flags } = input;
  const reference = parseImageReference(input.args[0]!);
  const client = createRegistryClient(input);
  const options = attachOptions(input);
  const bundlePath = flags.string("bundle");
  const payloadPath = flags.string("payload");
  // cosign reads --bundle as --payload and stores a Sigstore bundle as a referrer.
  const payload = bundlePath !== undefined
    ? await readInput(input, bundlePath, "bundle")
    : payloadPath !== undefined
    ? await readInput(input, payloadPath, "payload")
    : undefined;
  if (payload !== undefined && isSigstoreBundle(payload)) {
    report(input, await attachBundle(client, reference, payload, options), "signature bundle");
    return;
  }
  if (bundlePath !== undefined) {
    throw new CosignError("CLI_USAGE", `--bundle "${bundlePath}" is not a Sigstore bundle`);
  }
  const signaturePath = flags.string("signature");
  if (signaturePath === undefined) {
    throw new CosignError(
      "CLI_USAGE",
      "attach signature needs --signature FILE (base64, - for stdin), or --bundle FILE",
    );
  }
  const signature = fromUtf8(await readInput(input, signaturePath, "signature"));
  const text = async (name: string, what: string) => {
    const path = flags.string(name);
    return path === undefined ? undefined : fromUtf8(await readInput(input, path, what));
  };
  const certificate = await text("certificate", "certificate");
  const chain = await text("certificate-chain", "certificate chain");
  const tsrPath = flags.string("tsr");
  const rekorPath = flags.string("rekor-response");
  const rekorBundle = rekorPath === undefined
    ? undefined
    : parseLegacyBlobBundle(await readInput(input, rekorPath, "Rekor response")).rekorBundle;
  if (rekorPath !== undefined && rekorBundle === undefined) {
    throw new CosignError("CLI_USAGE", `--rekor-response "${rekorPath}" has no rekorBundle`);
  }
  const result = await attachSignature(client, reference, {
    signature,
    ...(payload !== undefined ? { payload } : {}),
    ...(certificate !== undefined ? { certificate } : {}),
    ...(chain !== undefined ? { chain } : {}),
    ...(tsrPath !== undefined
      ? { timestampResponse: await readInput(input, tsrPath, "timestamp response") }
      : {}),
    ...(rekorBundle !== undefined ? { rekorBundle } : {}),
  }, options);
  report(input, result, "signature");
};

/** `attach attestation`: DSSE envelope files (JSON or JSON lines) or Sigstore bundles. */
export const attachAttestationCommand: CommandRun = async (input) => {
  const files = input.flags.list("attestation");
  if (files.length === 0) {
    throw new CosignError("CLI_USAGE", "attach attestation needs --attestation FILE (repeatable)");
  }
  const reference = parseImageReference(input.args[0]!);
  const client = createRegistryClient(input);
  const options = attachOptions(input);
  for (const file of files) {
    input.out.info(`Using payload from: ${file}`);
    const bytes = await readInput(input, file, "attestation");
    for (const result of await attachAttestations(client, reference, bytes, options)) {
      report(input, result, "attestation");
    }
  }
};

/** `attach sbom`: replace the image's SBOM. */
export const attachSbomCommand: CommandRun = async (input) => {
  const { flags } = input;
  const path = flags.string("sbom");
  if (path === undefined) {
    throw new CosignError("CLI_USAGE", "attach sbom needs --sbom FILE (- for stdin)");
  }
  const type = (flags.string("type") ?? "spdx") as SbomType;
  let mediaType: string;
  try {
    const inputFormat = flags.string("input-format");
    mediaType = sbomMediaType(type, {
      fileName: path,
      ...(inputFormat !== undefined ? { inputFormat } : {}),
    });
  } catch (error) {
    throw new CosignError("CLI_USAGE", errorMessage(error), { cause: error });
  }
  const reference = parseImageReference(input.args[0]!);
  const sbom = await readInput(input, path, "SBOM");
  const result = await attachSbom(createRegistryClient(input), reference, sbom, mediaType, {
    ...attachOptions(input),
    referrer: flags.string("registry-referrers-mode") === "oci-1-1",
  });
  input.out.info(`Uploaded SBOM (${mediaType}) for ${result.image} to ${result.stored}`);
};
