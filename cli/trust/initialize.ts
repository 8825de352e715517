/**
 * `initialize [--mirror URL] [--root FILE] [--root-checksum HEX]` (cosign-spec.md section 8.2):
 * reset dcosign's TUF cache for the mirror, trust the given root (or the embedded public-good
 * one), run a full update, pre-fetch `trusted_root.json` and `signing_config.v0.2.json`, and
 * remember the mirror so later commands need no trust flags. The work is
 * `lib/trust/tuf/client.ts`'s `initializeTuf`; this prints what it did.
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { initializeTuf } from "../../lib/trust/tuf/client.ts";
import type { CommandRun } from "../spec.ts";

/** Largest root file read (TUF roots are a few KiB; the client bounds them at 512 KiB). */
const MAX_ROOT_BYTES = 512 * 1024;

/** Run `initialize`. */
export const initialize: CommandRun = async ({ flags, ctx, out }) => {
  const rootPath = flags.string("root");
  const checksum = flags.string("root-checksum");
  if (checksum !== undefined && rootPath === undefined) {
    throw new CosignError("CLI_USAGE", "--root-checksum is the checksum of --root: pass both");
  }
  if (checksum !== undefined && !/^[0-9a-fA-F]{64}$/.test(checksum)) {
    throw new CosignError("CLI_USAGE", `--root-checksum "${checksum}" is not a hex SHA-256`);
  }
  const root = rootPath === undefined ? undefined : await ctx.readFile(rootPath, {
    maxBytes: MAX_ROOT_BYTES,
    what: "TUF root",
    code: "TRUST_MISSING",
  });
  const result = await initializeTuf({
    mirror: flags.string("mirror")!,
    ...(root ? { root } : {}),
    ...(checksum !== undefined ? { rootChecksum: checksum } : {}),
    env: ctx.env,
    fetch: ctx.fetch,
    now: ctx.now,
    warn: (message) => out.warn(message),
  });
  out.info(
    `Initialized TUF for "${result.mirror}": root version ${result.rootVersion}, timestamp ` +
      `version ${result.timestampVersion}, targets version ${result.targetsVersion}`,
  );
  out.info(
    result.cacheDir === undefined || result.cacheMode === "memory"
      ? "The cache could not be written: later commands will fetch again"
      : `Cached in ${result.cacheDir}: ${result.targets.join(", ") || "no targets"}`,
  );
};
