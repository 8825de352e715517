/**
 * Where a command's trust material comes from (cosign-spec.md section 8), in cosign's order:
 *
 * 1. `--trusted-root FILE`: that file, and TUF is not consulted at all;
 * 2. cosign's overrides `SIGSTORE_ROOT_FILE`, `SIGSTORE_REKOR_PUBLIC_KEY`,
 *    `SIGSTORE_CT_LOG_PUBLIC_KEY_FILE`, `SIGSTORE_TSA_CERTIFICATE_FILE`: when any is set the
 *    trusted root is what they name (`trustedRootFromOverrides`), and TUF is not consulted;
 * 3. TUF: `trusted_root.json` from the mirror `dcosign initialize` remembered (default the
 *    public-good one), through the cache under `$TUF_ROOT` or `~/.sigstore/root` (our own
 *    `dcosign/` directory there), with no request while the cache is fresh and none at all
 *    with `--offline`. `TUF_MIRROR` (with `TUF_ROOT_JSON`, the root to trust for it) points a
 *    run at another mirror, as cosign reads them.
 *
 * The signing config follows the same path: `--signing-config FILE`, else TUF's
 * `signing_config.v0.2.json` with `--use-signing-config` (the default). One TUF client serves
 * a whole command, so a command needing both targets updates once.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import type { TrustOverrideFiles } from "../../lib/trust/build.ts";
import type { SigningConfig } from "../../lib/trust/signing_config.ts";
import { parseTrustedRoot, type TrustedRoot } from "../../lib/trust/trusted_root.ts";
import type { TufClient } from "../../lib/trust/tuf/client.ts";
import type { CommandInput } from "../spec.ts";

// The TUF client (13 modules), the override builder and the signing-config reader load only
// when a command takes that path: `--trusted-root FILE` needs none of them, and a one-shot
// verify starts faster without them (bench/cold_start_bench.ts).

/** Most bytes of a trusted root or signing config file we read. */
const MAX_TRUST_FILE_BYTES = 4 << 20;

/** Most bytes of a PEM file an override names, or of a `TUF_ROOT_JSON` root. */
const MAX_PEM_BYTES = 1 << 20;

/** cosign's trust overrides: setting any makes it skip `trusted_root.json` (pkg/cosign/env). */
export const TRUST_OVERRIDE_VARIABLES = {
  fulcioCertificates: "SIGSTORE_ROOT_FILE",
  rekorPublicKey: "SIGSTORE_REKOR_PUBLIC_KEY",
  ctLogPublicKey: "SIGSTORE_CT_LOG_PUBLIC_KEY_FILE",
  tsaCertificates: "SIGSTORE_TSA_CERTIFICATE_FILE",
} as const satisfies Record<keyof TrustOverrideFiles, string>;

/** Where a trusted root came from. */
export type TrustSource = "file" | "environment" | "tuf";

/** A trusted root and its source. */
export interface LoadedTrustedRoot {
  readonly trustedRoot: TrustedRoot;
  readonly source: TrustSource;
}

/** Options of the loaders. */
export interface TrustLoadOptions {
  /** Never use the network (`--offline`): TUF serves its cache or fails in one line. */
  readonly offline?: boolean;
}

const clients = new WeakMap<CommandInput, Promise<TufClient>>();

/**
 * The command's TUF client (one per command): the cache under `TUF_ROOT` or
 * `~/.sigstore/root`, the command's fetch and clock, its warnings through `out.warn`.
 */
export function tufClient(input: CommandInput, options: TrustLoadOptions = {}): Promise<TufClient> {
  let client = clients.get(input);
  if (client === undefined) {
    client = createTufClient(input, options);
    clients.set(input, client);
  }
  return client;
}

