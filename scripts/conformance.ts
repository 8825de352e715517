/**
 * The sigstore-conformance entrypoint: the suite's CLI protocol (docs/cli_protocol.md of
 * sigstore/sigstore-conformance, summarised in ../shared/interop/conformance/CASES.md) over the
 * dcosign library.
 *
 *   deno run -A scripts/conformance.ts sign-bundle [--staging] [--in-toto] \
 *       --identity-token TOKEN --bundle OUT [--trusted-root TR] [--signing-config SC] FILE
 *   deno run -A scripts/conformance.ts verify-bundle [--staging] --bundle B \
 *       (--certificate-identity ID --certificate-oidc-issuer ISS | --key KEY.pem) \
 *       [--trusted-root TR] FILE_OR_DIGEST
 *
 * Success exits 0; any failure exits non-zero with one line on stderr (`message [CODE]`).
 * FILE_OR_DIGEST is a digest when it reads `sha256:<64 hex>` and names no existing path; for a
 * DSSE bundle the file or digest is a statement subject. Verification goes through the one
 * pipeline (`verifyBundle`), exactly as `verify-blob` does.
 *
 * Without `--trusted-root` (and `--signing-config` to sign) the production trust material comes
 * through TUF, as for every dcosign command: the mirror `dcosign initialize` remembered under
 * `$TUF_ROOT` (default the public-good one, from the embedded root), no request while the cache
 * is fresh. `--staging` fails with one line: the staging TUF root is not embedded.
 *
 * @module
 */

import { type Flags, type FlagSpec, parseFlags } from "../cli/args.ts";
import { describeError } from "../cli/output.ts";
import { type Bytes, digest, fromHex, utf8 } from "../lib/util/bytes.ts";
import { type Bundle, MAX_BUNDLE_BYTES, parseBundle } from "../lib/bundle/model.ts";
import { encodeBundle } from "../lib/bundle/serialize.ts";
import { CosignError } from "../lib/errors.ts";
import {
  createProofOfPossession,
  FulcioClient,
  issuedCertificateTime,
  verifyIssuedCertificate,
} from "../lib/keyless/fulcio.ts";
import { generateKeyPair } from "../lib/keys/private_key.ts";
import { MAX_STATEMENT_BYTES, parseStatement } from "../lib/payload/statement.ts";
import { logEntryToTlogEntry, RekorClient } from "../lib/tlog/rekor/client.ts";
import {
  buildBundle,
  signEnvelope,
  signingHash,
  type SigningIdentity,
  type SigningServices,
  signMessage,
} from "../lib/sign/signature.ts";
import { PublicKey } from "../lib/keys/public_key.ts";
import { requestTimestamp } from "../lib/timestamp/client.ts";
import { parseTrustedRoot, type TrustedRoot } from "../lib/trust/trusted_root.ts";
import { parseSigningConfig, selectSigningService } from "../lib/trust/signing_config.ts";
import { TufClient } from "../lib/trust/tuf/client.ts";
import type { Artifact, VerificationPolicy } from "../lib/verify/entity.ts";
import { verifyBundle } from "../lib/verify/bundle.ts";

/** Options of `runConformance`: what a test injects instead of the process's own. */
export interface ConformanceOptions {
  /** Resolves relative paths (default the process's working directory). */
  readonly cwd?: string;
  /** Reaches Fulcio, Rekor and the TSA when signing (default `globalThis.fetch`). */
  readonly fetch?: typeof globalThis.fetch;
  /** The current time (default now). */
  readonly now?: () => Date;
  /** Environment lookups for the TUF cache (`TUF_ROOT`, `HOME`; default the process's). */
  readonly env?: (name: string) => string | undefined;
}

/** The outcome of one invocation: the exit code, stderr text, and the failure if any. */
export interface ConformanceOutcome {
  /** 0 on success, 2 for a usage error, 1 for any other failure. */
  readonly code: number;
  /** Empty on success, else one line ending in a newline. */
  readonly stderr: string;
  /** What failed (a `CosignError` with its code, unless something crashed). */
  readonly error?: unknown;
  /** Warnings of the TUF client (a memory-only cache, a stale mirror), not part of `stderr`. */
  readonly warnings: readonly string[];
}

