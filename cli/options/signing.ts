/**
 * The signing flags shared by `sign`, `attest`, `sign-blob` and `attest-blob`: who signs (a key,
 * or keyless: an OIDC token exchanged for a Fulcio certificate over an ephemeral key) and which
 * witnesses record it (transparency log, timestamp authority). Services come from
 * `--signing-config` or the individual URL flags (cosign-spec.md sections 7, 8.3).
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { resolveIdentityToken } from "../../lib/keyless/token_sources.ts";
import type { SigningIdentity, SigningServices } from "../../lib/sign/signature.ts";
import {
  parseSigningConfig,
  selectServices,
  type SigningConfig,
} from "../../lib/trust/signing_config.ts";
import {
  keylessIdentity,
  timestampWitness,
  transparencyLogWitness,
} from "../../lib/sign/witnesses.ts";
import type { CommandInput } from "../spec.ts";
import { DEFAULT_OIDC_ISSUER, DEFAULT_REKOR_URL } from "./flags.ts";

export { SIGNER_FLAGS, WITNESS_FLAGS } from "./flags.ts";
import { loadPrivateKey } from "../keys/key_refs.ts";
import { loadTrustedRoot } from "./verify.ts";

/** The signer a command uses, and how to describe it. */
export interface ResolvedIdentity {
  readonly identity: SigningIdentity;
  readonly description: string;
}

/** The services a signing run talks to. */
interface Endpoints {
  readonly fulcio?: string;
  readonly rekor?: string;
  /** The `majorApiVersion` of a Rekor picked from the signing config (2: Rekor v2). */
  readonly rekorVersion?: number;
  readonly tsa?: string;
  readonly oidcIssuer?: string;
}

/** Largest signing config read. */
const MAX_SIGNING_CONFIG_BYTES = 4 << 20;

/** Largest identity token file read (a JWT is a few KiB). */
const MAX_TOKEN_FILE_BYTES = 1 << 20;

async function readSigningConfig(input: CommandInput): Promise<SigningConfig | undefined> {
  const path = input.flags.string("signing-config");
  if (path === undefined) return undefined;
  const bytes = await input.ctx.readFile(path, {
    maxBytes: MAX_SIGNING_CONFIG_BYTES,
    what: "signing config",
    code: "TRUST_MISSING",
  });
  return parseSigningConfig(new TextDecoder().decode(bytes));
}

