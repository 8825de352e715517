/**
 * The trust commands as plain data (cosign-spec.md sections 8 and 10.2): `initialize` (the TUF
 * cache), `trusted-root create` and `signing-config create` (trust material for private
 * Sigstore deployments). Implementations load on demand: `initialize.ts`, `trusted_root.ts`,
 * `signing_config.ts`.
 *
 * @module
 */

import type { FlagSpec } from "../args.ts";
import type { CommandSpec } from "../spec.ts";

const OUT: FlagSpec = {
  name: "out",
  type: "string",
  value: "FILE",
  description: "Write the JSON here (mode 0600) instead of to stdout",
};

const noDefault = (service: string, what: string): FlagSpec => ({
  name: `no-default-${service}`,
  type: "boolean",
  description: `With --with-default-services: leave out the default ${what}`,
});

const signingSpec = (name: string, what: string): FlagSpec => ({
  name,
  type: "list",
  value: "SPEC",
  description:
    `${what}: url=URL,api-version=N,start-time=RFC3339,operator=NAME[,end-time=RFC3339] (repeatable)`,
});

/** The trust commands, in help order. */
export const TRUST_COMMANDS: readonly CommandSpec[] = [
  {
    name: "initialize",
    summary: "Reset the TUF cache for a mirror, remember it, and fetch the trust material",
    description:
      "Reset dcosign's TUF cache for the mirror (under $TUF_ROOT, else ~/.sigstore/root, in\n" +
      "a dcosign/ directory of its own), trust --root (checked against --root-checksum) or the\n" +
      "embedded public-good root, walk the root chain, verify timestamp, snapshot and targets,\n" +
      "fetch trusted_root.json and signing_config.v0.2.json, and remember the mirror: later\n" +
      "commands use it with no trust flags (dcosign serve's ready file names its mirror and\n" +
      "root as tufMirror and tufRoot).",
    args: { min: 0, max: 0 },
    examples: [
      "dcosign initialize",
      'dcosign initialize --mirror "$tufMirror" --root "$tufRoot"',
      "dcosign initialize --mirror https://tuf.example --root root.json --root-checksum 6494e2...",
    ],
    flags: [
      {
        name: "mirror",
        type: "string",
        value: "URL",
        default: "https://tuf-repo-cdn.sigstore.dev",
        description: "The TUF repository (metadata at URL/N.root.json, targets at URL/targets/)",
      },
      {
        name: "root",
        type: "string",
        value: "FILE",
        description: "The TUF root.json to trust for the mirror (default the embedded v16 root)",
      },
      {
        name: "root-checksum",
        type: "string",
        value: "HEX",
        description: "The SHA-256 --root must have",
      },
    ],
    load: async () => (await import("./initialize.ts")).initialize,
  },
  {
    name: "trusted-root",
    summary: "Build Sigstore trusted roots",
    subcommands: [{
      name: "create",
      summary: "Write a trusted_root.json for a private Sigstore deployment",
      description:
        "Write a trusted root from service specs, each a comma-separated key=value list and\n" +
        "repeatable: --fulcio url=,certificate-chain=PEM (intermediates first, root last)\n" +
        "[,start-time=,end-time=]; --rekor and --ctfe url=,public-key=PEM,start-time=[,end-time=]\n" +
        "(--rekor also origin= for a Rekor v2 log); --tsa url=,certificate-chain=PEM (leaf\n" +
        "first) [,start-time=,end-time=]. --with-default-services starts from TUF's trusted root.",
      args: { min: 0, max: 0 },
      examples: [
        "dcosign trusted-root create \\\n" +
        "    --fulcio url=https://fulcio.example,certificate-chain=fulcio.pem \\\n" +
        "    --rekor url=https://rekor.example,public-key=rekor.pub,start-time=2024-01-01T00:00:00Z \\\n" +
        "    --ctfe url=https://ctfe.example,public-key=ctfe.pub,start-time=2024-01-01T00:00:00Z \\\n" +
        "    --tsa url=https://tsa.example/api/v1/timestamp,certificate-chain=tsa.pem \\\n" +
        "    --out trusted_root.json",
      ],
      flags: [
        {
          name: "fulcio",
          type: "list",
          value: "SPEC",
          description: "A certificate authority: url=,certificate-chain=[,start-time=,end-time=]",
        },
        {
          name: "rekor",
          type: "list",
          value: "SPEC",
          description: "A transparency log: url=,public-key=,start-time=[,end-time=,origin=]",
        },
        {
          name: "ctfe",
          type: "list",
          value: "SPEC",
          description: "A CT log: url=,public-key=,start-time=[,end-time=]",
        },
        {
          name: "tsa",
          type: "list",
          value: "SPEC",
          description: "A timestamp authority: url=,certificate-chain=[,start-time=,end-time=]",
        },
        {
          name: "with-default-services",
          type: "boolean",
          description: "Start from the trusted root TUF serves; the specs are added to it",
        },
        noDefault("fulcio", "certificate authorities"),
        noDefault("rekor", "transparency logs"),
        noDefault("ctfe", "CT logs"),
        noDefault("tsa", "timestamp authorities"),
        OUT,
      ],
      load: async () => (await import("./trusted_root.ts")).createTrustedRoot,
    }],
  },
  {
    name: "signing-config",
    summary: "Build Sigstore signing configs",
    subcommands: [{
      name: "create",
      summary: "Write a signing_config.json naming Fulcio, Rekor, OIDC providers and TSAs",
      description:
        "Write a signing config (v0.2) from service specs, each repeatable. --rekor needs\n" +
        "--rekor-config and --tsa needs --tsa-config (ANY, ALL or EXACT:N). --base-config FILE\n" +
        "starts from a config (a kind given by specs replaces its services of that kind);\n" +
        "--with-default-services starts from TUF's signing config (the specs are added).",
      args: { min: 0, max: 0 },
      examples: [
        "dcosign signing-config create \\\n" +
        "    --fulcio url=https://fulcio.example,api-version=1,start-time=2024-01-01T00:00:00Z,operator=example.com \\\n" +
        "    --rekor url=https://rekor.example,api-version=1,start-time=2024-01-01T00:00:00Z,operator=example.com \\\n" +
        "    --rekor-config ANY --out signing_config.json",
      ],
      flags: [
        signingSpec("fulcio", "A Fulcio"),
        signingSpec("rekor", "A Rekor log"),
        signingSpec("oidc-provider", "An OIDC provider"),
        signingSpec("tsa", "A timestamp authority (its full endpoint URL)"),
        {
          name: "rekor-config",
          type: "string",
          value: "SELECTOR",
          description: "How many Rekor logs to use: ANY, ALL or EXACT:N (required with --rekor)",
        },
        {
          name: "tsa-config",
          type: "string",
          value: "SELECTOR",
          description: "How many TSAs to use: ANY, ALL or EXACT:N (required with --tsa)",
        },
        {
          name: "base-config",
          type: "string",
          value: "FILE",
          description: "A signing config to start from (not with --with-default-services)",
        },
        {
          name: "with-default-services",
          type: "boolean",
          description: "Start from the signing config TUF serves; the specs are added to it",
        },
        {
          name: "with-default-rekor-v2",
          type: "boolean",
          description:
            "With --with-default-services: start from TUF's signing_config_rekor_v2.v0.2.json",
        },
        noDefault("fulcio", "Fulcio services"),
        noDefault("rekor", "Rekor logs"),
        noDefault("oidc", "OIDC providers"),
        noDefault("tsa", "timestamp authorities"),
        OUT,
      ],
      load: async () => (await import("./signing_config.ts")).createSigningConfig,
    }],
  },
];