/** Largest trusted root, signing config or key file read. */
const MAX_TRUST_FILE_BYTES = 4 << 20;

/** A digest argument: `sha256:` and 64 hex digits (the protocol's only digest form). */
const DIGEST_ARGUMENT = /^sha256:([0-9a-fA-F]{64})$/;

const STAGING: FlagSpec = {
  name: "staging",
  type: "boolean",
  description: "Use the staging instance (its TUF root is not embedded: refused)",
};
const BUNDLE: FlagSpec = { name: "bundle", type: "string", description: "The bundle file" };
const TRUSTED_ROOT: FlagSpec = {
  name: "trusted-root",
  type: "string",
  description: "trusted_root.json (default: the production trusted root through TUF)",
};

const SIGN_FLAGS: readonly FlagSpec[] = [
  STAGING,
  BUNDLE,
  TRUSTED_ROOT,
  { name: "in-toto", type: "boolean", description: "FILE is an in-toto statement: sign DSSE" },
  { name: "identity-token", type: "string", description: "The OIDC identity token" },
  { name: "signing-config", type: "string", description: "signing_config.json" },
];

const VERIFY_FLAGS: readonly FlagSpec[] = [
  STAGING,
  BUNDLE,
  TRUSTED_ROOT,
  { name: "certificate-identity", type: "string", description: "Exact certificate SAN" },
  { name: "certificate-oidc-issuer", type: "string", description: "Exact OIDC issuer" },
  { name: "key", type: "string", description: "PEM public key of a key-signed bundle" },
];

/**
 * Run one conformance invocation (`argv` without the program name) in this process and return
 * its outcome; nothing is printed. The `main` block below is the executable around it.
 *
 * @example
 * ```ts
 * const { code, stderr } = await runConformance([
 *   "verify-bundle", "--bundle", "b.sigstore.json", "--key", "key.pub",
 *   "--trusted-root", "trusted_root.json", "a.txt",
 * ]);
 * ```
 */
export async function runConformance(
  argv: readonly string[],
  options: ConformanceOptions = {},
): Promise<ConformanceOutcome> {
  const warnings: string[] = [];
  const run = { ...options, warn: (message: string) => warnings.push(message) };
  try {
    const [command, ...rest] = argv;
    if (command === "sign-bundle") {
      await signBundle(...parseArguments(SIGN_FLAGS, rest, "FILE"), run);
    } else if (command === "verify-bundle") {
      await verifyBundleFile(...parseArguments(VERIFY_FLAGS, rest, "FILE_OR_DIGEST"), run);
    } else {
      throw new CosignError(
        "CLI_USAGE",
        `Unknown command "${command ?? ""}": expected sign-bundle or verify-bundle`,
      );
    }
    return { code: 0, stderr: "", warnings };
  } catch (error) {
    const usage = error instanceof CosignError && error.code === "CLI_USAGE";
    return { code: usage ? 2 : 1, stderr: `${describeError(error)}\n`, error, warnings };
  }
}

function parseArguments(
  specs: readonly FlagSpec[],
  argv: readonly string[],
  positional: string,
): [Flags, string] {
  const { flags, args } = parseFlags(specs, argv);
  if (args.length !== 1) {
    throw new CosignError("CLI_USAGE", `Expected one ${positional} argument, got ${args.length}`);
  }
  if (flags.boolean("staging")) {
    throw new CosignError(
      "TRUST_MISSING",
      "--staging needs the staging TUF root, which dcosign does not embed: run `dcosign initialize --mirror https://tuf-repo-cdn.sigstage.dev --root <its root.json>` and drop --staging, or pass --trusted-root (and --signing-config to sign)",
    );
  }
  return [flags, args[0]!];
}

