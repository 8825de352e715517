/**
 * The blob commands as plain data: `sign-blob`, `verify-blob`, `attest-blob` and
 * `verify-blob-attestation` (cosign-spec.md sections 6.2, 6.3, 10.2 and 11). Implementations
 * load on demand from `sign.ts` and `verify.ts`.
 *
 * @module
 */

import type { FlagSpec } from "../args.ts";
import type { CommandSpec } from "../spec.ts";
import {
  CERTIFICATE_CHAIN_FLAG,
  LOG_FLAGS,
  POLICY_FLAG,
  PRIVATE_CA_FLAGS,
  SIGNER_FLAGS,
  SIGNER_POLICY_FLAGS,
  TRUST_FLAGS,
  WITNESS_FLAGS,
} from "../options/flags.ts";

const BUNDLE_FLAG: FlagSpec = {
  name: "bundle",
  type: "string",
  value: "FILE",
  description: "Sigstore bundle (or legacy blob bundle) file",
};

const YES_FLAG: FlagSpec = {
  name: "yes",
  short: "y",
  type: "boolean",
  description: "Skip confirmation prompts",
};

const TYPE_FLAG: FlagSpec = {
  name: "type",
  type: "string",
  value: "TYPE",
  default: "custom",
  description:
    "Predicate type: a short name (custom, slsaprovenance, slsaprovenance1, link, spdx, spdxjson, cyclonedx, vuln, openvex) or a predicate type URI",
};

/** Flags naming what vouches for a blob signature outside a Sigstore bundle (legacy forms). */
const DETACHED_FLAGS: readonly FlagSpec[] = [
  {
    name: "certificate",
    aliases: ["cert"],
    type: "string",
    value: "FILE",
    description: "Legacy: the signing certificate (PEM, base64 PEM or DER)",
  },
  CERTIFICATE_CHAIN_FLAG,
  ...PRIVATE_CA_FLAGS,
  {
    name: "rfc3161-timestamp",
    type: "string",
    value: "FILE",
    description: 'Legacy: RFC 3161 timestamp file ({"SignedRFC3161Timestamp": ...})',
  },
  {
    name: "new-bundle-format",
    type: "boolean",
    default: true,
    description: "Read Sigstore bundles (false: only legacy blob bundle files)",
  },
  {
    name: "allow-certificate-chain",
    type: "boolean",
    description: "Accept a certificate chain in a v0.3 bundle",
  },
];

