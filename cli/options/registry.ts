/**
 * The registry flags every registry command takes (cosign-spec.md section 10.2), and the
 * `RegistryClient` they configure: credentials from the flags or the docker config keychain,
 * plain HTTP only for loopback unless allowed, TLS as the flags set it (`registry_tls.ts`),
 * `--verbose` HTTP logging with secrets redacted, and `COSIGN_REPOSITORY` relocation.
 *
 * @module
 */

import { createCredentialResolver } from "../../lib/oci/docker_config.ts";
import { CosignError } from "../../lib/errors.ts";
import { RegistryClient, type RegistryClientOptions } from "../../lib/oci/client.ts";
import { parseRepository, type RepositoryRef } from "../../lib/oci/reference.ts";
import { defaultCacheDir, ReferrersSupport } from "../../lib/oci/referrers_support.ts";
import type { CommandInput } from "../spec.ts";
import { checkTlsFlags, hasTlsFlags, registryTlsFetch } from "./registry_tls.ts";

export { REGISTRY_FLAGS } from "./flags.ts";

/**
 * A client configured from the flags and environment of a command; `retry` can be overridden and
 * `wrapFetch` wraps the fetch it uses (the admission webhook's per-request deadline).
 */
export function createRegistryClient(
  input: CommandInput,
  overrides: Pick<RegistryClientOptions, "retry"> & {
    readonly wrapFetch?: (fetch: typeof globalThis.fetch) => typeof globalThis.fetch;
  } = {},
): RegistryClient {
  const { ctx, flags } = input;
  const username = flags.string("registry-username");
  const password = flags.string("registry-password");
  if ((username === undefined) !== (password === undefined)) {
    throw new CosignError(
      "CLI_USAGE",
      "Pass --registry-username and --registry-password together",
    );
  }
  const token = flags.string("registry-token");
  const credentials = createCredentialResolver({
    ...(username !== undefined && password !== undefined ? { username, password } : {}),
    ...(token !== undefined ? { registryToken: token } : {}),
    env: ctx.environment(),
  });
  const maxAttachment = ctx.env("COSIGN_MAX_ATTACHMENT_SIZE");
  checkTlsFlags(input);
  // cosign: --allow-insecure-registry is TLS without verification, or plain HTTP when the
  // registry has no TLS; --allow-http-registry is plain HTTP.
  const insecure = flags.boolean("allow-insecure-registry");
  const tls = insecure || hasTlsFlags(input);
  if (insecure) {
    input.out.warn(
      "--allow-insecure-registry: registry TLS certificates are not verified and plain HTTP is allowed; use it for testing only",
    );
  }
  const { wrapFetch = (f: typeof globalThis.fetch) => f, ...rest } = overrides;
  return new RegistryClient({
    fetch: wrapFetch(tls ? registryTlsFetch(input) : ctx.fetch),
    ...(maxAttachment ? { limits: { maxBlobBytes: parseSize(maxAttachment) } } : {}),
    credentials,
    insecure: insecure || flags.boolean("allow-http-registry"),
    // A TLS registry on localhost is reached over HTTPS when TLS flags say it has TLS.
    preferHttps: tls,
    signal: input.signal,
    userAgent: "dcosign",
    // Whether each registry has the referrers API, remembered across runs (user cache dir).
    referrersSupport: referrersSupportFor(input),
    ...rest,
  });
}

/** The referrers API memory of the CLI: under the user cache directory, memory only without. */
function referrersSupportFor({ ctx }: CommandInput): ReferrersSupport {
  const dir = defaultCacheDir(ctx.env);
  return new ReferrersSupport(dir === undefined ? {} : { dir });
}

/** `COSIGN_REPOSITORY`: where signatures are stored instead of the image's repository. */
export function targetRepository(input: CommandInput): RepositoryRef | undefined {
  const value = input.ctx.env("COSIGN_REPOSITORY");
  return value ? parseRepository(value) : undefined;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  KI: 1024,
  KIB: 1024,
  MI: 1024 ** 2,
  MIB: 1024 ** 2,
  GI: 1024 ** 3,
  GIB: 1024 ** 3,
};

/** Parse a size like cosign's `COSIGN_MAX_ATTACHMENT_SIZE` (`20K`, `45MiB`, `1048576`). */
export function parseSize(text: string): number {
  const match = text.trim().match(/^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/);
  const unit = SIZE_UNITS[match?.[2]?.toUpperCase() ?? "?"];
  if (!match || unit === undefined) {
    throw new CosignError(
      "CLI_USAGE",
      `Invalid size "${text}" in COSIGN_MAX_ATTACHMENT_SIZE: use a form like 128MiB or 20K`,
    );
  }
  return Math.floor(Number(match[1]) * unit);
}
