/**
 * `verify IMAGE...` (cosign-spec.md sections 9.1-9.5), and the runner and options it shares
 * with `verify-attestation` (`cli/attest/verify_attestation.ts`).
 *
 * Images are verified concurrently (`--max-workers`); each one's outcome is reported, and the
 * exit code is that of the first failure. Output is cosign's: the checks on stderr, the verified
 * payloads as JSON (or text) on stdout.
 *
 * @module
 */

import { fromUtf8, type HashName } from "../../lib/util/bytes.ts";
import { parseJson } from "../../lib/util/json.ts";
import { encodeGoJson, GoStruct, toGoValue } from "../../lib/util/go_json.ts";
import { CosignError } from "../../lib/errors.ts";
import {
  formatImageReference,
  type ImageReference,
  parseImageReference,
} from "../../lib/oci/reference.ts";
import { ANNOTATION } from "../../lib/storage/signatures.ts";
import { findSubject, parseStatement } from "../../lib/payload/statement.ts";
import {
  type ImageVerification,
  type VerifiedImageSignature,
  type VerifyImageOptions,
  verifyImageSignatures,
} from "../../lib/verify/image.ts";
import type { RegistryClient } from "../../lib/oci/client.ts";
import type { CommandInput, CommandRun } from "../spec.ts";
import { exitCodeFor } from "../exit_codes.ts";
import { createRegistryClient, targetRepository } from "../options/registry.ts";
import { resolvePath } from "../context.ts";
import {
  buildPolicy,
  onlineLog,
  parseAnnotations,
  readCertificatesFlag,
} from "../options/verify.ts";

function legacyOptional(signature: VerifiedImageSignature, base: unknown): Record<string, unknown> {
  const optional: Record<string, unknown> = base && typeof base === "object" ? { ...base } : {};
  const bundle = signature.layerAnnotations?.[ANNOTATION.BUNDLE];
  if (bundle !== undefined) optional.Bundle = parseJson(bundle, "bundle annotation");
  const timestamp = signature.layerAnnotations?.[ANNOTATION.RFC3161_TIMESTAMP];
  if (timestamp !== undefined) {
    optional.RFC3161Timestamp = parseJson(timestamp, "timestamp annotation");
  }
  const certificate = signature.result.certificate;
  if (certificate) {
    const { identity } = certificate;
    if (identity.issuer !== undefined) {
      optional.Issuer = identity.issuer;
      optional["1.3.6.1.4.1.57264.1.1"] = identity.issuer;
    }
    const subject = identity.sans.find((n) => n.type === "email") ??
      identity.sans.find((n) => n.type === "uri") ?? identity.sans[0];
    if (subject) optional.Subject = subject.value;
    const github: [keyof typeof identity.githubWorkflow, string, string][] = [
      ["trigger", "githubWorkflowTrigger", "1.3.6.1.4.1.57264.1.2"],
      ["sha", "githubWorkflowSha", "1.3.6.1.4.1.57264.1.3"],
      ["name", "githubWorkflowName", "1.3.6.1.4.1.57264.1.4"],
      ["repository", "githubWorkflowRepository", "1.3.6.1.4.1.57264.1.5"],
      ["ref", "githubWorkflowRef", "1.3.6.1.4.1.57264.1.6"],
    ];
    for (const [field, name, oid] of github) {
      const value = identity.githubWorkflow[field];
      if (value !== undefined) {
        optional[name] = value;
        optional[oid] = value;
      }
    }
  }
  return optional;
}

/**
 * `verify -o text`'s line for a verified bundle, as cosign v3 prints it (`transformOutput` in
 * `cmd/cosign/cli/verify/verify.go`): the statement recast as a SimpleSigning-shaped JSON object,
 * `docker-reference` the reference as given, the digest and annotations those of the statement's
 * first subject, `type` its predicate type, written by Go's `json.Marshal`. cosign's recast
 * signature carries no certificate, so no certificate lines precede it.
 */
