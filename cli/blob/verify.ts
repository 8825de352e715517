/**
 * `verify-blob` and `verify-blob-attestation` (cosign-spec.md sections 6.2, 6.3, 9.2 and 11):
 * flags in, `lib/verify/blob.ts` out. A bundle, a legacy bundle file or a detached signature with
 * its certificate or key; a blob that cannot be read but reads `sha256:<hex>` is its digest.
 * `--certificate-chain` and `--ca-roots` name a private CA, which goes into the policy
 * (`cli/options/verify.ts`), not into the signature's material.
 *
 * @module
 */

import { type HashName, utf8 } from "../../lib/util/bytes.ts";
import { MAX_BUNDLE_BYTES } from "../../lib/bundle/model.ts";
import { MAX_ENVELOPE_BYTES } from "../../lib/payload/dsse.ts";
import { errorMessage } from "../../lib/errors.ts";
import { predicateTypeFor } from "../../lib/payload/predicate.ts";
import {
  type BlobInput,
  type BlobSignatureInput,
  parseDigestReference,
  verifyBlob as verifyBlobLib,
  verifyBlobAttestation as verifyBlobAttestationLib,
} from "../../lib/verify/blob.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { resolvePath } from "../context.ts";
import { buildPolicy, onlineLog } from "../options/verify.ts";
import { loadPolicyCheck } from "../options/policy.ts";
import { progress, readBounded, readOptional, readStdinBlob, usage } from "./_inputs.ts";

/**
 * `--signature` as cosign reads it: a path that exists (a file, a FIFO, a device), read with
 * the same bound as any input, else the flag's text itself.
 */
async function readSignatureFlag(input: CommandInput): Promise<Uint8Array | undefined> {
  const value = input.flags.string("signature");
  if (value === undefined) return undefined;
  const path = resolvePath(input.ctx, value);
  let exists = false;
  try {
    exists = !(await Deno.stat(path)).isDirectory;
  } catch {
    // not a path: the signature itself
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
  const rfc3161Timestamp = await readOptional(input, "rfc3161-timestamp");
  return {
    ...(bundle ? { bundle } : {}),
    ...(signature ? { signature } : {}),
    ...(certificate ? { certificate } : {}),
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

async function verifyingOptions(input: CommandInput, ref: string | undefined) {
  const log = await onlineLog(input);
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
  const { result } = await verifyBlobLib(
    signature,
    blob,
    policy,
    await verifyingOptions(input, ref),
  );
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
  // --policy compiles first: a policy that does not parse fails before anything is read.
  const policyCheck = await loadPolicyCheck(input, predicateTypeFor(typeFlag));
  const signature = await signatureInput(input);
  const policy = await buildPolicy(input);
  const maxAttachment = ctx.env("COSIGN_MAX_ATTACHMENT_SIZE");
  // The registry options module (and the registry client behind it) loads only when needed.
  const maxBlobBytes = maxAttachment === undefined
    ? undefined
    : (await import("../options/registry.ts")).parseSize(maxAttachment);
  const verified = await verifyBlobAttestationLib(signature, blob, policy, {
    ...(await verifyingOptions(input, ref)),
    type: typeFlag,
    checkClaims,
    ...(digestAlg && ref !== undefined ? { digestAlgorithm: digestAlg } : {}),
    // cosign checks the attested blob's size against COSIGN_MAX_ATTACHMENT_SIZE
    ...(maxBlobBytes !== undefined ? { maxBlobBytes } : {}),
  });
  const checks = [...verified.result.checks];
  if (policyCheck) {
    checks.push(await policyCheck.enforce(ref ?? "the attestation", [verified.envelope.payload]));
  }
  reportChecks(input, checks);
};