/** `sign-blob`, `verify-blob`, `attest-blob` and `verify-blob-attestation`, in help order. */
export const BLOB_COMMANDS: readonly CommandSpec[] = [
  {
    name: "sign-blob",
    summary: "Sign a file (any size, hashed as it streams); write a Sigstore bundle",
    usage: "FILE|-",
    description: "Sign a blob. The file is hashed as it streams and the digest is signed, so\n" +
      "memory stays flat at any size (Ed25519 keys sign the message: up to 128 MiB). By\n" +
      "default the signature, certificate, log entry and timestamp go into a Sigstore bundle\n" +
      "(--bundle, required); --new-bundle-format=false writes cosign's legacy outputs instead:\n" +
      "the signature on stdout or --output-signature, --output-certificate, a legacy --bundle\n" +
      "file and --rfc3161-timestamp. The signature is recorded in the transparency log unless\n" +
      "--tlog-upload=false.",
    args: { min: 1, max: 1 },
    examples: [
      "dcosign sign-blob --key cosign.key --bundle app.sigstore.json app.tar.gz",
      "dcosign sign-blob --signing-config signing_config.json --trusted-root trusted_root.json \\\n" +
      '    --identity-token "$TOKEN" -y --bundle app.sigstore.json app.tar.gz',
    ],
    flags: [
      BUNDLE_FLAG,
      ...SIGNER_FLAGS,
      {
        name: "certificate",
        aliases: ["cert"],
        type: "string",
        value: "FILE",
        description: "With --key: a PEM certificate for the key, put in the bundle",
      },
      {
        name: "certificate-chain",
        aliases: ["cert-chain"],
        type: "string",
        value: "FILE",
        description: "With --certificate: its PEM issuers (legacy outputs)",
      },
      {
        name: "new-bundle-format",
        type: "boolean",
        default: true,
        description: "Write a Sigstore bundle (false: cosign's legacy outputs)",
      },
      {
        name: "output-signature",
        type: "string",
        value: "FILE",
        description: "Legacy: write the signature to FILE (default: stdout)",
      },
      {
        name: "output-certificate",
        aliases: ["output-cert"],
        type: "string",
        value: "FILE",
        description: "Legacy: write the signing certificate PEM to FILE",
      },
      {
        name: "b64",
        type: "boolean",
        default: true,
        description: "Legacy: base64-encode the signature and certificate outputs",
      },
      {
        name: "rfc3161-timestamp",
        type: "string",
        value: "FILE",
        description: "Legacy: write the RFC 3161 timestamp to FILE",
      },
      YES_FLAG,
      ...WITNESS_FLAGS,
    ],
    load: async () => (await import("./sign.ts")).signBlob,
  },
  {
    name: "verify-blob",
    summary: "Verify a file's signature (a bundle, or a legacy signature and certificate)",
    usage: "FILE|-|sha256:HEX",
    description: "Verify a blob signature with a key, or keyless against a certificate identity\n" +
      "and OIDC issuer: a Sigstore bundle (--bundle), a legacy blob bundle file, or a detached\n" +
      "--signature with --certificate or --key. The file is hashed as it streams; a FILE that\n" +
      "cannot be read but is written sha256:HEX (or sha384/sha512) is taken as the digest.\n" +
      'Prints "Verified OK" on stderr.',
    args: { min: 1, max: 1 },
    examples: [
      "dcosign verify-blob --key cosign.pub --bundle app.sigstore.json \\\n" +
      "    --trusted-root trusted_root.json app.tar.gz",
      "dcosign verify-blob --certificate-identity me@example.com \\\n" +
      "    --certificate-oidc-issuer https://issuer --trusted-root trusted_root.json \\\n" +
      "    --bundle app.sigstore.json sha256:<hex>",
    ],
    flags: [
      BUNDLE_FLAG,
      {
        name: "signature",
        type: "string",
        value: "FILE|BASE64",
        description: "Legacy: the signature, as a file or the base64 text itself",
      },
      ...DETACHED_FLAGS,
      ...SIGNER_POLICY_FLAGS,
      ...TRUST_FLAGS,
      ...LOG_FLAGS,
    ],
    load: async () => (await import("./verify.ts")).verifyBlob,
  },
  {
    name: "attest-blob",
    summary: "Attest a file: sign an in-toto statement about it; write a Sigstore bundle",
    usage: "FILE|-",
    description: "Attest a blob. The predicate file becomes an in-toto statement whose subject\n" +
      "is the file's base name and SHA-256 (--hash gives the digest instead of hashing), or\n" +
      "--statement signs a complete statement verbatim; it is signed as a DSSE envelope and\n" +
      "written to a Sigstore bundle (--bundle, required). --new-bundle-format=false writes the\n" +
      "legacy outputs: the envelope on stdout or --output-signature, --output-attestation,\n" +
      "--output-certificate, a legacy --bundle file and --rfc3161-timestamp-bundle.",
    args: { min: 0, max: 1 },
    examples: [
      "dcosign attest-blob --key cosign.key --type slsaprovenance --predicate prov.json \\\n" +
      "    --bundle app.att.sigstore.json app.tar.gz",
    ],
    flags: [
      {
        name: "predicate",
        type: "string",
        value: "FILE",
        description: "The predicate file (- reads standard input)",
      },
      {
        name: "statement",
        type: "string",
        value: "FILE",
        description: "A complete in-toto statement to sign verbatim (instead of --predicate)",
      },
      TYPE_FLAG,
      {
        name: "hash",
        type: "string",
        value: "HEX",
        description: "The blob's SHA-256 in hex: do not read the blob",
      },
      BUNDLE_FLAG,
      ...SIGNER_FLAGS,
      {
        name: "new-bundle-format",
        type: "boolean",
        default: true,
        description: "Write a Sigstore bundle (false: cosign's legacy outputs)",
      },
      {
        name: "output-signature",
        type: "string",
        value: "FILE",
        description: "Legacy: write the signed DSSE envelope to FILE (default: stdout)",
      },
      {
        name: "output-attestation",
        type: "string",
        value: "FILE",
        description: "Legacy: write the in-toto statement to FILE",
      },
      {
        name: "output-certificate",
        aliases: ["output-cert"],
        type: "string",
        value: "FILE",
        description: "Legacy: write the signing certificate PEM to FILE",
      },
      {
        name: "rfc3161-timestamp-bundle",
        type: "string",
        value: "FILE",
        description: "Legacy: write the RFC 3161 timestamp to FILE",
      },
      YES_FLAG,
      ...WITNESS_FLAGS,
    ],
    load: async () => (await import("./sign.ts")).attestBlob,
  },
  {
    name: "verify-blob-attestation",
    summary: "Verify an attestation about a file (type, subject digest and signature)",
    usage: "[FILE|-]",
    description: "Verify a blob attestation: a Sigstore bundle (--bundle), a legacy blob bundle\n" +
      "file, or a DSSE envelope (--signature). The statement must have the predicate type of\n" +
      "--type (default custom), and with --check-claims (the default) a subject with the\n" +
      "blob's digest: give FILE, or --digest and --digestAlg. With --policy, the statement\n" +
      "must also pass each Rego and CUE policy (as verify-attestation; cosign has no --policy\n" +
      'here). Prints "Verified OK" on stderr.',
    args: { min: 0, max: 1 },
    examples: [
      "dcosign verify-blob-attestation --key cosign.pub --type slsaprovenance \\\n" +
      "    --bundle app.att.sigstore.json --trusted-root trusted_root.json app.tar.gz",
    ],
    flags: [
      BUNDLE_FLAG,
      {
        name: "signature",
        type: "string",
        value: "FILE",
        description: "Legacy: the DSSE envelope file",
      },
      TYPE_FLAG,
      POLICY_FLAG,
      {
        name: "check-claims",
        type: "boolean",
        default: true,
        description: "Require a statement subject with the blob's digest",
      },
      {
        name: "digest",
        type: "string",
        value: "HEX",
        description: "The blob's digest in hex, instead of the blob (with --digestAlg)",
      },
      {
        name: "digestAlg",
        type: "string",
        value: "ALG",
        choices: ["sha256", "sha384", "sha512"],
        description: "Algorithm of --digest, or the subject digest to compare with FILE",
      },
      ...DETACHED_FLAGS,
      ...SIGNER_POLICY_FLAGS,
      ...TRUST_FLAGS,
      ...LOG_FLAGS,
    ],
    load: async () => (await import("./verify.ts")).verifyBlobAttestation,
  },
];
