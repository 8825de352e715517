/**
 * `sign IMAGE...`: sign container images (cosign-spec.md sections 1-2, 10.2).
 *
 * @module
 */

import { toBase64 } from "../../lib/util/bytes.ts";
import { CosignError } from "../../lib/errors.ts";
import { formatImageReference, parseImageReference } from "../../lib/oci/reference.ts";
import { signImage } from "../../lib/sign/image.ts";
import type { CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";
import { signingIdentity, signingServices } from "../options/signing.ts";
import { parseAnnotations } from "../options/verify.ts";

/** Sign each image and store the signatures beside it. */
export const sign: CommandRun = async (input) => {
  const { flags, out, ctx } = input;
  const references = input.args.map(parseImageReference);
  const client = createRegistryClient(input);
  const identity = await signingIdentity(input);
  const services = await signingServices(input, identity);
  const format = flags.boolean("new-bundle-format") ? "bundle" : "legacy";
  const upload = flags.boolean("upload");
  const outputSignature = flags.string("output-signature");
  const outputPayload = flags.string("output-payload");
  if ((outputSignature || outputPayload) && references.length > 1) {
    throw new CosignError(
      "CLI_USAGE",
      "--output-signature and --output-payload need exactly one image",
    );
  }
  const target = targetRepository(input);
  for (const reference of references) {
    const signatures = await signImage(reference, {
      client,
      identity: identity.identity,
      services,
      format,
      upload,
      annotations: parseAnnotations(flags.list("annotations")),
      recursive: flags.boolean("recursive"),
      dockerMediaTypes: ctx.env("COSIGN_DOCKER_MEDIA_TYPES") === "1",
      now: ctx.now(),
      ...(target ? { targetRepository: target } : {}),
    });
    for (const signature of signatures) {
      const image = formatImageReference(signature.image);
      if (signature.stored) {
        out.info(
          signature.appended
            ? `Pushing signature to: ${formatImageReference(signature.stored)}`
            : `Signature for ${image} already present in ${formatImageReference(signature.stored)}`,
        );
      } else {
        out.info(`Signed ${image} (not uploaded: --upload=false)`);
      }
      if (outputSignature) {
        await Deno.writeTextFile(resolvePath(ctx, outputSignature), toBase64(signature.signature));
      }
      if (outputPayload) await Deno.writeFile(resolvePath(ctx, outputPayload), signature.payload);
      if (!upload && !outputSignature) out.line(toBase64(signature.signature));
    }
  }
};
