/**
 * `trusted-root create` (cosign's `cmd/cosign/cli/trustedroot`): a `trusted_root.json` for a
 * private Sigstore deployment from service specs (`lib/trust/build.ts` reads them):
 *
 * - `--fulcio url=,certificate-chain=PEM[,start-time=,end-time=]`: intermediates first, root
 *   last; the window starts at the root's `notBefore` unless given;
 * - `--rekor url=,public-key=PEM,start-time=[,end-time=,origin=]`: a Rekor v2 log gives its
 *   checkpoint origin, and its log ID becomes the checkpoint key ID;
 * - `--ctfe url=,public-key=PEM,start-time=[,end-time=]`;
 * - `--tsa url=,certificate-chain=PEM[,start-time=,end-time=]`: leaf first, root last; the
 *   window starts at the leaf's `notBefore` unless given.
 *
 * `--with-default-services` starts from the trusted root TUF serves (less what `--no-default-*`
 * removes), and the specs are added to it.
 *
 * @module
 */

import {
  parseCertificateChainPem,
  parsePublicKeyPem,
  parseServiceSpec,
  requireSpecValue,
  specValidity,
  trustedAuthority,
  trustedLog,
} from "../../lib/trust/build.ts";
import {
  encodeTrustedRoot,
  parseTrustedRoot,
  type TrustedAuthority,
  type TrustedLog,
} from "../../lib/trust/trusted_root.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { tufClient } from "../options/trust.ts";
import { readSpecFile, writeJsonResult } from "./_output.ts";

async function authority(
  input: CommandInput,
  spec: string,
  kind: "ca" | "tsa",
): Promise<TrustedAuthority> {
  const what = kind === "ca" ? "--fulcio" : "--tsa";
  const kv = parseServiceSpec(spec);
  const url = requireSpecValue(kv, "url", what);
  const path = requireSpecValue(kv, "certificate-chain", what);
  const chain = parseCertificateChainPem(
    await readSpecFile(input, path, `${what} certificate chain`),
    `${what} certificate chain "${path}"`,
  );
  // cosign: a CA is valid from its root's notBefore, a TSA from its leaf's.
  const defaultStart = (kind === "ca" ? chain.at(-1)! : chain[0]!).notBefore;
  return trustedAuthority(chain, {
    uri: url,
    kind,
    validFor: specValidity(kv, what, defaultStart),
  });
}

async function log(input: CommandInput, spec: string, what: string): Promise<TrustedLog> {
  const kv = parseServiceSpec(spec);
  const url = requireSpecValue(kv, "url", what);
  const path = requireSpecValue(kv, "public-key", what);
  requireSpecValue(kv, "start-time", what);
  const key = parsePublicKeyPem(
    await readSpecFile(input, path, `${what} public key`),
    `${what} public key "${path}"`,
  );
  const origin = what === "--rekor" ? kv.origin : undefined;
  return trustedLog(key, {
    baseUrl: url,
    validFor: specValidity(kv, what),
    ...(origin ? { origin } : {}),
  });
}

/** Run `trusted-root create`. */
export const createTrustedRoot: CommandRun = async (input) => {
  const { flags } = input;
  const certificateAuthorities: TrustedAuthority[] = [];
  const tlogs: TrustedLog[] = [];
  const ctlogs: TrustedLog[] = [];
  const timestampAuthorities: TrustedAuthority[] = [];
  if (flags.boolean("with-default-services")) {
    const base = parseTrustedRoot(await (await tufClient(input)).trustedRootBytes());
    if (!flags.boolean("no-default-fulcio")) {
      certificateAuthorities.push(...base.certificateAuthorities);
    }
    if (!flags.boolean("no-default-rekor")) tlogs.push(...base.tlogs);
    if (!flags.boolean("no-default-ctfe")) ctlogs.push(...base.ctlogs);
    if (!flags.boolean("no-default-tsa")) timestampAuthorities.push(...base.timestampAuthorities);
  }
  for (const spec of flags.list("fulcio")) {
    certificateAuthorities.push(await authority(input, spec, "ca"));
  }
  for (const spec of flags.list("rekor")) tlogs.push(await log(input, spec, "--rekor"));
  for (const spec of flags.list("ctfe")) ctlogs.push(await log(input, spec, "--ctfe"));
  for (const spec of flags.list("tsa")) {
    timestampAuthorities.push(await authority(input, spec, "tsa"));
  }
  await writeJsonResult(
    input,
    encodeTrustedRoot({ tlogs, ctlogs, certificateAuthorities, timestampAuthorities }),
  );
};