export function bundleTextLine(reference: ImageReference, statementBytes: Uint8Array): string {
  const statement = parseStatement(statementBytes);
  const subject = statement.subject[0];
  const entries = Object.entries(subject?.digest ?? {});
  const digest = entries.length === 0 ? "" : `${entries[0]![0]}:${entries[0]![1]}`;
  return encodeGoJson(
    new GoStruct([
      [
        "critical",
        new GoStruct([
          ["identity", new GoStruct([["docker-reference", formatImageReference(reference)]])],
          ["image", new GoStruct([["docker-manifest-digest", digest]])],
          ["type", statement.predicateType],
        ]),
      ],
      ["optional", toGoValue(subject?.annotations ?? {})],
    ]),
  );
}

/**
 * The certificate lines cosign's `verify -o text` writes to stderr before a legacy payload
 * (`PrintVerification` in `cmd/cosign/cli/verify/common.go`): the first SAN, the issuer, and the
 * GitHub workflow extensions present.
 */
function certificateLines(
  input: CommandInput,
  identity: NonNullable<VerifiedImageSignature["result"]["certificate"]>["identity"],
): void {
  const { out } = input;
  out.info(`Certificate subject: ${identity.sans[0]?.value ?? ""}`);
  if (identity.issuer) out.info(`Certificate issuer URL: ${identity.issuer}`);
  const github: [keyof typeof identity.githubWorkflow, string][] = [
    ["trigger", "GitHub Workflow Trigger"],
    ["sha", "GitHub Workflow SHA"],
    ["name", "GitHub Workflow Name"],
    ["repository", "GitHub Workflow Repository"],
    ["ref", "GitHub Workflow Ref"],
  ];
  for (const [field, label] of github) {
    const value = identity.githubWorkflow[field];
    if (value) out.info(`${label}: ${value}`);
  }
}

/** cosign's JSON element for one verified image signature (section 9.4). */
export function signatureOutput(
  reference: ImageReference,
  verification: ImageVerification,
  signature: VerifiedImageSignature,
): unknown {
  if (signature.envelope) {
    const statement = parseStatement(signature.envelope.payload);
    const [algorithm, hex] = verification.digest.split(":") as [HashName, string];
    const subject = findSubject(statement, algorithm, hex);
    const annotations = subject?.annotations;
    return {
      critical: {
        identity: {
          "docker-reference": formatImageReference(
            reference.tag === undefined
              ? { registry: reference.registry, repository: reference.repository }
              : {
                registry: reference.registry,
                repository: reference.repository,
                tag: reference.tag,
              },
          ),
        },
        image: { "docker-manifest-digest": verification.digest },
        type: statement.predicateType,
      },
      optional: annotations && Object.keys(annotations).length > 0 ? annotations : null,
    };
  }
  const payload = parseJson(signature.payload, "payload") as Record<string, unknown>;
  const optional = legacyOptional(signature, payload.optional);
  return { ...payload, optional: Object.keys(optional).length > 0 ? optional : null };
}

function reportChecks(input: CommandInput, name: string, verification: ImageVerification) {
  const { out } = input;
  const checks = new Set<string>();
  if (input.flags.boolean("check-claims")) checks.add("The cosign claims were validated");
  for (const signature of verification.signatures) {
    for (const check of signature.result.checks) checks.add(check);
  }
  out.info(`\nVerification for ${name} --`);
  out.info("The following checks were performed on each of these signatures:");
  for (const check of checks) out.info(`  - ${check}`);
}

/**
 * Verify `references` with `verifyOne`, `--max-workers` at a time; report each outcome in order
 * (checks and `render` for a success, one error line for a failure) and return the first
 * failure's exit code. `labels` name the images in what is printed when the references are not
 * what the user typed (`--local-image DIR`: the directory, as cosign prints it).
 */
