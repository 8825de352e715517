/**
 * What there is to verify for an image (cosign-spec.md sections 1.4, 1.7, 1.8): its Sigstore
 * bundle referrers, its legacy `.sig`/`.att` layers, and when asked its legacy signature
 * referrers (mode B), read concurrently, each turned into a
 * `SignedEntity` for the one pipeline, or kept with the problem that stops it from being checked
 * (malformed annotations, a bundle that is not a DSSE envelope). Verifying the candidates and
 * their image claims is `lib/verify/image.ts`.
 *
 * @module
 */

import { type Bytes, fromBase64 } from "../util/bytes.ts";
import { decodePemBlocks } from "../util/pem.ts";
import { parseBundle } from "../bundle/model.ts";
import { type Envelope, parseEnvelope } from "../payload/dsse.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { legacyBundleToTlogEntry, parseRfc3161Annotation } from "../bundle/legacy.ts";
import type { RegistryClient } from "../oci/client.ts";
import { MEDIA_TYPE } from "../oci/manifest.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "../payload/statement.ts";
import type { RepositoryRef } from "../oci/reference.ts";
import { readBundleReferrers } from "../storage/referrers.ts";
import { readLegacyReferrers } from "../storage/legacy_referrers.ts";
import {
  ANNOTATION,
  type DigestReference,
  type LegacyLayer,
  readLegacyAttachments,
} from "../storage/signatures.ts";
import type { StorageFormat } from "../sign/image.ts";
import type { SignedEntity } from "./entity.ts";
import { bundleToEntity } from "./bundle.ts";

/** Error codes raised here (as the candidate's problem, or by `legacyLayerEntity`). */
export type ImageCandidateErrorCode = "VERIFY_MALFORMED_LAYER" | "VERIFY_NOT_AN_ATTESTATION";

/** A candidate before verification. */
export interface Candidate {
  readonly format: StorageFormat;
  readonly label: string;
  readonly entity?: SignedEntity;
  /** Why it cannot even be checked (malformed, wrong kind). */
  readonly problem?: CosignError;
  readonly payload: Bytes;
  readonly envelope?: Envelope;
  readonly layerAnnotations?: Readonly<Record<string, string>>;
  readonly bundle?: Bytes;
}

/**
 * The entity a legacy `.sig` or `.att` layer describes (cosign-spec.md section 1.4): its
 * payload bytes, the signature annotation (or the envelope for attestations), the certificate
 * and chain annotations, the Rekor bundle annotation and the RFC 3161 annotation. Malformed
 * annotations throw.
 */
export function legacyLayerEntity(
  annotations: Readonly<Record<string, string>>,
  payload: Bytes,
  kind: "sig" | "att",
): { entity: SignedEntity; envelope?: Envelope } {
  const signatureText = annotations[ANNOTATION.SIGNATURE];
  if (signatureText === undefined) {
    throw new CosignError("VERIFY_MALFORMED_LAYER", "the layer has no signature annotation");
  }
  const envelope = kind === "att" ? parseEnvelope(payload) : undefined;
  // The blob path refuses another payload type too (verifyBlobAttestation): a legacy `.att`
  // layer is an in-toto statement in DSSE, or it is not an attestation.
  if (envelope !== undefined && envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new CosignError(
      "VERIFY_NOT_AN_ATTESTATION",
      `the envelope's payload type is "${
        envelope.payloadType.slice(0, 100)
      }", not "${IN_TOTO_PAYLOAD_TYPE}"`,
    );
  }
  const pemCertificates = (text: string | undefined) =>
    text ? decodePemBlocks(text).filter((b) => b.type === "CERTIFICATE") : [];
  const certificates = pemCertificates(annotations[ANNOTATION.CERTIFICATE]);
  const chain = pemCertificates(annotations[ANNOTATION.CHAIN]);
  const bundle = annotations[ANNOTATION.BUNDLE];
  const timestamp = annotations[ANNOTATION.RFC3161_TIMESTAMP];
  const entity: SignedEntity = {
    content: envelope
      ? { kind: "dsse", envelope }
      : { kind: "message", signature: fromBase64(signatureText) },
    material: certificates[0]
      ? {
        kind: "certificate",
        certificate: certificates[0].bytes,
        chain: chain.map((b) => b.bytes),
      }
      : { kind: "publicKey" },
    tlogEntries: bundle === undefined ? [] : [legacyBundleToTlogEntry(bundle)],
    timestamps: timestamp === undefined ? [] : [parseRfc3161Annotation(timestamp)],
    legacy: true,
    ...(envelope ? { envelopeBytes: payload } : {}),
  };
  return envelope ? { entity, envelope } : { entity };
}