/** The endpoints from `--signing-config`, overridden by the explicit URL flags. */
async function endpoints(input: CommandInput): Promise<Endpoints> {
  const { flags, ctx } = input;
  const config = await readSigningConfig(input);
  const now = ctx.now();
  const pick = (services: SigningConfig["caUrls"], versions: number[]) =>
    selectServices(services, versions, { selector: "ANY" }, now)[0]?.url;
  // Rekor v1 and v2 are both spoken: the highest version the config lists wins (section 8.3).
  const rekorService = config
    ? selectServices(config.rekorTlogUrls, [1, 2], { selector: "ANY" }, now)[0]
    : undefined;
  const fromConfig: Endpoints = config
    ? {
      ...optional("fulcio", pick(config.caUrls, [1])),
      ...optional("rekor", rekorService?.url),
      ...optional("tsa", pick(config.tsaUrls, [1])),
      ...optional("oidcIssuer", pick(config.oidcUrls, [1])),
    }
    : {};
  const fulcio = flags.string("fulcio-url") ?? fromConfig.fulcio;
  const rekor = flags.string("rekor-url") ?? fromConfig.rekor ??
    (config ? undefined : DEFAULT_REKOR_URL);
  const tsa = flags.string("timestamp-server-url") ?? fromConfig.tsa;
  const oidcIssuer = flags.has("oidc-issuer")
    ? flags.string("oidc-issuer")
    : fromConfig.oidcIssuer ?? flags.string("oidc-issuer");
  return {
    ...optional("fulcio", fulcio),
    ...optional("rekor", rekor),
    // --rekor-url names a Rekor v1 (cosign: the URL flags synthesize a v1 service).
    ...(flags.string("rekor-url") === undefined && rekorService
      ? { rekorVersion: rekorService.majorApiVersion }
      : {}),
    ...optional("tsa", tsa),
    ...optional("oidcIssuer", oidcIssuer),
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/** Load the signing identity the flags name: a key, or a keyless Fulcio certificate. */
export async function signingIdentity(input: CommandInput): Promise<ResolvedIdentity> {
  const keyRef = input.flags.string("key");
  if (keyRef !== undefined) {
    const key = await loadPrivateKey(input.ctx, keyRef);
    return { identity: { signer: key }, description: `key "${keyRef}"` };
  }
  return await keylessSigner(input);
}

async function keylessSigner(input: CommandInput): Promise<ResolvedIdentity> {
  const { flags, ctx, out } = input;
  const urls = await endpoints(input);
  if (urls.fulcio === undefined) {
    throw new CosignError(
      "CLI_USAGE",
      "Keyless signing needs a Fulcio: pass --signing-config (dcosign serve writes one) or --fulcio-url, or sign with --key",
    );
  }
  const trustedRoot = await loadTrustedRoot(input);
  if (!trustedRoot) {
    throw new CosignError(
      "TRUST_MISSING",
      "Keyless signing checks the issued certificate against a trusted root: pass --trusted-root (dcosign serve writes one)",
    );
  }
  out.info(
    "Keyless signing: your identity (email or workflow) goes into a certificate and, with the signature, into a public transparency log",
  );
  if (!flags.boolean("yes") && ctx.prompt) {
    const answer = await ctx.prompt("Are you sure you would like to continue? [y/N] ");
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new CosignError("CLI_ABORTED", "Signing cancelled");
    }
  }
  const identityToken = flags.string("identity-token");
  const token = await resolveIdentityToken({
    ...(identityToken !== undefined ? { identityToken } : {}),
    readFile: async (path) =>
      new TextDecoder().decode(
        await ctx.readFile(path, { maxBytes: MAX_TOKEN_FILE_BYTES, what: "identity token" }),
      ),
    env: ctx.env,
    fetch: ctx.fetch,
    disableAmbient: flags.boolean("oidc-disable-ambient-providers"),
    signal: input.signal,
    interactive: {
      issuer: urls.oidcIssuer ?? DEFAULT_OIDC_ISSUER,
      clientId: flags.string("oidc-client-id") ?? "sigstore",
      print: (line) => out.info(line),
    },
  });
  out.debug(`Identity token from ${token.source}`);
  const { identity, certificate } = await keylessIdentity({
    token: token.token,
    fulcioUrl: urls.fulcio,
    trustedRoot,
    fetch: ctx.fetch,
    now: ctx.now,
    sctThreshold: flags.boolean("insecure-skip-sct") ? 0 : 1,
  });
  const san = certificate.identity.san ?? "?";
  out.info(
    `Successfully verified the certificate for "${san}" issued by "${
      certificate.identity.issuer ?? "?"
    }"`,
  );
  return { identity, description: `certificate for "${san}"` };
}

/** The witnesses the flags ask for. */
export async function signingServices(
  input: CommandInput,
  _identity: ResolvedIdentity,
): Promise<SigningServices> {
  const { flags, ctx, out } = input;
  const urls = await endpoints(input);
  const services: { -readonly [K in keyof SigningServices]: SigningServices[K] } = {};
  if (flags.boolean("tlog-upload")) {
    if (urls.rekor === undefined) {
      throw new CosignError(
        "CLI_USAGE",
        "The signing config names no transparency log: pass --rekor-url or --tlog-upload=false",
      );
    }
    const trustedRoot = urls.rekorVersion === 2 ? await loadTrustedRoot(input) : undefined;
    services.log = transparencyLogWitness(urls.rekor, {
      fetch: ctx.fetch,
      onEntry: (index) => out.info(`tlog entry created with index: ${index}`),
      majorApiVersion: urls.rekorVersion ?? 1,
      ...(trustedRoot ? { trustedRoot } : {}),
      now: ctx.now(),
    });
  } else {
    out.warn(
      "Not recording the signature in a transparency log (--tlog-upload=false): verifiers must pass --insecure-ignore-tlog",
    );
  }
  const tsaUrl = urls.tsa;
  if (tsaUrl !== undefined) {
    services.timestamp = timestampWitness(tsaUrl, { fetch: ctx.fetch, signal: input.signal });
  }
  return services;
}
