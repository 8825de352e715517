/**
 * `sign IMAGE...`: sign container images (cosign-spec.md sections 1-2, 10.2).
 *
 * @module
 */

import { toBase64, utf8 } from "../../lib/util/bytes.ts";
import { decodePemBlocks } from "../../lib/util/pem.ts";
import { encodeLegacyBlobBundle, legacyBundleToTlogEntry } from "../../lib/bundle/legacy.ts";
import { ANNOTATION } from "../../lib/storage/signatures.ts";
import { CosignError } from "../../lib/errors.ts";
import { formatImageReference, parseImageReference } from "../../lib/oci/reference.ts";
import { type ImageSignature, signImage } from "../../lib/sign/image.ts";
import type { CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";
import { signingIdentity, signingServices } from "../options/signing.ts";
import { parseAnnotations } from "../options/verify.ts";

/**
 * What `sign --bundle FILE` writes (cosign v3): the Sigstore bundle that is stored as the
 * referrer; with `--new-bundle-format=false`, cosign's local signed payload (the signature, the
 * certificate as base64 DER, the Rekor bundle), as its legacy path writes it.
 */
function bundleFile(signature: ImageSignature): Uint8Array {
  if (signature.bundle) return signature.bundle;
  const annotations = signature.annotations ?? {};
  const certificate = annotations[ANNOTATION.CERTIFICATE];
  const rekorBundle = annotations[ANNOTATION.BUNDLE];
  return utf8(encodeLegacyBlobBundle({
    signature: signature.signature,
    ...(certificate ? { certificateDer: decodePemBlocks(certificate)[0]!.bytes } : {}),
    ...(rekorBundle ? { rekorBundle: legacyBundleToTlogEntry(rekorBundle) } : {}),
  }));
}

/** Sign each image and store the signatures beside it. */
export const sign: CommandRun = async (input) => {
  const { flags, out, ctx } = input;
  const references = input.args.map(parseImageReference);
  // Usage first: nothing is asked of a key, a token or a service for a command that cannot run.
  const upload = flags.boolean("upload");
  const outputSignature = flags.string("output-signature");
  const outputPayload = flags.string("output-payload");
  if ((outputSignature || outputPayload) && references.length > 1) {
    throw new CosignError(
      "CLI_USAGE",
      "--output-signature and --output-payload need exactly one image",
    );
  }
  const bundlePath = flags.string("bundle");
  if (bundlePath !== undefined && (references.length > 1 || flags.boolean("recursive"))) {
    throw new CosignError(
      "CLI_USAGE",
      "--bundle writes one image's signature: give exactly one image and no --recursive",
    );
  }
  const client = createRegistryClient(input);
  const identity = await signingIdentity(input);
  const services = await signingServices(input, identity);
  // cosign: --registry-referrers-mode=oci-1-1 changes where a legacy signature goes (mode B);
  // a bundle is a referrer either way.
  const format = flags.boolean("new-bundle-format")
    ? "bundle"
    : flags.string("registry-referrers-mode") === "oci-1-1"
    ? "legacy-referrer"
    : "legacy";
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
      if (bundlePath !== undefined) {
        await Deno.writeFile(resolvePath(ctx, bundlePath), bundleFile(signature), { mode: 0o600 });
        out.info(`Wrote bundle to file ${bundlePath}`);
      }
      if (!upload && !outputSignature) out.line(toBase64(signature.signature));
    }
  }
};
