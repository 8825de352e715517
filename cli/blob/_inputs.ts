/**
 * What the blob commands share: reading the files their flags name (bounded, through
 * `CliContext.readFile`), standard input as a blob, writing outputs (0600), usage errors, and
 * hashing progress (only when stderr is a terminal).
 */

import { utf8 } from "../../lib/util/bytes.ts";
import { CosignError } from "../../lib/errors.ts";
import type { HashProgress } from "../../lib/sign/blob.ts";
import type { CommandInput } from "../spec.ts";
import { resolvePath } from "../context.ts";

/** Largest certificate, chain, signature or timestamp file read. */
export const MAX_SMALL_FILE_BYTES = 1 << 20;

/** Largest blob read from standard input, which is held in memory whole (as cosign does). */
const MAX_STDIN_BLOB_BYTES = 128 << 20;

export function readStdinBlob(input: CommandInput): Promise<Uint8Array> {
  return input.ctx.readFile("-", { maxBytes: MAX_STDIN_BLOB_BYTES, what: "the blob" });
}

export function usage(message: string): CosignError {
  return new CosignError("CLI_USAGE", message);
}

/** Read a file the user named, bounded before reading; errors name the flag. */
export async function readBounded(
  input: CommandInput,
  path: string,
  flag: string,
  max: number,
): Promise<Uint8Array> {
  return await input.ctx.readFile(path, { maxBytes: max, what: flag });
}

export async function readOptional(
  input: CommandInput,
  flag: string,
  max = MAX_SMALL_FILE_BYTES,
): Promise<Uint8Array | undefined> {
  const path = input.flags.string(flag);
  return path === undefined ? undefined : await readBounded(input, path, `--${flag}`, max);
}

export async function writeOutput(input: CommandInput, path: string, data: string | Uint8Array) {
  const file = resolvePath(input.ctx, path);
  const bytes = typeof data === "string" ? utf8(data) : data;
  await Deno.writeFile(file, bytes, { mode: 0o600 });
}

const MIB = 1 << 20;

/** Hashing progress on stderr, at most once a second, only on a terminal. */
export function progress(
  input: CommandInput,
  name: string,
): ((p: HashProgress) => void) | undefined {
  if (!input.ctx.isTerminal.stderr) return undefined;
  let last = Date.now();
  return ({ hashed, total }) => {
    const now = Date.now();
    if (now - last < 1000) return;
    last = now;
    const done = `${(hashed / MIB).toFixed(0)} MiB`;
    input.out.info(
      total
        ? `Hashing ${name}: ${Math.floor((hashed / total) * 100)}% (${done} of ${
          (total / MIB).toFixed(0)
        } MiB)`
        : `Hashing ${name}: ${done}`,
    );
  };
}
