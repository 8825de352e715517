/**
 * Sigstore bundles into the verification pipeline (cosign-spec.md section 9.2): a parsed bundle
 * of any version becomes a `SignedEntity` and goes through `verifySignedEntity`.
 *
 * @module
 */

import type { Bundle } from "../bundle/model.ts";
import type { Artifact, SignedEntity, VerificationPolicy, VerificationResult } from "./entity.ts";
import { verifySignedEntity } from "./pipeline.ts";

/** The entity a bundle describes. v0.2 and later bundles must carry inclusion proofs. */
export function bundleToEntity(bundle: Bundle): SignedEntity {
  const material = bundle.verificationMaterial;
  const key = material.key;
  return {
    content: bundle.content.kind === "messageSignature"
      ? {
        kind: "message",
        signature: bundle.content.signature,
        ...(bundle.content.messageDigest ? { messageDigest: bundle.content.messageDigest } : {}),
      }
      : { kind: "dsse", envelope: bundle.content.envelope },
    material: key.kind === "publicKey"
      ? { kind: "publicKey", hint: key.hint }
      : key.kind === "certificate"
      ? { kind: "certificate", certificate: key.certificate }
      : {
        kind: "certificate",
        certificate: key.certificates[0]!,
        chain: key.certificates.slice(1),
      },
    tlogEntries: material.tlogEntries,
    timestamps: material.rfc3161Timestamps,
    requireInclusionProof: bundle.version !== "0.1",
  };
}

/** Verify a parsed bundle about `artifact` against `policy`. */
export function verifyBundle(
  bundle: Bundle,
  artifact: Artifact | undefined,
  policy: VerificationPolicy,
): Promise<VerificationResult> {
  return verifySignedEntity(bundleToEntity(bundle), artifact, policy);
}
