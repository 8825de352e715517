/**
 * `cosign attach signature|attestation|sbom`: store signatures, attestations and SBOMs made
 * elsewhere next to an image (cosign-spec.md sections 1.3-1.5, 1.8, 1.9).
 *
 * - A signature (base64) over a SimpleSigning payload is appended to the `.sig` tag with its
 *   certificate, chain, legacy Rekor bundle and RFC 3161 timestamp annotations; a Sigstore
 *   bundle becomes a bundle referrer instead.
 * - DSSE envelopes (one JSON value, or JSON lines) are appended to the `.att` tag byte for byte
 *   (a legacy envelope must stay identical to what the log saw: gotcha 1); a Sigstore bundle
 *   becomes a bundle referrer.
 * - An SBOM replaces the `.sbom` tag: one layer of the SBOM's media type.
 *
 * Nothing is stored that could never verify for this image: a payload or statement naming another
 * digest is refused up front, naming both digests (cosign stores it and lets verify fail later),
 * as is anything malformed: a signature that is not base64, a certificate or chain that does not
 * parse, a payload that is not SimpleSigning, an envelope that is not DSSE over in-toto. Every
 * check runs before the first upload.
 *
 * @module
 */

import { type Bytes, fromBase64, fromUtf8, sha256Digest, utf8 } from "../util/bytes.ts";
import { parseJson } from "../util/json.ts";
import { decodePemBlocks } from "../util/pem.ts";
import { isSigstoreBundle, parseBundle } from "../bundle/model.ts";
import { parseEnvelope } from "../payload/dsse.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { encodeRfc3161Annotation, tlogEntryToLegacyBundle } from "../bundle/legacy.ts";
import type { RegistryClient } from "../oci/client.ts";
import { encodeManifest, MEDIA_TYPE, type OciManifest } from "../oci/manifest.ts";
import {
  dockerReference,
  formatImageReference,
  type ImageReference,
  parseDigest,
  withDigest,
} from "../oci/reference.ts";
import { writeBundleReferrer } from "./referrers.ts";
import {
  ANNOTATION,
  appendLegacyAttachment,
  attachmentReference,
  type DigestReference,
  encodeSignatureConfig,
  type TargetOptions,
} from "./signatures.ts";
import {
  decodeSimpleSigningPayload,
  encodeSimpleSigningPayload,
} from "../payload/simple_signing.ts";
import { findSubject, IN_TOTO_PAYLOAD_TYPE, parseStatement } from "../payload/statement.ts";
import type { TlogEntry } from "../tlog/entry.ts";
import { parseCertificate } from "../x509/certificate.ts";

import { writeLegacyReferrer } from "./legacy_referrers.ts";
/** Error codes raised here (besides the client's). */
export type OciAttachErrorCode = "OCI_ATTACHMENT_INVALID" | "OCI_ATTACHMENT_MISMATCH";

/** What was stored. */
export interface AttachResult {
  /** The image, `registry/repo@sha256:...`. */
  readonly image: string;
  /** Where it went: the attachment tag, or the referrer's digest reference. */
  readonly stored: string;
  /** Legacy tag (`legacy`), Sigstore bundle referrer (`bundle`), or mode B referrer. */
  readonly format: "legacy" | "bundle" | "legacy-referrer";
  /** False when an identical signature was already there (nothing pushed). */
  readonly appended: boolean;
}

/** A signature made elsewhere (`attach signature`). */
export interface SignatureAttachment {
  /** The signature, base64 (as `--signature` files hold it). */
  readonly signature: string;
  /** The signed SimpleSigning payload; default: the one cosign would sign for the image. */
  readonly payload?: Bytes;
  /** The signing certificate, PEM. */
  readonly certificate?: string;
  /** Its chain (issuer first), PEM. */
  readonly chain?: string;
  /** A DER RFC 3161 `TimeStampResp` over the signature (`--tsr`). */
  readonly timestampResponse?: Bytes;
  /** The log entry with its SET (`--rekor-response`). */
  readonly rekorBundle?: TlogEntry;
}

/** Options of the attach functions. */
export interface AttachOptions extends TargetOptions {
  /** `COSIGN_DOCKER_MEDIA_TYPES`: Docker media types for a new manifest. */
  readonly dockerMediaTypes?: boolean;
}

