/**
 * The files the embedded stack writes for other processes: the ready file (`--ready-file`, every
 * URL and a one-hour identity token), the `trusted_root.json` and `signing_config.json` that
 * name the stack's services, and the first root of its TUF repository (`1.root.json`). Every file is written atomically (a 0600 temporary file in the same
 * directory, fsync, rename), so a reader never sees half a file.
 *
 * @module
 */

import { encodeTrustedRoot } from "../../lib/trust/trusted_root.ts";
import { encodeSigningConfig } from "../../lib/trust/signing_config.ts";
import type { StackTrust } from "./services.ts";
import { writeFileAtomically } from "../_files.ts";

/** The ready file (`--ready-file`), written once the stack listens (DESIGN.md). */
export interface ReadyInfo {
  /** The registry as `host:port` (what image references start with). */
  readonly registry: string;
  /** Rekor base URL. */
  readonly rekor?: string;
  /** Rekor v2 base URL (the tlog-tiles prefix; entries are posted to `<url>/api/v2/log/entries`). */
  readonly rekorV2?: string;
  /** Fulcio base URL. */
  readonly fulcio?: string;
  /** Timestamp authority base URL. */
  readonly tsa?: string;
  /** OIDC issuer URL. */
  readonly oidcIssuer?: string;
  /** Path of the trusted_root.json the stack wrote. */
  readonly trustedRoot?: string;
  /** Path of the signing_config.json the stack wrote. */
  readonly signingConfig?: string;
  /** Path of the signing config listing the Rekor v2 log first (`signing_config_rekor_v2.json`). */
  readonly signingConfigRekorV2?: string;
  /** The stack's TUF repository (`dcosign initialize --mirror`). */
  readonly tufMirror?: string;
  /** Path of its first TUF root, `1.root.json` (`dcosign initialize --root`). */
  readonly tufRoot?: string;
  /** An identity token valid for one hour. */
  readonly idToken?: string;
  /** The identity (subject) of `idToken`. */
  readonly identity?: string;
  /** The issuer of `idToken`. */
  readonly issuer?: string;
  /** The serving process, for scripts that stop it with SIGTERM (`kill "$pid"`). */
  readonly pid?: number;
}

/**
 * Write the ready file atomically.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { startStack, writeReadyFile } from "@dcosign/dcosign/server";
 *
 * await using stack = await startStack();
 * const path = await Deno.makeTempFile({ suffix: ".json" });
 * await writeReadyFile(path, stack.ready);
 * assert.deepEqual(JSON.parse(await Deno.readTextFile(path)), stack.ready);
 * await Deno.remove(path);
 * ```
 */
export async function writeReadyFile(path: string, info: ReadyInfo): Promise<void> {
  await writeFileAtomically(path, `${JSON.stringify(info, null, 2)}\n`);
}

/** The stack's trusted root and signing configs as the files (and TUF targets) hold them. */
export function trustFileTexts(
  trust: StackTrust,
): { trustedRoot: string; signingConfig: string; signingConfigRekorV2: string } {
  return {
    trustedRoot: `${JSON.stringify(encodeTrustedRoot(trust.trustedRoot), null, 2)}\n`,
    signingConfig: `${JSON.stringify(encodeSigningConfig(trust.signingConfig), null, 2)}\n`,
    signingConfigRekorV2: `${
      JSON.stringify(encodeSigningConfig(trust.signingConfigRekorV2), null, 2)
    }\n`,
  };
}

/** Write the stack's trusted root and signing configs (indented JSON) atomically to `paths`. */
export async function writeTrustFiles(
  paths: {
    readonly trustedRoot: string;
    readonly signingConfig: string;
    readonly signingConfigRekorV2?: string;
  },
  trust: StackTrust,
): Promise<void> {
  const texts = trustFileTexts(trust);
  await writeFileAtomically(paths.trustedRoot, texts.trustedRoot);
  await writeFileAtomically(paths.signingConfig, texts.signingConfig);
  if (paths.signingConfigRekorV2 !== undefined) {
    await writeFileAtomically(paths.signingConfigRekorV2, texts.signingConfigRekorV2);
  }
}