async function createTufClient(input: CommandInput, options: TrustLoadOptions) {
  const { ctx, out } = input;
  const mirror = ctx.env("TUF_MIRROR") || undefined;
  const rootPath = ctx.env("TUF_ROOT_JSON") || undefined;
  const rootBytes = rootPath === undefined ? undefined : await ctx.readFile(rootPath, {
    maxBytes: MAX_PEM_BYTES,
    what: "TUF root (TUF_ROOT_JSON)",
    code: "TRUST_MISSING",
  });
  const { TufClient } = await import("../../lib/trust/tuf/client.ts");
  return new TufClient({
    ...(mirror ? { mirror } : {}),
    ...(rootBytes ? { rootBytes } : {}),
    env: ctx.env,
    fetch: ctx.fetch,
    now: ctx.now,
    offline: options.offline ?? false,
    warn: (message) => out.warn(message),
  });
}

/** The override variables set in the command's environment. */
export function trustOverridesSet(input: CommandInput): string[] {
  return Object.values(TRUST_OVERRIDE_VARIABLES).filter((name) => !!input.ctx.env(name));
}

async function loadOverrides(input: CommandInput): Promise<TrustedRoot> {
  const files: { -readonly [K in keyof TrustOverrideFiles]: TrustOverrideFiles[K] } = {};
  for (const [part, name] of Object.entries(TRUST_OVERRIDE_VARIABLES)) {
    const path = input.ctx.env(name);
    if (!path) continue;
    files[part as keyof TrustOverrideFiles] = await input.ctx.readFile(path, {
      maxBytes: MAX_PEM_BYTES,
      what: `${name} file`,
      code: "TRUST_MISSING",
    });
  }
  const { trustedRootFromOverrides } = await import("../../lib/trust/build.ts");
  return trustedRootFromOverrides(files);
}

/**
 * The trusted root, from `--trusted-root`, cosign's overrides, or TUF (see the module doc).
 * Commands call it only when a check needs a trusted root.
 */
export async function loadTrustedRoot(
  input: CommandInput,
  options: TrustLoadOptions = {},
): Promise<LoadedTrustedRoot> {
  const path = input.flags.string("trusted-root");
  if (path !== undefined) {
    const bytes = await input.ctx.readFile(path, {
      maxBytes: MAX_TRUST_FILE_BYTES,
      what: "trusted root",
      code: "TRUST_MISSING",
    });
    return { trustedRoot: parseTrustedRoot(bytes), source: "file" };
  }
  const overrides = trustOverridesSet(input);
  if (overrides.length > 0) {
    input.out.debug(`Trusted root from ${overrides.join(", ")} (TUF not consulted)`);
    return { trustedRoot: await loadOverrides(input), source: "environment" };
  }
  const client = await tufClient(input, options);
  const bytes = await client.trustedRootBytes();
  input.out.debug(`Trusted root from TUF (${await client.mirror()})`);
  return { trustedRoot: parseTrustedRoot(bytes), source: "tuf" };
}

/** Read and parse `--signing-config FILE` (undefined when not given). */
export async function readSigningConfigFile(
  input: CommandInput,
): Promise<SigningConfig | undefined> {
  const path = input.flags.string("signing-config");
  if (path === undefined) return undefined;
  const bytes = await input.ctx.readFile(path, {
    maxBytes: MAX_TRUST_FILE_BYTES,
    what: "signing config",
    code: "TRUST_MISSING",
  });
  const { parseSigningConfig } = await import("../../lib/trust/signing_config.ts");
  return parseSigningConfig(bytes);
}

/** TUF's `signing_config.v0.2.json`; `TRUST_MISSING` in one line when the repository has none. */
export async function loadTufSigningConfig(
  input: CommandInput,
  options: TrustLoadOptions = {},
): Promise<SigningConfig> {
  const client = await tufClient(input, options);
  const bytes = await client.signingConfigBytes();
  if (bytes === undefined) {
    throw new CosignError(
      "TRUST_MISSING",
      `The TUF repository "${await client
        .mirror()}" publishes no signing_config.v0.2.json: pass --signing-config or the service URL flags`,
    );
  }
  input.out.debug(`Signing config from TUF (${await client.mirror()})`);
  const { parseSigningConfig } = await import("../../lib/trust/signing_config.ts");
  return parseSigningConfig(bytes);
}