function invalidInput(what: string, reason: string, cause?: unknown): CosignError {
  return new CosignError(
    "OCI_ATTACHMENT_INVALID",
    `Invalid ${what}: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

async function resolveImage(
  client: RegistryClient,
  image: ImageReference,
): Promise<DigestReference> {
  return {
    registry: image.registry,
    repository: image.repository,
    digest: await client.resolveDigest(image),
  };
}

function imageName(image: DigestReference): string {
  return formatImageReference(withDigest(image, image.digest));
}

/**
 * A certificate (or chain) annotation, checked before anything is uploaded: PEM CERTIFICATE
 * blocks only, and each block an X.509 certificate that parses (an empty block or base64
 * garbage would be stored, then fail every verification).
 */
function checkPem(text: string, what: string): string {
  let blocks;
  try {
    blocks = decodePemBlocks(text);
  } catch (error) {
    throw invalidInput(what, errorMessage(error), error);
  }
  if (blocks.length === 0 || blocks.some((b) => b.type !== "CERTIFICATE")) {
    throw invalidInput(what, "expected PEM CERTIFICATE blocks");
  }
  blocks.forEach((block, i) => {
    try {
      parseCertificate(block.bytes);
    } catch (error) {
      throw invalidInput(what, `PEM block ${i + 1}: ${errorMessage(error)}`, error);
    }
  });
  return text.endsWith("\n") ? text : `${text}\n`;
}

/**
 * `attach signature`: append a signature to the image's `.sig` tag. The payload must be a
 * SimpleSigning payload naming this image's digest; the signature must be base64. An identical
 * signature already there is not appended again.
 */
export async function attachSignature(
  client: RegistryClient,
  reference: ImageReference,
  input: SignatureAttachment,
  options: AttachOptions = {},
): Promise<AttachResult> {
  const image = await resolveImage(client, reference);
  const name = imageName(image);
  const signature = input.signature.trim();
  try {
    if (fromBase64(signature).length === 0) throw new SyntaxError("empty signature");
  } catch (error) {
    throw invalidInput("signature", `expected base64: ${errorMessage(error)}`, error);
  }
  const payload = input.payload ??
    encodeSimpleSigningPayload({ dockerReference: dockerReference(image), digest: image.digest });
  let claimed: string;
  try {
    claimed = decodeSimpleSigningPayload(payload).digest;
  } catch (error) {
    throw invalidInput("payload", `not a SimpleSigning payload: ${errorMessage(error)}`, error);
  }
  if (claimed !== image.digest) {
    throw new CosignError(
      "OCI_ATTACHMENT_MISMATCH",
      `Cannot attach to "${name}": the payload signs "${claimed}" (sign this image's digest)`,
    );
  }
  const annotations: Record<string, string> = { [ANNOTATION.SIGNATURE]: signature };
  if (input.certificate !== undefined) {
    annotations[ANNOTATION.CERTIFICATE] = checkPem(input.certificate, "certificate");
    // cosign writes the chain annotation whenever it writes a certificate, possibly empty.
    annotations[ANNOTATION.CHAIN] = input.chain === undefined
      ? ""
      : checkPem(input.chain, "certificate chain");
  } else if (input.chain !== undefined) {
    throw invalidInput("certificate chain", "given without a certificate");
  }
  if (input.rekorBundle !== undefined) {
    try {
      annotations[ANNOTATION.BUNDLE] = tlogEntryToLegacyBundle(input.rekorBundle);
    } catch (error) {
      throw invalidInput("Rekor response", errorMessage(error), error);
    }
  }
  if (input.timestampResponse !== undefined) {
    try {
      annotations[ANNOTATION.RFC3161_TIMESTAMP] = encodeRfc3161Annotation(input.timestampResponse);
    } catch (error) {
      throw invalidInput("timestamp response", errorMessage(error), error);
    }
  }
  const result = await appendLegacyAttachment(client, image, "sig", {
    payload: Uint8Array.from(payload),
    mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
    annotations,
  }, {
    ...options,
    isDuplicate: (existing) =>
      Promise.resolve(existing.annotations[ANNOTATION.SIGNATURE] === signature),
  });
  return {
    image: name,
    stored: formatImageReference(result.reference),
    format: "legacy",
    appended: result.appended,
  };
}

