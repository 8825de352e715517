/**
 * `dcosign version`: the version stamp. `scripts/compile.ts` rewrites `BUILD` when it builds a
 * release binary; a source checkout reports "source".
 *
 * @module
 */

import type { CommandRun } from "./app.ts";

/** The release version (kept equal to deno.json's `version`; a test checks it). */
export const VERSION = "0.1.0";

/** How this copy was built: "source", or the target and date a compiled binary was built for. */
export const BUILD = "source";

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
