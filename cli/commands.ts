/**
 * cosign's command-line surface as plain data: every command, its help and flags
 * (cosign-spec.md section 10). Implementations load on demand, so `--help` and completion
 * read only this file.
 *
 * @module
 */

import type { FlagSpec } from "./_args.ts";
import type { CommandSpec } from "./app.ts";
import { ATTESTATION_COMMANDS } from "./attest/spec.ts";
import { BLOB_COMMANDS } from "./blob/spec.ts";
import { DOWNLOAD_SUBCOMMANDS, MORE_COMMANDS } from "./registry/spec.ts";
import {
  LOG_FLAGS,
  REGISTRY_FLAGS,
  SIGNER_FLAGS,
  SIGNER_POLICY_FLAGS,
  TRUST_FLAGS,
  WITNESS_FLAGS,
} from "./options/flags.ts";

export { VERSION } from "./tools/version.ts";

const ANNOTATION_FLAG: FlagSpec = {
  name: "annotations",
  short: "a",
  type: "list",
  value: "KEY=VALUE",
  description: "Signed annotation (sign) or required annotation (verify)",
};

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "generate-key-pair",
    summary: "Generate an encrypted ECDSA P-256 key pair (cosign.key, cosign.pub)",
    description: "Generate a key pair for signing: an encrypted ECDSA P-256 private key and its\n" +
      "public key. The password comes from COSIGN_PASSWORD (may be empty), else a prompt on a\n" +
      "terminal, else all of standard input.",
    args: { min: 0, max: 0 },
    examples: [
      "dcosign generate-key-pair",
      "COSIGN_PASSWORD=secret dcosign generate-key-pair --output-key-prefix release",
    ],
    flags: [{
      name: "output-key-prefix",
      type: "string",
      value: "PREFIX",
      default: "cosign",
      description: "Write PREFIX.key and PREFIX.pub",
    }],
    load: async () => (await import("./keys/keys.ts")).generateKeyPair,
  },
  {
    name: "import-key-pair",
    summary: "Import a PEM private key (PKCS#1, SEC1, PKCS#8) as a cosign key pair",
    description: "Import an unencrypted PEM private key (RSA 2048-4096, ECDSA P-256/384/521 or\n" +
      "Ed25519) and write it as an encrypted cosign key pair.",
    args: { min: 0, max: 0 },
    examples: ["dcosign import-key-pair --key key.pem --output-key-prefix imported"],
    flags: [
      {
        name: "key",
        short: "k",
        type: "string",
        value: "FILE",
        description: "The PEM private key",
      },
      {
        name: "output-key-prefix",
        short: "o",
        type: "string",
        value: "PREFIX",
        default: "import-cosign",
        description: "Write PREFIX.key and PREFIX.pub",
      },
      { name: "yes", short: "y", type: "boolean", description: "Overwrite existing files" },
    ],
    load: async () => (await import("./keys/keys.ts")).importKeyPair,
  },
  {
    name: "public-key",
    summary: "Print the public key of a cosign private key",
    args: { min: 0, max: 0 },
    examples: ["dcosign public-key --key cosign.key", "dcosign public-key --key env://KEY"],
    flags: [
      {
        name: "key",
        type: "string",
        value: "REF",
        description: "Private key: a file, env://VAR or an https:// URL",
      },
      { name: "outfile", type: "string", value: "FILE", description: "Write the key to FILE" },
    ],
    load: async () => (await import("./keys/keys.ts")).publicKey,
  },
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
      {
        name: "upload",
        type: "boolean",
        default: true,
        description: "Store the signature in the registry (false: print it)",
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
    load: async () => (await import("./image/sign.ts")).sign,
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
    load: async () => (await import("./image/verify.ts")).verify,
  },
  ...ATTESTATION_COMMANDS,
  ...BLOB_COMMANDS,
  ...MORE_COMMANDS,
  {
    name: "triangulate",
    summary: "Print where an image's signatures (or attestations, SBOM) are stored",
    usage: "IMAGE",
    args: { min: 1, max: 1 },
    flags: [
      {
        name: "type",
        type: "string",
        value: "TYPE",
        choices: ["signature", "attestation", "sbom", "digest"],
        default: "signature",
        description: "Which attachment; digest resolves the signature tag to a digest",
      },
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./registry/triangulate.ts")).triangulate,
  },
  {
    name: "download",
    summary: "Download signatures and attestations stored for an image",
    subcommands: [
      {
        name: "signature",
        summary: "Print an image's signatures as JSON lines",
        usage: "IMAGE",
        args: { min: 1, max: 1 },
        flags: [...REGISTRY_FLAGS],
        load: async () => (await import("./registry/download.ts")).downloadSignature,
      },
      ...DOWNLOAD_SUBCOMMANDS,
    ],
  },
  {
    name: "serve",
    summary: "Run the embedded Sigstore stack (registry, Rekor, Fulcio, OIDC issuer, TSA)",
    description:
      "Run the embedded Sigstore stack on one port: an OCI registry with the referrers\n" +
      "API (/v2/), Rekor (/api/v1/log), Fulcio (/api/v2/signingCert), an OIDC issuer\n" +
      "(/.well-known/openid-configuration, /oauth2/) and an RFC 3161 TSA (/api/v1/timestamp).\n" +
      "State and keys live under --data-dir (memory without it), with trusted_root.json and\n" +
      "signing_config.json. When ready, the JSON --ready-file names every URL, those files,\n" +
      'and a one-hour identity token. POST /oauth2/test-token {"identity":ID,"ttl":600}\n' +
      "mints a token for any configured identity. Stops cleanly on SIGINT/SIGTERM.",
    args: { min: 0, max: 0 },
    examples: ["dcosign serve --port 0 --data-dir ./stack --ready-file ./stack/ready.json"],
    flags: [
      {
        name: "host",
        type: "string",
        value: "ADDRESS",
        default: "127.0.0.1",
        description: "Interface to listen on",
      },
      {
        name: "port",
        type: "integer",
        value: "PORT",
        default: 0,
        description: "Port to listen on (0 picks a free one)",
      },
      {
        name: "data-dir",
        type: "string",
        value: "DIR",
        description: "Keep state here (blobs, manifests) across restarts",
      },
      {
        name: "ready-file",
        type: "string",
        value: "FILE",
        description: "Write the services' addresses here (JSON) once listening",
      },
      {
        name: "basic-auth",
        type: "string",
        value: "USER:PASSWORD",
        description: "Require HTTP Basic credentials on the registry",
      },
      {
        name: "identity",
        type: "list",
        value: "ID",
        description:
          "An identity the OIDC issuer logs in as: an email, a GitHub workflow URI (https://github.com/OWNER/REPO/.github/workflows/FILE@REF) or another URI; the first is the default (default signer@dcosign.test)",
      },
    ],
    load: async () => (await import("./serve/serve.ts")).serve,
  },
  {
    name: "version",
    summary: "Print the version",
    args: { min: 0, max: 0 },
    flags: [{ name: "json", type: "boolean", description: "Print JSON" }],
    load: async () => (await import("./tools/version.ts")).version,
  },
];