/**
 * Store a Sigstore bundle (v0.3, DSSE) as a referrer of the image (cosign-spec.md section 1.8).
 * Its statement must name the image's digest; the predicate type annotates the referrer.
 */
export async function attachBundle(
  client: RegistryClient,
  reference: ImageReference,
  bundleBytes: Bytes,
  options: AttachOptions = {},
): Promise<AttachResult> {
  const image = await resolveImage(client, reference);
  const name = imageName(image);
  const bundle = parseBundle(bundleBytes, { maxBytes: client.limits.maxBundleBytes });
  if (bundle.version !== "0.3") {
    throw invalidInput(
      "bundle",
      `version ${bundle.version}: only v0.3 bundles are stored as referrers (cosign-spec.md 1.8)`,
    );
  }
  if (bundle.content.kind !== "dsseEnvelope") {
    throw invalidInput("bundle", "it signs a message, not a DSSE statement about an image");
  }
  const statement = parseStatement(bundle.content.envelope.payload);
  const { algorithm, hex } = parseDigest(image.digest);
  if (!findSubject(statement, algorithm, hex)) {
    throw new CosignError(
      "OCI_ATTACHMENT_MISMATCH",
      `Cannot attach to "${name}": the bundle's statement does not name its digest`,
    );
  }
  const subject = await client.resolve(withDigest(image, image.digest));
  const written = await writeBundleReferrer(client, image, subject, bundleBytes, {
    ...options,
    predicateType: statement.predicateType,
    content: "dsse-envelope",
  });
  return {
    image: name,
    stored: formatImageReference(written.reference),
    format: "bundle",
    appended: true,
  };
}

/** The envelopes of an attestation file: one JSON value, or JSON lines. */
function splitEnvelopes(file: Bytes, max: number): Bytes[] {
  const text = fromUtf8(file).trim();
  try {
    parseJson(text, "attestation");
    return [utf8(text)];
  } catch {
    // not a single JSON value: JSON lines
  }
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length > max) {
    throw invalidInput("attestation file", `more than ${max} envelopes`);
  }
  return lines.map(utf8);
}

/**
 * `attach attestation`: each DSSE envelope of `file` (JSON or JSON lines) is appended to the
 * `.att` tag as written; a Sigstore bundle file becomes a bundle referrer. Envelopes must carry an
 * in-toto statement naming the image's digest and at least one signature.
 */
export async function attachAttestations(
  client: RegistryClient,
  reference: ImageReference,
  file: Bytes,
  options: AttachOptions = {},
): Promise<AttachResult[]> {
  if (isSigstoreBundle(file)) return [await attachBundle(client, reference, file, options)];
  const image = await resolveImage(client, reference);
  const name = imageName(image);
  const { algorithm, hex } = parseDigest(image.digest);
  if (file.length > client.limits.maxBlobBytes) {
    throw invalidInput(
      "attestation file",
      `${file.length} bytes exceed the limit of ${client.limits.maxBlobBytes}`,
    );
  }
  const layers = splitEnvelopes(file, client.limits.maxSignatures).map((raw, i) => {
    const what = `attestation envelope ${i + 1}`;
    let envelope;
    try {
      envelope = parseEnvelope(raw);
    } catch (error) {
      throw invalidInput(what, errorMessage(error), error);
    }
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
      throw invalidInput(
        what,
        `payload type "${envelope.payloadType}", expected "${IN_TOTO_PAYLOAD_TYPE}"`,
      );
    }
    const statement = parseStatement(envelope.payload);
    if (!findSubject(statement, algorithm, hex)) {
      throw new CosignError(
        "OCI_ATTACHMENT_MISMATCH",
        `Cannot attach ${what} to "${name}": its statement does not name the image's digest`,
      );
    }
    return { raw, predicateType: statement.predicateType };
  });
  if (layers.length === 0) throw invalidInput("attestation file", "no envelope in it");
  const results: AttachResult[] = [];
  for (const layer of layers) {
    const appended = await appendLegacyAttachment(client, image, "att", {
      payload: layer.raw,
      mediaType: MEDIA_TYPE.DSSE_ENVELOPE,
      annotations: { [ANNOTATION.SIGNATURE]: "", [ANNOTATION.PREDICATE_TYPE]: layer.predicateType },
    }, options);
    results.push({
      image: name,
      stored: formatImageReference(appended.reference),
      format: "legacy",
      appended: appended.appended,
    });
  }
  return results;
}

