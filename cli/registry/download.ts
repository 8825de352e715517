/**
 * `download signature|attestation|sbom IMAGE`: the stored signatures and attestations as JSON
 * lines, and the SBOM as it was attached, as cosign prints them (cosign-spec.md section 10.2).
 *
 * @module
 */

import { fromUtf8, toBase64 } from "../../lib/util/bytes.ts";
import { parseJson } from "../../lib/util/json.ts";
import { parseBundle } from "../../lib/bundle/model.ts";
import { parseEnvelope } from "../../lib/payload/dsse.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import type { RegistryClient } from "../../lib/oci/client.ts";
import {
  formatPlatform,
  type ResolvedImage,
  resolvePlatformImage,
} from "../../lib/oci/platform.ts";
import { parseManifest } from "../../lib/oci/manifest.ts";
import { formatImageReference, parseImageReference } from "../../lib/oci/reference.ts";
import { readBundleReferrers } from "../../lib/storage/referrers.ts";
import {
  ANNOTATION,
  attachmentReference,
  type DigestReference,
  getIfExists,
  readLegacyAttachments,
} from "../../lib/storage/signatures.ts";
import { COSIGN_SIGN_PREDICATE_TYPE, parseStatement } from "../../lib/payload/statement.ts";
import { predicateTypeFor } from "../../lib/payload/predicate.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { platformFlag } from "./copy.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";

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

/** One line of JSON: the text as is when it is one line already, else re-serialized compactly. */
function jsonLine(raw: Uint8Array, what: string): string {
  const text = fromUtf8(raw).trim();
  return text.includes("\n") ? JSON.stringify(parseJson(text, what)) : text;
}

/** The image a download reads: the reference, or one platform of its index (`--platform`). */
async function downloadTarget(
  input: CommandInput,
  client: RegistryClient,
): Promise<ResolvedImage> {
  const reference = parseImageReference(input.args[0]!);
  const platform = platformFlag(input);
  return await resolvePlatformImage(client, reference, platform);
}

/**
 * Print an image's attestations as JSON lines: Sigstore bundles (signature bundles of cosign's
 * `sign` left out) then legacy DSSE envelopes, those of `--predicate-type` only when given; none
 * of that type is an error.
 */
export const downloadAttestation: CommandRun = async (input) => {
  const { out, flags } = input;
  const client = createRegistryClient(input);
  const typeFlag = flags.string("predicate-type");
  let predicateType: string | undefined;
  if (typeFlag !== undefined) {
    try {
      predicateType = predicateTypeFor(typeFlag);
    } catch (error) {
      throw new CosignError(
        "CLI_USAGE",
        `Invalid --predicate-type "${typeFlag}": ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }
  const image = await downloadTarget(input, client);
  const target = targetRepository(input);
  const options = target ? { targetRepository: target } : {};
  const [bundles, legacy] = await Promise.all([
    readBundleReferrers(client, image, options),
    readLegacyAttachments(client, image, "att", options),
  ]);
  const found = new Set<string>();
  let printed = 0;
  for (const referrer of bundles.bundles) {
    let type: string;
    try {
      const bundle = parseBundle(referrer.bundle, { maxBytes: client.limits.maxBundleBytes });
      if (bundle.content.kind !== "dsseEnvelope") continue;
      type = parseStatement(bundle.content.envelope.payload).predicateType;
    } catch (error) {
      out.debug(`skipped bundle ${referrer.manifest.digest}: ${errorMessage(error)}`);
      continue;
    }
    found.add(type);
    if (
      predicateType === undefined ? type === COSIGN_SIGN_PREDICATE_TYPE : type !== predicateType
    ) {
      continue;
    }
    out.line(jsonLine(referrer.bundle, "bundle"));
    printed++;
  }
  for (const layer of legacy.layers) {
    let type: string;
    try {
      type = parseStatement(parseEnvelope(layer.payload).payload).predicateType;
    } catch (error) {
      out.debug(`skipped attestation layer ${layer.descriptor.digest}: ${errorMessage(error)}`);
      continue;
    }
    found.add(type);
    if (predicateType !== undefined && type !== predicateType) continue;
    out.line(jsonLine(layer.payload, "attestation"));
    printed++;
  }
  const name = `${input.args[0]} (${image.digest})`;
  if (printed === 0 && predicateType !== undefined) {
    throw new CosignError(
      "VERIFY_NO_MATCHING_ATTESTATION",
      `No attestation of type "${predicateType}" found for ${name}; found: ${
        [...found].map((t) => `"${t}"`).join(", ") || "none"
      }`,
    );
  }
  if (printed === 0) out.info(`No attestations found for ${name}`);
};

/**
 * Print an image's SBOM (the `.sbom` tag's single layer) to stdout, or with `--output json` a
 * JSON object with its media type, digest and text.
 */
export const downloadSbom: CommandRun = async (input) => {
  const { out } = input;
  const client = createRegistryClient(input);
  const image = await downloadTarget(input, client);
  const target = targetRepository(input);
  const ref = attachmentReference(image, "sbom", target ? { targetRepository: target } : {});
  const fetched = await getIfExists(client, ref);
  if (fetched === undefined) {
    if (image.platforms !== undefined && image.platforms.length > 0) {
      out.info(
        "This multi-platform image has no SBOM attached at the index level. Try --platform with" +
          ` one of: ${image.platforms.map(formatPlatform).join(", ")}`,
      );
    }
    throw new CosignError(
      "OCI_MANIFEST_UNKNOWN",
      `No SBOM attached to ${
        input.args[0]
      } (${image.digest}): attach one with "dcosign attach sbom"`,
    );
  }
  const manifest = parseManifest(fetched.bytes, {
    maxLayers: client.limits.maxLayers,
    what: `SBOM manifest "${formatImageReference(ref)}"`,
  });
  const layer = manifest.layers[0];
  if (manifest.layers.length !== 1 || layer === undefined) {
    throw new CosignError(
      "OCI_MANIFEST_INVALID",
      `Invalid SBOM manifest "${
        formatImageReference(ref)
      }": ${manifest.layers.length} layers, expected 1`,
    );
  }
  const repo = target ?? image;
  const sbom = await client.getBlob(repo, layer.digest, { size: layer.size });
  out.info(`Found SBOM of media type: ${layer.mediaType}`);
  if (input.flags.string("output") === "json") {
    out.json({ mediaType: layer.mediaType, digest: layer.digest, sbom: fromUtf8(sbom) });
  } else {
    out.result(sbom);
  }
};
