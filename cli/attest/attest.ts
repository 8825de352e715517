/**
 * `attest IMAGE...`: attest container images (cosign-spec.md sections 1.8, 3 and 10.2).
 *
 * The predicate file and `--type` are checked before any key is loaded or request made, so a
 * wrong type or a predicate missing SLSA's required fields costs nothing.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { formatImageReference, parseImageReference } from "../../lib/oci/reference.ts";
import { buildPredicate, predicateTypeFor } from "../../lib/payload/predicate.ts";
import { MAX_STATEMENT_BYTES } from "../../lib/payload/statement.ts";
import { attestImage } from "../../lib/sign/image.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";
import { signingIdentity, signingServices } from "../options/signing.ts";

/**
 * Largest predicate file read: a statement holding it must stay under the statement limit,
 * and the limit is checked before the file is read (SECURITY.md rule 4).
 */
const MAX_PREDICATE_BYTES = MAX_STATEMENT_BYTES;

async function readPredicate(input: CommandInput, path: string): Promise<Uint8Array> {
  return await input.ctx.readFile(path, { maxBytes: MAX_PREDICATE_BYTES, what: "predicate" });
}

/** Attest each image with the predicate and store the attestation beside it. */
export const attest: CommandRun = async (input) => {
  const { flags, out, ctx } = input;
  const predicatePath = flags.string("predicate");
  if (predicatePath === undefined || predicatePath === "") {
    throw new CosignError(
      "CLI_USAGE",
      "attest needs --predicate FILE: the predicate JSON (or text for --type custom and spdx)",
    );
  }
  const typeFlag = flags.string("type") ?? "custom";
  try {
    predicateTypeFor(typeFlag);
  } catch (error) {
    throw new CosignError("CLI_USAGE", `Invalid --type "${typeFlag}": ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const references = input.args.map(parseImageReference);
  const { predicateType, predicate } = buildPredicate(
    typeFlag,
    await readPredicate(input, predicatePath),
    ctx.now(),
  );
  const client = createRegistryClient(input);
  const identity = await signingIdentity(input);
  const services = await signingServices(input, identity);
  const format = flags.boolean("new-bundle-format") ? "bundle" : "legacy";
  const upload = !flags.boolean("no-upload");
  const target = targetRepository(input);
  for (const reference of references) {
    const attestation = await attestImage(reference, {
      client,
      identity: identity.identity,
      services,
      format,
      upload,
      predicateType,
      predicate,
      dockerMediaTypes: ctx.env("COSIGN_DOCKER_MEDIA_TYPES") === "1",
      now: ctx.now(),
      ...(target ? { targetRepository: target } : {}),
    });
    const image = formatImageReference(attestation.image);
    if (attestation.stored) {
      out.info(
        `Pushing attestation of type "${predicateType}" for ${image} to: ${
          formatImageReference(attestation.stored)
        }`,
      );
    } else {
      out.info(`Attested ${image} (not uploaded: --no-upload)`);
      out.line(attestation.envelopeJson);
    }
  }
};