/** The SBOM formats `attach sbom --type` takes. */
export type SbomType = "spdx" | "cyclonedx" | "syft";

/** SBOM layer media types (cosign-spec.md section 1.9). */
export const SBOM_MEDIA_TYPE = {
  SPDX: "text/spdx",
  SPDX_JSON: "text/spdx+json",
  CYCLONEDX_JSON: "application/vnd.cyclonedx+json",
  CYCLONEDX_XML: "application/vnd.cyclonedx+xml",
  SYFT_JSON: "application/vnd.syft+json",
} as const;

/**
 * The layer media type of an SBOM: by `type` and `inputFormat` (`json`, `xml`, `text`), JSON when
 * the file name ends in `.json`, as cosign decides. A format the type has not is a `RangeError`.
 */
export function sbomMediaType(
  type: SbomType,
  options: { inputFormat?: string; fileName?: string } = {},
): string {
  const format = options.inputFormat;
  const json = format === "json" || (format === undefined && options.fileName?.endsWith(".json"));
  const allowed: Record<SbomType, readonly string[]> = {
    spdx: ["json", "text"],
    cyclonedx: ["json", "xml"],
    syft: ["json"],
  };
  if (format !== undefined && !allowed[type].includes(format)) {
    throw new RangeError(
      `Invalid SBOM input format "${format}" for ${type}: expected ${allowed[type].join(" or ")}`,
    );
  }
  switch (type) {
    case "spdx":
      return json ? SBOM_MEDIA_TYPE.SPDX_JSON : SBOM_MEDIA_TYPE.SPDX;
    case "cyclonedx":
      return json ? SBOM_MEDIA_TYPE.CYCLONEDX_JSON : SBOM_MEDIA_TYPE.CYCLONEDX_XML;
    case "syft":
      return SBOM_MEDIA_TYPE.SYFT_JSON;
  }
}

/**
 * `attach sbom`: replace the image's `.sbom` tag with a one-layer manifest holding `sbom` under
 * `mediaType` (cosign's `static.NewFile`: the config is ggcr's for one uncompressed layer); with
 * `referrer`, push that image as an OCI 1.1 referrer of the image instead (cosign
 * `--registry-referrers-mode=oci-1-1`, `legacy_referrers.ts`).
 */
export async function attachSbom(
  client: RegistryClient,
  reference: ImageReference,
  sbom: Bytes,
  mediaType: string,
  options: AttachOptions & { readonly referrer?: boolean } = {},
): Promise<AttachResult> {
  const image = await resolveImage(client, reference);
  const name = imageName(image);
  if (sbom.length === 0) throw invalidInput("SBOM", "the file is empty");
  if (sbom.length > client.limits.maxBlobBytes) {
    throw invalidInput(
      "SBOM",
      `${sbom.length} bytes exceed the limit of ${client.limits.maxBlobBytes}`,
    );
  }
  if (options.referrer) {
    const subject = await client.resolve(withDigest(image, image.digest));
    const written = await writeLegacyReferrer(client, image, subject, "sbom", {
      payload: sbom,
      mediaType,
      annotations: {},
    }, options.targetRepository ? { targetRepository: options.targetRepository } : {});
    return {
      image: name,
      stored: formatImageReference(written.reference),
      format: "legacy-referrer",
      appended: true,
    };
  }
  const repo = options.targetRepository ?? image;
  const layer = await client.uploadBlob(repo, sbom);
  const config = encodeSignatureConfig([layer.digest]);
  await client.uploadBlob(repo, config);
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.OCI_MANIFEST,
    config: { mediaType: MEDIA_TYPE.OCI_CONFIG, size: config.length, digest: sha256Digest(config) },
    layers: [{ mediaType, size: layer.size, digest: layer.digest }],
  };
  const tag = attachmentReference(image, "sbom", options);
  await client.putManifest(tag, utf8(encodeManifest(manifest)), MEDIA_TYPE.OCI_MANIFEST);
  return { image: name, stored: formatImageReference(tag), format: "legacy", appended: true };
}
