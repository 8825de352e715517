/**
 * `verify-attestation IMAGE...`: verify images' attestations of one predicate type through the
 * same runner and options as `verify` (cosign-spec.md section 9.4), printing each verified DSSE
 * envelope as JSON on its own line. With `--policy`, every verified attestation must also pass
 * the Rego and CUE policies (`cli/options/policy.ts`), or the image fails.
 *
 * @module
 */

import { fromUtf8 } from "../../lib/util/bytes.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { envelopeBytes } from "../../lib/payload/dsse.ts";
import { predicateTypeFor } from "../../lib/payload/predicate.ts";
import { type ImageVerification, verifyImageAttestations } from "../../lib/verify/image.ts";
import { formatImageReference } from "../../lib/oci/reference.ts";
import type { CommandRun } from "../spec.ts";
import { createRegistryClient } from "../options/registry.ts";
import { imageVerifyOptions, runVerify } from "../image/verify.ts";
import { loadPolicyCheck } from "../options/policy.ts";

/**
 * `verify-attestation`: check each image's attestations of `--type` (default `custom`) and print
 * every verified DSSE envelope as JSON on its own line. An image without an attestation of that
 * type fails and lists the types it has (SECURITY.md rows 2 and 9).
 */
export const verifyAttestation: CommandRun = async (input) => {
  const { flags, out } = input;
  const typeFlag = flags.string("type") ?? "custom";
  let predicateType: string;
  try {
    predicateType = predicateTypeFor(typeFlag);
  } catch (error) {
    throw new CosignError("CLI_USAGE", `Invalid --type "${typeFlag}": ${errorMessage(error)}`, {
      cause: error,
    });
  }
  // --policy compiles first: a policy that does not parse fails before anything is fetched.
  const policyCheck = await loadPolicyCheck(input, predicateType);
  const options = await imageVerifyOptions(input, createRegistryClient(input), false);
  const passed = new Map<ImageVerification, string>();
  return await runVerify(
    input,
    async (reference) => {
      const verification = await verifyImageAttestations(reference, { ...options, predicateType });
      if (policyCheck) {
        const subject = formatImageReference({ ...reference, digest: verification.digest });
        const statements = verification.signatures.map((s) => s.envelope!.payload);
        passed.set(verification, await policyCheck.enforce(subject, statements));
      }
      return verification;
    },
    (_reference, verification) => {
      const check = passed.get(verification);
      if (check !== undefined) out.info(`  - ${check}`);
      for (const signature of verification.signatures) {
        // Every attestation candidate carries its envelope; legacy layers keep their bytes.
        out.line(fromUtf8(envelopeBytes(signature.envelope!)));
      }
    },
  );
};