export async function runVerify(
  input: CommandInput,
  verifyOne: (reference: ImageReference) => Promise<ImageVerification>,
  render: (reference: ImageReference, verification: ImageVerification) => void,
  references: readonly ImageReference[] = input.args.map(parseImageReference),
  labels?: readonly string[],
): Promise<number> {
  const { out } = input;
  const workers = Math.max(1, input.flags.integer("max-workers") ?? 10);
  const outcomes: ({ ok: ImageVerification } | { error: unknown })[] = new Array(references.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(workers, references.length) }, async () => {
      while (next < references.length) {
        const index = next++;
        try {
          outcomes[index] = { ok: await verifyOne(references[index]!) };
        } catch (error) {
          outcomes[index] = { error };
        }
      }
    }),
  );
  let code = 0;
  references.forEach((reference, index) => {
    const outcome = outcomes[index]!;
    const label = labels?.[index];
    if ("ok" in outcome) {
      reportChecks(input, label ?? formatImageReference(reference), outcome.ok);
      render(reference, outcome.ok);
      for (const reason of outcome.ok.rejected) out.debug(`  rejected ${reason}`);
    } else {
      out.error(label === undefined ? outcome.error : relabel(outcome.error, reference, label));
      if (code === 0) code = exitCodeFor(outcome.error);
    }
  });
  return code;
}

/**
 * The same failure (code, cause) with the internal name of a local image replaced by the label
 * the user knows it by.
 */
function relabel(error: unknown, reference: ImageReference, label: string): unknown {
  if (!(error instanceof CosignError)) return error;
  const internal = `${reference.registry}/${reference.repository}`;
  if (!error.message.includes(internal)) return error;
  return new CosignError(error.code, error.message.replaceAll(internal, label), { cause: error });
}

/** The image verification options the flags describe (`verify` and `verify-attestation`). */
export async function imageVerifyOptions(
  input: CommandInput,
  client: RegistryClient,
  local: boolean,
): Promise<VerifyImageOptions> {
  const { flags } = input;
  const target = local ? undefined : targetRepository(input);
  const log = await onlineLog(input);
  const policy = await buildPolicy(input);
  // --certificate: the signing certificate given out of band (cosign's non-Fulcio PKI flags).
  const certificates = await readCertificatesFlag(input, "certificate");
  if (certificates && policy.key) {
    throw new CosignError("CLI_USAGE", "--key cannot be combined with --certificate");
  }
  if (certificates && certificates.length !== 1) {
    throw new CosignError(
      "CLI_USAGE",
      `--certificate holds ${certificates.length} certificates: give the signing certificate alone (its CA with --certificate-chain or --ca-roots)`,
    );
  }
  return {
    client,
    policy: certificates ? { ...policy, certificate: certificates[0]! } : policy,
    annotations: parseAnnotations(flags.list("annotations")),
    checkClaims: flags.boolean("check-claims"),
    formats: [
      ...(flags.boolean("new-bundle-format") ? ["bundle" as const] : []),
      "legacy",
      // cosign 2.x --experimental-oci11: legacy signatures stored as OCI 1.1 referrers too.
      ...(flags.declares("experimental-oci11") && flags.boolean("experimental-oci11")
        ? ["legacy-referrer" as const]
        : []),
    ],
    ...(target ? { targetRepository: target } : {}),
    ...(log ? { log } : {}),
  };
}

/** `verify`: check each image's signatures. */
export const verify: CommandRun = async (input) => {
  const { flags, out } = input;
  // --local-image: the arguments are layouts written by `save`, served from their checked files.
  const local = flags.boolean("local-image")
    ? await (await import("../../lib/storage/layout/local_images.ts")).openLocalImages(
      input.args.map((dir) => resolvePath(input.ctx, dir)),
    )
    : undefined;
  const client = createRegistryClient(
    local ? { ...input, ctx: { ...input.ctx, fetch: local.fetch } } : input,
  );
  const options = await imageVerifyOptions(input, client, local !== undefined);
  return await runVerify(
    input,
    (reference) => verifyImageSignatures(reference, options),
    (reference, verification) => {
      if (flags.string("output") === "text") {
        for (const signature of verification.signatures) {
          if (signature.format === "bundle" && signature.envelope) {
            out.line(bundleTextLine(reference, signature.envelope.payload));
            continue;
          }
          const leaf = signature.result.certificate;
          if (leaf) certificateLines(input, leaf.identity);
          out.line(fromUtf8(signature.payload));
        }
      } else {
        out.line(
          JSON.stringify(
            verification.signatures.map((s) => signatureOutput(reference, verification, s)),
          ),
        );
      }
    },
    local?.references,
    local ? input.args : undefined,
  );
};
