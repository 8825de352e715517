/**
 * The key commands as plain data: `generate-key-pair`, `import-key-pair` and `public-key`
 * (cosign-spec.md sections 4.1-4.2). Implementations load on demand from `keys.ts`.
 *
 * @module
 */

import type { CommandSpec } from "../spec.ts";

/** The key commands, in help order. */
export const KEY_COMMANDS: readonly CommandSpec[] = [
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
    load: async () => (await import("./keys.ts")).generateKeyPair,
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
    load: async () => (await import("./keys.ts")).importKeyPair,
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
    load: async () => (await import("./keys.ts")).publicKey,
  },
];
