/**
 * Signing and attesting container images (cosign-spec.md sections 1-3).
 *
 * Two storage formats: `legacy` appends a layer to the image's `sha256-<hex>.sig` (or `.att`)
 * manifest (mode A, with cosign's dedupe), and `bundle` pushes a Sigstore bundle v0.3 as an OCI
 * referrer of the image (mode C, cosign v3's default), with the fallback index on registries
 * without the referrers API.
 *
 * @module
 */

import { type Bytes, fromBase64, type HashName, utf8 } from "../util/bytes.ts";
import { encodeBundle } from "../bundle/serialize.ts";
import type { RegistryClient } from "../oci/client.ts";
import { MEDIA_TYPE, type OciDescriptor } from "../oci/manifest.ts";
import {
  dockerReference,
  formatRepository,
  type ImageReference,
  type RepositoryRef,
} from "../oci/reference.ts";
import { writeBundleReferrer } from "../storage/referrers.ts";
import { writeLegacyReferrer } from "../storage/legacy_referrers.ts";
import {
  ANNOTATION,
  appendLegacyAttachment,
  collectSigningTargets,
  type DigestReference,
} from "../storage/signatures.ts";
import {
  buildCosignSignStatement,
  buildStatement,
  COSIGN_SIGN_PREDICATE_TYPE,
  findSubject,
  parseStatement,
} from "../payload/statement.ts";
import { parseEnvelope } from "../payload/dsse.ts";
import { CosignError, errorMessage } from "../errors.ts";
import { encodeSimpleSigningPayload } from "../payload/simple_signing.ts";
import {
  buildBundle,
  checkWitnesses,
  legacyAnnotations,
  signEnvelope,
  type SigningIdentity,
  type SigningServices,
  signMessage,
} from "./signature.ts";
import { verifySignature } from "../keys/public_key.ts";

/**
 * Where signatures go: legacy `.sig`/`.att` tags (mode A), Sigstore bundle referrers (mode C),
 * or legacy signature images as OCI 1.1 referrers (mode B, cosign
 * `--registry-referrers-mode=oci-1-1`; signatures only).
 */
export type StorageFormat = "legacy" | "bundle" | "legacy-referrer";

/** Options shared by image signing and attesting. */
export interface ImageSigningOptions {
  readonly client: RegistryClient;
  readonly identity: SigningIdentity;
  readonly services?: SigningServices;
  /** Default `bundle` (cosign v3); `legacy` writes `.sig`/`.att` tags. */
  readonly format?: StorageFormat;
  /** `COSIGN_REPOSITORY`: store attachments in this repository instead. */
  readonly targetRepository?: RepositoryRef;
  /** `COSIGN_DOCKER_MEDIA_TYPES`: Docker media types for new legacy manifests. */
  readonly dockerMediaTypes?: boolean;
  /** When false, sign but store nothing (cosign `--upload=false`). */
  readonly upload?: boolean;
  readonly now?: Date;
}

/** Options of `signImage`. */
export interface SignImageOptions extends ImageSigningOptions {
  /** `-a key=value`: signed claims (SimpleSigning `optional`, or statement subject annotations). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Also sign every manifest of an index (`--recursive`). */
  readonly recursive?: boolean;
}

/** One image signature that was made. */
export interface ImageSignature {
  /** The image that was signed, by digest. */
  readonly image: DigestReference;
  /** How the signature was stored: legacy `.sig` tag, bundle referrer, or legacy referrer. */
  readonly format: StorageFormat;
  /** The signed payload: SimpleSigning JSON, or the in-toto statement. */
  readonly payload: Bytes;
  /** The signature over the payload (ECDSA: DER). */
  readonly signature: Bytes;
  /** Where it was stored (absent with `upload: false`). */
  readonly stored?: ImageReference;
  /** False when an identical signature was already stored (legacy dedupe). */
  readonly appended: boolean;
  /** The bundle bytes (bundle format). */
  readonly bundle?: Bytes;
  /** The legacy layer annotations (legacy format). */
  readonly annotations?: Readonly<Record<string, string>>;
}

async function subjectOf(client: RegistryClient, image: DigestReference): Promise<OciDescriptor> {
  return await client.resolve(image);
}

/**
 * Sign an image (and with `recursive`, each manifest of its index): resolve it to a digest,
 * sign the SimpleSigning payload (legacy) or cosign's in-toto statement (bundle), record the
 * witnesses, and store the signature beside the image.
 */