function required(flags: Flags, name: string, why: string): string {
  const value = flags.string(name);
  if (value === undefined || value === "") {
    throw new CosignError("CLI_USAGE", `--${name} is required: ${why}`);
  }
  return value;
}

function resolve(path: string, options: ConformanceOptions): string {
  return path.startsWith("/") ? path : `${options.cwd ?? Deno.cwd()}/${path}`;
}

/** Read a file after checking its size against `limit` (SECURITY.md rule 4). */
async function readBounded(
  path: string,
  what: string,
  limit: number,
  options: ConformanceOptions,
): Promise<Uint8Array> {
  try {
    const file = resolve(path, options);
    const { size } = await Deno.stat(file);
    if (size > limit) throw new RangeError(`${size} bytes exceeds the limit of ${limit}`);
    return await Deno.readFile(file);
  } catch (error) {
    throw new CosignError(
      what === "trusted root" || what === "signing config" ? "TRUST_MISSING" : "CLI_USAGE",
      `Cannot read ${what} "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** What the commands get beyond the caller's options. */
interface RunOptions extends ConformanceOptions {
  readonly warn: (message: string) => void;
}

/** The TUF client of one invocation (the cache under `$TUF_ROOT` or `~/.sigstore/root`). */
function tufClient(options: RunOptions): TufClient {
  return new TufClient({
    ...(options.env ? { env: options.env } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.now ? { now: options.now } : {}),
    warn: options.warn,
  });
}

async function readTrustedRoot(
  flags: Flags,
  options: RunOptions,
  tuf: () => TufClient,
): Promise<TrustedRoot> {
  const path = flags.string("trusted-root");
  if (path === undefined || path === "") return parseTrustedRoot(await tuf().trustedRootBytes());
  return parseTrustedRoot(await readBounded(path, "trusted root", MAX_TRUST_FILE_BYTES, options));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function readArtifact(argument: string, options: ConformanceOptions): Promise<Artifact> {
  const path = resolve(argument, options);
  const match = DIGEST_ARGUMENT.exec(argument);
  if (match && !exists(path)) {
    return { kind: "digest", algorithm: "sha256", digest: fromHex(match[1]!.toLowerCase()) };
  }
  try {
    return { kind: "bytes", bytes: await Deno.readFile(path) };
  } catch (error) {
    throw new CosignError(
      "CLI_USAGE",
      `Cannot read artifact "${argument}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** `verify-bundle`: the bundle about the file or digest, against the key or identity. */
async function verifyBundleFile(
  flags: Flags,
  artifactArgument: string,
  options: RunOptions,
): Promise<void> {
  const bundlePath = required(flags, "bundle", "the bundle to verify");
  const keyPath = flags.string("key");
  const identity = flags.string("certificate-identity");
  const issuer = flags.string("certificate-oidc-issuer");
  if (
    keyPath !== undefined ? identity !== undefined || issuer !== undefined : !identity || !issuer
  ) {
    throw new CosignError(
      "CLI_USAGE",
      "Pass --key, or both --certificate-identity and --certificate-oidc-issuer",
    );
  }
  const trustedRoot = await readTrustedRoot(flags, options, () => tufClient(options));
  const policy: VerificationPolicy = keyPath !== undefined
    ? {
      trustedRoot,
      key: PublicKey.fromPem(
        new TextDecoder().decode(
          await readBounded(keyPath, "key", MAX_TRUST_FILE_BYTES, options),
        ),
      ),
      ...(options.now ? { now: options.now() } : {}),
    }
    : {
      trustedRoot,
      identities: [{ subject: identity!, issuer: issuer! }],
      ...(options.now ? { now: options.now() } : {}),
    };
  const bundle = parseBundle(await readBounded(bundlePath, "bundle", MAX_BUNDLE_BYTES, options));
  await verifyBundle(bundle, await readArtifact(artifactArgument, options), policy);
}

/** `sign-bundle`: keyless signing with the token, services from the signing config. */
async function signBundle(
  flags: Flags,
  fileArgument: string,
  options: RunOptions,
): Promise<void> {
  const token = required(flags, "identity-token", "sign-bundle signs keyless with it");
  const output = required(flags, "bundle", "where to write the bundle");
  let client: TufClient | undefined;
  const tuf = () => client ??= tufClient(options);
  const trustedRoot = await readTrustedRoot(flags, options, tuf);
  const configPath = flags.string("signing-config");
  const configBytes = configPath
    ? await readBounded(configPath, "signing config", MAX_TRUST_FILE_BYTES, options)
    : await tuf().signingConfigBytes();
  if (configBytes === undefined) {
    throw new CosignError(
      "TRUST_MISSING",
      "No signing config: pass --signing-config; the TUF repository publishes none",
    );
  }
  const config = parseSigningConfig(configBytes);
  const fetch = options.fetch ?? globalThis.fetch;
  const now = options.now?.() ?? new Date();
  // The versions dcosign's clients speak (SUPPORTED_API_VERSIONS), by validity and selector.
  const fulcio = selectSigningService(config, "fulcio", { now })[0];
  const rekor = selectSigningService(config, "rekor", { now })[0];
  const tsa = selectSigningService(config, "tsa", { now })[0];
  if (!fulcio || !rekor) {
    throw new CosignError(
      "TRUST_NO_SERVICE",
      `The signing config lists no ${fulcio ? "Rekor log" : "Fulcio"}`,
    );
  }

  const file = await readBounded(
    fileArgument,
    "artifact",
    flags.boolean("in-toto") ? MAX_STATEMENT_BYTES : Number.MAX_SAFE_INTEGER,
    options,
  );
  // Refuse to sign what is not an in-toto statement before asking for a certificate.
  if (flags.boolean("in-toto")) parseStatement(file);
  const key = await generateKeyPair();
  const proofOfPossession = await createProofOfPossession(key, token);
  const requested = options.now?.() ?? new Date();
  const issued = await new FulcioClient({ baseUrl: fulcio.url, fetch }).signingCertificate({
    token,
    publicKey: key.publicKey,
    proofOfPossession,
  });
  // At its notBefore (inside its validity), not at a time taken before the request.
  const issuedAt = issuedCertificateTime(issued.leaf, requested, options.now?.() ?? new Date());
  await verifyIssuedCertificate(issued, trustedRoot, { publicKey: key.publicKey, now: issuedAt });
  const identity: SigningIdentity = {
    signer: key,
    certificate: issued.leaf.raw,
    chain: issued.chain.slice(1).map((c) => c.raw),
  };
  const log = new RekorClient({ baseUrl: rekor.url, fetch });
  const services: SigningServices = {
    log: async (proposed) => logEntryToTlogEntry(await log.createEntry(proposed)),
    ...(tsa
      ? { timestamp: (signature: Bytes) => requestTimestamp(tsa.url, signature, { fetch }) }
      : {}),
  };

  let bundle: Bundle;
  if (flags.boolean("in-toto")) {
    const signed = await signEnvelope(file, identity, services);
    bundle = buildBundle(identity, { kind: "dsseEnvelope", envelope: signed.envelope }, signed);
  } else {
    const signed = await signMessage(file, identity, services);
    const hash = signingHash(identity);
    bundle = buildBundle(identity, {
      kind: "messageSignature",
      messageDigest: { algorithm: hash, digest: digest(hash, file) },
      signature: signed.signature,
    }, signed);
  }
  try {
    await Deno.writeFile(resolve(output, options), encodeBundle(bundle));
  } catch (error) {
    throw new CosignError(
      "CLI_USAGE",
      `Cannot write bundle "${output}": ${(error as Error).message}`,
      { cause: error },
    );
  }
}

if (import.meta.main) {
  const outcome = await runConformance(Deno.args);
  for (const warning of outcome.warnings) await Deno.stderr.write(utf8(`WARNING: ${warning}\n`));
  if (outcome.stderr) await Deno.stderr.write(utf8(outcome.stderr));
  Deno.exitCode = outcome.code;
}
