/**
 * The image attestation commands as plain data: `attest IMAGE...` and
 * `verify-attestation IMAGE...` (cosign-spec.md sections 3, 9.4 and 10.2). Implementations load
 * on demand from `cli/attest/attest.ts` and `cli/image/verify.ts`.
 *
 * @module
 */

import type { FlagSpec } from "../args.ts";
import type { CommandSpec } from "../spec.ts";
import {
  CERTIFICATE_CHAIN_FLAG,
  CERTIFICATE_FLAG,
  experimentalOci11Flag,
  LOG_FLAGS,
  POLICY_FLAG,
  PRIVATE_CA_FLAGS,
  REGISTRY_FLAGS,
  SIGNER_FLAGS,
  SIGNER_POLICY_FLAGS,
  TRUST_FLAGS,
  WITNESS_FLAGS,
} from "../options/flags.ts";

/** `--type` of both commands: a short name of section 3.2 or a predicate type URI. */
const TYPE_FLAG: FlagSpec = {
  name: "type",
  type: "string",
  value: "TYPE",
  default: "custom",
  description:
    "Predicate type: a short name (custom, slsaprovenance, slsaprovenance1, link, spdx, spdxjson, cyclonedx, vuln, openvex) or a predicate type URI",
};

/** `attest` and `verify-attestation`, in help order. */
export const ATTESTATION_COMMANDS: readonly CommandSpec[] = [
  {
    name: "attest",
    summary: "Attest container images: sign an in-toto statement about each and store it",
    usage: "IMAGE...",
    description: "Attest container images. The predicate file becomes an in-toto statement\n" +
      "about the image digest (predicate type from --type), signed as a DSSE envelope. By\n" +
      "default it is stored as a Sigstore bundle referrer of the image (cosign v3), with a\n" +
      "fallback index tag on registries without the referrers API; --new-bundle-format=false\n" +
      "appends it to the legacy sha256-<hex>.att tag. The attestation is recorded in the\n" +
      "transparency log unless --tlog-upload=false.",
    args: { min: 1 },
    examples: [
      "dcosign attest --key cosign.key --type slsaprovenance --predicate provenance.json \\\n" +
      "    --rekor-url http://127.0.0.1:8080 127.0.0.1:5000/app:1",
      "dcosign attest --signing-config signing_config.json --trusted-root trusted_root.json \\\n" +
      '    --identity-token "$TOKEN" -y --type spdxjson --predicate sbom.spdx.json reg/app:1',
    ],
    flags: [
      {
        name: "predicate",
        type: "string",
        value: "FILE",
        description: "The predicate file (or --statement; - reads standard input)",
      },
      {
        name: "statement",
        type: "string",
        value: "FILE",
        description:
          "A whole in-toto statement to sign as it is, instead of --predicate; a subject must carry the image digest",
      },
      TYPE_FLAG,
      ...SIGNER_FLAGS,
      {
        name: "new-bundle-format",
        type: "boolean",
        default: true,
        description: "Store a Sigstore bundle referrer (false: the legacy .att tag)",
      },
      {
        name: "replace",
        type: "boolean",
        description:
          "Legacy .att tag: drop the image's attestations of the same predicate type, the new one first",
      },
      {
        name: "no-upload",
        type: "boolean",
        description: "Store nothing; print the signed DSSE envelope on stdout",
      },
      { name: "yes", short: "y", type: "boolean", description: "Skip confirmation prompts" },
      ...WITNESS_FLAGS,
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./attest.ts")).attest,
  },
  {
    name: "verify-attestation",
    summary: "Verify the attestations of container images",
    usage: "IMAGE...",
    description: "Verify container image attestations (Sigstore bundle referrers and legacy\n" +
      ".att tags) of one predicate type (--type, default custom) with a key, or keyless against\n" +
      "a certificate identity and OIDC issuer. No attestation of that type is a failure that\n" +
      "lists the types found. Each verified DSSE envelope is printed as JSON on its own line.\n" +
      "With --policy, every attestation of that type must also pass each Rego policy (query\n" +
      "data.signature.allow over the in-toto statement, Rego v0, as cosign) and CUE policy\n" +
      "(the statement unified with it); policies compile before anything is fetched.",
    args: { min: 1 },
    examples: [
      "dcosign verify-attestation --key cosign.pub --type slsaprovenance \\\n" +
      "    --trusted-root trusted_root.json reg/app:1",
      "dcosign verify-attestation --certificate-identity me@example.com \\\n" +
      "    --certificate-oidc-issuer https://issuer --trusted-root trusted_root.json \\\n" +
      "    --type https://spdx.dev/Document reg/app:1",
      "dcosign verify-attestation --key cosign.pub --type slsaprovenance \\\n" +
      "    --policy builder.rego --policy provenance.cue reg/app:1",
    ],
    flags: [
      TYPE_FLAG,
      POLICY_FLAG,
      ...SIGNER_POLICY_FLAGS,
      CERTIFICATE_FLAG,
      CERTIFICATE_CHAIN_FLAG,
      ...PRIVATE_CA_FLAGS,
      ...TRUST_FLAGS,
      ...LOG_FLAGS,
      {
        name: "annotations",
        short: "a",
        type: "list",
        value: "KEY=VALUE",
        description: "Required annotation of the statement subject",
      },
      {
        name: "check-claims",
        type: "boolean",
        default: true,
        description: "Check that a statement subject names the image digest (and annotations)",
      },
      {
        name: "new-bundle-format",
        type: "boolean",
        default: true,
        description: "Also read Sigstore bundle referrers (false: legacy .att tags only)",
      },
      experimentalOci11Flag(
        "Accepted as cosign 2.x accepts it: attestations have no legacy OCI 1.1 referrer form, so it changes nothing",
      ),
      {
        name: "max-workers",
        type: "integer",
        value: "N",
        default: 10,
        description: "Images verified at once",
      },
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./verify_attestation.ts")).verifyAttestation,
  },
];
