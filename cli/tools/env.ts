/**
 * `env`: the environment variables dcosign reads (those of cosign's it honours, and its own),
 * with what each expects and its current value (cosign-spec.md section 10.3); cosign variables
 * dcosign has no use for (PKCS#11, the CI providers it does not implement) are not listed.
 * Values of sensitive variables (passwords, tokens) are masked unless `--show-sensitive-values`;
 * so is every unregistered `COSIGN_*`, `SIGSTORE_*` or `TUF_*` variable, since nothing says it
 * is harmless.
 *
 * @module
 */

import type { CommandRun } from "../spec.ts";

/** One variable and what it means. */
export interface EnvironmentVariable {
  /** The variable name. */
  readonly name: string;
  /** What it changes. */
  readonly description: string;
  /** What value it takes. */
  readonly expects: string;
  /** Whether its value is a secret. */
  readonly sensitive: boolean;
}

/** The variables dcosign reads: cosign's (pkg/cosign/env) it honours, then its own. */
export const ENVIRONMENT_VARIABLES: readonly EnvironmentVariable[] = [
  {
    name: "COSIGN_DOCKER_MEDIA_TYPES",
    description: "writes Docker instead of OCI media types, for registries without OCI support",
    expects: "1 to use Docker media types (0 by default)",
    sensitive: false,
  },
  {
    name: "COSIGN_PASSWORD",
    description: "the password of encrypted cosign keys, instead of a prompt",
    expects: "a password (may be empty)",
    sensitive: true,
  },
  {
    name: "COSIGN_REPOSITORY",
    description: "stores and reads signatures in another repository than the image's",
    expects: "a repository, e.g. registry.example/signatures",
    sensitive: false,
  },
  {
    name: "COSIGN_MAX_ATTACHMENT_SIZE",
    description: "the largest signature, attestation or SBOM downloaded (128MiB by default)",
    expects: "a size such as 5120, 20K, 3M, 45MiB or 1GB",
    sensitive: false,
  },
  {
    name: "SIGSTORE_ROOT_FILE",
    description:
      "the Fulcio root (and intermediate) certificates; set, like the other SIGSTORE_* trust variables, the trusted root is built from these variables and TUF is not consulted",
    expects: "a path to PEM certificates",
    sensitive: false,
  },
  {
    name: "SIGSTORE_REKOR_PUBLIC_KEY",
    description: "the Rekor public key, out of band (TUF is then not consulted)",
    expects: "a path to a PEM public key",
    sensitive: false,
  },
  {
    name: "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
    description: "the CT log key that checks Fulcio's SCTs (TUF is then not consulted)",
    expects: "a path to a PEM public key",
    sensitive: false,
  },
  {
    name: "SIGSTORE_TSA_CERTIFICATE_FILE",
    description: "the TSA certificate chain (TUF is then not consulted)",
    expects: "a path to PEM certificates: leaf, intermediates, root",
    sensitive: false,
  },
  {
    name: "SIGSTORE_ID_TOKEN",
    description: "the OIDC identity token sent to Fulcio for keyless signing",
    expects: "a JWT",
    sensitive: true,
  },
  {
    name: "TUF_ROOT",
    description:
      "the TUF cache directory (~/.sigstore/root by default; dcosign keeps its files in a dcosign/ directory there)",
    expects: "a directory path",
    sensitive: false,
  },
  {
    name: "TUF_MIRROR",
    description:
      "a TUF mirror to read trust material from, instead of the one `dcosign initialize` remembered",
    expects: "a URL",
    sensitive: false,
  },
  {
    name: "TUF_ROOT_JSON",
    description: "the TUF root.json to trust for TUF_MIRROR",
    expects: "a path to root.json",
    sensitive: false,
  },
  {
    name: "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    description: "the bearer token GitHub Actions gives for requesting an OIDC token",
    expects: "a bearer token",
    sensitive: true,
  },
  {
    name: "ACTIONS_ID_TOKEN_REQUEST_URL",
    description: "where GitHub Actions hands out OIDC tokens",
    expects: "a URL",
    sensitive: false,
  },
  {
    name: "DOCKER_CONFIG",
    description: "the directory of the docker config.json read for registry credentials",
    expects: "a directory path (~/.docker by default)",
    sensitive: false,
  },
  {
    name: "REGISTRY_AUTH_FILE",
    description: "a containers auth.json read for registry credentials",
    expects: "a path to auth.json",
    sensitive: false,
  },
  {
    name: "NO_COLOR",
    description: "turns colour off even on a terminal",
    expects: "any value",
    sensitive: false,
  },
  {
    name: "DCOSIGN_NOW",
    description:
      "a test hook: the time every clock read returns (TUF expiry, certificates); warns on every run",
    expects: "an RFC 3339 time, e.g. 2026-08-25T00:00:00Z",
    sensitive: false,
  },
  {
    name: "DCOSIGN_OPENSSL",
    description:
      "0 keeps `serve`'s Rekor on pure JS and WebCrypto instead of the system's OpenSSL (FFI)",
    expects: "0 to turn OpenSSL off",
    sensitive: false,
  },
];

const MASK = "******";
const PREFIXES = ["COSIGN_", "SIGSTORE_", "TUF_"];

/** One row of the `env` output. */
export interface EnvironmentRow extends EnvironmentVariable {
  /** The value, masked when sensitive; `null` when unset. */
  readonly value: string | null;
  /** False for a `COSIGN_*`/`SIGSTORE_*`/`TUF_*` variable no one registered. */
  readonly registered: boolean;
}

/** The rows of `env` for an environment: registered variables, then unknown prefixed ones. */
export function environmentRows(
  environment: Readonly<Record<string, string>>,
  showSensitive: boolean,
): EnvironmentRow[] {
  const shown = (value: string | undefined, sensitive: boolean) =>
    value === undefined ? null : sensitive && !showSensitive && value !== "" ? MASK : value;
  const rows: EnvironmentRow[] = [...ENVIRONMENT_VARIABLES]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((v) => ({ ...v, value: shown(environment[v.name], v.sensitive), registered: true }));
  const known = new Set(ENVIRONMENT_VARIABLES.map((v) => v.name));
  const unknown = Object.keys(environment)
    .filter((name) => !known.has(name) && PREFIXES.some((p) => name.startsWith(p)))
    .sort();
  for (const name of unknown) {
    rows.push({
      name,
      description: "not registered, but may still change cosign's behaviour",
      expects: "unknown",
      sensitive: true,
      value: shown(environment[name], true),
      registered: false,
    });
  }
  return rows;
}

/** Print the variables, their descriptions and values. */
export const env: CommandRun = (input) => {
  const { flags, out } = input;
  const rows = environmentRows(input.ctx.environment(), flags.boolean("show-sensitive-values"));
  if (flags.string("output") === "json") {
    out.json(rows);
    return Promise.resolve();
  }
  const descriptions = flags.boolean("show-descriptions");
  let noted = false;
  for (const row of rows) {
    if (descriptions && !row.registered && !noted) {
      out.line(
        "# The variables below are not registered with cosign,\n# but might still change its behaviour.",
      );
      noted = true;
    }
    if (descriptions && row.registered) {
      out.line(`# ${row.name} ${row.description}`);
      out.line(`# Expects: ${row.expects}`);
    }
    out.line(`${row.name}=${row.value ?? ""}`);
  }
  return Promise.resolve();
};
