/**
 * PKCS#10 certification requests (RFC 2986), as Fulcio accepts them in
 * `certificateSigningRequest`: only the subject public key and the self-signature are used; the
 * signature over `certificationRequestInfo` is the proof of possession. Subject and attributes
 * are ignored (Fulcio takes the identity from the token, never from the CSR).
 *
 * @module
 */

import type { Bytes } from "../../lib/util/bytes.ts";
import {
  at,
  children,
  derBitString,
  derContext,
  derInteger,
  derSequence,
  parseDer,
  readBitString,
  readSmallInteger,
  TAG,
} from "../../lib/util/der.ts";
import { signatureAlgorithmFor } from "./certificate_builder.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { PublicKey, type Signer } from "../../lib/keys/public_key.ts";
import { readAlgorithm } from "../../lib/x509/certificate.ts";
import { verifyAlgorithmSignature } from "../../lib/x509/algorithms.ts";

/** Largest CSR read. */
const MAX_CSR_BYTES = 16 * 1024;

/** A CSR whose self-signature verified. */
export interface VerifiedCsr {
  readonly publicKey: PublicKey;
}

/**
 * Parse a DER CSR and verify its self-signature. Malformed requests and bad signatures raise
 * `FULCIO_CSR_INVALID`; an unsupported key or algorithm raises it too, with the reason.
 */
export async function verifyCertificationRequest(der: Uint8Array): Promise<VerifiedCsr> {
  const fail = (message: string, cause?: unknown) =>
    new CosignError("FULCIO_CSR_INVALID", `Invalid certificate signing request: ${message}`, {
      cause,
    });
  if (der.length > MAX_CSR_BYTES) throw fail(`larger than ${MAX_CSR_BYTES} bytes`);
  let info: Bytes;
  let publicKey: PublicKey;
  let algorithm: { oid: string; parameters?: Bytes };
  let signature: Bytes;
  try {
    const [infoNode, algorithmNode, signatureNode, extra] = children(
      parseDer(der),
      TAG.SEQUENCE,
    );
    if (!infoNode || !algorithmNode || !signatureNode || extra) {
      throw new SyntaxError("expected info, algorithm and signature");
    }
    const fields = children(infoNode, TAG.SEQUENCE);
    if (readSmallInteger(at(fields, 0, "version")) !== 0) throw new SyntaxError("version is not 1");
    at(fields, 1, "subject");
    publicKey = PublicKey.fromSpki(at(fields, 2, "subjectPKInfo").raw);
    info = infoNode.raw;
    algorithm = readAlgorithm(algorithmNode);
    signature = readBitString(signatureNode);
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
  let valid: boolean;
  try {
    valid = await verifyAlgorithmSignature(publicKey, info, signature, algorithm);
  } catch (cause) {
    throw fail(errorMessage(cause), cause);
  }
  if (!valid) throw fail("the self-signature does not verify");
  return { publicKey };
}

/** Build and sign a CSR with an empty subject and no attributes (tests and simple clients). */
export async function createCertificationRequest(signer: Signer): Promise<Bytes> {
  const info = derSequence(
    derInteger(0),
    derSequence(),
    signer.publicKey.spki,
    derContext(0, true),
  );
  const { algorithm, hash } = signatureAlgorithmFor(signer.publicKey);
  const signature = await signer.sign(info, { hash });
  return derSequence(info, algorithm, derBitString(signature));
}
