/**
 * The image signing commands as plain data: `sign IMAGE...` and `verify IMAGE...` (cosign-spec.md
 * sections 1-2, 9.1-9.5 and 10.2). Implementations load on demand from `sign.ts` and `verify.ts`.
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
  PRIVATE_CA_FLAGS,
  referrersModeFlag,
  REGISTRY_FLAGS,
  SIGNER_FLAGS,
  SIGNER_POLICY_FLAGS,
  TRUST_FLAGS,
  WITNESS_FLAGS,
} from "../options/flags.ts";

const ANNOTATION_FLAG: FlagSpec = {
  name: "annotations",
  short: "a",
  type: "list",
  value: "KEY=VALUE",
  description: "Signed annotation (sign) or required annotation (verify)",
};

/** The image signing commands, in help order. */
export const IMAGE_COMMANDS: readonly CommandSpec[] = [
  {
    name: "sign",
    summary: "Sign container images; the signatures are stored beside them in the registry",
    usage: "IMAGE...",
    description: "Sign container images. By default the signature is a Sigstore bundle stored\n" +
      "as an OCI referrer of the image (cosign v3); --new-bundle-format=false writes the\n" +
      "legacy sha256-<hex>.sig tag. The signature is recorded in the transparency log unless\n" +
      "--tlog-upload=false.",
    args: { min: 1 },
    examples: [
      "dcosign sign --key cosign.key --rekor-url http://127.0.0.1:8080 127.0.0.1:5000/app:1",
      "dcosign sign --key cosign.key --tlog-upload=false --new-bundle-format=false reg/app@sha256:...",
    ],
    flags: [
      ...SIGNER_FLAGS,
      ANNOTATION_FLAG,
      {
        name: "recursive",
        short: "r",
        type: "boolean",
        description: "For a multi-arch index, also sign every image it lists",
      },
      {
        name: "new-bundle-format",
        type: "boolean",
        default: true,
        description: "Store a Sigstore bundle referrer (false: the legacy .sig tag)",
      },
      referrersModeFlag(
        "With --new-bundle-format=false, oci-1-1 pushes the legacy signature as an OCI 1.1 referrer instead of the .sig tag (bundles are referrers anyway)",
      ),
      {
        name: "upload",
        type: "boolean",
        default: true,
        description: "Store the signature in the registry (false: print it)",
      },
      {
        name: "bundle",
        type: "string",
        value: "FILE",
        description:
          "Also write the signature bundle to FILE: the Sigstore bundle (legacy format: cosign's signed payload JSON)",
      },
      {
        name: "output-signature",
        type: "string",
        value: "FILE",
        description: "Also write the base64 signature to FILE",
      },
      {
        name: "output-payload",
        type: "string",
        value: "FILE",
        description: "Also write the signed payload to FILE",
      },
      { name: "yes", short: "y", type: "boolean", description: "Skip confirmation prompts" },
      ...WITNESS_FLAGS,
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./sign.ts")).sign,
  },
  {
    name: "verify",
    summary: "Verify the signatures of container images",
    usage: "IMAGE...",
    description: "Verify container image signatures (Sigstore bundle referrers and legacy .sig\n" +
      "tags) with a key, or keyless against a certificate identity and OIDC issuer. Images are\n" +
      "verified concurrently; each image's outcome is reported. Exit codes: 10 no signatures,\n" +
      "11 image not found, 12 no matching signature, 13 no certificate, 1 other failures.",
    args: { min: 1 },
    examples: [
      "dcosign verify --key cosign.pub --trusted-root trusted_root.json reg/app:1",
      "dcosign verify --certificate-identity me@example.com \\\n" +
      "    --certificate-oidc-issuer https://issuer --trusted-root trusted_root.json reg/app:1",
    ],
    flags: [
      ...SIGNER_POLICY_FLAGS,
      CERTIFICATE_FLAG,
      CERTIFICATE_CHAIN_FLAG,
      ...PRIVATE_CA_FLAGS,
      ...TRUST_FLAGS,
      ...LOG_FLAGS,
      ANNOTATION_FLAG,
      {
        name: "check-claims",
        type: "boolean",
        default: true,
        description: "Check that the signed payload names the image digest and annotations",
      },
      {
        name: "output",
        short: "o",
        type: "string",
        value: "FORMAT",
        choices: ["json", "text"],
        default: "json",
        description: "Output format of the verified payloads",
      },
      {
        name: "new-bundle-format",
        type: "boolean",
        default: true,
        description: "Also read Sigstore bundle referrers (false: legacy .sig tags only)",
      },
      experimentalOci11Flag(
        "Also read legacy signatures stored as OCI 1.1 referrers (cosign 2.x; sign --registry-referrers-mode=oci-1-1 writes them)",
      ),
      {
        name: "local-image",
        type: "boolean",
        description: "The arguments are OCI layout directories written by save",
      },
      {
        name: "max-workers",
        type: "integer",
        value: "N",
        default: 10,
        description: "Images verified at once",
      },
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./verify.ts")).verify,
  },
];
