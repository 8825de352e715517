/**
 * `download signature IMAGE` (and later `download attestation`): the stored signatures as JSON
 * lines, as cosign prints them (cosign-spec.md section 10.2).
 *
 * @module
 */

import { fromUtf8, toBase64 } from "../lib/_bytes.ts";
import { parseJson } from "../lib/_json.ts";
import { parseImageReference } from "../lib/oci_reference.ts";
import { readBundleReferrers } from "../lib/oci_referrers.ts";
import { ANNOTATION, type DigestReference, readLegacyAttachments } from "../lib/oci_signatures.ts";
import type { CommandRun } from "./app.ts";
import { createRegistryClient, targetRepository } from "./registry_options.ts";

/**
 * Print each signature of an image on its own line: Sigstore bundles when present, else the
 * legacy layers as `{Base64Signature, Payload, Cert, Chain, Bundle, RFC3161Timestamp}`.
 */
export const downloadSignature: CommandRun = async (input) => {
  const client = createRegistryClient(input);
  const reference = parseImageReference(input.args[0]!);
  const image: DigestReference = {
    registry: reference.registry,
    repository: reference.repository,
    digest: await client.resolveDigest(reference),
  };
  const target = targetRepository(input);
  const options = target ? { targetRepository: target } : {};
  const [bundles, legacy] = await Promise.all([
    readBundleReferrers(client, image, options),
    readLegacyAttachments(client, image, "sig", options),
  ]);
  for (const referrer of bundles.bundles) input.out.line(fromUtf8(referrer.bundle).trim());
  for (const layer of legacy.layers) {
    const a = layer.annotations;
    const bundle = a[ANNOTATION.BUNDLE];
    const timestamp = a[ANNOTATION.RFC3161_TIMESTAMP];
    input.out.json({
      Base64Signature: a[ANNOTATION.SIGNATURE] ?? "",
      Payload: toBase64(layer.payload),
      ...(a[ANNOTATION.CERTIFICATE] ? { Cert: a[ANNOTATION.CERTIFICATE] } : {}),
      ...(a[ANNOTATION.CHAIN] ? { Chain: a[ANNOTATION.CHAIN] } : {}),
      ...(bundle !== undefined ? { Bundle: parseJson(bundle, "bundle annotation") } : {}),
      ...(timestamp !== undefined
        ? { RFC3161Timestamp: parseJson(timestamp, "timestamp annotation") }
        : {}),
    });
  }
  if (bundles.bundles.length === 0 && legacy.layers.length === 0) {
    input.out.info(`No signatures found for ${input.args[0]}`);
  }
};
