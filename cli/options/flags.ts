/**
 * The flag groups shared by commands, as plain data: the command table (cli/commands.ts) and
 * `--help` read only this module, so showing help loads no library code.
 *
 * @module
 */

import type { FlagSpec } from "../args.ts";

/** The registry flags. */
export const REGISTRY_FLAGS: readonly FlagSpec[] = [
  {
    name: "allow-insecure-registry",
    type: "boolean",
    description:
      "Testing only: TLS to registries without verifying their certificates, and plain HTTP when they have no TLS",
  },
  {
    name: "allow-http-registry",
    type: "boolean",
    description: "Plain HTTP to registries other than localhost/127.0.0.1",
  },
  {
    name: "registry-cacert",
    type: "string",
    value: "FILE",
    description: "PEM CA certificates to trust for registry TLS (besides the system's)",
  },
  {
    name: "registry-client-cert",
    type: "string",
    value: "FILE",
    description:
      "PEM client certificate for mutual TLS with the registry (with --registry-client-key)",
  },
  {
    name: "registry-client-key",
    type: "string",
    value: "FILE",
    description: "PEM private key of --registry-client-cert",
  },
  {
    name: "registry-server-name",
    type: "string",
    value: "NAME",
    description:
      "Verify the registry's TLS certificate for NAME (and send it as SNI) instead of its host",
  },
  {
    name: "registry-username",
    type: "string",
    value: "USER",
    description: "Registry user name (Basic auth; with --registry-password)",
  },
  {
    name: "registry-password",
    type: "string",
    value: "PASSWORD",
    description: "Registry password (with --registry-username)",
  },
  {
    name: "registry-token",
    type: "string",
    value: "TOKEN",
    description: "Registry bearer token",
  },
];

/** cosign's public-good services, the defaults. */
export const DEFAULT_REKOR_URL = "https://rekor.sigstore.dev";
/** cosign's public-good Fulcio. */
export const DEFAULT_FULCIO_URL = "https://fulcio.sigstore.dev";
/** cosign's public-good OIDC issuer. */
export const DEFAULT_OIDC_ISSUER = "https://oauth2.sigstore.dev/auth";

/** Flags choosing the signer. */
export const SIGNER_FLAGS: readonly FlagSpec[] = [
  {
    name: "key",
    type: "string",
    value: "REF",
    description:
      "Private key to sign with (file, env://VAR or https:// URL); without it, sign keyless",
  },
  {
    name: "identity-token",
    type: "string",
    value: "TOKEN",
    description: "Keyless: an OIDC identity token, or a file holding one",
  },
  {
    name: "oidc-issuer",
    type: "string",
    value: "URL",
    default: DEFAULT_OIDC_ISSUER,
    description: "Keyless: OIDC issuer for the browser login",
  },
  {
    name: "oidc-client-id",
    type: "string",
    value: "ID",
    default: "sigstore",
    description: "Keyless: OIDC client ID for the browser login",
  },
  {
    name: "oidc-disable-ambient-providers",
    type: "boolean",
    description: "Keyless: ignore SIGSTORE_ID_TOKEN and GitHub Actions credentials",
  },
  {
    name: "fulcio-url",
    type: "string",
    value: "URL",
    description: "Keyless: Fulcio to get the certificate from (default from the signing config)",
  },
  {
    name: "signing-config",
    type: "string",
    value: "FILE",
    description:
      "signing_config.json naming Fulcio, Rekor, the OIDC issuer and TSA (default: TUF's, see --use-signing-config)",
  },
  {
    name: "use-signing-config",
    type: "boolean",
    default: true,
    description:
      "Take the services from the TUF signing config when neither --signing-config nor a service URL flag is given",
  },
  {
    name: "trusted-root",
    type: "string",
    value: "FILE",
    description:
      "Keyless: trusted_root.json to check the issued certificate against (default: through TUF)",
  },
  {
    name: "insecure-skip-sct",
    type: "boolean",
    description: "Keyless: accept a certificate without a verifiable SCT",
  },
];

/** Flags choosing the witnesses. */
export const WITNESS_FLAGS: readonly FlagSpec[] = [
  {
    name: "tlog-upload",
    type: "boolean",
    default: true,
    description: "Record the signature in the transparency log (--tlog-upload=false to skip)",
  },
  {
    name: "rekor-url",
    type: "string",
    value: "URL",
    description:
      `Transparency log (Rekor v1 API) to use (default from the signing config, else ${DEFAULT_REKOR_URL})`,
  },
  {
    name: "timestamp-server-url",
    type: "string",
    value: "URL",
    description: "RFC 3161 timestamp authority endpoint (default from the signing config)",
  },
];

