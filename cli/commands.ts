/**
 * cosign's command-line surface as plain data: every command, its help and flags
 * (cosign-spec.md section 10). Implementations load on demand, so `--help` and completion
 * read only this file.
 *
 * @module
 */

import type { CommandSpec } from "./app.ts";

export { VERSION } from "./version.ts";

/** Every command, in help order. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "version",
    summary: "Print the version",
    args: { min: 0, max: 0 },
    flags: [{ name: "json", type: "boolean", description: "Print JSON" }],
    load: async () => (await import("./version.ts")).version,
  },
];
