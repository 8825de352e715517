/**
 * `env`: the environment variables cosign (and dcosign) read, with what each expects and its
 * current value (cosign-spec.md section 10.3). Values of sensitive variables (passwords, tokens)
 * are masked unless `--show-sensitive-values`; so is every unregistered `COSIGN_*`, `SIGSTORE_*`
 * or `TUF_*` variable, since nothing says it is harmless.
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

/** The variables cosign registers (pkg/cosign/env), plus the ones only dcosign reads. */
export const ENVIRONMENT_VARIABLES: readonly EnvironmentVariable[] = [
  {
    name: "COSIGN_EXPERIMENTAL",
    description: "turns on experimental cosign features",
    expects: "1 to enable (off by default)",
    sensitive: false,
  },
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
    name: "COSIGN_PKCS11_PIN",
    description: "the PIN of a PKCS#11 token when none is given otherwise",
    expects: "a PIN",
    sensitive: true,
  },
  {
    name: "COSIGN_PKCS11_MODULE_PATH",
    description: "the PKCS#11 module to load",
    expects: "a path to a module",
    sensitive: false,
  },
  {
    name: "COSIGN_PKCS11_IGNORE_CERTIFICATE",
    description: "skips loading certificates from a PKCS#11 token",
    expects: "1 to skip (0 by default)",
    sensitive: false,
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
    name: "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
    description: "the key checking the SCT that Fulcio returns, instead of the trusted root's",
    expects: "a path to a public key file",
    sensitive: false,
  },
  {
    name: "SIGSTORE_ROOT_FILE",
    description: "the Fulcio root CA, instead of the public-good instance's",
    expects: "a path to a PEM root CA",
    sensitive: false,
  },
  {
    name: "SIGSTORE_REKOR_PUBLIC_KEY",
    description: "the Rekor public key, out of band",
    expects: "a path to a public key file",
    sensitive: false,
  },
  {
    name: "SIGSTORE_TSA_CERTIFICATE_FILE",
    description: "the TSA certificate chain (leaf, intermediates, root)",
    expects: "a path to concatenated PEM certificates",
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
    description: "the TUF cache directory",
    expects: "a directory path",
    sensitive: false,
  },
  {
    name: "TUF_MIRROR",
    description: "the TUF mirror to refresh trust metadata from (with TUF_ROOT_JSON)",
    expects: "a URL",
    sensitive: false,
  },
  {
    name: "TUF_ROOT_JSON",
    description: "the TUF root.json that starts a local TUF repository (with TUF_MIRROR)",
    expects: "a path to root.json",
    sensitive: false,
  },
  {
    name: "GITHUB_HOST",
    description: "the GitHub Enterprise instance",
    expects: "a URL",
    sensitive: false,
  },
  {
    name: "GITHUB_TOKEN",
    description: "a token for the GitHub API",
    expects: "a GitHub token",
    sensitive: true,
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
    name: "SPIFFE_ENDPOINT_SOCKET",
    description: "a SPIFFE workload API socket other than the default",
    expects: "a socket path",
    sensitive: false,
  },
  {
    name: "GOOGLE_SERVICE_ACCOUNT_NAME",
    description: "the service account the Google identity provider impersonates",
    expects: "a service account name",
    sensitive: false,
  },
  {
    name: "GITLAB_HOST",
    description: "the GitLab instance",
    expects: "a URL",
    sensitive: false,
  },
  {
    name: "GITLAB_TOKEN",
    description: "a token for the GitLab API",
    expects: "a GitLab token",
    sensitive: true,
  },
  {
    name: "BUILDKITE_AGENT_ACCESS_TOKEN",
    description: "the access token of the Buildkite agent",
    expects: "an access token",
    sensitive: true,
  },
  {
    name: "BUILDKITE_AGENT_ENDPOINT",
    description: "the Buildkite agent endpoint",
    expects: "a URL",
    sensitive: false,
  },
  {
    name: "BUILDKITE_JOB_ID",
    description: "the Buildkite job claimed in the OIDC token",
    expects: "a job ID",
    sensitive: false,
  },
  {
    name: "BUILDKITE_AGENT_LOG_LEVEL",
    description: "the Buildkite agent's log level",
    expects: "debug, notice (default), info, warn, error or fatal",
    sensitive: false,
  },
  {
    name: "SOURCE_DATE_EPOCH",
    description: "a fixed current time, for reproducible builds",
    expects: "seconds since the Unix epoch",
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
