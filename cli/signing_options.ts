/**
 * The signing flags shared by `sign`, `attest`, `sign-blob` and `attest-blob`: who signs
 * (`--key`) and which witnesses record it (`--tlog-upload`/`--rekor-url`,
 * `--timestamp-server-url`).
 *
 * @module
 */

import { CosignError } from "../lib/errors.ts";
import { logEntryToTlogEntry, RekorClient } from "../lib/rekor.ts";
import type { SigningIdentity, SigningServices } from "../lib/sign.ts";
import { requestTimestamp } from "../lib/timestamp.ts";
import type { FlagSpec } from "./_args.ts";
import type { CommandInput } from "./app.ts";
import { loadPrivateKey } from "./key_refs.ts";

/** cosign's public-good Rekor, the default log. */
export const DEFAULT_REKOR_URL = "https://rekor.sigstore.dev";

/** Flags choosing the signer. */
export const SIGNER_FLAGS: readonly FlagSpec[] = [
  {
    name: "key",
    type: "string",
    value: "REF",
    description: "Private key to sign with: a cosign key file, env://VAR or an https:// URL",
  },
];

/** Flags choosing the witnesses. */
export const WITNESS_FLAGS: readonly FlagSpec[] = [
  {
    name: "tlog-upload",
    type: "boolean",
    default: true,
    description: "Record the signature in the transparency log (--tlog-upload=false to skip)",
  },
  {
    name: "rekor-url",
    type: "string",
    value: "URL",
    default: DEFAULT_REKOR_URL,
    description: "Transparency log (Rekor v1 API) to record signatures in",
  },
  {
    name: "timestamp-server-url",
    type: "string",
    value: "URL",
    description: "RFC 3161 timestamp authority endpoint to timestamp signatures with",
  },
];

/** The signer a command uses, and how to describe it. */
export interface ResolvedIdentity {
  readonly identity: SigningIdentity;
  readonly description: string;
}

/** Load the signing identity the flags name. */
export async function signingIdentity(input: CommandInput): Promise<ResolvedIdentity> {
  const keyRef = input.flags.string("key");
  if (keyRef === undefined) {
    throw new CosignError("CLI_USAGE", "Missing --key: the private key to sign with");
  }
  const key = await loadPrivateKey(input.ctx, keyRef);
  return { identity: { signer: key }, description: `key "${keyRef}"` };
}

/** The witnesses the flags ask for. */
export function signingServices(
  input: CommandInput,
  _identity: ResolvedIdentity,
): Promise<SigningServices> {
  const { flags, ctx, out } = input;
  const services: { -readonly [K in keyof SigningServices]: SigningServices[K] } = {};
  if (flags.boolean("tlog-upload")) {
    const baseUrl = flags.string("rekor-url") ?? DEFAULT_REKOR_URL;
    const rekor = new RekorClient({ baseUrl, fetch: ctx.fetch });
    services.log = async (proposed) => {
      const entry = await rekor.createEntry(proposed);
      out.info(`tlog entry created with index: ${entry.logIndex}`);
      return logEntryToTlogEntry(entry);
    };
  } else {
    out.warn(
      "Not recording the signature in a transparency log (--tlog-upload=false): verifiers must pass --insecure-ignore-tlog",
    );
  }
  const tsaUrl = flags.string("timestamp-server-url");
  if (tsaUrl !== undefined) {
    services.timestamp = (signature) =>
      requestTimestamp(tsaUrl, signature, { fetch: ctx.fetch, signal: input.signal });
  }
  return Promise.resolve(services);
}
