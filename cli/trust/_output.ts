/**
 * How the trust commands hand back the JSON they build: to `--out FILE` (mode 0600, as cosign
 * writes it) or to stdout.
 *
 * @module
 */

import { CosignError, errorMessage } from "../../lib/errors.ts";
import { resolvePath } from "../context.ts";
import type { CommandInput } from "../spec.ts";

/** Write `json` (indented) to `--out`, or print it. */
export async function writeJsonResult(input: CommandInput, json: unknown): Promise<void> {
  const text = `${JSON.stringify(json, null, 2)}\n`;
  const out = input.flags.string("out");
  if (out === undefined) {
    input.out.result(text);
    return;
  }
  try {
    await Deno.writeTextFile(resolvePath(input.ctx, out), text, { mode: 0o600 });
  } catch (cause) {
    throw new CosignError("CLI_USAGE", `Cannot write "${out}": ${errorMessage(cause)}`, { cause });
  }
  input.out.info(`Wrote ${out}`);
}

/** Read a file a spec names (bounded), relative to the working directory. */
export function readSpecFile(
  input: CommandInput,
  path: string,
  what: string,
): Promise<Uint8Array> {
  return input.ctx.readFile(path, { maxBytes: 1 << 20, what });
}
