/**
 * `generate-key-pair`, `import-key-pair` and `public-key` (cosign-spec.md sections 4.1-4.2).
 *
 * @module
 */

import { encryptPrivateKey } from "../../lib/keys/key_file.ts";
import {
  generateKeyPair as generate,
  importPrivateKeyPem,
  type PrivateKey,
} from "../../lib/keys/private_key.ts";
import { CosignError } from "../../lib/errors.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { type CliContext, resolvePath } from "../context.ts";
import { loadPrivateKey, readKeyRef, readPassword } from "./key_refs.ts";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Refuse to overwrite an existing key file unless the user confirms on a terminal or passed
 * `-y`: a lost private key cannot be recovered.
 */
async function confirmOverwrite(ctx: CliContext, paths: string[], yes: boolean) {
  for (const path of paths) {
    if (!(await exists(path))) continue;
    if (yes) continue;
    if (!ctx.prompt) {
      throw new CosignError(
        "CLI_FILE_EXISTS",
        `File "${path}" already exists: remove it, or pass -y to overwrite`,
      );
    }
    const answer = await ctx.prompt(`File ${path} already exists. Overwrite (y/n)? `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new CosignError("CLI_FILE_EXISTS", `Not overwriting "${path}"`);
    }
  }
}

async function writeKeyPair(input: CommandInput, key: PrivateKey, prefix: string, yes: boolean) {
  const { ctx, out } = input;
  const keyPath = resolvePath(ctx, `${prefix}.key`);
  const pubPath = resolvePath(ctx, `${prefix}.pub`);
  await confirmOverwrite(ctx, [keyPath, pubPath], yes);
  const password = await readPassword(ctx, { confirm: true });
  const encrypted = encryptPrivateKey(key, password);
  await Deno.writeTextFile(keyPath, encrypted, { mode: 0o600 });
  await Deno.chmod(keyPath, 0o600);
  await Deno.writeTextFile(pubPath, key.publicKey.toPem(), { mode: 0o644 });
  out.info(`Private key written to ${prefix}.key`);
  out.info(`Public key written to ${prefix}.pub`);
}

/** `generate-key-pair`: a new ECDSA P-256 pair as `<prefix>.key` (encrypted) and `.pub`. */
export const generateKeyPair: CommandRun = async (input) => {
  const key = await generate();
  await writeKeyPair(input, key, input.flags.string("output-key-prefix") ?? "cosign", false);
};

/** `import-key-pair`: re-encode a PEM private key as a cosign key pair. */
export const importKeyPair: CommandRun = async (input) => {
  const ref = input.flags.string("key");
  if (!ref) throw new CosignError("CLI_USAGE", "Missing --key: the PEM private key to import");
  const key = await importPrivateKeyPem(await readKeyRef(input.ctx, ref));
  await writeKeyPair(
    input,
    key,
    input.flags.string("output-key-prefix") ?? "import-cosign",
    input.flags.boolean("yes"),
  );
};

/** `public-key`: print (or write) the public key of a cosign private key. */
export const publicKey: CommandRun = async ({ ctx, flags, out }) => {
  const ref = flags.string("key");
  if (!ref) throw new CosignError("CLI_USAGE", "Missing --key: the private key to read");
  const key = await loadPrivateKey(ctx, ref);
  const pem = key.publicKey.toPem();
  const outfile = flags.string("outfile");
  if (outfile) {
    await Deno.writeTextFile(resolvePath(ctx, outfile), pem);
    out.info(`Public key written to ${outfile}`);
  } else {
    out.result(pem);
  }
};