/**
 * The layer media type of each legacy kind (cosign-spec.md sections 1.3, 2): a layer of another
 * type is not a signature (or attestation), whatever its annotations say.
 */
const LEGACY_LAYER_MEDIA_TYPE = {
  sig: MEDIA_TYPE.SIMPLE_SIGNING,
  att: MEDIA_TYPE.DSSE_ENVELOPE,
} as const;

function legacyEntity(
  layer: LegacyLayer,
  kind: "sig" | "att",
  format: "legacy" | "legacy-referrer" = "legacy",
): Candidate {
  const label = `legacy ${kind === "sig" ? "signature" : "attestation"} ${
    format === "legacy" ? "" : "referrer "
  }layer ${layer.descriptor.digest.slice(0, 19)}`;
  const base = {
    format,
    label,
    payload: layer.payload,
    layerAnnotations: layer.annotations,
  };
  try {
    const expected = LEGACY_LAYER_MEDIA_TYPE[kind];
    if (layer.descriptor.mediaType !== expected) {
      throw new CosignError(
        "VERIFY_MALFORMED_LAYER",
        `the layer's media type is "${
          layer.descriptor.mediaType.slice(0, 100)
        }", not "${expected}"`,
      );
    }
    return { ...base, ...legacyLayerEntity(layer.annotations, layer.payload, kind) };
  } catch (error) {
    return { ...base, problem: asProblem(error) };
  }
}

function bundleCandidate(bytes: Bytes, digest: string): Candidate {
  const label = `bundle referrer ${digest.slice(0, 19)}`;
  try {
    const bundle = parseBundle(bytes);
    if (bundle.content.kind !== "dsseEnvelope") {
      throw new CosignError(
        "VERIFY_MALFORMED_LAYER",
        "an image bundle must hold a DSSE envelope, not a message signature",
      );
    }
    const envelope = bundle.content.envelope;
    return {
      format: "bundle",
      label,
      entity: bundleToEntity(bundle),
      payload: envelope.payload,
      envelope,
      bundle: bytes,
    };
  } catch (error) {
    return { format: "bundle", label, payload: bytes, problem: asProblem(error) };
  }
}

function asProblem(error: unknown): CosignError {
  return error instanceof CosignError
    ? error
    : new CosignError("VERIFY_MALFORMED_LAYER", errorMessage(error), { cause: error });
}

/**
 * The image's stored signatures (`sig`) or attestations (`att`): bundle referrers and legacy
 * layers of the formats asked for (default both), read concurrently, each as a candidate.
 */
export async function collectCandidates(
  client: RegistryClient,
  image: DigestReference,
  kind: "sig" | "att",
  options: {
    readonly formats?: readonly StorageFormat[];
    readonly targetRepository?: RepositoryRef;
  },
): Promise<Candidate[]> {
  const formats = options.formats ?? ["bundle", "legacy"];
  const target = options.targetRepository ? { targetRepository: options.targetRepository } : {};
  const [bundles, legacy, referrers] = await Promise.all([
    formats.includes("bundle") ? readBundleReferrers(client, image, target) : undefined,
    formats.includes("legacy") ? readLegacyAttachments(client, image, kind, target) : undefined,
    // Mode B holds signatures only (cosign writes no attestation there).
    kind === "sig" && formats.includes("legacy-referrer")
      ? readLegacyReferrers(client, image, target)
      : undefined,
  ]);
  return [
    ...(bundles?.bundles ?? []).map((b) => bundleCandidate(b.bundle, b.manifest.digest)),
    ...(legacy?.layers ?? []).map((layer) => legacyEntity(layer, kind)),
    ...(referrers?.layers ?? []).map((layer) => legacyEntity(layer, kind, "legacy-referrer")),
  ];
}
