/**
 * `attest IMAGE...`: attest container images (cosign-spec.md sections 1.8, 3 and 10.2).
 *
 * The predicate file (or the `--statement`) and `--type` are checked before any key is loaded or
 * request made, so a wrong type or a predicate missing SLSA's required fields costs nothing.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { formatImageReference, parseImageReference } from "../../lib/oci/reference.ts";
import { buildPredicate, predicateTypeFor } from "../../lib/payload/predicate.ts";
import { MAX_STATEMENT_BYTES, parseStatement } from "../../lib/payload/statement.ts";
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

/** Attest each image with the predicate (or statement) and store the attestation beside it. */
export const attest: CommandRun = async (input) => {
  const { flags, out, ctx } = input;
  const predicatePath = flags.string("predicate");
  const statementPath = flags.string("statement");
  if (
    (predicatePath === undefined || predicatePath === "") &&
    (statementPath === undefined || statementPath === "")
  ) {
    throw new CosignError(
      "CLI_USAGE",
      "attest needs --predicate FILE (the predicate JSON, or text for --type custom and spdx) or --statement FILE (a whole in-toto statement)",
    );
  }
  if (predicatePath !== undefined && statementPath !== undefined) {
    throw new CosignError("CLI_USAGE", "Give --predicate or --statement, not both");
  }
  const typeFlag = flags.string("type") ?? "custom";
  let wantedType: string;
  try {
    wantedType = predicateTypeFor(typeFlag);
  } catch (error) {
    throw new CosignError("CLI_USAGE", `Invalid --type "${typeFlag}": ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const references = input.args.map(parseImageReference);
  let content: { predicateType: string; predicate: unknown } | { statement: Uint8Array };
  if (statementPath !== undefined) {
    const statement = await input.ctx.readFile(statementPath, {
      maxBytes: MAX_STATEMENT_BYTES,
      what: "--statement",
    });
    // Checked before any key is loaded: the statement must parse, and --type (when given) agree.
    const { predicateType } = parseStatement(statement);
    if (flags.has("type") && predicateType !== wantedType) {
      throw new CosignError(
        "CLI_USAGE",
        `--type "${typeFlag}" is "${wantedType}" but the statement's predicate type is "${predicateType}"`,
      );
    }
    out.info(`Using statement from: ${statementPath}`);
    content = { statement };
  } else {
    content = buildPredicate(typeFlag, await readPredicate(input, predicatePath!), ctx.now());
  }
  const client = createRegistryClient(input);
  const identity = await signingIdentity(input);
  const services = await signingServices(input, identity);
  const format = flags.boolean("new-bundle-format") ? "bundle" : "legacy";
  const replace = flags.boolean("replace");
  if (replace && format === "bundle") {
    out.warn(
      "--replace replaces legacy .att layers (--new-bundle-format=false) only: the bundle referrer is added beside the image's other attestations, as cosign does (dcosign clean --type attestation removes them)",
    );
  }
  const upload = !flags.boolean("no-upload");
  const target = targetRepository(input);
  for (const reference of references) {
    const attestation = await attestImage(reference, {
      client,
      identity: identity.identity,
      services,
      format,
      upload,
      ...content,
      ...(replace ? { replace } : {}),
      dockerMediaTypes: ctx.env("COSIGN_DOCKER_MEDIA_TYPES") === "1",
      now: ctx.now(),
      ...(target ? { targetRepository: target } : {}),
    });
    const image = formatImageReference(attestation.image);
    const predicateType = parseStatement(attestation.statement).predicateType;
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