export async function signImage(
  reference: ImageReference,
  options: SignImageOptions,
): Promise<ImageSignature[]> {
  const { client, identity } = options;
  const services = options.services ?? {};
  const format = options.format ?? "bundle";
  const targets = await collectSigningTargets(client, reference, {
    recursive: options.recursive ?? false,
  });
  const results: ImageSignature[] = [];
  for (const image of targets) {
    if (format === "legacy" || format === "legacy-referrer") {
      const payload = encodeSimpleSigningPayload({
        dockerReference: dockerReference(image),
        digest: image.digest,
        ...(options.annotations ? { annotations: options.annotations } : {}),
      });
      checkWitnesses(identity, services, { legacy: true });
      const witnessed = await signMessage(payload, identity, services);
      const annotations = legacyAnnotations(identity, witnessed);
      if (options.upload === false) {
        results.push({
          image,
          format,
          payload,
          signature: witnessed.signature,
          appended: false,
          annotations,
        });
        continue;
      }
      if (format === "legacy-referrer") {
        const written = await writeLegacyReferrer(
          client,
          image,
          await subjectOf(client, image),
          "sig",
          {
            payload,
            mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
            annotations,
          },
          options.targetRepository ? { targetRepository: options.targetRepository } : {},
        );
        results.push({
          image,
          format,
          payload,
          signature: witnessed.signature,
          stored: written.reference,
          appended: true,
          annotations,
        });
        continue;
      }
      const stored = await appendLegacyAttachment(client, image, "sig", {
        payload,
        mediaType: MEDIA_TYPE.SIMPLE_SIGNING,
        annotations,
      }, {
        ...(options.targetRepository ? { targetRepository: options.targetRepository } : {}),
        dockerMediaTypes: options.dockerMediaTypes ?? false,
        // cosign's dedupe: the existing layer's signature verifies with the new signer's key.
        isDuplicate: async (existing) => {
          const sig = existing.annotations[ANNOTATION.SIGNATURE];
          if (!sig) return false;
          try {
            return await verifySignature(identity.signer.publicKey, payload, fromBase64(sig));
          } catch {
            return false;
          }
        },
      });
      results.push({
        image,
        format,
        payload,
        signature: witnessed.signature,
        stored: stored.reference,
        appended: stored.appended,
        annotations,
      });
      continue;
    }
    const statement = buildCosignSignStatement({
      digest: image.digest,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    });
    const signed = await signEnvelope(statement, identity, services);
    const bundle = encodeBundle(
      buildBundle(identity, { kind: "dsseEnvelope", envelope: signed.envelope }, signed),
    );
    const signature = signed.envelope.signatures[0]!.sig;
    if (options.upload === false) {
      results.push({ image, format, payload: statement, signature, appended: false, bundle });
      continue;
    }
    const written = await writeBundleReferrer(
      client,
      image,
      await subjectOf(client, image),
      bundle,
      {
        predicateType: COSIGN_SIGN_PREDICATE_TYPE,
        ...(options.targetRepository ? { targetRepository: options.targetRepository } : {}),
        ...(options.now ? { created: options.now } : {}),
      },
    );
    results.push({
      image,
      format,
      payload: statement,
      signature,
      stored: written.reference,
      appended: true,
      bundle,
    });
  }
  return results;
}

/**
 * Whether a legacy attestation layer (a DSSE envelope) states `predicateType`, as cosign's
 * ReplaceOp decides; a layer that is no envelope of a statement stops the replace, as in cosign.
 */
function sameType(layer: Uint8Array, predicateType: string): boolean {
  try {
    return parseStatement(parseEnvelope(layer).payload).predicateType === predicateType;
  } catch (cause) {
    throw new CosignError(
      "PAYLOAD_MALFORMED",
      `Cannot replace: an existing attestation is not a DSSE envelope of an in-toto statement: ${
        errorMessage(cause)
      }`,
      { cause },
    );
  }
}

/** Options of `attestImage`: a predicate to wrap in a statement, or a whole statement. */
export interface AttestImageOptions extends ImageSigningOptions {
  /** The predicate type URI (with `predicate`). */
  readonly predicateType?: string;
  /** The predicate JSON value (already built from `--predicate` and `--type`). */
  readonly predicate?: unknown;
  /**
   * `--statement`: a complete in-toto statement, signed verbatim instead of one built from the
   * predicate; a subject must carry the image's digest.
   */
  readonly statement?: Uint8Array;
  /**
   * cosign's `attest --replace` (legacy format): existing `.att` layers of the same predicate
   * type are dropped and the new one goes first. Bundle referrers are never replaced (as in
   * cosign, which ignores the flag there).
   */
  readonly replace?: boolean;
}

