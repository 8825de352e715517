/**
 * `signing-config create` (cosign's `cmd/cosign/cli/signingconfig`): a signing config (v0.2)
 * from service specs `url=,api-version=N,start-time=,operator=[,end-time=]` for `--fulcio`,
 * `--rekor`, `--oidc-provider` and `--tsa`, with `--rekor-config`/`--tsa-config` selectors
 * (`ANY`, `ALL`, `EXACT:N`) required when their specs are given. A base is either
 * `--base-config FILE` (a kind given by specs replaces its services) or
 * `--with-default-services` (TUF's `signing_config.v0.2.json`, or with `--with-default-rekor-v2`
 * its `signing_config_rekor_v2.v0.2.json`; the specs are added), each less what
 * `--no-default-*` removes. The result is parsed back before it is written, so what is written
 * is a signing config dcosign reads.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { serviceEndpoint } from "../../lib/trust/build.ts";
import {
  encodeSigningConfig,
  parseSigningConfig,
  type ServiceEndpoint,
  type ServiceSelector,
  type SigningConfig,
} from "../../lib/trust/signing_config.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { tufClient } from "../options/trust.ts";
import { readSpecFile, writeJsonResult } from "./_output.ts";

/** The Rekor v2 signing config the public-good TUF repository publishes. */
const REKOR_V2_TARGET = "signing_config_rekor_v2.v0.2.json";

/** `ANY`, `ALL` or `EXACT:N` as a selector (cosign's `parseServiceConfig`). */
export function parseSelector(text: string, flag: string): ServiceSelector {
  const [mode = "", count, ...rest] = text.split(":");
  const upper = mode.toUpperCase();
  if ((upper === "ANY" || upper === "ALL") && count === undefined) return { selector: upper };
  if (upper === "EXACT" && rest.length === 0 && count !== undefined) {
    if (!/^[1-9][0-9]{0,8}$/.test(count)) {
      throw new CosignError("CLI_USAGE", `--${flag} "${text}": EXACT needs a positive count`);
    }
    return { selector: "EXACT", count: Number(count) };
  }
  throw new CosignError("CLI_USAGE", `--${flag} "${text}": expected ANY, ALL or EXACT:<count>`);
}

async function baseConfig(input: CommandInput): Promise<SigningConfig | undefined> {
  const { flags } = input;
  const path = flags.string("base-config");
  const defaults = flags.boolean("with-default-services");
  if (path !== undefined && defaults) {
    throw new CosignError(
      "CLI_USAGE",
      "--base-config and --with-default-services exclude each other",
    );
  }
  if (flags.boolean("with-default-rekor-v2") && !defaults) {
    throw new CosignError("CLI_USAGE", "--with-default-rekor-v2 goes with --with-default-services");
  }
  if (path !== undefined) {
    return parseSigningConfig(await readSpecFile(input, path, "--base-config"));
  }
  if (!defaults) return undefined;
  const client = await tufClient(input);
  if (flags.boolean("with-default-rekor-v2")) {
    return parseSigningConfig(await client.targetBytes(REKOR_V2_TARGET));
  }
  const bytes = await client.signingConfigBytes();
  if (bytes === undefined) {
    throw new CosignError(
      "TRUST_MISSING",
      `The TUF repository "${await client.mirror()}" publishes no signing_config.v0.2.json`,
    );
  }
  return parseSigningConfig(bytes);
}

/** Run `signing-config create`. */
export const createSigningConfig: CommandRun = async (input) => {
  const { flags } = input;
  for (const [specs, config] of [["rekor", "rekor-config"], ["tsa", "tsa-config"]] as const) {
    if (flags.list(specs).length > 0 && flags.string(config) === undefined) {
      throw new CosignError("CLI_USAGE", `--${config} must be given with --${specs}`);
    }
  }
  const base = await baseConfig(input);
  const fromBase = flags.string("base-config") !== undefined;
  const kinds = [
    ["caUrls", "fulcio", "no-default-fulcio"],
    ["rekorTlogUrls", "rekor", "no-default-rekor"],
    ["oidcUrls", "oidc-provider", "no-default-oidc"],
    ["tsaUrls", "tsa", "no-default-tsa"],
  ] as const;
  const lists = {} as Record<(typeof kinds)[number][0], ServiceEndpoint[]>;
  for (const [key, flag, noDefault] of kinds) {
    const specs = flags.list(flag).map((spec) => serviceEndpoint(spec, { what: `--${flag}` }));
    // A base config's services of a kind give way to specs of that kind; TUF's are added to.
    const keepBase = base !== undefined && !flags.boolean(noDefault) &&
      !(fromBase && specs.length > 0);
    lists[key] = [...(keepBase ? base[key] : []), ...specs];
  }
  const rekorConfig = flags.string("rekor-config");
  const tsaConfig = flags.string("tsa-config");
  const config: SigningConfig = {
    caUrls: lists.caUrls,
    oidcUrls: lists.oidcUrls,
    rekorTlogUrls: lists.rekorTlogUrls,
    tsaUrls: lists.tsaUrls,
    rekorTlogConfig: rekorConfig !== undefined
      ? parseSelector(rekorConfig, "rekor-config")
      : base?.rekorTlogConfig ?? { selector: "ANY" },
    tsaConfig: tsaConfig !== undefined
      ? parseSelector(tsaConfig, "tsa-config")
      : base?.tsaConfig ?? { selector: "ANY" },
  };
  const json = encodeSigningConfig(config);
  parseSigningConfig(json); // what is written reads back
  await writeJsonResult(input, json);
};
