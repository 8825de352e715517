/**
 * The signing flags shared by `sign`, `attest`, `sign-blob` and `attest-blob`: who signs (a key,
 * or keyless: an OIDC token exchanged for a Fulcio certificate over an ephemeral key) and which
 * witnesses record it (transparency log, timestamp authority). Services come from the signing
 * config (`--signing-config FILE`, else TUF's with `--use-signing-config`, the default), each
 * overridden by its URL flag; with a URL flag and no file, the flags alone name the services,
 * as cosign's deprecated URL flags do (cosign-spec.md sections 7, 8.3).
 *
 * @module
 */

import { CosignError } from "../../lib/errors.ts";
import { resolveIdentityToken } from "../../lib/keyless/token_sources.ts";
import type { SigningIdentity, SigningServices } from "../../lib/sign/signature.ts";
import {
  selectSigningService,
  type SigningConfig,
  type SigningServiceKind,
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
import { loadTrustedRoot, loadTufSigningConfig, readSigningConfigFile } from "./trust.ts";

/** The signer a command uses, and how to describe it. */
export interface ResolvedIdentity {
  readonly identity: SigningIdentity;
  readonly description: string;
}

/** A service a signing run talks to, and the API version it speaks. */
interface Endpoint {
  readonly url: string;
  readonly majorApiVersion: number;
}

/** The services a signing run talks to. */
interface Endpoints {
  readonly fulcio?: Endpoint;
  readonly rekor?: Endpoint;
  readonly tsa?: Endpoint;
  readonly oidcIssuer?: string;
  /** Where the services came from, for messages. */
  readonly source: "flags" | "signing config" | "TUF signing config";
}

/** Largest identity token file read (a JWT is a few KiB). */
const MAX_TOKEN_FILE_BYTES = 1 << 20;

/** The service URL flags; any of them names the services instead of TUF's signing config. */
const SERVICE_URL_FLAGS = ["fulcio-url", "rekor-url", "timestamp-server-url", "oidc-issuer"];

const resolved = new WeakMap<CommandInput, Promise<Endpoints>>();

/** `endpoints` once per command: identity and witnesses share one resolution. */
function endpoints(input: CommandInput): Promise<Endpoints> {
  let result = resolved.get(input);
  if (result === undefined) {
    result = resolveEndpoints(input);
    resolved.set(input, result);
  }
  return result;
}

/**
 * The signing config in force: `--signing-config FILE`; else, with `--use-signing-config` (the
 * default) and no service URL flag, TUF's, but only when a service it names is needed (a
 * keyless identity, or a log upload): a key signature with no log asks no service and no TUF.
 */
async function signingConfig(
  input: CommandInput,
): Promise<{ config?: SigningConfig; source: Endpoints["source"] }> {
  const { flags } = input;
  const file = await readSigningConfigFile(input);
  if (file) return { config: file, source: "signing config" };
  const explicit = SERVICE_URL_FLAGS.some((name) => flags.has(name));
  const needed = flags.string("key") === undefined || flags.boolean("tlog-upload");
  if (!flags.boolean("use-signing-config") || explicit || !needed) return { source: "flags" };
  return { config: await loadTufSigningConfig(input), source: "TUF signing config" };
}

/** One service of `kind`: refused in one line when the config asks for several. */
function single(
  config: SigningConfig,
  kind: SigningServiceKind,
  now: Date,
): Endpoint | undefined {
  const selected = selectSigningService(config, kind, { now });
  if (selected.length > 1) {
    throw new CosignError(
      "TRUST_NO_SERVICE",
      `The signing config asks for ${selected.length} ${
        kind === "rekor" ? "Rekor logs" : "timestamp authorities"
      } (${
        selected.map((s) => `"${s.url}"`).join(", ")
      }); dcosign records each signature with one of each: pick one with --${
        kind === "rekor" ? "rekor-url" : "timestamp-server-url"
      }`,
    );
  }
  const service = selected[0];
  return service && { url: service.url, majorApiVersion: service.majorApiVersion };
}

/**
 * The endpoints from the signing config (`signingConfig`), each overridden by its explicit URL
 * flag (cosign-spec.md section 8.3: valid now, highest supported API version, the selectors).
 */
async function resolveEndpoints(input: CommandInput): Promise<Endpoints> {
  const { flags, ctx } = input;
  const { config, source } = await signingConfig(input);
  const now = ctx.now();
  const fromConfig = (kind: SigningServiceKind) => config && single(config, kind, now);
  const flag = (name: string): Endpoint | undefined => {
    const url = flags.string(name);
    return url === undefined ? undefined : { url, majorApiVersion: 1 };
  };
  const fulcio = flag("fulcio-url") ?? fromConfig("fulcio");
  const rekor = flag("rekor-url") ?? fromConfig("rekor") ??
    (config ? undefined : { url: DEFAULT_REKOR_URL, majorApiVersion: 1 });
  const tsa = flag("timestamp-server-url") ?? fromConfig("tsa");
  const oidcIssuer = flags.has("oidc-issuer")
    ? flags.string("oidc-issuer")
    : fromConfig("oidc")?.url ?? flags.string("oidc-issuer");
  return {
    ...(fulcio ? { fulcio } : {}),
    ...(rekor ? { rekor } : {}),
    ...(tsa ? { tsa } : {}),
    ...(oidcIssuer !== undefined ? { oidcIssuer } : {}),
    source,
  };
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
      `Keyless signing needs a Fulcio, and ${
        urls.source === "flags" ? "no --fulcio-url is given" : `the ${urls.source} lists none`
      }: pass --fulcio-url or a --signing-config that lists one (dcosign serve writes one), or sign with --key`,
    );
  }
  // The issued certificate is checked against the trusted root (file, overrides or TUF).
  const { trustedRoot } = await loadTrustedRoot(input);
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
    fulcioUrl: urls.fulcio.url,
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
        `The ${urls.source} lists no transparency log: pass --rekor-url or --tlog-upload=false`,
      );
    }
    // Rekor v2 answers need the log's key to check the checkpoint they carry.
    const trustedRoot = urls.rekor.majorApiVersion === 2
      ? (await loadTrustedRoot(input)).trustedRoot
      : undefined;
    services.log = transparencyLogWitness(urls.rekor.url, {
      fetch: ctx.fetch,
      onEntry: (index) => out.info(`tlog entry created with index: ${index}`),
      majorApiVersion: urls.rekor.majorApiVersion,
      ...(trustedRoot ? { trustedRoot } : {}),
      now: ctx.now(),
    });
  } else {
    out.warn(
      "Not recording the signature in a transparency log (--tlog-upload=false): verifiers must pass --insecure-ignore-tlog",
    );
  }
  const tsa = urls.tsa;
  if (tsa !== undefined) {
    services.timestamp = timestampWitness(tsa.url, { fetch: ctx.fetch, signal: input.signal });
  }
  return services;
}
