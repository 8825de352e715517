/**
 * `sign-blob`, `verify-blob`, `attest-blob` and `verify-blob-attestation` (cosign-spec.md
 * sections 6.2, 6.3, 10.2 and 11): flags in, library calls (lib/sign/blob.ts,
 * lib/verify/blob.ts) out. Blobs are hashed as they stream; standard input (`-`) is read whole,
 * as cosign reads it. Progress is shown only when stderr is a terminal.
 *
 * @module
 */

import { type HashName, toBase64, utf8 } from "../../lib/util/bytes.ts";
import { MAX_BUNDLE_BYTES } from "../../lib/bundle/model.ts";
import { encodeBundle } from "../../lib/bundle/serialize.ts";
import { MAX_ENVELOPE_BYTES } from "../../lib/payload/dsse.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { MAX_STATEMENT_BYTES } from "../../lib/payload/statement.ts";
import { predicateTypeFor } from "../../lib/payload/predicate.ts";
import {
  attestBlob as attestBlobLib,
  type BlobSource,
  type HashProgress,
  legacyBlobOutputs,
  signBlob as signBlobLib,
} from "../../lib/sign/blob.ts";
import type { SigningIdentity } from "../../lib/sign/signature.ts";
import {
  type BlobInput,
  type BlobSignatureInput,
  parseDigestReference,
  verifyBlob as verifyBlobLib,
  verifyBlobAttestation as verifyBlobAttestationLib,
} from "../../lib/verify/blob.ts";
import { parseCertificatesPem } from "../../lib/x509/certificate.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { parseSize } from "../options/registry.ts";
import { type ResolvedIdentity, signingIdentity, signingServices } from "../options/signing.ts";
import { buildPolicy, onlineLog } from "../options/verify.ts";

/** Largest certificate, chain, signature or timestamp file read. */
const MAX_SMALL_FILE_BYTES = 1 << 20;

/** Largest blob read from standard input, which is held in memory whole (as cosign does). */
const MAX_STDIN_BLOB_BYTES = 128 << 20;

function readStdinBlob(input: CommandInput): Promise<Uint8Array> {
  return input.ctx.readFile("-", { maxBytes: MAX_STDIN_BLOB_BYTES, what: "the blob" });
}

function usage(message: string): CosignError {
  return new CosignError("CLI_USAGE", message);
}

/** Read a file the user named, bounded before reading; errors name the flag. */
async function readBounded(
  input: CommandInput,
  path: string,
  flag: string,
  max: number,
): Promise<Uint8Array> {
  return await input.ctx.readFile(path, { maxBytes: max, what: flag });
}

async function readOptional(
  input: CommandInput,
  flag: string,
  max = MAX_SMALL_FILE_BYTES,
): Promise<Uint8Array | undefined> {
  const path = input.flags.string(flag);
  return path === undefined ? undefined : await readBounded(input, path, `--${flag}`, max);
}

async function writeOutput(input: CommandInput, path: string, data: string | Uint8Array) {
  const file = resolvePath(input.ctx, path);
  const bytes = typeof data === "string" ? utf8(data) : data;
  await Deno.writeFile(file, bytes, { mode: 0o600 });
}

const MIB = 1 << 20;