/** Flags naming the signer: a key, or a certificate identity and issuer. */
export const SIGNER_POLICY_FLAGS: readonly FlagSpec[] = [
  {
    name: "key",
    type: "string",
    value: "REF",
    description: "Public key (file, env://VAR or https:// URL) the signature must verify with",
  },
  {
    name: "certificate-identity",
    aliases: ["cert-identity"],
    type: "string",
    value: "ID",
    description: "Keyless: the exact identity (email or URI SAN) of the signing certificate",
  },
  {
    name: "certificate-identity-regexp",
    type: "string",
    value: "REGEXP",
    description:
      "Keyless: a regular expression the WHOLE identity must match (cosign matches a substring: write ^prefix.* or .*part.* for that)",
  },
  {
    name: "certificate-oidc-issuer",
    aliases: ["cert-oidc-issuer"],
    type: "string",
    value: "URL",
    description: "Keyless: the exact OIDC issuer of the signing certificate",
  },
  {
    name: "certificate-oidc-issuer-regexp",
    type: "string",
    value: "REGEXP",
    description:
      "Keyless: a regular expression the WHOLE OIDC issuer must match (cosign matches a substring: write ^prefix.* or .*part.* for that)",
  },
  ...(["trigger", "sha", "name", "repository", "ref"] as const).map((field): FlagSpec => ({
    name: `certificate-github-workflow-${field}`,
    type: "string",
    value: "VALUE",
    description: `Keyless: the GitHub workflow ${field} the certificate must carry`,
  })),
];

/** Flags choosing trust material and which checks run. */
export const TRUST_FLAGS: readonly FlagSpec[] = [
  {
    name: "trusted-root",
    type: "string",
    value: "FILE",
    description:
      "trusted_root.json with the log, CA, CT log and TSA keys (default: through TUF; given, TUF is not consulted)",
  },
  {
    name: "insecure-ignore-tlog",
    type: "boolean",
    description: "Skip transparency log checks (the signing time then comes from a TSA or now)",
  },
  {
    name: "insecure-ignore-sct",
    type: "boolean",
    description: "Do not require an SCT in the signing certificate",
  },
  {
    name: "use-signed-timestamps",
    type: "boolean",
    description: "Require and verify an RFC 3161 timestamp",
  },
  {
    name: "signature-digest-algorithm",
    type: "string",
    value: "ALG",
    choices: ["sha256", "sha384", "sha512"],
    description: "Hash of key signatures (default: the key's own)",
  },
];

/**
 * cosign's non-Fulcio PKI flags: a CA of your own in place of the trusted root's certificate
 * authorities. `--certificate-chain` (a chain ending with its root) is declared beside them.
 */
export const PRIVATE_CA_FLAGS: readonly FlagSpec[] = [
  {
    name: "ca-roots",
    type: "string",
    value: "FILE",
    description:
      "Private CA: PEM root certificates the signing certificate must chain to (instead of the trusted root's CAs)",
  },
  {
    name: "ca-intermediates",
    type: "string",
    value: "FILE",
    description: "Private CA: PEM intermediate certificates between --ca-roots and the leaves",
  },
];

/** `--certificate-chain` as cosign's verify commands read it: a private CA, root last. */
export const CERTIFICATE_CHAIN_FLAG: FlagSpec = {
  name: "certificate-chain",
  aliases: ["cert-chain"],
  type: "string",
  value: "FILE",
  description:
    "Private CA as one PEM chain, issuer first, root last: the root is the anchor (instead of the trusted root's CAs)",
};

/** `verify --certificate`: the signing certificate given out of band. */
export const CERTIFICATE_FLAG: FlagSpec = {
  name: "certificate",
  aliases: ["cert"],
  type: "string",
  value: "FILE",
  description:
    "The signing certificate (PEM), for signatures made with its key; checked like one the signature carries",
};

/** Flags choosing between offline verification (the default) and online log checks. */
export const LOG_FLAGS: readonly FlagSpec[] = [
  {
    name: "rekor-url",
    type: "string",
    value: "URL",
    description:
      "Also check log entries online against this Rekor: inclusion proofs for SET-only entries, and the entries of legacy signatures stored without one",
  },
  {
    name: "offline",
    type: "boolean",
    description:
      "Never use the network: no transparency log lookups, and TUF trust only from its cache",
  },
];

/**
 * cosign v3's `--registry-referrers-mode` (`sign`, `tree`, `attach sbom`; cosign-spec.md section
 * 1.7), described for the command at hand. cosign takes `oci-1-1` only with
 * `COSIGN_EXPERIMENTAL=1`; dcosign takes it as it is.
 */
export function referrersModeFlag(description: string): FlagSpec {
  return {
    name: "registry-referrers-mode",
    type: "string",
    value: "MODE",
    choices: ["legacy", "oci-1-1"],
    default: "legacy",
    description,
  };
}

/** cosign 2.x's `--experimental-oci11` (deprecated in v3), described for the command at hand. */
export function experimentalOci11Flag(description: string, byDefault = false): FlagSpec {
  return {
    name: "experimental-oci11",
    type: "boolean",
    ...(byDefault ? { default: true } : {}),
    description,
  };
}

/** `-o/--output text|json` for commands whose result cosign prints as text. */
export const OUTPUT_FLAG: FlagSpec = {
  name: "output",
  short: "o",
  type: "string",
  value: "FORMAT",
  choices: ["text", "json"],
  default: "text",
  description: "Output format",
};

/** `--policy FILE` of the attestation verifiers (`cli/options/policy.ts` reads it). */
export const POLICY_FLAG: FlagSpec = {
  name: "policy",
  type: "list",
  value: "FILE",
  description:
    "A Rego (.rego: data.signature.allow, Rego v0) or CUE (.cue) policy every attestation of --type must pass (repeatable)",
};