/** One attestation that was made. */
export interface ImageAttestation {
  /** The image that was attested, by digest. */
  readonly image: DigestReference;
  /** How the attestation was stored: legacy `.att` tag or bundle referrer. */
  readonly format: StorageFormat;
  /** The signed in-toto statement bytes. */
  readonly statement: Bytes;
  /** The DSSE envelope JSON exactly as signed and logged. */
  readonly envelopeJson: string;
  /** Where it was stored: the `.att` tag or the referrer manifest (absent with `upload: false`). */
  readonly stored?: ImageReference;
  /** The bundle bytes (bundle format). */
  readonly bundle?: Bytes;
}

/**
 * Attest an image: an in-toto v0.1 statement about its digest (subject name = the repository,
 * as cosign writes it) in a DSSE envelope, stored as a `.att` layer or a bundle referrer.
 */
export async function attestImage(
  reference: ImageReference,
  options: AttestImageOptions,
): Promise<ImageAttestation> {
  const { client, identity } = options;
  const services = options.services ?? {};
  const format = options.format ?? "bundle";
  if (format === "legacy-referrer") {
    throw new TypeError(
      "Attestations have no legacy OCI 1.1 referrer form: use the bundle or legacy format",
    );
  }
  const subject = await client.resolve(reference);
  const image: DigestReference = {
    registry: reference.registry,
    repository: reference.repository,
    digest: subject.digest,
  };
  const colon = image.digest.indexOf(":");
  const algorithm = image.digest.slice(0, colon);
  const hex = image.digest.slice(colon + 1);
  let statement: Bytes;
  let predicateType: string;
  if (options.statement !== undefined) {
    if (options.predicateType !== undefined || options.predicate !== undefined) {
      throw new TypeError("Give a statement or a predicate, not both");
    }
    const parsed = parseStatement(options.statement);
    if (!findSubject(parsed, algorithm as HashName, hex)) {
      throw new CosignError(
        "PAYLOAD_SUBJECT_MISMATCH",
        `The statement has no subject with the digest of "${
          formatRepository(image)
        }@${image.digest}"`,
      );
    }
    statement = Uint8Array.from(options.statement) as Bytes;
    predicateType = parsed.predicateType;
  } else {
    if (options.predicateType === undefined) {
      throw new TypeError("Give a statement, or a predicate type and predicate");
    }
    predicateType = options.predicateType;
    statement = buildStatement({
      version: "v0.1",
      subjects: [{ name: formatRepository(image), digest: { [algorithm]: hex } }],
      predicateType,
      predicate: options.predicate,
    });
  }
  if (format === "legacy") {
    checkWitnesses(identity, services, { legacy: true });
    const signed = await signEnvelope(statement, identity, services, { style: "v3" });
    const result: ImageAttestation = {
      image,
      format,
      statement,
      envelopeJson: signed.envelopeJson,
    };
    if (options.upload === false) return result;
    const stored = await appendLegacyAttachment(client, image, "att", {
      payload: utf8(signed.envelopeJson),
      mediaType: MEDIA_TYPE.DSSE_ENVELOPE,
      annotations: legacyAnnotations(identity, signed, {
        [ANNOTATION.PREDICATE_TYPE]: predicateType,
      }),
    }, {
      ...(options.targetRepository ? { targetRepository: options.targetRepository } : {}),
      dockerMediaTypes: options.dockerMediaTypes ?? false,
      ...(options.replace ? { replaces: (old) => sameType(old.payload, predicateType) } : {}),
    });
    return { ...result, stored: stored.reference };
  }
  const signed = await signEnvelope(statement, identity, services);
  const bundle = encodeBundle(
    buildBundle(identity, { kind: "dsseEnvelope", envelope: signed.envelope }, signed),
  );
  const result: ImageAttestation = {
    image,
    format,
    statement,
    envelopeJson: signed.envelopeJson,
    bundle,
  };
  if (options.upload === false) return result;
  const written = await writeBundleReferrer(client, image, subject, bundle, {
    predicateType,
    ...(options.targetRepository ? { targetRepository: options.targetRepository } : {}),
    ...(options.now ? { created: options.now } : {}),
  });
  return { ...result, stored: written.reference };
}
