/**
 * `sign-blob` and `attest-blob` (cosign-spec.md sections 6.2, 6.3, 10.2 and 11): flags in,
 * `lib/sign/blob.ts` out. A file is hashed as it streams; standard input (`-`) is read whole, as
 * cosign reads it. The outputs are a Sigstore bundle, or cosign's legacy files with
 * `--new-bundle-format=false`.
 *
 * @module
 */

import { toBase64, utf8 } from "../../lib/util/bytes.ts";
import type { Bundle } from "../../lib/bundle/model.ts";
import { encodeBundle } from "../../lib/bundle/serialize.ts";
import { CosignError, errorMessage } from "../../lib/errors.ts";
import { MAX_STATEMENT_BYTES } from "../../lib/payload/statement.ts";
import { predicateTypeFor } from "../../lib/payload/predicate.ts";
import {
  attestBlob as attestBlobLib,
  type BlobSource,
  legacyBlobOutputs,
  signBlob as signBlobLib,
} from "../../lib/sign/blob.ts";
import type { SigningIdentity } from "../../lib/sign/signature.ts";
import { parseCertificatesPem } from "../../lib/x509/certificate.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { type ResolvedIdentity, signingIdentity, signingServices } from "../options/signing.ts";
import {
  progress,
  readBounded,
  readOptional,
  readStdinBlob,
  usage,
  writeOutput,
} from "./_inputs.ts";

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
  if (await writtenAsBundle(input, bundlePath, signed.bundle)) return;
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
  if (await writtenAsBundle(input, bundlePath, signed.bundle)) return;
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

/** With `--new-bundle-format` (the default), write the Sigstore bundle to `--bundle` and say so. */
async function writtenAsBundle(
  input: CommandInput,
  bundlePath: string | undefined,
  bundle: Bundle,
): Promise<boolean> {
  if (!input.flags.boolean("new-bundle-format")) return false;
  await writeOutput(input, bundlePath!, encodeBundle(bundle));
  input.out.info(`Wrote bundle to file ${bundlePath}`);
  return true;
}