/** Hashing progress on stderr, at most once a second, only on a terminal. */
function progress(input: CommandInput, name: string): ((p: HashProgress) => void) | undefined {
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

/** The blob a sign command reads: a file, or all of standard input for `-`. */
async function signSource(input: CommandInput, ref: string): Promise<BlobSource> {
  if (ref === "-") return { kind: "bytes", bytes: await readStdinBlob(input) };
  input.out.info(`Using payload from: ${ref}`);
  return { kind: "file", path: resolvePath(input.ctx, ref) };
}

/** cosign's `--certificate` for key signing: a certificate of the very key that signs. */
async function withCertificate(
  input: CommandInput,
  resolved: ResolvedIdentity,
): Promise<SigningIdentity> {
  const certificate = await readOptional(input, "certificate");
  const chain = await readOptional(input, "certificate-chain");
  if (!certificate) {
    if (chain) throw usage("--certificate-chain needs --certificate");
    return resolved.identity;
  }
  if (input.flags.string("key") === undefined) {
    throw usage("--certificate is for signing with --key; keyless signing gets its own");
  }
  const [leaf] = parseCertificatesPem(new TextDecoder().decode(certificate));
  if (!leaf!.publicKey.equals(resolved.identity.signer.publicKey)) {
    throw new CosignError(
      "KEY_MISMATCH",
      "The --certificate is not a certificate of the --key being signed with",
    );
  }
  return {
    signer: resolved.identity.signer,
    certificate: leaf!.raw,
    ...(chain
      ? { chain: parseCertificatesPem(new TextDecoder().decode(chain)).map((c) => c.raw) }
      : {}),
  };
}

function requireBundleFlag(input: CommandInput): string | undefined {
  const bundle = input.flags.string("bundle");
  if (input.flags.boolean("new-bundle-format") && bundle === undefined) {
    throw usage(
      `${input.command} writes a Sigstore bundle: pass --bundle FILE (or --new-bundle-format=false for cosign's legacy outputs)`,
    );
  }
  return bundle;
}

/** `sign-blob FILE|-`. */
export const signBlob: CommandRun = async (input) => {
  const { flags, out } = input;
  const ref = input.args[0]!;
  const bundlePath = requireBundleFlag(input);
  const resolved = await signingIdentity(input);
  const identity = await withCertificate(input, resolved);
  const services = await signingServices(input, resolved);
  const onProgress = progress(input, ref);
  const signed = await signBlobLib(await signSource(input, ref), {
    identity,
    services,
    signal: input.signal,
    ...(onProgress ? { onProgress } : {}),
  });
  if (flags.boolean("new-bundle-format")) {
    await writeOutput(input, bundlePath!, encodeBundle(signed.bundle));
    out.info(`Wrote bundle to file ${bundlePath}`);
    return;
  }
  const legacy = legacyBlobOutputs(signed.bundle, identity);
  const b64 = flags.boolean("b64");
  if (bundlePath !== undefined) {
    await writeOutput(input, bundlePath, legacy.bundleJson);
    out.info(`Wrote bundle to file ${bundlePath}`);
  }
  const outputSignature = flags.string("output-signature");
  if (outputSignature !== undefined) {
    await writeOutput(input, outputSignature, b64 ? toBase64(legacy.signature) : legacy.signature);
    out.info(`Wrote signature to file ${outputSignature}`);
  } else if (b64) {
    out.line(toBase64(legacy.signature));
  } else {
    out.result(legacy.signature);
  }
  const outputCertificate = flags.string("output-certificate");
  if (outputCertificate !== undefined && legacy.certificatePem) {
    await writeOutput(
      input,
      outputCertificate,
      b64 ? toBase64(utf8(legacy.certificatePem)) : legacy.certificatePem,
    );
    out.info(`Wrote certificate to file ${outputCertificate}`);
  }
  const timestampPath = flags.string("rfc3161-timestamp");
  if (timestampPath !== undefined && legacy.timestampJson) {
    await writeOutput(input, timestampPath, legacy.timestampJson);
    out.info(`Wrote timestamp to file ${timestampPath}`);
  }
};

/** `attest-blob [FILE|-]`. */
export const attestBlob: CommandRun = async (input) => {
  const { flags, out, ctx } = input;
  const predicatePath = flags.string("predicate");
  const statementPath = flags.string("statement");
  if ((predicatePath === undefined) === (statementPath === undefined)) {
    throw usage("attest-blob needs exactly one of --predicate FILE or --statement FILE");
  }
  const ref = input.args[0];
  if (ref === undefined && statementPath === undefined) {
    throw usage("attest-blob needs the blob (FILE, or - for standard input)");
  }
  const typeFlag = flags.string("type") ?? "custom";
  try {
    predicateTypeFor(typeFlag);
  } catch (error) {
    throw usage(`Invalid --type "${typeFlag}": ${errorMessage(error)}`);
  }
  const bundlePath = requireBundleFlag(input);
  let statement: Uint8Array | undefined;
  let predicate: Uint8Array | undefined;
  if (statementPath !== undefined) {
    out.info(`Using statement from: ${statementPath}`);
    statement = await readBounded(input, statementPath, "--statement", MAX_STATEMENT_BYTES);
  } else if (predicatePath === "-") {
    predicate = await ctx.readFile("-", { maxBytes: MAX_STATEMENT_BYTES, what: "--predicate" });
  } else {
    predicate = await readBounded(input, predicatePath!, "--predicate", MAX_STATEMENT_BYTES);
  }
  const hash = flags.string("hash");
  const source = ref === undefined || statement !== undefined || hash !== undefined
    ? undefined
    : await signSource(input, ref);
  const resolved = await signingIdentity(input);
  const identity = resolved.identity;
  const services = await signingServices(input, resolved);
  const onProgress = ref === undefined ? undefined : progress(input, ref);
  const signed = await attestBlobLib(source, {
    identity,
    services,
    ...(statement ? { statement } : {}),
    ...(predicate ? { predicate: { file: predicate, type: typeFlag } } : {}),
    ...(ref !== undefined ? { subjectName: ref.split("/").at(-1)! } : {}),
    ...(hash !== undefined ? { sha256: hash.toLowerCase() } : {}),
    now: ctx.now(),
    signal: input.signal,
    ...(onProgress ? { onProgress } : {}),
  });
  if (flags.boolean("new-bundle-format")) {
    await writeOutput(input, bundlePath!, encodeBundle(signed.bundle));
    out.info(`Wrote bundle to file ${bundlePath}`);
    return;
  }
  const legacy = legacyBlobOutputs(signed.bundle, identity);
  if (bundlePath !== undefined) {
    await writeOutput(input, bundlePath, legacy.bundleJson);
    out.info(`Wrote bundle to file ${bundlePath}`);
  }
  const outputSignature = flags.string("output-signature");
  if (outputSignature !== undefined) {
    await writeOutput(input, outputSignature, legacy.signature);
    out.info(`Signature written in ${outputSignature}`);
  } else {
    out.line(new TextDecoder().decode(legacy.signature));
  }
  const outputAttestation = flags.string("output-attestation");
  if (outputAttestation !== undefined) {
    await writeOutput(input, outputAttestation, signed.statement);
    out.info(`Attestation written in ${outputAttestation}`);
  }
  const outputCertificate = flags.string("output-certificate");
  if (outputCertificate !== undefined) {
    if (!legacy.certificatePem) {
      throw usage("No certificate to write: the blob was signed with a key");
    }
    await writeOutput(input, outputCertificate, legacy.certificatePem);
    out.info(`Certificate written to file ${outputCertificate}`);
  }
  const timestampPath = flags.string("rfc3161-timestamp-bundle");
  if (timestampPath !== undefined) {
    if (!legacy.timestampJson) throw usage("No RFC 3161 timestamp: no TSA was configured");
    await writeOutput(input, timestampPath, legacy.timestampJson);
    out.info(`Timestamp written in ${timestampPath}`);
  }
};

/** `--signature` as cosign reads it: a file, else the flag's text itself. */
async function readSignatureFlag(input: CommandInput): Promise<Uint8Array | undefined> {
  const value = input.flags.string("signature");
  if (value === undefined) return undefined;
  const path = resolvePath(input.ctx, value);
  let exists = false;
  try {
    exists = (await Deno.stat(path)).isFile;
  } catch {
    exists = false;
  }
  return exists ? await readBounded(input, value, "--signature", MAX_ENVELOPE_BYTES) : utf8(value);
}

/** The signature inputs every verifying blob command reads. */
async function signatureInput(input: CommandInput): Promise<BlobSignatureInput> {
  const { flags } = input;
  const bundle = await readOptional(input, "bundle", MAX_BUNDLE_BYTES);
  const signature = await readSignatureFlag(input);
  if (bundle === undefined && signature === undefined) {
    throw usage("Give the signature: --bundle FILE, or --signature");
  }
  const certificate = await readOptional(input, "certificate");
  const certificateChain = await readOptional(input, "certificate-chain");
  const rfc3161Timestamp = await readOptional(input, "rfc3161-timestamp");
  return {
    ...(bundle ? { bundle } : {}),
    ...(signature ? { signature } : {}),
    ...(certificate ? { certificate } : {}),
    ...(certificateChain ? { certificateChain } : {}),
    ...(rfc3161Timestamp ? { rfc3161Timestamp } : {}),
    newBundleFormat: flags.boolean("new-bundle-format"),
    allowCertificateChain: flags.boolean("allow-certificate-chain"),
  };
}

/** The blob a verify command reads: a file, standard input, or a `sha256:<hex>` digest. */
async function verifySource(input: CommandInput, ref: string): Promise<BlobInput> {
  if (ref === "-") return { kind: "bytes", bytes: await readStdinBlob(input) };
  const path = resolvePath(input.ctx, ref);
  const reference = parseDigestReference(ref);
  if (reference) {
    // cosign: a blob that cannot be read may be given as its digest
    const readable = await Deno.stat(path).then(() => true, () => false);
    if (!readable) return { kind: "digest", ...reference };
  }
  return { kind: "file", path };
}

function verifyingOptions(input: CommandInput, ref: string | undefined) {
  const log = onlineLog(input);
  const onProgress = ref === undefined ? undefined : progress(input, ref);
  return {
    ...(log ? { log } : {}),
    ...(onProgress ? { onProgress } : {}),
    signal: input.signal,
  };
}

function reportChecks(input: CommandInput, checks: readonly string[]): void {
  for (const check of checks) input.out.debug(`  - ${check}`);
  input.out.info("Verified OK");
}

/** `verify-blob FILE|-|sha256:<hex>`. */
export const verifyBlob: CommandRun = async (input) => {
  const ref = input.args[0]!;
  const signature = await signatureInput(input);
  const policy = await buildPolicy(input);
  const blob = await verifySource(input, ref);
  const { result } = await verifyBlobLib(signature, blob, policy, verifyingOptions(input, ref));
  reportChecks(input, result.checks);
};

/** `verify-blob-attestation [FILE|-]`. */
export const verifyBlobAttestation: CommandRun = async (input) => {
  const { flags, ctx, out } = input;
  const ref = input.args[0];
  const typeFlag = flags.string("type") ?? "custom";
  try {
    predicateTypeFor(typeFlag);
  } catch (error) {
    throw usage(`Invalid --type "${typeFlag}": ${errorMessage(error)}`);
  }
  const checkClaims = flags.boolean("check-claims");
  const digestHex = flags.string("digest");
  const digestAlg = flags.string("digestAlg") as HashName | undefined;
  let blob: BlobInput | undefined;
  if (ref !== undefined) {
    if (digestHex !== undefined) out.warn("Ignoring the provided --digest in favor of the blob");
    blob = await verifySource(input, ref);
  } else if (digestHex !== undefined) {
    if (digestAlg === undefined) throw usage("--digest needs --digestAlg (sha256, sha384, sha512)");
    const digest = parseDigestReference(`${digestAlg}:${digestHex.toLowerCase()}`);
    if (!digest) throw usage(`Invalid --digest "${digestHex}" for ${digestAlg}`);
    blob = { kind: "digest", ...digest };
  } else if (checkClaims) {
    throw usage(
      "Checking the claims needs the blob (FILE), or --digest and --digestAlg (or --check-claims=false)",
    );
  }
  const signature = await signatureInput(input);
  const policy = await buildPolicy(input);
  const maxAttachment = ctx.env("COSIGN_MAX_ATTACHMENT_SIZE");
  const { result } = await verifyBlobAttestationLib(signature, blob, policy, {
    ...verifyingOptions(input, ref),
    type: typeFlag,
    checkClaims,
    ...(digestAlg && ref !== undefined ? { digestAlgorithm: digestAlg } : {}),
    // cosign checks the attested blob's size against COSIGN_MAX_ATTACHMENT_SIZE
    ...(maxAttachment !== undefined ? { maxBlobBytes: parseSize(maxAttachment) } : {}),
  });
  reportChecks(input, result.checks);
};
