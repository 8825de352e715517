/**
 * The registry housekeeping commands as plain data (cosign-spec.md section 10): `tree`, `clean`,
 * `copy`, `attach`, `save`, `load`, `login`, `triangulate` and `download`. Implementations load on
 * demand from this folder.
 *
 * @module
 */

import type { FlagSpec } from "../args.ts";
import type { CommandSpec } from "../spec.ts";
import {
  experimentalOci11Flag,
  OUTPUT_FLAG,
  referrersModeFlag,
  REGISTRY_FLAGS,
} from "../options/flags.ts";

const PLATFORM_FLAG: FlagSpec = {
  name: "platform",
  type: "string",
  value: "OS/ARCH[/VARIANT]",
  description: "Use this platform of a multi-platform image (e.g. linux/amd64)",
};

const DIR_FLAG: FlagSpec = {
  name: "dir",
  type: "string",
  value: "DIR",
  description: "The OCI image layout directory",
};

/** `download attestation` and `download sbom`, spread into the `download` command. */
export const DOWNLOAD_SUBCOMMANDS: readonly CommandSpec[] = [
  {
    name: "attestation",
    summary: "Print an image's attestations (bundles, then DSSE envelopes) as JSON lines",
    usage: "IMAGE",
    description:
      "Print the attestations stored for an image as JSON lines: Sigstore bundle referrers\n" +
      "(signature bundles left out) then legacy .att envelopes. With --predicate-type, only\n" +
      "that type, and finding none is an error.",
    args: { min: 1, max: 1 },
    examples: ["dcosign download attestation --predicate-type slsaprovenance1 reg/app:1"],
    flags: [
      {
        name: "predicate-type",
        type: "string",
        value: "TYPE",
        description: "Only this predicate type (a URI or a short name such as slsaprovenance1)",
      },
      PLATFORM_FLAG,
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./download.ts")).downloadAttestation,
  },
  {
    name: "sbom",
    summary: "Print the SBOM attached to an image (deprecated in cosign)",
    usage: "IMAGE",
    args: { min: 1, max: 1 },
    examples: ["dcosign download sbom --platform linux/amd64 reg/app:1 > sbom.spdx.json"],
    flags: [PLATFORM_FLAG, OUTPUT_FLAG, ...REGISTRY_FLAGS],
    load: async () => (await import("./download.ts")).downloadSbom,
  },
];

/** The registry housekeeping commands, in help order. */
export const REGISTRY_COMMANDS: readonly CommandSpec[] = [
  {
    name: "tree",
    summary: "Show an image's signatures, attestations, SBOMs and referrers",
    usage: "IMAGE",
    description:
      "List what is stored for an image: the legacy sha256-<hex>.sig/.att/.sbom tags with their\n" +
      "layers, and the image's OCI referrers (Sigstore bundles by predicate type, others by\n" +
      "artifact type). Only manifests are read.",
    args: { min: 1, max: 1 },
    examples: ["dcosign tree reg/app:1", "dcosign tree -o json reg/app@sha256:..."],
    flags: [
      OUTPUT_FLAG,
      referrersModeFlag(
        "oci-1-1: list the image's OCI referrers (listed anyway unless --experimental-oci11=false)",
      ),
      experimentalOci11Flag(
        "List the image's OCI referrers (false, without --registry-referrers-mode=oci-1-1: the legacy tags only)",
        true,
      ),
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./tree.ts")).tree,
  },
  {
    name: "clean",
    summary: "Remove an image's signatures, attestations, SBOMs and referrers",
    usage: "IMAGE",
    description:
      "Delete what is stored for an image (never the image itself): the legacy tags and the\n" +
      "OCI referrers of --type, then repair the referrers fallback index. Asks first on a\n" +
      "terminal; -f skips the question (and is required without a terminal).",
    args: { min: 1, max: 1 },
    examples: ["dcosign clean -f reg/app:1", "dcosign clean --type attestation reg/app:1"],
    flags: [
      {
        name: "type",
        type: "string",
        value: "TYPE",
        choices: ["signature", "attestation", "referrer", "sbom", "all"],
        default: "all",
        description: "What to remove",
      },
      { name: "force", short: "f", type: "boolean", description: "Do not ask for confirmation" },
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./clean.ts")).clean,
  },
  {
    name: "copy",
    summary: "Copy an image with its signatures, attestations, SBOMs and referrers",
    usage: "SRC DST",
    description:
      "Copy an image byte for byte (every platform of an index, or one with --platform) with\n" +
      "the .sig/.att/.sbom tags of the image and of each manifest it lists, and their OCI\n" +
      "referrers. Blobs are mounted within a registry, streamed between registries. With\n" +
      "--only, the attachments are copied but DST's tag is left alone.",
    args: { min: 2, max: 2 },
    examples: [
      "dcosign copy reg-a/app:1 reg-b/app:1",
      "dcosign copy --only sig,att --platform linux/amd64 reg-a/app:1 reg-b/app:1",
    ],
    flags: [
      {
        name: "only",
        type: "list",
        value: "KINDS",
        description: "Copy only these attachments: sig, att, sbom (comma-separated)",
      },
      {
        name: "sig-only",
        type: "boolean",
        description: "Same as --only sig (deprecated)",
      },
      {
        name: "force",
        short: "f",
        type: "boolean",
        description: "Overwrite destination tags that point elsewhere",
      },
      PLATFORM_FLAG,
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./copy.ts")).copy,
  },
  {
    name: "attach",
    summary: "Attach signatures, attestations and SBOMs made elsewhere to an image",
    subcommands: [
      {
        name: "signature",
        summary: "Attach a signature (and its certificate, log entry, timestamp) or a bundle",
        usage: "IMAGE",
        description:
          "Append a base64 signature over a SimpleSigning payload to the image's .sig tag, with\n" +
          "its certificate, chain, Rekor bundle (--rekor-response: a sign-blob --bundle file)\n" +
          "and RFC 3161 timestamp. A Sigstore bundle (--bundle, or --payload holding one) is\n" +
          "stored as a bundle referrer instead. The payload must name the image's digest;\n" +
          "without --payload, the one cosign signs for the image is used.",
        args: { min: 1, max: 1 },
        examples: [
          "dcosign attach signature --payload payload.json --signature sig.b64 reg/app@sha256:...",
          "dcosign attach signature --bundle image.sigstore.json reg/app:1",
        ],
        flags: [
          {
            name: "signature",
            type: "string",
            value: "FILE",
            description: "The base64 signature (- for stdin)",
          },
          {
            name: "payload",
            type: "string",
            value: "FILE",
            description: "The signed payload (a Sigstore bundle is attached as one)",
          },
          {
            name: "bundle",
            type: "string",
            value: "FILE",
            description: "A Sigstore bundle to store as a referrer",
          },
          {
            name: "certificate",
            type: "string",
            value: "FILE",
            description: "The signing certificate (PEM)",
          },
          {
            name: "certificate-chain",
            type: "string",
            value: "FILE",
            description: "Its chain, issuer first (PEM)",
          },
          {
            name: "tsr",
            type: "string",
            value: "FILE",
            description: "An RFC 3161 timestamp response (DER) over the signature",
          },
          {
            name: "rekor-response",
            type: "string",
            value: "FILE",
            description: "The log entry: a sign-blob --bundle file with a rekorBundle",
          },
          ...REGISTRY_FLAGS,
        ],
        load: async () => (await import("./attach.ts")).attachSignatureCommand,
      },
      {
        name: "attestation",
        summary: "Attach DSSE attestation envelopes (or Sigstore bundles)",
        usage: "IMAGE",
        description:
          "Append each DSSE envelope of each --attestation file (one JSON value or JSON lines)\n" +
          "to the image's .att tag as written; a Sigstore bundle file is stored as a bundle\n" +
          "referrer. Each statement must name the image's digest.",
        args: { min: 1, max: 1 },
        examples: ["dcosign attach attestation --attestation provenance.dsse.json reg/app:1"],
        flags: [
          {
            name: "attestation",
            type: "list",
            value: "FILE",
            description: "An envelope (or JSON lines of envelopes, or a bundle) file",
          },
          ...REGISTRY_FLAGS,
        ],
        load: async () => (await import("./attach.ts")).attachAttestationCommand,
      },
      {
        name: "sbom",
        summary: "Attach an SBOM (deprecated in cosign: attest it instead)",
        usage: "IMAGE",
        args: { min: 1, max: 1 },
        examples: ["dcosign attach sbom --sbom sbom.spdx.json --type spdx reg/app:1"],
        flags: [
          {
            name: "sbom",
            type: "string",
            value: "FILE",
            description: "The SBOM file (- for stdin)",
          },
          {
            name: "type",
            type: "string",
            value: "TYPE",
            choices: ["spdx", "cyclonedx", "syft"],
            default: "spdx",
            description: "SBOM format",
          },
          {
            name: "input-format",
            type: "string",
            value: "FORMAT",
            choices: ["json", "xml", "text"],
            description: "Encoding of the file (default: json for *.json, else xml or text)",
          },
          referrersModeFlag(
            "oci-1-1: push the SBOM as an OCI 1.1 referrer of the image instead of the .sbom tag",
          ),
          ...REGISTRY_FLAGS,
        ],
        load: async () => (await import("./attach.ts")).attachSbomCommand,
      },
    ],
  },
  {
    name: "save",
    summary: "Save an image with its signatures and referrers as an OCI layout",
    usage: "IMAGE",
    description:
      "Write an OCI image layout to --dir: the image (every platform, or --platform), its\n" +
      "legacy .sig/.att manifests (index.json entries with a kind annotation) and its\n" +
      "referrers (plain blobs), as cosign save does.",
    args: { min: 1, max: 1 },
    examples: ["dcosign save --dir ./app-layout reg/app:1"],
    flags: [DIR_FLAG, PLATFORM_FLAG, ...REGISTRY_FLAGS],
    load: async () => (await import("./layout.ts")).save,
  },
  {
    name: "load",
    summary: "Push a saved OCI layout (image, signatures, referrers) to a registry",
    usage: "IMAGE",
    description:
      "Check a layout written by save (no symlinks, every blob re-hashed, sizes bounded), then\n" +
      "push the image to IMAGE with its signatures, attestations and referrers.",
    args: { min: 1, max: 1 },
    examples: ["dcosign load --dir ./app-layout reg2/app:1"],
    flags: [DIR_FLAG, ...REGISTRY_FLAGS],
    load: async () => (await import("./layout.ts")).load,
  },
  {
    name: "login",
    summary: "Log in to a registry and save the credentials in the docker config",
    usage: "REGISTRY",
    description: "Check the credentials against the registry, then store them in\n" +
      "$DOCKER_CONFIG/config.json (else ~/.docker/config.json, mode 0600), keeping other\n" +
      "entries. Prefer --password-stdin: a --password is visible to other users.",
    args: { min: 1, max: 1 },
    examples: ['echo "$TOKEN" | dcosign login ghcr.io -u me --password-stdin'],
    flags: [
      { name: "username", short: "u", type: "string", value: "USER", description: "User name" },
      {
        name: "password",
        short: "p",
        type: "string",
        value: "PASSWORD",
        description: "Password (insecure: prefer --password-stdin)",
      },
      {
        name: "password-stdin",
        type: "boolean",
        description: "Read the password from standard input",
      },
      REGISTRY_FLAGS[0]!,
      REGISTRY_FLAGS[1]!,
    ],
    load: async () => (await import("./login.ts")).login,
  },
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
        choices: ["signature", "attestation", "sbom", "digest", "referrer"],
        default: "signature",
        description:
          "Which attachment tag; digest prints the image as repo@sha256:..., referrer its Sigstore bundle referrers",
      },
      ...REGISTRY_FLAGS,
    ],
    load: async () => (await import("./triangulate.ts")).triangulate,
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
        load: async () => (await import("./download.ts")).downloadSignature,
      },
      ...DOWNLOAD_SUBCOMMANDS,
    ],
  },
];
