/**
 * `dcosign version`: the version, and how this copy was built.
 *
 * @module
 */

import type { CommandRun } from "../spec.ts";

/** The release version (kept equal to deno.json's `version`; a test checks it). */
export const VERSION = "0.1.0";

/**
 * How this copy was built: "source", or the stamp `scripts/compile.ts` sets (target and date)
 * before it loads the CLI into a compiled binary.
 */
export const BUILD: string = (globalThis as { DCOSIGN_BUILD?: string }).DCOSIGN_BUILD ?? "source";

/** Print the version, as text or `--json`. */
export const version: CommandRun = ({ flags, out }) => {
  const info = {
    version: VERSION,
    build: BUILD,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    platform: `${Deno.build.os}/${Deno.build.arch}`,
  };
  if (flags.boolean("json")) out.json(info);
  else {
    out.line(`dcosign ${info.version} (${info.build})`);
    out.line(`Deno:      ${info.deno}`);
    out.line(`Platform:  ${info.platform}`);
  }
  return Promise.resolve();
};
