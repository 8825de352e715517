/**
 * Key references as cosign's `--key` takes them (cosign-spec.md section 4.2): a file path, an
 * `env://VAR`, or an `http(s)://` URL; and the password rule of section 4.1: `COSIGN_PASSWORD`
 * when set (even empty), else a prompt on a terminal, else all of stdin.
 *
 * @module
 */

import type { Password } from "../../lib/keys/key_file.ts";
import type { PrivateKey } from "../../lib/keys/private_key.ts";
import { decodePemBlocks } from "../../lib/util/pem.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { PublicKey } from "../../lib/keys/public_key.ts";
import { parseCertificate } from "../../lib/x509/certificate.ts";
import type { CliContext } from "../context.ts";

/**
 * Largest key file read: `MAX_KEY_FILE_SIZE` of lib/keys/private_key.ts (a unit test keeps them
 * equal), written here so that reading a public key loads no private-key code.
 */
export const MAX_KEY_REF_BYTES = 64 * 1024;

const UNSUPPORTED_SCHEMES = /^(awskms|gcpkms|azurekms|hashivault|k8s|gitlab|github|pkcs11):/;

/** Read the text a key reference points at, bounded in size. */
export async function readKeyRef(ctx: CliContext, ref: string): Promise<string> {
  if (UNSUPPORTED_SCHEMES.test(ref)) {
    throw new CosignError(
      "KEY_UNSUPPORTED",
      `Unsupported key reference "${ref}": dcosign reads keys from files, env:// and https:// only`,
    );
  }
  if (ref.startsWith("env://")) {
    const value = ctx.env(ref.slice("env://".length));
    if (value === undefined) {
      throw new CosignError("KEY_MALFORMED", `Cannot read key "${ref}": the variable is not set`);
    }
    return value;
  }
  if (/^https?:\/\//.test(ref)) {
    const response = await ctx.fetch(ref, { signal: ctx.signal });
    if (!response.ok) {
      await response.body?.cancel();
      throw new CosignError(
        "KEY_MALFORMED",
        `Cannot fetch key "${ref}": HTTP ${response.status}`,
      );
    }
    const text = await response.text();
    if (text.length > MAX_KEY_REF_BYTES) {
      throw new CosignError("KEY_MALFORMED", `Cannot read key "${ref}": larger than 64 KiB`);
    }
    return text;
  }
  const bytes = await ctx.readFile(ref, {
    maxBytes: MAX_KEY_REF_BYTES,
    what: "key",
    code: "KEY_MALFORMED",
  });
  return new TextDecoder().decode(bytes);
}

/** The password for a key file, as cosign finds it. */
export async function readPassword(
  ctx: CliContext,
  options: { confirm?: boolean } = {},
): Promise<Password> {
  const fromEnv = ctx.env("COSIGN_PASSWORD");
  if (fromEnv !== undefined) return fromEnv;
  if (ctx.prompt) {
    const password = await ctx.prompt("Enter password for private key: ", { hidden: true });
    if (options.confirm) {
      const again = await ctx.prompt("Enter password for private key again: ", { hidden: true });
      if (again !== password) {
        throw new CosignError("KEY_PASSWORD_MISMATCH", "Passwords do not match");
      }
    }
    return password;
  }
  // Not a terminal: cosign reads the whole of stdin, byte for byte.
  return await ctx.readFile("-", { maxBytes: MAX_PASSWORD_BYTES, what: "the password" });
}

/** Largest password read from standard input. */
const MAX_PASSWORD_BYTES = 64 * 1024;

/** Load an encrypted cosign private key from a reference, asking for its password. */
export async function loadPrivateKey(ctx: CliContext, ref: string): Promise<PrivateKey> {
  const pem = await readKeyRef(ctx, ref);
  const password = await readPassword(ctx);
  // Loaded here, not at start: verification commands never need the key-file code.
  const { decryptPrivateKey } = await import("../../lib/keys/key_file.ts");
  try {
    return await decryptPrivateKey(pem, password);
  } catch (error) {
    if (error instanceof CosignError) {
      throw new CosignError(error.code, `Cannot load private key "${ref}": ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * Load a public key for verification: a `PUBLIC KEY` PEM, or the key of a `CERTIFICATE` PEM
 * (cosign accepts either for `--key`).
 */
export async function loadPublicKey(ctx: CliContext, ref: string): Promise<PublicKey> {
  const text = await readKeyRef(ctx, ref);
  try {
    const blocks = decodePemBlocks(text);
    const block = blocks[0];
    if (!block) throw new SyntaxError("no PEM block found");
    if (block.type === "PUBLIC KEY") return PublicKey.fromSpki(block.bytes);
    if (block.type === "CERTIFICATE") return parseCertificate(block.bytes).publicKey;
    throw new SyntaxError(`expected a "PUBLIC KEY" or "CERTIFICATE" PEM, got "${block.type}"`);
  } catch (error) {
    const code = error instanceof CosignError ? error.code : "KEY_MALFORMED";
    throw new CosignError(code, `Cannot load public key "${ref}": ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
